//! Log lines: `level=<level> [<context key>=<value>] <fields>`, one write each, on stderr.

use std::fmt::Display;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static DEBUG: AtomicBool = AtomicBool::new(false);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

/// Shows debug lines too (a service's `-d`).
pub fn set_debug(on: bool) {
    DEBUG.store(on, Ordering::Relaxed);
}

/// One line, newline included; `context` is a key and value that name what the line is about
/// (an interface, a console), `fields` already in `key=value` form.
pub fn line(level: Level, context: Option<(&str, &str)>, fields: impl Display) -> String {
    match context {
        Some((key, value)) => format!("level={} {key}={} {fields}\n", level.name(), quote(value)),
        None => format!("level={} {fields}\n", level.name()),
    }
}

/// Writes one line (`fields` already in `key=value` form), unless it is a debug line and
/// debug is off.
pub fn log(level: Level, fields: impl Display) {
    log_about(level, None, fields)
}

/// [`log`], the line naming what it is about: `context` is a key and a value, such as an
/// interface or a console.
pub fn log_about(level: Level, context: Option<(&str, &str)>, fields: impl Display) {
    if level == Level::Debug && !DEBUG.load(Ordering::Relaxed) {
        return;
    }
    // One write per line, so the lines of several tasks or processes never interleave.
    let _ = std::io::stderr()
        .lock()
        .write_all(line(level, context, fields).as_bytes());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_quoting() {
        assert_eq!(quote("eth0"), "eth0");
        assert_eq!(quote("pts/3"), "pts/3");
        assert_eq!(quote("a b"), "\"a b\"");
        assert_eq!(quote("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
        assert_eq!(quote(""), "\"\"");
        assert_eq!(
            line(Level::Warn, Some(("iface", "eth0")), "event=x"),
            "level=warn iface=eth0 event=x\n"
        );
        assert_eq!(
            line(Level::Info, Some(("console", "tty 1")), "event=y n=2"),
            "level=info console=\"tty 1\" event=y n=2\n"
        );
        assert_eq!(line(Level::Error, None, "event=z"), "level=error event=z\n");
    }
}
