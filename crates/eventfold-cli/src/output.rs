//! Output as JSON lines, written so a closed pipe (`| head`) ends the command quietly.

use std::io::{self, BufWriter, Stdout, Write};

/// Buffered standard output for JSON lines.
pub struct JsonLines {
    out: BufWriter<Stdout>,
}

impl JsonLines {
    /// Standard output, buffered.
    pub fn stdout() -> Self {
        Self {
            out: BufWriter::new(io::stdout()),
        }
    }

    /// Writes one value as one line.
    pub fn line(&mut self, value: &impl serde::Serialize) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, value)?;
        self.out.write_all(b"\n")
    }

    /// Pushes buffered lines out (for live output).
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// True when the error is a closed pipe on output.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<io::Error>())
        .any(|io| io.kind() == io::ErrorKind::BrokenPipe)
}
