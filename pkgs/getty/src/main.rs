//! getty: flags and console selection; the work is in `getty::supervisor`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;
use getty::log::{self, quote, Level};
use getty::{console, supervisor, Console, HostNamespaces, Ns, Options};

/// A console login: one supervised login loop on every console, agetty's flags.
#[derive(Debug, Parser)]
#[command(name = "getty", version, about)]
struct Cli {
    /// agetty's `port [baud[,baud...]] [term]`. Without a port: --console, else the
    /// kernel's console= entries.
    #[arg(value_name = "PORT [BAUD] [TERM]")]
    args: Vec<String>,
    /// A console as the kernel names it (`ttyS0,115200n8`, `tty0`, `/dev/pts/3`); repeat it for
    /// several.
    #[arg(long = "console", value_name = "NAME[,OPTIONS]")]
    consoles: Vec<String>,
    /// Where the console= entries come from.
    #[arg(long, value_name = "FILE", default_value = "/proc/cmdline")]
    cmdline: PathBuf,
    #[arg(long, value_name = "FILE", default_value = "/etc/passwd")]
    passwd: PathBuf,
    #[arg(long, value_name = "FILE", default_value = "/etc/group")]
    group: PathBuf,
    /// The shadow file; LinuxKit's model is the host's /etc/getty.shadow.
    #[arg(long, value_name = "FILE", default_value = "/etc/shadow")]
    shadow: PathBuf,
    /// The issue shown before the prompt.
    #[arg(
        short = 'f',
        long = "issue-file",
        value_name = "FILE",
        default_value = "/etc/issue"
    )]
    issue_file: PathBuf,
    /// Show no issue.
    #[arg(short = 'i', long)]
    noissue: bool,
    /// Seconds to wait after a failed login.
    #[arg(long, value_name = "SECS", default_value = "3", value_parser = seconds)]
    fail_delay: Duration,
    /// Failed logins before the session starts over.
    #[arg(long, value_name = "N", default_value_t = 3)]
    login_tries: u32,
    /// Let accounts whose shadow password field is empty in without a password.
    #[arg(long)]
    allow_empty_passwords: bool,
    /// A root shell on every console with no login (also INSECURE=true in the environment).
    #[arg(long)]
    insecure: bool,
    /// Run shells in the namespaces of this process (1: the host, with `pid: host`).
    #[arg(long, value_name = "PID")]
    host_namespaces: Option<u32>,
    /// Which namespaces --host-namespaces enters.
    #[arg(
        long,
        value_name = "NS,...",
        value_delimiter = ',',
        default_value = "cgroup,ipc,uts,net,pid,mnt"
    )]
    namespaces: Vec<Ns>,
    /// Hang the line up (vhangup) before each session.
    #[arg(long)]
    vhangup: bool,
    /// agetty's local-line flag; accepted, since console lines are always local (CLOCAL).
    #[arg(short = 'L', long = "local-line")]
    local_line: bool,
}

fn seconds(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("expected seconds, got {s:?}"))?;
    Duration::try_from_secs_f64(v).map_err(|_| format!("expected seconds >= 0, got {s:?}"))
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { getty::EXIT_USAGE } else { 0 });
        }
    };
    let cmdline = cli.cmdline.clone();
    let (opts, mut consoles) = match setup(cli) {
        Ok(v) => v,
        Err(e) => return fail(&format!("{e:#}"), getty::EXIT_USAGE),
    };
    if consoles.is_empty() {
        match from_cmdline(&cmdline) {
            Ok(found) => consoles = found,
            Err(e) => return fail(&format!("{e:#}"), getty::EXIT_NO_CONSOLE),
        }
    }
    let (consoles, dropped) = supervisor::usable(consoles);
    for (c, why) in dropped {
        log::log(
            Level::Warn,
            Some(&c.name),
            format_args!("event=console-skipped reason={}", quote(&why)),
        );
    }
    if consoles.is_empty() {
        return fail(
            "no console to run on: name a tty (getty ttyS0), or boot with console= entries",
            getty::EXIT_NO_CONSOLE,
        );
    }
    if opts.insecure {
        log::log(
            Level::Warn,
            None,
            "event=insecure message=\"root shell without login on every console\"",
        );
    }
    let names: Vec<&str> = consoles.iter().map(|c| c.name.as_str()).collect();
    log::log(
        Level::Info,
        None,
        format_args!(
            "event=start version={} consoles={}",
            env!("CARGO_PKG_VERSION"),
            quote(&names.join(","))
        ),
    );
    match supervisor::run(&opts, consoles) {
        Ok(()) => ExitCode::from(getty::EXIT_OK),
        Err(e) => fail(&e.to_string(), getty::EXIT_SYSTEM),
    }
}

fn setup(cli: Cli) -> anyhow::Result<(Options, Vec<Console>)> {
    let _ = cli.local_line;
    let mut consoles = Vec::new();
    if !cli.args.is_empty() {
        consoles.push(console::from_agetty_args(&cli.args)?);
    }
    for c in &cli.consoles {
        consoles.push(Console::parse(c).with_context(|| format!("--console {c}"))?);
    }
    if cli.namespaces.is_empty() && cli.host_namespaces.is_some() {
        bail!("--namespaces is empty");
    }
    let insecure = cli.insecure || std::env::var("INSECURE").as_deref() == Ok("true");
    let opts = Options {
        passwd: cli.passwd,
        group: cli.group,
        shadow: cli.shadow,
        issue: (!cli.noissue).then_some(cli.issue_file),
        fail_delay: cli.fail_delay,
        login_tries: cli.login_tries.max(1),
        allow_empty: cli.allow_empty_passwords,
        insecure,
        host_namespaces: cli.host_namespaces.map(|pid| HostNamespaces {
            pid,
            namespaces: cli.namespaces,
        }),
        vhangup: cli.vhangup,
        ..Options::default()
    };
    Ok((opts, consoles))
}

/// The consoles of the kernel command line; the entries that do not parse are logged.
fn from_cmdline(path: &Path) -> anyhow::Result<Vec<Console>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let (found, errors) = console::from_cmdline(&text);
    for e in errors {
        log::log(
            Level::Warn,
            None,
            format_args!("event=console-skipped reason={}", quote(&e.to_string())),
        );
    }
    Ok(found)
}

fn fail(message: &str, code: u8) -> ExitCode {
    log::log(
        Level::Error,
        None,
        format_args!("event=exit code={code} error={}", quote(message)),
    );
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn flags_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn fail_delay_takes_fractions() {
        assert_eq!(seconds("0.25"), Ok(Duration::from_millis(250)));
        assert_eq!(seconds("3"), Ok(Duration::from_secs(3)));
        assert!(seconds("-1").is_err());
        assert!(seconds("soon").is_err());
    }

    #[test]
    fn insecure_is_off_unless_asked() {
        let cli = Cli::try_parse_from(["getty", "ttyS0"]).unwrap();
        assert!(!cli.insecure);
        let cli = Cli::try_parse_from(["getty", "--insecure", "ttyS0", "115200", "vt100"]).unwrap();
        assert!(cli.insecure);
        assert_eq!(cli.args, ["ttyS0", "115200", "vt100"]);
    }
}
