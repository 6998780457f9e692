//! A pty from the devpts instance the session will see.
//!
//! In a container, `/dev/ptmx` is the container's own devpts; a shell running in the host's
//! mount namespace would find no `/dev/pts/N` of that name (`tty` says "not a tty", and
//! ttyname(3) fails for sudo and friends). Opening the host's ptmx through `/proc/PID/root`
//! gives a pty of the host's devpts, whose slave we get with TIOCGPTPEER, with no path lookup.

use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;

use nix::libc;

pub struct Opened {
    /// Non-blocking, for tokio.
    pub master: OwnedFd,
    pub slave: OwnedFd,
    /// `/dev/pts/N`, as the session sees it.
    pub path: String,
}

/// Opens a pty on the devpts of process `root_of` (our own with None).
pub fn open(root_of: Option<u32>) -> io::Result<Opened> {
    let ptmx = match root_of {
        Some(pid) => format!("/proc/{pid}/root/dev/ptmx"),
        None => "/dev/ptmx".to_string(),
    };
    let master: OwnedFd = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK)
        .open(&ptmx)
        .map_err(|e| io::Error::new(e.kind(), format!("{ptmx}: {e}")))?
        .into();
    let fd = master.as_raw_fd();
    let unlock: libc::c_int = 0;
    let mut number: libc::c_uint = 0;
    // SAFETY: ioctls on a ptmx fd we own, with pointers to live locals.
    unsafe {
        if libc::ioctl(fd, libc::TIOCSPTLCK, &unlock) != 0
            || libc::ioctl(fd, libc::TIOCGPTN, &mut number) != 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    // SAFETY: TIOCGPTPEER returns a new fd or -1.
    let slave = unsafe {
        libc::ioctl(
            fd,
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if slave < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Opened {
        master,
        // SAFETY: a fresh fd that nothing else owns.
        slave: unsafe { OwnedFd::from_raw_fd(slave) },
        path: format!("/dev/pts/{number}"),
    })
}
