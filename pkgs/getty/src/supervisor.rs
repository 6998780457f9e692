//! The supervisor: one session process per console, started again when it ends.
//!
//! Single-threaded by design (children are forked, see `sys::fork`): signals arrive through a
//! signalfd, and the only wait is a poll on it with the time to the next due restart.

use std::os::fd::AsFd;
use std::os::unix::fs::FileTypeExt;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{ForkResult, Pid};

use crate::console::Console;
use crate::log::{self, quote, Level};
use crate::restart::{Backoff, Ended};
use crate::session::{self, EXIT_SESSION};
use crate::{sys, tty, Options};

/// How long sessions get to end after SIGTERM before they are killed.
const STOP_GRACE: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    #[error("setting up signals: {0}")]
    Signals(Errno),
    #[error("waiting for signals: {0}")]
    Poll(Errno),
}

/// Keeps the consoles that can be run on: character devices, at a speed termios knows, each
/// device once. The others come back with the reason, for the caller to log.
pub fn usable(consoles: Vec<Console>) -> (Vec<Console>, Vec<(Console, String)>) {
    let mut keep: Vec<Console> = Vec::new();
    let mut dropped = Vec::new();
    for c in consoles {
        let path = c.path();
        let why = match std::fs::metadata(&path) {
            _ if keep.iter().any(|k| k.path() == path) => Some("duplicate".to_string()),
            Ok(m) if m.file_type().is_char_device() => None,
            Ok(_) => Some("not a character device".to_string()),
            Err(e) => Some(e.to_string()),
        };
        let why = why.or_else(|| {
            tty::baud_rate(c.speed())
                .is_none()
                .then(|| format!("unsupported baud rate {}", c.speed()))
        });
        match why {
            None => keep.push(c),
            Some(why) => dropped.push((c, why)),
        }
    }
    (keep, dropped)
}

struct Slot {
    console: Console,
    child: Option<Pid>,
    started: Instant,
    due: Option<Instant>,
    backoff: Backoff,
}

/// Runs a login loop on every console until SIGTERM or SIGINT, then ends the sessions and
/// returns.
pub fn run(opts: &Options, consoles: Vec<Console>) -> Result<(), SupervisorError> {
    let mut mask = SigSet::empty();
    for s in [
        Signal::SIGCHLD,
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
    ] {
        mask.add(s);
    }
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), None)
        .map_err(SupervisorError::Signals)?;
    let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(SupervisorError::Signals)?;

    let now = Instant::now();
    let mut slots: Vec<Slot> = consoles
        .into_iter()
        .map(|console| Slot {
            console,
            child: None,
            started: now,
            due: Some(now),
            backoff: opts.backoff.clone(),
        })
        .collect();
    let mut stopping: Option<Instant> = None;

    loop {
        let now = Instant::now();
        if stopping.is_none() {
            for slot in slots.iter_mut().filter(|s| s.due.is_some_and(|d| d <= now)) {
                start(opts, slot, now);
            }
        }
        let running = slots.iter().filter(|s| s.child.is_some()).count();
        if let Some(deadline) = stopping {
            if running == 0 {
                log::log(Level::Info, None, "event=stopped");
                return Ok(());
            }
            if now >= deadline {
                for pid in slots.iter().filter_map(|s| s.child) {
                    let _ = kill(pid, Signal::SIGKILL);
                }
            }
        }
        let next = match stopping {
            Some(deadline) => Some(deadline),
            None => slots.iter().filter_map(|s| s.due).min(),
        };
        let timeout = match next {
            None => PollTimeout::NONE,
            Some(t) => {
                let ms = t.saturating_duration_since(now).as_millis() + 1;
                PollTimeout::try_from(ms.min(60_000)).unwrap_or(PollTimeout::MAX)
            }
        };
        let mut fds = [PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, timeout) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(SupervisorError::Poll(e)),
        }
        while let Ok(Some(info)) = signals.read_signal() {
            match Signal::try_from(info.ssi_signo as i32) {
                Ok(Signal::SIGCHLD) => {}
                Ok(sig @ (Signal::SIGTERM | Signal::SIGINT)) => {
                    if stopping.is_none() {
                        log::log(
                            Level::Info,
                            None,
                            format_args!("event=stopping signal={sig}"),
                        );
                        stopping = Some(Instant::now() + STOP_GRACE);
                        for slot in &mut slots {
                            slot.due = None;
                            if let Some(pid) = slot.child {
                                // A session leader's death hangs its shell up too.
                                let _ = kill(pid, Signal::SIGTERM);
                            }
                        }
                    }
                }
                Ok(sig) => log::log(
                    Level::Info,
                    None,
                    format_args!("event=signal signal={sig} action=ignored"),
                ),
                Err(_) => {}
            }
        }
        reap(&mut slots, stopping.is_some());
    }
}

fn start(opts: &Options, slot: &mut Slot, now: Instant) {
    slot.due = None;
    slot.started = now;
    match sys::fork() {
        Ok(ForkResult::Child) => {
            let code = session::run(opts, &slot.console);
            std::process::exit(code);
        }
        Ok(ForkResult::Parent { child }) => {
            slot.child = Some(child);
            log::log(
                Level::Info,
                Some(&slot.console.name),
                format_args!("event=session-start pid={child}"),
            );
        }
        Err(e) => {
            let delay = slot.backoff.after(Duration::ZERO, Ended::Failed);
            slot.due = Some(now + delay);
            log::log(
                Level::Error,
                Some(&slot.console.name),
                format_args!(
                    "event=fork-failed error={} retry_in={}s",
                    quote(&e.to_string()),
                    delay.as_secs_f64()
                ),
            );
        }
    }
}

/// Collects every child that ended and schedules its console's restart.
fn reap(slots: &mut [Slot], stopping: bool) {
    loop {
        let (pid, ended, how) = match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) => (
                pid,
                if code == EXIT_SESSION {
                    Ended::Session
                } else {
                    Ended::Failed
                },
                format!("exit={code}"),
            ),
            Ok(WaitStatus::Signaled(pid, sig, _)) => (pid, Ended::Failed, format!("signal={sig}")),
            Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return,
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(e) => {
                log::log(
                    Level::Error,
                    None,
                    format_args!("event=wait-failed error={}", quote(&e.to_string())),
                );
                return;
            }
        };
        let Some(slot) = slots.iter_mut().find(|s| s.child == Some(pid)) else {
            continue;
        };
        slot.child = None;
        let now = Instant::now();
        let ran = now.duration_since(slot.started);
        let delay = slot.backoff.after(ran, ended);
        if !stopping {
            slot.due = Some(now + delay);
        }
        log::log(
            if ended == Ended::Session {
                Level::Info
            } else {
                Level::Warn
            },
            Some(&slot.console.name),
            format_args!(
                "event=session-end pid={pid} {how} ran={:.3}s restart_in={:.3}s",
                ran.as_secs_f64(),
                delay.as_secs_f64()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_character_devices_once() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("ttyX");
        std::os::unix::fs::symlink("/dev/null", &link).unwrap();
        let file = dir.path().join("plain");
        std::fs::write(&file, "").unwrap();
        let named = |p: &std::path::Path| Console::named(p.to_str().unwrap()).unwrap();
        let link2 = dir.path().join("ttyY");
        std::os::unix::fs::symlink("/dev/null", &link2).unwrap();
        let mut odd_speed = named(&link2);
        odd_speed.baud = Some(12345);
        let (keep, dropped) = usable(vec![
            named(&link),
            named(&file),
            named(&dir.path().join("missing")),
            named(&link),
            odd_speed,
        ]);
        assert_eq!(keep, vec![named(&link)]);
        let reasons: Vec<&str> = dropped.iter().map(|(_, r)| r.as_str()).collect();
        assert_eq!(reasons[0], "not a character device");
        assert!(reasons[1].contains("No such file"), "{reasons:?}");
        assert_eq!(reasons[2], "duplicate");
        assert_eq!(reasons[3], "unsupported baud rate 12345");
        assert_eq!(dropped.len(), 4, "{reasons:?}");
    }
}
