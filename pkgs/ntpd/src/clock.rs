//! The system clock as the engine sees it: read it, step it, hand an offset
//! to the kernel's PLL. The daemon's real clock is `daemon::sys::SystemClock`;
//! tests use [`FakeClock`], which models the kernel's behaviour.

use thiserror::Error;

use crate::packet::NtpTimestamp;
use crate::reply::Leap;

/// Why the clock could not be changed.
#[derive(Debug, Error)]
pub enum ClockError {
    #[error("{op} refused: the process needs CAP_SYS_TIME ({source})")]
    Permission {
        op: &'static str,
        source: std::io::Error,
    },
    #[error("{op} failed: {source}")]
    System {
        op: &'static str,
        source: std::io::Error,
    },
}

impl ClockError {
    /// Sorts an OS error into a permission problem or anything else.
    pub fn from_io(op: &'static str, source: std::io::Error) -> ClockError {
        if source.kind() == std::io::ErrorKind::PermissionDenied {
            ClockError::Permission { op, source }
        } else {
            ClockError::System { op, source }
        }
    }
}

/// One update of the kernel discipline.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adjustment {
    /// Server minus us, seconds; the kernel clamps it to ±0.5 s.
    pub offset: f64,
    /// The PLL time constant: the poll exponent (2^n seconds).
    pub time_constant: u8,
    pub leap: Leap,
    /// Estimated error (jitter), seconds.
    pub est_error: f64,
    /// Maximum error (root distance), seconds.
    pub max_error: f64,
}

pub trait Clock {
    /// The wall clock now.
    fn now(&self) -> NtpTimestamp;
    /// Moves the clock by `offset` seconds at once (positive: forward).
    fn step(&mut self, offset: f64) -> Result<(), ClockError>;
    /// Feeds the kernel PLL (adjtimex ADJ_OFFSET with STA_PLL, nanosecond mode): the
    /// kernel slews the offset away over about 2^(2 + time constant) seconds and learns the
    /// frequency error. Also sets the leap second bits and the error estimates.
    fn discipline(&mut self, adj: &Adjustment) -> Result<(), ClockError>;
    /// Slews `offset` once and forgets it (ADJ_OFFSET_SINGLESHOT, adjtime's 500 ppm), for -q.
    fn slew_once(&mut self, offset: f64) -> Result<(), ClockError>;
}

/// The kernel clamps a PLL offset to this (MAXPHASE).
pub const MAX_PHASE: f64 = 0.5;
/// The kernel clamps the frequency to this (MAXFREQ, 500 ppm); adjtime slews at this rate.
pub const MAX_FREQ: f64 = 500e-6;

/// A clock for tests: true time advances only through [`FakeClock::advance`];
/// the clock reading drifts by `drift` (s/s) and follows the kernel PLL's
/// equations (kernel/time/ntp.c: phase decays by 2^-(2+tc) per second,
/// frequency gains offset * secs / 2^(2(4+tc)) per update).
#[derive(Clone, Debug)]
pub struct FakeClock {
    /// True Unix time at the start, seconds.
    pub base: i64,
    /// True seconds since `base`.
    pub elapsed: f64,
    /// Clock minus true time, seconds.
    pub error: f64,
    /// The oscillator's own frequency error, s/s.
    pub drift: f64,
    /// The PLL's frequency correction, s/s.
    pub freq: f64,
    pll_phase: f64,
    pll_tc: u8,
    pll_last: Option<f64>,
    once: f64,
    pub leap: Leap,
    /// Every step, in order.
    pub steps: Vec<f64>,
    /// How many times the PLL was updated.
    pub updates: usize,
    /// Every one-shot slew.
    pub slews_once: Vec<f64>,
}

impl FakeClock {
    /// A clock that is `error` seconds off (positive: ahead) and drifts by `drift`.
    pub fn new(error: f64, drift: f64) -> FakeClock {
        FakeClock {
            base: 1_750_000_000,
            elapsed: 0.0,
            error,
            drift,
            freq: 0.0,
            pll_phase: 0.0,
            pll_tc: 0,
            pll_last: None,
            once: 0.0,
            leap: Leap::None,
            steps: Vec::new(),
            updates: 0,
            slews_once: Vec::new(),
        }
    }

    /// The true time now.
    pub fn true_time(&self) -> NtpTimestamp {
        at(self.base, self.elapsed)
    }

    /// The true time `secs` from now, for a server that answers later.
    pub fn true_time_at(&self, secs: f64) -> NtpTimestamp {
        at(self.base, self.elapsed + secs)
    }

    /// Lets `secs` seconds of true time pass, in steps of at most one second as the kernel does.
    pub fn advance(&mut self, secs: f64) {
        let mut left = secs;
        while left > 0.0 {
            let h = left.min(1.0);
            self.error += (self.drift + self.freq) * h;
            let chunk = self.pll_phase * h / 2f64.powi(2 + i32::from(self.pll_tc));
            self.pll_phase -= chunk;
            // The kernel adds the phase correction: a positive offset means we are behind.
            self.error += chunk;
            let once = self.once.clamp(-MAX_FREQ * h, MAX_FREQ * h);
            self.once -= once;
            self.error += once;
            self.elapsed += h;
            left -= h;
        }
    }
}

fn at(base: i64, elapsed: f64) -> NtpTimestamp {
    let whole = elapsed.floor();
    NtpTimestamp::from_unix(base + whole as i64, 0).add_secs(elapsed - whole)
}

impl Clock for FakeClock {
    fn now(&self) -> NtpTimestamp {
        self.true_time().add_secs(self.error)
    }

    fn step(&mut self, offset: f64) -> Result<(), ClockError> {
        self.error += offset;
        self.steps.push(offset);
        Ok(())
    }

    fn discipline(&mut self, adj: &Adjustment) -> Result<(), ClockError> {
        let tc = adj.time_constant.min(10);
        let offset = adj.offset.clamp(-MAX_PHASE, MAX_PHASE);
        let secs = match self.pll_last {
            Some(t) => (self.elapsed - t).min(2f64.powi(2 + 1 + i32::from(tc))),
            None => 0.0,
        };
        self.pll_last = Some(self.elapsed);
        self.pll_tc = tc;
        // A positive offset means we are behind: speed up, and add the offset.
        self.freq = (self.freq + offset * secs / 2f64.powi(2 * (4 + i32::from(tc))))
            .clamp(-MAX_FREQ, MAX_FREQ);
        // The new offset replaces what is left of the old one, as in the kernel.
        self.pll_phase = offset;
        self.leap = adj.leap;
        self.updates += 1;
        Ok(())
    }

    fn slew_once(&mut self, offset: f64) -> Result<(), ClockError> {
        self.once = offset;
        self.slews_once.push(offset);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_clock_drifts_and_steps() {
        let mut c = FakeClock::new(-2.0, 10e-6);
        assert!((c.now().diff(c.true_time()) + 2.0).abs() < 1e-9);
        c.advance(100.0);
        assert!((c.error + 2.0 - 0.001).abs() < 1e-9);
        c.step(2.0 - 0.001).unwrap();
        assert!(c.error.abs() < 1e-9);
    }

    #[test]
    fn fake_pll_slews_the_offset_away() {
        let mut c = FakeClock::new(-0.010, 0.0);
        c.discipline(&Adjustment {
            offset: 0.010,
            time_constant: 2,
            leap: Leap::None,
            est_error: 0.0,
            max_error: 0.0,
        })
        .unwrap();
        c.advance(200.0);
        assert!(c.error.abs() < 1e-6, "{}", c.error);
    }

    #[test]
    fn fake_singleshot_slews_at_500_ppm() {
        let mut c = FakeClock::new(-0.010, 0.0);
        c.slew_once(0.010).unwrap();
        c.advance(10.0);
        assert!((c.error + 0.005).abs() < 1e-9);
        c.advance(10.0);
        assert!(c.error.abs() < 1e-9);
    }
}
