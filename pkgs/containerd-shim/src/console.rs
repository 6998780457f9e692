//! The console socket: runc connects to it and sends the master side of the
//! terminal it made for a process (`--console-socket`).

use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};

use crate::error::{Error, Result};

/// A listening socket in a private folder, removed on drop.
pub struct ConsoleSocket {
    dir: PathBuf,
    path: PathBuf,
    listener: UnixListener,
}

impl ConsoleSocket {
    pub fn new() -> Result<ConsoleSocket> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "minios-shim-pty-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        // Only root may reach the socket: whoever connects gets to hand the
        // shim a terminal.
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(Error::io(format!("create {}", dir.display())))?;
        let path = dir.join("pty.sock");
        let listener = UnixListener::bind(&path).map_err(|e| {
            let _ = std::fs::remove_dir(&dir);
            Error::io(format!("bind {}", path.display()))(e)
        })?;
        Ok(ConsoleSocket {
            dir,
            path,
            listener,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The master runc sent. Called once runc has returned successfully, so
    /// its connection and message are already queued.
    pub fn receive(&self) -> Result<OwnedFd> {
        self.listener
            .set_nonblocking(true)
            .map_err(Error::io("console socket"))?;
        let (stream, _) = self
            .listener
            .accept()
            .map_err(Error::io("accept on the console socket"))?;
        stream
            .set_nonblocking(false)
            .map_err(Error::io("console socket"))?;
        receive_fd(stream.as_raw_fd())
    }
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// Receives one descriptor sent with SCM_RIGHTS.
pub fn receive_fd(sock: RawFd) -> Result<OwnedFd> {
    let mut buf = [0u8; 4096];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(sock, &mut iov, Some(&mut cmsg), MsgFlags::MSG_CMSG_CLOEXEC)
        .map_err(|e| Error::io("receive the console")(e.into()))?;
    let cmsgs = msg
        .cmsgs()
        .map_err(|e| Error::io("receive the console")(e.into()))?;
    for c in cmsgs {
        if let ControlMessageOwned::ScmRights(fds) = c {
            if let Some(&fd) = fds.first() {
                // SAFETY: the kernel just installed this descriptor for us
                // and nothing else owns it; extra ones are closed below.
                for &extra in &fds[1..] {
                    drop(unsafe { OwnedFd::from_raw_fd(extra) });
                }
                return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }
    Err(Error::InvalidArgument(
        "runc sent no terminal on the console socket".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::socket::{sendmsg, ControlMessage};
    use std::io::{IoSlice, Read, Write};
    use std::os::unix::net::UnixStream;

    #[test]
    fn a_descriptor_sent_over_the_socket_arrives() {
        let console = ConsoleSocket::new().unwrap();
        let (mut r, w) = UnixStream::pair().unwrap();
        let client = UnixStream::connect(console.path()).unwrap();
        let fds = [w.as_raw_fd()];
        sendmsg::<()>(
            client.as_raw_fd(),
            &[IoSlice::new(b"/dev/pts/9")],
            &[ControlMessage::ScmRights(&fds)],
            MsgFlags::empty(),
            None,
        )
        .unwrap();
        drop(w);
        let got = console.receive().unwrap();
        std::fs::File::from(got).write_all(b"hi").unwrap();
        let mut buf = [0u8; 2];
        r.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hi");
        let dir = console.dir.clone();
        drop(console);
        assert!(!dir.exists(), "the socket's folder is removed");
    }
}
