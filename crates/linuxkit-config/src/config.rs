//! The image config as LinuxKit's schema has it: every object closed (`additionalProperties:
//! false`, here `deny_unknown_fields`), every field typed. A label and a manifest entry share the
//! type; [`ImageConfig::parse_label`] adds the rules only a label has.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::caps;
use crate::runtime::Runtime;

/// A label or a manifest entry. `name`, `image`, `capabilities.add` and `binds.add` exist only in
/// a manifest entry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImageConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Vec<String>>,
    #[serde(rename = "capabilities.add", skip_serializing_if = "Option::is_none")]
    pub capabilities_add: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ambient: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mounts: Option<Vec<Mount>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binds: Option<Vec<String>>,
    #[serde(rename = "binds.add", skip_serializing_if = "Option::is_none")]
    pub binds_add: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub devices: Option<Vec<Device>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmpfs: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uts: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userns: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub readonly: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub masked_paths: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub readonly_paths: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gid: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_gids: Option<Vec<Id>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_new_privileges: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oom_score_adj: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rootfs_propagation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroups_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sysctl: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rlimits: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid_mappings: Option<Vec<IdMapping>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gid_mappings: Option<Vec<IdMapping>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<Runtime>,
}

/// A uid or gid: a number, or a name (`root`, or another container's name in the manifest).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Id {
    Number(u32),
    Name(String),
}

impl Id {
    /// The number LinuxKit gives it: `root` (or an empty name) is 0, another name is the id of
    /// the manifest's container of that name ([`crate::Manifest::ids`]).
    pub fn number(&self, ids: &std::collections::BTreeMap<String, u32>) -> Result<u32, String> {
        match self {
            Id::Number(n) => Ok(*n),
            Id::Name(name) if name.is_empty() || name == "root" => Ok(0),
            Id::Name(name) => ids
                .get(name)
                .copied()
                .ok_or_else(|| format!("no id known for the name {name:?} (names are root or a container of the manifest)")),
        }
    }
}

/// An OCI runtime-spec mount; LinuxKit fills in a missing type, source or destination.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Mount {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub destination: String,
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uidmappings: Option<Vec<IdMapping>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gidmappings: Option<Vec<IdMapping>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IdMapping {
    #[serde(rename = "hostID", default)]
    pub host_id: u32,
    #[serde(rename = "containerID", default)]
    pub container_id: u32,
    #[serde(default)]
    pub size: u32,
}

/// A device node made in the container and allowed by its device cgroup; `path: all` allows a
/// whole type (`a`, `b`, `c`) without making a node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    #[serde(default)]
    pub path: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub major: i64,
    #[serde(default)]
    pub minor: i64,
    /// Octal, as a string ("0660"); required but for `path: all`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mode: String,
}

/// OCI `LinuxResources`, with only the keys LinuxKit's schema lets through.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Resources {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub devices: Option<Vec<DeviceCgroup>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<Memory>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Cpu>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids: Option<Pids>,
    /// `blockio` in LinuxKit's schema; `blockIO` in the runtime spec.
    #[serde(rename = "blockio", skip_serializing_if = "Option::is_none")]
    pub block_io: Option<BlockIo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hugepage_limits: Option<Vec<HugepageLimit>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<Network>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceCgroup {
    #[serde(default)]
    pub allow: bool,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub major: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minor: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Memory {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reservation: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swap: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel: Option<i64>,
    #[serde(rename = "kernelTCP", skip_serializing_if = "Option::is_none")]
    pub kernel_tcp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swappiness: Option<u64>,
    #[serde(rename = "disableOOMKiller", skip_serializing_if = "Option::is_none")]
    pub disable_oom_killer: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Cpu {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shares: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realtime_runtime: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realtime_period: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpus: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mems: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Pids {
    pub limit: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BlockIo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leaf_weight: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_device: Option<Vec<WeightDevice>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttle_read_bps_device: Option<Vec<ThrottleDevice>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttle_write_bps_device: Option<Vec<ThrottleDevice>>,
    #[serde(
        rename = "throttleReadIOPSDevice",
        skip_serializing_if = "Option::is_none"
    )]
    pub throttle_read_iops_device: Option<Vec<ThrottleDevice>>,
    #[serde(
        rename = "throttleWriteIOPSDevice",
        skip_serializing_if = "Option::is_none"
    )]
    pub throttle_write_iops_device: Option<Vec<ThrottleDevice>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WeightDevice {
    pub major: i64,
    pub minor: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leaf_weight: Option<u16>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleDevice {
    pub major: i64,
    pub minor: i64,
    pub rate: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HugepageLimit {
    pub page_size: PageSize,
    pub limit: u64,
}

/// LinuxKit's schema types `pageSize` as an integer; the runtime spec as a string ("2MB").
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum PageSize {
    Bytes(u64),
    Text(String),
}

impl Default for PageSize {
    fn default() -> Self {
        PageSize::Bytes(0)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    #[serde(rename = "classID", skip_serializing_if = "Option::is_none")]
    pub class_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priorities: Option<Vec<InterfacePriority>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InterfacePriority {
    pub name: String,
    pub priority: u32,
}

/// What is wrong with a label or an entry: the field's path and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {reason}")]
pub struct SchemaError {
    pub field: String,
    pub reason: String,
}

impl SchemaError {
    fn new(field: impl Into<String>, reason: impl Into<String>) -> SchemaError {
        SchemaError {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl ImageConfig {
    /// Reads an `org.mobyproject.config` label, refusing what LinuxKit refuses.
    pub fn parse_label(value: &serde_json::Value) -> Result<ImageConfig, SchemaError> {
        let config = Self::deserialize(value)?;
        for (field, present) in [
            ("name", config.name.is_some()),
            ("image", config.image.is_some()),
        ] {
            if present {
                return Err(SchemaError::new(field, "cannot be set in a label"));
            }
        }
        for (field, present) in [
            ("capabilities.add", config.capabilities_add.is_some()),
            ("binds.add", config.binds_add.is_some()),
        ] {
            if present {
                return Err(SchemaError::new(
                    field,
                    "exists only in a manifest entry (LinuxKit ignores it in a label)",
                ));
            }
        }
        config.check()?;
        Ok(config)
    }

    /// Reads the overrides of one `onboot`/`onshutdown`/`services` entry of a manifest.
    pub fn parse_entry(value: &serde_json::Value) -> Result<ImageConfig, SchemaError> {
        let config = Self::deserialize(value)?;
        for (field, value) in [("name", &config.name), ("image", &config.image)] {
            if value.as_deref().unwrap_or_default().is_empty() {
                return Err(SchemaError::new(field, "is required in a manifest entry"));
            }
        }
        config.check()?;
        Ok(config)
    }

    fn deserialize(value: &serde_json::Value) -> Result<ImageConfig, SchemaError> {
        if !value.is_object() {
            return Err(SchemaError::new("", "expected an object"));
        }
        if let Some(path) = find_null(value, String::new()) {
            return Err(SchemaError::new(
                path,
                "null is not a value LinuxKit accepts",
            ));
        }
        serde_path_to_error::deserialize(value).map_err(|err| {
            let field = err.path().to_string();
            SchemaError::new(
                if field == "." { String::new() } else { field },
                err.into_inner().to_string(),
            )
        })
    }

    /// The checks LinuxKit makes past the schema, when it turns the config into a runtime spec.
    fn check(&self) -> Result<(), SchemaError> {
        for (field, list) in [
            ("capabilities", &self.capabilities),
            ("capabilities.add", &self.capabilities_add),
            ("ambient", &self.ambient),
        ] {
            check_capabilities(field, list.as_deref().unwrap_or_default())?;
        }
        for (field, list) in [("binds", &self.binds), ("binds.add", &self.binds_add)] {
            for (i, bind) in list.iter().flatten().enumerate() {
                parse_bind(bind).map_err(|r| SchemaError::new(format!("{field}[{i}]"), r))?;
            }
        }
        for (i, tmpfs) in self.tmpfs.iter().flatten().enumerate() {
            parse_tmpfs(tmpfs).map_err(|r| SchemaError::new(format!("tmpfs[{i}]"), r))?;
        }
        for (i, mount) in self.mounts.iter().flatten().enumerate() {
            complete_mount(mount).map_err(|r| SchemaError::new(format!("mounts[{i}]"), r))?;
        }
        for (i, device) in self.devices.iter().flatten().enumerate() {
            check_device(device).map_err(|r| SchemaError::new(format!("devices[{i}]"), r))?;
        }
        for (i, rlimit) in self.rlimits.iter().flatten().enumerate() {
            parse_rlimit(rlimit).map_err(|r| SchemaError::new(format!("rlimits[{i}]"), r))?;
        }
        if let Some(runtime) = &self.runtime {
            runtime.check()?;
        }
        Ok(())
    }
}

/// The path of the first null, in serde_path_to_error's notation.
fn find_null(value: &serde_json::Value, path: String) -> Option<String> {
    match value {
        serde_json::Value::Null => Some(path),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| find_null(v, format!("{path}[{i}]"))),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
            find_null(
                v,
                if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                },
            )
        }),
        _ => None,
    }
}

/// `all` or `none` alone, else capability names as the kernel spells them.
fn check_capabilities(field: &str, list: &[String]) -> Result<(), SchemaError> {
    if let [only] = list {
        if ["all", "none"].contains(&only.to_lowercase().as_str()) {
            return Ok(());
        }
    }
    for (i, cap) in list.iter().enumerate() {
        if !caps::is_known(cap) {
            return Err(SchemaError::new(
                format!("{field}[{i}]"),
                format!("unknown capability {cap:?} (expected a name such as \"CAP_NET_ADMIN\", or \"all\"/\"none\" alone)"),
            ));
        }
    }
    Ok(())
}

/// `src:dst[:opt,opt]`: source, destination and mount options (default `rw,rbind,rshared`; given
/// options get `rbind` added).
pub(crate) fn parse_bind(bind: &str) -> Result<(String, String, Vec<String>), String> {
    let parts: Vec<&str> = bind.split(':').collect();
    match parts.as_slice() {
        [src, dst] | [src, dst, _] if src.is_empty() || dst.is_empty() => Err(format!(
            "{bind:?}: expected src:dst[:options] with both paths"
        )),
        [src, dst] => Ok((
            src.to_string(),
            dst.to_string(),
            vec!["rw".into(), "rbind".into(), "rshared".into()],
        )),
        [src, dst, opts] => {
            let mut options: Vec<String> = opts.split(',').map(str::to_string).collect();
            options.push("rbind".into());
            Ok((src.to_string(), dst.to_string(), options))
        }
        [_] => Err(format!(
            "{bind:?}: missing ':' (expected src:dst[:options])"
        )),
        _ => Err(format!(
            "{bind:?}: too many ':' (expected src:dst[:options])"
        )),
    }
}

/// `dst[:opt,opt]`.
pub(crate) fn parse_tmpfs(tmpfs: &str) -> Result<(String, Vec<String>), String> {
    let parts: Vec<&str> = tmpfs.split(':').collect();
    match parts.as_slice() {
        [dst] => Ok((dst.to_string(), Vec::new())),
        [dst, opts] => Ok((
            dst.to_string(),
            opts.split(',').map(str::to_string).collect(),
        )),
        _ => Err(format!("{tmpfs:?}: too many ':' (expected dst[:options])")),
    }
}

/// A mount with LinuxKit's defaults filled in: the type from a well-known source (or `tmpfs` on
/// /dev), the source from the type, the destination from the type.
pub(crate) fn complete_mount(mount: &Mount) -> Result<Mount, String> {
    let mut kind = mount.kind.clone();
    if kind.is_empty()
        && ["mqueue", "devpts", "proc", "sysfs", "cgroup"].contains(&mount.source.as_str())
    {
        kind = mount.source.clone();
    }
    if kind.is_empty() && mount.destination == "/dev" {
        kind = "tmpfs".into();
    }
    if kind.is_empty() {
        return Err(format!(
            "mount for destination {:?} is missing its type",
            mount.destination
        ));
    }
    let source = if mount.source.is_empty() {
        kind.clone()
    } else {
        mount.source.clone()
    };
    let destination = if mount.destination.is_empty() {
        let default = match kind.as_str() {
            "proc" => "/proc",
            "devpts" => "/dev/pts",
            "sysfs" => "/sys",
            "cgroup" => "/sys/fs/cgroup",
            "mqueue" => "/dev/mqueue",
            _ => return Err(format!("mount of type {kind:?} is missing its destination")),
        };
        default.to_string()
    } else {
        mount.destination.clone()
    };
    Ok(Mount {
        destination,
        kind,
        source,
        options: mount.options.clone(),
        uidmappings: mount.uidmappings.clone(),
        gidmappings: mount.gidmappings.clone(),
    })
}

fn check_device(device: &Device) -> Result<(), String> {
    if device.path.is_empty() {
        return Err("a device needs a path (or \"all\")".into());
    }
    if device.path == "all" {
        if !["a", "b", "c"].contains(&device.kind.as_str()) {
            return Err(format!(
                "path \"all\" needs type \"a\", \"b\" or \"c\", got {:?}",
                device.kind
            ));
        }
        return Ok(());
    }
    if !["b", "c", "u", "p"].contains(&device.kind.as_str()) {
        return Err(format!(
            "{}: type must be \"c\", \"b\", \"u\" or \"p\", got {:?}",
            device.path, device.kind
        ));
    }
    parse_octal(&device.mode).map_err(|r| format!("{}: mode {r}", device.path))?;
    Ok(())
}

pub(crate) fn parse_octal(mode: &str) -> Result<u32, String> {
    if mode.is_empty() {
        return Err("is required, as an octal string such as \"0660\"".into());
    }
    u32::from_str_radix(mode, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| format!("{mode:?} is not an octal mode such as \"0660\""))
}

const RLIMITS: &[&str] = &[
    "RLIMIT_CPU",
    "RLIMIT_FSIZE",
    "RLIMIT_DATA",
    "RLIMIT_STACK",
    "RLIMIT_CORE",
    "RLIMIT_RSS",
    "RLIMIT_NPROC",
    "RLIMIT_NOFILE",
    "RLIMIT_MEMLOCK",
    "RLIMIT_AS",
    "RLIMIT_LOCKS",
    "RLIMIT_SIGPENDING",
    "RLIMIT_MSGQUEUE",
    "RLIMIT_NICE",
    "RLIMIT_RTPRIO",
    "RLIMIT_RTTIME",
];

/// `name,soft,hard`: the name with or without `RLIMIT_`, any case; numbers or `unlimited`.
pub(crate) fn parse_rlimit(text: &str) -> Result<(String, u64, u64), String> {
    let parts: Vec<&str> = text.splitn(3, ',').collect();
    let [name, soft, hard] = parts.as_slice() else {
        return Err(format!("{text:?}: expected name,soft,hard"));
    };
    let mut name = name.trim().to_uppercase();
    if !name.starts_with("RLIMIT_") {
        name = format!("RLIMIT_{name}");
    }
    if !RLIMITS.contains(&name.as_str()) {
        return Err(format!("{text:?}: unknown limit {name}"));
    }
    let value = |v: &str| -> Result<u64, String> {
        let v = v.trim();
        if v.eq_ignore_ascii_case("unlimited") {
            return Ok(u64::MAX);
        }
        v.parse()
            .map_err(|_| format!("{text:?}: {v:?} is neither a number nor \"unlimited\""))
    };
    Ok((name, value(soft)?, value(hard)?))
}
