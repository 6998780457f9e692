//! Arbitrary bytes as a received ICMPv6 message, through `ra::parse`: as they
//! come, and with the type and code of a router advertisement forced so
//! that mutations reach the options. The checks live in
//! `tests/neighbor/mod.rs`, which `tests/hostile.rs` runs on stable.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/neighbor/mod.rs"]
mod neighbor;

fuzz_target!(|data: &[u8]| {
    neighbor::check_ra(data);
});
