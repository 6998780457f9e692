//! Arbitrary bytes as an authorized_keys file; the property is in `tests/keys_check/mod.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/keys_check/mod.rs"]
mod keys_check;

fuzz_target!(|data: &[u8]| {
    keys_check::check(data);
});
