//! Entering the namespaces of another process through `/proc/PID/ns/*` and setns(2).

use std::fmt;
use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::str::FromStr;

use nix::errno::Errno;
use nix::sched::{setns, CloneFlags};

/// A namespace that [`enter_namespaces`] can enter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ns {
    Mnt,
    Uts,
    Ipc,
    Net,
    Pid,
    Cgroup,
}

impl Ns {
    /// All of them, in the order [`enter_namespaces`] enters them.
    pub const ALL: [Ns; 6] = [Ns::Cgroup, Ns::Ipc, Ns::Uts, Ns::Net, Ns::Pid, Ns::Mnt];

    /// The file name under `/proc/PID/ns/`.
    pub fn name(self) -> &'static str {
        match self {
            Ns::Mnt => "mnt",
            Ns::Uts => "uts",
            Ns::Ipc => "ipc",
            Ns::Net => "net",
            Ns::Pid => "pid",
            Ns::Cgroup => "cgroup",
        }
    }

    fn flag(self) -> CloneFlags {
        match self {
            Ns::Mnt => CloneFlags::CLONE_NEWNS,
            Ns::Uts => CloneFlags::CLONE_NEWUTS,
            Ns::Ipc => CloneFlags::CLONE_NEWIPC,
            Ns::Net => CloneFlags::CLONE_NEWNET,
            Ns::Pid => CloneFlags::CLONE_NEWPID,
            Ns::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        }
    }
}

impl fmt::Display for Ns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not one of `mnt uts ipc net pid cgroup`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown namespace {0:?} (expected mnt, uts, ipc, net, pid or cgroup)")]
pub struct UnknownNs(pub String);

impl FromStr for Ns {
    type Err = UnknownNs;

    /// Takes the `/proc/PID/ns` names, and `mount`/`network` as nsenter spells them.
    fn from_str(s: &str) -> Result<Ns, UnknownNs> {
        Ok(match s {
            "mnt" | "mount" => Ns::Mnt,
            "uts" => Ns::Uts,
            "ipc" => Ns::Ipc,
            "net" | "network" => Ns::Net,
            "pid" => Ns::Pid,
            "cgroup" => Ns::Cgroup,
            _ => return Err(UnknownNs(s.to_string())),
        })
    }
}

/// Why entering a namespace failed; each variant names the namespace.
#[derive(Debug, thiserror::Error)]
pub enum NsError {
    #[error("{ns} namespace: opening {path}: {source}")]
    Open {
        ns: Ns,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{ns} namespace of PID {pid}: setns: {source}")]
    Enter { ns: Ns, pid: u32, source: Errno },
}

impl NsError {
    /// The namespace that failed.
    pub fn ns(&self) -> Ns {
        match self {
            NsError::Open { ns, .. } | NsError::Enter { ns, .. } => *ns,
        }
    }
}

/// Moves the calling process into the namespaces `which` of process `pid`.
///
/// Every `/proc/PID/ns/*` file is opened before the first setns, so that entering the mount
/// namespace cannot change which `/proc` the others are read from; they are then entered in the
/// order of [`Ns::ALL`], the mount namespace last. A namespace that the caller already shares
/// with `pid` is left alone, so a no-op needs no privilege. Nothing is entered when a file cannot
/// be opened; a failed setns can leave the earlier ones entered, so treat any error as fatal for
/// the process.
///
/// What the caller must know:
/// - [`Ns::Pid`] applies to children only: the caller stays in its PID namespace and must fork
///   after this call for a process to run in the new one.
/// - [`Ns::Mnt`] needs a single-threaded caller (setns fails with `EINVAL` otherwise), and it
///   moves the caller's root and working directory to the root of the new namespace.
/// - Entering needs `CAP_SYS_ADMIN` (and `CAP_SYS_CHROOT` for the mount namespace).
pub fn enter_namespaces(pid: u32, which: &[Ns]) -> Result<(), NsError> {
    let mut open = Vec::new();
    for ns in Ns::ALL.into_iter().filter(|ns| which.contains(ns)) {
        let path = PathBuf::from(format!("/proc/{pid}/ns/{}", ns.name()));
        let file = File::open(&path).map_err(|source| NsError::Open {
            ns,
            path: path.clone(),
            source,
        })?;
        if !same_namespace(&file, ns) {
            open.push((ns, file));
        }
    }
    for (ns, file) in open {
        setns(&file, ns.flag()).map_err(|source| NsError::Enter { ns, pid, source })?;
    }
    Ok(())
}

/// Whether we are in the namespace `file` refers to already (same nsfs inode).
fn same_namespace(file: &File, ns: Ns) -> bool {
    // For PID namespaces what matters is where our children go.
    let name = match ns {
        Ns::Pid => "pid_for_children",
        _ => ns.name(),
    };
    let ours = std::fs::metadata(format!("/proc/self/ns/{name}"));
    match (ours, file.metadata()) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for ns in Ns::ALL {
            assert_eq!(ns.name().parse::<Ns>(), Ok(ns));
            assert_eq!(ns.to_string(), ns.name());
        }
        assert_eq!("mount".parse::<Ns>(), Ok(Ns::Mnt));
        assert_eq!("network".parse::<Ns>(), Ok(Ns::Net));
        assert!("user".parse::<Ns>().is_err());
        // The mount namespace comes last.
        assert_eq!(Ns::ALL.last(), Some(&Ns::Mnt));
    }

    #[test]
    fn a_missing_process_names_the_namespace() {
        // PIDs above pid_max (at most 2^22) never exist.
        let err = enter_namespaces(u32::MAX, &[Ns::Uts, Ns::Mnt]).unwrap_err();
        // Opened in Ns::ALL order, so the first to fail is uts.
        assert_eq!(err.ns(), Ns::Uts);
        let text = err.to_string();
        assert!(
            text.contains("uts namespace") && text.contains("/proc/"),
            "{text}"
        );
    }

    #[test]
    fn our_own_namespaces_are_a_no_op() {
        // Shared namespaces are skipped, so this works even in a multi-threaded test runner.
        enter_namespaces(std::process::id(), &Ns::ALL).unwrap();
        enter_namespaces(std::process::id(), &[]).unwrap();
    }
}
