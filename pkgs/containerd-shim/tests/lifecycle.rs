//! The shim over many containers and through crashes: its own, containerd's.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{alive, children_of, fds, mounts_under, poll, zombies_of, Containerd, SHIM};
use containerd_shim::api::DeleteResponse;
use containerd_shim::protos::protobuf::Message;

const GROUP: &str = "io.containerd.runc.v2.group=many";

/// The one shim process serving this containerd's tasks.
fn only_shim(c: &Containerd) -> u32 {
    poll(
        "one shim",
        Duration::from_secs(30),
        || match c.shim_pids()[..] {
            [pid] => Some(pid),
            _ => None,
        },
        || format!("shims: {:?}", c.shim_pids()),
    )
}

#[test]
fn a_hundred_containers_leave_no_fds_zombies_or_mounts() {
    let c = Containerd::start("many");
    let state = c.dir().join("state");
    // A long-lived container keeps the group's shim up; the hundred join it.
    c.run_detached(&["--annotation", GROUP], "keeper", &["sleep", "100000"]);
    let shim = only_shim(&c);
    let fds_before = fds(shim);
    let mounts_before = mounts_under(&state);
    assert_eq!(
        mounts_before.len(),
        1,
        "the keeper's rootfs: {mounts_before:?}"
    );

    for i in 0..100 {
        let id = format!("one-{i}");
        let out = c.run(
            &["--rm", "--annotation", GROUP],
            &id,
            &["sh", "-c", "echo $0", &id],
        );
        assert!(out.status.success(), "{id}: {out:?}\n{}", c.log());
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), id);
    }

    assert_eq!(only_shim(&c), shim, "all ran in the group's shim");
    // Deletes finish before ctr returns; the copies' tasks may take a moment.
    poll(
        "the shim's descriptors to be back to where they were",
        Duration::from_secs(30),
        || (fds(shim) == fds_before).then_some(()),
        || format!("before: {fds_before:?}\nnow: {:?}", fds(shim)),
    );
    assert!(
        zombies_of(shim).is_empty(),
        "zombies: {:?}",
        zombies_of(shim)
    );
    assert_eq!(children_of(shim).len(), 1, "only the keeper's init is left");
    assert_eq!(mounts_under(&state), mounts_before);

    c.ctr_ok(&["task", "kill", "-s", "SIGKILL", "keeper"], &[]);
    c.wait_status("keeper", "STOPPED");
    c.ctr_ok(&["task", "delete", "keeper"], &[]);
    poll(
        "the shim to exit with its last container",
        Duration::from_secs(30),
        || (!alive(shim)).then_some(()),
        || c.log(),
    );
    assert!(
        mounts_under(&state).is_empty(),
        "{:?}",
        mounts_under(&state)
    );
}

#[test]
fn the_task_survives_a_containerd_restart() {
    let mut c = Containerd::start("restart");
    c.run_detached(&[], "survivor", &["sleep", "100000"]);
    let shim = only_shim(&c);
    let old = c.pid();
    c.restart();
    assert_ne!(c.pid(), old);
    assert!(alive(shim), "the shim outlives containerd");
    // containerd reconnects to the shim and finds the task running.
    c.wait_status("survivor", "RUNNING");
    let ps = c.ctr_ok(&["task", "ps", "survivor"], &[]);
    assert_eq!(ps.lines().count(), 2, "{ps}");
    c.ctr_ok(&["task", "kill", "-s", "SIGKILL", "survivor"], &[]);
    c.wait_status("survivor", "STOPPED");
    c.ctr_ok(&["task", "delete", "survivor"], &[]);
    poll(
        "the shim to exit",
        Duration::from_secs(30),
        || (!alive(shim)).then_some(()),
        || c.log(),
    );
    assert!(mounts_under(&c.dir().join("state")).is_empty());
}

#[test]
fn a_killed_shim_is_cleaned_up_by_containerd() {
    let c = Containerd::start("shimkill");
    c.run_detached(&[], "orphan", &["sleep", "100000"]);
    let shim = only_shim(&c);
    let socket = common::cmdline(shim)
        .iter()
        .find_map(|a| a.strip_prefix("unix://").map(std::path::PathBuf::from))
        .expect("the shim's -socket");
    assert!(socket.exists());
    let init = children_of(shim);
    assert_eq!(init.len(), 1, "{init:?}");
    common::kill(shim, libc::SIGKILL);
    // containerd sees the connection drop, runs `shim delete` (which kills
    // the container and unmounts its rootfs) and reports the task stopped.
    poll(
        "containerd to report the task gone",
        Duration::from_secs(60),
        || (c.task_status("orphan").as_deref() != Some("RUNNING")).then_some(()),
        || c.log(),
    );
    poll(
        "the container's process to be gone",
        Duration::from_secs(30),
        || (!alive(init[0])).then_some(()),
        || c.log(),
    );
    let _ = c.ctr().args(["task", "delete", "orphan"]).output().unwrap();
    assert_eq!(c.task_status("orphan"), None, "{}", c.log());
    c.ctr_ok(&["container", "delete", "orphan"], &[]);
    poll(
        "the rootfs to be unmounted",
        Duration::from_secs(30),
        || {
            mounts_under(&c.dir().join("state"))
                .is_empty()
                .then_some(())
        },
        || format!("{:?}", mounts_under(&c.dir().join("state"))),
    );
    // `delete` removes it last, after the mounts.
    poll(
        "the dead shim's socket to be removed",
        Duration::from_secs(30),
        || (!socket.exists()).then_some(()),
        || c.log(),
    );
}

#[test]
fn delete_after_a_crash_unmounts_the_rootfs() {
    common::require("runc", "runc");
    let bundle = tempfile::tempdir_in("/tmp").unwrap();
    let rootfs = bundle.path().join("rootfs");
    let source = bundle.path().join("source");
    std::fs::create_dir(&rootfs).unwrap();
    std::fs::create_dir(&source).unwrap();
    std::fs::write(bundle.path().join("init.pid"), "4242").unwrap();
    let mounted = Command::new("mount")
        .arg("--bind")
        .arg(&source)
        .arg(&rootfs)
        .status()
        .unwrap();
    assert!(mounted.success());
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).output();
        }
    }
    let _guard = Unmount(rootfs.clone());
    assert_eq!(mounts_under(bundle.path()).len(), 1);

    let out = Command::new(SHIM)
        .args([
            "-namespace",
            "minios-delete",
            "-id",
            "crashed",
            "-address",
            "/nonexistent.sock",
            "delete",
        ])
        .current_dir(bundle.path())
        .env("TTRPC_ADDRESS", "/nonexistent.sock.ttrpc")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let resp = DeleteResponse::parse_from_bytes(&out.stdout).unwrap();
    assert_eq!(resp.exit_status, 137);
    assert_eq!(resp.pid, 4242);
    assert!(resp.exited_at.is_some());
    assert!(
        mounts_under(bundle.path()).is_empty(),
        "{:?}",
        mounts_under(bundle.path())
    );
    // runc made its (empty) state folder for the namespace.
    let _ = std::fs::remove_dir("/run/containerd/runc/minios-delete");
}

#[test]
fn version_needs_no_flags() {
    let out = Command::new(SHIM)
        .arg("--version")
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(&format!(
            "containerd-shim-minios-v2 {}",
            env!("CARGO_PKG_VERSION")
        )),
        "{text}"
    );
    assert!(text.contains("io.containerd.minios.v2"), "{text}");
}

#[test]
fn without_containerd_s_environment_it_says_what_is_missing() {
    let out = Command::new(SHIM)
        .args(["-namespace", "x", "-id", "y", "delete"])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("TTRPC_ADDRESS is not set"), "{err}");
}
