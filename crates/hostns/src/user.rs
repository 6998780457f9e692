//! Becoming a user: groups, gid, uid, working directory and the login environment.

use nix::errno::Errno;
use nix::unistd::{self, Gid, Uid};

use crate::passwd::User;

/// PATH in a login environment.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A step of [`drop_privileges`] that failed.
#[derive(Debug, thiserror::Error)]
pub enum DropError {
    #[error("setgroups({groups:?}): {source}")]
    SetGroups { groups: Vec<u32>, source: Errno },
    #[error("setgid({gid}): {source}")]
    SetGid { gid: u32, source: Errno },
    #[error("setuid({uid}): {source}")]
    SetUid { uid: u32, source: Errno },
    #[error("still privileged after setuid({uid}): uid {real}, euid {effective}")]
    StillPrivileged { uid: u32, real: u32, effective: u32 },
}

/// Sets the supplementary groups, then the gid, then the uid, in that order: once the uid is
/// dropped the others can no longer be changed. Real, effective and saved ids all change.
///
/// `groups` is the full list (see [`crate::supplementary_groups`], which puts the primary
/// group first).
pub fn drop_privileges(uid: u32, gid: u32, groups: &[u32]) -> Result<(), DropError> {
    let gids: Vec<Gid> = groups.iter().copied().map(Gid::from_raw).collect();
    unistd::setgroups(&gids).map_err(|source| DropError::SetGroups {
        groups: groups.to_vec(),
        source,
    })?;
    unistd::setgid(Gid::from_raw(gid)).map_err(|source| DropError::SetGid { gid, source })?;
    unistd::setuid(Uid::from_raw(uid)).map_err(|source| DropError::SetUid { uid, source })?;
    // Belt and braces: a setuid that "worked" but left us privileged must not run a shell.
    let (real, effective) = (unistd::getuid().as_raw(), unistd::geteuid().as_raw());
    if real != uid || effective != uid {
        return Err(DropError::StillPrivileged {
            uid,
            real,
            effective,
        });
    }
    Ok(())
}

/// Changes to `home`, or to `/` when that fails (as login(1) does). Returns the directory
/// entered, which belongs in `HOME`. Call it after [`drop_privileges`], so that the check is
/// made with the user's rights.
pub fn chdir_home(home: &str) -> Result<&str, Errno> {
    if !home.is_empty() && unistd::chdir(home).is_ok() {
        return Ok(home);
    }
    unistd::chdir("/")?;
    Ok("/")
}

/// The environment of a login shell, and nothing else: HOME, SHELL, USER, LOGNAME, TERM, PATH.
/// `home` is the directory [`chdir_home`] entered.
pub fn login_env(user: &User, home: &str, term: &str) -> Vec<(String, String)> {
    vec![
        ("HOME".into(), home.into()),
        ("SHELL".into(), user.shell_or_default().into()),
        ("USER".into(), user.name.clone()),
        ("LOGNAME".into(), user.name.clone()),
        ("TERM".into(), term.into()),
        ("PATH".into(), DEFAULT_PATH.into()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_login_environment() {
        let user = User {
            name: "alice".into(),
            uid: 1000,
            gid: 1000,
            gecos: String::new(),
            home: "/home/alice".into(),
            shell: String::new(),
        };
        let env = login_env(&user, "/", "vt100");
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("HOME"), Some("/"));
        assert_eq!(get("SHELL"), Some("/bin/sh"));
        assert_eq!(get("USER"), Some("alice"));
        assert_eq!(get("LOGNAME"), Some("alice"));
        assert_eq!(get("TERM"), Some("vt100"));
        assert_eq!(get("PATH"), Some(DEFAULT_PATH));
        assert_eq!(env.len(), 6);
    }

    #[test]
    fn errors_name_the_step() {
        let e = DropError::SetGid {
            gid: 7,
            source: Errno::EPERM,
        };
        assert!(e.to_string().starts_with("setgid(7)"), "{e}");
    }
}
