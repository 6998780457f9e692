//! The I/O-free core of sshd-wrap, a key-only SSH daemon for LinuxKit hosts.
//!
//! - [`authorized_keys`]: OpenSSH's `authorized_keys` format, parsed line by line; a bad line
//!   is a warning, never an error for the whole file.
//! - [`pattern`]: OpenSSH's `from="..."` pattern lists (wildcards, `!` negation, CIDR).
//! - [`policy`]: which key options we enforce, and [`policy::authorize`], the decision.
//! - [`startups`]: `MaxStartups start:rate:full`, with the randomness passed in.
//!
//! Nothing here reads files or sockets: the daemon does that and hands us text and addresses.
#![forbid(unsafe_code)]

pub mod authorized_keys;
pub mod pattern;
pub mod policy;
pub mod startups;

pub use authorized_keys::{
    parse_authorized_keys, AuthorizedKey, KeyOption, LineWarning, ParseError, Parsed,
};
pub use policy::{authorize, ClientAddr, Decision, Refusal};
pub use ssh_key::PublicKey;
pub use startups::{MaxStartups, MaxStartupsError};
