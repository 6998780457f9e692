//! Any datagram through the reply path: codec, checks, filter, selection and
//! an engine waiting for a reply. It must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ntpd::fuzzing::reply_path(data);
});
