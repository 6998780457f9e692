//! `pkgbuild boot`: what `linuxkit run qemu` does with a kernel, an initrd and a command line.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context};

use crate::platform::Platform;

/// The QEMU binary, machine and devices for a platform: the serial console on stdio, user
/// networking (the guest gets 10.0.2.15 by DHCP) with `ssh_port` forwarded to its port 22, or
/// the tap device `tap`; KVM when this machine can, TCG otherwise.
pub fn qemu_command(
    dir: &Path,
    platform: Platform,
    mem_mib: u32,
    ssh_port: Option<u16>,
    tap: Option<&str>,
) -> anyhow::Result<Command> {
    for f in ["kernel", "initrd.img", "cmdline"] {
        if !dir.join(f).is_file() {
            bail!(
                "{} has no {f}: make it with `pkgbuild image`",
                dir.display()
            );
        }
    }
    let cmdline = std::fs::read_to_string(dir.join("cmdline")).context("reading cmdline")?;
    let (binary, machine, net_device) = match platform.arch() {
        // The default `pc` machine: under TCG here q35 showed no console within minutes.
        "amd64" => ("qemu-system-x86_64", vec![], "virtio-net-pci"),
        "arm64" => (
            "qemu-system-aarch64",
            vec!["-machine", "virt", "-cpu", "max"],
            "virtio-net-pci",
        ),
        _ => (
            "qemu-system-s390x",
            vec!["-machine", "s390-ccw-virtio"],
            "virtio-net-ccw",
        ),
    };
    let kvm =
        platform.arch() == Platform::host().map(|p| p.arch()).unwrap_or_default() && kvm_works();
    let mut cmd = Command::new(binary);
    cmd.args(&machine)
        .args(["-accel", if kvm { "kvm" } else { "tcg" }])
        .args(["-m", &mem_mib.to_string()])
        .arg("-kernel")
        .arg(dir.join("kernel"))
        .arg("-initrd")
        .arg(dir.join("initrd.img"))
        .args(["-append", cmdline.trim()])
        .args(["-nographic", "-no-reboot"]);
    let mut netdev = match tap {
        // A tap device of the caller's (in a network namespace of its own, say).
        Some(ifname) => format!("tap,id=net0,ifname={ifname},script=no,downscript=no"),
        None => "user,id=net0".to_string(),
    };
    if let (Some(port), None) = (ssh_port, tap) {
        netdev.push_str(&format!(",hostfwd=tcp:127.0.0.1:{port}-:22"));
    }
    cmd.args(["-netdev", &netdev])
        .args(["-device", &format!("{net_device},netdev=net0")]);
    Ok(cmd)
}

/// /dev/kvm opens, and on x86 the CPU has hardware virtualisation: a /dev/kvm without vmx or svm
/// (a paravirtual KVM in a VM) runs the firmware but hangs the kernel, so TCG is the safe choice.
fn kvm_works() -> bool {
    let opens = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok();
    if !opens {
        return false;
    }
    if cfg!(target_arch = "x86_64") {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        return cpuinfo
            .lines()
            .filter(|l| l.starts_with("flags"))
            .any(|l| l.split_whitespace().any(|f| f == "vmx" || f == "svm"));
    }
    true
}
