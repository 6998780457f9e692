//! runtime.json's interfaces over rtnetlink, for real: a network namespace of the test's own
//! stands for the machine, an `unshare`d child's for the container. Natively only: qemu-user
//! mistranslates netlink, so this is not among the unit tests run under it for s390x.

use linuxkit_config::link::{apply_step, interface_steps};
use linuxkit_config::Interface;

/// An interface as runtime.json gives it.
fn iface(name: &str, add: &str, peer: &str, create_in_root: bool) -> Interface {
    serde_json::from_value(serde_json::json!({
        "name": name, "add": add, "peer": peer, "createInRoot": create_in_root,
    }))
    .unwrap()
}

/// Links of the network namespace at `ns` (a path), by name.
fn links(ns: &str) -> Vec<String> {
    let out = std::process::Command::new("nsenter")
        .arg(format!("--net={ns}"))
        .args(["ip", "-o", "link", "show"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap().to_string())
        .collect()
}

/// A network namespace of the test's own stands for the machine, an `unshare`d child's for
/// the container; the veth is made and moved over netlink, and each end is where LinuxKit
/// puts it.
#[test]
fn veths_are_made_and_moved_between_namespaces_of_the_tests_own() {
    let machine = format!("lkcfg-link-{}", std::process::id());
    let ip = |args: &[&str]| {
        let status = std::process::Command::new("ip")
            .args(args)
            .status()
            .unwrap();
        assert!(status.success(), "ip {args:?}");
    };
    ip(&["netns", "add", &machine]);
    struct Cleanup(String);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = std::process::Command::new("ip")
                .args(["netns", "del", &self.0])
                .status();
        }
    }
    let _cleanup = Cleanup(machine.clone());
    let machine_path = format!("/run/netns/{machine}");
    let in_machine = machine_path.clone();
    // setns affects this thread only: the rest of the test process stays where it was.
    std::thread::spawn(move || {
        let ns = std::fs::File::open(&in_machine).unwrap();
        nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let mut container = std::process::Command::new("unshare")
            .args(["--net", "sleep", "600"])
            .spawn()
            .unwrap();
        let pid = container.id() as i32;
        let ours = std::fs::read_link("/proc/thread-self/ns/net").unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::fs::read_link(format!("/proc/{pid}/ns/net")).ok() == Some(ours.clone()) {
            assert!(std::time::Instant::now() < deadline, "unshare never ran");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let result = (|| {
            for step in interface_steps(&iface("probe0", "veth", "probe1", false), pid)
                .into_iter()
                .chain(interface_steps(&iface("rootA", "veth", "rootB", true), pid))
            {
                apply_step(&step)?;
            }
            // Made again: the kernel's EEXIST, named.
            apply_step(&interface_steps(&iface("probe1", "veth", "probe2", true), pid)[0])
        })();
        let container_links = links(&format!("/proc/{pid}/ns/net"));
        let machine_links = links(&in_machine);
        let _ = container.kill();
        let _ = container.wait();
        let err = result.unwrap_err();
        assert!(err.contains("exists"), "{err}");
        assert_eq!(container_links, ["lo", "probe0", "rootA"]);
        assert_eq!(machine_links, ["lo", "probe1", "rootB"]);
    })
    .join()
    .unwrap();
}
