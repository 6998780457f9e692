//! One running session channel: the helper process, and the bytes between it and the client.

use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use russh::server::{Handle, Msg};
use russh::{Channel, ChannelId, ChannelMsg, Sig};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::process::{Child, Command};

use super::helper::{HELPER_FLAG, LAUNCH_ENV};
use super::log::{self, quote, Level};
use crate::launch::Launch;

/// Chunks of client data waiting for the program's stdin (each at most a packet, 32 KiB).
const STDIN_QUEUE: usize = 256;

/// The window of a pty, from `pty-req` and `window-change`.
#[derive(Debug, Clone, Copy)]
pub struct WindowSize {
    pub cols: u32,
    pub rows: u32,
    pub width_px: u32,
    pub height_px: u32,
}

impl WindowSize {
    fn pty_size(self) -> pty_process::Size {
        let clamp = |v: u32| v.min(u32::from(u16::MAX)) as u16;
        pty_process::Size::new_with_pixel(
            clamp(self.rows),
            clamp(self.cols),
            clamp(self.width_px),
            clamp(self.height_px),
        )
    }
}

enum Stdio3 {
    Pipes {
        stdin: tokio::process::ChildStdin,
        stdout: tokio::process::ChildStdout,
        stderr: tokio::process::ChildStderr,
    },
    Pty(pty_process::Pty),
}

/// A started helper process.
pub struct Running {
    child: Child,
    io: Stdio3,
}

/// Starts the helper for `launch`, with a pty of `window` size if given.
pub fn start(mut launch: Launch, window: Option<WindowSize>) -> std::io::Result<Running> {
    let command = |launch: &Launch| -> std::io::Result<Command> {
        let json = serde_json::to_string(launch).map_err(std::io::Error::other)?;
        // /proc/self/exe: our own binary, even after the image's file is replaced.
        let mut cmd = Command::new("/proc/self/exe");
        cmd.arg(HELPER_FLAG).env_clear().env(LAUNCH_ENV, json);
        Ok(cmd)
    };
    match window {
        None => {
            let mut cmd = command(&launch)?;
            // A group of its own, as sshd's setsid: `kill 0` in a session must not reach us,
            // and a hang-up reaches everything the session started.
            cmd.process_group(0)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let mut child = cmd.spawn()?;
            let io = Stdio3::Pipes {
                stdin: child.stdin.take().expect("piped"),
                stdout: child.stdout.take().expect("piped"),
                stderr: child.stderr.take().expect("piped"),
            };
            Ok(Running { child, io })
        }
        Some(window) => {
            let opened = super::pty::open(launch.host_pid)?;
            launch.tty = Some(opened.path.clone());
            // SAFETY: a pty master we own, opened non-blocking.
            let pty = unsafe { pty_process::Pty::from_fd(opened.master) }
                .map_err(std::io::Error::other)?;
            pty.resize(window.pty_size())
                .map_err(std::io::Error::other)?;
            let mut cmd = command(&launch)?;
            let slave = opened.slave;
            cmd.stdin(Stdio::from(slave.try_clone()?))
                .stdout(Stdio::from(slave.try_clone()?))
                .stderr(Stdio::from(slave));
            // SAFETY: setsid and ioctl are async-signal-safe; the new session's controlling
            // terminal is the pty on stdin.
            unsafe {
                cmd.pre_exec(|| {
                    if nix::libc::setsid() < 0 || nix::libc::ioctl(0, nix::libc::TIOCSCTTY, 0) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            let child = cmd.spawn()?;
            Ok(Running {
                child,
                io: Stdio3::Pty(pty),
            })
        }
    }
}

impl Running {
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Moves bytes both ways until the program ends, then reports how it ended and closes the
    /// channel. When the client goes away first, the program gets SIGHUP, as on a hang-up.
    pub async fn relay(self, channel: Channel<Msg>, handle: Handle, user: String) {
        let id = channel.id();
        // The helper leads its process group (setsid with a pty, process_group(0) without).
        let pgid = self.child.id().map(|p| Pid::from_raw(p as i32));
        let (mut from_client, to_client) = channel.split();
        let stdout = to_client.make_writer();
        let stderr = to_client.make_writer_ext(Some(1));
        let Running { mut child, io } = self;

        let outcome = match io {
            Stdio3::Pipes {
                stdin,
                stdout: out,
                stderr: err,
            } => {
                let output = async {
                    let _ = tokio::join!(copy(out, stdout), copy(err, stderr));
                    child.wait().await
                };
                // Writes to the program go through a queue, so a program that does not read
                // stalls only its own input, never the connection (russh waits for us).
                let (to_stdin, mut queued) =
                    tokio::sync::mpsc::channel::<Option<bytes::Bytes>>(STDIN_QUEUE);
                let writer = tokio::spawn(async move {
                    let mut stdin = stdin;
                    while let Some(Some(data)) = queued.recv().await {
                        if stdin.write_all(&data).await.is_err() {
                            break;
                        }
                    }
                    // Dropping stdin gives the program its end of input.
                });
                let input = async {
                    let mut to_stdin = Some(to_stdin);
                    while let Some(msg) = from_client.wait().await {
                        match msg {
                            ChannelMsg::Data { data } => {
                                if let Some(q) = &to_stdin {
                                    if q.send(Some(data)).await.is_err() {
                                        to_stdin = None;
                                    }
                                }
                            }
                            ChannelMsg::Eof => {
                                if let Some(q) = to_stdin.take() {
                                    let _ = q.send(None).await;
                                }
                            }
                            ChannelMsg::Signal { signal } => send_signal(pgid, &signal),
                            ChannelMsg::Close => break,
                            _ => {}
                        }
                    }
                };
                let outcome = tokio::select! {
                    status = output => Some(status),
                    () = input => None,
                };
                writer.abort();
                outcome
            }
            Stdio3::Pty(pty) => {
                let (reader, mut writer) = pty.into_split();
                let output = async {
                    let copied = copy(reader, stdout);
                    tokio::pin!(copied);
                    // The program may end while others still hold the tty (a job left in the
                    // background): then stop once the output goes quiet.
                    let status = tokio::select! {
                        _ = &mut copied => child.wait().await,
                        status = child.wait() => {
                            let _ = tokio::time::timeout(Duration::from_millis(200), &mut copied).await;
                            status
                        }
                    };
                    status
                };
                let input = async {
                    while let Some(msg) = from_client.wait().await {
                        match msg {
                            ChannelMsg::Data { data } => {
                                let _ = writer.write_all(&data).await;
                            }
                            ChannelMsg::WindowChange {
                                col_width,
                                row_height,
                                pix_width,
                                pix_height,
                            } => {
                                let size = WindowSize {
                                    cols: col_width,
                                    rows: row_height,
                                    width_px: pix_width,
                                    height_px: pix_height,
                                };
                                let _ = writer.resize(size.pty_size());
                            }
                            ChannelMsg::Signal { signal } => send_signal(pgid, &signal),
                            ChannelMsg::Close => break,
                            _ => {}
                        }
                    }
                };
                tokio::select! {
                    status = output => Some(status),
                    () = input => None,
                }
            }
        };

        match outcome {
            Some(Ok(status)) => {
                log_exit(&user, status);
                report_exit(&handle, id, status).await;
                let _ = to_client.eof().await;
                let _ = to_client.close().await;
            }
            Some(Err(e)) => {
                log::log(
                    Level::Error,
                    format_args!("event=wait-failed error={}", quote(&e.to_string())),
                );
                let _ = to_client.eof().await;
                let _ = to_client.close().await;
            }
            None => {
                // The client closed the channel or went away: hang up on the session.
                if let Some(pgid) = pgid {
                    let _ = killpg(pgid, Signal::SIGHUP);
                }
                if let Ok(status) = child.wait().await {
                    log_exit(&user, status);
                }
            }
        }
    }
}

/// Copies until EOF; a pty's EIO (every holder of the tty has closed it) is EOF too.
async fn copy(mut from: impl AsyncRead + Unpin, mut to: impl AsyncWrite + Unpin) {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.flush().await;
}

/// A channel `signal` request, to the session's process group.
fn send_signal(pgid: Option<Pid>, signal: &Sig) {
    let sig = match signal {
        Sig::ABRT => Signal::SIGABRT,
        Sig::ALRM => Signal::SIGALRM,
        Sig::FPE => Signal::SIGFPE,
        Sig::HUP => Signal::SIGHUP,
        Sig::ILL => Signal::SIGILL,
        Sig::INT => Signal::SIGINT,
        Sig::KILL => Signal::SIGKILL,
        Sig::PIPE => Signal::SIGPIPE,
        Sig::QUIT => Signal::SIGQUIT,
        Sig::SEGV => Signal::SIGSEGV,
        Sig::TERM => Signal::SIGTERM,
        Sig::USR1 => Signal::SIGUSR1,
        Sig::Custom(name) => match format!("SIG{name}").parse::<Signal>() {
            Ok(s) => s,
            Err(_) => return,
        },
    };
    if let Some(pgid) = pgid {
        let _ = killpg(pgid, sig);
    }
}

/// RFC 4254 6.10: exit-status, or exit-signal with the signal's name without "SIG".
async fn report_exit(handle: &Handle, id: ChannelId, status: ExitStatus) {
    if let Some(code) = status.code() {
        let _ = handle.exit_status_request(id, code as u32).await;
    } else if let Some(sig) = status.signal() {
        let name = Signal::try_from(sig)
            .map(|s| s.as_str().trim_start_matches("SIG").to_string())
            .unwrap_or_else(|_| sig.to_string());
        let _ = handle
            // On the wire a signal is its name; Custom carries any of them.
            .exit_signal_request(
                id,
                Sig::Custom(name),
                status.core_dumped(),
                String::new(),
                String::new(),
            )
            .await;
    }
}

fn log_exit(user: &str, status: ExitStatus) {
    let how = match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit={code}"),
        (None, Some(sig)) => format!("signal={sig}"),
        _ => "exit=unknown".into(),
    };
    log::log(
        Level::Info,
        format_args!("event=session-end user={} {how}", quote(user)),
    );
}
