//! Task metrics from the container's cgroup: cgroup v1 through the
//! containerd-shim crate, v2 read here from the cgroup's files. Each is
//! packed as the message `ctr task metrics` expects
//! (`io.containerd.cgroups.v1.Metrics` or `io.containerd.cgroups.v2.Metrics`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use containerd_shim::protos::cgroups_v2::metrics::{
    CPUStat, MemoryEvents, MemoryStat, Metrics, PidsStat,
};
use containerd_shim::protos::protobuf::well_known_types::any::Any;
use containerd_shim::util::convert_to_any;

use crate::error::{Error, Result};

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// True when the host mounts the unified hierarchy alone (a hybrid host
/// keeps its controllers in v1, so its metrics are v1's).
pub fn unified() -> bool {
    Path::new(CGROUP_ROOT).join("cgroup.controllers").exists()
}

/// The metrics of the cgroup process `pid` is in.
pub fn metrics(pid: u32) -> Result<Any> {
    if unified() {
        let proc_cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
            .map_err(Error::io(format!("read /proc/{pid}/cgroup")))?;
        let dir = v2_dir(&proc_cgroup)
            .ok_or_else(|| Error::NotFound(format!("the cgroup of pid {pid}")))?;
        Ok(convert_to_any(Box::new(v2_metrics(&dir)))?)
    } else {
        let cg = containerd_shim::cgroup::get_cgroup(pid)?;
        Ok(convert_to_any(Box::new(
            containerd_shim::cgroup::collect_metrics(&cg)?,
        ))?)
    }
}

/// The folder of the v2 cgroup named in a /proc/PID/cgroup file.
pub fn v2_dir(proc_cgroup: &str) -> Option<PathBuf> {
    proc_cgroup
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(|p| Path::new(CGROUP_ROOT).join(p.trim_start_matches('/')))
}

/// `key value` lines (cpu.stat, memory.stat, memory.events).
pub fn flat_keyed(text: &str) -> HashMap<&str, u64> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?, it.next()?.parse().ok()?))
        })
        .collect()
}

/// A single number, or "max" (no limit: 0 in the message).
pub fn single(text: &str) -> u64 {
    text.trim().parse().unwrap_or(0)
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_default()
}

/// Reads what a v2 cgroup reports; a missing file (a controller not
/// enabled) leaves its fields zero.
pub fn v2_metrics(dir: &Path) -> Metrics {
    let mut m = Metrics::new();

    let mut pids = PidsStat::new();
    pids.current = single(&read(dir, "pids.current"));
    pids.limit = single(&read(dir, "pids.max"));
    m.pids = Some(pids).into();

    let cpu_stat = read(dir, "cpu.stat");
    let s = flat_keyed(&cpu_stat);
    let get = |k: &str| s.get(k).copied().unwrap_or(0);
    let mut cpu = CPUStat::new();
    cpu.usage_usec = get("usage_usec");
    cpu.user_usec = get("user_usec");
    cpu.system_usec = get("system_usec");
    cpu.nr_periods = get("nr_periods");
    cpu.nr_throttled = get("nr_throttled");
    cpu.throttled_usec = get("throttled_usec");
    m.cpu = Some(cpu).into();

    let memory_stat = read(dir, "memory.stat");
    let s = flat_keyed(&memory_stat);
    let get = |k: &str| s.get(k).copied().unwrap_or(0);
    let mut mem = MemoryStat::new();
    mem.anon = get("anon");
    mem.file = get("file");
    mem.kernel_stack = get("kernel_stack");
    mem.slab = get("slab");
    mem.sock = get("sock");
    mem.shmem = get("shmem");
    mem.file_mapped = get("file_mapped");
    mem.file_dirty = get("file_dirty");
    mem.file_writeback = get("file_writeback");
    mem.inactive_anon = get("inactive_anon");
    mem.active_anon = get("active_anon");
    mem.inactive_file = get("inactive_file");
    mem.active_file = get("active_file");
    mem.unevictable = get("unevictable");
    mem.pgfault = get("pgfault");
    mem.pgmajfault = get("pgmajfault");
    mem.usage = single(&read(dir, "memory.current"));
    mem.usage_limit = single(&read(dir, "memory.max"));
    mem.swap_usage = single(&read(dir, "memory.swap.current"));
    mem.swap_limit = single(&read(dir, "memory.swap.max"));
    m.memory = Some(mem).into();

    let events = read(dir, "memory.events");
    let s = flat_keyed(&events);
    let get = |k: &str| s.get(k).copied().unwrap_or(0);
    let mut ev = MemoryEvents::new();
    ev.low = get("low");
    ev.high = get("high");
    ev.max = get("max");
    ev.oom = get("oom");
    ev.oom_kill = get("oom_kill");
    m.memory_events = Some(ev).into();
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_v2_folder_comes_from_the_unified_line() {
        let hybrid = "12:memory:/ctr/c1\n1:name=systemd:/ctr/c1\n0::/ctr/c1\n";
        assert_eq!(v2_dir(hybrid).unwrap(), Path::new("/sys/fs/cgroup/ctr/c1"));
        assert_eq!(v2_dir("0::/\n").unwrap(), Path::new("/sys/fs/cgroup/"));
        assert!(v2_dir("4:cpu:/x\n").is_none());
    }

    #[test]
    fn v2_files_fill_the_message() {
        let dir = tempfile::tempdir().unwrap();
        let w = |f: &str, s: &str| std::fs::write(dir.path().join(f), s).unwrap();
        w("pids.current", "3\n");
        w("pids.max", "max\n");
        w(
            "cpu.stat",
            "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n",
        );
        w("memory.current", "4096\n");
        w("memory.max", "8192\n");
        w("memory.stat", "anon 1024\nfile 2048\n");
        w("memory.events", "low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n");
        let m = v2_metrics(dir.path());
        assert_eq!(m.pids.current, 3);
        assert_eq!(m.pids.limit, 0);
        assert_eq!(m.cpu.usage_usec, 1500);
        assert_eq!(m.cpu.system_usec, 500);
        assert_eq!(m.memory.usage, 4096);
        assert_eq!(m.memory.usage_limit, 8192);
        assert_eq!(m.memory.anon, 1024);
        assert_eq!(m.memory_events.oom_kill, 1);
        let any = convert_to_any(Box::new(m)).unwrap();
        assert_eq!(any.type_url, "io.containerd.cgroups.v2.Metrics");
    }
}
