//! The system clock through adjtimex(2), and getrandom(2): the crate's only
//! unsafe code, each call a few lines over a zeroed plain-C struct.
#![allow(unsafe_code)]

use std::io;

use crate::clock::{Adjustment, Clock, ClockError, MAX_PHASE};
use crate::packet::NtpTimestamp;
use crate::reply::Leap;

/// The kernel's clock: CLOCK_REALTIME, stepped with ADJ_SETOFFSET, disciplined by its PLL.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

/// The wall clock now, from CLOCK_REALTIME.
pub fn now() -> NtpTimestamp {
    use nix::time::{clock_gettime, ClockId};
    match clock_gettime(ClockId::CLOCK_REALTIME) {
        Ok(ts) => NtpTimestamp::from_unix(ts.tv_sec(), ts.tv_nsec() as u32),
        // CLOCK_REALTIME cannot fail on Linux; fall back to std rather than panic.
        Err(_) => {
            let d = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            NtpTimestamp::from_unix(d.as_secs() as i64, d.subsec_nanos())
        }
    }
}

fn adjtimex(op: &'static str, tx: &mut libc::timex) -> Result<i32, ClockError> {
    // SAFETY: tx is a valid, initialised timex that lives across the call.
    let r = unsafe { libc::adjtimex(tx) };
    if r < 0 {
        Err(ClockError::from_io(op, io::Error::last_os_error()))
    } else {
        Ok(r)
    }
}

fn zeroed_timex() -> libc::timex {
    // SAFETY: timex is plain C data for which all-zero is a valid value (modes 0 = read only).
    unsafe { std::mem::zeroed() }
}

/// Reads the kernel's discipline state without changing it: (status bits, frequency in ppm).
/// Needs no privilege.
pub fn read_status() -> Result<(i32, f64), ClockError> {
    let mut tx = zeroed_timex();
    adjtimex("adjtimex (read)", &mut tx)?;
    Ok((tx.status, tx.freq as f64 / 65536.0))
}

impl Clock for SystemClock {
    fn now(&self) -> NtpTimestamp {
        now()
    }

    fn step(&mut self, offset: f64) -> Result<(), ClockError> {
        // ADJ_SETOFFSET adds to the clock atomically, unlike a read then clock_settime.
        let ns = (offset * 1e9).round() as i64;
        let mut tx = zeroed_timex();
        tx.modes = libc::ADJ_SETOFFSET | libc::ADJ_NANO;
        tx.time.tv_sec = ns.div_euclid(1_000_000_000) as _;
        // With ADJ_NANO the microseconds field holds nanoseconds, always positive.
        tx.time.tv_usec = ns.rem_euclid(1_000_000_000) as _;
        adjtimex("clock step (adjtimex ADJ_SETOFFSET)", &mut tx).map(drop)
    }

    fn discipline(&mut self, adj: &Adjustment) -> Result<(), ClockError> {
        let mut tx = zeroed_timex();
        tx.modes = libc::ADJ_OFFSET
            | libc::ADJ_STATUS
            | libc::ADJ_TIMECONST
            | libc::ADJ_NANO
            | libc::ADJ_MAXERROR
            | libc::ADJ_ESTERROR;
        tx.offset = (adj.offset.clamp(-MAX_PHASE, MAX_PHASE) * 1e9).round() as _;
        tx.constant = i64::from(adj.time_constant.min(10)) as _;
        let leap = match adj.leap {
            Leap::None => 0,
            Leap::Insert => libc::STA_INS,
            Leap::Delete => libc::STA_DEL,
        };
        // STA_UNSYNC left out: the kernel now counts the clock as synchronized.
        tx.status = (libc::STA_PLL | leap) as _;
        tx.maxerror = ((adj.max_error * 1e6) as i64).clamp(0, 16_000_000) as _;
        tx.esterror = ((adj.est_error * 1e6) as i64).clamp(0, 16_000_000) as _;
        adjtimex("clock slew (adjtimex ADJ_OFFSET)", &mut tx).map(drop)
    }

    fn slew_once(&mut self, offset: f64) -> Result<(), ClockError> {
        let mut tx = zeroed_timex();
        // Single-shot offsets are always in microseconds.
        tx.modes = libc::ADJ_OFFSET_SINGLESHOT;
        tx.offset = (offset.clamp(-MAX_PHASE, MAX_PHASE) * 1e6).round() as _;
        adjtimex("clock slew (adjtimex ADJ_OFFSET_SINGLESHOT)", &mut tx).map(drop)
    }
}

/// 64 random bits from the kernel (getrandom(2) directly: static glibc's lookup
/// through rand/getrandom breaks in an empty root), or None if it fails.
pub fn random_u64() -> Option<u64> {
    let mut buf = [0u8; 8];
    // SAFETY: buf is valid for writes of 8 bytes.
    let n = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) };
    (n == 8).then(|| u64::from_ne_bytes(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_kernel_clock() {
        let (status, freq) = read_status().expect("adjtimex with modes 0 needs no privilege");
        assert!(freq.abs() <= 500.0, "{freq}");
        let _ = status;
        let a = now();
        let b = SystemClock.now();
        assert!(b.diff(a) >= 0.0 && b.diff(a) < 1.0);
        let std_now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        let c = NtpTimestamp::from_unix(std_now.as_secs() as i64, std_now.subsec_nanos());
        assert!(c.diff(b).abs() < 1.0);
    }

    #[test]
    fn random_bits() {
        let a = random_u64().unwrap();
        let b = random_u64().unwrap();
        assert_ne!(a, b);
    }
}
