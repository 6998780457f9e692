//! What every service of this workspace repeats, once: [`log`], one `level=... key=value` line
//! per event on stderr; [`calendar`], UTC dates without a time zone database; and (feature
//! `tokio`) [`signals`], the stop and hangup signals as a service's own events. A forked service
//! keeps depending on it by path.

pub mod calendar;
pub mod log;
#[cfg(feature = "tokio")]
pub mod signals;
