//! The runc client: rust-extensions' `runc` crate, with a spawner that
//! learns runc's exit from the shim's reaper instead of waiting for it
//! itself (the reaper calls `waitpid(-1)` and would race any other wait).

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::Arc;

use async_trait::async_trait;
use containerd_shim::api::Options;
use containerd_shim::monitor::{monitor_subscribe, monitor_unsubscribe, ExitEvent, Subject, Topic};
use runc::options::GlobalOpts;
use runc::{Command, Runc, Spawner};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::error::{Error, Result};
use crate::process::last_runc_error;

/// Where runc keeps its state when the runtime options name no root, as
/// containerd's own runc shim does (one folder per namespace below it).
pub const DEFAULT_ROOT: &str = "/run/containerd/runc";

/// The runc binary when the runtime options name none: found on PATH.
pub const DEFAULT_BINARY: &str = "runc";

/// Runs runc and collects its output and exit status through the reaper.
#[derive(Debug, Default)]
pub struct ReapedSpawner;

#[async_trait]
impl Spawner for ReapedSpawner {
    async fn execute(&self, cmd: Command) -> runc::Result<(ExitStatus, u32, String, String)> {
        let mut cmd = cmd;
        // Subscribed before the spawn, so that an exit cannot come first.
        let sub = monitor_subscribe(Topic::Pid)
            .await
            .map_err(|e| runc::error::Error::Other(Box::new(e)))?;
        let sub_id = sub.id;
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                let _ = monitor_unsubscribe(sub_id).await;
                return Err(runc::error::Error::ProcessSpawnFailed(e));
            }
        };
        let pid = child.id().unwrap_or_default();
        let mut rx = sub.rx;
        let wait = async move {
            while let Some(ExitEvent { subject, exit_code }) = rx.recv().await {
                if matches!(subject, Subject::Pid(p) if p as u32 == pid) {
                    return exit_code;
                }
            }
            -1
        };
        let (stdout, stderr, code) = tokio::join!(
            read_all(child.stdout.take()),
            read_all(child.stderr.take()),
            wait
        );
        let _ = monitor_unsubscribe(sub_id).await;
        // The child stays owned until the reaper has it, so tokio never waits
        // for it itself.
        drop(child);
        // The reaper reports 128 + signal for a killed runc; either way a
        // wait status carries the code in its second byte.
        Ok((
            ExitStatus::from_raw((code & 0xff) << 8),
            pid,
            stdout,
            stderr,
        ))
    }
}

async fn read_all<R: AsyncRead + Unpin>(r: Option<R>) -> String {
    let mut out = String::new();
    if let Some(mut r) = r {
        let _ = r.read_to_string(&mut out).await;
    }
    out
}

/// A runc client for one container's bundle: its state under the runtime
/// options' root (or [`DEFAULT_ROOT`]) and namespace, its log in the bundle.
pub fn client(opts: &Options, namespace: &str, bundle: &Path) -> Result<Runc> {
    let binary = if opts.binary_name.is_empty() {
        DEFAULT_BINARY
    } else {
        opts.binary_name.as_str()
    };
    let root = if opts.root.is_empty() {
        DEFAULT_ROOT
    } else {
        opts.root.as_str()
    };
    let mut global = GlobalOpts::new()
        .command(binary)
        .root(Path::new(root).join(namespace))
        .log(log_path(bundle))
        .log_json()
        .systemd_cgroup(opts.systemd_cgroup);
    global.custom_spawner(Arc::new(ReapedSpawner));
    global.build().map_err(|e| Error::Runc {
        op: "setup",
        msg: e.to_string(),
    })
}

pub fn log_path(bundle: &Path) -> PathBuf {
    bundle.join("log.json")
}

/// Turns a runc failure into our error, with runc's own explanation from
/// its log when its output went to the container instead of to us.
pub fn failed(op: &'static str, bundle: &Path, e: runc::error::Error) -> Error {
    let msg = match &e {
        runc::error::Error::CommandFailed { stdout, stderr, .. }
            if !stderr.trim().is_empty() || !stdout.trim().is_empty() =>
        {
            format!("{}{}", stdout.trim(), stderr.trim())
        }
        _ => std::fs::read_to_string(log_path(bundle))
            .ok()
            .and_then(|l| last_runc_error(&l))
            .unwrap_or_else(|| e.to_string()),
    };
    Error::Runc { op, msg }
}

/// runc's message for a failed command, for sorting kill errors.
pub fn message(bundle: &Path, e: &runc::error::Error) -> String {
    match e {
        runc::error::Error::CommandFailed { stdout, stderr, .. } => format!("{stdout}{stderr}"),
        _ => std::fs::read_to_string(log_path(bundle))
            .ok()
            .and_then(|l| last_runc_error(&l))
            .unwrap_or_else(|| e.to_string()),
    }
}
