//! The decisions PID 1 makes, without I/O: what the kernel command line asks, which modules a
//! machine's devices need and in which order they load, the host name, the order containers run
//! in, and what a signal to PID 1 means. `main.rs` and its modules do the mounting and running.

pub mod cmdline;
pub mod modules;

/// What a signal sent to PID 1 asks for, as busybox's `poweroff`, `reboot` and `halt` send them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    PowerOff,
    Reboot,
    Halt,
}

impl Shutdown {
    /// SIGUSR2 powers off, SIGTERM and ctrl-alt-del (SIGINT) reboot, SIGUSR1 halts.
    pub fn from_signal(signal: i32) -> Option<Shutdown> {
        match signal {
            libc::SIGUSR2 | libc::SIGPWR => Some(Shutdown::PowerOff),
            libc::SIGTERM | libc::SIGINT => Some(Shutdown::Reboot),
            libc::SIGUSR1 => Some(Shutdown::Halt),
            _ => None,
        }
    }
}

/// The host name: `/etc/hostname`'s first word, else `linuxkit-` and the first interface's MAC
/// without colons, as LinuxKit names its machines.
pub fn hostname(etc_hostname: Option<&str>, first_mac: Option<&str>) -> String {
    if let Some(name) = etc_hostname
        .and_then(|t| t.split_whitespace().next())
        .filter(|n| !n.is_empty())
    {
        return name.to_string();
    }
    match first_mac {
        Some(mac) => format!("linuxkit-{}", mac.trim().replace(':', "")),
        None => "linuxkit".to_string(),
    }
}

/// Container folders in the order they run: by name, so `000-a` before `001-b`.
pub fn run_order(mut names: Vec<String>) -> Vec<String> {
    names.retain(|n| !n.starts_with('.'));
    names.sort();
    names
}

/// The container's name in logs: `001-dhcpcd` -> `dhcpcd`, as LinuxKit's onboot prefix is an index.
pub fn container_name(folder: &str) -> &str {
    match folder.split_once('-') {
        Some((index, rest)) if !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()) => {
            rest
        }
        _ => folder,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostname_from_file_then_mac() {
        assert_eq!(hostname(Some("box\n"), Some("52:54:00:12:34:56")), "box");
        assert_eq!(
            hostname(Some("  \n"), Some("52:54:00:12:34:56\n")),
            "linuxkit-525400123456"
        );
        assert_eq!(hostname(None, None), "linuxkit");
    }

    #[test]
    fn containers_run_in_name_order_and_lose_their_index_in_logs() {
        let order = run_order(vec![
            "001-ntpd".into(),
            ".tmp".into(),
            "000-dhcpcd".into(),
            "010-x".into(),
        ]);
        assert_eq!(order, ["000-dhcpcd", "001-ntpd", "010-x"]);
        assert_eq!(container_name("000-dhcpcd"), "dhcpcd");
        assert_eq!(container_name("sshd"), "sshd");
        assert_eq!(container_name("my-service"), "my-service");
    }

    #[test]
    fn signals_mean_what_busybox_means_by_them() {
        assert_eq!(
            Shutdown::from_signal(libc::SIGUSR2),
            Some(Shutdown::PowerOff)
        );
        assert_eq!(Shutdown::from_signal(libc::SIGTERM), Some(Shutdown::Reboot));
        assert_eq!(Shutdown::from_signal(libc::SIGINT), Some(Shutdown::Reboot));
        assert_eq!(Shutdown::from_signal(libc::SIGUSR1), Some(Shutdown::Halt));
        assert_eq!(Shutdown::from_signal(libc::SIGHUP), None);
    }
}
