//! The service's journal: every decision, telemetry message, fetch and fallback, appended to an
//! SQLite database (write-ahead log, fully synchronous, one transaction per event), with its
//! inputs, outputs and times. After a crash the day's cycle use, the latest telemetry and the
//! pending decision come back from it: nothing counted twice, nothing lost.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A journal that could not be opened, written or read.
#[derive(Debug, thiserror::Error)]
#[error("journal {path}: {message}")]
pub struct JournalError {
    /// The database file.
    pub path: String,
    /// What went wrong.
    pub message: String,
}

/// What an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    /// A set-point decided (fallbacks included, with their reason).
    Decision,
    /// A telemetry message accepted.
    Telemetry,
    /// A market-data fetch (rows, or the error).
    Fetch,
    /// A closed day's P&L of the model and its shadows.
    Day,
    /// A guard alert or a change of control, with its evidence.
    Guard,
    /// A new model loaded (promotion or rollback), with the old and new identities.
    Model,
    /// The books of the day in progress (model, battery, shadows), after each decision.
    Books,
}

impl EventKind {
    fn as_str(self) -> &'static str {
        match self {
            EventKind::Decision => "decision",
            EventKind::Telemetry => "telemetry",
            EventKind::Fetch => "fetch",
            EventKind::Day => "day",
            EventKind::Guard => "guard",
            EventKind::Model => "model",
            EventKind::Books => "books",
        }
    }
}

/// One decision as journaled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionEvent {
    /// The decision time (start of the interval the set-point holds for).
    pub at: DateTime<Utc>,
    /// Brussels day it belongs to.
    pub day: NaiveDate,
    /// The set-point sent, MW.
    pub power_mw: f64,
    /// What the model proposed, MW.
    pub proposed_mw: Option<f64>,
    /// Why the fallback decided, if it did.
    pub fallback: Option<String>,
    /// Cell throughput the set-point moves over its interval, MWh (the cycle budget's unit).
    pub throughput_mwh: f64,
    /// SoC the set-point leaves, MWh, if the battery follows it.
    pub soc_after_mwh: f64,
    /// How long the set-point holds, hours.
    pub duration_h: f64,
    /// Settlement of the interval, EUR, once its price is known (replay).
    pub profit_eur: Option<f64>,
    /// The model's identity (manifest SHA-256).
    pub model: String,
    /// The model's evaluation of every action (empty when it could not decide).
    #[serde(default)]
    pub scores: Vec<imbarb_agents::decide::ActionScore>,
    /// Who proposed the set-point when not the model (the shadow the drift guard handed
    /// control to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<String>,
}

/// One telemetry message as journaled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TelemetryEvent {
    /// When the battery measured.
    pub at: DateTime<Utc>,
    /// SoC, MWh.
    pub soc_mwh: f64,
    /// Power available now, MW.
    pub available_mw: Option<f64>,
    /// Cell throughput today measured by the battery, MWh, if it counts it.
    pub throughput_today_mwh: Option<f64>,
}

/// One market-data fetch as journaled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FetchEvent {
    /// The dataset id.
    pub dataset: String,
    /// How long it took, seconds.
    pub seconds: f64,
    /// Rows in the local file afterwards (when it succeeded).
    pub rows: Option<usize>,
    /// The error (when it failed).
    pub error: Option<String>,
}

/// What a restart recovers for a day.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recovered {
    /// Cell throughput of the day's decisions, MWh.
    pub throughput_mwh: f64,
    /// Decisions journaled that day.
    pub decisions: usize,
    /// The latest telemetry (any day).
    pub telemetry: Option<TelemetryEvent>,
    /// The latest decision (any day): the set-point in force.
    pub last_decision: Option<DecisionEvent>,
}

/// The journal database.
pub struct Journal {
    conn: Connection,
    path: PathBuf,
}

impl Journal {
    /// Opens (or creates) the journal at `path`.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        let err = |e: rusqlite::Error| JournalError {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let conn = Connection::open(path).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(err)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS events (
                id INTEGER PRIMARY KEY,
                at TEXT NOT NULL,
                day TEXT NOT NULL,
                kind TEXT NOT NULL,
                recorded TEXT NOT NULL,
                body TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS events_day_kind ON events (day, kind);
            CREATE INDEX IF NOT EXISTS events_kind_at ON events (kind, at);",
        )
        .map_err(err)?;
        Ok(Journal {
            conn,
            path: path.to_path_buf(),
        })
    }

    fn err(&self, message: impl std::fmt::Display) -> JournalError {
        JournalError {
            path: self.path.display().to_string(),
            message: message.to_string(),
        }
    }

    /// Appends one event (its own transaction, durable on return).
    pub fn append<T: Serialize>(
        &self,
        kind: EventKind,
        at: DateTime<Utc>,
        day: NaiveDate,
        body: &T,
    ) -> Result<(), JournalError> {
        let body = serde_json::to_string(body).map_err(|e| self.err(e))?;
        self.conn
            .execute(
                "INSERT INTO events (at, day, kind, recorded, body) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    at.to_rfc3339(),
                    day.to_string(),
                    kind.as_str(),
                    Utc::now().to_rfc3339(),
                    body
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The bodies of `kind` events on `day`, in order.
    pub fn events<T: DeserializeOwned>(
        &self,
        kind: EventKind,
        day: NaiveDate,
    ) -> Result<Vec<T>, JournalError> {
        self.bodies(
            "SELECT body FROM events WHERE day = ?1 AND kind = ?2 ORDER BY id",
            params![day.to_string(), kind.as_str()],
        )
    }

    /// Deletes the `kind` events of days before `day`: for derived state (the books of a day in
    /// progress) that only the latest copy matters for, so the journal stays bounded.
    pub fn forget_before(&self, kind: EventKind, day: NaiveDate) -> Result<usize, JournalError> {
        self.conn
            .execute(
                "DELETE FROM events WHERE kind = ?1 AND day < ?2",
                params![kind.as_str(), day.to_string()],
            )
            .map_err(|e| self.err(e))
    }

    /// The bodies of every `kind` event, in order.
    pub fn all<T: DeserializeOwned>(&self, kind: EventKind) -> Result<Vec<T>, JournalError> {
        self.bodies(
            "SELECT body FROM events WHERE kind = ?1 ORDER BY id",
            params![kind.as_str()],
        )
    }

    /// The bodies of the rows `sql` selects, parsed.
    fn bodies<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<T>, JournalError> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params, |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?;
        rows.map(|r| {
            let text = r.map_err(|e| self.err(e))?;
            serde_json::from_str(&text).map_err(|e| self.err(format!("a corrupt event: {e}")))
        })
        .collect()
    }

    /// The decision journaled for decision time `at`, if any (a restart does not decide twice).
    pub fn decision_at(&self, at: DateTime<Utc>) -> Result<Option<DecisionEvent>, JournalError> {
        self.first(
            "SELECT body FROM events WHERE kind = 'decision' AND at = ?1 ORDER BY id LIMIT 1",
            &at.to_rfc3339(),
        )
    }

    /// The body of the latest `kind` event, if any.
    pub fn latest<T: DeserializeOwned>(&self, kind: EventKind) -> Result<Option<T>, JournalError> {
        self.first(
            "SELECT body FROM events WHERE kind = ?1 ORDER BY id DESC LIMIT 1",
            kind.as_str(),
        )
    }

    /// The body of the first row `sql` (one text parameter) returns, parsed.
    fn first<T: DeserializeOwned>(
        &self,
        sql: &str,
        param: &str,
    ) -> Result<Option<T>, JournalError> {
        let text: Option<String> = self
            .conn
            .query_row(sql, params![param], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?;
        text.map(|t| {
            serde_json::from_str(&t).map_err(|e| self.err(format!("a corrupt event: {e}")))
        })
        .transpose()
    }

    /// What a restart on `day` needs: that day's throughput and decision count, the latest
    /// telemetry and decision.
    pub fn recover(&self, day: NaiveDate) -> Result<Recovered, JournalError> {
        let decisions: Vec<DecisionEvent> = self.events(EventKind::Decision, day)?;
        Ok(Recovered {
            throughput_mwh: decisions.iter().map(|d| d.throughput_mwh).sum(),
            decisions: decisions.len(),
            telemetry: self.latest(EventKind::Telemetry)?,
            last_decision: self.latest(EventKind::Decision)?,
        })
    }

    /// The day's ledger as CSV: one row per decision.
    pub fn ledger_csv(&self, day: NaiveDate) -> Result<String, JournalError> {
        let mut out = String::from(
            "at_utc,power_mw,proposed_mw,fallback,throughput_mwh,soc_after_mwh,profit_eur,model\n",
        );
        let opt = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
        for d in self.events::<DecisionEvent>(EventKind::Decision, day)? {
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{}\n",
                d.at.format("%Y-%m-%dT%H:%M:%SZ"),
                d.power_mw,
                opt(d.proposed_mw),
                d.fallback.as_deref().unwrap_or("").replace(',', ";"),
                d.throughput_mwh,
                d.soc_after_mwh,
                opt(d.profit_eur),
                d.model
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(at: &str, power: f64, throughput: f64) -> DecisionEvent {
        let at: DateTime<Utc> = at.parse().unwrap();
        DecisionEvent {
            at,
            day: imbarb_market::calendar::local_day(at),
            power_mw: power,
            proposed_mw: Some(power),
            fallback: None,
            throughput_mwh: throughput,
            soc_after_mwh: 1.0,
            duration_h: 0.25,
            profit_eur: Some(25.0),
            model: "m".into(),
            scores: vec![],
            control: None,
        }
    }

    /// Written, closed (as a crash would) and reopened: the day's throughput is the sum of its
    /// decisions' once, the latest telemetry and decision come back, and other days stay apart.
    #[test]
    fn a_reopened_journal_recovers_the_day_without_double_counting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.sqlite");
        let day: NaiveDate = "2024-06-01".parse().unwrap();
        {
            let j = Journal::open(&path).unwrap();
            for (i, at) in [
                "2024-06-01T10:00:00Z",
                "2024-06-01T10:15:00Z",
                "2024-06-01T10:30:00Z",
            ]
            .iter()
            .enumerate()
            {
                let d = decision(at, 1.0, 0.25 + i as f64);
                j.append(EventKind::Decision, d.at, d.day, &d).unwrap();
            }
            // The previous day's decision counts for that day only.
            let y = decision("2024-05-31T10:00:00Z", -1.0, 7.0);
            j.append(EventKind::Decision, y.at, y.day, &y).unwrap();
            let t = TelemetryEvent {
                at: "2024-06-01T10:31:00Z".parse().unwrap(),
                soc_mwh: 0.7,
                available_mw: Some(1.0),
                throughput_today_mwh: None,
            };
            j.append(EventKind::Telemetry, t.at, day, &t).unwrap();
        }
        let j = Journal::open(&path).unwrap();
        let r = j.recover(day).unwrap();
        assert_eq!(r.decisions, 3);
        assert!((r.throughput_mwh - (0.25 + 1.25 + 2.25)).abs() < 1e-12);
        assert_eq!(r.telemetry.unwrap().soc_mwh, 0.7);
        assert_eq!(
            r.last_decision.unwrap().at.to_rfc3339(),
            "2024-05-31T10:00:00+00:00"
        );
        assert_eq!(
            j.recover("2024-05-31".parse().unwrap())
                .unwrap()
                .throughput_mwh,
            7.0
        );
        // The ledger: one row per decision.
        let csv = j.ledger_csv(day).unwrap();
        assert_eq!(csv.lines().count(), 4);
        assert!(csv.lines().nth(1).unwrap().ends_with(",1,25,m"), "{csv}");
        // The database runs in write-ahead-log mode.
        let mode: String = j
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }
}
