//! A whole machine: `pkgbuild image` of examples/qemu.yml (every package of ours, the stand-ins
//! `cargo xtask standins` put in the store), `pkgbuild boot` under QEMU (TCG) with the guest's NIC
//! on a tap device in a network namespace of the test's, where dnsmasq and chronyd serve it.
//! Then, each within a stated bound: the services start, dhcpcd leases, ntpd measures the chronyd
//! that DHCP named, an OpenSSH client logs in to sshd-wrap, getty takes a password login on the
//! serial console, ctr lists the services under our shim, and poweroff ends QEMU after the
//! onshutdown container ran.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Output, Stdio};
use std::time::{Duration, Instant};

use common::host::{pkgbuild, workspace_manifest, Netns};
use common::require;
use common::ssh;

/// Under TCG on 2 cores: about half a minute to the login prompt on amd64, more when emulating
/// another architecture.
const BOOT: Duration = Duration::from_secs(600);
const STEP: Duration = Duration::from_secs(180);
const PASSWORD: &str = "console-secret";

/// The architecture booted: amd64 in `cargo xtask test`; `cargo xtask boot-test --arch A` sets
/// BOOT_ARCH for the others.
fn arch() -> String {
    std::env::var("BOOT_ARCH").unwrap_or_else(|_| "amd64".into())
}

/// (the serial console's device, QEMU's binary, its Debian package)
fn arch_facts(arch: &str) -> (&'static str, &'static str, &'static str) {
    match arch {
        "amd64" => ("ttyS0", "qemu-system-x86_64", "qemu-system-x86"),
        "arm64" => ("ttyAMA0", "qemu-system-aarch64", "qemu-system-arm"),
        "s390x" => ("ttysclp0", "qemu-system-s390x", "qemu-system-misc"),
        other => panic!("BOOT_ARCH={other}: expected amd64, arm64 or s390x"),
    }
}

fn repo_root() -> PathBuf {
    workspace_manifest().parent().unwrap().to_path_buf()
}

/// The serial console: QEMU's stdout copied to a file by a thread, its stdin ours to type into.
struct Machine {
    qemu: Child,
    stdin: ChildStdin,
    console: PathBuf,
}

impl Machine {
    fn console(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.console).unwrap_or_default()).into_owned()
    }

    fn wait_for(&mut self, what: &str, limit: Duration, mut check: impl FnMut(&str) -> bool) {
        let deadline = Instant::now() + limit;
        loop {
            let text = self.console();
            if check(&text) {
                return;
            }
            if let Ok(Some(status)) = self.qemu.try_wait() {
                panic!("QEMU exited ({status}) before {what}:\n{text}");
            }
            assert!(
                Instant::now() < deadline,
                "no {what} within {limit:?}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn type_line(&mut self, line: &str) {
        self.stdin.write_all(line.as_bytes()).unwrap();
        self.stdin.write_all(b"\r").unwrap();
        self.stdin.flush().unwrap();
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        let _ = self.qemu.kill();
        let _ = self.qemu.wait();
    }
}

/// A peer in the namespace, killed by PID on drop.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A service in a network namespace of its own, given one end of a veth pair and its namespace
/// bound to a path by runtime.json, as LinuxKit manifests do; it also binds two volumes, checks
/// that the read-only one is and the other is writable, and says so in the writable one.
const PROBE_SERVICE: &str = "volumes:
  - name: data
  - name: tools
    image: linuxkit/busybox:1.35.0-4_deb12u1_b1
    readonly: true
services:
  - name: netprobe
    image: linuxkit/busybox:1.35.0-4_deb12u1_b1
    command: [\"/bin/sh\", \"-c\", \"test -x /tools/bin/busybox && ! touch /tools/x && echo volumes-ok > /data/probe; exec sleep 86400\"]
    binds: [\"data:/data\", \"tools:/tools:ro\"]
    net: new
    runtime:
      interfaces:
        - name: probe0
          add: veth
          peer: probe1
      bindNS:
        net: /run/netns/probe
";

/// The example manifest, with the test's key, a shadow file for the console login, a service
/// with runtime.json interfaces and bindNS, and an onshutdown container to see run.
fn manifest(dir: &Path, key: &Path) -> PathBuf {
    let (console, _, _) = arch_facts(&arch());
    let example = std::fs::read_to_string(repo_root().join("examples/qemu.yml"))
        .unwrap()
        .replace("console=ttyS0", &format!("console={console}"))
        .replacen("services:\n", PROBE_SERVICE, 1);
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let text = format!(
        "{example}  - path: root/.ssh/authorized_keys\n    contents: {public:?}\n    mode: \"0600\"\n\
         \x20 - path: etc/passwd\n    contents: \"root:x:0:0:root:/root:/bin/sh\\n\"\n    mode: \"0644\"\n\
         \x20 - path: etc/getty.shadow\n    contents: \"root:{hash}:19000:0:99999:7:::\\n\"\n    mode: \"0600\"\n\
         onshutdown:\n  - name: goodbye\n    image: linuxkit/ntpd:0.1.0\n    command: [\"/usr/sbin/ntpd\", \"--version\"]\n",
        public = public.trim(),
        hash = ssh::mkpasswd("sha-512", PASSWORD),
    );
    let path = dir.join("machine.yml");
    std::fs::write(&path, text).unwrap();
    path
}

fn ssh(netns: &Netns, key: &Path, address: &str, command: &str) -> Output {
    netns
        .command("ssh")
        .args(ssh::options(key, "no", Path::new("/dev/null")))
        .args([&format!("root@{address}"), command])
        .output()
        .unwrap()
}

#[test]
fn a_machine_of_our_packages_boots_under_qemu_and_works_together() {
    let arch = arch();
    let (_, qemu_binary, qemu_package) = arch_facts(&arch);
    for (program, package) in [
        (qemu_binary, qemu_package),
        ("dnsmasq", "dnsmasq-base"),
        ("chronyd", "chrony"),
        ("ssh", "openssh-client"),
        ("mkpasswd", "whois"),
    ] {
        require(program, package);
    }
    let dir = tempfile::Builder::new()
        .prefix("boot")
        .tempdir_in("/tmp")
        .unwrap();
    let key = ssh::keygen(dir.path(), "boot-test");

    // The machine, from the stand-ins and our packages in the store the service tests share.
    let out_dir = dir.path().join("machine");
    let started = Instant::now();
    let made = pkgbuild()
        .args(["image"])
        .arg(manifest(dir.path(), &key))
        .args(["--arch", &arch, "-o"])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "pkgbuild image (did `cargo xtask standins --cache` run?):\n{}{}",
        String::from_utf8_lossy(&made.stdout),
        String::from_utf8_lossy(&made.stderr)
    );
    let initrd_size = std::fs::metadata(out_dir.join("initrd.img")).unwrap().len();
    // Deterministic: the same inputs again give the same bytes.
    let again = dir.path().join("again");
    let made = pkgbuild()
        .args(["image"])
        .arg(dir.path().join("machine.yml"))
        .args(["--arch", &arch, "-o"])
        .arg(&again)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    for f in ["kernel", "initrd.img", "cmdline"] {
        assert!(
            std::fs::read(out_dir.join(f)).unwrap() == std::fs::read(again.join(f)).unwrap(),
            "{f} differs between two runs"
        );
    }
    eprintln!(
        "image: initrd {:.1} MiB in {:?}",
        initrd_size as f64 / 1048576.0,
        started.elapsed()
    );

    // The guest's network: a tap in a namespace, dnsmasq handing out an address, DNS and NTP
    // (option 42), chronyd serving time on the same address.
    let netns = Netns::new("boot");
    netns.ip(&["tuntap", "add", "dev", "tap0", "mode", "tap"]);
    netns.ip(&["addr", "add", "10.88.0.1/24", "dev", "tap0"]);
    netns.ip(&["link", "set", "tap0", "up"]);
    let leases = dir.path().join("leases");
    let dnsmasq_log = dir.path().join("dnsmasq.log");
    let _dnsmasq = Peer(
        netns
            .command("dnsmasq")
            .args([
                "--no-daemon",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--port=0",
                "--bind-dynamic",
                "--interface=tap0",
                "--no-ping",
                "--log-dhcp",
                "--log-facility=-",
                "--dhcp-range=10.88.0.100,10.88.0.150,255.255.255.0,1h",
                "--dhcp-option=option:ntp-server,10.88.0.1",
                "--dhcp-option=option:dns-server,10.88.0.1",
            ])
            .arg(format!("--dhcp-leasefile={}", leases.display()))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&dnsmasq_log).unwrap())
            .spawn()
            .unwrap(),
    );
    let chrony_conf = dir.path().join("chrony.conf");
    std::fs::write(
        &chrony_conf,
        format!(
            "local stratum 8\nallow 10.88.0.0/24\nbindaddress 10.88.0.1\nbindcmdaddress /\ncmdport 0\n\
             driftfile {d}/drift\npidfile {d}/chronyd.pid\n",
            d = dir.path().display()
        ),
    )
    .unwrap();
    let _chronyd = Peer(
        netns
            .command("chronyd")
            .args(["-d", "-x", "-u", "root", "-f"])
            .arg(&chrony_conf)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("chronyd.log")).unwrap())
            .spawn()
            .unwrap(),
    );

    // pkgbuild boot, in the namespace, its console piped to the test.
    let console = dir.path().join("console.log");
    let mut qemu = netns
        .command(env!("CARGO_BIN_EXE_pkgbuild"))
        .args(["boot"])
        .arg(&out_dir)
        .args(["--arch", &arch, "--mem", "1024", "--tap", "tap0"])
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(&console).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdin = qemu.stdin.take().unwrap();
    let mut machine = Machine {
        qemu,
        stdin,
        console,
    };
    let booted = Instant::now();
    machine.wait_for("the login prompt", BOOT, |c| c.contains("minios login:"));
    let to_prompt = booted.elapsed();
    machine.wait_for("every service started", STEP, |c| c.contains("event=ready"));
    let console = machine.console();
    for volume in ["data", "tools"] {
        assert!(
            console.contains(&format!("event=volume name={volume} state=mounted")),
            "{volume}:\n{console}"
        );
    }
    for service in ["netprobe", "getty", "dhcpcd", "ntpd", "sshd"] {
        assert!(
            console.contains(&format!("event=service name={service} state=started")),
            "{service}:\n{console}"
        );
    }
    assert!(
        console.contains("event=onboot name=dhcpcd status=0"),
        "{console}"
    );

    // dhcpcd: the guest's address, from dnsmasq's lease file.
    let deadline = Instant::now() + STEP;
    let address = loop {
        let text = std::fs::read_to_string(&leases).unwrap_or_default();
        if let Some(a) = text.split_whitespace().find(|w| w.starts_with("10.88.0.")) {
            break a.to_string();
        }
        assert!(
            Instant::now() < deadline,
            "no lease:\n{}",
            std::fs::read_to_string(&dnsmasq_log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    };

    // sshd-wrap: an OpenSSH login, timed; the session is a host shell.
    let deadline = Instant::now() + STEP;
    let login_started = Instant::now();
    let out = loop {
        let out = ssh(&netns, &key, &address, "hostname; ip -4 addr show dev eth0");
        if out.status.success() || Instant::now() > deadline {
            break out;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let login = login_started.elapsed();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "ssh: {out:?}\n{}", machine.console());
    assert!(text.starts_with("minios\n"), "{text}");
    assert!(
        text.contains(&format!("inet {address}/24")),
        "dhcpcd's address on eth0: {text}"
    );

    // ntpd: measured the chronyd whose address DHCP handed over.
    let deadline = Instant::now() + STEP;
    loop {
        let out = ssh(
            &netns,
            &key,
            &address,
            "cat /run/resolvconf/ntp-servers; cat /var/log/ntpd.log",
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.starts_with("10.88.0.1\n")
            && text
                .lines()
                .any(|l| l.contains("event=offset") && l.contains("10.88.0.1"))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "ntpd did not measure 10.88.0.1:\n{text}"
        );
        std::thread::sleep(Duration::from_secs(1));
    }

    // Our shim serves the services: containerd ran containerd-shim-runc-v2, our binary.
    let out = ssh(
        &netns,
        &key,
        &address,
        "ctr -n services.linuxkit task ls; for p in /proc/[0-9]*; do readlink $p/exe; done | sort | uniq -c",
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{out:?}");
    for service in ["netprobe", "getty", "dhcpcd", "ntpd", "sshd"] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(service) && l.contains("RUNNING")),
            "{service} is not running:\n{text}"
        );
    }
    assert!(
        text.contains("/usr/bin/containerd-shim-minios-v2"),
        "{text}"
    );
    assert!(
        !text.contains("containerd-shim-runc-v2\n"),
        "the Go shim runs:\n{text}"
    );
    // runtime.json of a service: probe0 moved into its namespace, which is bound on the path
    // named; the veth's other end stays in the host.
    let out = ssh(
        &netns,
        &key,
        &address,
        "ip -o link show probe1 && nsenter --net=/run/netns/probe ip -o link show \
         && ! ip link show probe0 2>/dev/null",
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{out:?}\n{}",
        ssh(&netns, &key, &address, "cat /var/log/netprobe.log")
            .stdout
            .escape_ascii()
    );
    let netns_links: Vec<&str> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split(": ").nth(1))
        .map(|name| name.split('@').next().unwrap())
        .collect();
    assert_eq!(netns_links, ["lo", "probe0"], "{text}");

    // Volumes: mounted by init before any container, seen by the service through its binds.
    let out = ssh(
        &netns,
        &key,
        &address,
        "cat /containers/volumes/data/merged/probe",
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "volumes-ok\n",
        "{out:?}\n{}",
        machine.console()
    );

    let memory = ssh(&netns, &key, &address, "free -k").stdout;
    let memory = String::from_utf8_lossy(&memory).into_owned();

    // getty: a password login on the serial console runs a command.
    machine.type_line("root");
    machine.wait_for("the password prompt", STEP, |c| c.contains("Password:"));
    machine.type_line(PASSWORD);
    machine.type_line("echo console-$((6 * 7))");
    machine.wait_for("the command's output", STEP, |c| c.contains("console-42"));

    // poweroff: the onshutdown container runs, the services stop, QEMU exits.
    let _ = ssh(&netns, &key, &address, "poweroff");
    let deadline = Instant::now() + STEP;
    let status = loop {
        if let Some(status) = machine.qemu.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "QEMU still runs after poweroff:\n{}",
            machine.console()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let console = machine.console();
    assert!(status.success(), "{status}\n{console}");
    assert!(
        console.contains("event=onshutdown name=goodbye status=0"),
        "{console}"
    );
    assert!(console.contains("event=halt mode=PowerOff"), "{console}");
    eprintln!(
        "boot ({arch}, TCG): kernel to login prompt {to_prompt:?}; first ssh login {login:?}; \
         initrd {initrd_size} bytes; guest memory with every service up:\n{memory}"
    );
}
