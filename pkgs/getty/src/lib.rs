//! A console login for LinuxKit images: one supervised login loop per console.
//!
//! The pure core: [`console`] (which consoles, from `console=` or agetty's arguments),
//! [`issue`] (`/etc/issue` escapes), [`shadow`] (shadow entries and the password check) and
//! [`restart`] (when a console's loop starts again). Around it, the I/O: [`supervisor`] forks
//! one [`session`] process per console, which sets up the [`tty`], logs someone in and runs
//! their shell, in the host's namespaces when asked (through the `hostns` crate).

// Unsafe code is denied everywhere but in `sys`: fork, TIOCSCTTY, vhangup and sigaction,
// which nix has no safe wrappers for.
#![deny(unsafe_code)]

use std::path::PathBuf;
use std::time::Duration;

pub mod console;
pub mod issue;
pub mod log;
pub mod restart;
pub mod session;
pub mod shadow;
pub mod supervisor;
mod sys;
pub mod tty;

pub use console::{Console, ConsoleError, Kind};
pub use hostns::Ns;
pub use restart::Backoff;

/// Exit code: stopped by SIGTERM or SIGINT.
pub const EXIT_OK: u8 = 0;
/// Exit code: no console to run on.
pub const EXIT_NO_CONSOLE: u8 = 1;
/// Exit code: bad flags or arguments.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: the system failed us (signals, poll).
pub const EXIT_SYSTEM: u8 = 3;

/// Where to enter the host's namespaces before a shell starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostNamespaces {
    /// A process of the host (PID 1 of the host, seen through `pid: host`).
    pub pid: u32,
    pub namespaces: Vec<Ns>,
}

/// What every console's session does.
#[derive(Debug, Clone)]
pub struct Options {
    pub passwd: PathBuf,
    pub group: PathBuf,
    pub shadow: PathBuf,
    /// None: no issue (`--noissue`).
    pub issue: Option<PathBuf>,
    /// The pause after a failed login, before "Login incorrect".
    pub fail_delay: Duration,
    /// Failed logins before the session starts over (with the issue again).
    pub login_tries: u32,
    /// Let accounts with an empty password field in without a password.
    pub allow_empty: bool,
    /// A root shell with no login at all. Never the default.
    pub insecure: bool,
    pub host_namespaces: Option<HostNamespaces>,
    /// Hang the line up before each session.
    pub vhangup: bool,
    pub backoff: Backoff,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            passwd: "/etc/passwd".into(),
            group: "/etc/group".into(),
            shadow: "/etc/shadow".into(),
            issue: Some("/etc/issue".into()),
            fail_delay: Duration::from_secs(3),
            login_tries: 3,
            allow_empty: false,
            insecure: false,
            host_namespaces: None,
            vhangup: false,
            backoff: Backoff::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_by_default() {
        let o = Options::default();
        assert!(!o.insecure && !o.allow_empty);
        assert_eq!(o.fail_delay, Duration::from_secs(3));
    }
}
