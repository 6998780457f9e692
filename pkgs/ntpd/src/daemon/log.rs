//! Logs: one line per event on stderr, `level=... event=... key=value`.

use std::fmt::Display;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

pub use crate::event::{quote, Level};

static DEBUG: AtomicBool = AtomicBool::new(false);

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
