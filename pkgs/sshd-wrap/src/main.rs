//! sshd-wrap: flags, logging and signals; the work is in `sshd_wrap::daemon`.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use sshd_wrap::daemon::{self, helper, log, Options, DEFAULT_AUTHORIZED_KEYS};
use sshd_wrap::MaxStartups;

/// Key-only SSH access to a LinuxKit host: every session runs in the host's namespaces.
#[derive(Debug, Parser)]
#[command(name = "sshd-wrap", version, about)]
struct Cli {
    /// Port to listen on, for addresses given without one (sshd -p).
    #[arg(short = 'p', long, default_value_t = 22)]
    port: u16,
    /// Address to listen on, ADDR or ADDR:PORT; repeat for more. Default: 0.0.0.0.
    #[arg(short = 'l', long = "listen", value_name = "ADDR[:PORT]")]
    listen: Vec<String>,
    /// The ed25519 host key; made on first start (mode 0600) if missing (sshd -h).
    #[arg(
        short = 'k',
        long,
        value_name = "FILE",
        default_value = "/etc/ssh/ssh_host_ed25519_key"
    )]
    host_key: PathBuf,
    /// An authorized_keys file (%u user, %h home); repeat for more. Read at every login.
    /// Default: /root/.ssh/authorized_keys and /run/config/ssh/authorized_keys.
    #[arg(short = 'a', long = "authorized-keys", value_name = "FILE")]
    authorized_keys: Vec<String>,
    /// Run sessions in the mount, uts, ipc, net, pid and cgroup namespaces of this process.
    #[arg(long, value_name = "PID")]
    host_namespaces: Option<u32>,
    /// The passwd file users are looked up in. Default: /etc/passwd, or with
    /// --host-namespaces, that process's /etc/passwd (through /proc/PID/root).
    #[arg(long, value_name = "FILE")]
    passwd: Option<PathBuf>,
    /// The group file, read inside the session's mount namespace.
    #[arg(long, value_name = "FILE", default_value = "/etc/group")]
    group: PathBuf,
    /// Seconds a connection has to log in (sshd LoginGraceTime; 0: no limit).
    #[arg(short = 'g', long, value_name = "SECS", default_value_t = 120)]
    login_grace_time: u64,
    /// Connections not logged in yet: start:rate:full (sshd MaxStartups).
    #[arg(long, value_name = "START:RATE:FULL", default_value = "10:30:100")]
    max_startups: MaxStartups,
    /// Authentication attempts per connection (sshd MaxAuthTries).
    #[arg(long, value_name = "N", default_value_t = 6)]
    max_auth_tries: u32,
    /// Seconds of silence from the client before a keep-alive probe; 0: none
    /// (sshd ClientAliveInterval).
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    client_alive_interval: u64,
    /// Unanswered probes before the connection is dropped (sshd ClientAliveCountMax).
    #[arg(long, value_name = "N", default_value_t = 3)]
    client_alive_count_max: u32,
    /// Allow TCP forwarding (ssh -L and -W; -R on loopback), for keys that do not forbid it.
    #[arg(long)]
    allow_tcp_forwarding: bool,
    /// Stay in the foreground (sshd -D). Accepted for compatibility: we never fork.
    #[arg(short = 'D')]
    foreground: bool,
    /// Log to stderr (sshd -e). Accepted for compatibility: we always do.
    #[arg(short = 'e')]
    log_stderr: bool,
    /// Log debug lines too.
    #[arg(short = 'd', long)]
    debug: bool,
}

fn main() -> ExitCode {
    // A session's process: not the daemon (see daemon::helper).
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == helper::HELPER_FLAG)
    {
        helper::main();
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                daemon::EXIT_USAGE
            } else {
                0
            });
        }
    };
    log::set_debug(cli.debug);
    let result = options(&cli)
        .map_err(|e| (daemon::EXIT_USAGE, e))
        .and_then(|o| serve(o).map_err(|e| (daemon::EXIT_FATAL, e)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, e)) => {
            log::log(
                log::Level::Error,
                format_args!(
                    "event=exit code={code} error={}",
                    log::quote(&format!("{e:#}"))
                ),
            );
            ExitCode::from(code)
        }
    }
}

fn options(cli: &Cli) -> anyhow::Result<Options> {
    let listen = if cli.listen.is_empty() {
        vec![SocketAddr::new(IpAddr::from([0, 0, 0, 0]), cli.port)]
    } else {
        cli.listen
            .iter()
            .map(|a| parse_listen(a, cli.port))
            .collect::<anyhow::Result<_>>()?
    };
    let authorized_keys = if cli.authorized_keys.is_empty() {
        DEFAULT_AUTHORIZED_KEYS
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        cli.authorized_keys.clone()
    };
    let passwd = cli
        .passwd
        .clone()
        .unwrap_or_else(|| match cli.host_namespaces {
            Some(pid) => PathBuf::from(format!("/proc/{pid}/root/etc/passwd")),
            None => PathBuf::from("/etc/passwd"),
        });
    let secs = |s: u64| (s > 0).then(|| Duration::from_secs(s));
    Ok(Options {
        listen,
        host_key: cli.host_key.clone(),
        authorized_keys,
        passwd,
        group: cli.group.clone(),
        host_pid: cli.host_namespaces,
        // 0 means no limit, as in sshd; a century is as good.
        login_grace_time: secs(cli.login_grace_time)
            .unwrap_or(Duration::from_secs(100 * 365 * 86400)),
        max_startups: cli.max_startups,
        max_auth_tries: cli.max_auth_tries.max(1),
        client_alive_interval: secs(cli.client_alive_interval),
        client_alive_count_max: cli.client_alive_count_max,
        allow_tcp_forwarding: cli.allow_tcp_forwarding,
    })
}

/// `ADDR`, `ADDR:PORT` or `[V6]:PORT`.
fn parse_listen(text: &str, port: u16) -> anyhow::Result<SocketAddr> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let ip = text
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .with_context(|| format!("--listen {text:?}: not an address (names are not looked up)"))?;
    Ok(SocketAddr::new(ip, port))
}

fn serve(options: Options) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async {
        let listeners = daemon::bind(&options.listen).await?;
        let shutdown = shutdown_signal()?;
        daemon::run(options, listeners, shutdown).await
    })
}

/// SIGTERM or SIGINT end the daemon, and with it the connections. SIGHUP is logged and ignored: keys are read at every
/// login anyway, so there is nothing to reload.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    let mut hup = signal(SignalKind::hangup()).context("SIGHUP handler")?;
    Ok(async move {
        loop {
            tokio::select! {
                _ = term.recv() => return,
                _ = int.recv() => return,
                _ = hup.recv() => log::log(log::Level::Info, "event=signal signal=hup action=none"),
            }
        }
    })
}
