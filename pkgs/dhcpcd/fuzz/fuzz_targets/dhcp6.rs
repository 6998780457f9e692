//! Arbitrary bytes as a DHCPv6 message to our Information-request, through
//! `dhcp6::information_reply`: as they come, and with the type and
//! transaction id of our Reply forced so that mutations reach the options.
//! The checks live in `tests/neighbor/mod.rs`, which `tests/hostile.rs`
//! runs on stable.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/neighbor/mod.rs"]
mod neighbor;

fuzz_target!(|data: &[u8]| {
    neighbor::check_dhcp6(data);
});
