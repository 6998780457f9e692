//! One interface's IPv6, in a task of its own beside the DHCPv4 one: router
//! solicitation and SLAAC ([`Slaac`]) and DHCPv6 ([`Dhcp6`]), the addresses
//! and routes they ask for through rtnetlink, and the kernel's DAD verdicts
//! fed back to them. Nothing here stops the daemon: a failure is logged and
//! IPv6 goes without.

use std::collections::HashMap;
use std::net::{Ipv6Addr, SocketAddrV6};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::iface::Ctrl;
use super::log::{log, quote, Level};
use super::net::Net;
use super::net6::{self, show_route6, Addr6, Dad, Ipv6Event};
use super::sys::{dhcp6_socket, Icmp6Socket};
use super::{Event, Family, Shared, SourceKind};
use crate::dhcp6::{self, Dhcp6, Dhcp6Action, Dhcp6Config, Duid, Mode};
use crate::files::Source;
use crate::nd::{NdAction, Route, Slaac, SlaacConfig};
use crate::ra;
use crate::slaac::{SlaacMode, SECRET_LEN};
use crate::time::Instant;

/// What dhcpcd.conf says about IPv6 on this interface.
#[derive(Debug, Clone)]
pub struct Ipv6Settings {
    pub slaac: SlaacMode,
    /// Solicit routers and follow their advertisements.
    pub ipv6rs: bool,
    /// `nodhcp6` turns this off: no DHCPv6 at all.
    pub dhcp6: bool,
    /// `ia_na`: ask DHCPv6 for an address from the start.
    pub ia_na_forced: bool,
    pub iaid: u32,
    /// Leave the addresses in place on exit.
    pub persistent: bool,
    /// `release`: release the DHCPv6 addresses on exit.
    pub release: bool,
    /// The random delays before the first solicitation and DHCPv6 message
    /// (off with `nodelay`).
    pub initial_delay: bool,
}

/// The interface as the task needs it.
#[derive(Clone)]
pub struct Ipv6Iface {
    pub name: String,
    pub index: u32,
    pub mac: [u8; 6],
    pub mtu: u32,
    pub shared: Arc<Shared>,
    pub settings: Ipv6Settings,
    pub seed: u64,
}

/// How long to wait before opening the DHCPv6 socket again.
const DHCP6_RETRY: std::time::Duration = std::time::Duration::from_secs(10);

/// Who asked for an address, so the kernel's DAD verdict goes back there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Slaac,
    Dhcp6,
}

/// The prefix length of each owner's addresses: SLAAC's come from /64s;
/// DHCPv6 gives single addresses.
fn prefix_len(owner: Owner) -> u8 {
    match owner {
        Owner::Slaac => crate::slaac::PREFIX_LEN,
        Owner::Dhcp6 => 128,
    }
}

struct Task {
    i: Ipv6Iface,
    net: Net,
    slaac: Slaac,
    icmp: Option<Icmp6Socket>,
    dhcp6: Option<(Dhcp6, UdpSocket)>,
    /// DHCPv6 is wanted but its socket could not be opened: when to try
    /// again, and for what.
    dhcp6_retry: Option<(Instant, Mode)>,
    duid: Option<Duid>,
    /// Addresses we added, by owner, and whether DAD has passed.
    addresses: HashMap<Ipv6Addr, (Owner, bool)>,
    routes: Vec<Route>,
    mtu: Option<u32>,
    /// Waiting for the link-local address that RS and DHCPv6 send from.
    waiting: bool,
    running: bool,
    configured: bool,
}

enum Wake {
    Ctrl(Option<Ctrl>),
    Net(Option<Ipv6Event>),
    Ra(std::io::Result<(usize, Ipv6Addr, u8)>),
    Dhcp6(std::io::Result<usize>),
    Timer,
}

/// Runs IPv6 on the interface until it is stopped or its control channel
/// closes.
pub async fn run(i: Ipv6Iface, carrier: bool, mut ctrl: mpsc::UnboundedReceiver<Ctrl>) {
    let name = i.name.clone();
    if !net6::ipv6_enabled(&i.name) {
        log(
            Level::Info,
            Some(&name),
            "event=ipv6 action=skip reason=\"IPv6 is disabled on the interface\"",
        );
        return;
    }
    // Subscribe before anything is added, so that no verdict is missed.
    let mut events = match Net::monitor6() {
        Ok(e) => e,
        Err(e) => return warn(&name, "ipv6", &format!("{e:#}")),
    };
    // Only while we follow advertisements ourselves.
    let kernel_ra = if i.settings.ipv6rs {
        net6::disable_kernel_ra(&i.name).unwrap_or_else(|e| {
            // The kernel then configures addresses of its own beside ours.
            warn(
                &name,
                "ipv6",
                &format!("cannot turn the kernel's accept_ra off: {e}"),
            );
            None
        })
    } else {
        None
    };
    let mut t = Task::new(i);
    if carrier {
        t.begin().await;
    }
    let removed = t.serve(&mut events, &mut ctrl).await;
    // With our addresses gone the kernel may follow advertisements again;
    // left in place (`persistent`), they stay ours alone.
    if let (Some(value), true) = (kernel_ra, removed) {
        if let Err(e) = net6::restore_kernel_ra(&name, &value) {
            warn(&name, "ipv6", &format!("cannot restore accept_ra: {e}"));
        }
    }
}

fn warn(name: &str, event: &str, error: &str) {
    log(
        Level::Warn,
        Some(name),
        format_args!("event={event} error={}", quote(error)),
    );
}

impl Task {
    fn new(i: Ipv6Iface) -> Task {
        let secret = load_secret(&i.shared.settings.lease_dir, &i.name, i.seed);
        let slaac = Slaac::new(
            SlaacConfig {
                interface: i.name.clone(),
                mac: i.mac,
                mode: i.settings.slaac,
                secret,
                link_mtu: i.mtu,
                initial_delay: i.settings.initial_delay,
            },
            i.seed,
        );
        Task {
            net: i.shared.net.clone(),
            slaac,
            icmp: None,
            dhcp6: None,
            dhcp6_retry: None,
            duid: None,
            addresses: HashMap::new(),
            routes: Vec::new(),
            mtu: None,
            waiting: false,
            running: false,
            configured: false,
            i,
        }
    }

    /// Serves until stopped, the link is gone, or the address monitor
    /// ends; says whether what we installed was taken off.
    async fn serve(
        &mut self,
        events: &mut mpsc::UnboundedReceiver<Ipv6Event>,
        ctrl: &mut mpsc::UnboundedReceiver<Ctrl>,
    ) -> bool {
        let name = self.i.name.clone();
        // Neighbor discovery messages are never fragmented (RFC 6980), so
        // an advertisement fits the link's MTU.
        let mut buf = vec![0u8; self.i.mtu.max(1280) as usize];
        // A DHCPv6 reply may be fragmented, up to 64 KiB. Filled without
        // zeroing first, so that only the pages a message uses are resident.
        let mut dbuf: Vec<u8> = Vec::with_capacity(65536);
        loop {
            let deadline = [
                self.slaac.next_timeout().filter(|_| self.running),
                self.dhcp6.as_ref().and_then(|(d, _)| d.next_timeout()),
                self.dhcp6_retry.map(|(at, _)| at),
            ]
            .into_iter()
            .flatten()
            .min();
            let origin = self.i.shared.origin;
            let wake = tokio::select! {
                c = ctrl.recv() => Wake::Ctrl(c),
                a = events.recv() => Wake::Net(a),
                r = async {
                    match &self.icmp {
                        Some(s) => s.recv(&mut buf).await,
                        None => std::future::pending().await,
                    }
                } => Wake::Ra(r),
                r = async {
                    match &self.dhcp6 {
                        Some((_, u)) => {
                            dbuf.clear();
                            u.recv_buf(&mut dbuf).await
                        }
                        None => std::future::pending().await,
                    }
                } => Wake::Dhcp6(r),
                _ = super::sleep_until(origin, deadline) => Wake::Timer,
            };
            let now = self.now();
            match wake {
                Wake::Ctrl(None) => return false,
                Wake::Ctrl(Some(Ctrl::Carrier(true))) => self.begin().await,
                Wake::Ctrl(Some(Ctrl::Carrier(false))) => self.halt(false, true).await,
                Wake::Ctrl(Some(Ctrl::Stop { release })) => {
                    let release = release || self.i.settings.release;
                    let remove = release || !self.i.settings.persistent;
                    self.halt(release, remove).await;
                    return remove;
                }
                Wake::Net(None) => {
                    warn(&name, "ipv6", "the netlink address monitor ended");
                    self.halt(false, true).await;
                    return true;
                }
                Wake::Net(Some(Ipv6Event::Address(a))) if a.index == self.i.index => {
                    self.address_event(now, a).await
                }
                Wake::Net(Some(Ipv6Event::Neighbour {
                    index,
                    address,
                    reachable,
                })) if index == self.i.index && self.running => {
                    let actions = self.slaac.neighbour(address, reachable);
                    self.nd_actions(actions).await;
                }
                Wake::Net(Some(Ipv6Event::Address(_) | Ipv6Event::Neighbour { .. })) => {}
                Wake::Net(Some(Ipv6Event::Lost)) => self.resync().await,
                Wake::Ra(Ok((n, src, hop_limit))) => match ra::parse(src, hop_limit, &buf[..n]) {
                    Ok(adv) => {
                        let actions = self.slaac.handle_ra(now, &adv);
                        self.nd_actions(actions).await;
                    }
                    Err(e) => log(
                        Level::Debug,
                        Some(&name),
                        format_args!(
                            "event=ra from={src} action=drop reason={}",
                            quote(&e.to_string())
                        ),
                    ),
                },
                Wake::Ra(Err(e)) if e.raw_os_error() == Some(libc::ENETDOWN) => {}
                Wake::Ra(Err(e)) => {
                    warn(&name, "ra", &e.to_string());
                    self.icmp = None;
                }
                Wake::Dhcp6(Ok(n)) => {
                    let actions = match &mut self.dhcp6 {
                        Some((d, _)) => d.handle_message(now, &dbuf[..n]),
                        None => Vec::new(),
                    };
                    self.dhcp6_actions(actions).await;
                }
                Wake::Dhcp6(Err(e)) if e.raw_os_error() == Some(libc::ENETDOWN) => {}
                Wake::Dhcp6(Err(e)) => self.dhcp6_socket_failed(e).await,
                Wake::Timer => {
                    if self.running {
                        let actions = self.slaac.handle_timeout(now);
                        self.nd_actions(actions).await;
                    }
                    let actions = match &mut self.dhcp6 {
                        Some((d, _)) => d.handle_timeout(now),
                        None => Vec::new(),
                    };
                    self.dhcp6_actions(actions).await;
                    if let Some((at, mode)) = self.dhcp6_retry {
                        if now >= at {
                            self.dhcp6_retry = None;
                            self.start_dhcp6(mode).await;
                        }
                    }
                }
            }
        }
    }

    fn now(&self) -> Instant {
        Instant::from_duration(self.i.shared.origin.elapsed())
    }

    fn name(&self) -> &str {
        &self.i.name
    }

    /// Carrier is up: start once the link-local address is usable.
    async fn begin(&mut self) {
        if self.running || self.waiting {
            return;
        }
        match self.net.addresses6(self.i.index).await {
            Ok(list) => {
                let ready = list
                    .iter()
                    .any(|a| ra::is_link_local(a.address) && a.dad == Dad::Done);
                if ready {
                    self.start().await;
                } else {
                    log(
                        Level::Info,
                        Some(self.name()),
                        "event=ipv6 state=waiting reason=\"no usable link-local address yet\"",
                    );
                    self.waiting = true;
                }
            }
            Err(e) => warn(self.name(), "ipv6", &format!("{e:#}")),
        }
    }

    async fn start(&mut self) {
        self.waiting = false;
        self.running = true;
        let now = self.now();
        if self.i.settings.ipv6rs {
            match Icmp6Socket::open(&self.i.name, self.i.index) {
                Ok(s) => {
                    self.icmp = Some(s);
                    self.slaac.start(now);
                    log(
                        Level::Info,
                        Some(self.name()),
                        "event=ipv6 state=soliciting",
                    );
                }
                Err(e) => warn(
                    self.name(),
                    "ra",
                    &format!("opening an ICMPv6 socket (needs CAP_NET_RAW): {e}"),
                ),
            }
        }
        // Without router discovery, or with `ia_na`, DHCPv6 goes at once.
        if !self.i.settings.ipv6rs || self.i.settings.ia_na_forced {
            self.start_dhcp6(Mode::Managed).await;
        }
    }

    /// Takes IPv6 down (carrier loss or exit): releases with `release`,
    /// and removes what we installed when `remove`.
    async fn halt(&mut self, release: bool, remove: bool) {
        self.waiting = false;
        if !self.running {
            return;
        }
        self.running = false;
        self.configured = false;
        let now = self.now();
        let d6 = match &mut self.dhcp6 {
            Some((d, _)) => d.stop(now, release),
            None => Vec::new(),
        };
        let nd = self.slaac.stop();
        if remove {
            self.dhcp6_actions(d6).await;
            self.nd_actions(nd).await;
        } else {
            // Persistent: the release (if any) still goes out.
            let sends = d6
                .into_iter()
                .filter(|a| matches!(a, Dhcp6Action::Send(_)))
                .collect();
            self.dhcp6_actions(sends).await;
        }
        self.icmp = None;
        self.dhcp6 = None;
        self.dhcp6_retry = None;
        self.addresses.clear();
        self.routes.clear();
        self.mtu = None;
    }

    async fn start_dhcp6(&mut self, mode: Mode) {
        if !self.i.settings.dhcp6 {
            return log(
                Level::Info,
                Some(self.name()),
                "event=dhcp6 action=skip reason=nodhcp6",
            );
        }
        let now = self.now();
        if self.dhcp6.is_none() {
            let socket = match dhcp6_socket(&self.i.name) {
                Ok(s) => s,
                Err(e) => {
                    self.dhcp6_retry = Some((now + DHCP6_RETRY, mode));
                    return warn(
                        self.name(),
                        "dhcp6",
                        &format!(
                            "opening UDP port 546 (needs CAP_NET_BIND_SERVICE): {e}; \
                             trying again in {}s",
                            DHCP6_RETRY.as_secs()
                        ),
                    );
                }
            };
            let duid = self.duid();
            let cfg = Dhcp6Config {
                duid,
                iaid: self.i.settings.iaid,
                initial_delay: self.i.settings.initial_delay,
            };
            self.dhcp6 = Some((Dhcp6::new(cfg, self.i.seed.rotate_left(29)), socket));
        }
        let actions = match &mut self.dhcp6 {
            Some((d, _)) => d.start(now, mode),
            None => Vec::new(),
        };
        self.dhcp6_actions(actions).await;
    }

    /// The DHCPv6 socket failed: a new one keeps the client and its lease
    /// going. Without one the client stops, taking its addresses off, and
    /// starts again later.
    async fn dhcp6_socket_failed(&mut self, e: std::io::Error) {
        warn(self.name(), "dhcp6", &format!("socket: {e}"));
        match dhcp6_socket(&self.i.name) {
            Ok(socket) => {
                if let Some((_, u)) = &mut self.dhcp6 {
                    *u = socket;
                }
            }
            Err(e) => {
                warn(
                    self.name(),
                    "dhcp6",
                    &format!("reopening UDP port 546: {e}"),
                );
                let now = self.now();
                let (mode, actions) = match &mut self.dhcp6 {
                    Some((d, _)) => (d.mode(), d.stop(now, false)),
                    None => (None, Vec::new()),
                };
                self.dhcp6_actions(actions).await;
                self.dhcp6 = None;
                if let Some(mode) = mode {
                    self.dhcp6_retry = Some((now + DHCP6_RETRY, mode));
                }
            }
        }
    }

    /// The DUID in the lease folder, made (DUID-LL) and kept on first use.
    /// A file we cannot read or parse is left alone for its owner to mend:
    /// this run uses a DUID-LL of its own.
    fn duid(&mut self) -> Duid {
        if let Some(d) = &self.duid {
            return d.clone();
        }
        let path = self.i.shared.settings.lease_dir.join("duid");
        let made = Duid::LinkLayer { mac: self.i.mac };
        let d = match std::fs::read_to_string(&path) {
            Ok(text) => Duid::parse(&text).unwrap_or_else(|e| {
                let why = format!("{}: {e}; using {made} for this run", path.display());
                warn(self.name(), "duid", &why);
                made
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let _ = std::fs::create_dir_all(&self.i.shared.settings.lease_dir);
                if let Err(e) = crate::files::write_atomic(&path, &format!("{made}\n")) {
                    warn(self.name(), "duid", &format!("{}: {e}", path.display()));
                }
                made
            }
            Err(e) => {
                let why = format!("{}: {e}; using {made} for this run", path.display());
                warn(self.name(), "duid", &why);
                made
            }
        };
        self.duid = Some(d.clone());
        d
    }

    /// Address events were lost: reads the addresses back and takes what
    /// they say as events. One of ours that is gone is left to its owner's
    /// next refresh, which adds it again (it may have been flushed, not
    /// found a duplicate).
    async fn resync(&mut self) {
        log(
            Level::Info,
            Some(self.name()),
            "event=ipv6 action=resync reason=\"netlink events were lost\"",
        );
        match self.net.addresses6(self.i.index).await {
            Ok(list) => {
                for a in list {
                    let now = self.now();
                    self.address_event(now, a).await;
                }
            }
            Err(e) => warn(self.name(), "ipv6", &format!("{e:#}")),
        }
    }

    async fn address_event(&mut self, now: Instant, a: Addr6) {
        if self.waiting && ra::is_link_local(a.address) && a.dad == Dad::Done {
            return self.start().await;
        }
        let Some(&(owner, passed)) = self.addresses.get(&a.address) else {
            return;
        };
        let duplicate = match a.dad {
            Dad::Done if !passed => false,
            Dad::Failed => true,
            _ => return,
        };
        if duplicate {
            self.addresses.remove(&a.address);
        } else {
            self.addresses.insert(a.address, (owner, true));
            self.report_configured(a.address, owner);
        }
        match owner {
            Owner::Slaac => {
                let actions = self.slaac.dad_result(now, a.address, duplicate);
                self.nd_actions(actions).await;
            }
            Owner::Dhcp6 => {
                let actions = match &mut self.dhcp6 {
                    Some((d, _)) => d.dad_result(now, a.address, duplicate),
                    None => Vec::new(),
                };
                self.dhcp6_actions(actions).await;
            }
        }
    }

    fn report_configured(&mut self, address: Ipv6Addr, owner: Owner) {
        let source = match owner {
            Owner::Slaac => "slaac",
            Owner::Dhcp6 => "dhcp6",
        };
        log(
            Level::Info,
            Some(self.name()),
            format_args!(
                "event=configured address={address}/{} source={source}",
                prefix_len(owner)
            ),
        );
        if !self.configured {
            self.configured = true;
            let _ = self
                .i
                .shared
                .events
                .send(Event::Bound(self.i.index, Family::V6));
        }
    }

    async fn add_address(
        &mut self,
        owner: Owner,
        address: Ipv6Addr,
        valid: Option<std::time::Duration>,
        preferred: Option<std::time::Duration>,
    ) {
        let r = self
            .net
            .add_address6(self.i.index, address, prefix_len(owner), valid, preferred)
            .await;
        match r {
            Ok(()) => {
                self.addresses.entry(address).or_insert((owner, false));
            }
            Err(e) => warn(self.name(), "ipv6", &format!("{e:#}")),
        }
    }

    async fn remove_address(&mut self, owner: Owner, address: Ipv6Addr) {
        self.addresses.remove(&address);
        if let Err(e) = self
            .net
            .remove_address6(self.i.index, address, prefix_len(owner))
            .await
        {
            warn(self.name(), "ipv6", &format!("{e:#}"));
        }
        log(
            Level::Info,
            Some(self.name()),
            format_args!("event=deconfigured address={address}/{}", prefix_len(owner)),
        );
    }

    async fn add_route(&mut self, r: Route) {
        match self.net.add_route6(self.i.index, &r, self.mtu).await {
            Ok(()) => log(
                Level::Info,
                Some(self.name()),
                format_args!("event=route action=add route={}", quote(&show_route6(&r))),
            ),
            Err(e) => warn(self.name(), "route", &format!("{e:#}")),
        }
        self.routes.retain(|x| !x.same_path(&r));
        self.routes.push(r);
    }

    async fn nd_actions(&mut self, actions: Vec<NdAction>) {
        for a in actions {
            match a {
                NdAction::Solicit(bytes) => {
                    if let Some(s) = &self.icmp {
                        if let Err(e) = s.solicit(&bytes) {
                            warn(&self.i.name, "solicit", &e.to_string());
                        }
                    }
                }
                NdAction::AddAddress {
                    address,
                    valid,
                    preferred,
                } => {
                    self.add_address(Owner::Slaac, address, valid, preferred)
                        .await
                }
                NdAction::RemoveAddress(address) => {
                    self.remove_address(Owner::Slaac, address).await
                }
                NdAction::AddRoute(r) => self.add_route(r).await,
                NdAction::RemoveRoute(r) => {
                    self.routes.retain(|x| !x.same_path(&r));
                    match self.net.remove_route6(self.i.index, &r).await {
                        Ok(()) => log(
                            Level::Info,
                            Some(self.name()),
                            format_args!(
                                "event=route action=remove route={}",
                                quote(&show_route6(&r))
                            ),
                        ),
                        Err(e) => warn(self.name(), "route", &format!("{e:#}")),
                    }
                }
                NdAction::SetMtu(mtu) => {
                    // dhcpcd puts the advertised MTU on its routes.
                    self.mtu = Some(mtu);
                    log(
                        Level::Info,
                        Some(self.name()),
                        format_args!("event=mtu mtu={mtu} source=ra"),
                    );
                    for r in &self.routes {
                        if let Err(e) = self.net.add_route6(self.i.index, r, self.mtu).await {
                            warn(&self.i.name, "route", &format!("{e:#}"));
                        }
                    }
                }
                NdAction::Dns { servers, domains } => {
                    let source = Source::ipv6(&self.i.name, "ra", &servers, &domains, &[]);
                    self.i
                        .shared
                        .publish(self.i.index, SourceKind::Ra, Some(source));
                }
                NdAction::StartDhcp6 { managed } => {
                    let mode = if managed {
                        Mode::Managed
                    } else {
                        Mode::Stateless
                    };
                    self.start_dhcp6(mode).await;
                }
                NdAction::Log { level, message } => log(level.into(), Some(self.name()), message),
            }
        }
    }

    async fn dhcp6_actions(&mut self, actions: Vec<Dhcp6Action>) {
        for a in actions {
            match a {
                Dhcp6Action::Send(bytes) => {
                    if let Some((_, u)) = &self.dhcp6 {
                        let to = SocketAddrV6::new(
                            dhcp6::ALL_SERVERS,
                            dhcp6::SERVER_PORT,
                            0,
                            self.i.index,
                        );
                        if let Err(e) = u.send_to(&bytes, to).await {
                            warn(&self.i.name, "dhcp6", &e.to_string());
                        }
                    }
                }
                Dhcp6Action::AddAddress {
                    address,
                    valid,
                    preferred,
                } => {
                    self.add_address(Owner::Dhcp6, address, valid, preferred)
                        .await
                }
                Dhcp6Action::RemoveAddress(address) => {
                    self.remove_address(Owner::Dhcp6, address).await
                }
                Dhcp6Action::Config {
                    dns_servers,
                    search_domains,
                    ntp_servers,
                } => {
                    let ntp: Vec<Ipv6Addr> =
                        ntp_servers.iter().filter_map(|s| s.parse().ok()).collect();
                    let source =
                        Source::ipv6(&self.i.name, "dhcp6", &dns_servers, &search_domains, &ntp);
                    self.i
                        .shared
                        .publish(self.i.index, SourceKind::Dhcp6, Some(source));
                }
                Dhcp6Action::Bound { .. } => {}
                Dhcp6Action::Log { level, message } => {
                    log(level.into(), Some(self.name()), message)
                }
            }
        }
    }
}

/// RFC 7217's secret, kept in the lease folder as dhcpcd keeps its own
/// (`secret`, colon-separated hex), and made from /dev/urandom the first
/// time. A file we cannot read or parse is left alone (a new secret would
/// move every address): this run then uses a secret of its own, and says
/// so, as it does when the folder is not writable.
fn load_secret(dir: &Path, name: &str, seed: u64) -> Vec<u8> {
    let path = dir.join("secret");
    let missing = match std::fs::read_to_string(&path) {
        Ok(text) => match parse_secret(&text) {
            Some(b) => return b,
            None => {
                let why = format!("{} is not hex bytes", path.display());
                warn(
                    name,
                    "secret",
                    &format!("{why}; using another for this run"),
                );
                false
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => {
            let why = format!("{}: {e}; using another for this run", path.display());
            warn(name, "secret", &why);
            false
        }
    };
    let secret = random_bytes(SECRET_LEN).unwrap_or_else(|e| {
        warn(
            name,
            "secret",
            &format!("/dev/urandom: {e}; using a weaker secret"),
        );
        (0..SECRET_LEN as u64)
            .map(|i| (seed.rotate_left((i % 64) as u32) >> (i % 8)) as u8)
            .collect()
    });
    if missing {
        let text: Vec<String> = secret.iter().map(|b| format!("{b:02x}")).collect();
        let written = std::fs::create_dir_all(dir)
            .and_then(|()| crate::files::write_private(&path, &format!("{}\n", text.join(":"))))
            .context("writing the SLAAC secret");
        if let Err(e) = written {
            warn(name, "secret", &format!("{}: {e:#}", path.display()));
        }
    }
    secret
}

/// The secret file's text: at least 16 colon-separated hex bytes.
fn parse_secret(text: &str) -> Option<Vec<u8>> {
    let bytes: Option<Vec<u8>> = text
        .trim()
        .split(':')
        .map(|h| u8::from_str_radix(h, 16).ok())
        .collect();
    bytes.filter(|b| b.len() >= 16)
}

fn random_bytes(n: usize) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut b = vec![0u8; n];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_file_is_made_once_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_secret(dir.path(), "eth0", 1);
        assert_eq!(first.len(), SECRET_LEN);
        assert_eq!(load_secret(dir.path(), "eth0", 2), first);
        // A damaged file is left for its owner; the run uses another.
        let path = dir.path().join("secret");
        std::fs::write(&path, "not hex\n").unwrap();
        let other = load_secret(dir.path(), "eth0", 3);
        assert_ne!(other, first);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "not hex\n");
        assert_eq!(parse_secret("01:02"), None);
        assert_eq!(parse_secret(&["7f"; 16].join(":")), Some(vec![0x7f; 16]));
    }
}
