//! A process's stdio: what runc hands the process, and the copies between
//! that and containerd's fifos.
//!
//! Without a terminal the process gets pipes and the shim copies each one
//! to or from its fifo; with a terminal it gets the slave of a pty whose
//! master runc sends back over the console socket. All copies are tasks on
//! the shim's one thread: none of them parks a thread of its own.

use std::fs::{File, OpenOptions};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::process::Stdio as ProcessStdio;
use std::time::Duration;

use async_trait::async_trait;
use runc::io::{IoOption, PipedIo};
use runc::Command;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::unix::pipe;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};

/// The fifo paths containerd gave a process (empty: not wanted).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stdio {
    pub stdin: String,
    pub stdout: String,
    pub stderr: String,
    pub terminal: bool,
}

/// The pipes runc passes to a process that has no terminal. A stream
/// containerd did not ask for goes to /dev/null, so no pipe of runc's own
/// is ever inherited by the container (its reader would wait for the
/// container to exit).
#[derive(Debug)]
pub struct RuncIo {
    pipes: PipedIo,
}

impl RuncIo {
    pub fn new(stdio: &Stdio, uid: u32, gid: u32) -> Result<RuncIo> {
        let opts = IoOption {
            open_stdin: !stdio.stdin.is_empty(),
            open_stdout: !stdio.stdout.is_empty(),
            open_stderr: !stdio.stderr.is_empty(),
        };
        let pipes = PipedIo::new(uid, gid, &opts).map_err(Error::io("create stdio pipes"))?;
        Ok(RuncIo { pipes })
    }
}

#[async_trait]
impl runc::Io for RuncIo {
    async fn set(&self, cmd: &mut Command) -> std::io::Result<()> {
        let closed = || std::io::Error::other("pipe closed");
        match &self.pipes.stdin {
            Some(p) => cmd.stdin(p.rd.try_clone()?),
            None => cmd.stdin(ProcessStdio::null()),
        };
        match &self.pipes.stdout {
            Some(p) => cmd.stdout(p.try_clone_wr().ok_or_else(closed)?),
            None => cmd.stdout(ProcessStdio::null()),
        };
        match &self.pipes.stderr {
            Some(p) => cmd.stderr(p.try_clone_wr().ok_or_else(closed)?),
            None => cmd.stderr(ProcessStdio::null()),
        };
        Ok(())
    }

    async fn close_after_start(&self) {
        for p in [&self.pipes.stdout, &self.pipes.stderr]
            .into_iter()
            .flatten()
        {
            p.close_wr();
        }
    }
}

/// How long the output of an exited process may take to reach its fifos
/// before the copies are cancelled (a child the process left behind may
/// hold the pipe open).
pub const DRAIN: Duration = Duration::from_secs(2);

/// The copies of one process's stdio.
#[derive(Default)]
pub struct Copies {
    outputs: Vec<JoinHandle<()>>,
    input: Option<JoinHandle<()>>,
    /// The shim's own writer on the stdin fifo: it keeps the copy from
    /// ending when containerd's writer comes and goes (a restart), until
    /// CloseIO drops it.
    stdin_hold: Option<File>,
    /// The pty master, kept for resizes.
    console: Option<File>,
}

fn open_nonblocking(path: &str, read: bool, write: bool) -> Result<File> {
    OpenOptions::new()
        .read(read)
        .write(write)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(Error::io(format!("open {path}")))
}

type Input = Box<dyn AsyncRead + Unpin + Send>;
type Output = Box<dyn AsyncWrite + Unpin + Send>;

fn is_fifo(path: &str) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo())
}

/// A process's stdin: containerd's fifo, as a reader that does not end while the returned hold is
/// open; or any other file (LinuxKit's service tool passes /dev/null), read to its end.
fn stdin_source(path: &str) -> Result<(Input, Option<File>)> {
    if !is_fifo(path) {
        let file = File::open(path).map_err(Error::io(format!("open {path}")))?;
        return Ok((Box::new(tokio::fs::File::from_std(file)), None));
    }
    let rx = pipe::OpenOptions::new()
        .open_receiver(path)
        .map_err(Error::io(format!("open {path}")))?;
    let hold = open_nonblocking(path, false, true)?;
    Ok((Box::new(rx), Some(hold)))
}

/// Where a process's output goes: containerd's fifo; or a file, appended to and made if missing,
/// for a `file://` log URI (`ctr run --log-uri file:///var/log/x.log`) or a plain path that is
/// not a fifo (LinuxKit's service tool passes /var/log/<name>.log), as the Go shim takes them.
fn output(path: &str) -> Result<Output> {
    if path.contains("://") && !path.starts_with("file://") {
        return Err(Error::InvalidArgument(format!(
            "log URI {path}: only fifos and file:// are supported"
        )));
    }
    let file = path.strip_prefix("file://").unwrap_or(path);
    if !is_fifo(file) {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o640)
            .open(file)
            .map_err(Error::io(format!("open log {file}")))?;
        return Ok(Box::new(tokio::fs::File::from_std(log)));
    }
    Ok(Box::new(output_fifo(file)?))
}

/// An output fifo as a writer. Opened read-write, so that the open does not
/// wait for containerd's reader and writes do not fail while containerd
/// restarts.
fn output_fifo(path: &str) -> Result<pipe::Sender> {
    pipe::OpenOptions::new()
        .read_write(true)
        .open_sender(path)
        .map_err(Error::io(format!("open {path}")))
}

fn spawn_copy<R, W>(mut from: R, mut to: W) -> JoinHandle<()>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        // EIO (a pty whose last slave closed) and EPIPE end a copy as EOF does.
        let _ = tokio::io::copy(&mut from, &mut to).await;
    })
}

impl Copies {
    /// Starts the copies for a process runc started with `io`'s pipes; the
    /// shim's copies of the pipe ends the process owns are closed here.
    pub fn piped(stdio: &Stdio, io: &RuncIo) -> Result<Copies> {
        let mut c = Copies::default();
        let pipes = &io.pipes;
        if let (Some(p), false) = (&pipes.stdin, stdio.stdin.is_empty()) {
            let wr = p
                .take_wr()
                .ok_or_else(|| Error::InvalidArgument("stdin pipe closed".into()))?;
            let to = pipe::Sender::from_owned_fd(wr).map_err(Error::io("stdin pipe"))?;
            let (from, hold) = stdin_source(&stdio.stdin)?;
            c.stdin_hold = hold;
            c.input = Some(spawn_copy(from, to));
        }
        for (p, path) in [
            (&pipes.stdout, &stdio.stdout),
            (&pipes.stderr, &stdio.stderr),
        ] {
            if let (Some(p), false) = (p, path.is_empty()) {
                let rd = p.rd.try_clone().map_err(Error::io("output pipe"))?;
                let from = pipe::Receiver::from_owned_fd(rd).map_err(Error::io("output pipe"))?;
                c.outputs.push(spawn_copy(from, output(path)?));
            }
        }
        Ok(c)
    }

    /// Starts the copies for a process whose terminal's master is `master`.
    pub fn pty(stdio: &Stdio, master: OwnedFd) -> Result<Copies> {
        let master = File::from(master);
        set_nonblocking(&master)?;
        let mut c = Copies::default();
        let dup = |f: &File| -> Result<OwnedFd> {
            Ok(OwnedFd::from(
                f.try_clone().map_err(Error::io("dup console"))?,
            ))
        };
        if !stdio.stdin.is_empty() {
            // Not a pipe: tokio's check would refuse a pty.
            let to = pipe::Sender::from_owned_fd_unchecked(dup(&master)?)
                .map_err(Error::io("console"))?;
            let (from, hold) = stdin_source(&stdio.stdin)?;
            c.stdin_hold = hold;
            c.input = Some(spawn_copy(from, to));
        }
        if !stdio.stdout.is_empty() {
            let from = pipe::Receiver::from_owned_fd_unchecked(dup(&master)?)
                .map_err(Error::io("console"))?;
            c.outputs.push(spawn_copy(from, output(&stdio.stdout)?));
        }
        c.console = Some(master);
        Ok(c)
    }

    /// CloseIO: the process sees EOF on stdin once containerd's writer is
    /// gone too, after whatever it wrote first.
    pub fn close_stdin(&mut self) {
        self.stdin_hold = None;
    }

    /// Sets the terminal's size, if the process has one.
    pub fn resize(&self, width: u32, height: u32) -> Result<()> {
        let Some(console) = &self.console else {
            return Err(Error::FailedPrecondition(
                "the process has no terminal".into(),
            ));
        };
        let ws = libc::winsize {
            ws_row: height as u16,
            ws_col: width as u16,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads one winsize from the pointer, which lives
        // for the call.
        let rc = unsafe { libc::ioctl(console.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
        if rc < 0 {
            return Err(Error::io("resize the terminal")(
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }

    /// After the process exited: lets its output reach the fifos for up to
    /// `drain`, then cancels every copy and closes every descriptor.
    pub async fn finish(mut self, drain: Duration) {
        let outputs = std::mem::take(&mut self.outputs);
        let aborts: Vec<_> = outputs.iter().map(|h| h.abort_handle()).collect();
        if tokio::time::timeout(drain, futures_join(outputs))
            .await
            .is_err()
        {
            aborts.iter().for_each(|a| a.abort());
        }
        self.abort();
    }

    /// Cancels every copy now.
    pub fn abort(&mut self) {
        self.outputs.drain(..).for_each(|h| h.abort());
        if let Some(h) = self.input.take() {
            h.abort();
        }
        self.stdin_hold = None;
        self.console = None;
    }
}

impl Drop for Copies {
    fn drop(&mut self) {
        self.abort();
    }
}

async fn futures_join(handles: Vec<JoinHandle<()>>) {
    for h in handles {
        let _ = h.await;
    }
}

fn set_nonblocking(f: &File) -> Result<()> {
    let fd = f.as_raw_fd();
    // SAFETY: plain fcntl calls on a descriptor the file owns.
    let rc = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 {
            flags
        } else {
            libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK)
        }
    };
    if rc < 0 {
        return Err(Error::io("set the console non-blocking")(
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// LinuxKit's service tool gives plain paths: /dev/null for stdin, a log file for output.
    #[tokio::test]
    async fn plain_files_and_file_uris_serve_as_stdio() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("svc.log");
        for path in [
            log.display().to_string(),
            format!("file://{}", log.display()),
        ] {
            let mut out = output(&path).unwrap();
            out.write_all(b"line\n").await.unwrap();
            out.flush().await.unwrap();
        }
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "line\nline\n");

        let (mut input, hold) = stdin_source("/dev/null").unwrap();
        assert!(hold.is_none());
        let mut all = Vec::new();
        input.read_to_end(&mut all).await.unwrap();
        assert!(all.is_empty());

        let fifo = dir.path().join("stdin");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let (_input, hold) = stdin_source(fifo.to_str().unwrap()).unwrap();
        assert!(hold.is_some(), "a fifo gets the shim's own writer");

        assert!(output("binary:///bin/logger").is_err());
    }
}
