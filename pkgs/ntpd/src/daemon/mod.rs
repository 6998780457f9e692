//! The I/O around the engine: one UDP socket per request, the resolver, the
//! config and DHCP files, signals, and the system clock. `run` takes the
//! signals as a channel, so tests and main drive it the same way.

pub mod dns;
pub mod log;
pub mod net;
pub mod sys;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::clock::Clock;
use crate::config::{Config, Kind, ServerSpec};
use crate::engine::{Action, Engine, EngineConfig, GroupId, Outcome, RequestId};
use crate::event::Level;
use crate::packet::NtpTimestamp;
use crate::rng::SplitMix64;
use log::quote;

pub const DEFAULT_CONFIG: &str = "/etc/ntpd.conf";
pub const DEFAULT_DHCP_FILE: &str = "/etc/ntp-servers";
pub const DEFAULT_RESOLV_CONF: &str = "/etc/resolv.conf";

/// Exit codes (README.md, "Exit codes").
pub const EXIT_OK: u8 = 0;
pub const EXIT_NO_MEASUREMENT: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_SYSTEM: u8 = 3;
pub const EXIT_PANIC: u8 = 4;

/// How often the DHCP hand-off file is checked for changes.
pub const HANDOFF_POLL: Duration = Duration::from_secs(1);

#[derive(Clone, Debug)]
pub struct Options {
    /// The config file; None: /etc/ntpd.conf if it exists.
    pub config_file: Option<PathBuf>,
    /// Servers from the command line (-p).
    pub servers: Vec<String>,
    /// The DHCP hand-off file; None: not used.
    pub dhcp_file: Option<PathBuf>,
    /// resolv.conf candidates, the first readable one is used.
    pub resolv_conf: Vec<PathBuf>,
    pub engine: EngineConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM, SIGINT: stop.
    Terminate,
    /// SIGHUP: read the config and the DHCP file again.
    Reload,
}

#[derive(Debug, Error)]
pub enum Failure {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    System(String),
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => EXIT_USAGE,
            Failure::System(_) => EXIT_SYSTEM,
        }
    }
}

enum Msg {
    Datagram {
        request: RequestId,
        from: SocketAddr,
        bytes: Vec<u8>,
        received: NtpTimestamp,
    },
    Resolved {
        group: GroupId,
        result: Result<Vec<IpAddr>, String>,
    },
}

/// The servers from the flags and the config file.
fn load_servers(opts: &Options) -> Result<Vec<ServerSpec>, Failure> {
    let mut specs = Vec::new();
    for s in &opts.servers {
        let spec =
            ServerSpec::parse(Kind::Server, s).map_err(|e| Failure::Usage(format!("-p: {e}")))?;
        if !specs.contains(&spec) {
            specs.push(spec);
        }
    }
    let (path, explicit) = match &opts.config_file {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from(DEFAULT_CONFIG), false),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if !explicit && e.kind() == std::io::ErrorKind::NotFound => {
            log::log(
                Level::Debug,
                format_args!("event=config path={} status=absent", path.display()),
            );
            return Ok(specs);
        }
        Err(e) => {
            return Err(Failure::Usage(format!(
                "reading the config file {}: {e}",
                path.display()
            )))
        }
    };
    let cfg = Config::parse(&text)
        .map_err(|e| Failure::Usage(format!("config file {}: {e}", path.display())))?;
    for w in &cfg.warnings {
        log::log(
            Level::Warn,
            format_args!(
                "event=config path={} line={} message={}",
                path.display(),
                w.line,
                quote(&w.message)
            ),
        );
    }
    for spec in cfg.servers {
        if !specs.contains(&spec) {
            specs.push(spec);
        }
    }
    Ok(specs)
}

/// Watches the DHCP hand-off file by polling its inode, size and mtime: this
/// works across bind mounts and when the folder appears later, where inotify
/// would not.
struct Handoff {
    path: PathBuf,
    seen: Option<Option<(u64, u64, i64, i64)>>,
}

impl Handoff {
    /// The servers if the file changed since the last look (a missing file has none).
    fn check(&mut self) -> Option<Vec<SocketAddr>> {
        let stamp = std::fs::metadata(&self.path)
            .ok()
            .map(|m| (m.ino(), m.len(), m.mtime(), m.mtime_nsec()));
        if self.seen == Some(stamp) {
            return None;
        }
        self.seen = Some(stamp);
        let ips = match std::fs::read_to_string(&self.path) {
            Ok(text) => crate::handoff::parse(&text),
            Err(_) => Vec::new(),
        };
        let list: Vec<String> = ips.iter().map(SocketAddr::to_string).collect();
        log::log(
            Level::Info,
            format_args!(
                "event=dhcp path={} servers={}",
                self.path.display(),
                if list.is_empty() {
                    "-".into()
                } else {
                    list.join(",")
                }
            ),
        );
        Some(ips)
    }
}

/// Runs until -q is done, a fatal error, or SIGTERM; returns the exit code.
pub async fn run(
    opts: Options,
    mut signals: mpsc::UnboundedReceiver<Signal>,
) -> Result<u8, Failure> {
    let start = Instant::now();
    let mono = move || start.elapsed().as_secs_f64();
    let mut clock = sys::SystemClock;
    let specs = load_servers(&opts)?;
    let mut fallback = SplitMix64::new(
        u64::from(std::process::id()) << 32 ^ clock.now().0 ^ sys::random_u64().unwrap_or(0),
    );
    let random = Box::new(move || sys::random_u64().unwrap_or_else(|| fallback.next_u64()));
    let mut engine = Engine::new(opts.engine.clone(), 0.0, random);
    let mut handoff = opts
        .dhcp_file
        .clone()
        .map(|path| Handoff { path, seen: None });
    log::log(
        Level::Info,
        format_args!(
            "event=start version={} mode={} dry_run={} servers={} dhcp_file={}",
            env!("CARGO_PKG_VERSION"),
            if opts.engine.oneshot {
                "oneshot"
            } else {
                "daemon"
            },
            opts.engine.dry_run,
            if specs.is_empty() {
                "-".to_string()
            } else {
                specs
                    .iter()
                    .map(|s| s.display())
                    .collect::<Vec<_>>()
                    .join(",")
            },
            opts.dhcp_file
                .as_ref()
                .map_or("-".into(), |p| p.display().to_string()),
        ),
    );
    engine.set_servers(&specs, 0.0);
    let dhcp = handoff
        .as_mut()
        .and_then(Handoff::check)
        .unwrap_or_default();
    engine.set_dhcp_servers(&dhcp, 0.0);
    if opts.engine.oneshot && specs.is_empty() && dhcp.is_empty() {
        log::log(
            Level::Error,
            "event=exit code=1 error=\"no servers: give -p HOST, server lines in the config file, or a DHCP file with addresses\"",
        );
        return Ok(EXIT_NO_MEASUREMENT);
    }

    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let mut listeners: HashMap<RequestId, JoinHandle<()>> = HashMap::new();
    let mut handoff_tick = tokio::time::interval(HANDOFF_POLL);
    handoff_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let far = Duration::from_secs(86_400);
    let result = loop {
        engine.poll(mono(), &mut clock);
        if let Some(outcome) = carry_out(&mut engine, &mut clock, &tx, &mut listeners, &opts) {
            break Some(outcome);
        }
        let wake = engine
            .next_wakeup()
            .map_or(start + far, |t| start + Duration::from_secs_f64(t.max(0.0)));
        tokio::select! {
            _ = tokio::time::sleep_until(wake) => {}
            Some(msg) = rx.recv() => match msg {
                Msg::Datagram { request, from, bytes, received } => {
                    engine.receive(request, from, &bytes, received, mono(), &mut clock);
                }
                Msg::Resolved { group, result } => engine.resolved(group, result, mono()),
            },
            _ = handoff_tick.tick(), if handoff.is_some() => {
                if let Some(ips) = handoff.as_mut().and_then(Handoff::check) {
                    engine.set_dhcp_servers(&ips, mono());
                }
            }
            sig = signals.recv() => match sig {
                Some(Signal::Reload) => {
                    log::log(Level::Info, "event=signal signal=hup action=reload");
                    match load_servers(&opts) {
                        Ok(specs) => engine.set_servers(&specs, mono()),
                        Err(e) => log::log(
                            Level::Error,
                            format_args!("event=reload error={} action=keep", quote(&e.to_string())),
                        ),
                    }
                    if let Some(h) = handoff.as_mut() {
                        h.seen = None;
                        if let Some(ips) = h.check() {
                            engine.set_dhcp_servers(&ips, mono());
                        }
                    }
                }
                Some(Signal::Terminate) | None => {
                    log::log(Level::Info, "event=exit code=0 reason=signal");
                    break None;
                }
            },
        }
    };
    for (_, h) in listeners.drain() {
        h.abort();
    }
    let Some(outcome) = result else {
        return Ok(EXIT_OK);
    };
    let code = outcome.exit_code();
    match &outcome {
        Outcome::Synced { offset } => log::log(
            Level::Info,
            format_args!("event=exit code={code} offset={offset:+.9} dry_run={}", opts.engine.dry_run),
        ),
        Outcome::NoMeasurement { reason } => log::log(
            Level::Error,
            format_args!("event=exit code={code} error={}", quote(reason)),
        ),
        Outcome::Panic { offset } => log::log(
            Level::Error,
            format_args!(
                "event=exit code={code} offset={offset:+.9} error=\"offset over the panic threshold; check the servers, or allow the first step with -g\""
            ),
        ),
        Outcome::ClockFailed { error } => log::log(
            Level::Error,
            format_args!("event=exit code={code} error={}", quote(error)),
        ),
    }
    Ok(code)
}

/// Logs the engine's events and carries out its actions; Some at the end.
fn carry_out(
    engine: &mut Engine,
    clock: &mut dyn Clock,
    tx: &mpsc::UnboundedSender<Msg>,
    listeners: &mut HashMap<RequestId, JoinHandle<()>>,
    opts: &Options,
) -> Option<Outcome> {
    let mut exit = None;
    loop {
        for e in engine.take_events() {
            log::log(e.level(), &e);
        }
        let actions = engine.take_actions();
        if actions.is_empty() {
            return exit;
        }
        for a in actions {
            match a {
                Action::Send(o) => {
                    let sock = match net::socket_for(o.to) {
                        Ok(s) => s,
                        Err(e) => {
                            // The request expires and counts as a miss.
                            log::log(
                                Level::Warn,
                                format_args!(
                                    "event=socket source={} error={}",
                                    o.to,
                                    quote(&e.to_string())
                                ),
                            );
                            continue;
                        }
                    };
                    // T1 as close to the send as we can take it.
                    let t1 = clock.now();
                    let sent = sock.send_to(&o.packet, o.to);
                    let sock = sent.and_then(|_| tokio::net::UdpSocket::from_std(sock));
                    let sock = match sock {
                        Ok(s) => s,
                        Err(e) => {
                            log::log(
                                Level::Warn,
                                format_args!(
                                    "event=send source={} error={}",
                                    o.to,
                                    quote(&e.to_string())
                                ),
                            );
                            continue;
                        }
                    };
                    engine.sent(o.request, t1);
                    let tx = tx.clone();
                    let request = o.request;
                    listeners.insert(
                        request,
                        tokio::spawn(async move {
                            while let Ok(d) = net::recv(&sock).await {
                                let received = d.received.unwrap_or_else(sys::now);
                                let msg = Msg::Datagram {
                                    request,
                                    from: d.from,
                                    bytes: d.bytes,
                                    received,
                                };
                                if tx.send(msg).is_err() {
                                    break;
                                }
                            }
                        }),
                    );
                }
                Action::Close(id) => {
                    if let Some(h) = listeners.remove(&id) {
                        h.abort();
                    }
                }
                Action::Resolve { group, name } => {
                    let tx = tx.clone();
                    let paths = opts.resolv_conf.clone();
                    tokio::spawn(async move {
                        let rc = dns::read_resolv_conf(&paths);
                        let result = dns::lookup(&name, &rc).await;
                        let _ = tx.send(Msg::Resolved { group, result });
                    });
                }
                Action::Exit(o) => exit = Some(o),
            }
        }
    }
}
