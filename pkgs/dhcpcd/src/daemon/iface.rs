//! One interface: its [`Client`], sockets and timers, in a task of its own.
//! The task carries out the client's [`Action`]s in order.

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::log::{log, quote, Level};
use super::net::Applied;
use super::sys::{udp_socket, PacketSocket, PACKET_OUTGOING};
use super::{show_mac, Event, Family, Shared, SourceKind};
use crate::arp::{Defence, Guard, Probe, ProbeStep};
use crate::client::{Action, Client, Destination};
use crate::files::Source;
use crate::frame::{
    build_dhcp_frame, parse_dhcp_frame, BROADCAST_MAC, DHCP_FILTER, ETH_P_ARP, ETH_P_IP,
};
use crate::ipv4ll::{self, LinkLocal, LinkLocalStep};
use crate::lease::Lease;
use crate::plan::Plan;
use crate::time::Instant;

/// Orders from the main task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ctrl {
    Carrier(bool),
    /// Exit: release the lease if `release` (or if the config says so),
    /// else drop the address unless `persistent`.
    Stop {
        release: bool,
    },
}

/// The interface as the task needs it.
pub struct Iface {
    pub name: String,
    pub index: u32,
    pub mac: [u8; 6],
    pub mtu: u32,
    pub client: Client,
    pub shared: Arc<Shared>,
    /// Seed for ARP probe timing.
    pub seed: u64,
}

struct Task {
    i: Iface,
    raw: PacketSocket,
    udp: Option<UdpSocket>,
    applied: Option<Applied>,
    probe: Option<(Probe, PacketSocket)>,
    /// Watches ARP for the address in use, to defend it (not with `noarp`).
    guard: Option<(Guard, PacketSocket)>,
    /// The IPv4 link-local address, sought while no server answers, and
    /// what it put on the interface.
    link_local: Option<(LinkLocal, PacketSocket)>,
    link_local_applied: Option<Applied>,
    /// The last server we heard from, and its MAC, for a release on exit.
    server_mac: Option<(Ipv4Addr, [u8; 6])>,
    stopping: bool,
    lease_warned: bool,
}

enum Wake {
    Ctrl(Option<Ctrl>),
    Raw(std::io::Result<(usize, u8)>),
    Udp(std::io::Result<()>),
    Arp(std::io::Result<(usize, u8)>),
    Guard(std::io::Result<(usize, u8)>),
    LinkLocal(std::io::Result<(usize, u8)>),
    Timer,
}

/// Runs the interface until it is stopped or its control channel closes.
pub async fn run(i: Iface, carrier: bool, mut ctrl: mpsc::UnboundedReceiver<Ctrl>) -> Result<()> {
    let raw = PacketSocket::open(i.index, ETH_P_IP, Some(&DHCP_FILTER))
        .with_context(|| format!("opening a packet socket on {} (needs CAP_NET_RAW)", i.name))?;
    let mut t = Task {
        i,
        raw,
        udp: None,
        applied: None,
        probe: None,
        guard: None,
        link_local: None,
        link_local_applied: None,
        server_mac: None,
        stopping: false,
        lease_warned: false,
    };
    let now = t.now();
    let first = if carrier {
        t.i.client.start(now)
    } else {
        t.i.client.carrier_down(now)
    };
    t.execute(first).await?;

    let mut buf = vec![0u8; 65536];
    let mut ubuf = vec![0u8; 2048];
    let mut abuf = vec![0u8; 2048];
    let mut gbuf = vec![0u8; 2048];
    let mut lbuf = vec![0u8; 2048];
    loop {
        let deadline = [
            t.i.client.next_timeout(),
            t.probe.as_ref().and_then(|(p, _)| p.next_timeout()),
            t.link_local.as_ref().and_then(|(l, _)| l.next_timeout()),
        ]
        .into_iter()
        .flatten()
        .min();
        let origin = t.i.shared.origin;
        let wake = tokio::select! {
            c = ctrl.recv() => Wake::Ctrl(c),
            r = t.raw.recv(&mut buf) => Wake::Raw(r),
            r = async {
                match &t.udp {
                    Some(u) => u.recv_from(&mut ubuf).await.map(drop),
                    None => std::future::pending().await,
                }
            } => Wake::Udp(r),
            r = recv_on(t.probe.as_ref().map(|(_, s)| s), &mut abuf) => Wake::Arp(r),
            r = recv_on(t.guard.as_ref().map(|(_, s)| s), &mut gbuf) => Wake::Guard(r),
            r = recv_on(t.link_local.as_ref().map(|(_, s)| s), &mut lbuf) => Wake::LinkLocal(r),
            _ = super::sleep_until(origin, deadline) => Wake::Timer,
        };
        let now = t.now();
        let actions = match wake {
            Wake::Ctrl(None) => return Ok(()),
            Wake::Ctrl(Some(Ctrl::Carrier(true))) => t.i.client.carrier_up(now),
            Wake::Ctrl(Some(Ctrl::Carrier(false))) => {
                t.probe = None;
                t.i.client.carrier_down(now)
            }
            Wake::Ctrl(Some(Ctrl::Stop { release })) => {
                t.stopping = true;
                t.probe = None;
                let a = if release {
                    t.i.client.release(now)
                } else {
                    t.i.client.stop(now)
                };
                t.execute(a).await?;
                return Ok(());
            }
            Wake::Raw(Ok((n, pkttype))) => {
                if pkttype == PACKET_OUTGOING {
                    continue;
                }
                match parse_dhcp_frame(&buf[..n]) {
                    Some(f) => {
                        t.server_mac = Some((f.src_ip, f.src_mac));
                        t.i.client.handle_packet(now, f.payload)
                    }
                    None => continue,
                }
            }
            // The link went administratively down: the socket reports it
            // once, and the carrier event that comes with it does the rest.
            Wake::Raw(Err(e)) if e.raw_os_error() == Some(libc::ENETDOWN) => continue,
            Wake::Raw(Err(e)) => {
                return Err(anyhow!(e).context(format!("receiving on {}", t.i.name)));
            }
            // Replies reach us through the packet socket too; the UDP
            // socket only keeps the kernel from answering "port unreachable".
            Wake::Udp(Ok(())) => continue,
            Wake::Udp(Err(e)) => {
                // Do not spin on a socket in error: unicast falls back to
                // the packet socket until the next lease opens a new one.
                t.warn("udp", &e);
                t.udp = None;
                continue;
            }
            Wake::Arp(Ok((n, pkttype))) => {
                let conflict = pkttype != PACKET_OUTGOING
                    && t.probe
                        .as_ref()
                        .is_some_and(|(p, _)| p.is_conflict(&abuf[..n]));
                if !conflict {
                    continue;
                }
                t.probe = None;
                t.i.client.arp_conflict(now)
            }
            // As above; a probe cut by carrier loss is dropped there.
            Wake::Arp(Err(e)) if e.raw_os_error() == Some(libc::ENETDOWN) => continue,
            Wake::Arp(Err(e)) => {
                t.warn("arp", &e);
                t.probe = None;
                t.i.client.arp_probe_clear(now)
            }
            Wake::Guard(Ok((n, pkttype))) => {
                if pkttype == PACKET_OUTGOING {
                    continue;
                }
                match t.defend(now, &gbuf[..n]) {
                    Some(lost) => lost,
                    None => continue,
                }
            }
            Wake::Guard(Err(e)) if e.raw_os_error() == Some(libc::ENETDOWN) => continue,
            Wake::Guard(Err(e)) => {
                // Without the socket the address goes undefended, as with `noarp`.
                t.warn("arp", &e);
                t.guard = None;
                continue;
            }
            Wake::LinkLocal(Ok((n, pkttype))) => {
                if pkttype == PACKET_OUTGOING {
                    continue;
                }
                let steps = match &mut t.link_local {
                    Some((ll, _)) => ll.handle_arp(now, &lbuf[..n]),
                    None => continue,
                };
                t.link_local_steps(steps).await?;
                continue;
            }
            Wake::LinkLocal(Err(e)) if e.raw_os_error() == Some(libc::ENETDOWN) => continue,
            Wake::LinkLocal(Err(e)) => {
                // Without its ARP socket IPv4LL cannot go on: give it up.
                t.warn("ipv4ll", &e);
                t.stop_link_local().await;
                continue;
            }
            Wake::Timer => {
                let steps = match &mut t.link_local {
                    Some((ll, _)) => ll.handle_timeout(now),
                    None => Vec::new(),
                };
                t.link_local_steps(steps).await?;
                let mut a = Vec::new();
                if let Some((mut p, s)) = t.probe.take() {
                    let mut done = false;
                    for step in p.handle_timeout(now) {
                        match step {
                            ProbeStep::Send(frame) => {
                                if let Err(e) = s.send(&frame) {
                                    t.warn("arp", &e);
                                }
                            }
                            ProbeStep::Clear => a.extend(t.i.client.arp_probe_clear(now)),
                            ProbeStep::Done => done = true,
                        }
                    }
                    if !done {
                        t.probe = Some((p, s));
                    }
                }
                a.extend(t.i.client.handle_timeout(now));
                a
            }
        };
        t.execute(actions).await?;
    }
}

/// Receives on `socket`, or waits forever when there is none.
async fn recv_on(socket: Option<&PacketSocket>, buf: &mut [u8]) -> std::io::Result<(usize, u8)> {
    match socket {
        Some(s) => s.recv(buf).await,
        None => std::future::pending().await,
    }
}

impl Task {
    /// `level=warn event=EVENT error="..."` for this interface.
    fn warn(&self, event: &str, error: &dyn std::fmt::Display) {
        log(
            Level::Warn,
            Some(self.name()),
            format_args!("event={event} error={}", quote(&error.to_string())),
        );
    }

    fn now(&self) -> Instant {
        Instant::from_duration(self.i.shared.origin.elapsed())
    }

    fn name(&self) -> &str {
        &self.i.name
    }

    async fn execute(&mut self, actions: Vec<Action>) -> Result<()> {
        let mut queue: VecDeque<Action> = actions.into();
        while let Some(a) = queue.pop_front() {
            match a {
                Action::Log { level, message } => log(level.into(), Some(self.name()), message),
                Action::Send {
                    packet,
                    destination,
                } => self.send(&packet, destination).await,
                Action::ConfigureLease(l) => self.configure(l).await?,
                Action::Deconfigure(l) => self.deconfigure(&l).await,
                Action::ArpProbe(addr) => queue.extend(self.start_probe(addr)),
                Action::StartLinkLocal => self.start_link_local(),
                Action::StopLinkLocal => self.stop_link_local().await,
                Action::PersistLease(l) => self.persist(&l),
                Action::ForgetLease => self.forget(),
            }
        }
        Ok(())
    }

    fn our_address(&self) -> Ipv4Addr {
        self.applied
            .as_ref()
            .map_or(Ipv4Addr::UNSPECIFIED, |a| a.plan.address)
    }

    async fn send(&mut self, packet: &[u8], destination: Destination) {
        let src = self.our_address();
        let r = match destination {
            Destination::Broadcast => self.raw.send(&build_dhcp_frame(
                self.i.mac,
                BROADCAST_MAC,
                src,
                Ipv4Addr::BROADCAST,
                packet,
            )),
            Destination::Unicast(server) => {
                let known_mac = self
                    .server_mac
                    .filter(|(ip, _)| *ip == server)
                    .map(|(_, mac)| mac);
                match (&self.udp, known_mac) {
                    // On the way out the address goes right after this
                    // packet: a frame to the server's MAC leaves at once,
                    // where UDP might still wait for ARP.
                    (_, Some(mac)) if self.stopping => self
                        .raw
                        .send(&build_dhcp_frame(self.i.mac, mac, src, server, packet)),
                    (Some(u), _) => u
                        .send_to(packet, (server, crate::options::SERVER_PORT))
                        .await
                        .map(drop),
                    (None, mac) => self.raw.send(&build_dhcp_frame(
                        self.i.mac,
                        mac.unwrap_or(BROADCAST_MAC),
                        src,
                        server,
                        packet,
                    )),
                }
            }
        };
        if let Err(e) = r {
            self.warn("send", &e);
        }
    }

    async fn configure(&mut self, lease: Lease) -> Result<()> {
        let plan = Plan::for_lease(&lease);
        let net = self.i.shared.net.clone();
        let (applied, warnings) = net
            .apply(self.i.index, &plan, self.applied.as_ref(), self.i.mtu)
            .await
            .with_context(|| format!("configuring {} (needs CAP_NET_ADMIN)", self.i.name))?;
        for w in warnings {
            log(
                Level::Warn,
                Some(self.name()),
                format_args!("event=configure error={}", quote(&w)),
            );
        }
        if let Some(m) = plan.mtu {
            self.i.mtu = m.into();
        }
        let addr_changed = self.applied.as_ref().map(|a| a.plan.address) != Some(plan.address);
        self.applied = Some(applied);
        if addr_changed || self.udp.is_none() {
            self.udp = match udp_socket(&self.i.name, plan.address) {
                Ok(u) => Some(u),
                Err(e) => {
                    self.warn("udp", &e);
                    None
                }
            };
        }
        self.guard_address(plan.address);
        // resolv.conf and the NTP file first: "configured" means everything is in place.
        let source = Source::from_lease(&self.i.name, &lease);
        self.i
            .shared
            .publish(self.i.index, SourceKind::Dhcp4, Some(source));
        log(
            Level::Info,
            Some(self.name()),
            format_args!(
                "event=configured address={}/{} routes={} mtu={}",
                plan.address,
                plan.prefix_len,
                plan.routes.len(),
                plan.mtu.map_or("-".to_string(), |m| m.to_string())
            ),
        );
        let _ = self
            .i
            .shared
            .events
            .send(Event::Bound(self.i.index, Family::V4));
        Ok(())
    }

    async fn deconfigure(&mut self, lease: &Lease) {
        let applied = self.applied.take().unwrap_or_else(|| Applied {
            plan: Plan::for_lease(lease),
            mtu_before: None,
        });
        self.udp = None;
        self.guard = None;
        let warnings = self.i.shared.net.remove(self.i.index, &applied).await;
        for w in warnings {
            log(
                Level::Warn,
                Some(self.name()),
                format_args!("event=deconfigure error={}", quote(&w)),
            );
        }
        if let Some(m) = applied.mtu_before {
            self.i.mtu = m;
        }
        self.i.shared.publish(self.i.index, SourceKind::Dhcp4, None);
        log(
            Level::Info,
            Some(self.name()),
            format_args!(
                "event=deconfigured address={}/{}",
                applied.plan.address, applied.plan.prefix_len
            ),
        );
    }

    /// Opens the ARP socket and starts probing. Returns the client's
    /// actions if the probe cannot run: the address is then used as it is,
    /// as with `noarp`.
    fn start_probe(&mut self, addr: Ipv4Addr) -> Vec<Action> {
        match PacketSocket::open(self.i.index, ETH_P_ARP, None) {
            Ok(s) => {
                log(
                    Level::Info,
                    Some(self.name()),
                    format_args!("event=probe address={addr}"),
                );
                let seed = self.i.seed ^ u64::from(u32::from(addr));
                self.probe = Some((Probe::new(addr, self.i.mac, self.now(), seed), s));
                Vec::new()
            }
            Err(e) => {
                log(
                    Level::Warn,
                    Some(self.name()),
                    format_args!(
                        "event=probe address={addr} error={} action=skip",
                        quote(&e.to_string())
                    ),
                );
                self.probe = None;
                let now = self.now();
                self.i.client.arp_probe_clear(now)
            }
        }
    }

    /// Watches ARP for `addr`, now on the interface, unless it is watched
    /// already or `noarp` is set. Without an ARP socket the address is used
    /// undefended.
    fn guard_address(&mut self, addr: Ipv4Addr) {
        if !self.i.client.config().arp
            || self
                .guard
                .as_ref()
                .is_some_and(|(g, _)| g.address() == addr)
        {
            return;
        }
        self.guard = match PacketSocket::open(self.i.index, ETH_P_ARP, None) {
            Ok(s) => Some((Guard::new(addr, self.i.mac), s)),
            Err(e) => {
                log(
                    Level::Warn,
                    Some(self.name()),
                    format_args!(
                        "event=arp address={addr} error={} action=undefended",
                        quote(&e.to_string())
                    ),
                );
                None
            }
        };
    }

    /// Handles an ARP frame for the guarded address: defends it once, and
    /// returns the client's actions when the address is lost.
    fn defend(&mut self, now: Instant, frame: &[u8]) -> Option<Vec<Action>> {
        let (guard, socket) = self.guard.as_mut()?;
        let addr = guard.address();
        match guard.handle_frame(now, frame)? {
            Defence::Defend { frame, by } => {
                log(
                    Level::Warn,
                    Some(&self.i.name),
                    format_args!(
                        "event=claimed address={addr} by={} action=defend",
                        show_mac(by)
                    ),
                );
                if let Err(e) = socket.send(&frame) {
                    self.warn("arp", &e);
                }
                None
            }
            Defence::GiveUp { by } => {
                log(
                    Level::Warn,
                    Some(&self.i.name),
                    format_args!(
                        "event=claimed address={addr} by={} action=drop",
                        show_mac(by)
                    ),
                );
                self.guard = None;
                Some(self.i.client.arp_defence_failed(now))
            }
        }
    }

    /// Opens the ARP socket IPv4LL needs and starts it. Without the socket
    /// the interface goes on without a link-local address.
    fn start_link_local(&mut self) {
        if self.link_local.is_some() {
            return;
        }
        match PacketSocket::open(self.i.index, ETH_P_ARP, None) {
            Ok(s) => {
                let mut ll = LinkLocal::new(self.i.mac);
                ll.start(self.now());
                self.link_local = Some((ll, s));
            }
            Err(e) => log(
                Level::Warn,
                Some(self.name()),
                format_args!("event=ipv4ll error={}", quote(&e.to_string())),
            ),
        }
    }

    async fn stop_link_local(&mut self) {
        if let Some((mut ll, _)) = self.link_local.take() {
            let steps = ll.stop();
            // Only removals come of stopping; they cannot fail the task.
            let _ = self.link_local_steps(steps).await;
        }
    }

    /// Carries out what IPv4LL asks: frames, and its address on or off.
    async fn link_local_steps(&mut self, steps: Vec<LinkLocalStep>) -> Result<()> {
        for step in steps {
            match step {
                LinkLocalStep::Send(frame) => {
                    let sent = match &self.link_local {
                        Some((_, s)) => s.send(&frame),
                        None => Ok(()),
                    };
                    if let Err(e) = sent {
                        self.warn("arp", &e);
                    }
                }
                LinkLocalStep::Configure(addr) => {
                    let plan = Plan {
                        address: addr,
                        prefix_len: ipv4ll::PREFIX_LEN,
                        broadcast: ipv4ll::BROADCAST,
                        routes: Vec::new(),
                        mtu: None,
                    };
                    let net = self.i.shared.net.clone();
                    let (applied, _) = net
                        .apply(self.i.index, &plan, None, self.i.mtu)
                        .await
                        .with_context(|| {
                            format!("configuring {} (needs CAP_NET_ADMIN)", self.i.name)
                        })?;
                    self.link_local_applied = Some(applied);
                    log(
                        Level::Info,
                        Some(self.name()),
                        format_args!(
                            "event=configured address={addr}/{} source=ipv4ll",
                            ipv4ll::PREFIX_LEN
                        ),
                    );
                    let _ = self
                        .i
                        .shared
                        .events
                        .send(Event::Bound(self.i.index, Family::V4));
                }
                LinkLocalStep::Deconfigure(addr) => {
                    if let Some(applied) = self.link_local_applied.take() {
                        for w in self.i.shared.net.remove(self.i.index, &applied).await {
                            log(
                                Level::Warn,
                                Some(self.name()),
                                format_args!("event=deconfigure error={}", quote(&w)),
                            );
                        }
                    }
                    log(
                        Level::Info,
                        Some(self.name()),
                        format_args!(
                            "event=deconfigured address={addr}/{} source=ipv4ll",
                            ipv4ll::PREFIX_LEN
                        ),
                    );
                }
                LinkLocalStep::Conflict(message) => {
                    log(Level::Warn, Some(self.name()), message);
                }
            }
        }
        Ok(())
    }

    fn lease_path(&self) -> std::path::PathBuf {
        self.i
            .shared
            .settings
            .lease_dir
            .join(format!("{}.lease", self.i.name))
    }

    fn persist(&mut self, lease: &Lease) {
        let text = lease.to_json(self.now(), super::unix_now());
        let path = self.lease_path();
        let r = std::fs::create_dir_all(&self.i.shared.settings.lease_dir)
            .and_then(|()| crate::files::write_atomic(&path, &text));
        if let Err(e) = r {
            if !self.lease_warned {
                self.lease_warned = true;
                log(
                    Level::Warn,
                    Some(self.name()),
                    format_args!(
                        "event=persist path={} error={}",
                        quote(&path.display().to_string()),
                        quote(&e.to_string())
                    ),
                );
            }
        }
    }

    fn forget(&mut self) {
        let path = self.lease_path();
        if let Err(e) = std::fs::remove_file(&path) {
            if e.kind() != std::io::ErrorKind::NotFound {
                log(
                    Level::Warn,
                    Some(self.name()),
                    format_args!(
                        "event=forget path={} error={}",
                        quote(&path.display().to_string()),
                        quote(&e.to_string())
                    ),
                );
            }
        }
    }
}
