//! sshd-wrap: key-only SSH access to a LinuxKit host, each session in the host's namespaces.
//!
//! The I/O-free core:
//! - [`authorized_keys`]: OpenSSH's `authorized_keys` format, parsed line by line; a bad line
//!   is a warning, never an error for the whole file.
//! - [`pattern`]: OpenSSH's `from="..."` pattern lists (wildcards, `!` negation, CIDR).
//! - [`policy`]: which key options we enforce, and [`policy::authorize`], the decision.
//! - [`startups`]: `MaxStartups start:rate:full`, with the randomness passed in.
//! - [`launch`]: what a session runs, its argv and its environment.
//!
//! [`daemon`] does the I/O: the russh server, the session helper process, SFTP.
#![deny(unsafe_code)]

pub mod authorized_keys;
pub mod launch;
pub mod pattern;
pub mod policy;
pub mod startups;

#[allow(unsafe_code)]
pub mod daemon;

pub use authorized_keys::{
    parse_authorized_keys, AuthorizedKey, KeyOption, LineWarning, ParseError, Parsed,
};
pub use policy::{authorize, ClientAddr, Decision, Refusal};
pub use ssh_key::PublicKey;
pub use startups::{MaxStartups, MaxStartupsError};
