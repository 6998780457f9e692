//! Source selection and combining (RFC 5905 sections 11.2.1 and 11.2.3).
//!
//! Each source says "the true time is within my offset ± my root distance".
//! Marzullo's intersection finds the interval that most of them share; those
//! whose offset falls outside are falsetickers. With one or two sources there
//! is nobody to outvote: both must agree, or nothing is selected.

use crate::filter::Estimate;
use crate::reply::Leap;

/// A source's estimate, with the caller's key.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Candidate<K> {
    pub key: K,
    pub estimate: Estimate,
}

/// The outcome of one selection.
#[derive(Clone, Debug, PartialEq)]
pub struct Selection<K> {
    /// Truechimers, best (smallest root distance) first; the first is the system peer.
    pub survivors: Vec<K>,
    /// Candidates rejected as falsetickers.
    pub falsetickers: Vec<K>,
    /// The survivors' offsets weighted by 1 / root distance, seconds.
    pub offset: f64,
    /// How much the survivors disagree, combined with the system peer's jitter.
    pub jitter: f64,
    /// The system peer's root distance.
    pub distance: f64,
    /// What most survivors say about a leap second.
    pub leap: Leap,
}

/// Selects and combines; None if no majority agrees (or no candidates).
pub fn select<K: Copy>(candidates: &[Candidate<K>]) -> Option<Selection<K>> {
    let n = candidates.len();
    if n == 0 {
        return None;
    }
    // Edges: (value, type) with -1 the low end, 0 the midpoint, +1 the high end.
    let mut edges: Vec<(f64, i32)> = Vec::with_capacity(3 * n);
    for c in candidates {
        let (o, d) = (c.estimate.offset, c.estimate.root_distance());
        edges.push((o - d, -1));
        edges.push((o, 0));
        edges.push((o + d, 1));
    }
    edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let n_i = n as i32;
    let mut interval = None;
    let mut allow = 0;
    while 2 * allow < n_i {
        let (mut found, mut chime) = (0, 0);
        let mut low = f64::NAN;
        for &(v, t) in &edges {
            chime -= t;
            if chime >= n_i - allow {
                low = v;
                break;
            }
            if t == 0 {
                found += 1;
            }
        }
        chime = 0;
        let mut high = f64::NAN;
        for &(v, t) in edges.iter().rev() {
            chime += t;
            if chime >= n_i - allow {
                high = v;
                break;
            }
            if t == 0 {
                found += 1;
            }
        }
        if found <= allow && low <= high {
            interval = Some((low, high));
            break;
        }
        allow += 1;
    }
    let (low, high) = interval?;
    let (mut good, mut bad): (Vec<&Candidate<K>>, Vec<&Candidate<K>>) = candidates
        .iter()
        .partition(|c| c.estimate.offset >= low && c.estimate.offset <= high);
    if good.is_empty() {
        return None;
    }
    good.sort_by(|a, b| {
        a.estimate
            .root_distance()
            .total_cmp(&b.estimate.root_distance())
    });
    bad.sort_by(|a, b| a.estimate.offset.total_cmp(&b.estimate.offset));
    let weights: Vec<f64> = good
        .iter()
        .map(|c| 1.0 / c.estimate.root_distance())
        .collect();
    let total: f64 = weights.iter().sum();
    let offset = good
        .iter()
        .zip(&weights)
        .map(|(c, w)| c.estimate.offset * w)
        .sum::<f64>()
        / total;
    let peer = good[0].estimate;
    let spread = (good
        .iter()
        .zip(&weights)
        .map(|(c, w)| w * (c.estimate.offset - peer.offset).powi(2))
        .sum::<f64>()
        / total)
        .sqrt();
    let votes = |l: Leap| good.iter().filter(|c| c.estimate.leap == l).count();
    let leap = if 2 * votes(Leap::Insert) > good.len() {
        Leap::Insert
    } else if 2 * votes(Leap::Delete) > good.len() {
        Leap::Delete
    } else {
        Leap::None
    };
    Some(Selection {
        survivors: good.iter().map(|c| c.key).collect(),
        falsetickers: bad.iter().map(|c| c.key).collect(),
        offset,
        jitter: (spread.powi(2) + peer.jitter.powi(2)).sqrt(),
        distance: peer.root_distance(),
        leap,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn est(offset: f64, distance: f64) -> Estimate {
        Estimate {
            offset,
            delay: 0.0,
            dispersion: distance,
            jitter: 0.0,
            root_delay: 0.0,
            root_dispersion: 0.0,
            stratum: 2,
            leap: Leap::None,
            at: 0.0,
        }
    }

    fn cands(list: &[(f64, f64)]) -> Vec<Candidate<usize>> {
        list.iter()
            .enumerate()
            .map(|(key, &(o, d))| Candidate {
                key,
                estimate: est(o, d),
            })
            .collect()
    }

    #[test]
    fn one_source_is_taken() {
        let s = select(&cands(&[(0.3, 0.01)])).unwrap();
        assert_eq!(s.survivors, vec![0]);
        assert_eq!(s.offset, 0.3);
    }

    #[test]
    fn two_must_agree() {
        let s = select(&cands(&[(0.010, 0.01), (0.012, 0.01)])).unwrap();
        assert_eq!(s.survivors.len(), 2);
        assert!((s.offset - 0.011).abs() < 1e-9);
        assert!(select(&cands(&[(0.0, 0.01), (2.5, 0.01)])).is_none());
    }

    #[test]
    fn three_sources_one_falseticker() {
        let s = select(&cands(&[(0.001, 0.01), (2.5, 0.01), (-0.002, 0.01)])).unwrap();
        assert_eq!(s.falsetickers, vec![1]);
        let mut survivors = s.survivors.clone();
        survivors.sort();
        assert_eq!(survivors, vec![0, 2]);
        assert!(s.offset.abs() < 0.002);
    }

    #[test]
    fn five_sources_two_falsetickers() {
        let c = cands(&[
            (0.004, 0.01),
            (-0.7, 0.02),
            (0.001, 0.005),
            (2.5, 0.01),
            (0.000, 0.01),
        ]);
        let s = select(&c).unwrap();
        let mut bad = s.falsetickers.clone();
        bad.sort();
        assert_eq!(bad, vec![1, 3]);
        assert_eq!(
            s.survivors[0], 2,
            "the smallest distance is the system peer"
        );
        assert!(s.offset > 0.0 && s.offset < 0.004);
    }

    #[test]
    fn no_majority_among_four() {
        // Two pairs that disagree: no interval holds more than half.
        assert!(select(&cands(&[
            (0.0, 0.01),
            (0.001, 0.01),
            (1.0, 0.01),
            (1.001, 0.01)
        ]))
        .is_none());
        assert!(select::<usize>(&[]).is_none());
    }

    #[test]
    fn leap_majority() {
        let mut c = cands(&[(0.0, 0.01), (0.0, 0.01), (0.0, 0.01)]);
        c[0].estimate.leap = Leap::Insert;
        assert_eq!(select(&c).unwrap().leap, Leap::None);
        c[1].estimate.leap = Leap::Insert;
        assert_eq!(select(&c).unwrap().leap, Leap::Insert);
    }
}
