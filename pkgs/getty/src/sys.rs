//! The few calls that need `unsafe`: fork, TIOCSCTTY, vhangup and resetting signal
//! dispositions. nix has no safe wrapper for them; each is a single call, kept here.

#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::unistd::ForkResult;

/// Set once a fork found this process single-threaded; forked children inherit it.
static CHECKED: AtomicBool = AtomicBool::new(false);

/// fork(2), refused unless this process has a single thread.
///
/// After a fork in a multi-threaded process the child may only call async-signal-safe
/// functions; getty's children allocate, log and exec freely, which is sound only because getty
/// never starts a thread. That is checked here (through /proc/self/task) rather than assumed.
/// Once a session has entered the host's mount namespace, /proc belongs to a PID namespace
/// that may not show us; then the check made earlier, in this process or in the one it was
/// forked from, stands.
pub fn fork() -> io::Result<ForkResult> {
    match std::fs::read_dir("/proc/self/task") {
        Ok(tasks) => {
            let threads = tasks.count();
            if threads != 1 {
                return Err(io::Error::other(format!(
                    "refusing to fork with {threads} threads"
                )));
            }
            CHECKED.store(true, Ordering::Relaxed);
        }
        Err(_) if CHECKED.load(Ordering::Relaxed) => {}
        Err(e) => return Err(e),
    }
    // SAFETY: the process has one thread (checked above), so the child inherits no lock held
    // by another thread, and may do anything the parent could.
    unsafe { nix::unistd::fork() }.map_err(io::Error::from)
}

/// Makes `tty` the controlling terminal of this session (TIOCSCTTY). With `steal`, takes it
/// from another session that has it, as agetty does (needs CAP_SYS_ADMIN).
pub fn set_controlling_tty(tty: BorrowedFd<'_>, steal: bool) -> io::Result<()> {
    // SAFETY: TIOCSCTTY takes an int argument by value and touches no memory of ours.
    let r = unsafe { libc::ioctl(tty.as_raw_fd(), libc::TIOCSCTTY, libc::c_int::from(steal)) };
    if r == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// vhangup(2): hangs up the controlling terminal, so that every process that still has it
/// open (a shell left from the last session) loses it. Needs CAP_SYS_TTY_CONFIG. The hang-up
/// sends SIGHUP to the session leader, which is us: ignored for the call, as agetty does.
pub fn vhangup() -> io::Result<()> {
    let ignore = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
    // SAFETY: SIG_IGN installs no handler of ours; the old action is put back below.
    let old = unsafe { sigaction(Signal::SIGHUP, &ignore) }.map_err(io::Error::from)?;
    // SAFETY: vhangup takes no arguments and touches no memory of ours.
    let r = unsafe { libc::vhangup() };
    let err = io::Error::last_os_error();
    // SAFETY: puts back the action that was there, which this process installed or inherited.
    let _ = unsafe { sigaction(Signal::SIGHUP, &old) };
    if r == -1 {
        return Err(err);
    }
    Ok(())
}

/// Sets every signal back to its default action and unblocks all, for a process about to exec
/// a shell: an ignored signal stays ignored across exec (Rust's runtime ignores SIGPIPE), and
/// so does a blocked one.
pub fn reset_signals() {
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    for sig in Signal::iterator() {
        if matches!(sig, Signal::SIGKILL | Signal::SIGSTOP) {
            continue;
        }
        // SAFETY: SIG_DFL installs no handler of ours, so no code runs in signal context.
        let _ = unsafe { sigaction(sig, &default) };
    }
    let _ = nix::sys::signal::sigprocmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&SigSet::empty()),
        None,
    );
}
