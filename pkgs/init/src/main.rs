//! init: PID 1 of a LinuxKit machine. See README.md for what it does, in order.

mod boot;
mod containers;
mod kmod;
mod pid1;

use std::time::Duration;

use init::Shutdown;
use nix::sys::reboot::{reboot, RebootMode};

/// One line on the console per event, key=value, as every service here logs.
pub fn log(message: &str) {
    if message.starts_with("level=") {
        eprintln!("init: {message}");
    } else {
        eprintln!("init: level=info {message}");
    }
}

fn main() {
    if std::env::args().any(|a| a == "--version" || a == "-V") {
        println!("init {}", env!("CARGO_PKG_VERSION"));
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    if let [_, mode, bundle] = &args[..] {
        if mode == containers::PREPARE_SERVICE {
            if let Err(e) = containers::prepare_service_hook(std::path::Path::new(bundle)) {
                eprintln!("init {mode}: {e}");
                std::process::exit(1);
            }
            return;
        }
    }
    if std::process::id() != 1 {
        eprintln!("init: must run as PID 1 (the kernel runs /init); exiting");
        std::process::exit(2);
    }
    // The kernel gives init no PATH; containerd and its shims look runc up on it.
    if std::env::var_os("PATH").is_none() {
        std::env::set_var(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        );
    }
    // From here on init never exits: a failure is reported and the machine goes on.
    if let Err(e) = boot::switch_root_if_needed() {
        log(&format!("level=error event=switch-root error={e:?}"));
    }
    let mut reaper = pid1::Reaper::install();
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    let step = |what: &str, result: Result<(), String>| {
        if let Err(e) = result {
            log(&format!("level=error event={what} error={e:?}"));
        }
    };
    step(
        "mount",
        boot::mount_filesystems(init::cmdline::parse(&cmdline).unified_cgroups),
    );
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or(cmdline);
    log(&format!(
        "event=boot version={} cmdline={:?}",
        env!("CARGO_PKG_VERSION"),
        cmdline.trim()
    ));
    kmod::load_needed();
    step("loopback", boot::loopback_up());
    step("hostname", boot::set_hostname().map(|_| ()));

    for (name, e) in boot::mount_volumes("/containers/volumes") {
        log(&format!("level=error event=volume name={name} error={e:?}"));
    }
    containers::run_phase("onboot", "/containers/onboot", &mut reaper);
    let mut services = Vec::new();
    let mut containerd = None;
    if reaper.pending.is_none() && !containers::bundles("/containers/services").is_empty() {
        match containers::Containerd::start() {
            Ok(c) => {
                services = containers::start_services("/containers/services");
                containerd = Some(c);
            }
            Err(e) => log(&format!("level=error event=containerd error={e:?}")),
        }
    }
    log("event=ready");

    let mode = loop {
        if let Some(mode) = reaper.pending.take() {
            break mode;
        }
        let sig = reaper.next();
        if let Some(mode) = Shutdown::from_signal(sig as i32) {
            log(&format!("event=signal signal={sig}"));
            break mode;
        }
        if let Some(c) = &containerd {
            if let Some(code) = reaper.forget(c.pid()) {
                log(&format!(
                    "level=error event=containerd state=exited status={code}"
                ));
                containerd = None;
            }
        }
    };
    shutdown(mode, &mut reaper, &services, containerd);
}

/// onshutdown containers, then the services, containerd, and every other process; then the
/// kernel powers off, reboots or halts.
fn shutdown(
    mode: Shutdown,
    reaper: &mut pid1::Reaper,
    services: &[(String, String)],
    containerd: Option<containers::Containerd>,
) -> ! {
    log(&format!("event=shutdown mode={mode:?}"));
    containers::run_phase("onshutdown", "/containers/onshutdown", reaper);
    containers::stop_services(services, Duration::from_secs(10));
    if let Some(c) = containerd {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(c.pid() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while pid1::is_alive(c.pid()) && std::time::Instant::now() < deadline {
            reaper.reap();
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    // Everything else: SIGTERM, a moment, SIGKILL (kill(-1) spares us).
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(-1),
        nix::sys::signal::Signal::SIGTERM,
    );
    std::thread::sleep(Duration::from_millis(500));
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(-1),
        nix::sys::signal::Signal::SIGKILL,
    );
    reaper.reap();
    nix::unistd::sync();
    unmount_all();
    log(&format!("event=halt mode={mode:?}"));
    let how = match mode {
        Shutdown::PowerOff => RebootMode::RB_POWER_OFF,
        Shutdown::Reboot => RebootMode::RB_AUTOBOOT,
        Shutdown::Halt => RebootMode::RB_HALT_SYSTEM,
    };
    let err = reboot(how).unwrap_err();
    log(&format!("level=error event=halt error=\"{err}\""));
    loop {
        reaper.next();
    }
}

/// Detaches every mount but the root and the kernel's own, newest first, so disks that
/// containers mounted are clean; then the root's data is synced once more.
fn unmount_all() {
    let table = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let keep = ["/", "/proc", "/sys", "/dev"];
    for target in table
        .lines()
        .rev()
        .filter_map(|l| l.split_whitespace().nth(1))
    {
        if !keep.contains(&target) {
            let _ = nix::mount::umount2(target, nix::mount::MntFlags::MNT_DETACH);
        }
    }
    nix::unistd::sync();
}
