//! getty on pseudo-terminals made by each test: the issue and the prompt, passwords of each
//! hash kind (made by libxcrypt's mkpasswd), refusals and their delay, insecure mode, the login
//! loop starting again, two consoles in one process, the host's namespaces, memory at idle.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{hostname, mkpasswd, require_root, Fixture, Getty, Pty};

const NOBODY: u32 = 65534;

fn args(fx: &Fixture, delay: &str, extra: &[&str]) -> Vec<String> {
    let mut a = fx.args(delay);
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

/// The user gets a shell with its uid, groups and login environment.
fn check_shell(pty: &mut Pty, fx: &Fixture) {
    assert_eq!(pty.run("echo \"r=$((6*7))\"", "r"), "r=42");
    assert_eq!(
        pty.run("echo \"uid=$(id -u)\"", "uid"),
        format!("uid={NOBODY}")
    );
    // The primary group first, then the supplementary one from the group file.
    assert_eq!(
        pty.run("echo \"gids=$(id -G)\"", "gids"),
        format!("gids={NOBODY} 4242")
    );
    assert_eq!(
        pty.run("echo \"env=$HOME:$USER:$LOGNAME:$SHELL:$PWD\"", "env"),
        format!("env={h}:tester:tester:/bin/sh:{h}", h = fx.home.display())
    );
    // The environment the shell started with (its profile may change PATH afterwards).
    assert_eq!(
        pty.run(
            "echo \"path=$(tr '\\0' '\\n' </proc/$$/environ | grep ^PATH=)\"",
            "path"
        ),
        "path=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    );
    assert_eq!(
        pty.run(
            "echo \"vars=$(tr '\\0' '\\n' </proc/$$/environ | cut -d= -f1 | sort | xargs)\"",
            "vars"
        ),
        "vars=HOME LOGNAME PATH SHELL TERM USER"
    );
}

#[test]
fn shows_the_issue_and_the_prompt() {
    require_root();
    let fx = Fixture::new(&[]);
    let mut pty = Pty::open();
    let _getty = Getty::start(&args(&fx, "0.1", &[&pty.path]), &[]);
    let host = hostname();
    pty.expect(&format!("Welcome to Linux on {host} ({})", pty.name()));
    pty.expect(&format!("{host} login: "));
}

#[test]
fn a_wrong_password_is_refused_after_the_delay() {
    require_root();
    let fx = Fixture::new(&[("tester", &mkpasswd("sha-512", "right"), NOBODY)]);
    let mut pty = Pty::open();
    let getty = Getty::start(&args(&fx, "1.5", &[&pty.path]), &[]);
    pty.expect("login: ");
    pty.send("tester\n");
    pty.expect("Password: ");
    let sent = Instant::now();
    pty.send("wrong-secret\n");
    pty.expect("Login incorrect");
    let took = sent.elapsed();
    assert!(
        took >= Duration::from_millis(1500),
        "refused after {took:?}"
    );
    // And asked again, with the password never echoed.
    pty.expect("login: ");
    assert!(!pty.all().contains("wrong-secret"), "{}", pty.all());
    getty.wait_log(&["event=login-failed", "user=tester", "reason=wrong-password"]);
    // An unknown name is refused the same way, and not logged (it may be a password).
    pty.send("no-such-user\n");
    pty.expect("Password: ");
    pty.send("whatever\n");
    pty.expect("Login incorrect");
    getty.wait_log(&["event=login-failed", "user=UNKNOWN", "reason=unknown-user"]);
    assert!(!getty.log().contains("no-such-user"), "{}", getty.log());
}

fn logs_in_with(method: &str) {
    require_root();
    let fx = Fixture::new(&[("tester", &mkpasswd(method, "s3cret pass"), NOBODY)]);
    let mut pty = Pty::open();
    let getty = Getty::start(&args(&fx, "0.1", &[&pty.path]), &[]);
    pty.login("tester", "s3cret pass");
    check_shell(&mut pty, &fx);
    getty.wait_log(&["event=login", "user=tester", "uid=65534"]);
    assert!(!pty.all().contains("s3cret"), "the password was echoed");
}

#[test]
fn sha512_password_gives_a_shell() {
    logs_in_with("sha-512");
}

#[test]
fn sha256_password_gives_a_shell() {
    logs_in_with("sha-256");
}

#[test]
fn yescrypt_password_gives_a_shell() {
    logs_in_with("yescrypt");
}

#[test]
fn locked_and_empty_accounts_are_refused() {
    require_root();
    let hash = mkpasswd("sha-512", "pw");
    let fx = Fixture::new(&[
        ("locked", &format!("!{hash}"), NOBODY),
        ("star", "*", NOBODY),
        ("bang", "!!", NOBODY),
        ("empty", "", NOBODY),
    ]);
    let mut pty = Pty::open();
    let getty = Getty::start(&args(&fx, "0.05", &[&pty.path, "--login-tries", "10"]), &[]);
    for (user, password, reason) in [
        ("locked", "pw", "reason=locked"),
        ("star", "pw", "reason=locked"),
        ("bang", "", "reason=locked"),
        ("empty", "", "reason=empty-password"),
    ] {
        pty.expect("login: ");
        pty.send(&format!("{user}\n"));
        pty.expect("Password: ");
        pty.send(&format!("{password}\n"));
        pty.expect("Login incorrect");
        getty.wait_log(&["event=login-failed", &format!("user={user}"), reason]);
    }
    assert!(!getty.log().contains("event=login user"), "{}", getty.log());
}

#[test]
fn root_needs_no_passwd_entry() {
    require_root();
    let fx = Fixture::new(&[]);
    // A host with a shadow entry for root but no passwd file at all.
    std::fs::remove_file(fx.dir.path().join("passwd")).unwrap();
    std::fs::write(
        fx.dir.path().join("shadow"),
        format!("root:{}:19000:0:::::", mkpasswd("sha-512", "rootpw")),
    )
    .unwrap();
    let mut pty = Pty::open();
    let getty = Getty::start(&args(&fx, "0.1", &[&pty.path]), &[]);
    pty.login("root", "rootpw");
    assert_eq!(pty.run("echo \"uid=$(id -u)\"", "uid"), "uid=0");
    getty.wait_log(&["event=file-unreadable", "passwd"]);
    getty.wait_log(&["event=login", "user=root", "uid=0"]);
}

#[test]
fn empty_passwords_only_with_the_flag() {
    require_root();
    let fx = Fixture::new(&[("tester", "", NOBODY)]);
    let mut pty = Pty::open();
    let _getty = Getty::start(
        &args(&fx, "0.1", &[&pty.path, "--allow-empty-passwords"]),
        &[],
    );
    pty.expect("login: ");
    pty.send("tester\n");
    // No password asked at all, as login(1) does for an empty field.
    pty.shell_ready();
    assert!(!pty.all().contains("Password"), "{}", pty.all());
    check_shell(&mut pty, &fx);
}

#[test]
fn insecure_mode_gives_a_root_shell_at_once() {
    require_root();
    let fx = Fixture::new(&[]);
    let mut pty = Pty::open();
    let getty = Getty::start(&args(&fx, "0.1", &[&pty.path]), &[("INSECURE", "true")]);
    pty.expect("INSECURE CONSOLE");
    pty.shell_ready();
    assert_eq!(pty.run("echo \"uid=$(id -u)\"", "uid"), "uid=0");
    assert!(!pty.all().contains("login: "), "{}", pty.all());
    getty.wait_log(&["level=warn", "event=insecure"]);
    getty.wait_log(&["event=login", "user=root", "insecure=true"]);
}

#[test]
fn insecure_is_never_the_default() {
    require_root();
    let fx = Fixture::new(&[]);
    let mut pty = Pty::open();
    // Anything but exactly "true" keeps the login.
    let getty = Getty::start(&args(&fx, "0.1", &[&pty.path]), &[("INSECURE", "yes")]);
    pty.expect("login: ");
    assert!(!pty.all().contains("INSECURE"), "{}", pty.all());
    assert!(!getty.log().contains("insecure"), "{}", getty.log());
}

#[test]
fn the_loop_starts_again_after_exit() {
    require_root();
    let fx = Fixture::new(&[("tester", &mkpasswd("sha-256", "pw"), NOBODY)]);
    let mut pty = Pty::open();
    // --vhangup: each session starts by hanging the line up, as agetty --vhangup does.
    let getty = Getty::start(&args(&fx, "0.1", &[&pty.path, "--vhangup"]), &[]);
    for round in 0..2 {
        pty.login("tester", "pw");
        assert_eq!(pty.run("echo \"r=$((6*7))\"", "r"), "r=42", "round {round}");
        pty.send("exit\n");
        // The issue and the prompt again.
        pty.expect("Welcome to Linux");
    }
    pty.expect("login: ");
    getty.wait_log(&["event=logout", "user=tester", "exit=0"]);
    getty.wait_log(&["event=session-end", "exit=0", "restart_in=0.000s"]);
}

#[test]
fn a_hangup_starts_the_loop_again() {
    require_root();
    let fx = Fixture::new(&[("tester", &mkpasswd("sha-256", "pw"), NOBODY)]);
    let mut pty = Pty::open();
    let getty = Getty::start(&args(&fx, "0.1", &[&pty.path]), &[]);
    pty.login("tester", "pw");
    // What the kernel sends the session leader when the line hangs up.
    let sessions = getty.children();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(sessions[0] as i32),
        nix::sys::signal::Signal::SIGHUP,
    )
    .unwrap();
    pty.expect("login: ");
    getty.wait_log(&["event=session-end", "signal=SIGHUP"]);
    assert_ne!(getty.children(), sessions);
}

#[test]
fn sigterm_ends_the_sessions_and_exits_zero() {
    require_root();
    let fx = Fixture::new(&[("tester", &mkpasswd("sha-256", "pw"), NOBODY)]);
    let mut pty = Pty::open();
    let mut getty = Getty::start(&args(&fx, "0.1", &[&pty.path]), &[]);
    pty.login("tester", "pw");
    let shell: i32 = pty.run("echo \"pid=$$\"", "pid")[4..].parse().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(getty.pid() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = getty.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{}", getty.log());
    assert!(getty.log().contains("event=stopped"), "{}", getty.log());
    // The shell went with its session (SIGHUP from its terminal).
    let deadline = Instant::now() + Duration::from_secs(10);
    let alive = |pid: i32| {
        // A zombie waiting for its new parent to reap it counts as gone.
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| {
                !s.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
            .unwrap_or(false)
    };
    while alive(shell) {
        assert!(Instant::now() < deadline, "shell {shell} is still running");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn two_consoles_in_one_process() {
    require_root();
    let fx = Fixture::new(&[("tester", &mkpasswd("sha-512", "pw"), NOBODY)]);
    let mut a = Pty::open();
    let mut b = Pty::open();
    let getty = Getty::start(
        &args(&fx, "0.1", &["--console", &a.path, "--console", &b.path]),
        &[],
    );
    a.expect(&format!("({})", a.name()));
    b.expect(&format!("({})", b.name()));
    a.login("tester", "pw");
    // One console's shell does not hold the other's prompt.
    b.login("tester", "pw");
    assert_eq!(a.run("echo \"r=$((6*7))\"", "r"), "r=42");
    assert_eq!(b.run("echo \"r=$((6*7))\"", "r"), "r=42");
    assert_eq!(getty.children().len(), 2);
    a.send("exit\n");
    a.expect("login: ");
    assert_eq!(b.run("echo \"still=$((1+2))\"", "still"), "still=3");
}

#[test]
fn consoles_from_the_kernel_command_line() {
    require_root();
    let fx = Fixture::new(&[]);
    let mut pty = Pty::open();
    let cmdline = fx.dir.path().join("cmdline");
    std::fs::write(
        &cmdline,
        format!(
            "BOOT_IMAGE=/boot/kernel console={p} console=ttyNOPE0,115200n8 console={p},9600 quiet\n",
            p = pty.path
        ),
    )
    .unwrap();
    let getty = Getty::start(
        &args(&fx, "0.1", &["--cmdline", cmdline.to_str().unwrap()]),
        &[],
    );
    pty.expect("login: ");
    getty.wait_log(&["console=ttyNOPE0", "event=console-skipped"]);
    getty.wait_log(&["event=start", &format!("consoles={}", pty.name())]);
}

#[test]
fn no_console_is_an_error() {
    require_root();
    let fx = Fixture::new(&[]);
    let cmdline = fx.dir.path().join("cmdline");
    std::fs::write(&cmdline, "quiet console=ttyNOPE1\n").unwrap();
    let mut getty = Getty::start(
        &args(&fx, "0.1", &["--cmdline", cmdline.to_str().unwrap()]),
        &[],
    );
    let status = getty.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(1), "{}", getty.log());
    assert!(
        getty.log().contains("no console to run on"),
        "{}",
        getty.log()
    );
}

/// Kills and reaps a helper process on drop.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn shells_run_in_the_namespaces_asked_for() {
    require_root();
    // A stand-in for the host: new UTS, PID and mount namespaces, with its own /proc.
    let child = Command::new("unshare")
        .args([
            "--uts",
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
            "sh",
            "-c",
            "hostname getty-ns-test && echo ready && exec sleep 600",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("running unshare: install it with `apt-get install -y util-linux`");
    let mut host = Reaped(child);
    let mut line = String::new();
    BufReader::new(host.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    let inner = common::children(host.0.id());
    assert_eq!(inner.len(), 1, "{inner:?}");

    let fx = Fixture::new(&[("tester", &mkpasswd("sha-256", "pw"), NOBODY)]);
    let mut pty = Pty::open();
    let pid = inner[0].to_string();
    let _getty = Getty::start(
        &args(&fx, "0.1", &[&pty.path, "--host-namespaces", &pid]),
        &[],
    );
    // The issue and prompt still show our own host name: only the shell moves.
    pty.expect(&format!("{} login: ", hostname()));
    pty.send("tester\n");
    pty.expect("Password: ");
    pty.send("pw\n");
    pty.shell_ready();
    assert_eq!(pty.run("echo \"h=$(hostname)\"", "h"), "h=getty-ns-test");
    // PID 1 of that PID namespace, seen through that mount namespace's /proc.
    assert_eq!(
        pty.run("echo \"comm=$(cat /proc/1/comm)\"", "comm"),
        "comm=sleep"
    );
    assert_eq!(
        pty.run("echo \"uid=$(id -u)\"", "uid"),
        format!("uid={NOBODY}")
    );
}

#[test]
fn namespaces_that_cannot_be_entered_are_reported() {
    require_root();
    let fx = Fixture::new(&[("tester", &mkpasswd("sha-256", "pw"), NOBODY)]);
    let mut pty = Pty::open();
    // No such process: its /proc/PID/ns files do not exist.
    let getty = Getty::start(
        &args(&fx, "0.1", &[&pty.path, "--host-namespaces", "4194305"]),
        &[],
    );
    pty.expect("login: ");
    pty.send("tester\n");
    pty.expect("Password: ");
    pty.send("pw\n");
    pty.expect("cannot enter the host's namespaces");
    let line = getty.wait_log(&["event=session-failed"]);
    assert!(line.contains("namespace"), "{line}");
    // Then a new session, after the back-off.
    pty.expect("login: ");
}

/// Idle memory: VmRSS and PSS of getty waiting at the prompt, with one and two consoles.
/// `cargo test -p getty --test login idle_memory -- --nocapture` prints the figures.
#[test]
fn idle_memory() {
    require_root();
    let fx = Fixture::new(&[]);
    let mut rows = Vec::new();
    for n in [1usize, 2] {
        let mut ptys: Vec<Pty> = (0..n).map(|_| Pty::open()).collect();
        let mut a = fx.args("0.1");
        for p in &ptys {
            a.push("--console".into());
            a.push(p.path.clone());
        }
        let getty = Getty::start(&a, &[]);
        for p in &mut ptys {
            p.expect("login: ");
        }
        let mut pids = vec![getty.pid()];
        pids.extend(getty.children());
        assert_eq!(pids.len(), n + 1);
        let mut rss = 0;
        let mut pss = 0;
        for pid in &pids {
            let status = std::path::PathBuf::from(format!("/proc/{pid}/status"));
            let rollup = std::path::PathBuf::from(format!("/proc/{pid}/smaps_rollup"));
            let r = common::proc_kb(&status, "VmRSS");
            let p = common::proc_kb(&rollup, "Pss");
            println!("consoles={n} pid={pid} VmRSS={r}kB Pss={p}kB");
            rss += r;
            pss += p;
        }
        println!("consoles={n} total VmRSS={rss}kB Pss={pss}kB");
        rows.push((n, rss, pss));
        // Loose: a debug build of a small static program.
        assert!(pss < 16 * 1024 * n as u64, "{pss} kB");
    }
}
