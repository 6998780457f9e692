//! LinuxKit's label schema, field by field: one label it accepts and one it refuses (with the
//! field the error must name).

use linuxkit_config::ImageConfig;
use serde_json::{json, Value};

struct Case {
    field: &'static str,
    accepted: Value,
    refused: Value,
    /// The path the refusal names.
    refused_at: &'static str,
}

fn case(field: &'static str, accepted: Value, refused: Value, refused_at: &'static str) -> Case {
    Case {
        field,
        accepted,
        refused,
        refused_at,
    }
}

fn cases() -> Vec<Case> {
    vec![
        case(
            "capabilities",
            json!({"capabilities": ["CAP_NET_ADMIN", "CAP_SYS_TIME"]}),
            json!({"capabilities": "CAP_NET_ADMIN"}),
            "capabilities",
        ),
        case(
            "capabilities (all)",
            json!({"capabilities": ["ALL"]}),
            json!({"capabilities": ["all", "CAP_NET_RAW"]}),
            "capabilities[0]",
        ),
        case(
            "capabilities (names)",
            json!({"capabilities": ["none"]}),
            json!({"capabilities": ["NET_ADMIN"]}),
            "capabilities[0]",
        ),
        case(
            "ambient",
            json!({"ambient": ["CAP_NET_BIND_SERVICE"]}),
            json!({"ambient": ["CAP_FLY"]}),
            "ambient[0]",
        ),
        case(
            "mounts",
            json!({"mounts": [{"destination": "/x", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}]}),
            json!({"mounts": [{"destination": "/x", "type": "tmpfs", "flags": 1}]}),
            "mounts[0].flags",
        ),
        case(
            "mounts (known type, no destination)",
            json!({"mounts": [{"type": "mqueue"}]}),
            json!({"mounts": [{"type": "tmpfs"}]}),
            "mounts[0]",
        ),
        case(
            "mounts (type from source)",
            json!({"mounts": [{"source": "proc", "destination": "/p"}]}),
            json!({"mounts": [{"source": "/x", "destination": "/y"}]}),
            "mounts[0]",
        ),
        case(
            "mounts (id mappings)",
            json!({"mounts": [{"type": "bind", "source": "/a", "destination": "/b", "uidmappings": [{"hostID": 1000, "containerID": 0, "size": 1}]}]}),
            json!({"mounts": [{"type": "bind", "source": "/a", "destination": "/b", "uidmappings": [{"host": 1}]}]}),
            "mounts[0].uidmappings[0].host",
        ),
        case(
            "binds",
            json!({"binds": ["/run/resolvconf:/etc", "/var:/var:ro"]}),
            json!({"binds": ["/run/resolvconf"]}),
            "binds[0]",
        ),
        case(
            "binds (too many parts)",
            json!({"binds": ["/a:/b:ro,shared"]}),
            json!({"binds": ["/a:/b:ro:shared"]}),
            "binds[0]",
        ),
        case(
            "tmpfs",
            json!({"tmpfs": ["/tmp:size=1m,mode=1777", "/run"]}),
            json!({"tmpfs": ["/tmp:size=1m:x"]}),
            "tmpfs[0]",
        ),
        case(
            "command",
            json!({"command": ["/bin/sh", "-c", "true"]}),
            json!({"command": "/bin/sh"}),
            "command",
        ),
        case(
            "env",
            json!({"env": ["A=b"]}),
            json!({"env": {"A": "b"}}),
            "env",
        ),
        case(
            "cwd",
            json!({"cwd": "/var"}),
            json!({"cwd": ["/var"]}),
            "cwd",
        ),
        case("net", json!({"net": "host"}), json!({"net": true}), "net"),
        case(
            "pid",
            json!({"pid": "/proc/1/ns/pid"}),
            json!({"pid": 1}),
            "pid",
        ),
        case("ipc", json!({"ipc": "new"}), json!({"ipc": null}), "ipc"),
        case(
            "uts",
            json!({"uts": "host"}),
            json!({"uts": ["host"]}),
            "uts",
        ),
        case(
            "userns",
            json!({"userns": "new"}),
            json!({"userns": false}),
            "userns",
        ),
        case(
            "hostname",
            json!({"hostname": "box"}),
            json!({"hostname": 7}),
            "hostname",
        ),
        case(
            "readonly",
            json!({"readonly": true}),
            json!({"readonly": "yes"}),
            "readonly",
        ),
        case(
            "maskedPaths",
            json!({"maskedPaths": ["/proc/kcore"]}),
            json!({"maskedPaths": "/proc/kcore"}),
            "maskedPaths",
        ),
        case(
            "readonlyPaths",
            json!({"readonlyPaths": ["/proc/sys"]}),
            json!({"readonlyPaths": [1]}),
            "readonlyPaths[0]",
        ),
        case(
            "uid (number)",
            json!({"uid": 100}),
            json!({"uid": -1}),
            "uid",
        ),
        case(
            "uid (name)",
            json!({"uid": "root"}),
            json!({"uid": ["root"]}),
            "uid",
        ),
        case("gid", json!({"gid": "ntp"}), json!({"gid": true}), "gid"),
        case(
            "additionalGids",
            json!({"additionalGids": [10, "wheel"]}),
            json!({"additionalGids": 10}),
            "additionalGids",
        ),
        case(
            "noNewPrivileges",
            json!({"noNewPrivileges": true}),
            json!({"noNewPrivileges": 1}),
            "noNewPrivileges",
        ),
        case(
            "oomScoreAdj",
            json!({"oomScoreAdj": -500}),
            json!({"oomScoreAdj": "low"}),
            "oomScoreAdj",
        ),
        case(
            "rootfsPropagation",
            json!({"rootfsPropagation": "shared"}),
            json!({"rootfsPropagation": true}),
            "rootfsPropagation",
        ),
        case(
            "cgroupsPath",
            json!({"cgroupsPath": "/podruntime/x"}),
            json!({"cgroupsPath": ["/x"]}),
            "cgroupsPath",
        ),
        case(
            "resources",
            json!({"resources": {"memory": {"limit": 1048576}, "cpu": {"shares": 512}, "pids": {"limit": 10}, "blockio": {"weight": 100}, "network": {"classID": 1}, "devices": [{"allow": false, "access": "rwm"}]}}),
            json!({"resources": {"unified": {"memory.max": "1"}}}),
            "resources.unified",
        ),
        case(
            "resources (closed objects)",
            json!({"resources": {"memory": {"swappiness": 0}}}),
            json!({"resources": {"memory": {"limits": 1}}}),
            "resources.memory.limits",
        ),
        case(
            "sysctl",
            json!({"sysctl": {"net.ipv4.ip_forward": "1"}}),
            json!({"sysctl": {"net.ipv4.ip_forward": 1}}),
            "sysctl.net.ipv4.ip_forward",
        ),
        case(
            "rlimits",
            json!({"rlimits": ["nofile,1024,unlimited", "RLIMIT_CORE,0,0"]}),
            json!({"rlimits": ["nofiles,1,1"]}),
            "rlimits[0]",
        ),
        case(
            "rlimits (shape)",
            json!({"rlimits": ["nproc, 10, 20"]}),
            json!({"rlimits": ["nproc,10"]}),
            "rlimits[0]",
        ),
        case(
            "devices",
            json!({"devices": [{"path": "/dev/console", "type": "c", "major": 5, "minor": 1, "mode": "0660"}]}),
            json!({"devices": [{"path": "/dev/console", "type": "c", "major": 5, "minor": 1}]}),
            "devices[0]",
        ),
        case(
            "devices (all)",
            json!({"devices": [{"path": "all", "type": "a"}]}),
            json!({"devices": [{"path": "all", "type": "a", "access": "rwm"}]}),
            "devices[0].access",
        ),
        case(
            "devices (mode)",
            json!({"devices": [{"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11, "mode": "0600"}]}),
            json!({"devices": [{"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11, "mode": "rw"}]}),
            "devices[0]",
        ),
        case(
            "uidMappings",
            json!({"uidMappings": [{"hostID": 100000, "containerID": 0, "size": 65536}]}),
            json!({"uidMappings": [{"hostId": 1}]}),
            "uidMappings[0].hostId",
        ),
        case(
            "gidMappings",
            json!({"gidMappings": []}),
            json!({"gidMappings": {}}),
            "gidMappings",
        ),
        case(
            "annotations",
            json!({"annotations": {"org.example/role": "dns"}}),
            json!({"annotations": ["a"]}),
            "annotations",
        ),
        case(
            "runtime",
            json!({"runtime": {"mkdir": ["/var/lib/x"], "cgroups": ["podruntime/x"], "namespace": "services.linuxkit"}}),
            json!({"runtime": {"mkdirs": ["/x"]}}),
            "runtime.mkdirs",
        ),
        case(
            "runtime.mounts",
            json!({"runtime": {"mounts": [{"type": "bind", "source": "/a", "destination": "/b", "options": ["rbind"]}]}}),
            json!({"runtime": {"mounts": [{"destination": "/b"}]}}),
            "runtime.mounts[0]",
        ),
        case(
            "runtime.interfaces",
            json!({"runtime": {"interfaces": [{"name": "eth1", "add": "veth", "peer": "veth1", "createInRoot": false}]}}),
            json!({"runtime": {"interfaces": [{"name": "eth1", "add": "veth"}]}}),
            "runtime.interfaces[0]",
        ),
        case(
            "runtime.interfaces (keys)",
            json!({"runtime": {"interfaces": [{"name": "wg0", "add": "wireguard", "createInRoot": true}]}}),
            json!({"runtime": {"interfaces": [{"name": "wg0", "type": "wireguard"}]}}),
            "runtime.interfaces[0].type",
        ),
        case(
            "runtime.bindNS",
            json!({"runtime": {"bindNS": {"net": "/run/netns/x", "cgroup": "", "ipc": "", "mnt": "", "pid": "", "user": "", "uts": ""}}}),
            json!({"runtime": {"bindNS": {"network": "/run/netns/x"}}}),
            "runtime.bindNS.network",
        ),
        case(
            "cgroupns (not LinuxKit's)",
            json!({}),
            json!({"cgroupns": "host"}),
            "cgroupns",
        ),
        case(
            "capabilities.add (manifest only)",
            json!({}),
            json!({"capabilities.add": ["CAP_SYS_ADMIN"]}),
            "capabilities.add",
        ),
        case(
            "binds.add (manifest only)",
            json!({}),
            json!({"binds.add": ["/a:/a"]}),
            "binds.add",
        ),
        case(
            "name (manifest only)",
            json!({}),
            json!({"name": "x"}),
            "name",
        ),
        case(
            "image (manifest only)",
            json!({}),
            json!({"image": "linuxkit/x:1"}),
            "image",
        ),
        case("the label itself", json!({}), json!(["capabilities"]), ""),
    ]
}

#[test]
fn every_field_has_an_accepted_and_a_refused_form() {
    let mut failures = Vec::new();
    for c in cases() {
        if let Err(err) = ImageConfig::parse_label(&c.accepted) {
            failures.push(format!("{}: {} refused: {err}", c.field, c.accepted));
        }
        match ImageConfig::parse_label(&c.refused) {
            Ok(_) => failures.push(format!("{}: {} accepted", c.field, c.refused)),
            Err(err) if err.field != c.refused_at => failures.push(format!(
                "{}: {} refused at `{}`, expected `{}` ({})",
                c.field, c.refused, err.field, c.refused_at, err.reason
            )),
            Err(err) if err.reason.is_empty() => {
                failures.push(format!("{}: refused without a reason", c.field))
            }
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn unknown_fields_are_named_with_what_is_expected() {
    let err = ImageConfig::parse_label(&json!({"cgroupns": "host"})).unwrap_err();
    assert!(err.reason.contains("unknown field `cgroupns`"), "{err}");
    assert!(err.reason.contains("capabilities"), "{err}");
    let err = ImageConfig::parse_label(&json!({"resources": {"rdma": {}}})).unwrap_err();
    assert_eq!(err.field, "resources.rdma");
    assert!(err.reason.contains("unknown field `rdma`"), "{err}");
}

#[test]
fn a_manifest_entry_takes_the_add_forms_and_needs_name_and_image() {
    let entry = ImageConfig::parse_entry(&json!({
        "name": "sshd", "image": "linuxkit/sshd-wrap:1",
        "capabilities.add": ["CAP_SYS_ADMIN"], "binds.add": ["/a:/a"],
    }))
    .unwrap();
    assert_eq!(entry.capabilities_add.unwrap(), ["CAP_SYS_ADMIN"]);
    let err = ImageConfig::parse_entry(&json!({"name": "sshd"})).unwrap_err();
    assert_eq!(err.field, "image");
}

#[test]
fn a_label_round_trips_with_linuxkit_field_names() {
    let label = json!({
        "capabilities": ["CAP_NET_ADMIN"], "binds": ["/run/resolvconf:/etc"], "net": "host",
        "rootfsPropagation": "shared", "readonly": true, "uid": "root",
        "resources": {"blockio": {"weight": 10}, "memory": {"disableOOMKiller": true}},
        "devices": [{"path": "/dev/console", "type": "c", "major": 5, "minor": 1, "mode": "0660"}],
        "runtime": {"mkdir": ["/var/lib/x"], "bindNS": {"net": "/run/netns/x"}},
    });
    let parsed = ImageConfig::parse_label(&label).unwrap();
    assert_eq!(serde_json::to_value(&parsed).unwrap(), label);
}
