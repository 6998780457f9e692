//! Logs: one line per event on stderr, `level=... [console=...] event=... key=value`.

use std::fmt::Display;
use std::io::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// Writes one line; `fields` is already in `key=value` form.
pub fn log(level: Level, console: Option<&str>, fields: impl Display) {
    let line = match console {
        Some(c) => format!("level={} console={} {fields}\n", level.name(), quote(c)),
        None => format!("level={} {fields}\n", level.name()),
    };
    // One write per line, so that the lines of several console processes never interleave.
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
        assert_eq!(quote("ttyS0"), "ttyS0");
        assert_eq!(quote("pts/3"), "pts/3");
        assert_eq!(quote("a b"), "\"a b\"");
        assert_eq!(quote("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
        assert_eq!(quote(""), "\"\"");
    }
}
