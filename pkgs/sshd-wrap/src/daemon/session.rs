//! One running session channel: the helper process, and the bytes between it and the client.

use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use russh::server::{Handle, Msg};
use russh::{Channel, ChannelId, ChannelMsg, Sig};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::process::{Child, Command};

use super::helper::{HELPER_FLAG, LAUNCH_ENV};
use super::log::{self, quote, Level};
use crate::launch::Launch;

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
            cmd.stdin(Stdio::piped())
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
            let (pty, pts) = pty_process::open().map_err(std::io::Error::other)?;
            pty.resize(window.pty_size())
                .map_err(std::io::Error::other)?;
            let fd = std::os::fd::AsRawFd::as_raw_fd(&pts);
            launch.tty = std::fs::read_link(format!("/proc/self/fd/{fd}"))
                .ok()
                .map(|p| p.display().to_string());
            let cmd = pty_process::Command::from(command(&launch)?);
            let child = cmd.spawn(pts).map_err(std::io::Error::other)?;
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
        let pid = self.child.id().map(|p| Pid::from_raw(p as i32));
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
                let input = async {
                    let mut stdin = Some(stdin);
                    while let Some(msg) = from_client.wait().await {
                        match msg {
                            ChannelMsg::Data { data } => {
                                if let Some(w) = stdin.as_mut() {
                                    if w.write_all(&data).await.is_err() {
                                        stdin = None;
                                    }
                                }
                            }
                            // Closing our end gives the program its end of input.
                            ChannelMsg::Eof => stdin = None,
                            ChannelMsg::Signal { signal } => send_signal(pid, &signal),
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
                            ChannelMsg::Signal { signal } => send_signal(pid, &signal),
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
                let _ = to_client.close().await;
            }
            None => {
                // The client closed the channel or went away: hang up on the program.
                if let Some(pid) = pid {
                    let _ = kill(pid, Signal::SIGHUP);
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

fn send_signal(pid: Option<Pid>, signal: &Sig) {
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
    if let Some(pid) = pid {
        let _ = kill(pid, sig);
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
        let sig = match name.as_str() {
            "ABRT" => Sig::ABRT,
            "ALRM" => Sig::ALRM,
            "FPE" => Sig::FPE,
            "HUP" => Sig::HUP,
            "ILL" => Sig::ILL,
            "INT" => Sig::INT,
            "KILL" => Sig::KILL,
            "PIPE" => Sig::PIPE,
            "QUIT" => Sig::QUIT,
            "SEGV" => Sig::SEGV,
            "TERM" => Sig::TERM,
            "USR1" => Sig::USR1,
            _ => Sig::Custom(name),
        };
        let _ = handle
            .exit_signal_request(id, sig, status.core_dumped(), String::new(), String::new())
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
