//! Reading the authorized keys at each login, and the decision for an offered key.

use std::net::IpAddr;
use std::path::PathBuf;

use hostns::User;

use super::log::{self, quote, Level};
use crate::{authorize, parse_authorized_keys, ClientAddr, Decision, PublicKey, Refusal};

/// Expands OpenSSH's AuthorizedKeysFile tokens: `%u` user, `%h` home, `%%` a percent sign.
pub fn expand(template: &str, user: &User) -> PathBuf {
    let mut out = String::new();
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('u') => out.push_str(&user.name),
            Some('h') => out.push_str(&user.home),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    PathBuf::from(out)
}

/// Where to read `template` for `user`. A path under the user's home (`%h`) is the host's:
/// read through `/proc/PID/root` when sessions run in PID's namespaces. Other paths are read
/// where the daemon runs, as the image binds them.
pub fn key_file(template: &str, host_pid: Option<u32>, user: &User) -> PathBuf {
    let path = expand(template, user);
    match host_pid {
        Some(pid) if template.contains("%h") => {
            PathBuf::from(format!("/proc/{pid}/root")).join(path.strip_prefix("/").unwrap_or(&path))
        }
        _ => path,
    }
}

/// Reads every file (re-read on each login, so edits apply at once) and decides. The first
/// file whose key allows the login wins; when none does, the most telling refusal is given:
/// a key found but refused over one that is not there at all.
pub fn decide(
    files: &[String],
    host_pid: Option<u32>,
    user: &User,
    offered: &PublicKey,
    client: IpAddr,
) -> Decision {
    let mut refusal: Option<Refusal> = None;
    for template in files {
        let path = key_file(template, host_pid, user);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                log::log(
                    Level::Warn,
                    format_args!(
                        "event=keys-unreadable file={} error={}",
                        quote(&path.display().to_string()),
                        quote(&e.to_string())
                    ),
                );
                continue;
            }
        };
        let parsed = parse_authorized_keys(&text);
        for w in &parsed.warnings {
            log::log(
                Level::Warn,
                format_args!(
                    "event=keys-line-skipped file={} line={} error={}",
                    quote(&path.display().to_string()),
                    w.line,
                    quote(&w.error.to_string())
                ),
            );
        }
        match authorize(&parsed.keys, offered, ClientAddr::from_ip(client)) {
            accept @ Decision::Accept { .. } => return accept,
            Decision::Refuse { reason } => {
                let unknown = |r: &Refusal| matches!(r, Refusal::UnknownKey { .. });
                if refusal
                    .as_ref()
                    .is_none_or(|r| unknown(r) && !unknown(&reason))
                {
                    refusal = Some(reason);
                }
            }
        }
    }
    Decision::Refuse {
        reason: refusal.unwrap_or_else(|| Refusal::UnknownKey {
            fingerprint: crate::authorized_keys::fingerprint(offered),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> User {
        User {
            name: "alice".into(),
            uid: 1000,
            gid: 1000,
            gecos: String::new(),
            home: "/home/alice".into(),
            shell: "/bin/sh".into(),
        }
    }

    #[test]
    fn home_paths_are_the_hosts() {
        let u = alice();
        assert_eq!(
            key_file("%h/.ssh/authorized_keys", Some(1), &u),
            PathBuf::from("/proc/1/root/home/alice/.ssh/authorized_keys")
        );
        assert_eq!(
            key_file("/run/config/ssh/authorized_keys", Some(1), &u),
            PathBuf::from("/run/config/ssh/authorized_keys")
        );
        assert_eq!(key_file("%h/k", None, &u), PathBuf::from("/home/alice/k"));
    }

    #[test]
    fn tokens_expand_as_in_openssh() {
        let u = alice();
        assert_eq!(
            expand("%h/.ssh/authorized_keys", &u),
            PathBuf::from("/home/alice/.ssh/authorized_keys")
        );
        assert_eq!(expand("/etc/keys/%u", &u), PathBuf::from("/etc/keys/alice"));
        assert_eq!(expand("/a/100%%/%x%", &u), PathBuf::from("/a/100%/%x%"));
    }
}
