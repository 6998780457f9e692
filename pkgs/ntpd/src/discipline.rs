//! What to do with a combined offset: step, slew, wait, or refuse. This is
//! ntpd's state machine without the frequency state: the first offset is
//! stepped away if it is over the step threshold; afterwards an offset over
//! the threshold is a spike until it lasts the stepout interval, then it is
//! stepped; anything smaller is slewed. An offset over the panic threshold is
//! refused (the first one may be allowed, as ntpd -g).

/// Defaults, as ntpd's.
pub const STEP_THRESHOLD: f64 = 0.128;
pub const PANIC_THRESHOLD: f64 = 1000.0;
pub const STEPOUT: f64 = 300.0;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DisciplineConfig {
    /// Offsets over this are stepped (seconds).
    pub step_threshold: f64,
    /// Offsets over this are refused (seconds); None: no limit.
    pub panic_threshold: Option<f64>,
    /// The first offset may be over the panic threshold (ntpd -g).
    pub allow_first_panic: bool,
    /// How long an offset over the step threshold must last before it is stepped.
    pub stepout: f64,
}

impl Default for DisciplineConfig {
    fn default() -> Self {
        DisciplineConfig {
            step_threshold: STEP_THRESHOLD,
            panic_threshold: Some(PANIC_THRESHOLD),
            allow_first_panic: false,
            stepout: STEPOUT,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Decision {
    /// Step the clock by this.
    Step(f64),
    /// Slew this away.
    Slew(f64),
    /// An offset over the step threshold that has not lasted the stepout yet: ignore it.
    Spike { offset: f64, since: f64 },
    /// Over the panic threshold: refuse to touch the clock.
    Panic(f64),
}

#[derive(Clone, Debug)]
pub struct Discipline {
    pub config: DisciplineConfig,
    /// Whether a first offset has been acted on.
    started: bool,
    spike_since: Option<f64>,
}

impl Discipline {
    pub fn new(config: DisciplineConfig) -> Discipline {
        Discipline {
            config,
            started: false,
            spike_since: None,
        }
    }

    pub fn started(&self) -> bool {
        self.started
    }

    /// Decides for `offset` (seconds) at monotonic time `now`.
    pub fn decide(&mut self, offset: f64, now: f64) -> Decision {
        let size = offset.abs();
        if let Some(limit) = self.config.panic_threshold {
            if size > limit && (self.started || !self.config.allow_first_panic) {
                return Decision::Panic(offset);
            }
        }
        if !self.started {
            self.started = true;
            return if size > self.config.step_threshold {
                Decision::Step(offset)
            } else {
                Decision::Slew(offset)
            };
        }
        if size <= self.config.step_threshold {
            self.spike_since = None;
            return Decision::Slew(offset);
        }
        let since = *self.spike_since.get_or_insert(now);
        if now - since >= self.config.stepout {
            self.spike_since = None;
            Decision::Step(offset)
        } else {
            Decision::Spike { offset, since }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_offset_steps_or_slews() {
        let mut d = Discipline::new(DisciplineConfig::default());
        assert_eq!(d.decide(3.7, 0.0), Decision::Step(3.7));
        let mut d = Discipline::new(DisciplineConfig::default());
        assert_eq!(d.decide(0.1, 0.0), Decision::Slew(0.1));
        assert!(d.started());
    }

    #[test]
    fn panic_threshold() {
        let mut d = Discipline::new(DisciplineConfig::default());
        assert_eq!(d.decide(-5000.0, 0.0), Decision::Panic(-5000.0));
        assert!(!d.started(), "a refused offset does not count as the first");
        let mut g = Discipline::new(DisciplineConfig {
            allow_first_panic: true,
            ..DisciplineConfig::default()
        });
        assert_eq!(g.decide(-5000.0, 0.0), Decision::Step(-5000.0));
        // Only the first one.
        assert_eq!(g.decide(2000.0, 10.0), Decision::Panic(2000.0));
        let mut off = Discipline::new(DisciplineConfig {
            panic_threshold: None,
            ..DisciplineConfig::default()
        });
        assert_eq!(off.decide(1e7, 0.0), Decision::Step(1e7));
    }

    #[test]
    fn spikes_are_ignored_until_the_stepout() {
        let mut d = Discipline::new(DisciplineConfig::default());
        assert_eq!(d.decide(0.01, 0.0), Decision::Slew(0.01));
        assert_eq!(
            d.decide(0.5, 100.0),
            Decision::Spike {
                offset: 0.5,
                since: 100.0
            }
        );
        // Back to normal: the spike is forgotten.
        assert_eq!(d.decide(0.002, 164.0), Decision::Slew(0.002));
        assert!(matches!(d.decide(0.5, 200.0), Decision::Spike { .. }));
        assert!(matches!(d.decide(0.5, 450.0), Decision::Spike { .. }));
        assert_eq!(d.decide(0.5, 500.0), Decision::Step(0.5));
    }
}
