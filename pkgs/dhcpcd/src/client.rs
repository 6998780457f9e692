//! The RFC 2131 client state machine for one interface.
//!
//! It does no I/O and reads no clock: the daemon feeds it events with the
//! current [`Instant`] and carries out the [`Action`]s it returns, then
//! calls [`Client::handle_timeout`] at [`Client::next_timeout`].

use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

use dhcproto::v4::{DhcpOption, DhcpOptions, Message, MessageType, OptionCode};

use crate::lease::Lease;
use crate::options::{
    parse_reply, server_id, ClientId, PacketError, Request, DEFAULT_REQUEST_LIST,
};
use crate::time::{Instant, Rng};

/// First retransmission interval (RFC 2131 4.1).
const BACKOFF_FIRST: Duration = Duration::from_secs(4);
/// Retransmission intervals double up to this.
const BACKOFF_MAX: Duration = Duration::from_secs(64);
/// Each interval is randomised by up to this much either way.
const JITTER_MS: u64 = 1000;
/// REQUESTs sent in REQUESTING before starting over with a DISCOVER.
const MAX_REQUESTS: u32 = 5;
/// RFC 2131 3.1.5: wait this long after a DECLINE before trying again.
const DECLINE_WAIT: Duration = Duration::from_secs(10);
/// Cap on the delay before restarting after repeated NAKs (as dhcpcd).
const NAK_DELAY_MAX: Duration = Duration::from_secs(60);
/// How long DISCOVER goes unanswered before an IPv4 link-local address is
/// sought beside it (dhcpcd's `reboot` default, after which it starts IPv4LL).
pub const LINK_LOCAL_AFTER: Duration = Duration::from_secs(5);

/// Settings for one interface's client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// The interface's MAC address, sent as chaddr.
    pub hwaddr: [u8; 6],
    /// Option 61.
    pub client_id: ClientId,
    /// Option 12 to send, if any.
    pub hostname: Option<String>,
    /// Codes asked for on top of [`DEFAULT_REQUEST_LIST`].
    pub extra_request: Vec<u8>,
    /// Offers and ACKs missing any of these options are ignored.
    pub require: Vec<u8>,
    /// Send option 80 and accept an ACK straight away (RFC 4039).
    pub rapid_commit: bool,
    /// Probe the address with ARP before using it (RFC 5227).
    pub arp: bool,
    /// Seek an IPv4 link-local address (RFC 3927) while no server answers.
    pub ipv4ll: bool,
    /// Wait a random 0-1 s before the first DISCOVER (off with `nodelay`).
    pub initial_delay: bool,
    /// Keep the address on carrier loss and on exit.
    pub persistent: bool,
    /// Release the lease in [`Client::stop`].
    pub release_on_stop: bool,
    /// How long INIT-REBOOT waits for an answer before discovering anew.
    pub reboot_timeout: Duration,
    /// Option 57, typically the interface MTU.
    pub max_message_size: Option<u16>,
}

impl ClientConfig {
    /// dhcpcd's defaults for an interface with MAC `hwaddr`.
    pub fn new(hwaddr: [u8; 6]) -> Self {
        ClientConfig {
            hwaddr,
            client_id: ClientId::duid_ll(hwaddr),
            hostname: None,
            extra_request: Vec::new(),
            require: Vec::new(),
            rapid_commit: false,
            arp: true,
            ipv4ll: true,
            initial_delay: true,
            persistent: false,
            release_on_stop: false,
            reboot_timeout: Duration::from_secs(5),
            max_message_size: Some(1500),
        }
    }
}

/// Client states (RFC 2131 figure 5, plus a few of our own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// No exchange running; a timer may start one.
    Init,
    /// DISCOVER sent, waiting for an OFFER.
    Selecting,
    /// REQUEST for an offer sent, waiting for the ACK.
    Requesting,
    /// ACKed; waiting for the ARP probe's verdict.
    Probing,
    Bound,
    /// Past T1: unicasting REQUESTs to our server.
    Renewing,
    /// Past T2: broadcasting REQUESTs to any server.
    Rebinding,
    /// INIT-REBOOT: asking to keep a remembered lease.
    Rebooting,
    /// The link is down; waiting for [`Client::carrier_up`].
    NoCarrier,
    /// Released or stopped; [`Client::start`] begins again.
    Stopped,
}

impl State {
    /// Lower-case name for logs.
    pub fn name(self) -> &'static str {
        match self {
            State::Init => "init",
            State::Selecting => "selecting",
            State::Requesting => "requesting",
            State::Probing => "probing",
            State::Bound => "bound",
            State::Renewing => "renewing",
            State::Rebinding => "rebinding",
            State::Rebooting => "rebooting",
            State::NoCarrier => "nocarrier",
            State::Stopped => "stopped",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a packet goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// To 255.255.255.255:67 from 0.0.0.0:68 (raw socket; we may have no address).
    Broadcast,
    /// To the server's port 67 from our bound address.
    Unicast(Ipv4Addr),
}

/// Log levels for [`Action::Log`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warn,
}

/// What the daemon must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send a DHCP payload (UDP to the server port).
    Send {
        packet: Vec<u8>,
        destination: Destination,
    },
    /// Apply the lease: address, routes, MTU, resolv.conf.
    ConfigureLease(Lease),
    /// Remove what [`Action::ConfigureLease`] applied.
    Deconfigure(Lease),
    /// Probe the address with ARP and report back with
    /// [`Client::arp_probe_clear`] or [`Client::arp_conflict`].
    ArpProbe(Ipv4Addr),
    /// No server has answered for a while: seek a link-local address.
    StartLinkLocal,
    /// A lease came, or the client stops: drop the link-local address.
    StopLinkLocal,
    /// Store the lease for the next start (see [`Lease::to_json`]).
    PersistLease(Lease),
    /// Delete the stored lease.
    ForgetLease,
    /// One log line, in key=value form.
    Log { level: Level, message: String },
}

/// Retransmission timing: 4 s doubling to 64 s, each +-1 s (RFC 2131 4.1).
#[derive(Debug, Clone)]
struct Backoff {
    next: Duration,
}

impl Backoff {
    fn new() -> Self {
        Backoff {
            next: BACKOFF_FIRST,
        }
    }

    /// The next wait, then doubles the base.
    fn delay(&mut self, rng: &mut Rng) -> Duration {
        let base = self.next;
        self.next = (base * 2).min(BACKOFF_MAX);
        let jitter = Duration::from_millis(rng.below(2 * JITTER_MS + 1));
        base + jitter - Duration::from_millis(JITTER_MS)
    }
}

/// The DHCPv4 client for one interface.
#[derive(Debug, Clone)]
pub struct Client {
    cfg: ClientConfig,
    rng: Rng,
    state: State,
    xid: u32,
    timer: Option<Instant>,
    backoff: Backoff,
    /// Start of the current exchange, for the `secs` field.
    started: Instant,
    /// Packets sent in the current exchange.
    attempts: u32,
    /// The offer being requested, or the ACKed lease being probed.
    pending: Option<Lease>,
    /// Our lease: held while bound, or remembered for INIT-REBOOT.
    lease: Option<Lease>,
    /// What the interface has applied now.
    configured: Option<Lease>,
    /// When INIT-REBOOT gives up.
    reboot_deadline: Instant,
    /// Delay before the next restart after a NAK.
    nak_delay: Duration,
    /// When to ask for a link-local address, while discovering without one.
    link_local_at: Option<Instant>,
    /// A link-local address is sought or held.
    link_local: bool,
}

impl Client {
    /// A client in [`State::Init`]. `seed` drives xids and jitter: take it
    /// from the OS in the daemon, and a constant in tests.
    pub fn new(config: ClientConfig, seed: u64) -> Self {
        Client {
            cfg: config,
            rng: Rng::new(seed),
            state: State::Init,
            xid: 0,
            timer: None,
            backoff: Backoff::new(),
            started: Instant::ZERO,
            attempts: 0,
            pending: None,
            lease: None,
            configured: None,
            reboot_deadline: Instant::ZERO,
            nak_delay: Duration::ZERO,
            link_local_at: None,
            link_local: false,
        }
    }

    /// Gives a lease loaded from disk, so that [`Client::start`] tries
    /// INIT-REBOOT with it.
    pub fn remember_lease(&mut self, lease: Lease) {
        self.lease = Some(lease);
    }

    /// Takes over a lease whose address is already on the interface (left
    /// there by an earlier run with `-1` or `persistent`): the client is
    /// [`State::Bound`] with it, so that [`Client::release`] can release
    /// it and [`Client::stop`] remove it. An expired lease is ignored.
    pub fn adopt(&mut self, now: Instant, lease: Lease) {
        if lease.is_expired(now) {
            return;
        }
        self.pending = None;
        self.state = State::Bound;
        self.timer = lease.renew_at();
        self.configured = Some(lease.clone());
        self.lease = Some(lease);
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    /// Our lease: the bound one, or the one remembered for INIT-REBOOT.
    pub fn lease(&self) -> Option<&Lease> {
        self.lease.as_ref()
    }

    /// The lease applied to the interface, if any.
    pub fn configured(&self) -> Option<&Lease> {
        self.configured.as_ref()
    }

    /// The current transaction id.
    pub fn xid(&self) -> u32 {
        self.xid
    }

    /// When [`Client::handle_timeout`] should be called next.
    pub fn next_timeout(&self) -> Option<Instant> {
        [self.timer, self.link_local_at].into_iter().flatten().min()
    }

    /// Starts acquiring: INIT-REBOOT with a remembered lease, else DISCOVER
    /// (after a random delay of up to 1 s unless `nodelay`).
    pub fn start(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        self.pending = None;
        if self.cfg.initial_delay {
            self.state = State::Init;
            self.timer = Some(now + Duration::from_millis(self.rng.below(1000)));
        } else {
            self.acquire(now, &mut out);
        }
        out
    }

    /// Handles the payload of a UDP packet to port 68.
    pub fn handle_packet(&mut self, now: Instant, bytes: &[u8]) -> Vec<Action> {
        let mut out = Vec::new();
        let msg = match self.check(bytes) {
            Ok(m) => m,
            Err(e) => {
                log(&mut out, Level::Debug, format!("event=drop reason=\"{e}\""));
                return out;
            }
        };
        let ty = msg.opts().msg_type().unwrap_or(MessageType::Unknown(0));
        match (self.state, ty) {
            (State::Selecting, MessageType::Offer) => self.on_offer(now, &msg, &mut out),
            (State::Selecting, MessageType::Ack)
                if self.cfg.rapid_commit && msg.opts().contains(OptionCode::RapidCommit) =>
            {
                self.on_ack(now, &msg, &mut out)
            }
            (
                State::Requesting | State::Renewing | State::Rebinding | State::Rebooting,
                MessageType::Ack,
            ) => self.on_ack(now, &msg, &mut out),
            (
                State::Requesting | State::Renewing | State::Rebinding | State::Rebooting,
                MessageType::Nak,
            ) => self.on_nak(now, &msg, &mut out),
            (state, ty) => {
                let e = PacketError::Unexpected(ty, state.name());
                log(&mut out, Level::Debug, format!("event=drop reason=\"{e}\""));
            }
        }
        out
    }

    /// Handles the timer set by [`Client::next_timeout`]. Early calls do nothing.
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        if self.link_local_at.is_some_and(|t| now >= t) {
            self.link_local_at = None;
            self.link_local = true;
            log(
                &mut out,
                Level::Info,
                "event=ipv4ll reason=no-answer".into(),
            );
            out.push(Action::StartLinkLocal);
        }
        match self.timer {
            Some(t) if now >= t => self.timer = None,
            _ => return out,
        }
        match self.state {
            State::Init => self.acquire(now, &mut out),
            State::Selecting => self.send_discover(now, &mut out),
            State::Requesting => {
                if self.attempts >= MAX_REQUESTS {
                    log(
                        &mut out,
                        Level::Warn,
                        "event=timeout state=requesting".into(),
                    );
                    self.pending = None;
                    self.discover(now, &mut out);
                } else {
                    self.send_select_request(now, &mut out);
                }
            }
            State::Rebooting => {
                if now >= self.reboot_deadline {
                    log(
                        &mut out,
                        Level::Info,
                        "event=timeout state=rebooting".into(),
                    );
                    self.lease = None;
                    self.acquire(now, &mut out);
                } else {
                    self.send_reboot_request(now, &mut out);
                }
            }
            State::Bound | State::Renewing | State::Rebinding => self.lease_timer(now, &mut out),
            State::Probing | State::NoCarrier | State::Stopped => {}
        }
        out
    }

    /// The link came up: acquire again (INIT-REBOOT if we hold a lease).
    pub fn carrier_up(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        if self.state == State::NoCarrier {
            log(&mut out, Level::Info, "event=carrier state=up".into());
            self.acquire(now, &mut out);
        }
        out
    }

    /// The link went down: stop, remember the lease, and drop the address
    /// unless `persistent`.
    pub fn carrier_down(&mut self, _now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        if self.state == State::Stopped {
            return out;
        }
        log(&mut out, Level::Info, "event=carrier state=down".into());
        if !self.cfg.persistent {
            self.deconfigure(&mut out);
        }
        self.stop_link_local(&mut out);
        self.pending = None;
        self.state = State::NoCarrier;
        self.timer = None;
        out
    }

    /// Releases the lease (RFC 2131 4.4.6), forgets it, and stops.
    pub fn release(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        // Only a lease we hold on a live link can be released to its server.
        let held = matches!(
            self.state,
            State::Bound | State::Renewing | State::Rebinding
        );
        if let Some(l) = self.lease.take() {
            if held {
                log(
                    &mut out,
                    Level::Info,
                    format!("event=release address={} server={}", l.address, l.server_id),
                );
                self.new_exchange(now);
                let mut o = self.base_options(MessageType::Release);
                o.insert(DhcpOption::ServerIdentifier(l.server_id));
                self.send(
                    now,
                    l.address,
                    o,
                    Destination::Unicast(l.server_id),
                    &mut out,
                );
            }
            out.push(Action::ForgetLease);
        }
        self.deconfigure(&mut out);
        self.stop_link_local(&mut out);
        self.halt();
        out
    }

    /// The daemon is exiting: release if configured to, else drop the
    /// address unless `persistent`. The stored lease is kept for next time.
    pub fn stop(&mut self, now: Instant) -> Vec<Action> {
        if self.cfg.release_on_stop {
            return self.release(now);
        }
        let mut out = Vec::new();
        if !self.cfg.persistent {
            self.deconfigure(&mut out);
            self.stop_link_local(&mut out);
        }
        self.halt();
        out
    }

    /// The ARP probe found the address free: use it.
    pub fn arp_probe_clear(&mut self, _now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        if self.state == State::Probing {
            if let Some(l) = self.pending.take() {
                self.bind(l, &mut out);
            }
        }
        out
    }

    /// Another host has our address (during the probe, or later while we
    /// hold it): DECLINE it and start over after a pause (RFC 2131 3.1.5).
    pub fn arp_conflict(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        let lease = match self.state {
            State::Probing => self.pending.take(),
            State::Bound | State::Renewing | State::Rebinding => self.lease.take(),
            _ => None,
        };
        let Some(l) = lease else {
            return out;
        };
        log(
            &mut out,
            Level::Warn,
            format!("event=conflict address={} action=decline", l.address),
        );
        if self
            .configured
            .as_ref()
            .is_some_and(|c| c.address == l.address)
        {
            self.deconfigure(&mut out);
        }
        self.new_exchange(now);
        let mut o = self.base_options(MessageType::Decline);
        o.insert(DhcpOption::RequestedIpAddress(l.address));
        o.insert(DhcpOption::ServerIdentifier(l.server_id));
        self.send(
            now,
            Ipv4Addr::UNSPECIFIED,
            o,
            Destination::Broadcast,
            &mut out,
        );
        out.push(Action::ForgetLease);
        self.lease = None;
        self.state = State::Init;
        self.timer = Some(now + DECLINE_WAIT);
        out
    }

    /// Another host kept claiming our address after we defended it once
    /// (RFC 5227 2.4 (b)): give the address up and discover anew. No
    /// DECLINE, as in dhcpcd: the server gave the address in good faith, and
    /// the probe before the next lease settles who has it.
    pub fn arp_defence_failed(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        if !matches!(
            self.state,
            State::Bound | State::Renewing | State::Rebinding
        ) {
            return out;
        }
        let Some(l) = self.lease.take() else {
            return out;
        };
        log(
            &mut out,
            Level::Warn,
            format!("event=conflict address={} action=drop", l.address),
        );
        self.deconfigure(&mut out);
        out.push(Action::ForgetLease);
        self.discover(now, &mut out);
        out
    }

    // ----- packet handling -----

    /// Framing, then the checks that tie a reply to us. Any failure drops
    /// the packet without touching state.
    fn check(&self, bytes: &[u8]) -> Result<Message, PacketError> {
        let msg = parse_reply(bytes)?;
        if msg.xid() != self.xid {
            return Err(PacketError::WrongXid {
                expected: self.xid,
                got: msg.xid(),
            });
        }
        if msg.chaddr() != self.cfg.hwaddr {
            return Err(PacketError::WrongChaddr);
        }
        if msg.opts().msg_type() != Some(MessageType::Nak) {
            if let Some(&code) = self
                .cfg
                .require
                .iter()
                .find(|&&c| !msg.opts().contains(OptionCode::from(c)))
            {
                return Err(PacketError::MissingRequired(code));
            }
        }
        Ok(msg)
    }

    fn on_offer(&mut self, now: Instant, msg: &Message, out: &mut Vec<Action>) {
        let offer = match Lease::from_reply(msg, now) {
            Ok(l) => l,
            Err(e) => {
                log(out, Level::Debug, format!("event=drop reason=\"{e}\""));
                return;
            }
        };
        log(
            out,
            Level::Info,
            format!(
                "event=offer address={} server={}",
                offer.address, offer.server_id
            ),
        );
        // Take the first offer, as dhcpcd does; same xid, same `secs` clock.
        self.pending = Some(offer);
        self.state = State::Requesting;
        self.attempts = 0;
        self.backoff = Backoff::new();
        self.send_select_request(now, out);
    }

    fn on_ack(&mut self, now: Instant, msg: &Message, out: &mut Vec<Action>) {
        // In REQUESTING only the server we chose may answer.
        if let (State::Requesting, Some(p)) = (self.state, &self.pending) {
            if server_id(msg) != Some(p.server_id) {
                log(
                    out,
                    Level::Debug,
                    "event=drop reason=\"other server\"".into(),
                );
                return;
            }
        }
        let lease = match Lease::from_reply(msg, now) {
            Ok(l) => l,
            Err(e) => {
                log(out, Level::Debug, format!("event=drop reason=\"{e}\""));
                return;
            }
        };
        log(
            out,
            Level::Info,
            format!(
                "event=ack state={} address={} server={} lease={}",
                self.state, lease.address, lease.server_id, lease.lease_time
            ),
        );
        self.pending = None;
        // Extending the address we already use needs no probe.
        let in_use = self
            .configured
            .as_ref()
            .is_some_and(|c| c.address == lease.address);
        if in_use || !self.cfg.arp {
            self.bind(lease, out);
        } else {
            // A different address: the old one goes before we probe.
            self.deconfigure(out);
            self.state = State::Probing;
            self.timer = None;
            out.push(Action::ArpProbe(lease.address));
            self.pending = Some(lease);
        }
    }

    fn on_nak(&mut self, now: Instant, msg: &Message, out: &mut Vec<Action>) {
        if let (State::Requesting, Some(p)) = (self.state, &self.pending) {
            if server_id(msg) != Some(p.server_id) {
                log(
                    out,
                    Level::Debug,
                    "event=drop reason=\"other server\"".into(),
                );
                return;
            }
        }
        let text = match msg.opts().get(OptionCode::Message) {
            Some(DhcpOption::Message(m)) => m.escape_debug().to_string(),
            _ => String::new(),
        };
        log(
            out,
            Level::Warn,
            format!("event=nak state={} message=\"{text}\"", self.state),
        );
        self.deconfigure(out);
        out.push(Action::ForgetLease);
        self.pending = None;
        self.lease = None;
        // Back off if NAKs keep coming, as dhcpcd does: 0, 1, 2, 4 ... 60 s.
        let delay = self.nak_delay;
        self.nak_delay = if delay.is_zero() {
            Duration::from_secs(1)
        } else {
            (delay * 2).min(NAK_DELAY_MAX)
        };
        if delay.is_zero() {
            self.discover(now, out);
        } else {
            self.state = State::Init;
            self.timer = Some(now + delay);
        }
    }

    // ----- transitions -----

    /// Begins acquiring: INIT-REBOOT with a valid remembered lease, else DISCOVER.
    fn acquire(&mut self, now: Instant, out: &mut Vec<Action>) {
        match &self.lease {
            Some(l) if !l.is_expired(now) => {
                self.new_exchange(now);
                self.state = State::Rebooting;
                self.reboot_deadline = now + self.cfg.reboot_timeout;
                self.send_reboot_request(now, out);
            }
            _ => {
                self.lease = None;
                self.discover(now, out);
            }
        }
    }

    fn discover(&mut self, now: Instant, out: &mut Vec<Action>) {
        // Anything still applied belongs to a lease we no longer hold.
        self.deconfigure(out);
        if self.cfg.ipv4ll && !self.link_local && self.link_local_at.is_none() {
            self.link_local_at = Some(now + LINK_LOCAL_AFTER);
        }
        self.new_exchange(now);
        self.state = State::Selecting;
        self.send_discover(now, out);
    }

    fn bind(&mut self, lease: Lease, out: &mut Vec<Action>) {
        if self
            .configured
            .as_ref()
            .is_some_and(|c| c.address != lease.address)
        {
            self.deconfigure(out);
        }
        log(
            out,
            Level::Info,
            format!(
                "event=bound address={}/{} lease={} t1={} t2={}",
                lease.address, lease.prefix_len, lease.lease_time, lease.t1, lease.t2
            ),
        );
        self.state = State::Bound;
        self.timer = lease.renew_at();
        self.nak_delay = Duration::ZERO;
        self.configured = Some(lease.clone());
        self.lease = Some(lease.clone());
        out.push(Action::ConfigureLease(lease.clone()));
        out.push(Action::PersistLease(lease));
        // After the lease's address is in place, so the link is never without one.
        self.stop_link_local(out);
    }

    fn stop_link_local(&mut self, out: &mut Vec<Action>) {
        self.link_local_at = None;
        if std::mem::take(&mut self.link_local) {
            out.push(Action::StopLinkLocal);
        }
    }

    /// T1, T2 and expiry; checked in that order from the end, so a late
    /// wake-up (after a suspend) lands in the right state.
    fn lease_timer(&mut self, now: Instant, out: &mut Vec<Action>) {
        let Some(l) = self.lease.clone() else {
            self.discover(now, out);
            return;
        };
        let past = |t: Option<Instant>| t.is_some_and(|t| now >= t);
        if l.is_expired(now) {
            log(
                out,
                Level::Warn,
                format!("event=expired address={}", l.address),
            );
            self.lease = None;
            out.push(Action::ForgetLease);
            self.discover(now, out);
        } else if past(l.rebind_at()) && self.state != State::Rebinding {
            log(
                out,
                Level::Info,
                format!("event=rebind address={}", l.address),
            );
            self.new_exchange(now);
            self.state = State::Rebinding;
            self.send_renew_request(now, &l, out);
        } else if past(l.renew_at()) && self.state == State::Bound {
            log(
                out,
                Level::Info,
                format!("event=renew address={}", l.address),
            );
            self.new_exchange(now);
            self.state = State::Renewing;
            self.send_renew_request(now, &l, out);
        } else if self.state == State::Bound {
            self.timer = l.renew_at();
        } else {
            self.send_renew_request(now, &l, out);
        }
    }

    fn deconfigure(&mut self, out: &mut Vec<Action>) {
        if let Some(c) = self.configured.take() {
            out.push(Action::Deconfigure(c));
        }
    }

    fn halt(&mut self) {
        self.pending = None;
        self.state = State::Stopped;
        self.timer = None;
        self.link_local_at = None;
    }

    /// A new transaction: fresh xid, backoff and `secs` clock.
    fn new_exchange(&mut self, now: Instant) {
        self.xid = self.rng.next_u32();
        self.started = now;
        self.attempts = 0;
        self.backoff = Backoff::new();
    }

    // ----- sending -----

    fn send_discover(&mut self, now: Instant, out: &mut Vec<Action>) {
        let mut o = self.base_options(MessageType::Discover);
        self.add_request_options(&mut o);
        if self.cfg.rapid_commit {
            o.insert(DhcpOption::RapidCommit);
        }
        self.send(now, Ipv4Addr::UNSPECIFIED, o, Destination::Broadcast, out);
        self.retransmit_at(now, None);
    }

    /// REQUEST in SELECTING: names the offer and its server.
    fn send_select_request(&mut self, now: Instant, out: &mut Vec<Action>) {
        let Some(p) = &self.pending else { return };
        let (addr, server) = (p.address, p.server_id);
        let mut o = self.base_options(MessageType::Request);
        self.add_request_options(&mut o);
        o.insert(DhcpOption::RequestedIpAddress(addr));
        o.insert(DhcpOption::ServerIdentifier(server));
        self.send(now, Ipv4Addr::UNSPECIFIED, o, Destination::Broadcast, out);
        self.retransmit_at(now, None);
    }

    /// REQUEST in INIT-REBOOT: the remembered address, no server id.
    fn send_reboot_request(&mut self, now: Instant, out: &mut Vec<Action>) {
        let Some(l) = &self.lease else { return };
        let addr = l.address;
        let mut o = self.base_options(MessageType::Request);
        self.add_request_options(&mut o);
        o.insert(DhcpOption::RequestedIpAddress(addr));
        self.send(now, Ipv4Addr::UNSPECIFIED, o, Destination::Broadcast, out);
        self.retransmit_at(now, Some(self.reboot_deadline));
    }

    /// REQUEST in RENEWING (unicast to our server) or REBINDING (broadcast):
    /// ciaddr set, no requested address or server id (RFC 2131 table 5).
    fn send_renew_request(&mut self, now: Instant, l: &Lease, out: &mut Vec<Action>) {
        let mut o = self.base_options(MessageType::Request);
        self.add_request_options(&mut o);
        let (dest, limit) = if self.state == State::Renewing {
            (Destination::Unicast(l.server_id), l.rebind_at())
        } else {
            (Destination::Broadcast, l.expires_at())
        };
        self.send(now, l.address, o, dest, out);
        self.retransmit_at(now, limit);
    }

    /// Arms the retransmission timer, no later than `limit`.
    fn retransmit_at(&mut self, now: Instant, limit: Option<Instant>) {
        let t = now + self.backoff.delay(&mut self.rng);
        self.timer = Some(limit.map_or(t, |l| t.min(l)));
    }

    fn base_options(&self, ty: MessageType) -> DhcpOptions {
        let mut o = DhcpOptions::new();
        o.insert(DhcpOption::MessageType(ty));
        o.insert(DhcpOption::ClientIdentifier(self.cfg.client_id.to_bytes()));
        o
    }

    /// Options that DISCOVER and REQUEST carry.
    fn add_request_options(&self, o: &mut DhcpOptions) {
        let mut prl: Vec<u8> = DEFAULT_REQUEST_LIST.to_vec();
        for &c in &self.cfg.extra_request {
            if !prl.contains(&c) {
                prl.push(c);
            }
        }
        o.insert(DhcpOption::ParameterRequestList(
            prl.into_iter().map(OptionCode::from).collect(),
        ));
        if let Some(size) = self.cfg.max_message_size {
            o.insert(DhcpOption::MaxMessageSize(size.max(576)));
        }
        if let Some(h) = &self.cfg.hostname {
            o.insert(DhcpOption::Hostname(h.clone()));
        }
    }

    fn send(
        &mut self,
        now: Instant,
        ciaddr: Ipv4Addr,
        opts: DhcpOptions,
        destination: Destination,
        out: &mut Vec<Action>,
    ) {
        self.attempts += 1;
        let secs = now.saturating_duration_since(self.started).as_secs();
        let req = Request {
            xid: self.xid,
            secs: secs.min(u16::MAX.into()) as u16,
            ciaddr,
            chaddr: self.cfg.hwaddr,
            opts,
        };
        out.push(Action::Send {
            packet: req.encode(),
            destination,
        });
    }
}

fn log(out: &mut Vec<Action>, level: Level, message: String) {
    out.push(Action::Log { level, message });
}

#[cfg(test)]
mod tests;
