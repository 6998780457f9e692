//! When a console's login loop starts again. Pure: the supervisor passes in how long the
//! session ran and how it ended.

use std::time::Duration;

/// How a console's session process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// A person was there: a shell ran and exited, or the login tries ran out.
    Session,
    /// No login happened: the tty could not be opened or set up, it hung up or hit end of
    /// file at the prompt, the shell could not be started, or the process was killed.
    Failed,
}

/// The restart policy of one console: a session restarts at once; a failure restarts at once
/// if the process ran for `settle` or longer, else after a delay that doubles from `first` up to
/// `max` with each failure in a row. A session or a long run resets the delay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    settle: Duration,
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff::new(
            Duration::from_secs(1),
            Duration::from_secs(30),
            Duration::from_secs(10),
        )
    }
}

impl Backoff {
    pub fn new(first: Duration, max: Duration, settle: Duration) -> Backoff {
        Backoff {
            first,
            max,
            settle,
            next: first,
        }
    }

    /// The delay before the next start, after a process that ran for `ran` and ended so.
    pub fn after(&mut self, ran: Duration, ended: Ended) -> Duration {
        if ended == Ended::Session || ran >= self.settle {
            self.next = self.first;
            return Duration::ZERO;
        }
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn sessions_restart_at_once() {
        let mut b = Backoff::default();
        assert_eq!(b.after(S(0), Ended::Session), Duration::ZERO);
        assert_eq!(b.after(S(3600), Ended::Session), Duration::ZERO);
    }

    #[test]
    fn fast_failures_back_off_up_to_the_cap() {
        let mut b = Backoff::default();
        let delays: Vec<u64> = (0..8)
            .map(|_| b.after(Duration::from_millis(5), Ended::Failed).as_secs())
            .collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30, 30]);
    }

    #[test]
    fn a_long_run_or_a_session_resets() {
        let mut b = Backoff::default();
        b.after(S(1), Ended::Failed);
        b.after(S(1), Ended::Failed);
        assert_eq!(b.after(S(1), Ended::Failed), S(4));
        // A hang-up after a long wait at the prompt: again at once, and from the start.
        assert_eq!(b.after(S(10), Ended::Failed), Duration::ZERO);
        assert_eq!(b.after(S(1), Ended::Failed), S(1));
        assert_eq!(b.after(S(1), Ended::Failed), S(2));
        assert_eq!(b.after(S(1), Ended::Session), Duration::ZERO);
        assert_eq!(b.after(S(1), Ended::Failed), S(1));
    }
}
