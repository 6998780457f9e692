//! The property the fuzz target checks, shared with `tests/hostile_keys.rs` (by path), which
//! runs it on stable over the seed corpus.
//!
//! Arbitrary text as an authorized_keys file (the metadata service's copy comes from outside
//! the machine): parsed, then every parsed key offered from two addresses, so options and
//! `from=` patterns are evaluated too. Besides "no panic": every line number given is in range,
//! and every refusal states a reason.

use std::net::IpAddr;

use sshd_wrap::{authorize, parse_authorized_keys, ClientAddr, Decision};

pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = parse_authorized_keys(text);
    let lines = text.lines().count();
    for key in &parsed.keys {
        assert!(key.line >= 1 && key.line <= lines);
        for ip in ["127.0.0.1", "2001:db8::1"] {
            let client = ClientAddr::from_ip(ip.parse::<IpAddr>().unwrap());
            match authorize(&parsed.keys, &key.key, client) {
                Decision::Accept { line, .. } => assert!(line >= 1 && line <= lines),
                Decision::Refuse { reason } => assert!(!reason.to_string().is_empty()),
            }
        }
    }
    for w in &parsed.warnings {
        assert!(w.line >= 1 && w.line <= lines);
    }
}
