//! Carries out runtime.json on this machine as LinuxKit's init does, around runc:
//! [`prepare_filesystem`], [`runc_create`], [`prepare_process`] (interfaces, namespace binds),
//! [`runc_start`], then after the exit [`runc_delete`] and [`cleanup`].

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use crate::runtime::{Interface, Namespaces, Runtime};

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("cannot create {path}: {source}")]
    Mkdir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot mount {source_name} on {target} (type {kind:?}, options {options:?}): {errno}"
    )]
    Mount {
        source_name: String,
        target: PathBuf,
        kind: String,
        options: Vec<String>,
        errno: nix::Error,
    },
    #[error("{0}")]
    Runc(String),
    #[error("interface {name}: {reason}")]
    Interface { name: String, reason: String },
    #[error("cannot bind the {ns} namespace of PID {pid} on {path}: {reason}")]
    BindNs {
        ns: &'static str,
        pid: i32,
        path: PathBuf,
        reason: String,
    },
}

/// fstab-style options -> mount(2) flags and the data string for the filesystem.
pub fn mount_flags(options: &[String]) -> (MsFlags, String) {
    let mut flags = MsFlags::empty();
    let mut data = Vec::new();
    for option in options {
        let (clear, flag) = match option.as_str() {
            "async" => (true, MsFlags::MS_SYNCHRONOUS),
            "atime" => (true, MsFlags::MS_NOATIME),
            "bind" => (false, MsFlags::MS_BIND),
            "defaults" => (false, MsFlags::empty()),
            "dev" => (true, MsFlags::MS_NODEV),
            "diratime" => (true, MsFlags::MS_NODIRATIME),
            "dirsync" => (false, MsFlags::MS_DIRSYNC),
            "exec" => (true, MsFlags::MS_NOEXEC),
            "mand" => (false, MsFlags::MS_MANDLOCK),
            "noatime" => (false, MsFlags::MS_NOATIME),
            "nodev" => (false, MsFlags::MS_NODEV),
            "nodiratime" => (false, MsFlags::MS_NODIRATIME),
            "noexec" => (false, MsFlags::MS_NOEXEC),
            "nomand" => (true, MsFlags::MS_MANDLOCK),
            "norelatime" => (true, MsFlags::MS_RELATIME),
            "nostrictatime" => (true, MsFlags::MS_STRICTATIME),
            "nosuid" => (false, MsFlags::MS_NOSUID),
            "private" => (false, MsFlags::MS_PRIVATE),
            "rbind" => (false, MsFlags::MS_BIND | MsFlags::MS_REC),
            "relatime" => (false, MsFlags::MS_RELATIME),
            "remount" => (false, MsFlags::MS_REMOUNT),
            "ro" => (false, MsFlags::MS_RDONLY),
            "rw" => (true, MsFlags::MS_RDONLY),
            "shared" => (false, MsFlags::MS_SHARED),
            "slave" => (false, MsFlags::MS_SLAVE),
            "strictatime" => (false, MsFlags::MS_STRICTATIME),
            "suid" => (true, MsFlags::MS_NOSUID),
            "sync" => (false, MsFlags::MS_SYNCHRONOUS),
            "unbindable" => (false, MsFlags::MS_UNBINDABLE),
            _ => {
                data.push(option.as_str());
                continue;
            }
        };
        if clear {
            flags.remove(flag);
        } else {
            flags.insert(flag);
        }
    }
    (flags, data.join(","))
}

fn mkdir_all(path: &Path) -> Result<(), ApplyError> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(path)
        .map_err(|source| ApplyError::Mkdir {
            path: path.to_path_buf(),
            source,
        })
}

/// Relative paths are inside the bundle's rootfs.
fn absolute(bundle: &Path, path: &str) -> PathBuf {
    if Path::new(path).is_absolute() {
        PathBuf::from(path)
    } else {
        bundle.join("rootfs").join(path)
    }
}

/// Mounts (making their mount points, and an overlay's upper and work dirs), then mkdir, then
/// cgroups: everything LinuxKit does before `runc create`.
pub fn prepare_filesystem(bundle: &Path, runtime: &Runtime) -> Result<(), ApplyError> {
    for m in runtime.mounts.iter().flatten() {
        let target = absolute(bundle, &m.destination);
        mkdir_all(&target)?;
        for option in &m.options {
            if let Some(dir) = option
                .strip_prefix("upperdir=")
                .or_else(|| option.strip_prefix("workdir="))
            {
                mkdir_all(Path::new(dir))?;
            }
        }
        let (flags, data) = mount_flags(&m.options);
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        mount(
            opt(&m.source).as_deref(),
            &target,
            opt(&m.kind).as_deref(),
            flags,
            opt(&data).as_deref(),
        )
        .map_err(|errno| ApplyError::Mount {
            source_name: m.source.clone(),
            target: target.clone(),
            kind: m.kind.clone(),
            options: m.options.clone(),
            errno,
        })?;
    }
    for dir in runtime.mkdir.iter().flatten() {
        mkdir_all(&absolute(bundle, dir))?;
    }
    for cgroup in runtime.cgroups.iter().flatten() {
        make_cgroup(Path::new("/sys/fs/cgroup"), cgroup)?;
    }
    Ok(())
}

/// A cgroup is one folder under cgroup v2, and a folder under each controller under v1.
fn make_cgroup(root: &Path, cgroup: &str) -> Result<(), ApplyError> {
    if root.join("cgroup.controllers").exists() {
        return mkdir_all(&root.join(cgroup));
    }
    let entries = fs::read_dir(root).map_err(|source| ApplyError::Mkdir {
        path: root.to_path_buf(),
        source,
    })?;
    for entry in entries.flatten() {
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            mkdir_all(&entry.path().join(cgroup))?;
        }
    }
    Ok(())
}

/// Binds each namespace of the created container's `pid` named in `bind_ns` on its path.
pub fn bind_namespaces(pid: i32, bind_ns: &Namespaces) -> Result<(), ApplyError> {
    for (ns, path) in bind_ns.binds() {
        let path = Path::new(path);
        let fail = |reason: String| ApplyError::BindNs {
            ns,
            pid,
            path: path.to_path_buf(),
            reason,
        };
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| fail(e.to_string()))?;
        }
        fs::File::create(path).map_err(|e| fail(e.to_string()))?;
        let source = format!("/proc/{pid}/ns/{ns}");
        mount(
            Some(source.as_str()),
            path,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| fail(e.to_string()))?;
    }
    Ok(())
}

/// `runc create`: the container's init waits for `start`; returns its PID. Its stdio are ours.
pub fn runc_create(runc: &Path, bundle: &Path, id: &str) -> Result<i32, ApplyError> {
    runc_create_logged(runc, bundle, id, None)
}

/// [`runc_create`] with the container's stdout and stderr going to `log` (stdin /dev/null).
pub fn runc_create_logged(
    runc: &Path,
    bundle: &Path,
    id: &str,
    log: Option<&fs::File>,
) -> Result<i32, ApplyError> {
    let pid_file = bundle.join("container.pid");
    let mut cmd = Command::new(runc);
    if let Some(log) = log {
        let dup = |f: &fs::File| f.try_clone().map(Stdio::from);
        let io = |e: std::io::Error| ApplyError::Runc(format!("log file: {e}"));
        cmd.stdin(Stdio::null())
            .stdout(dup(log).map_err(io)?)
            .stderr(dup(log).map_err(io)?);
    }
    let status = cmd
        .arg("create")
        .arg("--bundle")
        .arg(bundle)
        .arg("--pid-file")
        .arg(&pid_file)
        .arg(id)
        .status()
        .map_err(|e| ApplyError::Runc(format!("starting {}: {e}", runc.display())))?;
    if !status.success() {
        return Err(ApplyError::Runc(format!(
            "runc create {id} failed ({status})"
        )));
    }
    fs::read_to_string(&pid_file)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .ok_or_else(|| {
            ApplyError::Runc(format!(
                "runc create {id}: no PID in {}",
                pid_file.display()
            ))
        })
}

pub fn runc_start(runc: &Path, id: &str) -> Result<(), ApplyError> {
    let status = Command::new(runc)
        .arg("start")
        .arg(id)
        .status()
        .map_err(|e| ApplyError::Runc(format!("starting {}: {e}", runc.display())))?;
    if !status.success() {
        return Err(ApplyError::Runc(format!(
            "runc start {id} failed ({status})"
        )));
    }
    Ok(())
}

/// Best effort: the container may be gone already.
pub fn runc_delete(runc: &Path, id: &str) {
    let _ = Command::new(runc)
        .args(["delete", "--force", id])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// What LinuxKit does between create and start: the network interfaces, then the namespace binds.
pub fn prepare_process(pid: i32, runtime: &Runtime) -> Result<(), ApplyError> {
    for iface in runtime.interfaces.iter().flatten() {
        move_interface(iface, pid)?;
    }
    bind_namespaces(pid, &runtime.bind_ns)
}

fn move_interface(iface: &Interface, pid: i32) -> Result<(), ApplyError> {
    for step in crate::link::interface_steps(iface, pid) {
        crate::link::apply_step(&step).map_err(|reason| ApplyError::Interface {
            name: iface.name.clone(),
            reason: format!("{step:?}: {reason}"),
        })?;
    }
    Ok(())
}

/// Best effort, once the container is deleted: the rootfs mount, then the tmpfs of a read-write
/// bundle.
pub fn cleanup(bundle: &Path) {
    for dir in ["rootfs", "tmp"] {
        let _ = umount2(&bundle.join(dir), MntFlags::MNT_DETACH);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_become_flags_and_data() {
        let (flags, data) =
            mount_flags(&strings(&["rw", "rbind", "rshared", "size=10%", "nosuid"]));
        assert_eq!(
            flags,
            MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_NOSUID
        );
        assert_eq!(data, "rshared,size=10%");
        let (flags, data) = mount_flags(&strings(&["ro", "rw", "remount", "private"]));
        assert_eq!(flags, MsFlags::MS_REMOUNT | MsFlags::MS_PRIVATE);
        assert_eq!(data, "");
    }

    #[test]
    fn relative_paths_are_inside_the_rootfs() {
        let bundle = Path::new("/containers/services/x");
        assert_eq!(absolute(bundle, "/var/lib"), PathBuf::from("/var/lib"));
        assert_eq!(
            absolute(bundle, "var/lib"),
            PathBuf::from("/containers/services/x/rootfs/var/lib")
        );
    }

    #[test]
    fn cgroups_are_made_per_controller_on_v1_and_once_on_v2() {
        let v1 = tempfile::tempdir().unwrap();
        for c in ["cpu", "memory"] {
            fs::create_dir(v1.path().join(c)).unwrap();
        }
        make_cgroup(v1.path(), "podruntime/x").unwrap();
        assert!(v1.path().join("cpu/podruntime/x").is_dir());
        assert!(v1.path().join("memory/podruntime/x").is_dir());
        let v2 = tempfile::tempdir().unwrap();
        fs::write(v2.path().join("cgroup.controllers"), "cpu memory").unwrap();
        make_cgroup(v2.path(), "podruntime/x").unwrap();
        assert!(v2.path().join("podruntime/x").is_dir());
    }
}
