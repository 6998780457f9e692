//! The clock filter of RFC 5905 section 10: of a source's last eight
//! samples, the one with the least round-trip delay is the least disturbed
//! by queueing, so its offset is the source's offset.

use std::collections::VecDeque;

use crate::reply::{Leap, Sample, OUR_PRECISION, PHI};

/// Samples kept per source.
pub const FILTER_LEN: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq)]
struct Entry {
    sample: Sample,
    /// Monotonic time of arrival, seconds.
    at: f64,
}

/// A source's estimate, from the filter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    pub offset: f64,
    pub delay: f64,
    /// Peer dispersion: the samples' dispersions, aged and weighted (RFC 5905).
    pub dispersion: f64,
    /// RMS of the other samples' offsets around the chosen one.
    pub jitter: f64,
    pub root_delay: f64,
    pub root_dispersion: f64,
    pub stratum: u8,
    pub leap: Leap,
    /// When the chosen sample arrived (monotonic seconds).
    pub at: f64,
}

impl Estimate {
    /// RFC 5905's root distance: half the round trip to the primary source plus
    /// every dispersion and the jitter, floored at 1 ms (ntpd's mindist) so that
    /// sources on a quiet LAN still overlap.
    pub fn root_distance(&self) -> f64 {
        ((self.root_delay + self.delay) / 2.0
            + self.root_dispersion
            + self.dispersion
            + self.jitter)
            .max(MIN_DISTANCE)
    }
}

/// The smallest root distance a source is given.
pub const MIN_DISTANCE: f64 = 0.001;

#[derive(Clone, Debug, Default)]
pub struct ClockFilter {
    entries: VecDeque<Entry>,
}

impl ClockFilter {
    pub fn add(&mut self, sample: Sample, at: f64) {
        if self.entries.len() == FILTER_LEN {
            self.entries.pop_front();
        }
        self.entries.push_back(Entry { sample, at });
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The estimate at monotonic time `now`, or None without samples.
    pub fn estimate(&self, now: f64) -> Option<Estimate> {
        let mut sorted: Vec<&Entry> = self.entries.iter().collect();
        // Least delay first; among equals, the newest.
        sorted.sort_by(|a, b| {
            a.sample
                .delay
                .total_cmp(&b.sample.delay)
                .then(b.at.total_cmp(&a.at))
        });
        let best = sorted.first()?;
        let mut dispersion = 0.0;
        for (i, e) in sorted.iter().enumerate() {
            let aged = e.sample.dispersion + PHI * (now - e.at).max(0.0);
            dispersion += aged / 2f64.powi(i as i32 + 1);
        }
        let jitter = if sorted.len() > 1 {
            let sum: f64 = sorted[1..]
                .iter()
                .map(|e| (e.sample.offset - best.sample.offset).powi(2))
                .sum();
            (sum / (sorted.len() - 1) as f64).sqrt()
        } else {
            0.0
        };
        // The newest sample tells the server's current stratum and leap.
        let newest = self.entries.back()?;
        Some(Estimate {
            offset: best.sample.offset,
            delay: best.sample.delay,
            dispersion,
            jitter: jitter.max(OUR_PRECISION),
            root_delay: best.sample.root_delay,
            root_dispersion: best.sample.root_dispersion,
            stratum: newest.sample.stratum,
            leap: newest.sample.leap,
            at: best.at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::NtpTimestamp;

    pub(crate) fn sample(offset: f64, delay: f64) -> Sample {
        Sample {
            offset,
            delay,
            dispersion: 2e-6,
            root_delay: 0.0,
            root_dispersion: 0.0,
            stratum: 2,
            leap: Leap::None,
            reference_id: [0; 4],
            received_at: NtpTimestamp::ZERO,
        }
    }

    #[test]
    fn least_delay_wins_and_old_samples_leave() {
        let mut f = ClockFilter::default();
        assert!(f.estimate(0.0).is_none());
        f.add(sample(0.010, 0.050), 0.0);
        f.add(sample(0.001, 0.002), 1.0);
        f.add(sample(0.020, 0.080), 2.0);
        let e = f.estimate(2.0).unwrap();
        assert_eq!(e.offset, 0.001);
        assert_eq!(e.at, 1.0);
        assert!(e.jitter > 0.01);
        for i in 0..FILTER_LEN {
            f.add(sample(0.5, 0.010), 3.0 + i as f64);
        }
        // The 2 ms sample has been pushed out.
        let e = f.estimate(20.0).unwrap();
        assert_eq!(e.offset, 0.5);
        assert_eq!(e.at, 3.0 + (FILTER_LEN - 1) as f64);
        assert_eq!(f.len(), FILTER_LEN);
    }

    #[test]
    fn dispersion_ages() {
        let mut f = ClockFilter::default();
        f.add(sample(0.0, 0.001), 0.0);
        let young = f.estimate(0.0).unwrap();
        let old = f.estimate(1000.0).unwrap();
        assert!(old.dispersion > young.dispersion + 0.005);
        assert!(old.root_distance() >= MIN_DISTANCE);
    }
}
