//! RFC 3927 IPv4 link-local addresses, without I/O: which address to try,
//! its probe and announcements, its defence, and the pause after too many
//! conflicts. The daemon feeds it ARP frames and timeouts and carries out
//! the [`LinkLocalStep`]s it returns.

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::arp::{Defence, Guard, Probe, ProbeStep};
use crate::time::{Instant, Rng};

/// 169.254.0.0/16, of which 169.254.1.0 to 169.254.254.255 may be used.
pub const PREFIX_LEN: u8 = 16;
pub const BROADCAST: Ipv4Addr = Ipv4Addr::new(169, 254, 255, 255);
/// After this many conflicts, one attempt per [`RATE_LIMIT_INTERVAL`] (RFC 3927 2.2.1).
pub const MAX_CONFLICTS: u32 = 10;
pub const RATE_LIMIT_INTERVAL: Duration = Duration::from_secs(60);

/// What the daemon must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkLocalStep {
    /// Send this Ethernet frame on the ARP socket.
    Send(Vec<u8>),
    /// The probe found the address free: put it on the interface.
    Configure(Ipv4Addr),
    /// Take the address off the interface.
    Deconfigure(Ipv4Addr),
    /// A conflict, in key=value form, for a warning in the log.
    Conflict(String),
}

#[derive(Debug, Clone)]
enum Phase {
    Stopped,
    Probing(Probe),
    /// The address is ours; the probe runs on to send its announcements.
    Claimed {
        guard: Guard,
        announcing: Option<Probe>,
    },
}

/// The link-local address of one interface.
#[derive(Debug, Clone)]
pub struct LinkLocal {
    mac: [u8; 6],
    rng: Rng,
    phase: Phase,
    conflicts: u32,
}

impl LinkLocal {
    /// The first address picked depends on `mac` alone, so a host asks for
    /// the same address each time it comes up (RFC 3927 2.1); `seed` drives
    /// the probe timing.
    pub fn new(mac: [u8; 6]) -> LinkLocal {
        let mut seed = [0u8; 8];
        seed[2..].copy_from_slice(&mac);
        LinkLocal {
            mac,
            rng: Rng::new(u64::from_be_bytes(seed)),
            phase: Phase::Stopped,
            conflicts: 0,
        }
    }

    /// The address in use, once claimed.
    pub fn address(&self) -> Option<Ipv4Addr> {
        match &self.phase {
            Phase::Claimed { guard, .. } => Some(guard.address()),
            _ => None,
        }
    }

    pub fn is_running(&self) -> bool {
        !matches!(self.phase, Phase::Stopped)
    }

    /// Starts probing an address (nothing if running already).
    pub fn start(&mut self, now: Instant) {
        if !self.is_running() {
            self.probe_next(now);
        }
    }

    /// Stops, taking the address off if one is in use.
    pub fn stop(&mut self) -> Vec<LinkLocalStep> {
        let out = self
            .address()
            .map(LinkLocalStep::Deconfigure)
            .into_iter()
            .collect();
        self.phase = Phase::Stopped;
        self.conflicts = 0;
        out
    }

    pub fn next_timeout(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Probing(p) => p.next_timeout(),
            Phase::Claimed { announcing, .. } => announcing.as_ref()?.next_timeout(),
            Phase::Stopped => None,
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) -> Vec<LinkLocalStep> {
        let mut out = Vec::new();
        match &mut self.phase {
            Phase::Probing(p) => {
                let mut probe = p.clone();
                let addr = probe.address();
                let mut claimed = false;
                for step in probe.handle_timeout(now) {
                    match step {
                        ProbeStep::Send(f) => out.push(LinkLocalStep::Send(f)),
                        // On the interface before its first announcement.
                        ProbeStep::Clear => {
                            out.push(LinkLocalStep::Configure(addr));
                            claimed = true;
                        }
                        ProbeStep::Done => {}
                    }
                }
                if claimed {
                    self.conflicts = 0;
                    // The announcements the probe sent with its verdict count.
                    let done = probe.next_timeout().is_none();
                    self.phase = Phase::Claimed {
                        guard: Guard::new(addr, self.mac),
                        announcing: (!done).then_some(probe),
                    };
                } else {
                    self.phase = Phase::Probing(probe);
                }
            }
            Phase::Claimed { announcing, .. } => {
                if let Some(p) = announcing {
                    for step in p.handle_timeout(now) {
                        if let ProbeStep::Send(f) = step {
                            out.push(LinkLocalStep::Send(f));
                        }
                    }
                    if p.next_timeout().is_none() {
                        *announcing = None;
                    }
                }
            }
            Phase::Stopped => {}
        }
        out
    }

    /// A received ARP frame: a conflict while probing moves on to another
    /// address; a claim of the address in use is defended once per
    /// DEFEND_INTERVAL, and else the address is given up (RFC 3927 2.5).
    pub fn handle_arp(&mut self, now: Instant, frame: &[u8]) -> Vec<LinkLocalStep> {
        let mut out = Vec::new();
        match &mut self.phase {
            Phase::Probing(p) if p.is_conflict(frame) => {
                let addr = p.address();
                self.conflict(now, addr, "probe", &mut out);
            }
            Phase::Claimed { guard, .. } => match guard.handle_frame(now, frame) {
                Some(Defence::Defend { frame, .. }) => out.push(LinkLocalStep::Send(frame)),
                Some(Defence::GiveUp { .. }) => {
                    let addr = guard.address();
                    out.push(LinkLocalStep::Deconfigure(addr));
                    self.conflict(now, addr, "claimed", &mut out);
                }
                None => {}
            },
            _ => {}
        }
        out
    }

    fn conflict(
        &mut self,
        now: Instant,
        addr: Ipv4Addr,
        during: &str,
        out: &mut Vec<LinkLocalStep>,
    ) {
        self.conflicts += 1;
        out.push(LinkLocalStep::Conflict(format!(
            "event=conflict address={addr} state={during} conflicts={} action=next",
            self.conflicts
        )));
        let start = if self.conflicts >= MAX_CONFLICTS {
            now + RATE_LIMIT_INTERVAL
        } else {
            now
        };
        self.probe_next(start);
    }

    fn probe_next(&mut self, start: Instant) {
        let addr = pick_address(&mut self.rng);
        let seed = self.rng.next_u64();
        self.phase = Phase::Probing(Probe::new(addr, self.mac, start, seed));
    }
}

/// An address in 169.254.1.0 to 169.254.254.255 (RFC 3927 2.1).
fn pick_address(rng: &mut Rng) -> Ipv4Addr {
    let host = 0x0100 + rng.below(0xFD00) as u32;
    Ipv4Addr::from(0xA9FE_0000 | host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Arp;

    const MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const OTHER: [u8; 6] = [2, 0, 0, 0, 0, 2];

    fn frames(steps: &[LinkLocalStep]) -> Vec<Arp> {
        steps
            .iter()
            .filter_map(|s| match s {
                LinkLocalStep::Send(f) => Some(Arp::parse(f).unwrap()),
                _ => None,
            })
            .collect()
    }

    /// Runs timeouts until `stop` says so or nothing is left; all steps.
    fn run(
        ll: &mut LinkLocal,
        stop: impl Fn(&[LinkLocalStep]) -> bool,
    ) -> Vec<(Instant, LinkLocalStep)> {
        let mut out = Vec::new();
        while let Some(t) = ll.next_timeout() {
            let steps = ll.handle_timeout(t);
            let done = stop(&steps);
            out.extend(steps.into_iter().map(|s| (t, s)));
            if done {
                break;
            }
        }
        out
    }

    fn configured(steps: &[LinkLocalStep]) -> bool {
        steps
            .iter()
            .any(|s| matches!(s, LinkLocalStep::Configure(_)))
    }

    /// The address the current probe is for.
    fn probing(ll: &LinkLocal) -> Ipv4Addr {
        match &ll.phase {
            Phase::Probing(p) => p.address(),
            other => panic!("not probing: {other:?}"),
        }
    }

    #[test]
    fn addresses_stay_in_the_usable_range_and_follow_the_mac() {
        let mut rng = Rng::new(7);
        for _ in 0..10_000 {
            let a = pick_address(&mut rng).octets();
            assert_eq!((a[0], a[1]), (169, 254));
            assert!((1..=254).contains(&a[2]), "{a:?}");
        }
        let first = |mac| {
            let mut ll = LinkLocal::new(mac);
            ll.start(Instant::ZERO);
            probing(&ll)
        };
        assert_eq!(first(MAC), first(MAC));
        assert_ne!(first(MAC), first(OTHER));
    }

    #[test]
    fn probes_then_claims_then_announces() {
        let mut ll = LinkLocal::new(MAC);
        ll.start(Instant::ZERO);
        let addr = probing(&ll);
        let steps = run(&mut ll, |_| false);
        let sent: Vec<(u16, Ipv4Addr)> =
            frames(&steps.iter().map(|(_, s)| s.clone()).collect::<Vec<_>>())
                .iter()
                .map(|a| (a.op, a.sender_ip))
                .collect();
        let unspec = Ipv4Addr::UNSPECIFIED;
        assert_eq!(
            sent,
            [(1, unspec), (1, unspec), (1, unspec), (1, addr), (1, addr)]
        );
        let claimed_at = steps
            .iter()
            .find(|(_, s)| *s == LinkLocalStep::Configure(addr))
            .map(|(t, _)| *t)
            .unwrap();
        // Three probes 1-2 s apart after up to 1 s, then 2 s of silence.
        assert!(claimed_at >= Instant::from_secs(4) && claimed_at <= Instant::from_secs(7));
        assert_eq!(ll.address(), Some(addr));
        assert_eq!(ll.next_timeout(), None);
        assert_eq!(ll.stop(), [LinkLocalStep::Deconfigure(addr)]);
        assert!(!ll.is_running());
    }

    #[test]
    fn a_conflict_while_probing_moves_to_another_address() {
        let mut ll = LinkLocal::new(MAC);
        ll.start(Instant::ZERO);
        let first = probing(&ll);
        let answer = Arp::announce(OTHER, first).to_frame();
        let steps = ll.handle_arp(Instant::from_secs(1), &answer);
        assert!(matches!(&steps[..], [LinkLocalStep::Conflict(m)] if m.contains("state=probe")));
        let second = probing(&ll);
        assert_ne!(first, second);
        // Our own frames, and frames about other addresses, change nothing.
        assert!(ll
            .handle_arp(Instant::from_secs(1), &Arp::probe(MAC, second).to_frame())
            .is_empty());
        assert!(ll.handle_arp(Instant::from_secs(1), &answer).is_empty());
        assert_eq!(probing(&ll), second);
        let steps = run(&mut ll, configured);
        assert!(steps
            .iter()
            .any(|(_, s)| *s == LinkLocalStep::Configure(second)));
    }

    #[test]
    fn after_ten_conflicts_one_attempt_a_minute() {
        let mut ll = LinkLocal::new(MAC);
        let now = Instant::from_secs(100);
        ll.start(now);
        for n in 1..MAX_CONFLICTS {
            let claim = Arp::announce(OTHER, probing(&ll)).to_frame();
            ll.handle_arp(now, &claim);
            assert!(
                ll.next_timeout().unwrap() <= now + Duration::from_secs(1),
                "after {n}"
            );
        }
        let claim = Arp::announce(OTHER, probing(&ll)).to_frame();
        ll.handle_arp(now, &claim);
        let next = ll.next_timeout().unwrap();
        assert!(
            next >= now + RATE_LIMIT_INTERVAL
                && next <= now + RATE_LIMIT_INTERVAL + Duration::from_secs(1)
        );
    }

    #[test]
    fn a_claimed_address_is_defended_once_then_replaced() {
        let mut ll = LinkLocal::new(MAC);
        ll.start(Instant::ZERO);
        run(&mut ll, |_| false);
        let addr = ll.address().unwrap();
        let claim = Arp::announce(OTHER, addr).to_frame();
        let t = Instant::from_secs(30);
        let defended = frames(&ll.handle_arp(t, &claim));
        assert_eq!(defended.len(), 1);
        assert_eq!((defended[0].sender_mac, defended[0].sender_ip), (MAC, addr));
        assert_eq!(ll.address(), Some(addr));
        let steps = ll.handle_arp(t + Duration::from_secs(3), &claim);
        assert_eq!(steps[0], LinkLocalStep::Deconfigure(addr));
        assert!(matches!(&steps[1], LinkLocalStep::Conflict(m) if m.contains("state=claimed")));
        assert_eq!(ll.address(), None);
        assert_ne!(probing(&ll), addr);
    }

    #[test]
    fn hostile_frames_change_nothing() {
        let mut ll = LinkLocal::new(MAC);
        ll.start(Instant::ZERO);
        let addr = probing(&ll);
        let mut truncated = Arp::announce(OTHER, addr).to_frame();
        truncated.truncate(20);
        for junk in [&b""[..], b"\xff\xff", &truncated, &[0u8; 60]] {
            assert!(ll.handle_arp(Instant::ZERO, junk).is_empty());
        }
        assert_eq!(probing(&ll), addr);
    }
}
