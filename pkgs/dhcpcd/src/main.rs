//! dhcpcd: flags, logging and signals; the work is in `dhcpcd::daemon`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use dhcpcd::daemon::{self, log, Options, Signal};

/// A DHCPv4 client with dhcpcd's flags, for LinuxKit images.
#[derive(Debug, Parser)]
#[command(name = "dhcpcd", version, about)]
struct Cli {
    /// Exit once bound (every named interface, or any one without names).
    #[arg(short = '1', long)]
    oneshot: bool,
    /// Stay in the foreground. Accepted for compatibility: we never fork.
    #[arg(short = 'B', long)]
    nobackground: bool,
    /// Read this config file instead of /etc/dhcpcd.conf.
    #[arg(short = 'f', long = "config", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Seconds to wait for a lease (0: forever); overrides `timeout`.
    #[arg(short = 't', long, value_name = "SECS")]
    timeout: Option<u32>,
    /// Release the lease (ask the running dhcpcd to, or do it ourselves) and exit.
    #[arg(short = 'k', long)]
    release: bool,
    /// Log debug lines too.
    #[arg(short = 'd', long)]
    debug: bool,
    /// Where to write resolv.conf.
    #[arg(long, value_name = "PATH", default_value = daemon::DEFAULT_RESOLV_CONF)]
    resolv_conf: PathBuf,
    /// Where to write the NTP servers (one address per line).
    #[arg(long, value_name = "PATH", default_value = daemon::DEFAULT_NTP_FILE)]
    ntp_file: PathBuf,
    /// Where leases are stored for INIT-REBOOT after a restart.
    #[arg(long, value_name = "PATH", default_value = daemon::DEFAULT_LEASE_DIR)]
    lease_dir: PathBuf,
    /// Interfaces to run on; without any, every allowed Ethernet interface.
    #[arg(value_name = "INTERFACE")]
    interfaces: Vec<String>,
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
    let _ = cli.nobackground;
    let opts = Options {
        config_file: cli.config,
        interfaces: cli.interfaces,
        oneshot: cli.oneshot,
        timeout: cli.timeout,
        release: cli.release,
        resolv_conf: cli.resolv_conf,
        ntp_file: cli.ntp_file,
        lease_dir: cli.lease_dir,
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return fail(
                &format!("starting the async runtime: {e}"),
                daemon::EXIT_SYSTEM,
            )
        }
    };
    let result = rt.block_on(async {
        let signals = match svckit::signals::events(Signal::Terminate, Signal::Release) {
            Ok(s) => s,
            Err(e) => return Err(daemon::Failure::System(e.into())),
        };
        daemon::run(opts, signals).await
    });
    match result {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(e) => fail(&e.to_string(), e.exit_code()),
    }
}

fn fail(message: &str, code: u8) -> ExitCode {
    log::log(
        log::Level::Error,
        None,
        format_args!("event=exit code={code} error={}", log::quote(message)),
    );
    ExitCode::from(code)
}
