//! Logs: one line per event on stderr, `level=... [iface=...] event=... k=v`.

use std::fmt::Display;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::client::Level as ClientLevel;

static DEBUG: AtomicBool = AtomicBool::new(false);

/// Shows debug lines too (`-d`).
pub fn set_debug(on: bool) {
    DEBUG.store(on, Ordering::Relaxed);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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

impl From<ClientLevel> for Level {
    fn from(l: ClientLevel) -> Level {
        match l {
            ClientLevel::Debug => Level::Debug,
            ClientLevel::Info => Level::Info,
            ClientLevel::Warn => Level::Warn,
        }
    }
}

/// Writes one line; `fields` is already in `key=value` form.
pub fn log(level: Level, iface: Option<&str>, fields: impl Display) {
    if level == Level::Debug && !DEBUG.load(Ordering::Relaxed) {
        return;
    }
    let line = match iface {
        Some(i) => format!("level={} iface={i} {fields}\n", level.name()),
        None => format!("level={} {fields}\n", level.name()),
    };
    // One write per line, so lines from several tasks never interleave.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Quotes a value for a key=value field when it needs it.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote("eth0"), "eth0");
        assert_eq!(quote("a b"), "\"a b\"");
        assert_eq!(quote("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
        assert_eq!(quote(""), "\"\"");
    }
}
