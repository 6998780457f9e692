//! The protocol core of a DHCPv4 client that behaves like dhcpcd.
//!
//! No sockets, no clock, no netlink: [`Client`] is a state machine fed with
//! events and an injected [`Instant`], returning [`Action`]s for the daemon
//! to carry out. [`config`] reads the dhcpcd.conf subset LinuxKit uses, and
//! [`Lease`] renders resolv.conf and persists itself as JSON.

#![forbid(unsafe_code)]

pub mod client;
pub mod config;
pub mod lease;
pub mod options;
pub mod time;

pub use client::{Action, Client, ClientConfig, Destination, Level, State};
pub use config::{Config, ConfigError, Warning};
pub use lease::{Lease, LeaseError, Route};
pub use options::{ClientId, PacketError};
pub use time::Instant;
