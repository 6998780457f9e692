//! `pkgbuild run`: a bundle run the way LinuxKit's init runs an `onboot` entry: runtime.json's
//! mounts, mkdir and cgroups, `runc create`, interfaces and namespace binds, `runc start`, wait
//! for the container's exit, `runc delete`, unmount.

use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};

use anyhow::{bail, Context};
use linuxkit_config::{apply, capability_bit};
use nix::errno::Errno;
use nix::sys::signal::{self, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;

use crate::bundle::Bundle;

/// Capabilities the spec asks for that this machine's bounding set lacks, removed from every set.
/// runc refuses to start a container that asks for a capability its caller does not have; a
/// LinuxKit machine has them all, a developer's container or CI runner may not.
pub fn clamp_capabilities(spec: &mut serde_json::Value, host_bounding: u64) -> Vec<String> {
    let mut dropped = Vec::new();
    let Some(caps) = spec
        .pointer_mut("/process/capabilities")
        .and_then(|c| c.as_object_mut())
    else {
        return dropped;
    };
    for list in caps.values_mut() {
        let Some(items) = list.as_array_mut() else {
            continue;
        };
        items.retain(|cap| {
            let name = cap.as_str().unwrap_or_default();
            let held = capability_bit(name).is_some_and(|bit| host_bounding & (1u64 << bit) != 0);
            if !held && !dropped.iter().any(|d| d == name) {
                dropped.push(name.to_string());
            }
            held
        });
    }
    caps.retain(|_, list| list.as_array().is_none_or(|l| !l.is_empty()));
    dropped
}

/// This process's capability bounding set, from /proc/self/status.
pub fn host_bounding_set() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .context("no CapBnd in /proc/self/status")?;
    Ok(u64::from_str_radix(hex.trim(), 16)?)
}

/// The signal that arrived while we waited, to pass on to the container.
static PENDING: AtomicI32 = AtomicI32::new(0);

extern "C" fn remember(sig: i32) {
    PENDING.store(sig, Ordering::SeqCst);
}

/// Runs the bundle's container in the foreground with our stdio; returns its exit status
/// (128 + N when killed by signal N). Everything it set up is undone, also on failure.
pub fn run_bundle(bundle: &Bundle, id: &str, runc: &Path) -> anyhow::Result<i32> {
    if !nix::unistd::geteuid().is_root() {
        bail!("pkgbuild run needs root (runc, mounts and namespaces)");
    }
    let guard = Cleanup {
        bundle: &bundle.dir,
        id,
        runc,
    };
    let on_signal = SigAction::new(
        SigHandler::Handler(remember),
        SaFlags::empty(),
        SigSet::empty(),
    );
    for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // No SA_RESTART: the wait below returns EINTR, and we pass the signal on. Installed
        // first, so a ^C during setup still ends in the cleanup below.
        unsafe { signal::sigaction(sig, &on_signal) }?;
    }
    apply::prepare_filesystem(&bundle.dir, &bundle.runtime)
        .context("carrying out runtime.json before create")?;
    // The container's init outlives `runc create`; as subreaper we get to wait for it.
    nix::sys::prctl::set_child_subreaper(true).context("becoming a child subreaper")?;
    let pid = apply::runc_create(runc, &bundle.dir, id)?;
    apply::prepare_process(pid, &bundle.runtime)?;
    apply::runc_start(runc, id)?;
    let code = loop {
        // A signal that came before the wait (during setup or start) is passed on too.
        if let Ok(sig) = Signal::try_from(PENDING.swap(0, Ordering::SeqCst)) {
            let _ = signal::kill(Pid::from_raw(pid), sig);
        }
        match waitpid(Pid::from_raw(pid), None) {
            Ok(WaitStatus::Exited(_, code)) => break code,
            Ok(WaitStatus::Signaled(_, sig, _)) => break 128 + sig as i32,
            Ok(_) => continue,
            Err(Errno::EINTR) => continue,
            Err(err) => bail!("waiting for the container (PID {pid}): {err}"),
        }
    };
    drop(guard);
    Ok(code)
}

/// Deletes the container and unmounts the bundle, whatever happened before.
struct Cleanup<'a> {
    bundle: &'a Path,
    id: &'a str,
    runc: &'a Path,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        apply::runc_delete(self.runc, self.id);
        apply::cleanup(self.bundle);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn capabilities_the_host_lacks_are_dropped_from_every_set() {
        let mut spec = json!({"process": {"capabilities": {
            "bounding": ["CAP_NET_ADMIN", "CAP_SYS_RESOURCE"],
            "effective": ["CAP_SYS_RESOURCE"],
            "permitted": ["CAP_NET_ADMIN", "CAP_SYS_RESOURCE"],
        }}});
        let host = 0x1ff_feff_ffffu64; // every capability but CAP_SYS_RESOURCE (24)
        let dropped = clamp_capabilities(&mut spec, host);
        assert_eq!(dropped, ["CAP_SYS_RESOURCE"]);
        assert_eq!(
            spec["process"]["capabilities"],
            json!({"bounding": ["CAP_NET_ADMIN"], "permitted": ["CAP_NET_ADMIN"]})
        );
        assert!(clamp_capabilities(&mut spec, u64::MAX).is_empty());
    }
}
