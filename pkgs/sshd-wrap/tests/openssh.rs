//! sshd-wrap against OpenSSH's own client: ssh, scp and sftp, as an operator uses them.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{keygen, public, require, run, text, Daemon};

const T: Duration = Duration::from_secs(60);

fn setup(keys: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path(), "id");
    let line = keys.replace("KEY", &public(&key));
    std::fs::write(dir.path().join("authorized_keys"), line + "\n").unwrap();
    (dir, key)
}

#[test]
fn a_command_runs_with_its_exit_status_and_separate_stderr() {
    let (dir, key) = setup("KEY");
    let mut daemon = Daemon::start(dir.path(), &[]);
    let out = run(
        daemon
            .ssh(&key, "root")
            .arg("echo out; echo err >&2; id -u; exit 7"),
        T,
    );
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "out\n0\n");
    assert!(text(&out.stderr).contains("err\n"), "{}", text(&out.stderr));
    // The log names the user, the key and the end (written once the client has its status, so
    // waited for rather than read at once).
    daemon.wait_for_log("event=session-end user=root exit=7", T);
    let log = daemon.log();
    assert!(log.contains("event=login user=root"), "{log}");
}

#[test]
fn stdin_reaches_the_command_and_its_eof_ends_it() {
    let (dir, key) = setup("KEY");
    let daemon = Daemon::start(dir.path(), &[]);
    let mut child = daemon
        .ssh(&key, "root")
        .arg("wc -c; echo done")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&[b'x'; 100_000])
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "100000\ndone\n");
}

#[test]
fn a_signal_that_ends_the_command_comes_back_as_exit_signal() {
    let (dir, key) = setup("KEY");
    let mut daemon = Daemon::start(dir.path(), &[]);
    let out = run(daemon.ssh(&key, "root").arg("kill -TERM $$"), T);
    // OpenSSH's client exits 255 when the remote command died of a signal.
    assert_eq!(out.status.code(), Some(255), "{}", text(&out.stderr));
    daemon.wait_for_log("event=session-end user=root signal=15", T);
}

#[test]
fn wrong_key_unknown_user_and_passwords_are_refused() {
    let (dir, key) = setup("KEY");
    let other = keygen(dir.path(), "other");
    let daemon = Daemon::start(dir.path(), &[]);

    let out = run(daemon.ssh(&other, "root").arg("true"), T);
    assert_refused(&out, "Permission denied (publickey)");

    let out = run(daemon.ssh(&key, "no-such-user").arg("true"), T);
    assert_refused(&out, "Permission denied");

    // Asked for a password, the server offers none: publickey is its only method.
    let out = run(
        daemon
            .ssh(&key, "root")
            .args([
                "-o",
                "PubkeyAuthentication=no",
                "-o",
                "PreferredAuthentications=password,keyboard-interactive",
            ])
            .arg("true"),
        T,
    );
    assert_refused(&out, "Permission denied (publickey)");

    let log = daemon.log();
    assert!(log.contains("reason=\"no such user\""), "{log}");
    assert!(log.contains("is not in authorized_keys"), "{log}");
    assert!(!log.contains("event=session-start"), "{log}");
}

#[test]
fn a_forced_command_replaces_the_request_and_sees_the_original() {
    let (dir, key) = setup("command=\"echo forced:$SSH_ORIGINAL_COMMAND\" KEY");
    let daemon = Daemon::start(dir.path(), &[]);
    let out = run(daemon.ssh(&key, "root").arg("cat /etc/shadow"), T);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "forced:cat /etc/shadow\n");
}

#[test]
fn from_is_enforced() {
    let (dir, key) = setup("from=\"10.0.0.0/8,!127.0.0.1\" KEY");
    let daemon = Daemon::start(dir.path(), &[]);
    let out = run(daemon.ssh(&key, "root").arg("true"), T);
    assert_eq!(out.status.code(), Some(255), "{}", text(&out.stdout));
    assert!(daemon.log().contains("does not match"), "{}", daemon.log());

    // The same key allowed from loopback logs in.
    std::fs::write(
        dir.path().join("authorized_keys"),
        format!("from=\"127.0.0.0/8\" {}\n", public(&key)),
    )
    .unwrap();
    let out = run(daemon.ssh(&key, "root").arg("echo in"), T);
    assert_eq!(text(&out.stdout), "in\n", "{}", text(&out.stderr));
}

#[test]
fn an_option_we_do_not_enforce_refuses_the_key() {
    let (dir, key) = setup("environment=\"A=B\" KEY");
    let daemon = Daemon::start(dir.path(), &[]);
    let out = run(daemon.ssh(&key, "root").arg("true"), T);
    assert_eq!(out.status.code(), Some(255));
    let log = daemon.log();
    assert!(
        log.contains("option \\\"environment\\\" is not supported"),
        "{log}"
    );
}

#[test]
fn no_pty_and_the_environment_are_enforced() {
    let (dir, key) = setup("no-pty KEY");
    let daemon = Daemon::start(dir.path(), &[]);
    // A forced tty that is refused: OpenSSH's client gives up, as with OpenSSH's server.
    let out = run(daemon.ssh(&key, "root").args(["-tt", "test -t 0"]), T);
    assert!(
        text(&out.stderr).contains("PTY allocation request failed"),
        "{}",
        text(&out.stderr)
    );
    assert_ne!(out.status.code(), Some(0));
    // Only the locale passes from the client's environment; no pty, no TERM.
    let out = run(
        daemon
            .ssh(&key, "root")
            .args(["-o", "SendEnv=LANG SSHD_WRAP_SECRET"])
            .env("LANG", "C.UTF-8")
            .env("SSHD_WRAP_SECRET", "leaked")
            .arg("test -t 0 && echo tty || echo notty; echo LANG=$LANG; echo SECRET=$SSHD_WRAP_SECRET; printenv TERM || echo no-TERM"),
        T,
    );
    let stdout = text(&out.stdout);
    assert_eq!(
        stdout,
        "notty\nLANG=C.UTF-8\nSECRET=\nno-TERM\n",
        "{}",
        text(&out.stderr)
    );
    assert!(daemon.log().contains("event=pty-refused"));
}

#[test]
fn agent_and_tcp_forwarding_are_off() {
    let (dir, key) = setup("KEY");
    let daemon = Daemon::start(dir.path(), &[]);
    let target = TcpListener::bind("127.0.0.1:0").unwrap();
    let target_port = target.local_addr().unwrap().port();
    let out = run(
        daemon
            .ssh(&key, "root")
            .args(["-A", "-W", &format!("127.0.0.1:{target_port}")]),
        T,
    );
    // -W opens a direct-tcpip channel: refused while forwarding is off.
    assert_refused(&out, "administratively prohibited");
    let out = run(
        daemon
            .ssh(&key, "root")
            .arg("-A")
            .arg("echo sock=$SSH_AUTH_SOCK"),
        T,
    );
    assert_eq!(text(&out.stdout), "sock=\n");
}

#[test]
fn tcp_forwarding_works_when_turned_on() {
    let (dir, key) = setup("KEY");
    let daemon = Daemon::start(dir.path(), &["--allow-tcp-forwarding"]);
    let (target_port, echo) = echo_once(5);
    // -W: the client's stdin and stdout are the forwarded connection.
    let mut child = daemon
        .ssh(&key, "root")
        .args(["-W", &format!("127.0.0.1:{target_port}")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"hello").unwrap();
    let mut back = [0u8; 5];
    child.stdout.take().unwrap().read_exact(&mut back).unwrap();
    assert_eq!(&back, b"hello");
    echo.join().unwrap();
    let _ = child.wait();
}

/// ssh gave up (exit 255) saying `why` on stderr.
fn assert_refused(out: &std::process::Output, why: &str) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(255), "{stderr}");
    assert!(stderr.contains(why), "{stderr}");
}

/// A TCP server on loopback that echoes the first `len` bytes of one connection; its port.
fn echo_once(len: usize) -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let echo = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; len];
        conn.read_exact(&mut buf).unwrap();
        conn.write_all(&buf).unwrap();
    });
    (port, echo)
}

/// ssh -tt under a pty the test owns, so that resizing it makes ssh send window-change.
#[test]
fn a_tty_session_gets_term_and_window_changes() {
    let (dir, key) = setup("KEY");
    let daemon = Daemon::start(dir.path(), &[]);
    let (mut pty, pts) = pty_process::blocking::open().unwrap();
    pty.resize(pty_process::Size::new(30, 100)).unwrap();
    let cmd = pty_process::blocking::Command::new("ssh")
        .args(daemon.client_options(&key, "-p"))
        .args(["-tt", "root@127.0.0.1"])
        .env("TERM", "xterm-256color")
        .arg("t=$(tty); test -c $t && echo tty=$t; echo TERM=$TERM; stty size; while read line; do stty size; done");
    let mut child = cmd.spawn(pts).unwrap();
    let mut seen = String::new();
    let read_until = |pty: &mut pty_process::blocking::Pty, seen: &mut String, needle: &str| {
        let deadline = Instant::now() + T;
        let mut buf = [0u8; 4096];
        while !seen.contains(needle) {
            assert!(Instant::now() < deadline, "no {needle:?} in {seen:?}");
            let n = pty.read(&mut buf).unwrap();
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    };
    read_until(&mut pty, &mut seen, "30 100");
    // ttyname works: the pty the session names exists where the shell runs.
    assert!(seen.contains("tty=/dev/pts/"), "{seen}");
    assert!(seen.contains("TERM=xterm-256color"), "{seen}");
    pty.resize(pty_process::Size::new(40, 120)).unwrap();
    // Each newline makes the remote loop print the size; the window-change may come later
    // than the first newline, so ask until it shows.
    let deadline = Instant::now() + T;
    while !seen.contains("40 120") {
        assert!(
            Instant::now() < deadline,
            "window change never arrived: {seen:?}"
        );
        pty.write_all(b"\n").unwrap();
        let mut buf = [0u8; 4096];
        let n = pty.read(&mut buf).unwrap();
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    pty.write_all(&[4]).unwrap(); // ^D ends the loop
    let _ = child.wait();
}

#[test]
fn scp_and_sftp_copy_files_both_ways_byte_for_byte() {
    require("scp", "openssh-client");
    require("sftp", "openssh-client");
    let (dir, key) = setup("KEY");
    let daemon = Daemon::start(dir.path(), &[]);
    let data: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let local = dir.path().join("local.bin");
    std::fs::write(&local, &data).unwrap();
    let remote = dir.path().join("remote/up.bin");
    std::fs::create_dir(dir.path().join("remote")).unwrap();

    let scp = |from: &str, to: &str| {
        let out = run(
            Command::new("scp")
                .args(daemon.client_options(&key, "-P"))
                .args([from, to]),
            T,
        );
        assert!(
            out.status.success(),
            "scp {from} {to}: {}",
            text(&out.stderr)
        );
    };
    scp(
        &local.display().to_string(),
        &format!("root@127.0.0.1:{}", remote.display()),
    );
    assert_eq!(std::fs::read(&remote).unwrap(), data);
    let back = dir.path().join("back.bin");
    scp(
        &format!("root@127.0.0.1:{}", remote.display()),
        &back.display().to_string(),
    );
    assert_eq!(std::fs::read(&back).unwrap(), data);

    // sftp: a batch of the usual commands.
    let down = dir.path().join("down.bin");
    let batch = format!(
        "mkdir {r}/d\nput {l} {r}/d/a.bin\nrename {r}/d/a.bin {r}/d/b.bin\nls -l {r}/d\nget {r}/d/b.bin {down}\nrm {r}/d/b.bin\nrmdir {r}/d\n",
        r = dir.path().join("remote").display(),
        l = local.display(),
        down = down.display()
    );
    let mut child = Command::new("sftp")
        .args(daemon.client_options(&key, "-P"))
        .args(["-b", "-", "root@127.0.0.1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(batch.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("b.bin"), "{}", text(&out.stdout));
    assert_eq!(std::fs::read(&down).unwrap(), data);
    assert!(!dir.path().join("remote/d").exists());
}

#[test]
fn the_host_key_survives_a_restart() {
    let (dir, key) = setup("KEY");
    let first = Daemon::start(dir.path(), &[]);
    let out = run(first.ssh(&key, "root").arg("true"), T);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let fingerprint = |log: &str| {
        log.lines()
            .find(|l| l.contains("event=host-key"))
            .and_then(|l| l.split("fingerprint=").nth(1))
            .map(|f| f.split(' ').next().unwrap().to_string())
            .unwrap()
    };
    let before = fingerprint(&first.log());
    let port = first.port;
    drop(first);
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(dir.path().join("host_key"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    let second = Daemon::start(dir.path(), &[]);
    assert!(second.log().contains("created=false"), "{}", second.log());
    assert_eq!(fingerprint(&second.log()), before);
    // known_hosts holds the key under the old port: copy the entry to the new one, then
    // connect with strict checking.
    let known = dir.path().join("known_hosts");
    let text_kh = std::fs::read_to_string(&known).unwrap();
    let entry = text_kh.lines().next().unwrap();
    std::fs::write(
        &known,
        entry.replace(&format!(":{port}]"), &format!(":{}]", second.port)) + "\n",
    )
    .unwrap();
    let out = run(
        second
            .ssh(&key, "root")
            .args(["-o", "StrictHostKeyChecking=yes"])
            .arg("echo same-key"),
        T,
    );
    assert_eq!(text(&out.stdout), "same-key\n", "{}", text(&out.stderr));
}

#[test]
fn idle_connections_do_not_lock_out_a_real_login() {
    let (dir, key) = setup("KEY");
    // sshd's defaults: 120 s grace time, MaxStartups 10:30:100.
    let daemon = Daemon::start(dir.path(), &[]);
    let idle: Vec<TcpStream> = (0..200)
        .map(|_| TcpStream::connect(("127.0.0.1", daemon.port)).unwrap())
        .collect();
    let started = Instant::now();
    let out = run(daemon.ssh(&key, "root").arg("echo through"), T);
    assert_eq!(text(&out.stdout), "through\n", "{}", text(&out.stderr));
    assert!(started.elapsed() < Duration::from_secs(120));
    // The oldest idle ones made room; the newest 99 still wait.
    assert!(
        daemon.log().contains("reason=max-startups"),
        "{}",
        daemon.log()
    );
    drop(idle);
}

#[test]
fn max_startups_closes_the_longest_waiting_and_grace_time_ends_the_rest() {
    let (dir, key) = setup("KEY");
    let mut daemon = Daemon::start(
        dir.path(),
        &["--login-grace-time", "5", "--max-startups", "3"],
    );
    let mut idle: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(("127.0.0.1", daemon.port)).unwrap())
        .collect();
    for conn in &mut idle {
        let mut banner = [0u8; 8];
        conn.read_exact(&mut banner).unwrap();
        assert_eq!(&banner, b"SSH-2.0-");
        conn.set_read_timeout(Some(T)).unwrap();
    }
    // Full: the login makes the oldest idle connection go, and gets in.
    let out = run(daemon.ssh(&key, "root").arg("echo in"), T);
    assert_eq!(text(&out.stdout), "in\n", "{}", text(&out.stderr));
    daemon.wait_for_log("reason=max-startups", T);
    let closed = |conn: &mut TcpStream| {
        let mut rest = Vec::new();
        conn.read_to_end(&mut rest).is_ok()
    };
    assert!(closed(&mut idle[0]), "the oldest connection is still open");
    // The other two are closed when their grace time ends.
    daemon.wait_for_log("reason=login-grace-time", T);
    assert!(closed(&mut idle[1]) && closed(&mut idle[2]));
}

#[test]
fn a_session_runs_in_the_namespaces_of_host_namespaces() {
    require("unshare", "util-linux");
    let (dir, key) = setup("KEY");
    // A process in new uts, mount, net, ipc and pid namespaces, with its own hostname.
    let mut target = Command::new("unshare")
        .args([
            "--uts",
            "--mount",
            "--net",
            "--ipc",
            "--pid",
            "--fork",
            // The sleep goes when unshare goes, even when the test fails half-way.
            "--kill-child",
            "--mount-proc",
        ])
        .args([
            "sh",
            "-c",
            "hostname sshd-wrap-target; echo ready; exec sleep 600",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = [0u8; 6];
    target
        .stdout
        .take()
        .unwrap()
        .read_exact(&mut ready)
        .unwrap();
    // unshare --fork: the sleep is unshare's child, and PID 1 in the new namespace.
    let inner = std::fs::read_to_string(format!(
        "/proc/{}/task/{}/children",
        target.id(),
        target.id()
    ))
    .unwrap()
    .trim()
    .to_string();
    let daemon = Daemon::start(dir.path(), &["--host-namespaces", &inner]);
    let out = run(
        daemon.ssh(&key, "root").arg(
            "hostname; readlink /proc/self/ns/net /proc/self/ns/uts; echo pid1=$(cat /proc/1/comm)",
        ),
        T,
    );
    // Read the target's namespaces while it lives: killing unshare ends the sleep too.
    let ns = |kind: &str| std::fs::read_link(format!("/proc/{inner}/ns/{kind}")).unwrap();
    let (net, uts) = (ns("net"), ns("uts"));
    let _ = target.kill();
    let _ = target.wait();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("sshd-wrap-target\n"), "{stdout}");
    assert!(stdout.contains(&net.display().to_string()), "{stdout}");
    assert!(stdout.contains(&uts.display().to_string()), "{stdout}");
    // The target's /proc: its PID 1 is the sleep.
    assert!(stdout.contains("pid1=sleep"), "{stdout}");
}

#[test]
fn sessions_start_in_the_users_home_with_a_login_environment() {
    let (dir, key) = setup("KEY");
    let daemon = Daemon::start(dir.path(), &[]);
    let home = hostns_home("root");
    let out = run(
        daemon
            .ssh(&key, "root")
            .arg("pwd; echo $HOME $USER $LOGNAME"),
        T,
    );
    assert_eq!(
        text(&out.stdout),
        format!("{home}\n{home} root root\n"),
        "{}",
        text(&out.stderr)
    );
}

fn hostns_home(user: &str) -> String {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    passwd
        .lines()
        .find(|l| l.starts_with(&format!("{user}:")))
        .and_then(|l| l.split(':').nth(5))
        .map(|h| {
            if Path::new(h).is_dir() {
                h.to_string()
            } else {
                "/".into()
            }
        })
        .unwrap()
}

#[test]
fn root_logs_in_on_a_host_without_a_passwd_file() {
    let (dir, key) = setup("KEY");
    let missing = dir.path().join("no-passwd");
    let daemon = Daemon::start(dir.path(), &["--passwd", missing.to_str().unwrap()]);
    let out = run(daemon.ssh(&key, "root").arg("echo $USER $SHELL"), T);
    assert_eq!(text(&out.stdout), "root /bin/sh\n", "{}", text(&out.stderr));
    // Anyone else still needs an entry.
    let out = run(daemon.ssh(&key, "daemon").arg("true"), T);
    assert_eq!(out.status.code(), Some(255));
}

#[test]
fn remote_forwarding_works_when_turned_on_and_listens_on_loopback() {
    let (dir, key) = setup("KEY");
    let mut daemon = Daemon::start(dir.path(), &["--allow-tcp-forwarding"]);
    // The client's side of the forward: an echo server.
    let (target_port, echo) = echo_once(4);
    // Port 0: the server picks one and logs it. Asked for 0.0.0.0, it binds loopback only.
    let mut client = daemon
        .ssh(&key, "root")
        .args(["-N", "-o", "ExitOnForwardFailure=yes", "-R"])
        .arg(format!("0.0.0.0:0:127.0.0.1:{target_port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let line = daemon.wait_for_log("event=remote-forward user=root listen=", T);
    let listen: std::net::SocketAddr = line
        .split("listen=")
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(listen.ip().is_loopback(), "{line}");
    let mut conn = TcpStream::connect(listen).unwrap();
    conn.write_all(b"ping").unwrap();
    let mut back = [0u8; 4];
    conn.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"ping");
    echo.join().unwrap();
    let _ = client.kill();
    let _ = client.wait();
}

#[test]
fn remote_forwarding_is_refused_by_default() {
    let (dir, key) = setup("KEY");
    let daemon = Daemon::start(dir.path(), &[]);
    let out = run(
        daemon.ssh(&key, "root").args([
            "-o",
            "ExitOnForwardFailure=yes",
            "-R",
            "0:127.0.0.1:9",
            "true",
        ]),
        T,
    );
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("remote port forwarding failed"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        daemon.log().contains("event=remote-forward-refused"),
        "{}",
        daemon.log()
    );
}

#[test]
fn a_session_has_its_own_process_group_and_default_sigpipe() {
    let (dir, key) = setup("KEY");
    let daemon = Daemon::start(dir.path(), &[]);
    let out = run(
        daemon
            .ssh(&key, "root")
            .arg("grep SigIgn /proc/self/status; cut -d' ' -f5 /proc/self/stat; yes | head -n 2"),
        T,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let mut lines = stdout.lines();
    // SIGPIPE (13) is bit 12 of the ignored mask: a pipeline's writer must die of it.
    let ignored =
        u64::from_str_radix(lines.next().unwrap().split_whitespace().nth(1).unwrap(), 16).unwrap();
    assert_eq!(ignored & (1 << 12), 0, "SIGPIPE ignored: {stdout}");
    let pgrp: u32 = lines.next().unwrap().trim().parse().unwrap();
    let daemon_stat = std::fs::read_to_string(format!("/proc/{}/stat", daemon.pid())).unwrap();
    let daemon_pgrp: u32 = daemon_stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .nth(2)
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(
        pgrp, daemon_pgrp,
        "the session shares the daemon's process group"
    );
    assert_eq!(lines.collect::<Vec<_>>(), ["y", "y"]);
}
