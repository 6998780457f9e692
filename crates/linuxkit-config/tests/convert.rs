//! The label + entry -> runtime spec conversion, rule by rule: each row gives a label, a manifest
//! entry and the image's config, and what must stand at a JSON pointer of config.json or
//! runtime.json.

use std::collections::BTreeMap;

use linuxkit_config::{bundle_runtime, to_oci, ImageConfig, ImageDefaults, Runtime};
use serde_json::{json, Value};

fn image() -> ImageDefaults {
    ImageDefaults {
        entrypoint: vec!["/usr/sbin/dhcpcd".into()],
        cmd: vec!["--nobackground".into()],
        env: vec!["PATH=/usr/bin".into()],
        working_dir: String::new(),
    }
}

fn convert(label: Value, entry: Value) -> (Value, Runtime) {
    let label = ImageConfig::parse_label(&label).expect("label");
    let mut entry_value = json!({"name": "x", "image": "linuxkit/x:1"});
    entry_value
        .as_object_mut()
        .unwrap()
        .extend(entry.as_object().unwrap().clone());
    let entry = ImageConfig::parse_entry(&entry_value).expect("entry");
    let ids = BTreeMap::from([("ntpd".to_string(), 1001u32)]);
    to_oci(&label, &entry, &image(), &ids).expect("conversion")
}

struct Rule {
    rule: &'static str,
    label: Value,
    entry: Value,
    pointer: &'static str,
    expected: Value,
}

fn rule(
    rule: &'static str,
    label: Value,
    entry: Value,
    pointer: &'static str,
    expected: Value,
) -> Rule {
    Rule {
        rule,
        label,
        entry,
        pointer,
        expected,
    }
}

fn mount_at<'a>(spec: &'a Value, dest: &str) -> &'a Value {
    spec["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["destination"] == dest)
        .unwrap_or(&Value::Null)
}

#[test]
fn rules_from_label_and_entry_to_config_json() {
    let rules = vec![
        // Precedence: manifest > label > image config, replacing.
        rule(
            "args from the image",
            json!({}),
            json!({}),
            "/process/args",
            json!(["/usr/sbin/dhcpcd", "--nobackground"]),
        ),
        rule(
            "args from the label",
            json!({"command": ["/a"]}),
            json!({}),
            "/process/args",
            json!(["/a"]),
        ),
        rule(
            "args from the entry",
            json!({"command": ["/a"]}),
            json!({"command": ["/b", "-1"]}),
            "/process/args",
            json!(["/b", "-1"]),
        ),
        rule(
            "env from the image",
            json!({}),
            json!({}),
            "/process/env",
            json!(["PATH=/usr/bin"]),
        ),
        rule(
            "env replaced by the label",
            json!({"env": ["A=1"]}),
            json!({}),
            "/process/env",
            json!(["A=1"]),
        ),
        rule(
            "env replaced by the entry",
            json!({"env": ["A=1"]}),
            json!({"env": ["B=2"]}),
            "/process/env",
            json!(["B=2"]),
        ),
        rule(
            "cwd defaults to /",
            json!({}),
            json!({}),
            "/process/cwd",
            json!("/"),
        ),
        rule(
            "cwd from the label",
            json!({"cwd": "/var"}),
            json!({}),
            "/process/cwd",
            json!("/var"),
        ),
        rule(
            "cwd from the entry",
            json!({"cwd": "/var"}),
            json!({"cwd": "/tmp"}),
            "/process/cwd",
            json!("/tmp"),
        ),
        // Capabilities.
        rule(
            "no capabilities by default",
            json!({}),
            json!({}),
            "/process/capabilities",
            json!({}),
        ),
        rule(
            "label capabilities",
            json!({"capabilities": ["CAP_SYS_TIME"]}),
            json!({}),
            "/process/capabilities",
            json!({
            "bounding": ["CAP_SYS_TIME"], "effective": ["CAP_SYS_TIME"], "inheritable": ["CAP_SYS_TIME"], "permitted": ["CAP_SYS_TIME"]}),
        ),
        rule(
            "capabilities.add joins the label's",
            json!({"capabilities": ["CAP_NET_RAW"]}),
            json!({"capabilities.add": ["CAP_NET_ADMIN"]}),
            "/process/capabilities/effective",
            json!(["CAP_NET_RAW", "CAP_NET_ADMIN"]),
        ),
        rule(
            "bounding is sorted",
            json!({"capabilities": ["CAP_NET_RAW"]}),
            json!({"capabilities.add": ["CAP_NET_ADMIN"]}),
            "/process/capabilities/bounding",
            json!(["CAP_NET_ADMIN", "CAP_NET_RAW"]),
        ),
        rule(
            "entry capabilities replace both",
            json!({"capabilities": ["CAP_NET_RAW"]}),
            json!({"capabilities": ["CAP_KILL"], "capabilities.add": ["CAP_NET_ADMIN"]}),
            "/process/capabilities/effective",
            json!(["CAP_KILL"]),
        ),
        rule(
            "none",
            json!({"capabilities": ["CAP_NET_RAW"]}),
            json!({"capabilities": ["NONE"]}),
            "/process/capabilities",
            json!({}),
        ),
        rule(
            "ambient joins bounding, not effective",
            json!({"capabilities": ["CAP_KILL"], "ambient": ["CAP_NET_BIND_SERVICE"]}),
            json!({}),
            "/process/capabilities",
            json!({
            "bounding": ["CAP_KILL", "CAP_NET_BIND_SERVICE"], "effective": ["CAP_KILL"], "inheritable": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "permitted": ["CAP_KILL", "CAP_NET_BIND_SERVICE"], "ambient": ["CAP_NET_BIND_SERVICE"]}),
        ),
        // Mounts.
        rule(
            "/proc",
            json!({}),
            json!({}),
            "/mounts/2",
            json!({"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "nodev", "noexec", "relatime"]}),
        ),
        rule(
            "/dev",
            json!({}),
            json!({}),
            "/mounts/0",
            json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        ),
        rule(
            "/dev/pts",
            json!({}),
            json!({}),
            "/mounts/1",
            json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]}),
        ),
        rule(
            "/sys",
            json!({}),
            json!({}),
            "/mounts/3",
            json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev"]}),
        ),
        rule(
            "/sys/fs/cgroup",
            json!({}),
            json!({}),
            "/mounts/4",
            json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}),
        ),
        rule(
            "no /dev/shm or mqueue",
            json!({}),
            json!({}),
            "/mounts/2/destination",
            json!("/dev/shm-or-mqueue-absent"),
        ),
        rule(
            "readonly: /dev ro",
            json!({"readonly": true}),
            json!({}),
            "/mounts/0/options",
            json!(["nosuid", "strictatime", "mode=755", "size=65536k", "ro"]),
        ),
        rule(
            "readonly: /sys ro",
            json!({}),
            json!({"readonly": true}),
            "/mounts/3/options",
            json!(["nosuid", "noexec", "nodev", "ro"]),
        ),
        rule(
            "readonly root",
            json!({"readonly": true}),
            json!({}),
            "/root",
            json!({"path": "rootfs", "readonly": true}),
        ),
        rule(
            "read-write root",
            json!({}),
            json!({}),
            "/root",
            json!({"path": "rootfs"}),
        ),
        // Namespaces.
        rule(
            "default namespaces",
            json!({}),
            json!({}),
            "/linux/namespaces",
            json!([{"type": "pid"}, {"type": "mount"}]),
        ),
        rule(
            "host everything",
            json!({"net": "host", "pid": "host", "ipc": "host", "uts": "host"}),
            json!({}),
            "/linux/namespaces",
            json!([{"type": "mount"}]),
        ),
        rule(
            "new and none",
            json!({"net": "none"}),
            json!({"ipc": "new", "uts": "new", "userns": "new", "pid": "root"}),
            "/linux/namespaces",
            json!([
            {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "user"}, {"type": "mount"}]),
        ),
        rule(
            "a path joins",
            json!({"net": "host"}),
            json!({"net": "/run/netns/x"}),
            "/linux/namespaces/0",
            json!({"type": "network", "path": "/run/netns/x"}),
        ),
        // Devices.
        rule(
            "a device node and its allow rule",
            json!({"devices": [{"path": "/dev/console", "type": "c", "major": 5, "minor": 1, "mode": "0660"}]}),
            json!({}),
            "/linux/devices",
            json!([
            {"path": "/dev/console", "type": "c", "major": 5, "minor": 1, "fileMode": 0o660}]),
        ),
        rule(
            "device rule",
            json!({"devices": [{"path": "/dev/console", "type": "c", "major": 5, "minor": 1, "mode": "0660"}]}),
            json!({}),
            "/linux/resources/devices",
            json!([
            {"allow": true, "type": "c", "major": 5, "minor": 1, "access": "rwm"}]),
        ),
        rule(
            "path all: only a rule",
            json!({"devices": [{"path": "all", "type": "a"}]}),
            json!({}),
            "/linux/resources",
            json!({"devices": [{"allow": true, "type": "a", "access": "rwm"}]}),
        ),
        rule(
            "rules follow the resources' own",
            json!({"resources": {"devices": [{"allow": false, "access": "rwm"}]}, "devices": [{"path": "all", "type": "c"}]}),
            json!({}),
            "/linux/resources/devices",
            json!([
            {"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "access": "rwm"}]),
        ),
        rule(
            "resources in the spec's spelling",
            json!({"resources": {"blockio": {"weight": 10}, "pids": {"limit": 5}}}),
            json!({}),
            "/linux/resources",
            json!({"blockIO": {"weight": 10}, "pids": {"limit": 5}}),
        ),
        // Identity and the rest.
        rule(
            "uid/gid 0 by default",
            json!({}),
            json!({}),
            "/process/user",
            json!({"uid": 0, "gid": 0}),
        ),
        rule(
            "names for ids",
            json!({"uid": "ntpd", "gid": "root"}),
            json!({"additionalGids": [7, "ntpd"]}),
            "/process/user",
            json!({"uid": 1001, "gid": 0, "additionalGids": [7, 1001]}),
        ),
        rule(
            "maskedPaths empty unless given",
            json!({}),
            json!({}),
            "/linux/maskedPaths",
            Value::Null,
        ),
        rule(
            "maskedPaths",
            json!({"maskedPaths": ["/proc/kcore"]}),
            json!({}),
            "/linux/maskedPaths",
            json!(["/proc/kcore"]),
        ),
        rule(
            "readonlyPaths from the entry",
            json!({"readonlyPaths": ["/a"]}),
            json!({"readonlyPaths": ["/b"]}),
            "/linux/readonlyPaths",
            json!(["/b"]),
        ),
        rule(
            "rlimits",
            json!({"rlimits": ["nofile,1024,unlimited"]}),
            json!({}),
            "/process/rlimits",
            json!([{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": u64::MAX}]),
        ),
        rule(
            "hostname",
            json!({"hostname": "a"}),
            json!({"hostname": "b"}),
            "/hostname",
            json!("b"),
        ),
        rule(
            "sysctl",
            json!({"sysctl": {"net.ipv4.ip_forward": "1"}}),
            json!({}),
            "/linux/sysctl",
            json!({"net.ipv4.ip_forward": "1"}),
        ),
        rule(
            "noNewPrivileges",
            json!({"noNewPrivileges": true}),
            json!({}),
            "/process/noNewPrivileges",
            json!(true),
        ),
        rule(
            "oomScoreAdj",
            json!({"oomScoreAdj": -100}),
            json!({"oomScoreAdj": 50}),
            "/process/oomScoreAdj",
            json!(50),
        ),
        rule(
            "rootfsPropagation",
            json!({"rootfsPropagation": "shared"}),
            json!({}),
            "/linux/rootfsPropagation",
            json!("shared"),
        ),
        rule(
            "cgroupsPath",
            json!({"cgroupsPath": "podruntime/x"}),
            json!({}),
            "/linux/cgroupsPath",
            json!("podruntime/x"),
        ),
        rule(
            "annotations",
            json!({"annotations": {"a": "1"}}),
            json!({}),
            "/annotations",
            json!({"a": "1"}),
        ),
        rule(
            "uidMappings",
            json!({"uidMappings": [{"hostID": 1000, "containerID": 0, "size": 1}]}),
            json!({}),
            "/linux/uidMappings",
            json!([{"hostID": 1000, "containerID": 0, "size": 1}]),
        ),
    ];
    let mut failures = Vec::new();
    for r in rules {
        let (spec, _) = convert(r.label.clone(), r.entry.clone());
        let found = spec.pointer(r.pointer).cloned().unwrap_or(Value::Null);
        let ok = if r.rule == "no /dev/shm or mqueue" {
            spec["mounts"].as_array().unwrap().len() == 5
                && mount_at(&spec, "/dev/shm").is_null()
                && mount_at(&spec, "/dev/mqueue").is_null()
        } else {
            found == r.expected
        };
        if !ok {
            failures.push(format!(
                "{}: at {} expected {}, got {}",
                r.rule, r.pointer, r.expected, found
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn tmpfs_binds_and_mounts_are_keyed_by_destination_and_sorted() {
    let (spec, _) = convert(
        json!({"binds": ["/run/resolvconf:/etc", "/var:/var:ro"], "tmpfs": ["/tmp:size=1m", "/etc"]}),
        json!({"binds.add": ["/lib/modules:/lib/modules"], "mounts": [{"type": "mqueue"}, {"destination": "/tmp", "type": "tmpfs", "options": ["size=2m"]}]}),
    );
    let dests: Vec<&str> = spec["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["destination"].as_str().unwrap())
        .collect();
    assert_eq!(
        dests,
        [
            "/dev",
            "/dev/mqueue",
            "/dev/pts",
            "/etc",
            "/lib/modules",
            "/proc",
            "/sys",
            "/sys/fs/cgroup",
            "/tmp",
            "/var"
        ]
    );
    // A bind replaces the tmpfs on the same destination; a mount replaces the tmpfs on /tmp.
    assert_eq!(
        mount_at(&spec, "/etc"),
        &json!({"destination": "/etc", "type": "bind", "source": "/run/resolvconf", "options": ["rw", "rbind", "rshared"]})
    );
    assert_eq!(mount_at(&spec, "/var")["options"], json!(["ro", "rbind"]));
    assert_eq!(mount_at(&spec, "/tmp")["options"], json!(["size=2m"]));
    assert_eq!(mount_at(&spec, "/tmp")["source"], json!("tmpfs"));
    assert_eq!(
        mount_at(&spec, "/dev/mqueue"),
        &json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue"})
    );
    // An entry's binds replace the label's and binds.add.
    let (spec, _) = convert(
        json!({"binds": ["/a:/a"]}),
        json!({"binds": ["/b:/b"], "binds.add": ["/c:/c"]}),
    );
    assert!(mount_at(&spec, "/a").is_null() && mount_at(&spec, "/c").is_null());
    assert_eq!(mount_at(&spec, "/b")["source"], "/b");
}

#[test]
fn runtime_json_takes_the_entry_then_the_label_and_is_complete() {
    let (_, runtime) = convert(
        json!({"runtime": {"mkdir": ["/var/lib/x"], "cgroups": ["podruntime/x"], "bindNS": {"net": "/run/netns/x"}}}),
        json!({"runtime": {"mkdir": ["/var/lib/y"], "interfaces": [{"name": "eth1", "peer": "veth1"}]}}),
    );
    assert_eq!(
        serde_json::to_value(&runtime).unwrap(),
        json!({
            "cgroups": ["podruntime/x"], "mounts": [], "mkdir": ["/var/lib/y"],
            "interfaces": [{"name": "eth1", "peer": "veth1", "createInRoot": false}],
            "bindNS": {"cgroup": "", "ipc": "", "mnt": "", "net": "/run/netns/x", "pid": "", "user": "", "uts": ""},
            "namespace": "",
        })
    );
}

#[test]
fn bundles_get_an_overlay_or_a_bind_before_their_own_mounts() {
    let own = Runtime {
        mounts: Some(vec![serde_json::from_value(
            json!({"type": "tmpfs", "source": "tmpfs", "destination": "/run/x"}),
        )
        .unwrap()]),
        ..Runtime::default()
    };
    let rw = bundle_runtime(
        "/containers/services/ntpd",
        false,
        "/containers/services/ntpd/lower",
        &own,
    );
    assert_eq!(
        serde_json::to_value(rw.mounts.unwrap()).unwrap(),
        json!([
            {"destination": "/containers/services/ntpd/tmp", "type": "tmpfs", "source": "tmpfs"},
            {"destination": "/containers/services/ntpd/tmp", "options": ["remount", "private"]},
            {"destination": "/containers/services/ntpd/rootfs", "type": "overlay", "source": "overlay", "options": [
                "lowerdir=/containers/services/ntpd/lower", "upperdir=/containers/services/ntpd/tmp/upper",
                "workdir=/containers/services/ntpd/tmp/work"]},
            {"destination": "/run/x", "type": "tmpfs", "source": "tmpfs"},
        ])
    );
    let ro = bundle_runtime(
        "/containers/onboot/000-dhcpcd/",
        true,
        "/containers/services/dhcpcd/rootfs",
        &Runtime::default(),
    );
    assert_eq!(
        serde_json::to_value(ro.mounts.unwrap()).unwrap(),
        json!([{"destination": "/containers/onboot/000-dhcpcd/rootfs", "source": "/containers/services/dhcpcd/rootfs", "options": ["bind"]}])
    );
}

#[test]
fn conversion_errors_name_the_field() {
    let label = ImageConfig::parse_label(&json!({"uid": "nobody"})).unwrap();
    let err = to_oci(&label, &ImageConfig::default(), &image(), &BTreeMap::new()).unwrap_err();
    assert_eq!(err.field, "uid");
    assert!(err.reason.contains("nobody"), "{err}");
    let label = ImageConfig::parse_label(&json!({"capabilities": ["all"]})).unwrap();
    let entry = ImageConfig {
        capabilities_add: Some(vec!["CAP_SYS_ADMIN".into()]),
        ..ImageConfig::default()
    };
    let err = to_oci(&label, &entry, &image(), &BTreeMap::new()).unwrap_err();
    assert!(err.reason.contains("unknown capability: all"), "{err}");
}

#[test]
fn the_spec_is_a_valid_oci_runtime_spec_and_stable() {
    let label = json!({
        "capabilities": ["all"], "binds": ["/etc:/hostroot/etc:ro"], "pid": "host", "net": "host",
        "devices": [{"path": "all", "type": "a"}, {"path": "/dev/console", "type": "c", "major": 5, "minor": 1, "mode": "0660"}],
        "rlimits": ["nofile,1024,2048"], "sysctl": {"a.b": "1"}, "resources": {"memory": {"limit": 1048576}},
        "oomScoreAdj": -1, "readonly": true, "hostname": "h", "annotations": {"k": "v"},
    });
    let (spec, _) = convert(label.clone(), json!({"command": ["/x"]}));
    let typed: oci_spec::runtime::Spec =
        serde_json::from_value(spec.clone()).expect("oci-spec reads it");
    let process = typed.process().as_ref().unwrap();
    assert_eq!(process.args().as_ref().unwrap(), &["/x".to_string()]);
    assert_eq!(
        process
            .capabilities()
            .as_ref()
            .unwrap()
            .bounding()
            .as_ref()
            .unwrap()
            .len(),
        linuxkit_config::ALL_CAPABILITIES.len()
    );
    assert_eq!(
        typed
            .linux()
            .as_ref()
            .unwrap()
            .devices()
            .as_ref()
            .unwrap()
            .len(),
        1
    );
    let (again, _) = convert(label, json!({"command": ["/x"]}));
    assert_eq!(
        serde_json::to_vec(&spec).unwrap(),
        serde_json::to_vec(&again).unwrap()
    );
}
