//! The client's state machine, with no I/O and no clock of its own: the
//! daemon feeds it the monotonic time (seconds since start), datagrams and
//! resolver answers, and carries out the [`Action`]s it queues. The system
//! clock is reached only through the [`Clock`] trait.
//!
//! Sources come in groups: one per server spec (an address, or a name to
//! resolve) and one for the DHCP hand-off file. Each source is polled in a
//! burst at start (`burst` requests, `burst_interval` apart), then every
//! 2^poll seconds; replies go through [`reply::check`], the clock filter,
//! selection and the discipline.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};

use crate::clock::{Adjustment, Clock};
use crate::config::{Host, Kind, ServerSpec, NTP_PORT};
use crate::discipline::{Decision, Discipline, DisciplineConfig};
use crate::event::Event;
use crate::filter::{ClockFilter, MIN_DISTANCE};
use crate::packet::{KissCode, NtpTimestamp, Packet, PACKET_LEN};
use crate::reply::{self, Leap, Reply, Request, MAX_DISTANCE, PHI};
use crate::select::{select, Candidate};

/// How long we wait for a reply, seconds.
pub const REPLY_TIMEOUT: f64 = 2.0;
/// A source that missed this many replies in a row is unreachable.
pub const UNREACHABLE: u32 = 4;
/// A name is resolved again at most this often when its sources fail, seconds.
pub const RERESOLVE_INTERVAL: f64 = 60.0;
/// A pool never brings more sources than this.
pub const MAX_POOL_SOURCES: usize = 8;

#[derive(Clone, Debug, PartialEq)]
pub struct EngineConfig {
    /// Poll exponents: 2^minpoll to 2^maxpoll seconds (6 and 10: 64 s to 1024 s).
    pub minpoll: u8,
    pub maxpoll: u8,
    /// Requests per source at start and after a step.
    pub burst: u8,
    /// Seconds between the requests of a burst.
    pub burst_interval: f64,
    pub discipline: DisciplineConfig,
    /// Set the clock once and finish (-q).
    pub oneshot: bool,
    /// -q gives up after this many seconds.
    pub oneshot_timeout: f64,
    /// Measure and log, never touch the clock.
    pub dry_run: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            minpoll: 6,
            maxpoll: 10,
            burst: 4,
            burst_interval: 2.0,
            discipline: DisciplineConfig::default(),
            oneshot: false,
            oneshot_timeout: 30.0,
            dry_run: false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId(pub u64);
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId(pub u64);

/// A request to send now. The daemon must call [`Engine::sent`] with our
/// clock's time right before it sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub request: RequestId,
    pub to: SocketAddr,
    pub packet: [u8; PACKET_LEN],
}

/// How a -q run (or a fatal condition) ends.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The clock was set (or, in a dry run, measured) at this offset.
    Synced { offset: f64 },
    /// No usable measurement before the timeout.
    NoMeasurement { reason: String },
    /// The offset is over the panic threshold.
    Panic { offset: f64 },
    /// The kernel refused to change the clock.
    ClockFailed { error: String },
}

impl Outcome {
    /// The process exit code (see README.md).
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Synced { .. } => 0,
            Outcome::NoMeasurement { .. } => 1,
            Outcome::ClockFailed { .. } => 3,
            Outcome::Panic { .. } => 4,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Send(Outgoing),
    /// Stop listening for replies to this request.
    Close(RequestId),
    /// Resolve this name and call [`Engine::resolved`].
    Resolve {
        group: GroupId,
        name: String,
    },
    /// Stop with this outcome.
    Exit(Outcome),
}

/// A read-only view of a source, for tests and status lines.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceInfo {
    pub id: SourceId,
    pub addr: SocketAddr,
    pub reach: u8,
    pub misses: u32,
    pub burst_left: u8,
    /// Seconds between polls once the burst is over.
    pub poll_interval: f64,
    pub next_poll: f64,
    pub samples: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum GroupKind {
    Spec(ServerSpec),
    Dhcp,
}

#[derive(Clone, Debug)]
struct Group {
    id: GroupId,
    what: GroupKind,
    /// The name to resolve, if any.
    name: Option<String>,
    resolve_due: Option<f64>,
    resolving: bool,
    failures: u32,
    last_resolved: Option<f64>,
}

impl Group {
    fn kind(&self) -> Kind {
        match &self.what {
            GroupKind::Spec(s) => s.kind,
            GroupKind::Dhcp => Kind::Servers,
        }
    }

    fn origin(&self) -> String {
        match &self.what {
            GroupKind::Spec(s) => format!("{} {}", s.kind.keyword(), s.display()),
            GroupKind::Dhcp => "dhcp".into(),
        }
    }
}

#[derive(Clone, Debug)]
struct Pending {
    id: RequestId,
    nonce: NtpTimestamp,
    sent_at: Option<NtpTimestamp>,
    created: f64,
    deadline: f64,
}

#[derive(Clone, Debug)]
struct Source {
    id: SourceId,
    group: GroupId,
    addr: SocketAddr,
    filter: ClockFilter,
    burst_left: u8,
    /// Poll exponent added for consecutive misses.
    backoff: u8,
    /// Lowest poll exponent a RATE kiss left us.
    kiss_poll: u8,
    next_poll: f64,
    pending: Option<Pending>,
    misses: u32,
    reach: u8,
}

pub struct Engine {
    cfg: EngineConfig,
    random: Box<dyn FnMut() -> u64 + Send>,
    start: f64,
    groups: Vec<Group>,
    sources: Vec<Source>,
    denied: HashSet<IpAddr>,
    discipline: Discipline,
    sys_poll: u8,
    poll_count: i32,
    /// Monotonic time of the sample behind the last clock update.
    last_update_sample: f64,
    leap: Leap,
    /// A new sample since the last selection.
    dirty: bool,
    /// At start and after a step: the next update waits for every burst to end.
    warming: bool,
    finished: bool,
    next_id: u64,
    actions: Vec<Action>,
    events: Vec<Event>,
}

impl Engine {
    /// A new engine at monotonic time `now`; `random` gives the request nonces.
    pub fn new(cfg: EngineConfig, now: f64, random: Box<dyn FnMut() -> u64 + Send>) -> Engine {
        let discipline = Discipline::new(cfg.discipline);
        let sys_poll = cfg.minpoll;
        Engine {
            cfg,
            random,
            start: now,
            groups: Vec::new(),
            sources: Vec::new(),
            denied: HashSet::new(),
            discipline,
            sys_poll,
            poll_count: 0,
            last_update_sample: f64::NEG_INFINITY,
            leap: Leap::None,
            dirty: false,
            warming: true,
            finished: false,
            next_id: 1,
            actions: Vec::new(),
            events: Vec::new(),
        }
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn take_actions(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.actions)
    }

    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    pub fn config(&self) -> &EngineConfig {
        &self.cfg
    }

    /// The system poll interval, seconds.
    pub fn poll_interval(&self) -> f64 {
        2f64.powi(i32::from(self.sys_poll))
    }

    pub fn sources(&self) -> Vec<SourceInfo> {
        self.sources
            .iter()
            .map(|s| SourceInfo {
                id: s.id,
                addr: s.addr,
                reach: s.reach,
                misses: s.misses,
                burst_left: s.burst_left,
                poll_interval: self.interval(s),
                next_poll: s.next_poll,
                samples: s.filter.len(),
            })
            .collect()
    }

    /// Sets the servers from the flags and the config file (again on SIGHUP):
    /// groups that stay keep their sources; the denied list is forgotten.
    pub fn set_servers(&mut self, specs: &[ServerSpec], now: f64) {
        self.denied.clear();
        let gone: Vec<GroupId> = self
            .groups
            .iter()
            .filter(|g| matches!(&g.what, GroupKind::Spec(s) if !specs.contains(s)))
            .map(|g| g.id)
            .collect();
        for g in gone {
            self.remove_group_sources(g, |_| true, "config");
            self.groups.retain(|x| x.id != g);
        }
        for spec in specs {
            if self
                .groups
                .iter()
                .any(|g| g.what == GroupKind::Spec(spec.clone()))
            {
                continue;
            }
            let id = GroupId(self.id());
            let name = match &spec.host {
                Host::Name(n) => Some(n.clone()),
                Host::Ip(_) => None,
            };
            self.groups.push(Group {
                id,
                what: GroupKind::Spec(spec.clone()),
                resolve_due: name.as_ref().map(|_| now),
                name,
                resolving: false,
                failures: 0,
                last_resolved: None,
            });
            if let Host::Ip(ip) = spec.host {
                self.set_group_addrs(id, &[SocketAddr::new(ip, spec.port)], now);
            }
        }
    }

    /// Sets the servers from the DHCP hand-off file.
    pub fn set_dhcp_servers(&mut self, addrs: &[SocketAddr], now: f64) {
        let id = match self.groups.iter().find(|g| g.what == GroupKind::Dhcp) {
            Some(g) => g.id,
            None => {
                let id = GroupId(self.id());
                self.groups.push(Group {
                    id,
                    what: GroupKind::Dhcp,
                    name: None,
                    resolve_due: None,
                    resolving: false,
                    failures: 0,
                    last_resolved: None,
                });
                id
            }
        };
        self.set_group_addrs(id, addrs, now);
    }

    /// The resolver's answer for a group's name.
    pub fn resolved(&mut self, group: GroupId, result: Result<Vec<IpAddr>, String>, now: f64) {
        let Some(g) = self.groups.iter_mut().find(|g| g.id == group) else {
            return;
        };
        g.resolving = false;
        let name = g.name.clone().unwrap_or_default();
        let ips = match result {
            Ok(ips) if !ips.is_empty() => ips,
            Ok(_) | Err(_) => {
                let error = match result {
                    Err(e) => e,
                    Ok(_) => "no addresses".into(),
                };
                g.failures += 1;
                // 5 s, 10 s, ... up to 5 minutes.
                let retry = (5.0 * 2f64.powi(g.failures as i32 - 1)).min(300.0);
                g.resolve_due = Some(now + retry);
                self.events
                    .push(Event::ResolveFailed { name, error, retry });
                return;
            }
        };
        g.failures = 0;
        g.resolve_due = None;
        g.last_resolved = Some(now);
        let (kind, port) = match &g.what {
            GroupKind::Spec(s) => (s.kind, s.port),
            GroupKind::Dhcp => (Kind::Servers, NTP_PORT),
        };
        self.events.push(Event::Resolved {
            name,
            addrs: ips.clone(),
        });
        let fresh: Vec<SocketAddr> = ips
            .iter()
            .filter(|ip| !self.denied.contains(ip))
            .map(|ip| SocketAddr::new(*ip, port))
            .collect();
        let current: Vec<&Source> = self.sources.iter().filter(|s| s.group == group).collect();
        let wanted: Vec<SocketAddr> = match kind {
            Kind::Server => {
                // Keep the address we have while it answers and the name still has it.
                match current.first() {
                    Some(s) if s.misses < UNREACHABLE && fresh.contains(&s.addr) => vec![s.addr],
                    _ => fresh.into_iter().take(1).collect(),
                }
            }
            Kind::Servers => fresh,
            Kind::Pool => {
                let mut w: Vec<SocketAddr> = current
                    .iter()
                    .filter(|s| s.misses < UNREACHABLE)
                    .map(|s| s.addr)
                    .collect();
                for a in fresh {
                    if !w.contains(&a) {
                        w.push(a);
                    }
                }
                w.truncate(MAX_POOL_SOURCES);
                w
            }
        };
        self.set_group_addrs(group, &wanted, now);
    }

    /// Makes the group's sources exactly `addrs`, keeping the state of those that stay.
    fn set_group_addrs(&mut self, group: GroupId, addrs: &[SocketAddr], now: f64) {
        self.remove_group_sources(group, |a| !addrs.contains(&a), "gone");
        let origin = self
            .groups
            .iter()
            .find(|g| g.id == group)
            .map(Group::origin)
            .unwrap_or_default();
        for &addr in addrs {
            if self.denied.contains(&addr.ip()) || self.sources.iter().any(|s| s.addr == addr) {
                continue;
            }
            let id = SourceId(self.id());
            self.sources.push(Source {
                id,
                group,
                addr,
                filter: ClockFilter::default(),
                burst_left: self.cfg.burst,
                backoff: 0,
                kiss_poll: 0,
                next_poll: now,
                pending: None,
                misses: 0,
                reach: 0,
            });
            self.events.push(Event::SourceAdded {
                addr,
                origin: origin.clone(),
            });
        }
        self.dirty = true;
    }

    fn remove_group_sources(
        &mut self,
        group: GroupId,
        remove: impl Fn(SocketAddr) -> bool,
        reason: &'static str,
    ) {
        let mut kept = Vec::with_capacity(self.sources.len());
        for s in std::mem::take(&mut self.sources) {
            if s.group == group && remove(s.addr) {
                if let Some(p) = &s.pending {
                    self.actions.push(Action::Close(p.id));
                }
                self.events.push(Event::SourceRemoved {
                    addr: s.addr,
                    reason,
                });
                self.dirty = true;
            } else {
                kept.push(s);
            }
        }
        self.sources = kept;
    }

    /// Seconds between polls of a source after its burst.
    fn interval(&self, s: &Source) -> f64 {
        let exp = (self.sys_poll.max(s.kiss_poll) + s.backoff).min(self.cfg.maxpoll);
        2f64.powi(i32::from(exp))
    }

    /// When [`Engine::poll`] should run next, in monotonic seconds.
    pub fn next_wakeup(&self) -> Option<f64> {
        if self.finished {
            return None;
        }
        let mut t: Option<f64> = None;
        let mut at = |x: f64| t = Some(t.map_or(x, |t: f64| t.min(x)));
        for s in &self.sources {
            match &s.pending {
                Some(p) => at(p.deadline),
                None if !(self.cfg.oneshot && s.burst_left == 0) => at(s.next_poll),
                None => {}
            }
        }
        for g in &self.groups {
            if let (Some(d), false) = (g.resolve_due, g.resolving) {
                at(d);
            }
        }
        if self.cfg.oneshot {
            at(self.start + self.cfg.oneshot_timeout);
        }
        t
    }

    /// Runs the timers: expired requests, resolutions, due polls, the -q deadline.
    pub fn poll(&mut self, now: f64, clock: &mut dyn Clock) {
        if self.finished {
            return;
        }
        self.expire(now);
        self.check_groups(now);
        for g in &mut self.groups {
            if let (Some(d), false, Some(name)) = (g.resolve_due, g.resolving, &g.name) {
                if d <= now {
                    g.resolving = true;
                    self.actions.push(Action::Resolve {
                        group: g.id,
                        name: name.clone(),
                    });
                }
            }
        }
        self.update(now, clock);
        if self.finished {
            return;
        }
        for i in 0..self.sources.len() {
            let s = &self.sources[i];
            if s.pending.is_some() || s.next_poll > now || (self.cfg.oneshot && s.burst_left == 0) {
                continue;
            }
            let id = RequestId(self.id());
            let nonce = loop {
                let n = (self.random)();
                if n != 0 {
                    break NtpTimestamp(n);
                }
            };
            let s = &mut self.sources[i];
            s.burst_left = s.burst_left.saturating_sub(1);
            s.pending = Some(Pending {
                id,
                nonce,
                sent_at: None,
                created: now,
                deadline: now + REPLY_TIMEOUT,
            });
            self.actions.push(Action::Send(Outgoing {
                request: id,
                to: s.addr,
                packet: Packet::client_request(nonce).encode(),
            }));
        }
    }

    /// The daemon sent the request at our clock's time `t1`.
    pub fn sent(&mut self, request: RequestId, t1: NtpTimestamp) {
        if let Some(p) = self
            .sources
            .iter_mut()
            .filter_map(|s| s.pending.as_mut())
            .find(|p| p.id == request)
        {
            p.sent_at = Some(t1);
        }
    }

    fn expire(&mut self, now: f64) {
        let mut closed = Vec::new();
        for i in 0..self.sources.len() {
            let expired = matches!(&self.sources[i].pending, Some(p) if p.deadline <= now);
            if !expired {
                continue;
            }
            let p = self.sources[i].pending.take().expect("checked");
            closed.push(p.id);
            let in_burst = self.sources[i].burst_left > 0;
            let s = &mut self.sources[i];
            s.misses += 1;
            s.reach <<= 1;
            if !in_burst && s.misses > 1 {
                s.backoff = (s.backoff + 1).min(self.cfg.maxpoll - self.cfg.minpoll);
            }
            let next = self.next_poll_after(i, p.created, now);
            self.sources[i].next_poll = next;
            self.events.push(Event::NoReply {
                addr: self.sources[i].addr,
                misses: self.sources[i].misses,
                next: next - now,
            });
        }
        for id in closed {
            self.actions.push(Action::Close(id));
        }
    }

    fn next_poll_after(&self, i: usize, created: f64, now: f64) -> f64 {
        let s = &self.sources[i];
        if s.burst_left > 0 {
            (created + self.cfg.burst_interval).max(now)
        } else {
            (created + self.interval(s)).max(now)
        }
    }

    /// Names whose sources all failed (or were dropped) are resolved again; a pool also
    /// replaces single sources that stopped answering.
    fn check_groups(&mut self, now: f64) {
        for gi in 0..self.groups.len() {
            let g = &self.groups[gi];
            if g.name.is_none() || g.resolving || g.resolve_due.is_some() {
                continue;
            }
            let members: Vec<&Source> = self.sources.iter().filter(|s| s.group == g.id).collect();
            let dead = members.iter().filter(|s| s.misses >= UNREACHABLE).count();
            let unhealthy =
                members.is_empty() || dead == members.len() || (g.kind() == Kind::Pool && dead > 0);
            if unhealthy {
                let earliest = g.last_resolved.map_or(now, |t| t + RERESOLVE_INTERVAL);
                self.groups[gi].resolve_due = Some(earliest.max(now));
            }
        }
    }

    /// A datagram for `request`, from `from`, that arrived at our clock's time `t4`.
    pub fn receive(
        &mut self,
        request: RequestId,
        from: SocketAddr,
        buf: &[u8],
        t4: NtpTimestamp,
        now: f64,
        clock: &mut dyn Clock,
    ) {
        if self.finished {
            return;
        }
        let Some(i) = self
            .sources
            .iter()
            .position(|s| matches!(&s.pending, Some(p) if p.id == request))
        else {
            return;
        };
        let addr = self.sources[i].addr;
        let p = self.sources[i].pending.clone().expect("found by pending");
        let Some(sent_at) = p.sent_at else {
            return;
        };
        let req = Request {
            to: addr,
            nonce: p.nonce,
            sent_at,
        };
        let reply = match reply::check(&req, from, buf, t4) {
            Ok(r) => r,
            Err(e) => {
                // Keep waiting: the real reply may still come.
                self.events.push(Event::Dropped {
                    addr,
                    from,
                    reason: e.reason(),
                    detail: e.to_string(),
                });
                return;
            }
        };
        self.sources[i].pending = None;
        self.actions.push(Action::Close(p.id));
        match reply {
            Reply::Kiss(code) => self.kiss(i, code, p.created, now),
            Reply::Sample(sample) => {
                let s = &mut self.sources[i];
                s.misses = 0;
                s.backoff = 0;
                s.reach = s.reach << 1 | 1;
                s.filter.add(sample, now);
                self.dirty = true;
                self.sources[i].next_poll = self.next_poll_after(i, p.created, now);
                self.events.push(Event::Sample {
                    addr,
                    offset: sample.offset,
                    delay: sample.delay,
                    stratum: sample.stratum,
                });
            }
        }
        self.update(now, clock);
    }

    fn kiss(&mut self, i: usize, code: KissCode, created: f64, now: f64) {
        let addr = self.sources[i].addr;
        match code {
            KissCode::Rate => {
                // Poll at least twice as slowly as now, and no more bursts.
                let current =
                    self.sys_poll.max(self.sources[i].kiss_poll) + self.sources[i].backoff;
                self.sources[i].kiss_poll = (current + 1).min(self.cfg.maxpoll);
                self.sources[i].burst_left = 0;
                self.sources[i].next_poll = self.next_poll_after(i, created, now);
                let poll = self.interval(&self.sources[i]);
                self.events.push(Event::Kiss {
                    addr,
                    code: code.name(),
                    action: "backoff",
                    poll,
                });
            }
            KissCode::Deny | KissCode::Rstr => {
                // The server asks us to go away: do, and never take this address again
                // (until the config is reloaded).
                self.denied.insert(addr.ip());
                let poll = self.interval(&self.sources[i]);
                self.sources.remove(i);
                self.dirty = true;
                self.events.push(Event::Kiss {
                    addr,
                    code: code.name(),
                    action: "drop",
                    poll,
                });
                self.events.push(Event::SourceRemoved {
                    addr,
                    reason: "kiss-of-death",
                });
                self.check_groups(now);
            }
            KissCode::Other(_) => {
                self.sources[i].next_poll = self.next_poll_after(i, created, now);
                let poll = self.interval(&self.sources[i]);
                self.events.push(Event::Kiss {
                    addr,
                    code: code.name(),
                    action: "ignore",
                    poll,
                });
            }
        }
    }

    /// Whether every source has finished its burst (and, for -q, every name its first
    /// resolution): the first offset should rest on all the samples we can get.
    fn warmed_up(&self) -> bool {
        let sources_done = self
            .sources
            .iter()
            .all(|s| s.burst_left == 0 && s.pending.is_none());
        let names_done = !self.cfg.oneshot
            || self
                .groups
                .iter()
                .all(|g| g.name.is_none() || g.last_resolved.is_some() || g.failures > 0);
        sources_done && names_done
    }

    fn candidates(&self, now: f64) -> Vec<Candidate<SocketAddr>> {
        self.sources
            .iter()
            .filter(|s| s.reach != 0)
            .filter_map(|s| {
                let e = s.filter.estimate(now)?;
                (e.root_distance() <= MAX_DISTANCE + PHI * (now - e.at).max(0.0)).then_some(
                    Candidate {
                        key: s.addr,
                        estimate: e,
                    },
                )
            })
            .collect()
    }

    fn update(&mut self, now: f64, clock: &mut dyn Clock) {
        let timed_out = self.cfg.oneshot && now >= self.start + self.cfg.oneshot_timeout;
        let first = !self.discipline.started();
        if self.warming && !self.warmed_up() && !timed_out {
            return;
        }
        if !self.dirty && !timed_out {
            return;
        }
        self.dirty = false;
        let candidates = self.candidates(now);
        let Some(sel) = select(&candidates) else {
            if !candidates.is_empty() {
                self.events.push(Event::NoMajority {
                    candidates: candidates.iter().map(|c| c.key).collect(),
                });
            }
            if self.cfg.oneshot && (timed_out || self.warmed_up()) {
                let reason = if candidates.is_empty() {
                    if self.sources.is_empty() {
                        "no servers"
                    } else {
                        "no server answered"
                    }
                } else {
                    "the servers disagree: no majority"
                };
                self.finish(Outcome::NoMeasurement {
                    reason: reason.into(),
                });
            }
            return;
        };
        let peer_at = candidates
            .iter()
            .find(|c| c.key == sel.survivors[0])
            .map_or(now, |c| c.estimate.at);
        if !first && !self.warming && peer_at <= self.last_update_sample {
            return;
        }
        self.last_update_sample = peer_at;
        self.warming = false;
        let decision = self.discipline.decide(sel.offset, now);
        let dry = self.cfg.dry_run;
        let mut offset_event = Event::Offset {
            offset: sel.offset,
            jitter: sel.jitter,
            sources: sel.survivors.clone(),
            falsetickers: sel.falsetickers.clone(),
            action: "",
            poll: self.poll_interval(),
            dry_run: dry,
        };
        let set_action = |e: &mut Event, a: &'static str| {
            if let Event::Offset { action, .. } = e {
                *action = a;
            }
        };
        match decision {
            Decision::Panic(offset) => {
                set_action(&mut offset_event, "panic");
                self.events.push(offset_event);
                self.events.push(Event::Panic {
                    offset,
                    threshold: self.cfg.discipline.panic_threshold.unwrap_or(f64::INFINITY),
                    dry_run: dry,
                });
                if !dry {
                    self.finish(Outcome::Panic { offset });
                } else if self.cfg.oneshot {
                    self.finish(Outcome::Synced { offset });
                }
            }
            Decision::Step(offset) => {
                set_action(&mut offset_event, "step");
                self.events.push(offset_event);
                if !dry {
                    if let Err(e) = clock.step(offset) {
                        return self.clock_failed(e.to_string());
                    }
                }
                self.events.push(Event::Step {
                    offset,
                    dry_run: dry,
                });
                if self.cfg.oneshot {
                    return self.finish(Outcome::Synced { offset });
                }
                if !dry {
                    self.after_step(now);
                }
            }
            Decision::Slew(offset) => {
                set_action(
                    &mut offset_event,
                    if self.cfg.oneshot {
                        "slew-once"
                    } else {
                        "slew"
                    },
                );
                self.events.push(offset_event);
                if self.cfg.oneshot {
                    if !dry {
                        if let Err(e) = clock.slew_once(offset) {
                            return self.clock_failed(e.to_string());
                        }
                    }
                    return self.finish(Outcome::Synced { offset });
                }
                if !dry {
                    let adj = Adjustment {
                        offset,
                        time_constant: self.sys_poll,
                        leap: sel.leap,
                        est_error: sel.jitter,
                        max_error: sel.distance.max(MIN_DISTANCE),
                    };
                    if let Err(e) = clock.discipline(&adj) {
                        return self.clock_failed(e.to_string());
                    }
                }
                if sel.leap != self.leap {
                    self.leap = sel.leap;
                    self.events.push(Event::Leap { leap: sel.leap });
                }
                self.adapt_poll(offset, sel.jitter);
            }
            Decision::Spike { .. } => {
                set_action(&mut offset_event, "spike");
                self.events.push(offset_event);
            }
        }
    }

    /// After a step, every sample is stale: clear the filters and sample again in a burst.
    fn after_step(&mut self, now: f64) {
        for s in &mut self.sources {
            s.filter.clear();
            s.burst_left = self.cfg.burst;
            s.next_poll = now;
            if let Some(p) = s.pending.take() {
                self.actions.push(Action::Close(p.id));
            }
        }
        self.last_update_sample = now;
        self.warming = true;
    }

    /// ntpd's poll adjustment: offsets well inside the jitter lengthen the poll, larger ones
    /// shorten it.
    fn adapt_poll(&mut self, offset: f64, jitter: f64) {
        let before = self.sys_poll;
        if offset.abs() < 4.0 * jitter.max(MIN_DISTANCE / 4.0) {
            self.poll_count += 1;
            if self.poll_count >= 4 {
                self.poll_count = 0;
                self.sys_poll = (self.sys_poll + 1).min(self.cfg.maxpoll);
            }
        } else {
            self.poll_count -= 2;
            if self.poll_count <= -4 {
                self.poll_count = 0;
                self.sys_poll = self.sys_poll.saturating_sub(1).max(self.cfg.minpoll);
            }
        }
        if self.sys_poll != before {
            self.events.push(Event::Poll {
                interval: self.poll_interval(),
            });
        }
    }

    fn clock_failed(&mut self, error: String) {
        self.events.push(Event::ClockFailed {
            error: error.clone(),
        });
        self.finish(Outcome::ClockFailed { error });
    }

    fn finish(&mut self, outcome: Outcome) {
        self.finished = true;
        for s in &mut self.sources {
            if let Some(p) = s.pending.take() {
                self.actions.push(Action::Close(p.id));
            }
        }
        self.actions.push(Action::Exit(outcome));
    }

    pub fn is_finished(&self) -> bool {
        self.finished
    }
}

#[cfg(test)]
mod tests;
