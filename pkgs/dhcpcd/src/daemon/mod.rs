//! The daemon: finds interfaces, runs one [`iface`] task per interface,
//! follows carrier through netlink link events, writes resolv.conf and the
//! NTP hand-off file, and shuts down on a signal.
//!
//! [`run`] takes the signals as a channel, so that it does not depend on
//! how the binary receives them.

mod iface;
mod ipv6;
pub mod log;
pub mod net;
pub mod net6;
mod sys;

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context, Result};
use tokio::sync::mpsc;

use self::iface::{Ctrl, Iface};
use self::log::{log, quote, Level};
use self::net::{LinkEvent, LinkInfo, Net};
use crate::client::{Action, Client, Destination};
use crate::config::{self, Config, WaitIp};
use crate::files::Source;
use crate::lease::Lease;
use crate::plan::Plan;
use crate::time::Instant;

/// Exit code: success (bound with `-1`, stopped by a signal, released).
pub const EXIT_OK: u8 = 0;
/// Exit code: `-1` and no lease within the timeout.
pub const EXIT_TIMEOUT: u8 = 1;
/// Exit code: bad flags or a bad config file.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: the system refused something (netlink, sockets, addresses):
/// usually a missing capability.
pub const EXIT_SYSTEM: u8 = 3;

/// The config file read when `-f` is not given, if it exists.
pub const DEFAULT_CONFIG: &str = "/etc/dhcpcd.conf";
pub const DEFAULT_RESOLV_CONF: &str = "/etc/resolv.conf";
pub const DEFAULT_NTP_FILE: &str = "/etc/ntp-servers";
pub const DEFAULT_LEASE_DIR: &str = "/var/lib/dhcpcd";
/// How long stopping may take before we exit anyway.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// What the command line asks for.
#[derive(Debug, Clone)]
pub struct Options {
    pub config_file: Option<PathBuf>,
    /// Interfaces named on the command line; empty means all allowed.
    pub interfaces: Vec<String>,
    pub oneshot: bool,
    /// Overrides the config's `timeout`.
    pub timeout: Option<u32>,
    /// `-k`: release instead of acquiring.
    pub release: bool,
    pub resolv_conf: PathBuf,
    pub ntp_file: PathBuf,
    pub lease_dir: PathBuf,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            config_file: None,
            interfaces: Vec::new(),
            oneshot: false,
            timeout: None,
            release: false,
            resolv_conf: DEFAULT_RESOLV_CONF.into(),
            ntp_file: DEFAULT_NTP_FILE.into(),
            lease_dir: DEFAULT_LEASE_DIR.into(),
        }
    }
}

/// A signal, as the daemon understands it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM, SIGINT: release if the config says `release`, drop the
    /// addresses unless `persistent`, exit 0.
    Terminate,
    /// SIGHUP (what `dhcpcd -k` sends): release every lease and exit 0.
    Release,
}

/// How a successful run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `-1` and every interface asked for is bound.
    Bound,
    Stopped,
    /// `-1` and no lease within the timeout.
    TimedOut,
    Released,
}

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::TimedOut => EXIT_TIMEOUT,
            _ => EXIT_OK,
        }
    }
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("{0:#}")]
    Config(anyhow::Error),
    #[error("{0:#}")]
    System(anyhow::Error),
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Config(_) => EXIT_USAGE,
            Failure::System(_) => EXIT_SYSTEM,
        }
    }
}

fn system(e: anyhow::Error) -> Failure {
    Failure::System(e)
}

/// Paths shared by the interface tasks.
#[derive(Debug, Clone)]
pub struct Settings {
    pub resolv_conf: PathBuf,
    pub ntp_file: PathBuf,
    pub lease_dir: PathBuf,
}

/// An address family, as `waitip` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    V4,
    V6,
}

/// What the main task hears from the interface tasks.
pub(crate) enum Event {
    /// The interface has its first usable address of the family.
    Bound(u32, Family),
    Exited(u32, Result<()>),
}

/// State shared by all interface tasks.
pub(crate) struct Shared {
    pub origin: tokio::time::Instant,
    pub net: Net,
    pub settings: Settings,
    pub events: mpsc::UnboundedSender<Event>,
    files: Mutex<Files>,
}

/// What each source on each interface gives resolv.conf and the NTP file,
/// in dhcpcd's order (by ifindex, then DHCPv4, RA, DHCPv6), and what we
/// last wrote into them.
#[derive(Default)]
struct Files {
    sources: BTreeMap<(u32, SourceKind), Source>,
    resolv: Option<String>,
    ntp: Option<String>,
}

/// Where an interface's DNS and NTP servers came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum SourceKind {
    Dhcp4,
    Ra,
    Dhcp6,
}

impl Shared {
    /// Records what one source of an interface gives (None: nothing any
    /// more) and rewrites resolv.conf and the NTP file from all of them,
    /// when their text changes. A file is removed when no source has
    /// anything for it, if we wrote it.
    pub fn publish(&self, index: u32, kind: SourceKind, source: Option<Source>) {
        let mut f = self.files.lock().unwrap_or_else(|e| e.into_inner());
        match source.filter(|s| !s.is_empty()) {
            Some(s) => f.sources.insert((index, kind), s),
            None => f.sources.remove(&(index, kind)),
        };
        self.rewrite(&mut f);
    }

    /// Forgets every source of a removed interface.
    pub fn forget(&self, index: u32) {
        let mut f = self.files.lock().unwrap_or_else(|e| e.into_inner());
        f.sources.retain(|(i, _), _| *i != index);
        self.rewrite(&mut f);
    }

    fn rewrite(&self, f: &mut Files) {
        let sources: Vec<Source> = f.sources.values().cloned().collect();
        let resolv = crate::files::resolv_conf(&sources);
        let ntp = crate::files::ntp_servers(&sources);
        if resolv != f.resolv {
            write_file(&self.settings.resolv_conf, resolv.as_deref(), "resolv");
            f.resolv = resolv;
        }
        if ntp != f.ntp {
            write_file(&self.settings.ntp_file, ntp.as_deref(), "ntp");
            f.ntp = ntp;
        }
    }
}

fn write_file(path: &Path, contents: Option<&str>, what: &str) {
    let shown = quote(&path.display().to_string());
    match crate::files::write_or_remove(path, contents) {
        Ok(()) => log(
            Level::Info,
            None,
            format_args!(
                "event={what} path={shown} action={}",
                if contents.is_some() {
                    "write"
                } else {
                    "remove"
                }
            ),
        ),
        Err(e) => log(
            Level::Warn,
            None,
            format_args!("event={what} path={shown} error={}", quote(&e.to_string())),
        ),
    }
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Seeds an interface's xids and jitter from the clock, the PID and the
/// interface index (no getrandom: see the README on static binaries).
fn seed_for(index: u32) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos
        ^ (u64::from(std::process::id()) << 32)
        ^ u64::from(index).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Reads and parses the config file: `-f FILE`, else /etc/dhcpcd.conf if
/// present, else the defaults. Warnings are logged with their line numbers.
pub fn load_config(path: Option<&Path>) -> Result<Config, Failure> {
    let (path, text) = match path {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading config file {}", p.display()))
                .map_err(Failure::Config)?;
            (p.to_path_buf(), text)
        }
        None => match std::fs::read_to_string(DEFAULT_CONFIG) {
            Ok(t) => (PathBuf::from(DEFAULT_CONFIG), t),
            Err(_) => return Ok(Config::default()),
        },
    };
    let shown = quote(&path.display().to_string());
    let parsed = config::parse(&text)
        .map_err(|e| Failure::Config(anyhow!("config file {}: {e}", path.display())))?;
    for w in &parsed.warnings {
        log(
            Level::Warn,
            None,
            format_args!(
                "event=config file={shown} line={} message={}",
                w.line,
                quote(&w.message)
            ),
        );
    }
    Ok(parsed.config)
}

/// Whether to run on `link`: a link with a MAC, not loopback; named on the
/// command line, or (with no names) Ethernet; and allowed by
/// `allowinterfaces`/`denyinterfaces`.
pub fn eligible(link: &LinkInfo, names: &[String], config: &Config) -> bool {
    if link.loopback || link.mac.is_none() || link.name.is_empty() {
        return false;
    }
    if !names.is_empty() && !names.contains(&link.name) {
        return false;
    }
    (link.ethernet || !names.is_empty()) && config.allows_interface(&link.name)
}

fn read_lease(lease_dir: &Path, name: &str, now: Instant) -> Option<Lease> {
    let text = std::fs::read_to_string(lease_dir.join(format!("{name}.lease"))).ok()?;
    match Lease::from_json(&text, now, unix_now()) {
        Ok(l) => Some(l),
        Err(e) => {
            log(
                Level::Info,
                Some(name),
                format_args!(
                    "event=stored-lease action=ignore reason={}",
                    quote(&e.to_string())
                ),
            );
            None
        }
    }
}

fn pid_file(lease_dir: &Path) -> PathBuf {
    lease_dir.join("dhcpcd.pid")
}

struct Handle {
    name: String,
    ctrl: mpsc::UnboundedSender<Ctrl>,
    carrier: bool,
    bound4: bool,
    bound6: bool,
}

impl Handle {
    /// Whether this interface has an address of the kind `w` names.
    fn has(&self, w: WaitIp) -> bool {
        match w {
            WaitIp::Any => self.bound4 || self.bound6,
            WaitIp::V4 => self.bound4,
            WaitIp::V6 => self.bound6,
        }
    }
}

/// What `-1` and `event=ready` wait for: as dhcpcd counts it, each family
/// `waitip` names (with none, an address of either) on some interface.
/// Unlike dhcpcd, interfaces named on the command line must each have an
/// address too (`dhcpcd -1 eth0 eth1` waits for both), and only they count.
fn ip_waited<'a>(
    handles: impl Iterator<Item = &'a Handle> + Clone,
    names: &[String],
    waitip: &[WaitIp],
) -> bool {
    let counted = handles.filter(|h| names.is_empty() || names.contains(&h.name));
    let named_ok = names
        .iter()
        .all(|n| counted.clone().any(|h| &h.name == n && h.has(WaitIp::Any)));
    let wanted = if waitip.is_empty() {
        &[WaitIp::Any][..]
    } else {
        waitip
    };
    named_ok && wanted.iter().all(|&w| counted.clone().any(|h| h.has(w)))
}

struct Daemon {
    opts: Options,
    config: Config,
    shared: Arc<Shared>,
    hostname: Option<String>,
    ifaces: HashMap<u32, Handle>,
    /// `event=ready` was logged.
    ready: bool,
}

/// Runs the daemon until `-1` is satisfied, the timeout passes with `-1`,
/// or a signal arrives.
pub async fn run(
    opts: Options,
    mut signals: mpsc::UnboundedReceiver<Signal>,
) -> Result<Outcome, Failure> {
    let config = load_config(opts.config_file.as_deref())?;
    if opts.release {
        return release(&opts, &config).await;
    }
    let timeout = opts.timeout.unwrap_or(config.timeout);
    // Subscribe before listing, so that no change falls in between.
    let mut link_events = Net::monitor()
        .context("netlink (is this Linux, and allowed netlink?)")
        .map_err(system)?;
    let net = Net::connect().map_err(system)?;
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        origin: tokio::time::Instant::now(),
        net: net.clone(),
        settings: Settings {
            resolv_conf: opts.resolv_conf.clone(),
            ntp_file: opts.ntp_file.clone(),
            lease_dir: opts.lease_dir.clone(),
        },
        events: ev_tx,
        files: Mutex::new(Files::default()),
    });
    let pidfile = pid_file(&opts.lease_dir);
    let _ = std::fs::create_dir_all(&opts.lease_dir);
    let _ = crate::files::write_atomic(&pidfile, &format!("{}\n", std::process::id()));
    log(
        Level::Info,
        None,
        format_args!(
            "event=start version={} oneshot={} timeout={timeout}",
            env!("CARGO_PKG_VERSION"),
            opts.oneshot
        ),
    );
    let mut d = Daemon {
        hostname: nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok()),
        opts,
        config,
        shared,
        ifaces: HashMap::new(),
        ready: false,
    };
    let result = d
        .main_loop(&net, &mut link_events, &mut ev_rx, &mut signals, timeout)
        .await;
    let _ = std::fs::remove_file(&pidfile);
    result
}

impl Daemon {
    async fn main_loop(
        &mut self,
        net: &Net,
        link_events: &mut mpsc::UnboundedReceiver<LinkEvent>,
        ev_rx: &mut mpsc::UnboundedReceiver<Event>,
        signals: &mut mpsc::UnboundedReceiver<Signal>,
        timeout: u32,
    ) -> Result<Outcome, Failure> {
        for link in net.links().await.map_err(system)? {
            if eligible(&link, &self.opts.interfaces, &self.config) {
                self.start(link).await?;
            }
        }
        for name in &self.opts.interfaces {
            if !self.ifaces.values().any(|h| &h.name == name) {
                log(
                    Level::Info,
                    Some(name),
                    "event=waiting reason=\"no such interface yet\"",
                );
            }
        }
        let deadline = (timeout > 0)
            .then(|| tokio::time::Instant::now() + Duration::from_secs(timeout.into()));
        let mut timed_out = false;
        loop {
            tokio::select! {
                Some(sig) = signals.recv() => {
                    let release = sig == Signal::Release;
                    log(Level::Info, None, format_args!(
                        "event=signal action={}", if release { "release" } else { "stop" }));
                    self.stop_all(ev_rx, release).await;
                    return Ok(if release { Outcome::Released } else { Outcome::Stopped });
                }
                Some(ev) = link_events.recv() => self.link_event(ev).await?,
                Some(ev) = ev_rx.recv() => match ev {
                    Event::Bound(index, family) => {
                        if let Some(h) = self.ifaces.get_mut(&index) {
                            match family {
                                Family::V4 => h.bound4 = true,
                                Family::V6 => h.bound6 = true,
                            }
                        }
                        if !self.ready && self.waited() {
                            self.ready = true;
                            log(Level::Info, None, format_args!("event=ready waitip={}", show_waitip(&self.config.waitip)));
                        }
                        if self.opts.oneshot && self.waited() {
                            log(Level::Info, None, "event=exit reason=oneshot");
                            return Ok(Outcome::Bound);
                        }
                    }
                    Event::Exited(index, Err(e)) if self.ifaces.contains_key(&index) => {
                        let name = self.ifaces.remove(&index).map(|h| h.name);
                        log(Level::Error, name.as_deref(), format_args!(
                            "event=fatal error={}", quote(&format!("{e:#}"))));
                        self.stop_all(ev_rx, false).await;
                        return Err(Failure::System(e));
                    }
                    // A task ending on its own, or one whose link was removed.
                    Event::Exited(index, _) => {
                        self.ifaces.remove(&index);
                    }
                },
                _ = async {
                    match deadline {
                        Some(d) => tokio::time::sleep_until(d).await,
                        None => std::future::pending().await,
                    }
                }, if !timed_out => {
                    timed_out = true;
                    if !self.waited() {
                        log(Level::Warn, None, format_args!("event=timeout seconds={timeout}"));
                        if self.opts.oneshot {
                            return Ok(Outcome::TimedOut);
                        }
                    }
                }
            }
        }
    }

    fn waited(&self) -> bool {
        ip_waited(
            self.ifaces.values(),
            &self.opts.interfaces,
            &self.config.waitip,
        )
    }

    async fn link_event(&mut self, ev: LinkEvent) -> Result<(), Failure> {
        match ev {
            LinkEvent::Changed(link) => self.link_changed(link).await?,
            LinkEvent::Removed(index) => self.link_removed(index),
            LinkEvent::Lost => {
                log(
                    Level::Info,
                    None,
                    "event=links action=resync reason=\"netlink events were lost\"",
                );
                let links = match self.shared.net.links().await {
                    Ok(l) => l,
                    // The interfaces keep running on what they knew.
                    Err(e) => {
                        log(
                            Level::Warn,
                            None,
                            format_args!("event=links error={}", quote(&format!("{e:#}"))),
                        );
                        return Ok(());
                    }
                };
                let gone: Vec<u32> = (self.ifaces.keys())
                    .filter(|i| !links.iter().any(|l| l.index == **i))
                    .copied()
                    .collect();
                for index in gone {
                    self.link_removed(index);
                }
                for link in links {
                    self.link_changed(link).await?;
                }
            }
        }
        Ok(())
    }

    async fn link_changed(&mut self, link: LinkInfo) -> Result<(), Failure> {
        if self.ifaces.contains_key(&link.index) {
            // Events can be stale by the time we read them (a link coming
            // up sends several): ask for the state now.
            let carrier = match self.shared.net.link(link.index).await {
                Ok(Some(now)) => now.carrier,
                _ => link.carrier,
            };
            if let Some(h) = self.ifaces.get_mut(&link.index) {
                if h.carrier != carrier {
                    h.carrier = carrier;
                    let _ = h.ctrl.send(Ctrl::Carrier(carrier));
                }
            }
        } else if eligible(&link, &self.opts.interfaces, &self.config) {
            self.start(link).await?;
        }
        Ok(())
    }

    fn link_removed(&mut self, index: u32) {
        if let Some(h) = self.ifaces.remove(&index) {
            log(Level::Info, Some(&h.name), "event=removed");
            // Dropping the channel ends the task; the interface and
            // everything on it is gone already.
            self.shared.forget(index);
        }
    }

    async fn start(&mut self, mut link: LinkInfo) -> Result<(), Failure> {
        let Some(mac) = link.mac else { return Ok(()) };
        let net = &self.shared.net;
        if !link.up {
            net.set_up(link.index)
                .await
                .with_context(|| format!("{} (needs CAP_NET_ADMIN)", link.name))
                .map_err(system)?;
            if let Some(l) = net.link(link.index).await.map_err(system)? {
                link = l;
            }
        }
        let mut cc = self.config.client_config(mac, self.hostname.as_deref());
        cc.max_message_size = Some(link.mtu.clamp(576, 65535) as u16);
        let seed = seed_for(link.index);
        let mut client = Client::new(cc, seed);
        let now = Instant::from_duration(self.shared.origin.elapsed());
        if let Some(l) = read_lease(&self.opts.lease_dir, &link.name, now) {
            client.remember_lease(l);
        }
        log(
            Level::Info,
            Some(&link.name),
            format_args!(
                "event=start index={} mac={} mtu={} carrier={}",
                link.index,
                show_mac(mac),
                link.mtu,
                if link.carrier { "up" } else { "down" }
            ),
        );
        let (tx, rx) = mpsc::unbounded_channel();
        let v4 = self.config.ipv4.then(|| Iface {
            name: link.name.clone(),
            index: link.index,
            mac,
            mtu: link.mtu,
            client,
            shared: self.shared.clone(),
            seed: seed.rotate_left(17),
        });
        let v6 = self.config.ipv6.then(|| ipv6::Ipv6Iface {
            name: link.name.clone(),
            index: link.index,
            mac,
            mtu: link.mtu,
            shared: self.shared.clone(),
            settings: ipv6::Ipv6Settings {
                slaac: self.config.slaac,
                ipv6rs: self.config.ipv6rs,
                dhcp6: self.config.dhcp6,
                ia_na_forced: self.config.ia_na.is_some(),
                iaid: self
                    .config
                    .ia_na
                    .flatten()
                    .unwrap_or_else(|| crate::options::iaid_from_mac(mac)),
                persistent: self.config.persistent,
                release: self.config.release,
                initial_delay: !self.config.nodelay,
            },
            seed: seed.rotate_left(41),
        });
        let events = self.shared.events.clone();
        let (index, carrier) = (link.index, link.carrier);
        tokio::spawn(async move {
            let r = supervise(v4, v6, carrier, rx).await;
            let _ = events.send(Event::Exited(index, r));
        });
        self.ifaces.insert(
            link.index,
            Handle {
                name: link.name,
                ctrl: tx,
                carrier,
                bound4: false,
                bound6: false,
            },
        );
        Ok(())
    }

    /// Stops every interface and waits (a bounded time) for them to finish.
    async fn stop_all(&mut self, ev_rx: &mut mpsc::UnboundedReceiver<Event>, release: bool) {
        for h in self.ifaces.values() {
            let _ = h.ctrl.send(Ctrl::Stop { release });
        }
        let deadline = tokio::time::Instant::now() + STOP_GRACE;
        while !self.ifaces.is_empty() {
            match tokio::time::timeout_at(deadline, ev_rx.recv()).await {
                Ok(Some(Event::Exited(index, r))) => {
                    if let (Some(h), Err(e)) = (self.ifaces.remove(&index), r) {
                        log(
                            Level::Warn,
                            Some(&h.name),
                            format_args!("event=stop error={}", quote(&format!("{e:#}"))),
                        );
                    }
                }
                Ok(Some(Event::Bound(..))) => {}
                Ok(None) | Err(_) => break,
            }
        }
    }
}

/// Runs an interface's DHCPv4 task and IPv6 task (either may be off),
/// passing each order to both, until stopped or the link is gone.
/// Stopping waits for both; DHCPv4 failing stops IPv6 and fails the
/// interface.
async fn supervise(
    v4: Option<Iface>,
    v6: Option<ipv6::Ipv6Iface>,
    carrier: bool,
    mut ctrl: mpsc::UnboundedReceiver<Ctrl>,
) -> Result<()> {
    let (tx4, rx4) = mpsc::unbounded_channel();
    let (mut tx6, rx6) = mpsc::unbounded_channel();
    let mut t4 = v4.map(|i| tokio::spawn(iface::run(i, carrier, rx4)));
    let mut t6 = v6.clone().map(|i| tokio::spawn(ipv6::run(i, carrier, rx6)));
    let joined = |r: Result<Result<()>, tokio::task::JoinError>| {
        r.unwrap_or_else(|e| Err(anyhow!("the DHCPv4 task failed: {e}")))
    };
    loop {
        tokio::select! {
            c = ctrl.recv() => {
                // A closed channel: the link is gone; closing ours ends both.
                let Some(c) = c else { return Ok(()) };
                // An IPv6 task that ended on its own (IPv6 was off in the
                // kernel, say) starts again when the carrier comes back.
                if let (Ctrl::Carrier(true), None, Some(i)) = (c, &t6, &v6) {
                    let (tx, rx) = mpsc::unbounded_channel();
                    tx6 = tx;
                    t6 = Some(tokio::spawn(ipv6::run(i.clone(), true, rx)));
                    let _ = tx4.send(c);
                    continue;
                }
                let _ = tx4.send(c);
                let _ = tx6.send(c);
                if let Ctrl::Stop { .. } = c {
                    let r4 = match t4.take() {
                        Some(h) => joined(h.await),
                        None => Ok(()),
                    };
                    if let Some(h) = t6.take() {
                        let _ = h.await;
                    }
                    return r4;
                }
            }
            r = async { t4.as_mut().expect("guarded").await }, if t4.is_some() => {
                t4 = None;
                let r = joined(r);
                if r.is_err() {
                    let _ = tx6.send(Ctrl::Stop { release: false });
                    if let Some(h) = t6.take() {
                        let _ = h.await;
                    }
                    return r;
                }
            }
            // A task that ends on its own stays ended until the carrier
            // comes back; the interface stays ours until it is stopped or
            // removed, so that other link events do not start it again.
            _ = async { t6.as_mut().expect("guarded").await }, if t6.is_some() => t6 = None,
        }
    }
}

/// Sleeps until `deadline` on the daemon's clock (`origin` is its zero),
/// or forever when there is none: the timer arm of the interface tasks.
pub(crate) async fn sleep_until(origin: tokio::time::Instant, deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(origin + d.as_duration()).await,
        None => std::future::pending().await,
    }
}

fn show_waitip(w: &[WaitIp]) -> String {
    if w.is_empty() {
        return "-".into();
    }
    let names: Vec<&str> = w
        .iter()
        .map(|w| match w {
            WaitIp::Any => "any",
            WaitIp::V4 => "4",
            WaitIp::V6 => "6",
        })
        .collect();
    names.join(",")
}

fn show_mac(m: [u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// `-k`: asks a running daemon (found through the pid file in the lease
/// folder) to release and exit, as dhcpcd does with SIGHUP. With none
/// running, releases the stored leases itself: RELEASE to the server from
/// the leased address, then the address and routes are removed, the lease
/// forgotten, and resolv.conf and the NTP file rewritten from the leases
/// that remain.
pub async fn release(opts: &Options, config: &Config) -> Result<Outcome, Failure> {
    use nix::sys::signal::{kill, Signal as NixSignal};
    use nix::unistd::Pid;

    let pidfile = pid_file(&opts.lease_dir);
    let pid = std::fs::read_to_string(&pidfile)
        .ok()
        .and_then(|t| t.trim().parse::<i32>().ok())
        .filter(|&p| p > 0 && p as u32 != std::process::id());
    if let Some(pid) = pid {
        let pid = Pid::from_raw(pid);
        if kill(pid, NixSignal::SIGHUP).is_ok() {
            log(
                Level::Info,
                None,
                format_args!("event=release pid={pid} action=signal"),
            );
            let deadline = tokio::time::Instant::now() + STOP_GRACE;
            while alive(pid) {
                if tokio::time::Instant::now() >= deadline {
                    return Err(Failure::System(anyhow!(
                        "dhcpcd (pid {pid}) did not exit within {}s of SIGHUP",
                        STOP_GRACE.as_secs()
                    )));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            return Ok(Outcome::Released);
        }
    }

    let net = Net::connect().map_err(system)?;
    let now = Instant::ZERO;
    let mut released = 0;
    for link in net.links().await.map_err(system)? {
        if !eligible(&link, &opts.interfaces, config) {
            continue;
        }
        let (Some(mac), Some(lease)) = (link.mac, read_lease(&opts.lease_dir, &link.name, now))
        else {
            continue;
        };
        let present = net
            .has_address(link.index, lease.address)
            .await
            .map_err(system)?;
        let mut client = Client::new(config.client_config(mac, None), seed_for(link.index));
        client.adopt(now, lease);
        for a in client.release(now) {
            match a {
                Action::Log { level, message } => log(level.into(), Some(&link.name), message),
                Action::Send {
                    packet,
                    destination: Destination::Unicast(server),
                } if present => send_release(&link.name, ciaddr(&packet), server, &packet).await,
                Action::Send { .. } => {}
                Action::Deconfigure(l) => {
                    let applied = net::Applied {
                        plan: Plan::for_lease(&l),
                        mtu_before: None,
                    };
                    for w in net.remove(link.index, &applied).await {
                        log(
                            Level::Warn,
                            Some(&link.name),
                            format_args!("event=deconfigure error={}", quote(&w)),
                        );
                    }
                    log(
                        Level::Info,
                        Some(&link.name),
                        format_args!("event=deconfigured address={}/{}", l.address, l.prefix_len),
                    );
                }
                Action::ForgetLease => {
                    let _ =
                        std::fs::remove_file(opts.lease_dir.join(format!("{}.lease", link.name)));
                }
                _ => {}
            }
        }
        released += 1;
    }
    if released == 0 {
        log(
            Level::Info,
            None,
            "event=release action=none reason=\"no stored lease\"",
        );
        return Ok(Outcome::Released);
    }
    // The files now hold what the leases still stored say.
    let mut remaining: Vec<(String, Lease)> = Vec::new();
    if let Ok(dir) = std::fs::read_dir(&opts.lease_dir) {
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(iface) = name.strip_suffix(".lease") {
                if let Some(l) = read_lease(&opts.lease_dir, iface, now) {
                    remaining.push((iface.to_string(), l));
                }
            }
        }
    }
    remaining.sort_by(|a, b| a.0.cmp(&b.0));
    let sources: Vec<Source> = remaining
        .iter()
        .map(|(n, l)| Source::from_lease(n, l))
        .collect();
    let resolv = crate::files::resolv_conf(&sources);
    let ntp = crate::files::ntp_servers(&sources);
    write_file(&opts.resolv_conf, resolv.as_deref(), "resolv");
    write_file(&opts.ntp_file, ntp.as_deref(), "ntp");
    Ok(Outcome::Released)
}

/// Whether a process runs: it exists and is not a zombie waiting for its
/// parent to reap it.
fn alive(pid: nix::unistd::Pid) -> bool {
    if nix::sys::signal::kill(pid, None).is_err() {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // "PID (comm) STATE ...": comm may hold spaces and parentheses.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_none_or(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// The ciaddr of a request we built (bytes 12..16).
fn ciaddr(packet: &[u8]) -> Ipv4Addr {
    packet
        .get(12..16)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(Ipv4Addr::UNSPECIFIED, Ipv4Addr::from)
}

async fn send_release(iface: &str, from: Ipv4Addr, server: Ipv4Addr, packet: &[u8]) {
    let r = async {
        let u = sys::udp_socket(iface, from)?;
        u.send_to(packet, (server, crate::options::SERVER_PORT))
            .await?;
        // As dhcpcd does: give the packet a moment to leave (the kernel may
        // still need ARP for the server) before its source address goes.
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok::<_, std::io::Error>(())
    }
    .await;
    if let Err(e) = r {
        log(
            Level::Warn,
            Some(iface),
            format_args!("event=send error={}", quote(&e.to_string())),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(name: &str) -> LinkInfo {
        LinkInfo {
            index: 2,
            name: name.into(),
            mac: Some([2, 0, 0, 0, 0, 1]),
            mtu: 1500,
            up: true,
            carrier: true,
            loopback: false,
            ethernet: true,
        }
    }

    #[test]
    fn interface_selection() {
        let c = config::parse("allowinterfaces eth*\ndenyinterfaces eth9")
            .unwrap()
            .config;
        assert!(eligible(&link("eth0"), &[], &c));
        assert!(!eligible(&link("eth9"), &[], &c));
        assert!(!eligible(&link("wlan0"), &[], &c));
        // Names on the command line narrow it further.
        let names = vec!["eth1".to_string()];
        assert!(!eligible(&link("eth0"), &names, &c));
        assert!(eligible(&link("eth1"), &names, &c));
        let mut lo = link("lo");
        lo.loopback = true;
        assert!(!eligible(&lo, &[], &Config::default()));
        let mut tun = link("tun0");
        tun.ethernet = false;
        assert!(!eligible(&tun, &[], &Config::default()));
        // A named non-Ethernet link is taken.
        assert!(eligible(&tun, &["tun0".into()], &Config::default()));
        let mut nomac = link("eth0");
        nomac.mac = None;
        assert!(!eligible(&nomac, &[], &Config::default()));
    }

    #[test]
    fn waitip_asks_for_each_family_it_names_on_any_interface() {
        let h = |name: &str, bound4, bound6| Handle {
            name: name.into(),
            ctrl: mpsc::unbounded_channel().0,
            carrier: true,
            bound4,
            bound6,
        };
        use WaitIp::{Any, V4, V6};
        let waited = |hs: &[Handle], names: &[&str], w: &[WaitIp]| {
            let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            ip_waited(hs.iter(), &names, w)
        };
        for (waitip, want) in [
            (&[][..], [false, true, true, true]),
            (&[Any][..], [false, true, true, true]),
            (&[V4][..], [false, true, false, true]),
            (&[V6][..], [false, false, true, true]),
            (&[V4, V6][..], [false, false, false, true]),
        ] {
            let got = [(false, false), (true, false), (false, true), (true, true)]
                .map(|(b4, b6)| waited(&[h("eth0", b4, b6)], &[], waitip));
            assert_eq!(got, want, "{waitip:?}");
        }
        // One interface with IPv4 and another with IPv6 make `waitip 4` and
        // `waitip 6`, as in dhcpcd.
        let split = [h("eth0", true, false), h("eth1", false, true)];
        assert!(waited(&split, &[], &[V4, V6]));
        assert!(waited(&split, &["eth0", "eth1"], &[V4, V6]));
        // Named interfaces: only they count, and each needs an address.
        assert!(!waited(&split, &["eth0"], &[V4, V6]));
        assert!(waited(&split, &["eth0"], &[V4]));
        let one_bare = [h("eth0", true, true), h("eth1", false, false)];
        assert!(!waited(&one_bare, &["eth0", "eth1"], &[]));
        assert!(!waited(&one_bare[..1], &["eth0", "eth1"], &[]));
        assert!(waited(&one_bare, &[], &[V6]));
        assert_eq!(show_waitip(&[V4, V6]), "4,6");
        assert_eq!(show_waitip(&[]), "-");
    }

    #[test]
    fn outcomes_and_exit_codes() {
        assert_eq!(Outcome::Bound.exit_code(), 0);
        assert_eq!(Outcome::Stopped.exit_code(), 0);
        assert_eq!(Outcome::Released.exit_code(), 0);
        assert_eq!(Outcome::TimedOut.exit_code(), 1);
        assert_eq!(Failure::Config(anyhow!("x")).exit_code(), 2);
        assert_eq!(Failure::System(anyhow!("x")).exit_code(), 3);
    }

    #[test]
    fn liveness() {
        assert!(alive(nix::unistd::Pid::this()));
        assert!(!alive(nix::unistd::Pid::from_raw(i32::MAX)));
    }

    #[test]
    fn seeds_differ_per_interface() {
        assert_ne!(seed_for(2), seed_for(3));
    }

    #[test]
    fn missing_config_file_is_a_config_failure() {
        let e = load_config(Some(Path::new("/nonexistent/dhcpcd.conf"))).unwrap_err();
        assert_eq!(e.exit_code(), EXIT_USAGE);
        assert!(e.to_string().contains("/nonexistent/dhcpcd.conf"));
    }
}
