//! sshd's `MaxStartups start:rate:full`: how many unauthenticated connections may wait at once.
//! Below `start` nothing is dropped; from `start` on, a connection is dropped with probability
//! `rate`% rising linearly to 100% at `full`, so at most `full` ever wait.
//!
//! One difference from sshd, on purpose: the connection dropped is the one that has waited
//! longest, not the newcomer. sshd drops the newcomer, so 100 idle connections lock every
//! operator out until the grace time ends them; here a real login, which takes a fraction of
//! a second, gets in unless `full` newer connections arrive while it logs in.
//!
//! The randomness is passed in, so the caller picks the source and tests are exact.

use std::collections::VecDeque;

use std::str::FromStr;

/// Why a `MaxStartups` setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MaxStartupsError {
    #[error("MaxStartups {0:?}: expected start:rate:full or a single number")]
    Syntax(String),
    #[error("MaxStartups {0:?}: start must not exceed full, and rate must be 1-100")]
    Range(String),
}

/// The limits, as `start:rate:full`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxStartups {
    pub start: u32,
    /// Percent, 1-100.
    pub rate: u32,
    pub full: u32,
}

impl Default for MaxStartups {
    /// sshd's default, `10:30:100`.
    fn default() -> Self {
        MaxStartups {
            start: 10,
            rate: 30,
            full: 100,
        }
    }
}

impl MaxStartups {
    pub fn new(start: u32, rate: u32, full: u32) -> Result<Self, MaxStartupsError> {
        if start > full || rate == 0 || rate > 100 {
            return Err(MaxStartupsError::Range(format!("{start}:{rate}:{full}")));
        }
        Ok(MaxStartups { start, rate, full })
    }

    /// The chance, in percent, that a new connection is dropped when `pending`
    /// unauthenticated connections are already waiting.
    pub fn drop_percent(&self, pending: u32) -> u32 {
        if pending < self.start {
            return 0;
        }
        if pending >= self.full {
            return 100;
        }
        // start <= pending < full here, so full - start > 0. u64: no overflow for any u32 input.
        let span = u64::from(self.full - self.start);
        let above = u64::from(pending - self.start);
        let p = u64::from(self.rate) + (100 - u64::from(self.rate)) * above / span;
        p as u32
    }

    /// Whether to drop a new connection. `roll` is a uniformly random u32 (e.g. from the OS);
    /// it is scaled to 0-99 without modulo bias worth speaking of.
    pub fn should_drop(&self, pending: u32, roll: u32) -> bool {
        let r = ((u64::from(roll) * 100) >> 32) as u32;
        r < self.drop_percent(pending)
    }
}

impl FromStr for MaxStartups {
    type Err = MaxStartupsError;

    /// `10:30:100`, or `N` alone, which sshd reads as `N:100:N` (drop everything at N).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let num = |f: &str| {
            f.trim()
                .parse::<u32>()
                .map_err(|_| MaxStartupsError::Syntax(s.to_string()))
        };
        let fields: Vec<&str> = s.split(':').collect();
        match fields.as_slice() {
            [n] => {
                let n = num(n)?;
                MaxStartups::new(n, 100, n)
            }
            [a, b, c] => MaxStartups::new(num(a)?, num(b)?, num(c)?),
            _ => Err(MaxStartupsError::Syntax(s.to_string())),
        }
    }
}

/// What to do with a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Let it wait for its login, under this id.
    Admit { id: u64 },
    /// Let it wait under `id`, and close the connection `evict`, the one waiting longest.
    Evict { id: u64, evict: u64 },
}

/// The unauthenticated connections, oldest first, against a [`MaxStartups`].
#[derive(Debug, Clone, Default)]
pub struct Startups {
    pub limits: MaxStartups,
    waiting: VecDeque<u64>,
    next_id: u64,
}

impl Startups {
    pub fn new(limits: MaxStartups) -> Self {
        Startups {
            limits,
            waiting: VecDeque::new(),
            next_id: 0,
        }
    }

    /// Unauthenticated connections now waiting.
    pub fn pending(&self) -> u32 {
        self.waiting.len() as u32
    }

    /// A new connection arrived; `roll` is a uniformly random u32.
    pub fn admit(&mut self, roll: u32) -> Admission {
        let id = self.next_id;
        self.next_id += 1;
        let evict = if self.limits.should_drop(self.pending(), roll) {
            self.waiting.pop_front()
        } else {
            None
        };
        self.waiting.push_back(id);
        match evict {
            Some(evict) => Admission::Evict { id, evict },
            None => Admission::Admit { id },
        }
    }

    /// Connection `id` logged in or went away; unknown ids (evicted ones) are ignored.
    pub fn release(&mut self, id: u64) {
        self.waiting.retain(|&w| w != id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The roll that scales to `percent` exactly.
    fn roll(percent: u32) -> u32 {
        ((u64::from(percent) << 32).div_ceil(100)) as u32
    }

    #[test]
    fn parses() {
        assert_eq!("10:30:100".parse(), Ok(MaxStartups::default()));
        assert_eq!(
            "5".parse(),
            Ok(MaxStartups {
                start: 5,
                rate: 100,
                full: 5
            })
        );
        assert!(matches!(
            "10:30".parse::<MaxStartups>(),
            Err(MaxStartupsError::Syntax(_))
        ));
        assert!(matches!(
            "a:b:c".parse::<MaxStartups>(),
            Err(MaxStartupsError::Syntax(_))
        ));
        assert!(matches!(
            "20:30:10".parse::<MaxStartups>(),
            Err(MaxStartupsError::Range(_))
        ));
        assert!(matches!(
            "1:0:10".parse::<MaxStartups>(),
            Err(MaxStartupsError::Range(_))
        ));
        assert!(matches!(
            "1:101:10".parse::<MaxStartups>(),
            Err(MaxStartupsError::Range(_))
        ));
    }

    #[test]
    fn roll_scaling() {
        for p in [0, 1, 29, 30, 50, 99] {
            let r = roll(p);
            assert_eq!(((u64::from(r) * 100) >> 32) as u32, p, "{p}");
        }
        assert_eq!(((u64::from(u32::MAX) * 100) >> 32) as u32, 99);
    }

    #[test]
    fn boundaries_10_30_100() {
        let m = MaxStartups::default();
        assert_eq!(m.drop_percent(0), 0);
        assert_eq!(m.drop_percent(9), 0);
        assert_eq!(m.drop_percent(10), 30);
        assert_eq!(m.drop_percent(55), 65);
        assert_eq!(m.drop_percent(99), 99);
        assert_eq!(m.drop_percent(100), 100);
        assert_eq!(m.drop_percent(u32::MAX), 100);
        // Below start even the unluckiest roll passes; at full even the luckiest is dropped.
        assert!(!m.should_drop(9, u32::MAX));
        assert!(m.should_drop(100, 0));
        // At start: rolls 0-29 drop, 30-99 pass.
        assert!(m.should_drop(10, roll(29)));
        assert!(!m.should_drop(10, roll(30)));
        assert!(m.should_drop(55, roll(64)));
        assert!(!m.should_drop(55, roll(65)));
        assert!(m.should_drop(99, roll(98)));
        assert!(!m.should_drop(99, u32::MAX));
    }

    #[test]
    fn single_number_is_a_hard_limit() {
        let m: MaxStartups = "3".parse().unwrap();
        assert!(!m.should_drop(2, u32::MAX));
        assert!(m.should_drop(3, 0));
        let zero = MaxStartups::new(0, 100, 0).unwrap();
        assert!(zero.should_drop(0, 0));
    }

    #[test]
    fn the_longest_waiting_connection_makes_room() {
        let mut s = Startups::new("2".parse().unwrap());
        assert_eq!(s.admit(0), Admission::Admit { id: 0 });
        assert_eq!(s.admit(0), Admission::Admit { id: 1 });
        // Full: the newcomer stays, the oldest goes.
        assert_eq!(s.admit(0), Admission::Evict { id: 2, evict: 0 });
        assert_eq!(s.pending(), 2);
        assert_eq!(s.admit(u32::MAX), Admission::Evict { id: 3, evict: 1 });
        // Releasing an evicted id changes nothing; releasing a waiting one makes room.
        s.release(0);
        assert_eq!(s.pending(), 2);
        s.release(2);
        assert_eq!(s.admit(0), Admission::Admit { id: 4 });
        s.release(3);
        s.release(4);
        s.release(4);
        assert_eq!(s.pending(), 0);
    }

    #[test]
    fn between_start_and_full_the_roll_decides() {
        let mut s = Startups::new(MaxStartups::new(1, 50, 3).unwrap());
        assert_eq!(s.admit(u32::MAX), Admission::Admit { id: 0 });
        // 1 waiting: 50% drop. A low roll drops, a high one does not.
        assert_eq!(s.admit(roll(99)), Admission::Admit { id: 1 });
        assert_eq!(s.admit(roll(0)), Admission::Evict { id: 2, evict: 0 });
    }
}
