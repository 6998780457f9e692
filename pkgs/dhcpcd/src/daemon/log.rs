//! Logs: one line per event on stderr, `level=... [iface=...] event=... k=v` (svckit's lines).

use std::fmt::Display;

pub use svckit::log::{quote, set_debug, Level};

use crate::client::Level as ClientLevel;

/// Writes one line about `iface` (or the daemon); `fields` is already in `key=value` form.
pub fn log(level: Level, iface: Option<&str>, fields: impl Display) {
    svckit::log::log_about(level, iface.map(|i| ("iface", i)), fields)
}

impl From<ClientLevel> for Level {
    fn from(l: ClientLevel) -> Level {
        match l {
            ClientLevel::Debug => Level::Debug,
            ClientLevel::Info => Level::Info,
            ClientLevel::Warn => Level::Warn,
        }
    }
}
