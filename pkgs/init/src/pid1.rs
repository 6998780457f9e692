//! PID 1's own duties: every signal it acts on is blocked and taken with sigwait, so waiting for
//! a container, reaping orphans and shutting down happen in one thread, in order.

use std::collections::BTreeMap;

use init::Shutdown;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::log;

pub struct Reaper {
    signals: SigSet,
    /// Exit statuses reaped before anyone asked for them.
    exited: BTreeMap<i32, i32>,
    /// A shutdown asked for while init was busy (running onboot containers).
    pub pending: Option<Shutdown>,
}

impl Reaper {
    /// Blocks the signals init handles, so they wait for [`Reaper::next`].
    pub fn install() -> Reaper {
        let mut signals = SigSet::empty();
        for s in [
            Signal::SIGCHLD,
            Signal::SIGTERM,
            Signal::SIGINT,
            Signal::SIGUSR1,
            Signal::SIGUSR2,
            Signal::SIGPWR,
            Signal::SIGHUP,
        ] {
            signals.add(s);
        }
        let _ = signals.thread_block();
        // ctrl-alt-del becomes SIGINT to us rather than an immediate reboot.
        let _ = nix::sys::reboot::set_cad_enabled(false);
        Reaper {
            signals,
            exited: BTreeMap::new(),
            pending: None,
        }
    }

    /// Reaps every child that has exited.
    pub fn reap(&mut self) {
        // Orphans nobody waits for: keep the table small. Trimmed before reaping, so the status
        // a caller is about to ask for (reaped now) is never the one thrown away.
        if self.exited.len() > 1024 {
            self.exited.clear();
        }
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => {
                    self.exited.insert(pid.as_raw(), code);
                }
                Ok(WaitStatus::Signaled(pid, sig, _)) => {
                    self.exited.insert(pid.as_raw(), 128 + sig as i32);
                }
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }

    /// The next signal; SIGCHLD has been reaped for when it returns.
    pub fn next(&mut self) -> Signal {
        let sig = self.signals.wait().unwrap_or(Signal::SIGCHLD);
        if sig == Signal::SIGCHLD {
            self.reap();
        }
        sig
    }

    /// Waits for `pid` to exit (it must be our child, or reparented to us); a shutdown asked for
    /// meanwhile is kept in `pending`.
    pub fn wait_for(&mut self, pid: i32) -> i32 {
        self.reap();
        loop {
            if let Some(code) = self.exited.remove(&pid) {
                return code;
            }
            let sig = self.next();
            if let Some(s) = Shutdown::from_signal(sig as i32) {
                log(&format!("event=signal signal={sig} action=deferred"));
                self.pending.get_or_insert(s);
            }
        }
    }

    /// Forgets an exit status (of a child whose status nobody needs).
    pub fn forget(&mut self, pid: u32) -> Option<i32> {
        self.exited.remove(&(pid as i32))
    }
}

pub fn is_alive(pid: u32) -> bool {
    nix::sys::signal::kill(Pid::from_raw(pid as i32), None).is_ok()
}
