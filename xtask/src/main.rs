//! Project automation: `cargo xtask build | test | bench [PKG] | standins [--arch A ...] |
//! boot-test --arch A`.
//!
//! Each command first installs what it needs from Debian's archive when it is missing, so a fresh
//! Debian 12 machine needs nothing but this repository, rustup's cargo and apt.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, Context};

mod bench;
mod lanes;
mod standins;
mod testing;

/// What building images for every platform needs.
const BUILD_PACKAGES: &[&str] = &[
    "git",
    "gcc",
    "libc6-dev",
    // Debian's rustc builds std for the targets rustup cannot download here.
    "rustc-web",
    "cargo-web",
    "rust-web-src",
    "gcc-aarch64-linux-gnu",
    "libc6-dev-arm64-cross",
    "gcc-s390x-linux-gnu",
    "libc6-dev-s390x-cross",
    // musl, the images' default C library: multi-arch, one per platform.
    "musl-dev",
    "musl-dev:arm64",
    "musl-dev:s390x",
];

/// The real peers the tests run against.
const TEST_PACKAGES: &[&str] = &[
    // OCI: read back, unpack and copy what pkgbuild writes.
    "skopeo",
    "umoci",
    // Runs the arm64 and s390x binaries and unit tests.
    "qemu-user-static",
    // The distribution registry that images are pushed to.
    "docker-registry",
    // Imports and runs the images.
    "containerd",
    "runc",
    // dhcpcd: the DHCP server, in network namespaces the tests make.
    "dnsmasq-base",
    "iproute2",
    // dhcpcd: a second host that claims the client's address.
    "arping",
    // dhcpcd: the IPv6 router advertisement daemon it is tested against.
    "radvd",
    // ntpd: the NTP server and reference client.
    "chrony",
    // getty: mkpasswd makes the password hashes the tests log in with.
    "whois",
    // sshd-wrap: the client side the tests log in with (ssh, scp, sftp).
    "openssh-client",
    // containerd-shim: the static busybox inside the test image.
    "busybox-static",
    // The boot test: the machine runs under QEMU (this removes the preinstalled qemu-utils 10).
    "qemu-system-x86",
];

/// The rival programs the benchmarks measure ours against.
const BENCH_PACKAGES: &[&str] = &[
    "dnsmasq-base",
    "iproute2",
    // dhcpcd: a second host that claims the client's address.
    "arping",
    // dhcpcd: the IPv6 router advertisement daemon it is tested against.
    "radvd",
    "chrony",
    // dhcpcd: Debian's dhcpcd and busybox's udhcpc (busybox-static replaces busybox).
    "dhcpcd-base",
    "busybox-static",
    // sshd-wrap: OpenSSH's sshd.
    "openssh-server",
    // containerd-shim: containerd's own runc shim (containerd-shim-runc-v2) comes with these.
    "containerd",
    "runc",
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("build") => build(&args[1..]),
        Some("test") => {
            let mut all: Vec<&str> = BUILD_PACKAGES.to_vec();
            all.extend_from_slice(TEST_PACKAGES);
            ensure_packages(&all).and_then(|()| testing::run(&args[1..]))
        }
        // The bench runs the images' static binaries, so it builds them.
        Some("bench") => ensure_packages(&[BUILD_PACKAGES, BENCH_PACKAGES].concat())
            .and_then(|()| bench::run(&workspace_root(), args.get(1).map(String::as_str))),
        Some("standins") => standins::run(&args[1..]),
        Some("boot-test") => boot_test(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask build [PKG...] | test | bench [PKG] | \
                 standins [kernel|runc|containerd|busybox ...] [--arch amd64|arm64|s390x ...] \
                 [--cache DIR] [--force] | boot-test --arch amd64|arm64|s390x"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::from(1)
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(workspace_root());
    cmd
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    eprintln!("xtask: running {cmd:?}");
    let status = cmd.status().with_context(|| format!("starting {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}

/// Installs the Debian packages that are not installed yet.
fn ensure_packages(packages: &[&str]) -> anyhow::Result<()> {
    let missing: Vec<&str> = packages.iter().copied().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    if Path::new("/usr/bin/apt-get").exists() && nix_is_root() {
        if missing.iter().any(|p| p.contains(':')) {
            // A foreign architecture's package: dpkg must know the architecture first.
            standins::ensure_architectures()?;
        }
        eprintln!("xtask: installing {}", missing.join(" "));
        run(Command::new("apt-get").arg("update").arg("-q"))?;
        run(Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
        return Ok(());
    }
    bail!(
        "missing packages: {} (install them with apt-get as root)",
        missing.join(" ")
    )
}

fn installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f", "${Status}", package])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

fn nix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// `cargo xtask build [PKG...]`: every package, every platform, into the local store.
fn build(packages: &[String]) -> anyhow::Result<()> {
    ensure_packages(BUILD_PACKAGES)?;
    run(cargo()
        .args([
            "run",
            "--quiet",
            "--release",
            "--package",
            "pkgbuild",
            "--",
            "build",
        ])
        .args(packages))
}

/// `cargo xtask boot-test --arch A`: the boot test of `cargo xtask test` for another architecture
/// (emulated under TCG, which takes longer than CI has).
fn boot_test(args: &[String]) -> anyhow::Result<()> {
    let arch = match args {
        [flag, arch] if flag == "--arch" => arch.clone(),
        _ => bail!("usage: cargo xtask boot-test --arch amd64|arm64|s390x"),
    };
    let qemu = match arch.as_str() {
        "amd64" => "qemu-system-x86",
        "arm64" => "qemu-system-arm",
        "s390x" => "qemu-system-misc",
        other => bail!("unknown arch {other:?}: amd64, arm64 or s390x"),
    };
    let mut all: Vec<&str> = BUILD_PACKAGES.to_vec();
    all.extend_from_slice(TEST_PACKAGES);
    all.push(qemu);
    ensure_packages(&all)?;
    standins::run(&standins_for_tests(&arch))?;
    run(cargo()
        .args([
            "test",
            "--locked",
            "-p",
            "pkgbuild",
            "--test",
            "boot",
            "--",
            "--nocapture",
        ])
        .env("BOOT_ARCH", &arch))
}

/// The store the image tests share (their CARGO_TARGET_TMPDIR/service-images).
fn test_store() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
        .join("tmp/service-images")
}

/// `standins` arguments that put `arch`'s stand-ins in the store the image tests share.
fn standins_for_tests(arch: &str) -> Vec<String> {
    vec![
        "--arch".to_string(),
        arch.to_string(),
        "--cache".to_string(),
        test_store().display().to_string(),
    ]
}
