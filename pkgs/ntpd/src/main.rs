//! ntpd: flags, logging and signals; the work is in `ntpd::daemon`.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use ntpd::daemon::{self, log, Options, Signal};
use ntpd::discipline::{DisciplineConfig, PANIC_THRESHOLD, STEP_THRESHOLD};
use ntpd::engine::EngineConfig;
use ntpd::Level;

/// An NTP client with ntpd's and openntpd's flags, for LinuxKit images.
#[derive(Debug, Parser)]
#[command(name = "ntpd", version, about)]
struct Cli {
    /// Set the clock once and exit (busybox/ntpd -q).
    #[arg(short = 'q')]
    oneshot: bool,
    /// Measure and log, but never touch the clock.
    #[arg(long)]
    dry_run: bool,
    /// A server, HOST or HOST:PORT; repeat for more (busybox -p).
    #[arg(short = 'p', long = "peer", value_name = "HOST[:PORT]")]
    peers: Vec<String>,
    /// The config file (openntpd -f). Default: /etc/ntpd.conf if it exists.
    #[arg(short = 'f', long = "config", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Step the clock at start if the offset is over the step threshold (openntpd -s).
    /// This is the default; the flag is accepted for compatibility.
    #[arg(short = 's')]
    step_at_start: bool,
    /// Allow the first offset to be over the panic threshold (ntpd -g).
    #[arg(short = 'g')]
    allow_panic: bool,
    /// Slew rather than step after the start: step threshold 600 s (ntpd -x).
    #[arg(short = 'x')]
    slew_only: bool,
    /// Stay in the foreground. Accepted for compatibility: we never fork.
    #[arg(short = 'n')]
    foreground: bool,
    /// Log debug lines too (every sample, every dropped packet and why).
    #[arg(short = 'd', long)]
    debug: bool,
    /// Offsets over this many seconds are stepped, smaller ones slewed.
    #[arg(long, value_name = "SECS")]
    step_threshold: Option<f64>,
    /// Offsets over this many seconds are refused; 0 disables the check.
    #[arg(long, value_name = "SECS", default_value_t = PANIC_THRESHOLD)]
    panic_threshold: f64,
    /// Shortest poll interval, as a power of two seconds.
    #[arg(long, value_name = "EXP", default_value_t = 6, value_parser = clap::value_parser!(u8).range(3..=17))]
    minpoll: u8,
    /// Longest poll interval, as a power of two seconds.
    #[arg(long, value_name = "EXP", default_value_t = 10, value_parser = clap::value_parser!(u8).range(3..=17))]
    maxpoll: u8,
    /// Requests per server at start and after a step.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=16))]
    burst: u8,
    /// Seconds between the requests of a burst.
    #[arg(long, value_name = "SECS", default_value_t = 2.0)]
    burst_interval: f64,
    /// With -q: give up after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    timeout: f64,
    /// The NTP servers handed over by the DHCP client, one address per line.
    #[arg(long, value_name = "PATH", default_value = daemon::DEFAULT_DHCP_FILE)]
    dhcp_file: PathBuf,
    /// Do not read the DHCP file.
    #[arg(long, conflicts_with = "dhcp_file")]
    no_dhcp: bool,
    /// resolv.conf to use; repeat for fallbacks, the first readable one wins.
    #[arg(long, value_name = "PATH")]
    resolv_conf: Vec<PathBuf>,
}

fn main() -> ExitCode {
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
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err((code, e)) => {
            log::log(
                Level::Error,
                format_args!(
                    "event=exit code={code} error={}",
                    log::quote(&format!("{e:#}"))
                ),
            );
            ExitCode::from(code)
        }
    }
}

fn run(cli: Cli) -> Result<u8, (u8, anyhow::Error)> {
    let usage = |m: String| (daemon::EXIT_USAGE, anyhow::anyhow!(m));
    let positive = |name: &str, v: f64| {
        if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            Err(usage(format!(
                "{name} must be a positive number of seconds"
            )))
        }
    };
    let step_threshold = match cli.step_threshold {
        Some(s) => positive("--step-threshold", s)?,
        None if cli.slew_only => 600.0,
        None => STEP_THRESHOLD,
    };
    if cli.minpoll > cli.maxpoll {
        return Err(usage("--minpoll must not be over --maxpoll".into()));
    }
    if !(cli.panic_threshold.is_finite() && cli.panic_threshold >= 0.0) {
        return Err(usage("--panic-threshold must be 0 or more".into()));
    }
    let _ = (cli.step_at_start, cli.foreground);
    let opts = Options {
        config_file: cli.config,
        servers: cli.peers,
        dhcp_file: (!cli.no_dhcp).then_some(cli.dhcp_file),
        resolv_conf: if cli.resolv_conf.is_empty() {
            vec![PathBuf::from(daemon::DEFAULT_RESOLV_CONF)]
        } else {
            cli.resolv_conf
        },
        engine: EngineConfig {
            minpoll: cli.minpoll,
            maxpoll: cli.maxpoll,
            burst: cli.burst,
            burst_interval: positive("--burst-interval", cli.burst_interval)?,
            discipline: DisciplineConfig {
                step_threshold,
                panic_threshold: (cli.panic_threshold > 0.0).then_some(cli.panic_threshold),
                allow_first_panic: cli.allow_panic,
                ..DisciplineConfig::default()
            },
            oneshot: cli.oneshot,
            oneshot_timeout: positive("--timeout", cli.timeout)?,
            dry_run: cli.dry_run,
        },
    };
    let system = |e: anyhow::Error| (daemon::EXIT_SYSTEM, e);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .map_err(system)?;
    rt.block_on(async {
        let signals = svckit::signals::events(Signal::Terminate, Signal::Reload)
            .context("installing signal handlers")
            .map_err(system)?;
        daemon::run(opts, signals)
            .await
            .map_err(|e| (e.exit_code(), anyhow::Error::new(e)))
    })
}
