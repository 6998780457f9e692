//! One console's session, in its own process: open the tty, show the issue, log someone in,
//! run their shell, wait for it. The process's exit code tells the supervisor how it ended.

use std::io::{self, Read as _};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::time::SystemTime;

use hostns::User;
use nix::fcntl::OFlag;
use nix::sys::signal::{sigprocmask, SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{self, ForkResult};

use crate::console::Console;
use crate::issue::{self, IssueContext};
use crate::log::{self, quote, Level};
use crate::restart::Ended;
use crate::shadow::{self, Policy};
use crate::tty::{Tty, TtyError};
use crate::{sys, Options};

/// Exit code of a session process that saw a person: see [`Ended::Session`].
pub const EXIT_SESSION: i32 = 0;
/// Exit code of a session process that failed: see [`Ended::Failed`].
pub const EXIT_FAILED: i32 = 1;

/// What the console shows in insecure mode, before the shell.
pub const INSECURE_BANNER: &str = "\n\
**********************************************************************\n\
*  INSECURE CONSOLE: root shell without login (INSECURE=true or      *\n\
*  --insecure). Anyone at this console is root. Do not ship this.    *\n\
**********************************************************************\n\n";

#[derive(Debug, thiserror::Error)]
enum SessionError {
    #[error("setsid: {0}")]
    Setsid(nix::errno::Errno),
    #[error(transparent)]
    Tty(#[from] TtyError),
    #[error("writing to the console: {0}")]
    Io(#[from] io::Error),
    #[error("entering the host's namespaces: {0}")]
    Namespaces(#[from] hostns::NsError),
    #[error("starting the shell: {0}")]
    Fork(io::Error),
}

/// Runs the session of `console` in this (freshly forked) process; returns the exit code.
pub fn run(opts: &Options, console: &Console) -> i32 {
    // The supervisor blocks signals for its signalfd: a session must die of SIGTERM and SIGHUP.
    sys::reset_signals();
    match session(opts, console) {
        Ok(Ended::Session) => EXIT_SESSION,
        Ok(Ended::Failed) => EXIT_FAILED,
        Err(e) => {
            log::log(
                Level::Error,
                Some(&console.name),
                format_args!("event=session-failed error={}", quote(&e.to_string())),
            );
            EXIT_FAILED
        }
    }
}

fn session(opts: &Options, console: &Console) -> Result<Ended, SessionError> {
    unistd::setsid().map_err(SessionError::Setsid)?;
    let mut tty = Tty::open(console, opts.vhangup)?;
    tty.configure(console)?;
    let uts = nix::sys::utsname::uname().ok();
    let field = |f: fn(&nix::sys::utsname::UtsName) -> &std::ffi::OsStr| {
        uts.as_ref()
            .map(|u| f(u).to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let nodename = field(|u| u.nodename());
    if let Some(path) = &opts.issue {
        let ctx = IssueContext {
            nodename: nodename.clone(),
            line: console.name.clone(),
            sysname: field(|u| u.sysname()),
            release: field(|u| u.release()),
            version: field(|u| u.version()),
            machine: field(|u| u.machine()),
            domain: field(|u| u.domainname()),
            baud: console.speed(),
            now: unix_now(),
        };
        show_issue(&mut tty, path, &ctx, &console.name)?;
    }
    if opts.insecure {
        tty.write_all(INSECURE_BANNER.as_bytes())?;
        let root = root_user(&opts.passwd);
        log::log(
            Level::Warn,
            Some(&console.name),
            format_args!(
                "event=login user={} uid={} insecure=true",
                quote(&root.name),
                root.uid
            ),
        );
        return start_shell(opts, console, &mut tty, &root);
    }
    let prompt = format!("{nodename} login: ");
    for _ in 0..opts.login_tries.max(1) {
        let Some(name) = read_user_name(&mut tty, &prompt)? else {
            log::log(
                Level::Info,
                Some(&console.name),
                "event=hangup at=login-prompt",
            );
            return Ok(Ended::Failed);
        };
        match login(opts, &mut tty, &console.name, &name)? {
            Some(user) => {
                log::log(
                    Level::Info,
                    Some(&console.name),
                    format_args!("event=login user={} uid={}", quote(&user.name), user.uid),
                );
                return start_shell(opts, console, &mut tty, &user);
            }
            None => {
                // As login(1): the delay first, then the message.
                std::thread::sleep(opts.fail_delay);
                tty.write_all(b"\nLogin incorrect\n")?;
            }
        }
    }
    log::log(
        Level::Warn,
        Some(&console.name),
        format_args!("event=too-many-failures tries={}", opts.login_tries.max(1)),
    );
    Ok(Ended::Session)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn show_issue(
    tty: &mut Tty,
    path: &Path,
    ctx: &IssueContext,
    console: &str,
) -> Result<(), SessionError> {
    match std::fs::read_to_string(path) {
        Ok(text) => tty.write_all(issue::expand(&text, ctx).as_bytes())?,
        // No issue file is the normal case in a scratch image without one: show nothing.
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => log::log(
            Level::Warn,
            Some(console),
            format_args!(
                "event=issue-unreadable path={} error={}",
                quote(&path.display().to_string()),
                quote(&e.to_string())
            ),
        ),
    }
    Ok(())
}

/// Prompts until a non-empty line comes; None at end of file or hang-up.
fn read_user_name(tty: &mut Tty, prompt: &str) -> Result<Option<String>, SessionError> {
    loop {
        tty.write_all(prompt.as_bytes())?;
        let Some(line) = tty.read_line()? else {
            return Ok(None);
        };
        let name = String::from_utf8_lossy(&line).trim().to_string();
        if !name.is_empty() {
            return Ok(Some(name));
        }
    }
}

/// One login attempt for `name`: asks for the password and checks it. The user on success;
/// None (logged with the reason) on any refusal.
fn login(
    opts: &Options,
    tty: &mut Tty,
    console: &str,
    name: &str,
) -> Result<Option<User>, SessionError> {
    let valid = shadow::valid_username(name);
    let passwd = if valid {
        read_db(&opts.passwd, console)
    } else {
        String::new()
    };
    // root needs no passwd entry (LinuxKit hosts may have no /etc/passwd): the shadow file
    // still has to let it in.
    let user = valid
        .then(|| {
            hostns::find_user(&passwd, name).or_else(|| (name == "root").then(hostns::builtin_root))
        })
        .flatten();
    let entry = if user.is_some() {
        shadow::find_entry(&read_db(&opts.shadow, console), name)
    } else {
        None
    };
    let policy = Policy {
        allow_empty: opts.allow_empty,
    };
    let password = if shadow::needs_password(entry.as_ref(), policy) {
        tty.set_echo(false)?;
        let written = tty.write_all(b"Password: ");
        let line = written.and_then(|()| tty.read_line());
        tty.set_echo(true)?;
        tty.write_all(b"\n")?;
        match line? {
            Some(l) => l,
            None => zeroize::Zeroizing::new(Vec::new()),
        }
    } else {
        zeroize::Zeroizing::new(Vec::new())
    };
    let today = unix_now().div_euclid(86_400);
    match shadow::authenticate(entry.as_ref(), &password, policy, today) {
        Ok(()) => Ok(user),
        Err(refusal) => {
            // A name that is not an account may be a password typed too early: never log it.
            let shown = if user.is_some() { name } else { "UNKNOWN" };
            log::log(
                Level::Warn,
                Some(console),
                format_args!(
                    "event=login-failed user={} reason={}{}",
                    quote(shown),
                    refusal.key(),
                    match &refusal {
                        shadow::Refusal::Unsupported(kind) => format!(" hash={}", quote(kind)),
                        _ => String::new(),
                    }
                ),
            );
            Ok(None)
        }
    }
}

/// Reads a passwd or shadow file; an unreadable one is logged and treated as empty, which
/// refuses every login rather than stopping the console.
fn read_db(path: &Path, console: &str) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            log::log(
                Level::Error,
                Some(console),
                format_args!(
                    "event=file-unreadable path={} error={}",
                    quote(&path.display().to_string()),
                    quote(&e.to_string())
                ),
            );
            String::new()
        }
    }
}

/// root from the passwd file, or the built-in one when the file has none.
fn root_user(passwd: &Path) -> User {
    std::fs::read_to_string(passwd)
        .ok()
        .and_then(|t| hostns::find_user(&t, "root"))
        .unwrap_or_else(hostns::builtin_root)
}

/// Enters the host's namespaces if asked, then forks the shell and waits for it. This process
/// stays, as login(1) does, so that the session ends when the shell does, whatever it left.
fn start_shell(
    opts: &Options,
    console: &Console,
    tty: &mut Tty,
    user: &User,
) -> Result<Ended, SessionError> {
    let groups = match hostns::user_groups(&opts.group, user) {
        Ok(g) => g,
        Err(e) => {
            log::log(
                Level::Warn,
                Some(&console.name),
                format_args!("event=groups-unreadable error={}", quote(&e.to_string())),
            );
            vec![user.gid]
        }
    };
    if let Some(host) = &opts.host_namespaces {
        if let Err(e) = hostns::enter_namespaces(host.pid, &host.namespaces) {
            tty.write_all(format!("getty: cannot enter the host's namespaces: {e}\n").as_bytes())?;
            return Err(e.into());
        }
    }
    // A close-on-exec pipe tells whether exec worked: EOF means it did.
    let (report_r, report_w) =
        unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| SessionError::Fork(e.into()))?;
    match sys::fork().map_err(SessionError::Fork)? {
        ForkResult::Child => {
            drop(report_r);
            let error = exec_shell(tty, user, &groups, console.term());
            let msg = format!("getty: cannot start {}: {error}\n", user.shell_or_default());
            let _ = unistd::write(&report_w, msg.as_bytes());
            std::process::exit(127);
        }
        ForkResult::Parent { child } => {
            drop(report_w);
            // ^C, ^\ and ^Z at the shell are the shell's business, not ours.
            let mut keys = SigSet::empty();
            for s in [Signal::SIGINT, Signal::SIGQUIT, Signal::SIGTSTP] {
                keys.add(s);
            }
            let _ = sigprocmask(SigmaskHow::SIG_BLOCK, Some(&keys), None);
            let failure = read_report(report_r);
            let status = loop {
                match waitpid(child, None) {
                    Ok(WaitStatus::Exited(_, code)) => break format!("exit={code}"),
                    Ok(WaitStatus::Signaled(_, sig, _)) => break format!("signal={sig}"),
                    Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
                    Err(e) => break format!("wait-error={e}"),
                }
            };
            if let Some(msg) = failure {
                tty.write_all(msg.as_bytes())?;
                log::log(
                    Level::Error,
                    Some(&console.name),
                    format_args!(
                        "event=shell-failed user={} error={}",
                        quote(&user.name),
                        quote(msg.trim())
                    ),
                );
                return Ok(Ended::Failed);
            }
            log::log(
                Level::Info,
                Some(&console.name),
                format_args!("event=logout user={} {status}", quote(&user.name)),
            );
            Ok(Ended::Session)
        }
    }
}

fn read_report(fd: OwnedFd) -> Option<String> {
    let mut text = String::new();
    let _ = std::fs::File::from(fd).read_to_string(&mut text);
    (!text.is_empty()).then_some(text)
}

/// In the shell's process: the tty as stdio, the user's rights, HOME, then exec. Returns only
/// on failure.
fn exec_shell(tty: &Tty, user: &User, groups: &[u32], term: &str) -> String {
    let fd = tty.fd();
    if let Err(e) = unistd::dup2_stdin(fd)
        .and_then(|()| unistd::dup2_stdout(fd))
        .and_then(|()| unistd::dup2_stderr(fd))
    {
        return format!("dup2: {e}");
    }
    sys::reset_signals();
    if let Err(e) = hostns::drop_privileges(user.uid, user.gid, groups) {
        return e.to_string();
    }
    let home = match hostns::chdir_home(&user.home) {
        Ok(h) => h.to_string(),
        Err(e) => return format!("chdir: {e}"),
    };
    let shell = user.shell_or_default();
    let base = Path::new(shell)
        .file_name()
        .map(|b| b.to_string_lossy().into_owned())
        .unwrap_or_else(|| "sh".into());
    let cstr = |s: String| std::ffi::CString::new(s).map_err(|e| e.to_string());
    let built = (|| {
        let path = cstr(shell.to_string())?;
        // A leading '-' makes it a login shell, which reads /etc/profile.
        let argv = [cstr(format!("-{base}"))?];
        let env = hostns::login_env(user, &home, term)
            .into_iter()
            .map(|(k, v)| cstr(format!("{k}={v}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok::<_, String>((path, argv, env))
    })();
    match built {
        Ok((path, argv, env)) => match unistd::execve(&path, &argv, &env) {
            Ok(never) => match never {},
            Err(e) => e.desc().to_string(),
        },
        Err(e) => e,
    }
}
