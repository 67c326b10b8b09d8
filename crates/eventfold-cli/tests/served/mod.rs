//! `eventfold serve` as a child process of a test, shared by the test files that need one.
#![allow(dead_code)] // each test file uses its own share

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

/// `eventfold serve` on an ephemeral port; the URL is read from its first line on stderr.
pub struct Served {
    pub child: std::process::Child,
    pub url: String,
    _stderr: BufReader<std::process::ChildStderr>,
}

impl Served {
    pub fn start(data: &Path) -> Self {
        let data = data.to_str().unwrap();
        Self::start_with(&["--data", data, "serve", "--listen", "127.0.0.1:0"])
    }

    pub fn start_with(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_eventfold"))
            .args(args)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        let url = line
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .expect("the URL")
            .to_owned();
        Self {
            child,
            url,
            _stderr: stderr,
        }
    }
}

impl Drop for Served {
    /// A failing test does not leave its server running (stopped ones are already gone).
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
