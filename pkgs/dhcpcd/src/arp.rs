//! RFC 5227 address conflict detection, without I/O: when to send probes
//! and announcements, which received ARP packets are conflicts, and how an
//! address in use is defended.

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
        self.is_probing() && claimant(frame, self.mac, self.addr).is_some()
    }
}

/// The MAC of another host that `frame` shows using `addr` (its sender IP)
/// or probing for it (a request from 0.0.0.0 for it), as dhcpcd reads ARP.
fn claimant(frame: &[u8], our_mac: [u8; 6], addr: Ipv4Addr) -> Option<[u8; 6]> {
    let a = Arp::parse(frame)?;
    if a.sender_mac == our_mac {
        return None; // our own packet, looped back
    }
    let claims =
        a.sender_ip == addr || (a.op == 1 && a.sender_ip.is_unspecified() && a.target_ip == addr);
    claims.then_some(a.sender_mac)
}

/// RFC 5227 2.4 (b): a second conflict within this time of a defence gives
/// the address up (DEFEND_INTERVAL).
pub const DEFEND_INTERVAL: Duration = Duration::from_secs(10);

/// What to do about another host claiming an address we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Defence {
    /// Send this announcement of our address on the ARP socket.
    Defend { frame: Vec<u8>, by: [u8; 6] },
    /// We defended it less than [`DEFEND_INTERVAL`] ago: stop using it.
    GiveUp { by: [u8; 6] },
}

/// Watches the ARP traffic for an address the interface uses, and defends
/// it once per [`DEFEND_INTERVAL`] (RFC 5227 2.4 (b), as dhcpcd does).
#[derive(Debug, Clone)]
pub struct Guard {
    addr: Ipv4Addr,
    mac: [u8; 6],
    defended_at: Option<Instant>,
}

impl Guard {
    pub fn new(addr: Ipv4Addr, mac: [u8; 6]) -> Guard {
        Guard {
            addr,
            mac,
            defended_at: None,
        }
    }

    pub fn address(&self) -> Ipv4Addr {
        self.addr
    }

    /// What `frame`, received at `now`, asks of us; `None` when it does not
    /// claim our address.
    pub fn handle_frame(&mut self, now: Instant, frame: &[u8]) -> Option<Defence> {
        let by = claimant(frame, self.mac, self.addr)?;
        let recent = self
            .defended_at
            .is_some_and(|t| now.saturating_duration_since(t) < DEFEND_INTERVAL);
        if recent {
            return Some(Defence::GiveUp { by });
        }
        self.defended_at = Some(now);
        Some(Defence::Defend {
            frame: Arp::announce(self.mac, self.addr).to_frame(),
            by,
        })
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

    fn claim(by: [u8; 6], addr: Ipv4Addr) -> Vec<u8> {
        Arp::announce(by, addr).to_frame()
    }

    #[test]
    fn a_claim_is_defended_once_then_the_address_given_up() {
        let mut g = Guard::new(ADDR, MAC);
        let first = g.handle_frame(Instant::from_secs(100), &claim(OTHER, ADDR));
        let Some(Defence::Defend { frame, by }) = first else {
            panic!("{first:?}");
        };
        assert_eq!(by, OTHER);
        // The defence is an announcement of our address, from our MAC.
        let sent = Arp::parse(&frame).unwrap();
        assert_eq!(
            (sent.op, sent.sender_mac, sent.sender_ip, sent.target_ip),
            (1, MAC, ADDR, ADDR)
        );
        // A second claim within DEFEND_INTERVAL: give up.
        assert_eq!(
            g.handle_frame(Instant::from_secs(109), &claim(OTHER, ADDR)),
            Some(Defence::GiveUp { by: OTHER })
        );
    }

    #[test]
    fn claims_further_apart_than_the_interval_are_each_defended() {
        let mut g = Guard::new(ADDR, MAC);
        for secs in [5, 15, 25, 40] {
            let d = g.handle_frame(Instant::from_secs(secs), &claim(OTHER, ADDR));
            assert!(
                matches!(d, Some(Defence::Defend { .. })),
                "at {secs}: {d:?}"
            );
        }
    }

    #[test]
    fn only_other_hosts_claiming_our_address_count() {
        let mut g = Guard::new(ADDR, MAC);
        let now = Instant::from_secs(1);
        // Our own announcement, looped back; other addresses; junk.
        assert_eq!(g.handle_frame(now, &claim(MAC, ADDR)), None);
        assert_eq!(
            g.handle_frame(now, &claim(OTHER, Ipv4Addr::new(10, 0, 0, 7))),
            None
        );
        assert_eq!(g.handle_frame(now, b"short"), None);
        let mut truncated = claim(OTHER, ADDR);
        truncated.truncate(30);
        assert_eq!(g.handle_frame(now, &truncated), None);
        // None of that used up the defence: a real claim is defended.
        assert!(matches!(
            g.handle_frame(now, &claim(OTHER, ADDR)),
            Some(Defence::Defend { .. })
        ));
        // Another host probing for our address is a claim too.
        assert_eq!(
            g.handle_frame(now, &Arp::probe(OTHER, ADDR).to_frame()),
            Some(Defence::GiveUp { by: OTHER })
        );
    }
}
