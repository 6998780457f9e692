//! `ctr run` with our runtime against a containerd and runc of the test's own.

mod common;

use std::time::Duration;

use common::{poll, Containerd, Guard};

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).replace('\r', "")
}

#[test]
fn run_prints_the_output_and_returns_the_exit_code() {
    let c = Containerd::start("run");
    let out = c.run(
        &["--rm"],
        "hello",
        &[
            "sh",
            "-c",
            "echo hello from the container; echo to stderr >&2; exit 7",
        ],
    );
    assert_eq!(out.status.code(), Some(7), "{out:?}\n{}", c.log());
    assert_eq!(stdout(&out), "hello from the container\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "to stderr\n");

    let out = c.run(&["--rm"], "ok", &["true"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}\n{}", c.log());

    // stdin reaches the container, and its end (CloseIO) too. Written once
    // the task runs: ctr sends CloseIO only if stdin ends after the task
    // exists.
    let mut child = c
        .ctr()
        .args([
            "run",
            "--rm",
            "--runtime",
            common::RUNTIME,
            common::IMAGE,
            "cat",
            "cat",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut out, &mut s).unwrap();
        s
    });
    let mut child = Guard(child);
    c.wait_status("cat", "RUNNING");
    use std::io::Write;
    stdin.write_all(b"through stdin\n").unwrap();
    drop(stdin);
    let st = common::wait_child(&mut child.0, Duration::from_secs(60), "ctr run cat");
    let text = reader.join().unwrap();
    assert_eq!(text, "through stdin\n", "{}", c.log());
    assert!(st.success());
    poll(
        "the shims of removed containers to exit",
        Duration::from_secs(30),
        || c.shim_pids().is_empty().then_some(()),
        || format!("{:?}", c.shim_pids()),
    );
}

#[test]
fn a_file_log_uri_gets_the_output_of_a_detached_task() {
    let c = Containerd::start("loguri");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("service.log");
    let uri = format!("file://{}", log.display());
    let out = c.run(
        &["-d", "--log-uri", &uri],
        "logged",
        &["sh", "-c", "echo to stdout; echo to stderr >&2; sleep 600"],
    );
    assert!(out.status.success(), "{out:?}\n{}", c.log());
    poll(
        "both lines in the log file",
        Duration::from_secs(30),
        || {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            (text.contains("to stdout\n") && text.contains("to stderr\n")).then_some(())
        },
        || std::fs::read_to_string(&log).unwrap_or_default(),
    );
    let out = c
        .ctr()
        .args(["task", "kill", "-s", "SIGKILL", "logged"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    c.wait_status("logged", "STOPPED");
    // A log URI we do not speak is refused by name, not run without output.
    let out = c.run(
        &["--rm", "--log-uri", "binary:///bin/logger"],
        "binlog",
        &["true"],
    );
    assert!(!out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("only fifos and file://"),
        "{out:?}"
    );
}

#[test]
fn kill_ends_the_task_with_the_signal_status() {
    let c = Containerd::start("kill");
    // SIGKILL reaches even a container's init: 128 + 9.
    let mut run = Guard(
        c.ctr()
            .args([
                "run",
                "--rm",
                "--runtime",
                common::RUNTIME,
                common::IMAGE,
                "k9",
                "sleep",
                "1000",
            ])
            .spawn()
            .unwrap(),
    );
    c.wait_status("k9", "RUNNING");
    c.ctr_ok(&["task", "kill", "-s", "SIGKILL", "k9"], &[]);
    let st = common::wait_child(&mut run.0, Duration::from_secs(60), "ctr run k9");
    assert_eq!(st.code(), Some(137), "{}", c.log());

    // An init ignores SIGTERM unless it handles it: this one exits 143.
    let mut run = Guard(
        c.ctr()
            .args([
                "run",
                "--rm",
                "--runtime",
                common::RUNTIME,
                common::IMAGE,
                "k15",
                "sh",
                "-c",
                "trap 'exit 143' TERM; sleep 1000 & wait",
            ])
            .spawn()
            .unwrap(),
    );
    c.wait_status("k15", "RUNNING");
    // The trap is set once sh runs its script: retry until the kill lands.
    poll(
        "SIGTERM to end k15",
        Duration::from_secs(60),
        || {
            let _ = c
                .ctr()
                .args(["task", "kill", "-s", "SIGTERM", "k15"])
                .output();
            std::thread::sleep(Duration::from_millis(200));
            run.0.try_wait().unwrap()
        },
        || c.log(),
    )
    .code()
    .map(|code| assert_eq!(code, 143))
    .unwrap();

    // A process that is not the container's init dies of SIGTERM: 128 + 15.
    c.run_detached(&[], "host", &["sleep", "1000"]);
    let mut exec = sleeping_exec(&c, "sleeper");
    c.ctr_ok(
        &[
            "task",
            "kill",
            "--exec-id",
            "sleeper",
            "-s",
            "SIGTERM",
            "host",
        ],
        &[],
    );
    let st = common::wait_child(&mut exec.0, Duration::from_secs(60), "ctr task exec");
    assert_eq!(st.code(), Some(143), "{}", c.log());

    // --all reaches every process of the container: an exec and the init.
    let mut exec = sleeping_exec(&c, "second");
    c.ctr_ok(&["task", "kill", "--all", "-s", "SIGKILL", "host"], &[]);
    let st = common::wait_child(&mut exec.0, Duration::from_secs(60), "ctr task exec second");
    assert_eq!(st.code(), Some(137), "{}", c.log());
    c.wait_status("host", "STOPPED");

    // Killing what has already exited fails instead of hanging.
    let again = c
        .ctr()
        .args(["task", "kill", "-s", "SIGKILL", "host"])
        .output()
        .unwrap();
    assert!(!again.status.success());
    c.ctr_ok(&["task", "delete", "host"], &[]);
}

#[test]
fn exec_with_and_without_a_terminal() {
    let c = Containerd::start("exec");
    c.run_detached(&[], "box", &["sleep", "1000"]);

    let out = c
        .ctr()
        .args([
            "task",
            "exec",
            "--exec-id",
            "plain",
            "box",
            "sh",
            "-c",
            "echo out; echo err >&2; exit 3",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}\n{}", c.log());
    assert_eq!(stdout(&out), "out\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");

    // ctr wants a terminal for --tty: script(1) gives it one.
    common::require("script", "bsdutils");
    let ctr = format!(
        "ctr --address {} --namespace {} task exec --tty --exec-id term box sh -c 'tty; stty size; exit 5'",
        c.socket().display(),
        c.namespace
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &ctr, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(
        text.contains("/dev/pts/"),
        "no terminal in the exec: {text:?}\n{}",
        c.log()
    );
    assert_eq!(out.status.code(), Some(5), "{text:?}\n{}", c.log());

    // A terminal for the container's init too.
    let ctr = format!(
        "ctr --address {} --namespace {} run --rm --tty --runtime {} {} tty1 sh -c 'tty; exit 4'",
        c.socket().display(),
        c.namespace,
        common::RUNTIME,
        common::IMAGE,
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &ctr, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(text.contains("/dev/pts/0"), "{text:?}\n{}", c.log());
    assert_eq!(out.status.code(), Some(4), "{text:?}\n{}", c.log());
}

#[test]
fn a_detached_task_is_listed_and_gives_metrics() {
    let c = Containerd::start("detached");
    c.run_detached(&[], "bg", &["sleep", "1000"]);
    let ls = c.ctr_ok(&["task", "ls"], &[]);
    assert!(
        ls.lines()
            .any(|l| l.starts_with("bg ") && l.contains("RUNNING")),
        "{ls}"
    );
    let metrics = c.ctr_ok(&["task", "metrics", "bg"], &[]);
    // Keys differ between cgroup v1 and v2; both report pids and memory.
    assert!(metrics.contains("pids.current"), "{metrics}");
    assert!(metrics.contains("memory."), "{metrics}");
    let pids_line = metrics
        .lines()
        .find(|l| l.starts_with("pids.current"))
        .unwrap();
    assert!(
        pids_line.split_whitespace().last() != Some("0"),
        "{metrics}"
    );
    let ps = c.ctr_ok(&["task", "ps", "bg"], &[]);
    assert_eq!(ps.lines().count(), 2, "one process: {ps}");
}

#[test]
fn a_failing_create_leaves_nothing_behind() {
    let c = Containerd::start("fail");
    let out = c.run(&["--rm"], "nope", &["/bin/no-such-program"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    // runc's own explanation reaches the user.
    assert!(err.contains("no-such-program"), "{err}\n{}", c.log());
    poll(
        "the shim to exit",
        Duration::from_secs(30),
        || c.shim_pids().is_empty().then_some(()),
        || format!("{:?}\n{}", c.shim_pids(), c.log()),
    );
    let state = c.dir().join("state");
    assert!(
        common::mounts_under(&state).is_empty(),
        "{:?}",
        common::mounts_under(&state)
    );
}

#[test]
fn events_reach_containerd_and_oom_is_reported() {
    let c = Containerd::start("events");
    let events_file = c.dir().join("events.txt");
    let _events = Guard(
        c.ctr()
            .arg("events")
            .stdout(std::fs::File::create(&events_file).unwrap())
            .spawn()
            .unwrap(),
    );
    // ctr events is subscribed once it has seen one event: wait for one.
    poll(
        "ctr events to be subscribed",
        Duration::from_secs(60),
        || {
            let _ = c
                .ctr()
                .args(["namespaces", "label", &c.namespace, "t=1"])
                .output();
            std::thread::sleep(Duration::from_millis(100));
            std::fs::read_to_string(&events_file)
                .ok()
                .filter(|s| !s.is_empty())
        },
        || c.log(),
    );
    c.run_detached(&[], "ev", &["sleep", "1000"]);
    let out = c
        .ctr()
        .args(["task", "exec", "--exec-id", "x1", "ev", "true"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    c.ctr_ok(&["task", "kill", "-s", "SIGKILL", "ev"], &[]);
    c.wait_status("ev", "STOPPED");
    c.ctr_ok(&["task", "delete", "ev"], &[]);

    // The OOM killer in a 16 MiB container: tail buffers /dev/zero forever.
    let out = c.run(
        &["--rm", "--memory-limit", "16777216"],
        "oom",
        &["tail", "/dev/zero"],
    );
    assert_eq!(out.status.code(), Some(137), "{out:?}\n{}", c.log());

    let topics = [
        "/tasks/create",
        "/tasks/start",
        "/tasks/exec-added",
        "/tasks/exec-started",
        "/tasks/exit",
        "/tasks/delete",
        "/tasks/oom",
    ];
    let text = poll(
        "every task event",
        Duration::from_secs(30),
        || {
            let t = std::fs::read_to_string(&events_file).ok()?;
            topics.iter().all(|tp| t.contains(tp)).then_some(t)
        },
        || {
            format!(
                "{}\n{}",
                std::fs::read_to_string(&events_file).unwrap_or_default(),
                c.log()
            )
        },
    );
    let oom_line = text.lines().find(|l| l.contains("/tasks/oom")).unwrap();
    assert!(oom_line.contains("\"oom\""), "{oom_line}");
}

/// `ctr task exec --exec-id ID host sleep 1000`, once `ctr task ps` shows it beside the init.
fn sleeping_exec(c: &Containerd, id: &str) -> Guard {
    let exec = Guard(
        c.ctr()
            .args(["task", "exec", "--exec-id", id, "host", "sleep", "1000"])
            .spawn()
            .unwrap(),
    );
    poll(
        &format!("exec {id} to run"),
        Duration::from_secs(60),
        || {
            let o = c.ctr().args(["task", "ps", "host"]).output().ok()?;
            (String::from_utf8_lossy(&o.stdout).lines().count() >= 3).then_some(())
        },
        || c.log(),
    );
    exec
}
