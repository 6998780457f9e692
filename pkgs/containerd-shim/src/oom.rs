//! Watching a container's memory cgroup for the OOM killer, so the shim can
//! send TaskOOM: cgroup v1 notifies an eventfd registered through
//! `cgroup.event_control`; v2 counts `oom_kill` in `memory.events`, which
//! inotify reports as modified.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use tokio::io::unix::AsyncFd;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::stats::{flat_keyed, unified, v2_dir};

/// The v1 memory cgroup folder named in a /proc/PID/cgroup file.
pub fn v1_memory_dir(proc_cgroup: &str) -> Option<PathBuf> {
    proc_cgroup.lines().find_map(|l| {
        let mut it = l.splitn(3, ':');
        let (_, controllers, path) = (it.next()?, it.next()?, it.next()?);
        controllers
            .split(',')
            .any(|c| c == "memory")
            .then(|| Path::new("/sys/fs/cgroup/memory").join(path.trim_start_matches('/')))
    })
}

/// The `oom_kill` count in a memory.events file.
pub fn oom_kills(memory_events: &str) -> u64 {
    flat_keyed(memory_events)
        .get("oom_kill")
        .copied()
        .unwrap_or(0)
}

fn last_os_error(context: &str) -> Error {
    Error::io(context.to_string())(std::io::Error::last_os_error())
}

/// Calls `on_oom` each time the OOM killer acts in the cgroup of `pid`,
/// until the cgroup goes away or the task is aborted.
pub fn watch<F>(pid: u32, on_oom: F) -> Result<JoinHandle<()>>
where
    F: Fn() + Send + 'static,
{
    let proc_cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .map_err(Error::io(format!("read /proc/{pid}/cgroup")))?;
    if unified() {
        let dir = v2_dir(&proc_cgroup).ok_or_else(|| Error::NotFound("the v2 cgroup".into()))?;
        watch_v2(dir, on_oom)
    } else {
        let dir = v1_memory_dir(&proc_cgroup)
            .ok_or_else(|| Error::NotFound("the memory cgroup".into()))?;
        watch_v1(dir, on_oom)
    }
}

fn watch_v1<F: Fn() + Send + 'static>(dir: PathBuf, on_oom: F) -> Result<JoinHandle<()>> {
    // SAFETY: eventfd returns a new descriptor or -1.
    let efd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if efd < 0 {
        return Err(last_os_error("eventfd"));
    }
    // SAFETY: efd is ours alone.
    let efd = unsafe { OwnedFd::from_raw_fd(efd) };
    let control = File::open(dir.join("memory.oom_control")).map_err(Error::io(format!(
        "open {}/memory.oom_control",
        dir.display()
    )))?;
    std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join("cgroup.event_control"))
        // One write: the kernel parses the line from a single call.
        .and_then(|mut f| {
            f.write_all(format!("{} {}", efd.as_raw_fd(), control.as_raw_fd()).as_bytes())
        })
        .map_err(Error::io(format!(
            "register with {}/cgroup.event_control",
            dir.display()
        )))?;
    // SAFETY: the AsyncFd owns the descriptor for as long as it is registered.
    let efd = unsafe { AsyncFd::register(efd) }
        .map_err(|e| Error::io("watch the eventfd")(std::io::Error::from(e)))?;
    Ok(tokio::spawn(async move {
        let _control = control;
        loop {
            let Ok(mut guard) = efd.readable().await else {
                return;
            };
            let mut n = 0u64;
            // SAFETY: reads 8 bytes into n.
            let rc = unsafe { libc::read(efd.as_raw_fd(), (&mut n as *mut u64).cast(), 8) };
            guard.clear_ready();
            if rc != 8 {
                continue;
            }
            // The eventfd also fires when the cgroup is removed.
            if !dir.join("memory.oom_control").exists() {
                return;
            }
            on_oom();
        }
    }))
}

fn watch_v2<F: Fn() + Send + 'static>(dir: PathBuf, on_oom: F) -> Result<JoinHandle<()>> {
    let events = dir.join("memory.events");
    // SAFETY: inotify_init1 returns a new descriptor or -1.
    let ifd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) };
    if ifd < 0 {
        return Err(last_os_error("inotify_init1"));
    }
    // SAFETY: ifd is ours alone.
    let ifd = unsafe { OwnedFd::from_raw_fd(ifd) };
    let cpath = std::ffi::CString::new(events.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::InvalidArgument("cgroup path".into()))?;
    // SAFETY: a valid descriptor and a NUL-terminated path.
    if unsafe { libc::inotify_add_watch(ifd.as_raw_fd(), cpath.as_ptr(), libc::IN_MODIFY) } < 0 {
        return Err(last_os_error("inotify_add_watch"));
    }
    let mut seen = oom_kills(&std::fs::read_to_string(&events).unwrap_or_default());
    // SAFETY: the AsyncFd owns the descriptor for as long as it is registered.
    let ifd = unsafe { AsyncFd::register(ifd) }
        .map_err(|e| Error::io("watch inotify")(std::io::Error::from(e)))?;
    Ok(tokio::spawn(async move {
        let mut buf = [0u8; 1024];
        loop {
            let Ok(mut guard) = ifd.readable().await else {
                return;
            };
            // SAFETY: reads at most buf.len() bytes into buf.
            let rc = unsafe { libc::read(ifd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            guard.clear_ready();
            if rc <= 0 {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&events) else {
                return;
            };
            let now = oom_kills(&text);
            if now > seen {
                seen = now;
                on_oom();
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_controller_line_names_the_v1_folder() {
        let text = "12:cpu,cpuacct:/a\n9:memory:/default/c1\n0::/default/c1\n";
        assert_eq!(
            v1_memory_dir(text).unwrap(),
            Path::new("/sys/fs/cgroup/memory/default/c1")
        );
        assert!(v1_memory_dir("0::/x\n").is_none());
    }

    #[test]
    fn oom_kills_are_counted() {
        assert_eq!(oom_kills("low 0\nhigh 0\nmax 3\noom 2\noom_kill 2\n"), 2);
        assert_eq!(oom_kills(""), 0);
    }
}
