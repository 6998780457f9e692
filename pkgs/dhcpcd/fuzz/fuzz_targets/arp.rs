//! Arbitrary bytes as a received ARP frame, at an address probe, the
//! defence of an address in use, and IPv4LL: as they come, and with the
//! sender's address set to ours so that mutations reach the conflict rules.
//! The checks live in `tests/neighbor/mod.rs`, which `tests/hostile.rs`
//! runs on stable.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/neighbor/mod.rs"]
mod neighbor;

fuzz_target!(|data: &[u8]| {
    neighbor::check_arp(data);
});
