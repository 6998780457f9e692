//! Logs: one line per event on stderr, `level=... [console=...] event=... key=value` (svckit's
//! lines).

use std::fmt::Display;

pub use svckit::log::{quote, Level};

/// Writes one line about `console` (or the supervisor); `fields` is already in `key=value` form.
pub fn log(level: Level, console: Option<&str>, fields: impl Display) {
    svckit::log::log_about(level, console.map(|c| ("console", c)), fields)
}
