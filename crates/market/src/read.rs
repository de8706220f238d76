//! Readers: open one or several files (or bytes), recognise the layout from the header, parse every
//! row into records, and merge them into one sorted, duplicate-free `MarketData`.

use crate::header::{self, Field, Layout};
use crate::merge::merge;
use crate::types::hex;
use crate::{
    Component, Components, DataError, DayAheadPrice, Format, Market, MarketData, MinuteRecord,
    QhPrice, QhRecord, Quality, Result, SourceFile,
};
use chrono::{DateTime, Datelike, TimeDelta, Utc};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Reads one file of any supported layout.
pub fn read_file(path: impl AsRef<Path>) -> Result<MarketData> {
    read_files(&[path])
}

/// Reads several files and merges them (e.g. monthly exports, or QH prices plus per-minute
/// estimates). Duplicated timestamps keep the Validated row; differing duplicates without a single
/// validated winner are an error.
pub fn read_files<P: AsRef<Path>>(paths: &[P]) -> Result<MarketData> {
    let mut parsed = Vec::with_capacity(paths.len());
    for p in paths {
        let path = p.as_ref();
        let io = |reason| DataError::Io {
            path: path.to_path_buf(),
            reason,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let size = file.metadata().map(|m| m.len()).ok();
        parsed.push(parse_stream(path, file, size)?);
    }
    merge(parsed)
}

/// Reads a file held in memory; `name` stands for the path in error messages.
pub fn read_bytes(name: &str, bytes: &[u8]) -> Result<MarketData> {
    let parsed = parse_stream(Path::new(name), bytes, Some(bytes.len() as u64))?;
    merge(vec![parsed])
}

/// One file's records before merging, each with the line it came from.
pub(crate) struct ParsedFile {
    pub(crate) path: PathBuf,
    pub(crate) source: SourceFile,
    pub(crate) market: Market,
    pub(crate) synthetic: bool,
    pub(crate) qh: Vec<QhRecord>,
    pub(crate) qh_lines: Vec<u64>,
    pub(crate) minutes: Vec<MinuteRecord>,
    pub(crate) minute_lines: Vec<u64>,
    pub(crate) day_ahead: Vec<DayAheadPrice>,
    pub(crate) day_ahead_lines: Vec<u64>,
}

/// Feeds every byte read through SHA-256 and the line index, so neither costs a second pass
/// over the file.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    lines: Rc<RefCell<LineIndex>>,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.lines.borrow_mut().observe(&buf[..n]);
        Ok(n)
    }
}

/// File line numbers from the csv crate's byte offsets. Written by hand because the csv crate's
/// own `Position` points at the bytes before a record's content (the `\n` of a CRLF pair, or
/// skipped blank lines), so its line numbers are short by one per CRLF or blank line before a
/// record (Elia's raw exports are CRLF). A record's line is the first non-blank line starting at
/// or after that offset. Records are looked up in file order, so only the line starts not yet
/// passed are kept: memory stays within the read-ahead buffers.
#[derive(Debug)]
struct LineIndex {
    /// (file offset, line number) of the non-blank line starts read but not yet passed.
    pending: VecDeque<(u64, u64)>,
    /// Lines started so far (the line number of the last line start seen).
    lines: u64,
    /// A line that starts exactly at the end of the bytes seen so far: blank or not depends on
    /// the next byte.
    open_start: Option<(u64, u64)>,
    /// Bytes read so far.
    seen: u64,
}

impl Default for LineIndex {
    fn default() -> Self {
        LineIndex {
            pending: VecDeque::new(),
            lines: 1,
            open_start: Some((0, 1)),
            seen: 0,
        }
    }
}

impl LineIndex {
    /// Notes the line starts in the next `bytes` of the file.
    fn observe(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let blank = |b: u8| b == b'\n' || b == b'\r';
        if let Some(start) = self.open_start.take() {
            if !blank(bytes[0]) {
                self.pending.push_back(start);
            }
        }
        for i in memchr::memchr_iter(b'\n', bytes) {
            self.lines += 1;
            let start = (self.seen + i as u64 + 1, self.lines);
            match bytes.get(i + 1) {
                Some(&next) if !blank(next) => self.pending.push_back(start),
                Some(_) => {}
                None => self.open_start = Some(start),
            }
        }
        self.seen += bytes.len() as u64;
    }

    /// The 1-based line of the record the csv crate places at file offset `byte` (offsets must
    /// not decrease between calls).
    fn line_at(&mut self, byte: u64) -> u64 {
        while self.pending.front().is_some_and(|&(start, _)| start < byte) {
            self.pending.pop_front();
        }
        self.pending.front().map_or(self.lines, |&(_, line)| line)
    }
}

fn parse_stream<R: Read>(path: &Path, reader: R, size_hint: Option<u64>) -> Result<ParsedFile> {
    let io = |reason| DataError::Io {
        path: path.to_path_buf(),
        reason,
    };
    let lines = Rc::new(RefCell::new(LineIndex::default()));
    let hashing = HashingReader {
        inner: reader,
        hasher: Sha256::new(),
        lines: Rc::clone(&lines),
    };
    let mut buffered = BufReader::with_capacity(1 << 16, hashing);
    // Sniff the delimiter from the first line and skip a UTF-8 BOM.
    let head = buffered.fill_buf().map_err(io)?;
    if head.is_empty() {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    let bom = head.starts_with(&[0xEF, 0xBB, 0xBF]);
    let start = if bom { 3 } else { 0 };
    let first_line_end = head[start..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(head.len(), |p| start + p);
    let first_line = &head[start..first_line_end];
    let semicolons = first_line.iter().filter(|&&b| b == b';').count();
    let commas = first_line.iter().filter(|&&b| b == b',').count();
    let delimiter = if semicolons > commas { b';' } else { b',' };
    // Estimate the row count from the first lines to reserve once (keeps peak memory low).
    let sample = &head[start..];
    let sample_lines = sample.iter().filter(|&&b| b == b'\n').count().max(1);
    let bytes_per_line = (sample.len() / sample_lines).max(16) as u64;
    let estimated_rows = size_hint.map_or(0, |s| (s / bytes_per_line) as usize + 16);
    if bom {
        buffered.consume(3);
    }

    let mut csv_reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(true)
        .buffer_capacity(1 << 16)
        .from_reader(buffered);
    // csv byte offsets start after a skipped BOM; the index counts from the file's first byte.
    let bom_len: u64 = if bom { 3 } else { 0 };
    let line_of = |p: &csv::Position| lines.borrow_mut().line_at(p.byte() + bom_len);
    let header_record = csv_reader
        .byte_headers()
        .map_err(|e| csv_error(path, &e, &line_of))?;
    let mut header = Vec::with_capacity(header_record.len());
    for (i, cell) in header_record.iter().enumerate() {
        let text = std::str::from_utf8(cell).map_err(|_| DataError::Cell {
            path: path.to_path_buf(),
            line: 1,
            column: format!("#{}", i + 1),
            column_index: i + 1,
            text: String::from_utf8_lossy(cell).into_owned(),
            reason: "header cell is not valid UTF-8".into(),
        })?;
        header.push(text.trim().to_string());
    }
    if header.iter().all(|h| h.is_empty()) {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    let layout = header::detect(path, &header)?;
    let mut rows = RowParser {
        path,
        layout: &layout,
        market: None,
        synthetic: false,
    };

    let mut qh = Vec::new();
    let mut qh_lines = Vec::new();
    let mut minutes = Vec::new();
    let mut minute_lines = Vec::new();
    let mut day_ahead = Vec::new();
    let mut day_ahead_lines = Vec::new();
    if layout.is_minute() {
        minutes.reserve(estimated_rows);
        minute_lines.reserve(estimated_rows);
    } else {
        qh.reserve(estimated_rows);
        qh_lines.reserve(estimated_rows);
    }
    // A StringRecord validates UTF-8 once per row instead of once per cell.
    let mut record = csv::StringRecord::new();
    let mut row_count = 0usize;
    loop {
        match csv_reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error_in_row(path, &layout, &e, &line_of)),
        }
        let line = record.position().map_or(0, line_of);
        if record.len() == 1 && record.get(0).is_some_and(|c| c.trim().is_empty()) {
            continue; // a blank line
        }
        row_count += 1;
        if record.len() != header.len() {
            return Err(DataError::FieldCount {
                path: path.to_path_buf(),
                line,
                expected: header.len(),
                found: record.len(),
            });
        }
        if layout.col(Field::DayAheadPrice).is_some() {
            if let Some(d) = rows.day_ahead(&record, line)? {
                day_ahead.push(d);
                day_ahead_lines.push(line);
            }
        }
        if layout.is_day_ahead() {
            continue;
        }
        if layout.is_minute() {
            if let Some(m) = rows.minute(&record, line)? {
                minutes.push(m);
                minute_lines.push(line);
            }
        } else if let Some(q) = rows.qh(&record, line)? {
            qh.push(q);
            qh_lines.push(line);
        }
    }
    let market = rows.market.unwrap_or(layout.market);
    let synthetic = rows.synthetic;
    drop(record);
    let hashing = csv_reader.into_inner().into_inner();
    let sha256 = hex(&hashing.hasher.finalize());
    Ok(ParsedFile {
        path: path.to_path_buf(),
        source: SourceFile {
            path: path.display().to_string(),
            format: layout.format,
            sha256,
            rows: row_count,
            ignored_columns: layout.ignored.clone(),
        },
        market,
        synthetic,
        qh,
        qh_lines,
        minutes,
        minute_lines,
        day_ahead,
        day_ahead_lines,
    })
}

/// Maps a CSV error inside the data rows, naming the column for invalid UTF-8 (`line_of`: the
/// file line of a csv position).
fn csv_error_in_row(
    path: &Path,
    layout: &Layout,
    e: &csv::Error,
    line_of: &dyn Fn(&csv::Position) -> u64,
) -> DataError {
    if let csv::ErrorKind::Utf8 { pos, err } = e.kind() {
        return DataError::Cell {
            path: path.to_path_buf(),
            line: pos.as_ref().map_or(0, line_of),
            column: layout.names.get(err.field()).cloned().unwrap_or_default(),
            column_index: err.field() + 1,
            text: "<invalid UTF-8>".into(),
            reason: "not valid UTF-8".into(),
        };
    }
    csv_error(path, e, line_of)
}

/// A CSV error at its file line (`line_of`: the file line of a csv position).
fn csv_error(path: &Path, e: &csv::Error, line_of: &dyn Fn(&csv::Position) -> u64) -> DataError {
    DataError::Csv {
        path: path.to_path_buf(),
        line: e.position().map_or(0, line_of),
        message: e.to_string(),
    }
}

/// Parses the cells of one row according to a recognised layout.
struct RowParser<'a> {
    path: &'a Path,
    layout: &'a Layout,
    market: Option<Market>,
    /// Set when a row's `price_source` says `synthetic` (files written by `imbarb data synth`).
    synthetic: bool,
}

/// The `price_source` value that marks rows written from the synthetic market.
pub(crate) const SYNTHETIC_SOURCE: &str = "synthetic";

const QH: TimeDelta = TimeDelta::minutes(15);
/// Timestamps outside these years are rejected as corrupt: electricity markets with 15-minute
/// settlement did not exist before, and the bound keeps calendar arithmetic far from overflow.
pub const MIN_YEAR: i32 = 1990;
/// The last year a timestamp may have (see `MIN_YEAR`).
pub const MAX_YEAR: i32 = 2100;
/// The largest magnitude any numeric cell (prices in EUR/MWh, volumes in MW) may have: ten times
/// any price cap of a European imbalance market, so real data always passes, while a value in
/// the wrong unit or a corrupt export (1e39) is refused before it reaches a solver.
pub const MAX_ABS_VALUE: f64 = 100_000.0;

impl RowParser<'_> {
    fn err(&self, line: u64, col: usize, text: &str, reason: &str) -> DataError {
        DataError::Cell {
            path: self.path.to_path_buf(),
            line,
            column: self.layout.names.get(col).cloned().unwrap_or_default(),
            column_index: col + 1,
            text: text.to_string(),
            reason: reason.to_string(),
        }
    }

    /// The trimmed text of `field`'s cell (with its column index), `None` when the layout lacks
    /// the column.
    fn text<'r>(&self, rec: &'r csv::StringRecord, field: Field) -> Option<(usize, &'r str)> {
        let col = self.layout.col(field)?;
        let s = rec.get(col).unwrap_or_default();
        let untrimmed = s
            .as_bytes()
            .first()
            .zip(s.as_bytes().last())
            .is_none_or(|(a, b)| !a.is_ascii_whitespace() && !b.is_ascii_whitespace());
        Some((col, if untrimmed { s } else { s.trim() }))
    }

    fn number(&self, rec: &csv::StringRecord, line: u64, field: Field) -> Result<Option<f64>> {
        match self.text(rec, field) {
            None => Ok(None),
            Some((_, "")) => Ok(None),
            Some((col, s)) => match s.parse::<f64>() {
                Ok(v) if v.is_finite() && v.abs() <= MAX_ABS_VALUE => Ok(Some(v)),
                Ok(v) if v.is_finite() => Err(self.err(
                    line,
                    col,
                    s,
                    &format!(
                        "beyond the plausible range ±{} (a unit or export error: Elia's prices are capped near ±15,000 EUR/MWh, the Belgian imbalance is a few GW)",
                        imbarb_util::range::show_number(MAX_ABS_VALUE)
                    ),
                )),
                _ => Err(self.err(line, col, s, "expected a finite number")),
            },
        }
    }

    fn timestamp(
        &self,
        rec: &csv::StringRecord,
        line: u64,
        field: Field,
        step_seconds: i64,
    ) -> Result<Option<DateTime<Utc>>> {
        let Some((col, s)) = self.text(rec, field) else {
            return Ok(None);
        };
        let t = match parse_timestamp_fast(s.as_bytes()) {
            Some(t) => t,
            None => DateTime::parse_from_rfc3339(s)
                .map_err(|_| {
                    self.err(
                        line,
                        col,
                        s,
                        "expected an ISO 8601 timestamp with offset, e.g. 2023-01-01T00:00:00+01:00",
                    )
                })?
                .with_timezone(&Utc),
        };
        if !(MIN_YEAR..=MAX_YEAR).contains(&t.year()) {
            return Err(self.err(
                line,
                col,
                s,
                &format!("timestamp outside the supported years {MIN_YEAR}..={MAX_YEAR}"),
            ));
        }
        if t.timestamp().rem_euclid(step_seconds) != 0 || t.timestamp_subsec_nanos() != 0 {
            let what = if step_seconds == 900 {
                "not the start of a quarter-hour"
            } else {
                "not a whole minute"
            };
            return Err(self.err(line, col, s, what));
        }
        Ok(Some(t))
    }

    fn quality(&self, rec: &csv::StringRecord, line: u64) -> Result<Quality> {
        match self.text(rec, Field::Quality) {
            None | Some((_, "")) => {
                let validated_source = self
                    .text(rec, Field::PriceSource)
                    .is_some_and(|(_, s)| s.to_ascii_lowercase().contains("validated"));
                Ok(if validated_source {
                    Quality::Validated
                } else {
                    Quality::NotValidated
                })
            }
            Some((col, s)) => Quality::parse(s).ok_or_else(|| {
                self.err(
                    line,
                    col,
                    s,
                    "expected a quality status (Validated, Not Validated, NV, DataIssue)",
                )
            }),
        }
    }

    fn check_resolution(&self, rec: &csv::StringRecord, line: u64, expected: &str) -> Result<()> {
        match self.text(rec, Field::Resolution) {
            Some((col, s)) if !s.is_empty() && !s.eq_ignore_ascii_case(expected) => {
                Err(self.err(line, col, s, &format!("expected resolution {expected}")))
            }
            _ => Ok(()),
        }
    }

    fn note_synthetic(&mut self, rec: &csv::StringRecord) {
        if !self.synthetic {
            self.synthetic = self
                .text(rec, Field::PriceSource)
                .is_some_and(|(_, s)| s == SYNTHETIC_SOURCE);
        }
    }

    fn check_market(&mut self, rec: &csv::StringRecord, line: u64) -> Result<()> {
        if let Some((col, s)) = self.text(rec, Field::Market) {
            let m = Market::parse(s).ok_or_else(|| self.err(line, col, s, "expected BE or NL"))?;
            match self.market {
                Some(prev) if prev != m => {
                    return Err(self.err(line, col, s, "market differs from earlier rows"))
                }
                _ => self.market = Some(m),
            }
        }
        Ok(())
    }

    fn components(&self, rec: &csv::StringRecord, line: u64) -> Result<Components> {
        let mut c = Components::default();
        for (field, comp) in [
            (Field::SystemImbalance, Component::SystemImbalanceMw),
            (Field::Nrv, Component::NrvMw),
            (Field::Ace, Component::AceMw),
            (Field::Mip, Component::MipEurPerMwh),
            (Field::Mdp, Component::MdpEurPerMwh),
            (Field::Alpha, Component::AlphaEurPerMwh),
            (Field::AlphaPrime, Component::AlphaPrimeEurPerMwh),
        ] {
            c.set(comp, self.number(rec, line, field)?);
        }
        Ok(c)
    }

    /// Parses a quarter-hour row; `None` when its price cell is empty (a gap, reported later).
    fn qh(&mut self, rec: &csv::StringRecord, line: u64) -> Result<Option<QhRecord>> {
        self.check_resolution(rec, line, "PT15M")?;
        self.check_market(rec, line)?;
        self.note_synthetic(rec);
        let start_utc = self
            .timestamp(rec, line, Field::Timestamp, 900)?
            .ok_or_else(|| self.err(line, 0, "", "missing timestamp"))?;
        let (long, short) = match self.layout.format {
            Format::EliaOds047 => (
                self.number(rec, line, Field::PositivePrice)?,
                self.number(rec, line, Field::NegativePrice)?,
            ),
            _ if self.layout.col(Field::Price).is_some() => {
                let p = self.number(rec, line, Field::Price)?;
                (p, p)
            }
            _ => (
                self.number(rec, line, Field::PriceLong)?,
                self.number(rec, line, Field::PriceShort)?,
            ),
        };
        let price = match (long, short) {
            (None, None) => return Ok(None),
            (Some(l), Some(s)) => QhPrice::from_legs(l, s),
            (Some(_), None) | (None, Some(_)) => {
                let field = if long.is_none() {
                    [Field::PositivePrice, Field::PriceLong]
                } else {
                    [Field::NegativePrice, Field::PriceShort]
                };
                let col = field
                    .iter()
                    .find_map(|f| self.layout.col(*f))
                    .unwrap_or_default();
                return Err(self.err(line, col, "", "one price leg is empty, the other is not"));
            }
        };
        Ok(Some(QhRecord {
            start_utc,
            price,
            components: self.components(rec, line)?,
            quality: self.quality(rec, line)?,
        }))
    }

    /// Parses the day-ahead price of a row; `None` when its cell is empty (a gap, reported by
    /// `data inspect` and filled or refused by rule where the features need it).
    fn day_ahead(&mut self, rec: &csv::StringRecord, line: u64) -> Result<Option<DayAheadPrice>> {
        self.check_market(rec, line)?;
        let start_utc = self
            .timestamp(rec, line, Field::Timestamp, 900)?
            .ok_or_else(|| self.err(line, 0, "", "missing timestamp"))?;
        Ok(self
            .number(rec, line, Field::DayAheadPrice)?
            .map(|eur_per_mwh| DayAheadPrice {
                start_utc,
                eur_per_mwh,
            }))
    }

    /// Parses a per-minute row.
    fn minute(&mut self, rec: &csv::StringRecord, line: u64) -> Result<Option<MinuteRecord>> {
        self.check_resolution(rec, line, "PT1M")?;
        self.note_synthetic(rec);
        let label = self
            .timestamp(rec, line, Field::Timestamp, 60)?
            .ok_or_else(|| self.err(line, 0, "", "missing timestamp"))?;
        let label_col = self.layout.col(Field::Timestamp).unwrap_or_default();
        let shift_back = self.layout.minute_label_is_end
            || self.layout.format == Format::EliaMinuteSystemImbalance;
        let minute_utc = if shift_back {
            label
                .checked_sub_signed(TimeDelta::minutes(1))
                .ok_or_else(|| self.err(line, label_col, "", "timestamp out of range"))?
        } else {
            label
        };
        let qh_start_utc = match self.timestamp(rec, line, Field::QuarterHour, 900)? {
            Some(q) => q,
            None => {
                let secs = minute_utc.timestamp();
                DateTime::from_timestamp(secs - secs.rem_euclid(900), 0)
                    .ok_or_else(|| self.err(line, label_col, "", "timestamp out of range"))?
            }
        };
        let inside = minute_utc >= qh_start_utc
            && qh_start_utc
                .checked_add_signed(QH)
                .is_some_and(|end| minute_utc < end);
        if !inside {
            let col = self.layout.col(Field::QuarterHour).unwrap_or(label_col);
            let text = self.text(rec, Field::QuarterHour).map_or("", |t| t.1);
            return Err(self.err(
                line,
                col,
                text,
                &format!("minute {minute_utc} is not inside this quarter-hour"),
            ));
        }
        let price_estimate_eur_per_mwh = match self.layout.col(Field::Price) {
            Some(_) => self.number(rec, line, Field::Price)?,
            None => self.number(rec, line, Field::PositivePrice)?,
        };
        Ok(Some(MinuteRecord {
            minute_utc,
            qh_start_utc,
            price_estimate_eur_per_mwh,
            components: self.components(rec, line)?,
            quality: self.quality(rec, line)?,
        }))
    }
}

/// Parses the one timestamp shape every Elia and canonical file uses,
/// `YYYY-MM-DDTHH:MM:SS` followed by `Z` or `+HH:MM` / `-HH:MM`, in a few nanoseconds. Anything
/// else (fractions, other separators, invalid dates) returns `None` and goes to chrono's full
/// RFC 3339 parser, which also produces the error message. Hand-written because timestamp parsing
/// dominated the million-row benchmark with chrono's general parser.
fn parse_timestamp_fast(b: &[u8]) -> Option<DateTime<Utc>> {
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let mut v = 0u32;
        for &c in b.get(r)? {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + u32::from(c - b'0');
        }
        Some(v)
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let offset_seconds: i64 = match (&b[19..], b.len()) {
        ([b'Z'], 20) => 0,
        ([sign @ (b'+' | b'-'), ..], 25) if b[22] == b':' => {
            let (h, m) = (digits(20..22)?, digits(23..25)?);
            if h > 23 || m > 59 {
                return None;
            }
            let v = i64::from(h * 3600 + m * 60);
            if *sign == b'+' {
                v
            } else {
                -v
            }
        }
        _ => return None,
    };
    let date =
        chrono::NaiveDate::from_ymd_opt(digits(0..4)? as i32, digits(5..7)?, digits(8..10)?)?;
    let time = chrono::NaiveTime::from_hms_opt(digits(11..13)?, digits(14..16)?, digits(17..19)?)?;
    let local = date.and_time(time).and_utc();
    local.checked_sub_signed(TimeDelta::seconds(offset_seconds))
}

#[cfg(test)]
#[path = "read_tests.rs"]
mod tests;
