//! Logs: one line per event on stderr, `level=... event=... key=value`.

use std::fmt::Display;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static DEBUG: AtomicBool = AtomicBool::new(false);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// Shows debug lines too (`-d`).
pub fn set_debug(on: bool) {
    DEBUG.store(on, Ordering::Relaxed);
}

/// Writes one line; `fields` is already in `key=value` form.
pub fn log(level: Level, fields: impl Display) {
    if level == Level::Debug && !DEBUG.load(Ordering::Relaxed) {
        return;
    }
    let line = format!("level={} {fields}\n", level.name());
    // One write per line, so lines from several tasks never interleave.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// A value as it goes into a line: bare when it is one plain word, quoted otherwise.
pub fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_graphic() && c != '"' && c != '=')
    {
        s.to_string()
    } else {
        format!("\"{}\"", s.escape_debug())
    }
}
