//! LinuxKit's `runtime.json`: what init does around `runc create`, beyond the runtime spec.

use serde::{Deserialize, Serialize};

use crate::config::{complete_mount, Mount, SchemaError};

/// Mounts, then mkdir, then cgroups before the container is created; interfaces and bindNS after
/// it is created, before it starts. Relative paths are inside the container's rootfs.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Runtime {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroups: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mounts: Option<Vec<Mount>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mkdir: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interfaces: Option<Vec<Interface>>,
    #[serde(rename = "bindNS", default)]
    pub bind_ns: Namespaces,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Where to bind each of the container's namespaces on the host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Namespaces {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mnt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uts: Option<String>,
}

impl Namespaces {
    /// (namespace name as in /proc/PID/ns, bind path), for the paths that are set.
    pub fn binds(&self) -> Vec<(&'static str, &str)> {
        [
            ("cgroup", &self.cgroup),
            ("ipc", &self.ipc),
            ("mnt", &self.mnt),
            ("net", &self.net),
            ("pid", &self.pid),
            ("user", &self.user),
            ("uts", &self.uts),
        ]
        .into_iter()
        .filter_map(|(ns, path)| path.as_deref().filter(|p| !p.is_empty()).map(|p| (ns, p)))
        .collect()
    }
}

/// A network interface moved into (or made in) the container's network namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Interface {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// A link type to create (`veth` needs `peer`); empty moves an existing link.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub add: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub peer: String,
    #[serde(default)]
    pub create_in_root: bool,
}

impl Runtime {
    pub(crate) fn check(&self) -> Result<(), SchemaError> {
        let err = |field: String, reason: String| SchemaError { field, reason };
        for (i, mount) in self.mounts.iter().flatten().enumerate() {
            complete_mount(mount).map_err(|r| err(format!("runtime.mounts[{i}]"), r))?;
        }
        for (i, iface) in self.interfaces.iter().flatten().enumerate() {
            let field = format!("runtime.interfaces[{i}]");
            if iface.name.is_empty() {
                return Err(err(field, "an interface needs a name".into()));
            }
            if iface.add == "veth" && iface.peer.is_empty() {
                return Err(err(field, format!("veth {} needs a peer", iface.name)));
            }
        }
        Ok(())
    }

    /// LinuxKit's manifest > label precedence, field by field; every list present (maybe empty).
    pub fn merged(label: Option<&Runtime>, entry: Option<&Runtime>) -> Runtime {
        fn pick_vec<T: Clone>(
            label: Option<&Runtime>,
            entry: Option<&Runtime>,
            f: fn(&Runtime) -> &Option<Vec<T>>,
        ) -> Vec<T> {
            entry
                .and_then(|r| f(r).clone())
                .or_else(|| label.and_then(|r| f(r).clone()))
                .unwrap_or_default()
        }
        let ns = |f: fn(&Namespaces) -> &Option<String>| -> Option<String> {
            Some(
                entry
                    .and_then(|r| f(&r.bind_ns).clone())
                    .or_else(|| label.and_then(|r| f(&r.bind_ns).clone()))
                    .unwrap_or_default(),
            )
        };
        Runtime {
            cgroups: Some(pick_vec(label, entry, |r| &r.cgroups)),
            mounts: Some(pick_vec(label, entry, |r| &r.mounts)),
            mkdir: Some(pick_vec(label, entry, |r| &r.mkdir)),
            interfaces: Some(pick_vec(label, entry, |r| &r.interfaces)),
            bind_ns: Namespaces {
                cgroup: ns(|n| &n.cgroup),
                ipc: ns(|n| &n.ipc),
                mnt: ns(|n| &n.mnt),
                net: ns(|n| &n.net),
                pid: ns(|n| &n.pid),
                user: ns(|n| &n.user),
                uts: ns(|n| &n.uts),
            },
            namespace: Some(
                entry
                    .and_then(|r| r.namespace.clone())
                    .or_else(|| label.and_then(|r| r.namespace.clone()))
                    .unwrap_or_default(),
            ),
        }
    }
}
