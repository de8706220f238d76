//! Standard output that fails like a file, not like a panic: `println!` panics when the reader
//! has gone (`imbarb ... | head`) or the device is full. Every result the CLI prints goes
//! through `outln!` / `out!`, which return the write error; `main` ends quietly on a closed pipe
//! and with an error naming standard output on any other failure.

use std::fmt;
use std::io::{self, Write};

/// The error of a failed write to standard output (the reason in the message, not chained, so
/// it is said once).
#[derive(Debug, thiserror::Error)]
#[error("cannot write to standard output: {0}")]
pub struct StdoutError(pub io::Error);

impl From<io::Error> for StdoutError {
    fn from(e: io::Error) -> Self {
        StdoutError(e)
    }
}

/// Writes `args` (and a newline when `newline`) to standard output, flushed.
pub fn write(args: fmt::Arguments, newline: bool) -> Result<(), StdoutError> {
    let mut out = io::stdout().lock();
    out.write_fmt(args)?;
    if newline {
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// Whether `e` is a write to a closed pipe: the reader has what it wanted, nothing went wrong.
pub fn is_closed_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<StdoutError>()
            .is_some_and(|s| s.0.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// `println!` that returns (with `?`) instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::out::write(format_args!($($arg)*), true)?
    };
}

/// `print!` that returns (with `?`) instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::out::write(format_args!($($arg)*), false)?
    };
}
