//! Which kernel modules a machine needs and the order they load in, from the kernel's own
//! modules.dep and modules.alias: the modules whose aliases match the devices' modaliases (what
//! udev or mdev would load), plus the few that containers need without a device.

use std::collections::{BTreeMap, BTreeSet};

/// Loaded when the kernel has them as modules: the overlay rootfs of every container, packet
/// sockets (dhcpcd), and the links container networking makes.
pub const ALWAYS: &[&str] = &["overlay", "af_packet", "veth", "bridge"];

#[derive(Debug, Default, Clone)]
pub struct Modules {
    /// Module name -> (path relative to /lib/modules/<release>, dependencies' names).
    deps: BTreeMap<String, (String, Vec<String>)>,
    /// (modalias pattern, module name).
    aliases: Vec<(String, String)>,
}

/// `kernel/net/core/failover.ko.xz` -> `failover`; the kernel treats `-` and `_` alike.
pub fn name_of(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.split(".ko").next().unwrap_or(file);
    stem.replace('-', "_")
}

impl Modules {
    pub fn parse(modules_dep: &str, modules_alias: &str) -> Modules {
        let mut deps = BTreeMap::new();
        for line in modules_dep.lines() {
            let Some((path, rest)) = line.split_once(':') else {
                continue;
            };
            let path = path.trim();
            if path.is_empty() {
                continue;
            }
            let needs = rest.split_whitespace().map(name_of).collect();
            deps.insert(name_of(path), (path.to_string(), needs));
        }
        let aliases = modules_alias
            .lines()
            .filter_map(|l| {
                let mut words = l.split_whitespace();
                (words.next() == Some("alias")).then_some(())?;
                let pattern = words.next()?;
                let module = words.next()?;
                Some((pattern.to_string(), module.replace('-', "_")))
            })
            .collect();
        Modules { deps, aliases }
    }

    pub fn has(&self, name: &str) -> bool {
        self.deps.contains_key(&name.replace('-', "_"))
    }

    /// The modules whose aliases match any of the devices' modaliases.
    pub fn for_devices<'a>(
        &self,
        modaliases: impl IntoIterator<Item = &'a str>,
    ) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        for modalias in modaliases {
            for (pattern, module) in &self.aliases {
                if self.deps.contains_key(module) && glob_match(pattern, modalias.trim()) {
                    found.insert(module.clone());
                }
            }
        }
        found
    }

    /// The paths to load for `names`, each after what it depends on, each once.
    pub fn load_order<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let mut order = Vec::new();
        let mut seen = BTreeSet::new();
        for name in names {
            self.visit(&name.replace('-', "_"), &mut seen, &mut order);
        }
        order
    }

    fn visit(&self, name: &str, seen: &mut BTreeSet<String>, order: &mut Vec<String>) {
        if !seen.insert(name.to_string()) {
            return;
        }
        let Some((path, needs)) = self.deps.get(name) else {
            return;
        };
        // modules.dep lists a module's dependencies nearest first: load the farthest first.
        for dep in needs.iter().rev() {
            self.visit(dep, seen, order);
        }
        order.push(path.clone());
    }
}

/// fnmatch(3) without flags, as modprobe matches aliases: `*`, `?` and `[...]` classes.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    fn class(p: &[u8], c: u8) -> Option<(bool, usize)> {
        // p starts after '['; returns (matched, length of the class including ']').
        let mut i = 0;
        let negate = matches!(p.first(), Some(b'!') | Some(b'^'));
        if negate {
            i += 1;
        }
        let mut matched = false;
        let mut first = true;
        while i < p.len() {
            if p[i] == b']' && !first {
                return Some((matched != negate, i + 1));
            }
            first = false;
            if i + 2 < p.len() && p[i + 1] == b'-' && p[i + 2] != b']' {
                if p[i] <= c && c <= p[i + 2] {
                    matched = true;
                }
                i += 3;
            } else {
                if p[i] == c {
                    matched = true;
                }
                i += 1;
            }
        }
        None
    }
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            match p[pi] {
                b'*' => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                b'?' => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                b'[' => {
                    if let Some((ok, len)) = class(&p[pi + 1..], t[ti]) {
                        if ok {
                            pi += 1 + len;
                            ti += 1;
                            continue;
                        }
                    } else if t[ti] == b'[' {
                        pi += 1;
                        ti += 1;
                        continue;
                    }
                }
                c if c == t[ti] => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEP: &str = "\
kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko
kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko
kernel/net/core/failover.ko:
kernel/drivers/virtio/virtio_pci.ko.xz: kernel/drivers/virtio/virtio_pci_modern_dev.ko
kernel/drivers/virtio/virtio_pci_modern_dev.ko:
kernel/fs/overlayfs/overlay.ko:
kernel/drivers/char/virtio-console.ko:
";
    const ALIAS: &str = "\
# Aliases extracted from modules themselves.
alias pci:v00001AF4d*sv*sd*bc*sc*i* virtio_pci
alias virtio:d00000001v* virtio_net
alias virtio:d00000003v* virtio_console
alias fs-overlay overlay
alias pci:v00008086d0000100Esv*sd*bc*sc*i* e1000
";

    #[test]
    fn devices_pick_their_modules_and_dependencies_load_first() {
        let m = Modules::parse(DEP, ALIAS);
        let wanted = m.for_devices([
            "pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00",
            "virtio:d00000001v00001AF4",
            "pci:v00008086d0000100Esv00008086sd00000001bc02sc00i00",
        ]);
        // e1000 is not in modules.dep: built in, or not shipped.
        assert_eq!(
            wanted.iter().map(String::as_str).collect::<Vec<_>>(),
            ["virtio_net", "virtio_pci"]
        );
        let order = m.load_order(
            wanted
                .iter()
                .map(String::as_str)
                .chain(["overlay", "bridge"]),
        );
        assert_eq!(
            order,
            [
                "kernel/net/core/failover.ko",
                "kernel/drivers/net/net_failover.ko",
                "kernel/drivers/net/virtio_net.ko",
                "kernel/drivers/virtio/virtio_pci_modern_dev.ko",
                "kernel/drivers/virtio/virtio_pci.ko.xz",
                "kernel/fs/overlayfs/overlay.ko",
            ]
        );
        assert!(m.has("virtio-console") && m.has("virtio_console"));
        assert_eq!(
            name_of("kernel/drivers/char/virtio-console.ko.zst"),
            "virtio_console"
        );
    }

    #[test]
    fn globs_match_as_fnmatch() {
        assert!(glob_match(
            "pci:v00001AF4d*sv*",
            "pci:v00001AF4d00001000sv00001AF4"
        ));
        assert!(!glob_match(
            "pci:v00001AF4d*sv*",
            "pci:v00008086d00001000sv0"
        ));
        assert!(glob_match("a?c", "abc") && !glob_match("a?c", "ac"));
        assert!(glob_match("x[0-9]y", "x5y") && !glob_match("x[0-9]y", "xay"));
        assert!(glob_match("x[!0-9]y", "xay") && !glob_match("x[!0-9]y", "x5y"));
        assert!(glob_match("*", "") && glob_match("a*", "a") && !glob_match("a*b", "a"));
        assert!(glob_match("*d*sv*sd*", "pci:v1d2sv3sd4"));
    }
}
