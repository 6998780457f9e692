//! Logs: one line per event on stderr, `level=... event=... key=value` (svckit's lines).

pub use svckit::log::{log, quote, set_debug, Level};
