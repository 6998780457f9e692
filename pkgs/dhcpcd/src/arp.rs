//! RFC 5227 address conflict detection, without I/O: when to send probes
//! and announcements, and which received ARP packets are conflicts.

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::frame::Arp;
use crate::time::{Instant, Rng};

/// RFC 5227 section 1.1 timings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeTimings {
    /// Random wait of up to this before the first probe (PROBE_WAIT).
    pub probe_wait: Duration,
    /// Number of probes (PROBE_NUM).
    pub probe_num: u32,
    /// Probes are spaced randomly between these (PROBE_MIN, PROBE_MAX).
    pub probe_min: Duration,
    pub probe_max: Duration,
    /// Wait after the last probe before the address is ours (ANNOUNCE_WAIT).
    pub announce_wait: Duration,
    /// Announcements to send (ANNOUNCE_NUM) and their spacing (ANNOUNCE_INTERVAL).
    pub announce_num: u32,
    pub announce_interval: Duration,
}

impl Default for ProbeTimings {
    fn default() -> Self {
        ProbeTimings {
            probe_wait: Duration::from_secs(1),
            probe_num: 3,
            probe_min: Duration::from_secs(1),
            probe_max: Duration::from_secs(2),
            announce_wait: Duration::from_secs(2),
            announce_num: 2,
            announce_interval: Duration::from_secs(2),
        }
    }
}

/// What the daemon must do after [`Probe::handle_timeout`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeStep {
    /// Send this Ethernet frame on the ARP socket.
    Send(Vec<u8>),
    /// No conflict: the address may be used (call `Client::arp_probe_clear`).
    Clear,
    /// All announcements sent: the ARP socket may be closed.
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Probing { sent: u32 },
    Announcing { sent: u32 },
    Done,
}

/// One probe-then-announce run for an address.
#[derive(Debug, Clone)]
pub struct Probe {
    addr: Ipv4Addr,
    mac: [u8; 6],
    timings: ProbeTimings,
    rng: Rng,
    phase: Phase,
    next: Option<Instant>,
}

impl Probe {
    /// Starts probing `addr` for the interface with MAC `mac` at `now`.
    pub fn new(addr: Ipv4Addr, mac: [u8; 6], now: Instant, seed: u64) -> Probe {
        Probe::with_timings(addr, mac, now, seed, ProbeTimings::default())
    }

    pub fn with_timings(
        addr: Ipv4Addr,
        mac: [u8; 6],
        now: Instant,
        seed: u64,
        timings: ProbeTimings,
    ) -> Probe {
        let mut rng = Rng::new(seed);
        let wait = random_between(&mut rng, Duration::ZERO, timings.probe_wait);
        Probe {
            addr,
            mac,
            timings,
            rng,
            phase: Phase::Probing { sent: 0 },
            next: Some(now + wait),
        }
    }

    pub fn address(&self) -> Ipv4Addr {
        self.addr
    }

    /// True while probes are going out and conflicts count.
    pub fn is_probing(&self) -> bool {
        matches!(self.phase, Phase::Probing { .. })
    }

    /// When [`Probe::handle_timeout`] should be called next.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.next
    }

    /// Advances the run; early calls do nothing.
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<ProbeStep> {
        let mut out = Vec::new();
        match self.next {
            Some(t) if now >= t => {}
            _ => return out,
        }
        let t = self.timings;
        match self.phase {
            Phase::Probing { sent } if sent < t.probe_num => {
                out.push(ProbeStep::Send(Arp::probe(self.mac, self.addr).to_frame()));
                let sent = sent + 1;
                self.phase = Phase::Probing { sent };
                let wait = if sent < t.probe_num {
                    random_between(&mut self.rng, t.probe_min, t.probe_max)
                } else {
                    t.announce_wait
                };
                self.next = Some(now + wait);
            }
            Phase::Probing { .. } => {
                out.push(ProbeStep::Clear);
                self.phase = Phase::Announcing { sent: 0 };
                self.announce(now, &mut out);
            }
            Phase::Announcing { .. } => self.announce(now, &mut out),
            Phase::Done => self.next = None,
        }
        out
    }

    fn announce(&mut self, now: Instant, out: &mut Vec<ProbeStep>) {
        let Phase::Announcing { sent } = self.phase else {
            return;
        };
        if sent >= self.timings.announce_num {
            self.phase = Phase::Done;
            self.next = None;
            out.push(ProbeStep::Done);
            return;
        }
        out.push(ProbeStep::Send(
            Arp::announce(self.mac, self.addr).to_frame(),
        ));
        let sent = sent + 1;
        self.phase = Phase::Announcing { sent };
        if sent >= self.timings.announce_num {
            self.phase = Phase::Done;
            self.next = None;
            out.push(ProbeStep::Done);
        } else {
            self.next = Some(now + self.timings.announce_interval);
        }
    }

    /// Whether a received ARP frame shows that another host uses or wants
    /// the address (RFC 5227 2.1.1). Only counts while probing.
    pub fn is_conflict(&self, frame: &[u8]) -> bool {
        if !self.is_probing() {
            return false;
        }
        let Some(a) = Arp::parse(frame) else {
            return false;
        };
        if a.sender_mac == self.mac {
            return false; // our own packet, looped back
        }
        // Someone has it, or someone else is probing for it too.
        a.sender_ip == self.addr
            || (a.op == 1 && a.sender_ip.is_unspecified() && a.target_ip == self.addr)
    }
}

fn random_between(rng: &mut Rng, min: Duration, max: Duration) -> Duration {
    let span = max.saturating_sub(min).as_millis() as u64;
    min + Duration::from_millis(rng.below(span + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const OTHER: [u8; 6] = [2, 0, 0, 0, 0, 2];
    const ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 9);

    /// Runs the probe to the end, returning (time, step) pairs.
    fn run(p: &mut Probe) -> Vec<(Instant, ProbeStep)> {
        let mut out = Vec::new();
        while let Some(t) = p.next_timeout() {
            for s in p.handle_timeout(t) {
                out.push((t, s));
            }
        }
        out
    }

    #[test]
    fn three_probes_then_clear_then_two_announcements() {
        for seed in 0..50 {
            let mut p = Probe::new(ADDR, MAC, Instant::ZERO, seed);
            let steps = run(&mut p);
            let kinds: Vec<&str> = steps
                .iter()
                .map(|(_, s)| match s {
                    ProbeStep::Send(f) if Arp::parse(f).unwrap().sender_ip.is_unspecified() => {
                        "probe"
                    }
                    ProbeStep::Send(_) => "announce",
                    ProbeStep::Clear => "clear",
                    ProbeStep::Done => "done",
                })
                .collect();
            assert_eq!(
                kinds,
                ["probe", "probe", "probe", "clear", "announce", "announce", "done"]
            );
            let at = |i: usize| steps[i].0.as_duration();
            assert!(at(0) <= Duration::from_secs(1));
            for i in 1..3 {
                let gap = at(i) - at(i - 1);
                assert!(gap >= Duration::from_secs(1) && gap <= Duration::from_secs(2));
            }
            assert_eq!(at(3) - at(2), Duration::from_secs(2));
            assert_eq!(at(5) - at(4), Duration::from_secs(2));
            assert_eq!(p.next_timeout(), None);
        }
    }

    #[test]
    fn early_timeout_does_nothing() {
        let mut p = Probe::new(ADDR, MAC, Instant::from_secs(10), 1);
        assert!(p.handle_timeout(Instant::from_secs(9)).is_empty());
    }

    #[test]
    fn conflicts() {
        let p = Probe::new(ADDR, MAC, Instant::ZERO, 1);
        // Another host answering for the address.
        let reply = Arp {
            op: 2,
            sender_mac: OTHER,
            sender_ip: ADDR,
            target_mac: MAC,
            target_ip: Ipv4Addr::UNSPECIFIED,
        };
        assert!(p.is_conflict(&reply.to_frame()));
        // Another host probing for the same address.
        assert!(p.is_conflict(&Arp::probe(OTHER, ADDR).to_frame()));
        // Our own probe, looped back.
        assert!(!p.is_conflict(&Arp::probe(MAC, ADDR).to_frame()));
        // Unrelated traffic.
        let other = Arp::announce(OTHER, Ipv4Addr::new(10, 0, 0, 7));
        assert!(!p.is_conflict(&other.to_frame()));
        assert!(!p.is_conflict(b"short"));
        // Once clear, nothing counts.
        let mut p = p;
        run(&mut p);
        assert!(!p.is_conflict(&reply.to_frame()));
    }
}
