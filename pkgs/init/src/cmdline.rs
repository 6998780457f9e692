//! The kernel command line, as far as init reads it.

/// What init takes from /proc/cmdline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmdline {
    /// cgroup v2 on /sys/fs/cgroup, unless `linuxkit.unified_cgroup_hierarchy=0`.
    pub unified_cgroups: bool,
    /// `console=` devices, last one first as the kernel makes it /dev/console.
    pub consoles: Vec<String>,
}

pub fn parse(text: &str) -> Cmdline {
    let mut cmdline = Cmdline {
        unified_cgroups: true,
        consoles: Vec::new(),
    };
    for word in text.split_whitespace() {
        let (key, value) = word.split_once('=').unwrap_or((word, ""));
        match key {
            "linuxkit.unified_cgroup_hierarchy" => {
                cmdline.unified_cgroups = !matches!(value, "0" | "false" | "no")
            }
            "console" => {
                // console=ttyS0,115200n8: the device is before the comma.
                let device = value.split(',').next().unwrap_or_default();
                if !device.is_empty() {
                    cmdline.consoles.push(device.to_string());
                }
            }
            _ => {}
        }
    }
    cmdline
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_hierarchy_and_consoles() {
        let c = parse("console=tty0 console=ttyS0,115200n8 root=/dev/sda quiet\n");
        assert!(c.unified_cgroups);
        assert_eq!(c.consoles, ["tty0", "ttyS0"]);
        let c = parse("linuxkit.unified_cgroup_hierarchy=0 console=");
        assert!(!c.unified_cgroups);
        assert!(c.consoles.is_empty());
        assert!(parse("linuxkit.unified_cgroup_hierarchy=1").unified_cgroups);
    }
}
