//! Arbitrary bytes as a received DHCPv6 message: through
//! `dhcp6::information_reply`, and through the client state machine in each
//! stage (soliciting, requesting, bound, renewing, rebinding, informed...),
//! each as the bytes come and again with the message type and transaction
//! id the stage waits for, so that mutations reach the options. The checks
//! live in `tests/neighbor/mod.rs`, which `tests/hostile.rs` runs on stable.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/neighbor/mod.rs"]
mod neighbor;

fuzz_target!(|data: &[u8]| {
    neighbor::check_dhcp6(data);
});
