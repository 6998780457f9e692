//! Arbitrary bytes as the UDP payload of a received DHCP packet, through
//! `parse_reply` and the client state machine in every state (INIT,
//! SELECTING with and without rapid commit and `require`, REQUESTING,
//! PROBING, BOUND, RENEWING, REBINDING, INIT-REBOOT, no carrier, stopped),
//! each as the bytes come and again with the xid and chaddr set to the
//! client's so that mutations reach past the first checks.
//!
//! It asserts, besides "no panic", that a packet the client must drop
//! changes nothing but log lines, that one it must take moves it on, and
//! that the client stays consistent. The checks live in
//! `tests/packets/mod.rs`, which `tests/hostile.rs` runs on stable.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/packets/mod.rs"]
mod packets;

fuzz_target!(|data: &[u8]| {
    packets::check_packet(data);
});
