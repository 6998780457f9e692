//! An NTP client daemon for minimal, container-native systems: ntpd's and
//! openntpd's flags and config keywords, the DHCP hand-off file of
//! pkgs/dhcpcd, and the kernel's clock discipline.
//!
//! The protocol is I/O-free and runs on any clock: [`packet`] (the wire
//! format), [`reply`] (per-packet checks), [`filter`] (the clock filter),
//! [`select`] (falseticker rejection and combining), [`discipline`] (step,
//! slew or refuse), and [`engine`], the state machine that ties them to the
//! sources and their poll intervals, behind the [`clock::Clock`] trait.
//! [`config`], [`resolv`] and [`handoff`] parse the files.
//!
//! [`daemon`] does the I/O: sockets, the resolver, the files, signals and the
//! real clock (`daemon::sys`, the only unsafe code).

#![deny(unsafe_code)]

pub mod clock;
pub mod config;
pub mod daemon;
pub mod discipline;
pub mod engine;
pub mod event;
pub mod filter;
pub mod fuzzing;
pub mod handoff;
pub mod packet;
pub mod reply;
pub mod resolv;
pub mod rng;
pub mod select;

pub use clock::{Clock, ClockError, FakeClock};
pub use config::{Config, ConfigError, ServerSpec};
pub use engine::{Action, Engine, EngineConfig, Outcome};
pub use event::{Event, Level};
pub use packet::{NtpTimestamp, Packet};
pub use reply::{check, Reply, Request};
