//! Label + manifest entry + image config -> OCI runtime spec (`config.json`) and `runtime.json`,
//! by LinuxKit's rules: the manifest entry wins over the label, the label over the image config,
//! and a value replaces, never merges, except `binds.add` and `capabilities.add`.
//!
//! The spec is built as JSON with exactly the fields LinuxKit writes, in a stable order (sorted
//! keys), so the same inputs give the same bytes.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use crate::caps::ALL_CAPABILITIES;
use crate::config::{
    complete_mount, parse_bind, parse_octal, parse_rlimit, parse_tmpfs, Id, ImageConfig, Mount,
};
use crate::runtime::Runtime;

/// The runtime spec version written into `ociVersion`.
pub const OCI_VERSION: &str = "1.1.0";

/// What the image's own config says: the last word, after the entry and the label.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageDefaults {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub working_dir: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {reason}")]
pub struct ConvertError {
    pub field: String,
    pub reason: String,
}

fn error(field: impl Into<String>, reason: impl Into<String>) -> ConvertError {
    ConvertError {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Picks the entry's value, else the label's.
fn pick<'a, T>(label: &'a Option<T>, entry: &'a Option<T>) -> Option<&'a T> {
    entry.as_ref().or(label.as_ref())
}

/// Like [`pick`] for strings, where LinuxKit treats empty as unset.
fn pick_str<'a>(label: &'a Option<String>, entry: &'a Option<String>) -> Option<&'a str> {
    entry
        .as_deref()
        .filter(|s| !s.is_empty())
        .or(label.as_deref().filter(|s| !s.is_empty()))
}

/// The runtime spec and runtime.json for one container. `ids` maps names usable as uid/gid (other
/// containers' names) to numbers; `root` is always 0.
pub fn to_oci(
    label: &ImageConfig,
    entry: &ImageConfig,
    image: &ImageDefaults,
    ids: &BTreeMap<String, u32>,
) -> Result<(Value, Runtime), ConvertError> {
    let args = match pick(&label.command, &entry.command) {
        Some(command) => command.clone(),
        None => [image.entrypoint.clone(), image.cmd.clone()].concat(),
    };
    let env = pick(&label.env, &entry.env)
        .cloned()
        .unwrap_or_else(|| image.env.clone());
    let cwd = pick_str(&label.cwd, &entry.cwd)
        .or(Some(image.working_dir.as_str()).filter(|s| !s.is_empty()))
        .unwrap_or("/");
    let readonly = pick(&label.readonly, &entry.readonly)
        .copied()
        .unwrap_or(false);

    let mut process = Map::new();
    process.insert("user".into(), user(label, entry, ids)?);
    process.insert("args".into(), json!(args));
    if !env.is_empty() {
        process.insert("env".into(), json!(env));
    }
    process.insert("cwd".into(), json!(cwd));
    process.insert("capabilities".into(), capabilities(label, entry)?);
    let rlimits = rlimits(label, entry)?;
    if !rlimits.is_empty() {
        process.insert("rlimits".into(), json!(rlimits));
    }
    if pick(&label.no_new_privileges, &entry.no_new_privileges) == Some(&true) {
        process.insert("noNewPrivileges".into(), json!(true));
    }
    if let Some(adj) = pick(&label.oom_score_adj, &entry.oom_score_adj) {
        process.insert("oomScoreAdj".into(), json!(adj));
    }

    let mut root = Map::new();
    root.insert("path".into(), json!("rootfs"));
    if readonly {
        root.insert("readonly".into(), json!(true));
    }

    let mut spec = Map::new();
    spec.insert("ociVersion".into(), json!(OCI_VERSION));
    spec.insert("process".into(), Value::Object(process));
    spec.insert("root".into(), Value::Object(root));
    if let Some(hostname) = pick_str(&label.hostname, &entry.hostname) {
        spec.insert("hostname".into(), json!(hostname));
    }
    spec.insert("mounts".into(), mounts(label, entry, readonly)?);
    if let Some(annotations) = pick(&label.annotations, &entry.annotations) {
        if !annotations.is_empty() {
            spec.insert("annotations".into(), json!(annotations));
        }
    }
    spec.insert("linux".into(), linux(label, entry)?);

    let runtime = Runtime::merged(label.runtime.as_ref(), entry.runtime.as_ref());
    Ok((Value::Object(spec), runtime))
}

fn numeric_id(id: &Id, ids: &BTreeMap<String, u32>, field: &str) -> Result<u32, ConvertError> {
    id.number(ids).map_err(|reason| error(field, reason))
}

fn user(
    label: &ImageConfig,
    entry: &ImageConfig,
    ids: &BTreeMap<String, u32>,
) -> Result<Value, ConvertError> {
    let uid = match pick(&label.uid, &entry.uid) {
        Some(id) => numeric_id(id, ids, "uid")?,
        None => 0,
    };
    let gid = match pick(&label.gid, &entry.gid) {
        Some(id) => numeric_id(id, ids, "gid")?,
        None => 0,
    };
    let mut user = Map::new();
    user.insert("uid".into(), json!(uid));
    user.insert("gid".into(), json!(gid));
    let additional = pick(&label.additional_gids, &entry.additional_gids)
        .map(|list| {
            list.iter()
                .enumerate()
                .map(|(i, id)| numeric_id(id, ids, &format!("additionalGids[{i}]")))
                .collect::<Result<Vec<u32>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    if !additional.is_empty() {
        user.insert("additionalGids".into(), json!(additional));
    }
    Ok(Value::Object(user))
}

/// `all`/`none` alone in any case expand; otherwise each must be a known name.
fn expand_caps(field: &str, list: Vec<String>) -> Result<Vec<String>, ConvertError> {
    let list = match list.as_slice() {
        [only] if only.eq_ignore_ascii_case("none") => Vec::new(),
        [only] if only.eq_ignore_ascii_case("all") => {
            ALL_CAPABILITIES.iter().map(|c| c.to_string()).collect()
        }
        _ => list,
    };
    if let Some(unknown) = list
        .iter()
        .find(|c| !ALL_CAPABILITIES.contains(&c.as_str()))
    {
        return Err(error(field, format!("unknown capability: {unknown}")));
    }
    Ok(list)
}

fn capabilities(label: &ImageConfig, entry: &ImageConfig) -> Result<Value, ConvertError> {
    // A manifest's `capabilities` replaces both; else the label's plus `capabilities.add`.
    let caps = match &entry.capabilities {
        Some(caps) => caps.clone(),
        None => [
            label.capabilities.clone().unwrap_or_default(),
            entry.capabilities_add.clone().unwrap_or_default(),
        ]
        .concat(),
    };
    let effective = expand_caps("capabilities", caps)?;
    let ambient = expand_caps(
        "ambient",
        pick(&label.ambient, &entry.ambient)
            .cloned()
            .unwrap_or_default(),
    )?;
    let bounding: BTreeSet<&String> = effective.iter().chain(&ambient).collect();
    let mut caps = Map::new();
    let mut put = |key: &str, list: Vec<&String>| {
        if !list.is_empty() {
            caps.insert(key.into(), json!(list));
        }
    };
    put("bounding", bounding.iter().copied().collect());
    put("effective", effective.iter().collect());
    put("inheritable", bounding.iter().copied().collect());
    put("permitted", bounding.iter().copied().collect());
    put("ambient", ambient.iter().collect());
    Ok(Value::Object(caps))
}

fn rlimits(label: &ImageConfig, entry: &ImageConfig) -> Result<Vec<Value>, ConvertError> {
    pick(&label.rlimits, &entry.rlimits)
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, text)| {
            let (kind, soft, hard) =
                parse_rlimit(text).map_err(|r| error(format!("rlimits[{i}]"), r))?;
            Ok(json!({"type": kind, "soft": soft, "hard": hard}))
        })
        .collect()
}

fn mount_value(m: &Mount) -> Value {
    serde_json::to_value(m).expect("a mount serializes")
}

/// Docker's default mounts (without /dev/shm and /dev/mqueue), then tmpfs, binds and mounts, each
/// keyed by destination (the last wins), sorted by destination.
fn mounts(label: &ImageConfig, entry: &ImageConfig, readonly: bool) -> Result<Value, ConvertError> {
    let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mount = |dst: &str, kind: &str, options: Vec<String>| Mount {
        destination: dst.into(),
        kind: kind.into(),
        source: kind.into(),
        options,
        ..Mount::default()
    };
    let ro = |mut options: Vec<String>| {
        if readonly {
            options.push("ro".into());
        }
        options
    };
    let mut by_dest: BTreeMap<String, Mount> = BTreeMap::new();
    for m in [
        mount(
            "/proc",
            "proc",
            strings(&["nosuid", "nodev", "noexec", "relatime"]),
        ),
        mount(
            "/dev",
            "tmpfs",
            ro(strings(&[
                "nosuid",
                "strictatime",
                "mode=755",
                "size=65536k",
            ])),
        ),
        mount(
            "/dev/pts",
            "devpts",
            strings(&[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
            ]),
        ),
        mount("/sys", "sysfs", ro(strings(&["nosuid", "noexec", "nodev"]))),
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            strings(&["nosuid", "noexec", "nodev", "relatime", "ro"]),
        ),
    ] {
        by_dest.insert(m.destination.clone(), m);
    }
    for (i, text) in pick(&label.tmpfs, &entry.tmpfs)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let (dst, options) = parse_tmpfs(text).map_err(|r| error(format!("tmpfs[{i}]"), r))?;
        by_dest.insert(dst.clone(), mount(&dst, "tmpfs", options));
    }
    let binds = match &entry.binds {
        Some(binds) => binds.clone(),
        None => [
            label.binds.clone().unwrap_or_default(),
            entry.binds_add.clone().unwrap_or_default(),
        ]
        .concat(),
    };
    for (i, text) in binds.iter().enumerate() {
        let (src, dst, options) = parse_bind(text).map_err(|r| error(format!("binds[{i}]"), r))?;
        let m = Mount {
            destination: dst.clone(),
            kind: "bind".into(),
            source: src,
            options,
            ..Mount::default()
        };
        by_dest.insert(dst, m);
    }
    for (i, m) in pick(&label.mounts, &entry.mounts)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let m = complete_mount(m).map_err(|r| error(format!("mounts[{i}]"), r))?;
        by_dest.insert(m.destination.clone(), m);
    }
    Ok(Value::Array(by_dest.values().map(mount_value).collect()))
}

/// Namespaces: net, ipc, uts and user are the host's unless asked (`new`, or `none` for net, make
/// one; any other value but `host`/`root` is a path to join); pid is new unless `host`/`root`;
/// the mount namespace is always new, and there is no cgroup namespace (LinuxKit makes none).
fn namespaces(label: &ImageConfig, entry: &ImageConfig) -> Value {
    let mut list = Vec::new();
    let mut add = |kind: &str, value: &str, new_words: &[&str]| {
        if value == "host" || value == "root" {
            return;
        }
        if new_words.contains(&value) {
            list.push(json!({"type": kind}));
        } else {
            list.push(json!({"type": kind, "path": value}));
        }
    };
    add(
        "network",
        pick_str(&label.net, &entry.net).unwrap_or("root"),
        &["new", "none"],
    );
    add(
        "ipc",
        pick_str(&label.ipc, &entry.ipc).unwrap_or("root"),
        &["new"],
    );
    add(
        "uts",
        pick_str(&label.uts, &entry.uts).unwrap_or("root"),
        &["new"],
    );
    add(
        "pid",
        pick_str(&label.pid, &entry.pid).unwrap_or(""),
        &["new", ""],
    );
    add(
        "user",
        pick_str(&label.userns, &entry.userns).unwrap_or("root"),
        &["new"],
    );
    list.push(json!({"type": "mount"}));
    Value::Array(list)
}

/// LinuxKit's resources as the runtime spec spells them.
fn resources(label: &ImageConfig, entry: &ImageConfig) -> Result<Map<String, Value>, ConvertError> {
    let mut resources = match pick(&label.resources, &entry.resources) {
        Some(r) => match serde_json::to_value(r).expect("resources serialize") {
            Value::Object(map) => map,
            _ => Map::new(),
        },
        None => Map::new(),
    };
    if let Some(block_io) = resources.remove("blockio") {
        resources.insert("blockIO".into(), block_io);
    }
    if let Some(Value::Array(limits)) = resources.get_mut("hugepageLimits") {
        for limit in limits {
            if let Some(size) = limit.get("pageSize").and_then(Value::as_u64) {
                limit["pageSize"] = json!(size.to_string());
            }
        }
    }
    Ok(resources)
}

fn linux(label: &ImageConfig, entry: &ImageConfig) -> Result<Value, ConvertError> {
    let mut linux = Map::new();
    for (key, mappings) in [
        (
            "uidMappings",
            pick(&label.uid_mappings, &entry.uid_mappings),
        ),
        (
            "gidMappings",
            pick(&label.gid_mappings, &entry.gid_mappings),
        ),
    ] {
        if let Some(m) = mappings.filter(|m| !m.is_empty()) {
            linux.insert(key.into(), json!(m));
        }
    }
    if let Some(sysctl) = pick(&label.sysctl, &entry.sysctl).filter(|s| !s.is_empty()) {
        linux.insert("sysctl".into(), json!(sysctl));
    }

    let mut resources = resources(label, entry)?;
    let mut device_rules: Vec<Value> = match resources.remove("devices") {
        Some(Value::Array(rules)) => rules,
        _ => Vec::new(),
    };
    let mut devices = Vec::new();
    for (i, device) in pick(&label.devices, &entry.devices)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if device.path == "all" {
            device_rules.push(json!({"allow": true, "type": device.kind, "access": "rwm"}));
            continue;
        }
        let mode = parse_octal(&device.mode).map_err(|r| {
            error(
                format!("devices[{i}].mode"),
                format!("{}: {r}", device.path),
            )
        })?;
        devices.push(json!({
            "path": device.path, "type": device.kind,
            "major": device.major, "minor": device.minor, "fileMode": mode,
        }));
        device_rules.push(json!({
            "allow": true, "type": device.kind,
            "major": device.major, "minor": device.minor, "access": "rwm",
        }));
    }
    if !device_rules.is_empty() {
        resources.insert("devices".into(), Value::Array(device_rules));
    }
    linux.insert("resources".into(), Value::Object(resources));
    if let Some(path) = pick_str(&label.cgroups_path, &entry.cgroups_path) {
        linux.insert("cgroupsPath".into(), json!(path));
    }
    linux.insert("namespaces".into(), namespaces(label, entry));
    if !devices.is_empty() {
        linux.insert("devices".into(), Value::Array(devices));
    }
    if let Some(p) = pick_str(&label.rootfs_propagation, &entry.rootfs_propagation) {
        linux.insert("rootfsPropagation".into(), json!(p));
    }
    for (key, paths) in [
        (
            "maskedPaths",
            pick(&label.masked_paths, &entry.masked_paths),
        ),
        (
            "readonlyPaths",
            pick(&label.readonly_paths, &entry.readonly_paths),
        ),
    ] {
        if let Some(p) = paths.filter(|p| !p.is_empty()) {
            linux.insert(key.into(), json!(p));
        }
    }
    Ok(Value::Object(linux))
}

/// runtime.json as a bundle holds it: the rootfs mounts first, then the config's own. `bundle` is
/// the bundle's absolute path on the machine that runs it; `lower` is where the image's files were
/// unpacked (`<bundle>/lower`, or another bundle's copy of the same image).
///
/// Read-write containers get an overlay: the image below, a tmpfs above. Read-only ones get the
/// image bind-mounted on the rootfs (runc wants the rootfs to be a mount point).
pub fn bundle_runtime(bundle: &str, readonly: bool, lower: &str, runtime: &Runtime) -> Runtime {
    let bundle = bundle.trim_end_matches('/');
    let rootfs = format!("{bundle}/rootfs");
    let mut mounts = if readonly {
        vec![Mount {
            destination: rootfs,
            source: lower.into(),
            options: vec!["bind".into()],
            ..Mount::default()
        }]
    } else {
        let tmp = format!("{bundle}/tmp");
        vec![
            Mount {
                destination: tmp.clone(),
                kind: "tmpfs".into(),
                source: "tmpfs".into(),
                ..Mount::default()
            },
            Mount {
                destination: tmp.clone(),
                options: vec!["remount".into(), "private".into()],
                ..Mount::default()
            },
            Mount {
                destination: rootfs,
                kind: "overlay".into(),
                source: "overlay".into(),
                options: vec![
                    format!("lowerdir={lower}"),
                    format!("upperdir={tmp}/upper"),
                    format!("workdir={tmp}/work"),
                ],
                ..Mount::default()
            },
        ]
    };
    mounts.extend(runtime.mounts.iter().flatten().cloned());
    Runtime {
        mounts: Some(mounts),
        ..runtime.clone()
    }
}

/// The folder of a bundle the image's files go into: `rootfs` when read-only, else `lower`.
pub fn extract_dir(readonly: bool) -> &'static str {
    if readonly {
        "rootfs"
    } else {
        "lower"
    }
}
