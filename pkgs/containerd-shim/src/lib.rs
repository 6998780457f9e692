//! A containerd runtime v2 shim that runs containers with runc.
//!
//! containerd starts one shim per container (or per group, see
//! [`process::grouping`]) and talks to it over ttrpc; the shim runs `runc`,
//! copies the container's stdio between pipes or a terminal and containerd's
//! fifos, reaps every child as a subreaper and reports exits as events.
//!
//! The bootstrap (`start`, `delete`, the socket, the publisher, the reaper)
//! comes from the `containerd-shim` crate; this crate adds the task service
//! ([`service::Service`]) and keeps its state rules I/O-free in [`process`].

pub mod console;
pub mod error;
pub mod io;
pub mod oom;
pub mod process;
pub mod runc;
pub mod service;
pub mod shim;
pub mod spec;
pub mod stats;

/// The runtime name containerd knows this shim by; containerd looks for the
/// binary `containerd-shim-minios-v2` on its PATH.
pub const RUNTIME_NAME: &str = "io.containerd.minios.v2";

/// The binary's name, as containerd derives it from [`RUNTIME_NAME`].
pub const BINARY_NAME: &str = "containerd-shim-minios-v2";
