//! IPv6 router discovery and SLAAC for one interface, without I/O: when to
//! send router solicitations (RFC 4861 6.3.7, with RFC 7559's backoff), and
//! what each router advertisement installs and what its lifetimes remove
//! (RFC 4862 5.5.3: addresses; RFC 4861 6.3.4: default routers, on-link
//! prefixes and the MTU; RFC 4191: more-specific routes; RFC 8106: DNS).
//!
//! Like [`crate::client::Client`], it is fed events with the current
//! [`Instant`] and returns [`NdAction`]s; the daemon calls
//! [`Slaac::handle_timeout`] at [`Slaac::next_timeout`]. The kernel runs
//! duplicate address detection on the addresses it is given and the daemon
//! reports the outcome with [`Slaac::dad_result`].

use std::net::Ipv6Addr;
use std::time::Duration;

use crate::client::Level;
use crate::ra::{self, Preference, RouterAdvert, INFINITE};
use crate::slaac::{self, SlaacMode, StableInputs};
use crate::time::{Instant, Rng};

/// RFC 4861 10: a random delay of up to this before the first solicitation.
const MAX_RTR_SOLICITATION_DELAY: Duration = Duration::from_secs(1);
/// The first solicitations go this far apart (RTR_SOLICITATION_INTERVAL)...
const RTR_SOLICITATION_INTERVAL: Duration = Duration::from_secs(4);
/// ...this many of them (MAX_RTR_SOLICITATIONS); then RFC 7559's backoff,
/// doubling up to an hour.
const MAX_RTR_SOLICITATIONS: u32 = 3;
const MAX_RTR_SOLICITATION_INTERVAL: Duration = Duration::from_secs(3600);
/// RFC 4862 5.5.3 (e): a valid lifetime is shortened to no less than this by
/// an unauthenticated advertisement.
const TWO_HOURS: Duration = Duration::from_secs(2 * 3600);
/// The smallest IPv6 MTU (RFC 8200 5).
const MIN_MTU: u32 = 1280;

/// What the daemon must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NdAction {
    /// Send this router solicitation to ff02::2.
    Solicit(Vec<u8>),
    /// Add (or update the lifetimes of) an address; the kernel runs DAD on
    /// a new one. `None` lifetimes are infinite.
    AddAddress {
        address: Ipv6Addr,
        valid: Option<Duration>,
        preferred: Option<Duration>,
    },
    RemoveAddress(Ipv6Addr),
    /// A route out of this interface; `via` None for an on-link prefix.
    AddRoute(Route),
    RemoveRoute(Route),
    SetMtu(u32),
    /// The DNS servers and search domains the routers give now changed.
    Dns {
        servers: Vec<Ipv6Addr>,
        domains: Vec<String>,
    },
    /// M or O appeared: start DHCPv6 (`managed`: for addresses too).
    StartDhcp6 {
        managed: bool,
    },
    Log {
        level: Level,
        message: String,
    },
}

/// A route that router discovery installs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub destination: Ipv6Addr,
    pub prefix_len: u8,
    pub via: Option<Ipv6Addr>,
    pub preference: Preference,
}

impl Route {
    /// The same destination through the same next hop: one route, whatever
    /// its preference.
    pub fn same_path(&self, other: &Route) -> bool {
        self.destination == other.destination
            && self.prefix_len == other.prefix_len
            && self.via == other.via
    }
}

/// An address formed from an advertised prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Address {
    prefix: Ipv6Addr,
    address: Ipv6Addr,
    valid_until: Option<Instant>,
    preferred_until: Option<Instant>,
    dad_counter: u8,
}

/// Something with a lifetime: a router, a route, a DNS entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Timed<T> {
    what: T,
    until: Option<Instant>,
}

/// Settings from dhcpcd.conf and the interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaacConfig {
    pub interface: String,
    pub mac: [u8; 6],
    pub mode: SlaacMode,
    /// RFC 7217's secret key, kept in the lease folder.
    pub secret: Vec<u8>,
    /// The link's largest MTU; advertised ones above it are ignored.
    pub link_mtu: u32,
    /// The random delay before the first solicitation; off with dhcpcd's
    /// `nodelay`, as dhcpcd does.
    pub initial_delay: bool,
}

/// Router discovery and SLAAC for one interface.
#[derive(Debug, Clone)]
pub struct Slaac {
    cfg: SlaacConfig,
    rng: Rng,
    solicitations: u32,
    next_solicitation: Option<Instant>,
    interval: Duration,
    /// Every default router heard, in the order first heard.
    routers: Vec<Timed<Route>>,
    /// The one default route installed: the best router's (as dhcpcd,
    /// which installs one default route per interface and metric).
    default_route: Option<Route>,
    /// Routers the kernel's neighbour discovery found unreachable, until
    /// they answer or advertise again.
    unreachable: Vec<Ipv6Addr>,
    routes: Vec<Timed<Route>>,
    addresses: Vec<Address>,
    dns: Vec<Timed<Ipv6Addr>>,
    domains: Vec<Timed<String>>,
    mtu: Option<u32>,
    dhcp6: Option<bool>,
}

impl Slaac {
    pub fn new(cfg: SlaacConfig, seed: u64) -> Slaac {
        Slaac {
            cfg,
            rng: Rng::new(seed),
            solicitations: 0,
            next_solicitation: None,
            interval: RTR_SOLICITATION_INTERVAL,
            routers: Vec::new(),
            default_route: None,
            unreachable: Vec::new(),
            routes: Vec::new(),
            addresses: Vec::new(),
            dns: Vec::new(),
            domains: Vec::new(),
            mtu: None,
            dhcp6: None,
        }
    }

    /// Starts soliciting, after a random delay of up to a second (unless
    /// `initial_delay` is off).
    pub fn start(&mut self, now: Instant) {
        self.solicitations = 0;
        self.interval = RTR_SOLICITATION_INTERVAL;
        let most = match self.cfg.initial_delay {
            true => MAX_RTR_SOLICITATION_DELAY.as_millis() as u64,
            false => 0,
        };
        let wait = Duration::from_millis(self.rng.below(most));
        self.next_solicitation = Some(now + wait);
    }

    /// The addresses formed so far (tentative ones included).
    pub fn addresses(&self) -> Vec<Ipv6Addr> {
        self.addresses.iter().map(|a| a.address).collect()
    }

    pub fn next_timeout(&self) -> Option<Instant> {
        let lifetimes = self
            .addresses
            .iter()
            .map(|a| a.valid_until)
            .chain(self.routers.iter().map(|r| r.until))
            .chain(self.routes.iter().map(|r| r.until))
            .chain(self.dns.iter().map(|d| d.until))
            .chain(self.domains.iter().map(|d| d.until));
        lifetimes.chain([self.next_solicitation]).flatten().min()
    }

    pub fn handle_timeout(&mut self, now: Instant) -> Vec<NdAction> {
        let mut out = Vec::new();
        if self.next_solicitation.is_some_and(|t| now >= t) {
            self.solicit(now, &mut out);
        }
        self.expire(now, &mut out);
        out
    }

    fn solicit(&mut self, now: Instant, out: &mut Vec<NdAction>) {
        out.push(NdAction::Solicit(ra::solicitation(Some(self.cfg.mac))));
        self.solicitations += 1;
        if self.solicitations >= MAX_RTR_SOLICITATIONS {
            if self.solicitations == MAX_RTR_SOLICITATIONS {
                log(
                    out,
                    Level::Info,
                    "event=solicit result=no-router action=backoff".into(),
                );
            }
            // RFC 7559 2: double, with up to 10% of jitter either way.
            let base = self.interval.as_millis() as u64;
            let jitter = self.rng.below(base / 5 + 1);
            self.interval = (self.interval * 2).min(MAX_RTR_SOLICITATION_INTERVAL);
            let wait = Duration::from_millis(base + jitter - base / 10);
            self.next_solicitation = Some(now + wait.min(MAX_RTR_SOLICITATION_INTERVAL));
        } else {
            self.next_solicitation = Some(now + RTR_SOLICITATION_INTERVAL);
        }
    }

    /// An advertisement that passed [`ra::parse`].
    pub fn handle_ra(&mut self, now: Instant, adv: &RouterAdvert) -> Vec<NdAction> {
        let mut out = Vec::new();
        // A router answered: stop soliciting.
        self.next_solicitation = None;
        let dns_before = self.dns_view();

        let router = Route {
            destination: Ipv6Addr::UNSPECIFIED,
            prefix_len: 0,
            via: Some(adv.router),
            preference: adv.preference,
        };
        // A zero lifetime: not (or no longer) a default router.
        let router_until =
            (!adv.router_lifetime.is_zero()).then(|| Some(now + adv.router_lifetime));
        // An advertisement shows the router is there.
        self.unreachable.retain(|r| *r != adv.router);
        let known = self.routers.iter().any(|r| r.what.same_path(&router));
        match (known, router_until.is_some()) {
            (false, true) => log(
                &mut out,
                Level::Info,
                format!(
                    "event=router address={} preference={} lifetime={}",
                    adv.router,
                    preference_name(adv.preference),
                    adv.router_lifetime.as_secs()
                ),
            ),
            (true, false) => log(
                &mut out,
                Level::Info,
                format!("event=router address={} action=withdrawn", adv.router),
            ),
            _ => {}
        }
        set_timed_by(&mut self.routers, router, router_until, Route::same_path);
        self.install_default_route(&mut out);

        for p in &adv.prefixes {
            if p.on_link && !ra::is_link_local(p.prefix) {
                let route = Route {
                    destination: p.prefix,
                    prefix_len: p.prefix_len,
                    via: None,
                    preference: Preference::Medium,
                };
                let until = until(now, p.valid_lifetime);
                update(
                    &mut self.routes,
                    route,
                    nonzero(p.valid_lifetime, until),
                    &mut out,
                );
            }
            if p.autonomous {
                self.autoconfigure(now, p, &mut out);
            }
        }
        // A default route comes only from the header's router lifetime, so
        // that one router's alone is installed; a ::/0 route option would
        // bypass that choice.
        for r in adv.routes.iter().filter(|r| r.prefix_len > 0) {
            let route = Route {
                destination: r.prefix,
                prefix_len: r.prefix_len,
                via: Some(adv.router),
                preference: r.preference,
            };
            update(
                &mut self.routes,
                route,
                nonzero(r.lifetime, until(now, r.lifetime)),
                &mut out,
            );
        }
        if let Some(mtu) = adv.mtu {
            if (MIN_MTU..=self.cfg.link_mtu).contains(&mtu) && self.mtu != Some(mtu) {
                self.mtu = Some(mtu);
                out.push(NdAction::SetMtu(mtu));
            }
        }
        for (server, lifetime) in &adv.dns_servers {
            let u = until(now, *lifetime);
            set_timed(&mut self.dns, *server, nonzero(*lifetime, u));
        }
        for (domain, lifetime) in &adv.search_domains {
            let u = until(now, *lifetime);
            set_timed(&mut self.domains, domain.clone(), nonzero(*lifetime, u));
        }
        self.report_dns(dns_before, &mut out);

        let wants = if adv.managed {
            Some(true)
        } else {
            adv.other.then_some(false)
        };
        if let Some(managed) = wants {
            if self.dhcp6.is_none_or(|m| managed && !m) {
                self.dhcp6 = Some(managed);
                out.push(NdAction::StartDhcp6 { managed });
            }
        }
        out
    }

    /// RFC 4862 5.5.3 for a prefix with the A flag.
    fn autoconfigure(&mut self, now: Instant, p: &ra::PrefixInfo, out: &mut Vec<NdAction>) {
        if ra::is_link_local(p.prefix) || p.preferred_lifetime > p.valid_lifetime {
            return; // (b), (c)
        }
        if p.prefix_len != slaac::PREFIX_LEN {
            log(
                out,
                Level::Warn,
                format!(
                    "event=slaac prefix={}/{} error=\"not a /64\"",
                    p.prefix, p.prefix_len
                ),
            );
            return;
        }
        let preferred = until(now, p.preferred_lifetime);
        if let Some(i) = self.addresses.iter().position(|a| a.prefix == p.prefix) {
            // (e): a valid lifetime shrinks only to two hours, unless it is
            // longer than what is left.
            let a = &mut self.addresses[i];
            let left = a.valid_until.map(|t| t.saturating_duration_since(now));
            let offered = lifetime(p.valid_lifetime);
            let valid = match (offered, left) {
                (None, _) => None,
                (Some(o), Some(l)) if o > TWO_HOURS || o > l => Some(o),
                (Some(_), Some(l)) if l <= TWO_HOURS => Some(l),
                (Some(_), _) => Some(TWO_HOURS),
            };
            a.valid_until = valid.map(|v| now + v);
            a.preferred_until = preferred;
            let action = add_action(a, now);
            out.push(action);
            return;
        }
        if p.valid_lifetime == 0 {
            return;
        }
        self.form(
            now,
            p.prefix,
            until(now, p.valid_lifetime),
            preferred,
            0,
            out,
        );
    }

    fn form(
        &mut self,
        now: Instant,
        prefix: Ipv6Addr,
        valid_until: Option<Instant>,
        preferred_until: Option<Instant>,
        dad_counter: u8,
        out: &mut Vec<NdAction>,
    ) {
        let stable = StableInputs {
            interface: &self.cfg.interface,
            network_id: b"",
            secret: &self.cfg.secret,
        };
        let Some(address) =
            slaac::address(prefix, self.cfg.mode, self.cfg.mac, &stable, dad_counter)
        else {
            log(
                out,
                Level::Warn,
                format!("event=slaac prefix={prefix}/64 error=\"no usable address\""),
            );
            return;
        };
        let a = Address {
            prefix,
            address,
            valid_until,
            preferred_until,
            dad_counter,
        };
        log(
            out,
            Level::Info,
            format!("event=slaac address={address} state=tentative"),
        );
        out.push(add_action(&a, now));
        self.addresses.push(a);
    }

    /// The kernel's DAD verdict on `address`: a duplicate is removed and,
    /// for RFC 7217 addresses, another is tried (RFC 7217 6) up to
    /// IDGEN_RETRIES times.
    pub fn dad_result(
        &mut self,
        now: Instant,
        address: Ipv6Addr,
        duplicate: bool,
    ) -> Vec<NdAction> {
        let mut out = Vec::new();
        let Some(i) = self.addresses.iter().position(|a| a.address == address) else {
            return out;
        };
        if !duplicate {
            log(
                &mut out,
                Level::Info,
                format!("event=slaac address={address} state=preferred"),
            );
            return out;
        }
        let a = self.addresses.remove(i);
        out.push(NdAction::RemoveAddress(address));
        let retry = self.cfg.mode == SlaacMode::Private && a.dad_counter < slaac::IDGEN_RETRIES;
        log(
            &mut out,
            Level::Warn,
            format!(
                "event=dad address={address} result=duplicate action={}",
                if retry { "next" } else { "give-up" }
            ),
        );
        if retry {
            self.form(
                now,
                a.prefix,
                a.valid_until,
                a.preferred_until,
                a.dad_counter + 1,
                &mut out,
            );
        }
        out
    }

    /// Removes everything whose lifetime ended. Addresses past their
    /// preferred lifetime are deprecated by the kernel, from the lifetimes
    /// it was given.
    fn expire(&mut self, now: Instant, out: &mut Vec<NdAction>) {
        let gone = |until: Option<Instant>| until.is_some_and(|t| now >= t);
        let dns_before = self.dns_view();
        self.addresses.retain(|a| {
            if gone(a.valid_until) {
                out.push(NdAction::RemoveAddress(a.address));
                return false;
            }
            true
        });
        self.routers.retain(|r| {
            if gone(r.until) {
                let via = r.what.via.unwrap_or(Ipv6Addr::UNSPECIFIED);
                let message = format!("event=router address={via} action=expired");
                out.push(NdAction::Log {
                    level: Level::Info,
                    message,
                });
                return false;
            }
            true
        });
        self.install_default_route(out);
        self.routes.retain(|r| {
            if gone(r.until) {
                out.push(NdAction::RemoveRoute(r.what.clone()));
                return false;
            }
            true
        });
        self.dns.retain(|d| !gone(d.until));
        self.domains.retain(|d| !gone(d.until));
        self.report_dns(dns_before, out);
    }

    /// Installs the best live router's default route (highest preference,
    /// then the first heard) in place of the one installed, if it changed.
    /// The new route goes on before the old comes off, so that a default
    /// route is always there.
    fn install_default_route(&mut self, out: &mut Vec<NdAction>) {
        let best = self
            .routers
            .iter()
            .rev()
            .max_by_key(|r| {
                let reachable = !r.what.via.is_some_and(|v| self.unreachable.contains(&v));
                (reachable, r.what.preference)
            })
            .map(|r| r.what.clone());
        if best == self.default_route {
            return;
        }
        if let Some(b) = &best {
            out.push(NdAction::AddRoute(b.clone()));
        }
        if let Some(old) = self.default_route.take() {
            if best.as_ref().is_none_or(|b| !b.same_path(&old)) {
                out.push(NdAction::RemoveRoute(old));
            }
        }
        self.default_route = best;
    }

    fn dns_view(&self) -> (Vec<Ipv6Addr>, Vec<String>) {
        (
            self.dns.iter().map(|d| d.what).collect(),
            self.domains.iter().map(|d| d.what.clone()).collect(),
        )
    }

    fn report_dns(&self, before: (Vec<Ipv6Addr>, Vec<String>), out: &mut Vec<NdAction>) {
        let (servers, domains) = self.dns_view();
        if (servers.clone(), domains.clone()) != before {
            out.push(NdAction::Dns { servers, domains });
        }
    }

    /// What the kernel's neighbour discovery says of `address` (RFC 4861
    /// 7.3): a default router found unreachable gives the default route to
    /// the best reachable one, as dhcpcd does, and takes it back once it
    /// answers again.
    pub fn neighbour(&mut self, address: Ipv6Addr, reachable: bool) -> Vec<NdAction> {
        let mut out = Vec::new();
        if !self.routers.iter().any(|r| r.what.via == Some(address)) {
            return out;
        }
        let marked = self.unreachable.contains(&address);
        // Nothing new: reachable and not marked, or unreachable and marked.
        if reachable != marked {
            return out;
        }
        if reachable {
            self.unreachable.retain(|r| *r != address);
        } else {
            self.unreachable.push(address);
        }
        let state = if reachable {
            "reachable"
        } else {
            "unreachable"
        };
        log(
            &mut out,
            Level::Info,
            format!("event=router address={address} state={state}"),
        );
        self.install_default_route(&mut out);
        out
    }

    /// Takes off everything router discovery installed (on exit, carrier
    /// loss or `noipv6rs`).
    pub fn stop(&mut self) -> Vec<NdAction> {
        let mut out: Vec<NdAction> = self
            .addresses
            .drain(..)
            .map(|a| NdAction::RemoveAddress(a.address))
            .collect();
        self.routers.clear();
        self.unreachable.clear();
        for r in self.routes.drain(..) {
            out.push(NdAction::RemoveRoute(r.what));
        }
        if let Some(r) = self.default_route.take() {
            out.push(NdAction::RemoveRoute(r));
        }
        if !self.dns.is_empty() || !self.domains.is_empty() {
            self.dns.clear();
            self.domains.clear();
            out.push(NdAction::Dns {
                servers: Vec::new(),
                domains: Vec::new(),
            });
        }
        self.next_solicitation = None;
        self.dhcp6 = None;
        self.mtu = None;
        out
    }
}

fn preference_name(p: Preference) -> &'static str {
    match p {
        Preference::High => "high",
        Preference::Medium => "medium",
        Preference::Low => "low",
    }
}

fn log(out: &mut Vec<NdAction>, level: Level, message: String) {
    out.push(NdAction::Log { level, message });
}

/// A lifetime in seconds as a duration; `None` for infinity.
fn lifetime(secs: u32) -> Option<Duration> {
    (secs != INFINITE).then(|| Duration::from_secs(secs.into()))
}

fn until(now: Instant, secs: u32) -> Option<Instant> {
    lifetime(secs).map(|l| now + l)
}

/// `Some(until)` for a lifetime above zero, and `None` (remove) for zero;
/// the inner `None` is forever.
fn nonzero(secs: u32, until: Option<Instant>) -> Option<Option<Instant>> {
    (secs != 0).then_some(until)
}

fn add_action(a: &Address, now: Instant) -> NdAction {
    NdAction::AddAddress {
        address: a.address,
        valid: a.valid_until.map(|t| t.saturating_duration_since(now)),
        preferred: a.preferred_until.map(|t| t.saturating_duration_since(now)),
    }
}

/// Sets, refreshes or (with `None`) removes a timed route, saying what to
/// install or remove.
fn update(
    list: &mut Vec<Timed<Route>>,
    what: Route,
    until: Option<Option<Instant>>,
    out: &mut Vec<NdAction>,
) {
    match (list.iter().position(|r| r.what.same_path(&what)), until) {
        (Some(i), Some(u)) => {
            let changed = list[i].what.preference != what.preference;
            list[i] = Timed {
                what: what.clone(),
                until: u,
            };
            if changed {
                out.push(NdAction::AddRoute(what));
            }
        }
        (Some(i), None) => out.push(NdAction::RemoveRoute(list.remove(i).what)),
        (None, Some(u)) => {
            out.push(NdAction::AddRoute(what.clone()));
            list.push(Timed { what, until: u });
        }
        (None, None) => {}
    }
}

/// Sets, refreshes or (with `None`) removes a timed entry.
fn set_timed<T: PartialEq>(list: &mut Vec<Timed<T>>, what: T, until: Option<Option<Instant>>) {
    set_timed_by(list, what, until, |a, b| a == b);
}

/// [`set_timed`], with `same` telling which entry `what` replaces.
fn set_timed_by<T>(
    list: &mut Vec<Timed<T>>,
    what: T,
    until: Option<Option<Instant>>,
    same: impl Fn(&T, &T) -> bool,
) {
    let i = list.iter().position(|d| same(&d.what, &what));
    match (i, until) {
        (Some(i), Some(u)) => list[i] = Timed { what, until: u },
        (Some(i), None) => {
            list.remove(i);
        }
        (None, Some(u)) => list.push(Timed { what, until: u }),
        (None, None) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ra::{PrefixInfo, RouteInfo};

    const MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
    const ROUTER: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn t(secs: u64) -> Instant {
        Instant::from_secs(secs)
    }

    fn slaac(mode: SlaacMode) -> Slaac {
        Slaac::new(
            SlaacConfig {
                interface: "eth0".into(),
                mac: MAC,
                mode,
                secret: vec![7; slaac::SECRET_LEN],
                link_mtu: 1500,
                initial_delay: true,
            },
            1,
        )
    }

    #[test]
    fn nodelay_solicits_at_once() {
        let mut s = slaac(SlaacMode::Hwaddr);
        s.cfg.initial_delay = false;
        s.start(t(3));
        assert_eq!(s.next_timeout(), Some(t(3)));
        let out = s.handle_timeout(t(3));
        assert!(matches!(out[0], NdAction::Solicit(_)), "{out:?}");
    }

    fn prefix(p: &str, valid: u32, preferred: u32) -> PrefixInfo {
        PrefixInfo {
            prefix: a(p),
            prefix_len: 64,
            on_link: true,
            autonomous: true,
            valid_lifetime: valid,
            preferred_lifetime: preferred,
        }
    }

    fn advert(prefixes: Vec<PrefixInfo>) -> RouterAdvert {
        RouterAdvert {
            router: ROUTER,
            router_lifetime: Duration::from_secs(1800),
            managed: false,
            other: false,
            preference: Preference::Medium,
            source_mac: None,
            mtu: None,
            prefixes,
            routes: Vec::new(),
            dns_servers: Vec::new(),
            search_domains: Vec::new(),
        }
    }

    fn quiet(actions: Vec<NdAction>) -> Vec<NdAction> {
        actions
            .into_iter()
            .filter(|a| !matches!(a, NdAction::Log { .. }))
            .collect()
    }

    fn added(actions: &[NdAction]) -> Vec<(Ipv6Addr, Option<Duration>, Option<Duration>)> {
        actions
            .iter()
            .filter_map(|a| match a {
                NdAction::AddAddress {
                    address,
                    valid,
                    preferred,
                } => Some((*address, *valid, *preferred)),
                _ => None,
            })
            .collect()
    }

    fn default_route() -> Route {
        Route {
            destination: Ipv6Addr::UNSPECIFIED,
            prefix_len: 0,
            via: Some(ROUTER),
            preference: Preference::Medium,
        }
    }

    #[test]
    fn solicits_three_times_then_backs_off_until_a_router_answers() {
        let mut s = slaac(SlaacMode::Hwaddr);
        s.start(t(100));
        let mut sent = Vec::new();
        while sent.len() < 10 {
            let now = s.next_timeout().unwrap();
            let acts = s.handle_timeout(now);
            if acts.iter().any(|a| matches!(a, NdAction::Solicit(_))) {
                sent.push(now);
            }
        }
        assert!(sent[0] <= t(101));
        let gaps: Vec<f64> = sent
            .windows(2)
            .map(|w| (w[1].as_duration() - w[0].as_duration()).as_secs_f64())
            .collect();
        assert_eq!(&gaps[..2], [4.0, 4.0]);
        // Then doubling from 4 s, +-10%.
        for (i, g) in gaps[2..].iter().enumerate() {
            let base = 4.0 * f64::from(1u32 << i);
            assert!(*g >= base * 0.9 && *g <= base * 1.1, "gap {i}: {g}");
        }
        // An advertisement ends it.
        s.handle_ra(*sent.last().unwrap(), &advert(vec![]));
        assert!(s.next_timeout().unwrap() > *sent.last().unwrap() + Duration::from_secs(1000));
        assert!(s.handle_timeout(t(100)).is_empty());
    }

    #[test]
    fn an_advertisement_installs_address_routes_mtu_dns_and_dhcp6() {
        let mut s = slaac(SlaacMode::Hwaddr);
        let mut adv = advert(vec![prefix("2001:db8:1:2::", 7200, 3600)]);
        adv.mtu = Some(1400);
        adv.other = true;
        adv.routes.push(RouteInfo {
            prefix: a("2001:db8:99::"),
            prefix_len: 48,
            preference: Preference::High,
            lifetime: 600,
        });
        adv.dns_servers.push((a("2001:db8::53"), 600));
        adv.search_domains.push(("example.test".into(), 600));
        let acts = quiet(s.handle_ra(t(0), &adv));
        let address = a("2001:db8:1:2:5054:ff:fe12:3456");
        assert_eq!(
            acts,
            [
                NdAction::AddRoute(default_route()),
                NdAction::AddRoute(Route {
                    destination: a("2001:db8:1:2::"),
                    prefix_len: 64,
                    via: None,
                    preference: Preference::Medium,
                }),
                NdAction::AddAddress {
                    address,
                    valid: Some(Duration::from_secs(7200)),
                    preferred: Some(Duration::from_secs(3600)),
                },
                NdAction::AddRoute(Route {
                    destination: a("2001:db8:99::"),
                    prefix_len: 48,
                    via: Some(ROUTER),
                    preference: Preference::High,
                }),
                NdAction::SetMtu(1400),
                NdAction::Dns {
                    servers: vec![a("2001:db8::53")],
                    domains: vec!["example.test".into()],
                },
                NdAction::StartDhcp6 { managed: false },
            ]
        );
        assert_eq!(s.addresses(), [address]);
        // The same advertisement again changes nothing but the lifetimes.
        let again = quiet(s.handle_ra(t(10), &adv));
        assert_eq!(
            added(&again),
            [(
                address,
                Some(Duration::from_secs(7200)),
                Some(Duration::from_secs(3600))
            )]
        );
        assert_eq!(again.len(), 1, "{again:?}");
        // M later: DHCPv6 for addresses too, once.
        adv.managed = true;
        assert!(quiet(s.handle_ra(t(20), &adv)).contains(&NdAction::StartDhcp6 { managed: true }));
        assert!(!quiet(s.handle_ra(t(30), &adv))
            .iter()
            .any(|a| matches!(a, NdAction::StartDhcp6 { .. })));
    }

    #[test]
    fn lifetimes_that_end_remove_what_they_installed() {
        let mut s = slaac(SlaacMode::Hwaddr);
        let mut adv = advert(vec![prefix("2001:db8:1:2::", 100, 50)]);
        adv.router_lifetime = Duration::from_secs(30);
        adv.dns_servers.push((a("2001:db8::53"), 60));
        s.handle_ra(t(0), &adv);
        let mut removed = Vec::new();
        while let Some(now) = s.next_timeout() {
            for act in quiet(s.handle_timeout(now)) {
                removed.push((now, act));
            }
        }
        let address = a("2001:db8:1:2:5054:ff:fe12:3456");
        assert_eq!(
            removed,
            [
                (t(30), NdAction::RemoveRoute(default_route())),
                (
                    t(60),
                    NdAction::Dns {
                        servers: vec![],
                        domains: vec![]
                    }
                ),
                (t(100), NdAction::RemoveAddress(address)),
                (
                    t(100),
                    NdAction::RemoveRoute(Route {
                        destination: a("2001:db8:1:2::"),
                        prefix_len: 64,
                        via: None,
                        preference: Preference::Medium,
                    })
                ),
            ]
        );
        assert!(s.addresses().is_empty());
    }

    #[test]
    fn only_the_best_routers_default_route_is_installed() {
        let mut s = slaac(SlaacMode::Hwaddr);
        let other = a("fe80::2");
        let via = |router, preference| Route {
            via: Some(router),
            preference,
            ..default_route()
        };
        let from = |router, preference, lifetime| RouterAdvert {
            router,
            preference,
            router_lifetime: Duration::from_secs(lifetime),
            ..advert(vec![])
        };
        s.handle_ra(t(0), &from(ROUTER, Preference::Medium, 100));
        // A second router of the same preference: the first keeps the route,
        // also against a ::/0 route option.
        let mut second = from(other, Preference::Medium, 300);
        second.routes.push(RouteInfo {
            prefix: Ipv6Addr::UNSPECIFIED,
            prefix_len: 0,
            preference: Preference::High,
            lifetime: 300,
        });
        assert_eq!(quiet(s.handle_ra(t(1), &second)), []);
        // It turns high: its route goes on before the first one's comes off.
        assert_eq!(
            quiet(s.handle_ra(t(2), &from(other, Preference::High, 300))),
            [
                NdAction::AddRoute(via(other, Preference::High)),
                NdAction::RemoveRoute(default_route()),
            ]
        );
        // Withdrawn: the first router's route comes back.
        assert_eq!(
            quiet(s.handle_ra(t(3), &from(other, Preference::High, 0))),
            [
                NdAction::AddRoute(default_route()),
                NdAction::RemoveRoute(via(other, Preference::High)),
            ]
        );
        s.handle_ra(t(4), &from(other, Preference::Low, 300));
        // The first router's lifetime ends: the low one takes over.
        assert_eq!(
            quiet(s.handle_timeout(t(100))),
            [
                NdAction::AddRoute(via(other, Preference::Low)),
                NdAction::RemoveRoute(default_route()),
            ]
        );
        let removed: Vec<NdAction> = s
            .stop()
            .into_iter()
            .filter(|a| matches!(a, NdAction::RemoveRoute(_)))
            .collect();
        assert_eq!(
            removed,
            [NdAction::RemoveRoute(via(other, Preference::Low))]
        );
    }

    #[test]
    fn an_unreachable_router_gives_the_default_route_to_a_reachable_one() {
        let mut s = slaac(SlaacMode::Hwaddr);
        let other = a("fe80::2");
        let low = Route {
            via: Some(other),
            preference: Preference::Low,
            ..default_route()
        };
        s.handle_ra(t(0), &advert(vec![]));
        let mut second = advert(vec![]);
        second.router = other;
        second.preference = Preference::Low;
        s.handle_ra(t(1), &second);
        // Neighbours that are not routers, and news that changes nothing.
        assert!(s.neighbour(a("fe80::9"), false).is_empty());
        assert!(s.neighbour(ROUTER, true).is_empty());
        assert_eq!(
            quiet(s.neighbour(ROUTER, false)),
            [
                NdAction::AddRoute(low.clone()),
                NdAction::RemoveRoute(default_route())
            ]
        );
        assert!(s.neighbour(ROUTER, false).is_empty());
        // Both unreachable: preference decides again.
        assert_eq!(
            quiet(s.neighbour(other, false)),
            [
                NdAction::AddRoute(default_route()),
                NdAction::RemoveRoute(low.clone())
            ]
        );
        assert!(quiet(s.neighbour(other, true)).contains(&NdAction::AddRoute(low.clone())));
        // An advertisement from the first router makes it reachable again.
        assert!(quiet(s.handle_ra(t(2), &advert(vec![])))
            .contains(&NdAction::AddRoute(default_route())));
    }

    #[test]
    fn a_router_lifetime_of_zero_withdraws_the_default_route() {
        let mut s = slaac(SlaacMode::Hwaddr);
        s.handle_ra(t(0), &advert(vec![]));
        let mut adv = advert(vec![]);
        adv.router_lifetime = Duration::ZERO;
        assert_eq!(
            quiet(s.handle_ra(t(5), &adv)),
            [NdAction::RemoveRoute(default_route())]
        );
        assert_eq!(quiet(s.handle_ra(t(6), &adv)), []);
    }

    #[test]
    fn valid_lifetimes_follow_the_two_hour_rule() {
        let hours = |h: u64| Duration::from_secs(h * 3600);
        let mut s = slaac(SlaacMode::Hwaddr);
        let p = "2001:db8:1:2::";
        s.handle_ra(t(0), &advert(vec![prefix(p, 10 * 3600, 3600)]));
        let valid = |acts: Vec<NdAction>| added(&acts)[0].1;
        // 10 h left, 60 s offered: cut to two hours, not to 60 s.
        assert_eq!(
            valid(s.handle_ra(t(0), &advert(vec![prefix(p, 60, 30)]))),
            Some(hours(2))
        );
        // 2 h left, 60 s offered: kept.
        assert_eq!(
            valid(s.handle_ra(t(0), &advert(vec![prefix(p, 60, 30)]))),
            Some(hours(2))
        );
        // Longer than what is left: taken.
        assert_eq!(
            valid(s.handle_ra(t(0), &advert(vec![prefix(p, 5 * 3600, 30)]))),
            Some(hours(5))
        );
        assert_eq!(
            valid(s.handle_ra(t(0), &advert(vec![prefix(p, INFINITE, INFINITE)]))),
            None
        );
    }

    #[test]
    fn prefixes_slaac_must_ignore() {
        let mut s = slaac(SlaacMode::Hwaddr);
        let mut not64 = prefix("2001:db8:5::", 7200, 3600);
        not64.prefix_len = 56;
        let acts = s.handle_ra(
            t(0),
            &advert(vec![
                prefix("fe80::", 7200, 3600),
                prefix("2001:db8:1::", 60, 120),
                prefix("2001:db8:2::", 0, 0),
                not64,
            ]),
        );
        assert!(added(&acts).is_empty(), "{acts:?}");
        assert!(acts.iter().any(|a| matches!(a, NdAction::Log { level: Level::Warn, message } if message.contains("not a /64"))));
        assert!(s.addresses().is_empty());
    }

    #[test]
    fn a_duplicate_private_address_is_replaced_up_to_three_times() {
        let mut s = slaac(SlaacMode::Private);
        let acts = s.handle_ra(t(0), &advert(vec![prefix("2001:db8:1:2::", 7200, 3600)]));
        let mut current = added(&acts)[0].0;
        assert_ne!(current, a("2001:db8:1:2:5054:ff:fe12:3456"));
        let mut seen = vec![current];
        for _ in 0..slaac::IDGEN_RETRIES {
            let acts = quiet(s.dad_result(t(1), current, true));
            assert_eq!(acts[0], NdAction::RemoveAddress(current));
            let next = added(&acts)[0];
            // The new one keeps the prefix's lifetimes, less the time gone.
            assert_eq!(
                (next.1, next.2),
                (
                    Some(Duration::from_secs(7199)),
                    Some(Duration::from_secs(3599))
                )
            );
            assert!(!seen.contains(&next.0));
            current = next.0;
            seen.push(current);
        }
        let acts = s.dad_result(t(2), current, true);
        assert!(added(&acts).is_empty());
        assert!(acts.iter().any(
            |a| matches!(a, NdAction::Log { message, .. } if message.contains("action=give-up"))
        ));
        assert!(s.addresses().is_empty());
    }

    #[test]
    fn a_duplicate_hwaddr_address_is_given_up_and_a_good_one_kept() {
        let mut s = slaac(SlaacMode::Hwaddr);
        s.handle_ra(
            t(0),
            &advert(vec![
                prefix("2001:db8:1:2::", 7200, 3600),
                prefix("2001:db8:3:4::", 7200, 3600),
            ]),
        );
        let [first, second] = s.addresses()[..] else {
            panic!()
        };
        assert!(quiet(s.dad_result(t(1), second, false)).is_empty());
        assert_eq!(
            quiet(s.dad_result(t(1), first, true)),
            [NdAction::RemoveAddress(first)]
        );
        assert_eq!(s.addresses(), [second]);
        // A verdict on an address we do not hold means nothing.
        assert!(s.dad_result(t(1), a("2001:db8::1"), true).is_empty());
    }

    #[test]
    fn advertised_mtus_outside_the_link_are_ignored() {
        let mut s = slaac(SlaacMode::Hwaddr);
        for (mtu, taken) in [
            (1000, false),
            (9000, false),
            (1280, true),
            (1280, false),
            (1500, true),
        ] {
            let mut adv = advert(vec![]);
            adv.mtu = Some(mtu);
            assert_eq!(
                quiet(s.handle_ra(t(0), &adv)).contains(&NdAction::SetMtu(mtu)),
                taken,
                "{mtu}"
            );
        }
    }

    #[test]
    fn stop_takes_everything_off() {
        let mut s = slaac(SlaacMode::Hwaddr);
        let mut adv = advert(vec![prefix("2001:db8:1:2::", 7200, 3600)]);
        adv.dns_servers.push((a("2001:db8::53"), 600));
        adv.mtu = Some(1400);
        s.handle_ra(t(0), &adv);
        let acts = s.stop();
        assert_eq!(
            acts.iter()
                .filter(|a| matches!(a, NdAction::RemoveAddress(_)))
                .count(),
            1
        );
        assert_eq!(
            acts.iter()
                .filter(|a| matches!(a, NdAction::RemoveRoute(_)))
                .count(),
            2
        );
        assert!(acts.contains(&NdAction::Dns {
            servers: vec![],
            domains: vec![]
        }));
        assert_eq!(s.next_timeout(), None);
        assert!(s.stop().is_empty());
        // After a carrier flap the same advertisement sets the MTU again.
        s.start(t(10));
        assert!(s.handle_ra(t(11), &adv).contains(&NdAction::SetMtu(1400)));
    }
}
