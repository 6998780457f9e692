//! The protocol core of a DHCP client that behaves like dhcpcd: DHCPv4,
//! IPv4 link-local, router discovery and SLAAC, and DHCPv6.
//!
//! The core has no sockets, no clock, no netlink: [`Client`] is a state machine fed with
//! events and an injected [`Instant`], returning [`Action`]s for the daemon
//! to carry out. [`config`] reads the dhcpcd.conf subset LinuxKit uses, and
//! [`Lease`] renders resolv.conf and persists itself as JSON.
//!
//! Around it, [`daemon`] does the I/O: packet and UDP sockets, rtnetlink,
//! files, one task per interface. The pure helpers it uses are here too:
//! [`frame`] (Ethernet/IP/UDP/ARP framing and the BPF filter), [`arp`]
//! (RFC 5227 probing and defence), [`ipv4ll`] (RFC 3927 link-local
//! addresses), [`ra`] (IPv6 router advertisements), [`nd`] (router
//! discovery and SLAAC), [`dhcp6`] (the DHCPv6 client: DUIDs, RFC 8415
//! retransmission, stateless and IA_NA exchanges), [`slaac`] (the
//! interface identifiers of SLAAC addresses), [`plan`] (what a lease installs) and [`files`]
//! (resolv.conf and the NTP hand-off file).

// Unsafe code is denied everywhere but in `daemon::sys`, the few calls the
// packet socket needs that nix has no safe wrapper for.
#![deny(unsafe_code)]

pub mod arp;
pub mod client;
pub mod config;
pub mod daemon;
pub mod dhcp6;
pub mod files;
pub mod frame;
pub mod ipv4ll;
pub mod lease;
pub mod nd;
pub mod options;
pub mod plan;
pub mod ra;
pub mod slaac;
pub mod time;

pub use client::{Action, Client, ClientConfig, Destination, Level, State};
pub use config::{Config, ConfigError, Warning};
pub use lease::{Lease, LeaseError, Route};
pub use options::{ClientId, PacketError};
pub use time::Instant;
