//! The DHCPv6 client of one interface (RFC 8415), without I/O: stateless
//! (Information-request, for a router's O flag) or stateful with one IA_NA
//! (for the M flag).
//!
//! Like [`crate::nd::Slaac`], it is fed events with the current [`Instant`]
//! and returns [`Dhcp6Action`]s; the daemon calls [`Dhcp6::handle_timeout`]
//! at [`Dhcp6::next_timeout`], and reports the kernel's duplicate address
//! detection on the addresses it adds with [`Dhcp6::dad_result`].

use std::net::Ipv6Addr;
use std::time::Duration;

use dhcproto::v6;

use super::ia::{self, Advertise, Binding, IaError, Kind};
use super::{
    check_message, information_reply, information_request, server_id, Duid, OtherConfig,
    Retransmit, Timing, Transmit,
};
use crate::client::Level;
use crate::time::{Instant, Rng};

/// Pushes a log line: `log!(out, Info, "event=dhcp6 ...", args)`.
macro_rules! log {
    ($out:expr, $level:ident, $($fmt:tt)+) => {
        $out.push(Dhcp6Action::Log { level: Level::$level, message: format!($($fmt)+) })
    };
}

/// After a server refused us addresses, Solicit again this much later (RFC
/// 8415 leaves it to us; dhcpcd waits too), so that one that advertises and
/// then refuses cannot keep us in a tight loop.
pub const RETRY_AFTER: Duration = Duration::from_secs(60);
/// Message type 10 (Reconfigure).
const RECONFIGURE: u8 = 10;

/// Settings for one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dhcp6Config {
    pub duid: Duid,
    /// Our IA_NA's identifier, fixed per interface.
    pub iaid: u32,
    /// The random delay before the first Solicit or Information-request
    /// (RFC 8415 18.2.1, 18.2.6); off with dhcpcd's `nodelay`.
    pub initial_delay: bool,
}

/// What the router advertisements ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// O flag: DNS and NTP only (Information-request).
    Stateless,
    /// M flag: an address too (Solicit, Request).
    Managed,
}

/// What the daemon must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dhcp6Action {
    /// Send to ff02::1:2 port 547, from our link-local address, port 546.
    Send(Vec<u8>),
    /// Add an address, or update its lifetimes; `None` is infinite. The
    /// kernel runs DAD on a new one: report it with [`Dhcp6::dad_result`].
    AddAddress {
        address: Ipv6Addr,
        valid: Option<Duration>,
        preferred: Option<Duration>,
    },
    RemoveAddress(Ipv6Addr),
    /// The DNS and NTP servers changed (all empty: there are none any more).
    Config {
        dns_servers: Vec<Ipv6Addr>,
        search_domains: Vec<String>,
        ntp_servers: Vec<String>,
    },
    /// A server leased us this address, new to us.
    Bound {
        address: Ipv6Addr,
    },
    Log {
        level: Level,
        message: String,
    },
}

/// An address we hold, and when its valid lifetime ends (`None`: never).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Held {
    address: Ipv6Addr,
    valid_until: Option<Instant>,
}

/// What the last Reply to Request, Renew or Rebind leased.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Lease {
    server_id: Vec<u8>,
    addresses: Vec<Held>,
    renew_at: Option<Instant>,
    rebind_at: Option<Instant>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Idle,
    /// Information-request sent.
    Informing,
    /// Informed; ask again at `refresh_at`.
    Informed {
        refresh_at: Instant,
    },
    /// Solicit sent.
    Soliciting,
    Requesting {
        offer: Advertise,
    },
    Bound,
    Renewing,
    Rebinding,
    /// Decline sent for an address another node has.
    Declining {
        address: Ipv6Addr,
    },
}

/// DNS servers, search domains, NTP servers.
type Reported = (Vec<Ipv6Addr>, Vec<String>, Vec<String>);

/// The DHCPv6 client of one interface.
#[derive(Debug, Clone)]
pub struct Dhcp6 {
    cfg: Dhcp6Config,
    rng: Rng,
    mode: Option<Mode>,
    state: State,
    /// The running exchange's transaction id and transmissions.
    xid: u32,
    rt: Option<Retransmit>,
    lease: Option<Lease>,
    /// The last [`Dhcp6Action::Config`], to report changes only.
    reported: Option<Reported>,
}

impl Dhcp6 {
    pub fn new(cfg: Dhcp6Config, seed: u64) -> Dhcp6 {
        Dhcp6 {
            cfg,
            rng: Rng::new(seed),
            mode: None,
            state: State::Idle,
            xid: 0,
            rt: None,
            lease: None,
            reported: None,
        }
    }

    /// Starts in `mode`. Managed while stateless upgrades; anything else
    /// while running changes nothing.
    pub fn start(&mut self, now: Instant, mode: Mode) -> Vec<Dhcp6Action> {
        let mut out = Vec::new();
        if self.mode == Some(Mode::Managed) || self.mode == Some(mode) {
            return out;
        }
        self.mode = Some(mode);
        match mode {
            Mode::Stateless => self.inform(now, &mut out),
            Mode::Managed => self.solicit(now, Duration::ZERO, &mut out),
        }
        out
    }

    /// The addresses leased to us (those DAD has yet to pass included).
    pub fn addresses(&self) -> Vec<Ipv6Addr> {
        self.lease
            .iter()
            .flat_map(|l| l.addresses.iter().map(|a| a.address))
            .collect()
    }

    pub fn next_timeout(&self) -> Option<Instant> {
        let timer = match &self.state {
            State::Informed { refresh_at } => Some(*refresh_at),
            State::Bound => self.lease.as_ref().and_then(|l| l.renew_at.or(l.rebind_at)),
            _ => None,
        };
        let expiry = self
            .lease
            .iter()
            .flat_map(|l| l.addresses.iter().filter_map(|a| a.valid_until));
        let transmit = self.rt.as_ref().and_then(Retransmit::next_timeout);
        expiry.chain(timer).chain(transmit).min()
    }

    /// Handles the timer of [`Dhcp6::next_timeout`]. Early calls do nothing.
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<Dhcp6Action> {
        let mut out = Vec::new();
        self.expire(now, &mut out);
        let due = |t: Option<Instant>| t.is_some_and(|t| now >= t);
        match &mut self.state {
            State::Informed { refresh_at } if now >= *refresh_at => self.inform(now, &mut out),
            State::Bound => {
                let l = self.lease.as_ref();
                if due(l.and_then(|l| l.rebind_at)) {
                    self.extend(now, true, &mut out);
                } else if due(l.and_then(|l| l.renew_at)) {
                    self.extend(now, false, &mut out);
                }
            }
            _ => {}
        }
        self.transmit(now, &mut out);
        out
    }

    /// Handles the payload of a UDP datagram to port 546. What is not for
    /// the exchange running gives at most a log line and changes nothing.
    pub fn handle_message(&mut self, now: Instant, bytes: &[u8]) -> Vec<Dhcp6Action> {
        let mut out = Vec::new();
        if bytes.first() == Some(&RECONFIGURE) {
            // RFC 8415 18.2.11: only with authentication, which we have none of.
            log!(
                &mut out,
                Info,
                "event=dhcp6 action=ignore reason=\"reconfigure without authentication\""
            );
            return out;
        }
        let (xid, duid, iaid) = (self.xid, &self.cfg.duid, self.cfg.iaid);
        match &mut self.state {
            State::Informing => match information_reply(bytes, xid, duid) {
                Ok(c) => self.informed(now, c, &mut out),
                Err(e) => dropped(&mut out, &e),
            },
            State::Soliciting => match ia::read_advertise(bytes, xid, duid, iaid) {
                Ok(adv) => {
                    log!(
                        &mut out,
                        Debug,
                        "event=dhcp6 advertise server={} preference={} address={}",
                        hex(&adv.server_id),
                        adv.preference,
                        list(&adv.addresses),
                    );
                    // The first usable Advertise is taken at once, as dhcpcd
                    // does, rather than collecting them for the first
                    // timeout (RFC 8415 18.2.1): one server is the rule, and
                    // the wait would cost every boot a second.
                    self.request(now, adv, &mut out);
                }
                Err(e) => dropped(&mut out, &e),
            },
            State::Requesting { .. } | State::Renewing | State::Rebinding => {
                match ia::read_reply(bytes, xid, duid, iaid) {
                    Ok(b) => self.bind(now, b, &mut out),
                    Err(e) => self.refused(now, bytes, e, &mut out),
                }
            }
            // The Reply to a Decline says nothing we act on (18.2.10.1).
            State::Declining { .. } => {
                match check_message(bytes, v6::MessageType::Reply, xid, duid) {
                    Ok(_) => self.declined(now, &mut out),
                    Err(e) => dropped(&mut out, &e),
                }
            }
            State::Idle | State::Informed { .. } | State::Bound => {
                dropped(&mut out, &"no exchange running")
            }
        }
        out
    }

    /// The kernel's DAD on `address` ended. Another node has it: remove it
    /// and Decline it (RFC 8415 18.2.8), then Solicit if it was the last.
    pub fn dad_result(
        &mut self,
        now: Instant,
        address: Ipv6Addr,
        duplicate: bool,
    ) -> Vec<Dhcp6Action> {
        let mut out = Vec::new();
        let Some(lease) = self.lease.as_mut().filter(|_| duplicate) else {
            return out;
        };
        let Some(i) = lease.addresses.iter().position(|a| a.address == address) else {
            return out;
        };
        lease.addresses.remove(i);
        out.push(Dhcp6Action::RemoveAddress(address));
        log!(
            &mut out,
            Warn,
            "event=dhcp6 state=declining address={address} reason=duplicate"
        );
        let rt = Retransmit::new(Timing::DECLINE, now, self.rng.next_u64());
        self.begin(now, State::Declining { address }, rt, &mut out);
        out
    }

    /// What the client was started for, until it stops.
    pub fn mode(&self) -> Option<Mode> {
        self.mode
    }

    /// Stops: with `release`, one Release for the addresses first (sent
    /// once, no Reply awaited, as dhcpcd on exit); then the addresses go,
    /// and the DNS and NTP servers if any were given.
    pub fn stop(&mut self, _now: Instant, release: bool) -> Vec<Dhcp6Action> {
        let mut out = Vec::new();
        let held = self.addresses();
        if let (true, Some(l)) = (release && !held.is_empty(), &self.lease) {
            log!(
                &mut out,
                Info,
                "event=dhcp6 action=release address={} server={}",
                list(&held),
                hex(&l.server_id),
            );
            let xid = self.rng.next_u32();
            let (duid, iaid) = (&self.cfg.duid, self.cfg.iaid);
            let bytes = ia::client_message(Kind::Release, xid, 0, duid, iaid, &l.server_id, &held);
            out.push(Dhcp6Action::Send(bytes));
        }
        out.extend(held.into_iter().map(Dhcp6Action::RemoveAddress));
        if self
            .reported
            .take()
            .is_some_and(|(d, s, n)| !(d.is_empty() && s.is_empty() && n.is_empty()))
        {
            out.push(Dhcp6Action::Config {
                dns_servers: Vec::new(),
                search_domains: Vec::new(),
                ntp_servers: Vec::new(),
            });
        }
        self.lease = None;
        self.mode = None;
        self.state = State::Idle;
        self.rt = None;
        out
    }

    // ----- transitions -----

    /// Starts an exchange in `state` with a new transaction id, and sends
    /// its first message if it is due now.
    fn begin(&mut self, now: Instant, state: State, rt: Retransmit, out: &mut Vec<Dhcp6Action>) {
        self.state = state;
        self.xid = self.rng.next_u32() & 0x00ff_ffff;
        self.rt = Some(rt);
        self.transmit(now, out);
    }

    fn transmit(&mut self, now: Instant, out: &mut Vec<Dhcp6Action>) {
        match self.rt.as_mut().and_then(|rt| rt.handle_timeout(now)) {
            Some(Transmit::Send { elapsed }) => {
                if let Some(bytes) = self.message(elapsed) {
                    out.push(Dhcp6Action::Send(bytes));
                }
            }
            Some(Transmit::GiveUp) => {
                self.rt = None;
                self.gave_up(now, out);
            }
            None => {}
        }
    }

    /// The running exchange's message.
    fn message(&self, elapsed: u16) -> Option<Vec<u8>> {
        let (duid, iaid) = (&self.cfg.duid, self.cfg.iaid);
        let held = self.addresses();
        let leased_by = self.lease.as_ref().map_or(&[][..], |l| &l.server_id[..]);
        let (kind, server, addresses) = match &self.state {
            State::Informing => return Some(information_request(self.xid, duid, elapsed)),
            State::Soliciting => (Kind::Solicit, &[][..], Vec::new()),
            State::Requesting { offer } => {
                (Kind::Request, &offer.server_id[..], offer.addresses.clone())
            }
            State::Renewing => (Kind::Renew, leased_by, held),
            State::Rebinding => (Kind::Rebind, leased_by, held),
            State::Declining { address } => (Kind::Decline, leased_by, vec![*address]),
            State::Idle | State::Informed { .. } | State::Bound => return None,
        };
        Some(ia::client_message(
            kind, self.xid, elapsed, duid, iaid, server, &addresses,
        ))
    }

    /// MRC or MRD reached (Information-request and Solicit never give up).
    fn gave_up(&mut self, now: Instant, out: &mut Vec<Dhcp6Action>) {
        match self.state {
            // At T2.
            State::Renewing => self.extend(now, true, out),
            State::Declining { .. } => self.declined(now, out),
            // A Request unanswered; or a Rebind at the end of the valid
            // lifetimes, which [`Dhcp6::expire`] will have seen to first.
            _ => {
                log!(out, Warn, "event=dhcp6 result=timeout action=solicit");
                self.give_up_lease(out);
                self.solicit(now, Duration::ZERO, out);
            }
        }
    }

    fn inform(&mut self, now: Instant, out: &mut Vec<Dhcp6Action>) {
        log!(out, Info, "event=dhcp6 state=informing");
        let mut rt = Retransmit::new(Timing::INFORMATION_REQUEST, now, self.rng.next_u64());
        if !self.cfg.initial_delay {
            rt = rt.at_once(now);
        }
        self.begin(now, State::Informing, rt, out);
    }

    fn informed(&mut self, now: Instant, c: OtherConfig, out: &mut Vec<Dhcp6Action>) {
        log!(
            out,
            Info,
            "event=dhcp6 state=informed server={} dns={} ntp={} refresh={}",
            hex(&c.server_id),
            list(&c.dns_servers),
            list(&c.ntp_servers),
            c.refresh.as_secs(),
        );
        self.report(&c, out);
        self.rt = None;
        self.state = State::Informed {
            refresh_at: now + c.refresh,
        };
    }

    /// Solicits after `delay` (and the random one of 18.2.1).
    fn solicit(&mut self, now: Instant, delay: Duration, out: &mut Vec<Dhcp6Action>) {
        log!(out, Info, "event=dhcp6 state=soliciting");
        let mut rt = Retransmit::solicit(now + delay, self.rng.next_u64());
        if !self.cfg.initial_delay {
            rt = rt.at_once(now + delay);
        }
        self.begin(now, State::Soliciting, rt, out);
    }

    fn request(&mut self, now: Instant, offer: Advertise, out: &mut Vec<Dhcp6Action>) {
        log!(
            out,
            Info,
            "event=dhcp6 state=requesting server={} address={} preference={}",
            hex(&offer.server_id),
            list(&offer.addresses),
            offer.preference
        );
        let rt = Retransmit::new(Timing::REQUEST, now, self.rng.next_u64());
        self.begin(now, State::Requesting { offer }, rt, out);
    }

    /// Renews at T1 until T2 (18.2.4), or rebinds from T2 until the last
    /// valid lifetime ends (18.2.5), each with our addresses.
    fn extend(&mut self, now: Instant, rebind: bool, out: &mut Vec<Dhcp6Action>) {
        let address = list(&self.addresses());
        let (state, name) = match rebind {
            false => (State::Renewing, "renewing"),
            true => (State::Rebinding, "rebinding"),
        };
        log!(out, Info, "event=dhcp6 state={name} address={address}");
        let left =
            |t: Option<Instant>| t.map_or(Duration::MAX, |t| t.saturating_duration_since(now));
        let lease = self.lease.as_ref();
        let timing = match rebind {
            false => Timing::renew(left(lease.and_then(|l| l.rebind_at))),
            // At least a second: a zero MRD would be none.
            true => Timing::rebind(
                (lease.iter().flat_map(|l| l.addresses.iter()))
                    .map(|a| left(a.valid_until))
                    .fold(Duration::from_secs(1), Duration::max),
            ),
        };
        let rt = Retransmit::new(timing, now, self.rng.next_u64());
        self.begin(now, state, rt, out);
    }

    /// A Reply with addresses: take them, drop those it no longer lists (as
    /// dhcpcd does; RFC 8415 18.2.10.1 would keep them until they expire).
    fn bind(&mut self, now: Instant, b: Binding, out: &mut Vec<Dhcp6Action>) {
        let before = self.addresses();
        for &gone in before
            .iter()
            .filter(|a| !b.addresses.iter().any(|n| n.address == **a))
        {
            log!(
                out,
                Info,
                "event=dhcp6 action=remove address={gone} reason=\"not in the reply\""
            );
            out.push(Dhcp6Action::RemoveAddress(gone));
        }
        let secs = |d: Option<Duration>| d.map_or("infinite".into(), |d| d.as_secs().to_string());
        for a in &b.addresses {
            log!(
                out,
                Info,
                "event=dhcp6 state=bound address={} preferred={} valid={} t1={} t2={} server={}",
                a.address,
                secs(a.preferred),
                secs(a.valid),
                secs(b.t1),
                secs(b.t2),
                hex(&b.server_id),
            );
            out.push(Dhcp6Action::AddAddress {
                address: a.address,
                valid: a.valid,
                preferred: a.preferred,
            });
            if !before.contains(&a.address) {
                out.push(Dhcp6Action::Bound { address: a.address });
            }
        }
        self.report(&b.other, out);
        self.lease = Some(Lease {
            server_id: b.server_id,
            addresses: (b.addresses.iter())
                .map(|a| Held {
                    address: a.address,
                    valid_until: a.valid.map(|v| now + v),
                })
                .collect(),
            renew_at: b.t1.map(|t| now + t),
            rebind_at: b.t2.map(|t| now + t),
        });
        self.rt = None;
        self.state = State::Bound;
    }

    /// A Reply without addresses for us: what its status asks (18.2.10.1).
    fn refused(&mut self, now: Instant, bytes: &[u8], e: IaError, out: &mut Vec<Dhcp6Action>) {
        let status = e.status();
        let renewing = matches!(self.state, State::Renewing | State::Rebinding);
        match (status, &e) {
            // The server lost our binding: Request the addresses back from it.
            (Some(v6::Status::NoBinding), _) if renewing => {
                log!(out, Info, "event=dhcp6 status=NoBinding action=request");
                let m = check_message(bytes, v6::MessageType::Reply, self.xid, &self.cfg.duid);
                let offer = Advertise {
                    server_id: m
                        .ok()
                        .and_then(|m| server_id(&m).map(<[u8]>::to_vec))
                        .unwrap_or_default(),
                    preference: 0,
                    addresses: self.addresses(),
                };
                self.request(now, offer, out);
            }
            (Some(v6::Status::NoAddrsAvail | v6::Status::NotOnLink), _)
            | (_, IaError::NoAddresses) => {
                log!(
                    out,
                    Warn,
                    "event=dhcp6 action=solicit reason=\"{e}\" after={}",
                    RETRY_AFTER.as_secs(),
                );
                self.give_up_lease(out);
                self.solicit(now, RETRY_AFTER, out);
            }
            // UseMulticast (we always do), UnspecFail and the like: an error;
            // we keep retransmitting.
            (Some(_), _) => log!(out, Warn, "event=dhcp6 action=drop reason=\"{e}\""),
            _ => dropped(out, &e),
        }
    }

    fn declined(&mut self, now: Instant, out: &mut Vec<Dhcp6Action>) {
        self.rt = None;
        if self.lease.as_ref().is_some_and(|l| !l.addresses.is_empty()) {
            self.state = State::Bound;
        } else {
            self.lease = None;
            self.solicit(now, Duration::ZERO, out);
        }
    }

    /// Removes the addresses whose valid lifetime ended; without any left, a
    /// lease is over and we Solicit anew.
    fn expire(&mut self, now: Instant, out: &mut Vec<Dhcp6Action>) {
        let Some(lease) = self.lease.as_mut() else {
            return;
        };
        let before = lease.addresses.len();
        lease.addresses.retain(|a| {
            let over = a.valid_until.is_some_and(|t| now >= t);
            if over {
                out.push(Dhcp6Action::RemoveAddress(a.address));
                log!(out, Warn, "event=dhcp6 state=expired address={}", a.address);
            }
            !over
        });
        if lease.addresses.is_empty()
            && before > 0
            && !matches!(self.state, State::Declining { .. })
        {
            self.lease = None;
            if matches!(
                self.state,
                State::Bound | State::Renewing | State::Rebinding
            ) {
                self.solicit(now, Duration::ZERO, out);
            }
        }
    }

    fn give_up_lease(&mut self, out: &mut Vec<Dhcp6Action>) {
        if let Some(l) = self.lease.take() {
            out.extend(
                l.addresses
                    .into_iter()
                    .map(|a| Dhcp6Action::RemoveAddress(a.address)),
            );
        }
    }

    /// A [`Dhcp6Action::Config`] if the servers changed.
    fn report(&mut self, c: &OtherConfig, out: &mut Vec<Dhcp6Action>) {
        let servers = (
            c.dns_servers.clone(),
            c.search_domains.clone(),
            c.ntp_servers.clone(),
        );
        if self.reported.as_ref() != Some(&servers) {
            let (dns_servers, search_domains, ntp_servers) = servers.clone();
            out.push(Dhcp6Action::Config {
                dns_servers,
                search_domains,
                ntp_servers,
            });
            self.reported = Some(servers);
        }
    }
}

/// A message dropped; no state changes.
fn dropped(out: &mut Vec<Dhcp6Action>, why: &dyn std::fmt::Display) {
    log!(out, Debug, "event=dhcp6 action=drop reason=\"{why}\"");
}

/// A DUID as in the DUID file: colon-separated hex bytes.
fn hex(bytes: &[u8]) -> String {
    let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    hex.join(":")
}

/// Comma-separated; empty for none.
fn list<T: std::fmt::Display>(items: &[T]) -> String {
    let v: Vec<String> = items.iter().map(ToString::to_string).collect();
    v.join(",")
}

#[cfg(test)]
mod tests;
