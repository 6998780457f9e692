//! The session helper: the process a session runs in, before it becomes the user's program.
//!
//! The daemon is multi-threaded, and setns(2) into a mount namespace refuses a multi-threaded
//! caller, so each session starts as a fresh process of our own binary (`/proc/self/exe`
//! with [`HELPER_FLAG`]). Single-threaded, it enters the host's namespaces, forks once more so
//! that the program lands in the host's PID namespace too, becomes the user and execs the
//! shell, or serves SFTP itself. Its errors go to stderr, which is the client's.

use std::ffi::CString;
use std::path::Path;

use hostns::Ns;
use nix::sys::signal::{self, SigHandler, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{self, ForkResult, Pid};

use crate::launch::{Launch, Program};

/// argv[1] that makes the binary a session helper.
pub const HELPER_FLAG: &str = "--session-helper";
/// The environment variable that carries the [`Launch`] as JSON.
pub const LAUNCH_ENV: &str = "SSHD_WRAP_LAUNCH";

/// Exit status when the session could not be set up (as OpenSSH's 255 for its own errors).
const EXIT_SETUP: i32 = 255;
/// Exit status when the program could not be exec'd (as a shell's 127).
const EXIT_EXEC: i32 = 127;

/// The namespaces a session enters, as LinuxKit's sshd gets through nsenter.
const HOST_NAMESPACES: [Ns; 6] = [Ns::Mnt, Ns::Uts, Ns::Ipc, Ns::Net, Ns::Pid, Ns::Cgroup];

/// Runs the helper; never returns.
pub fn main() -> ! {
    // The Rust runtime ignores SIGPIPE, and exec would pass that on to every pipeline the
    // user runs (`yes | head` would never end).
    // SAFETY: single-threaded; SIG_DFL installs no handler.
    let _ = unsafe { signal::signal(Signal::SIGPIPE, SigHandler::SigDfl) };
    let launch = match std::env::var(LAUNCH_ENV)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str::<Launch>(&t).map_err(|e| e.to_string()))
    {
        Ok(l) => l,
        Err(e) => fail(EXIT_SETUP, &format!("bad session description: {e}")),
    };
    if let Some(pid) = launch.host_pid {
        if let Err(e) = hostns::enter_namespaces(pid, &HOST_NAMESPACES) {
            fail(
                EXIT_SETUP,
                &format!("cannot enter the host's namespaces: {e}"),
            );
        }
        // Entering a PID namespace moves our children only: fork when it is another one.
        if !same_pid_namespace() {
            // SAFETY: we are single-threaded (a fresh process that started no threads).
            match unsafe { unistd::fork() } {
                Ok(ForkResult::Child) => {}
                Ok(ForkResult::Parent { child }) => mirror(child),
                Err(e) => fail(EXIT_SETUP, &format!("fork: {e}")),
            }
        }
    }
    become_user(&launch)
}

/// Whether our children would land in our own PID namespace (as with `pid: host`).
fn same_pid_namespace() -> bool {
    let ino = |p: &str| std::fs::metadata(p).map(|m| std::os::unix::fs::MetadataExt::ino(&m));
    matches!(
        (ino("/proc/self/ns/pid"), ino("/proc/self/ns/pid_for_children")),
        (Ok(a), Ok(b)) if a == b
    )
}

fn fail(code: i32, message: &str) -> ! {
    eprintln!("sshd-wrap: {message}");
    std::process::exit(code)
}

/// Groups, ids, home, environment, then exec (or SFTP in this process).
fn become_user(launch: &Launch) -> ! {
    let user = hostns::User {
        name: launch.user.clone(),
        uid: launch.uid,
        gid: launch.gid,
        gecos: String::new(),
        home: launch.home.clone(),
        shell: launch.shell.clone(),
    };
    // Read now, inside the host's mount namespace, so the groups are the host's.
    let groups = hostns::user_groups(Path::new(&launch.group_file), &user).unwrap_or_else(|e| {
        eprintln!("sshd-wrap: no supplementary groups: {e}");
        vec![launch.gid]
    });
    if unistd::geteuid().as_raw() == 0 {
        if let Err(e) = hostns::drop_privileges(launch.uid, launch.gid, &groups) {
            fail(EXIT_SETUP, &e.to_string());
        }
    } else if unistd::geteuid().as_raw() != launch.uid {
        fail(EXIT_SETUP, "not root: cannot become another user");
    }
    // Set after the ids change (which clears it): if the mirror above us dies, so do we,
    // rather than run on unwatched.
    if launch.host_pid.is_some() {
        let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    }
    let home = match hostns::chdir_home(&launch.home) {
        Ok(h) => h.to_string(),
        Err(e) => fail(EXIT_SETUP, &format!("chdir: {e}")),
    };
    let env = launch.environment(&home);
    match launch.program {
        Program::Sftp => {
            // SAFETY: single-threaded here, and nothing reads the environment concurrently.
            for (k, v) in &env {
                unsafe { std::env::set_var(k, v) };
            }
            let code = match super::sftp::serve_stdio() {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("sshd-wrap: sftp: {e}");
                    1
                }
            };
            std::process::exit(code)
        }
        Program::Shell | Program::Command(_) => {
            let argv = launch.argv().unwrap_or_default();
            let error = exec(launch.shell_path(), &argv, &env);
            fail(
                EXIT_EXEC,
                &format!("cannot run {}: {error}", launch.shell_path()),
            )
        }
    }
}

fn exec(path: &str, argv: &[String], env: &[(String, String)]) -> String {
    let cstr = |s: &str| CString::new(s).map_err(|e| e.to_string());
    let built = (|| {
        let path = cstr(path)?;
        let argv = argv
            .iter()
            .map(|a| cstr(a))
            .collect::<Result<Vec<_>, _>>()?;
        let env = env
            .iter()
            .map(|(k, v)| cstr(&format!("{k}={v}")))
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

/// Signals the daemon sends the session's process group (channel `signal` requests,
/// hang-ups) reach the program directly; the mirror only has to outlive it.
const SURVIVED: [Signal; 9] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGALRM,
    Signal::SIGPIPE,
    Signal::SIGTSTP,
];

/// In the parent left outside the host's PID namespace: waits for the program and ends the
/// same way it did, so the daemon reports the right exit status or signal.
fn mirror(child: Pid) -> ! {
    for sig in SURVIVED {
        // SAFETY: SIG_IGN installs no handler; the program was forked before this.
        let _ = unsafe { signal::signal(sig, SigHandler::SigIgn) };
    }
    loop {
        match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, code)) => std::process::exit(code),
            Ok(WaitStatus::Signaled(_, sig, _)) => {
                // SAFETY: back to the default action, so raising it ends us the same way.
                let _ = unsafe { signal::signal(sig, SigHandler::SigDfl) };
                let _ = signal::raise(sig);
                std::process::exit(128 + sig as i32)
            }
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => fail(EXIT_SETUP, &format!("waitpid: {e}")),
        }
    }
}
