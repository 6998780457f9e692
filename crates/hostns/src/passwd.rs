//! `/etc/passwd` and `/etc/group`, read by hand.
//!
//! The parsers work on text and do no I/O; [`lookup_user`] and [`user_groups`] read the files.
//! As glibc's `files` backend does, comment lines, NIS compat lines (`+`, `-`) and malformed
//! lines are skipped, so one bad line never locks everybody out; the first valid match wins.

use std::io;
use std::path::{Path, PathBuf};

/// One entry of `/etc/passwd`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    /// The comment field (full name, ...).
    pub gecos: String,
    pub home: String,
    /// Empty in the file means `/bin/sh`: see [`User::shell_or_default`].
    pub shell: String,
}

/// One entry of `/etc/group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// Why one line of a passwd or group file was not an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("expected {expected} fields separated by ':', found {found}")]
    Fields { expected: usize, found: usize },
    #[error("the name is empty")]
    EmptyName,
    #[error("{field} {value:?} is not a number")]
    Number { field: &'static str, value: String },
}

/// Reading the files.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("reading {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("no user {name:?} in {path}")]
    NoSuchUser { name: String, path: PathBuf },
}

impl User {
    /// Parses `name:password:uid:gid:gecos:home:shell`.
    pub fn parse_line(line: &str) -> Result<User, LineError> {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() != 7 {
            return Err(LineError::Fields {
                expected: 7,
                found: fields.len(),
            });
        }
        if fields[0].is_empty() {
            return Err(LineError::EmptyName);
        }
        Ok(User {
            name: fields[0].to_string(),
            uid: number("uid", fields[2])?,
            gid: number("gid", fields[3])?,
            gecos: fields[4].to_string(),
            home: fields[5].to_string(),
            shell: fields[6].to_string(),
        })
    }

    /// The login shell; an empty field means `/bin/sh`, as login(1) has it.
    pub fn shell_or_default(&self) -> &str {
        if self.shell.is_empty() {
            "/bin/sh"
        } else {
            &self.shell
        }
    }
}

impl Group {
    /// Parses `name:password:gid:member,member`.
    pub fn parse_line(line: &str) -> Result<Group, LineError> {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() != 4 {
            return Err(LineError::Fields {
                expected: 4,
                found: fields.len(),
            });
        }
        if fields[0].is_empty() {
            return Err(LineError::EmptyName);
        }
        Ok(Group {
            name: fields[0].to_string(),
            gid: number("gid", fields[2])?,
            members: fields[3]
                .split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(str::to_string)
                .collect(),
        })
    }
}

fn number(field: &'static str, value: &str) -> Result<u32, LineError> {
    // `u32::from_str` takes a leading '+', which no passwd file means.
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(LineError::Number {
            field,
            value: value.to_string(),
        });
    }
    value.parse().map_err(|_| LineError::Number {
        field,
        value: value.to_string(),
    })
}

/// The lines that may hold entries: no comments, blanks or NIS compat lines; CRs dropped.
fn entry_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .filter(|l| !l.trim().is_empty() && !l.starts_with(['#', '+', '-']))
}

/// The first valid entry named `name` in the text of a passwd file.
pub fn find_user(passwd: &str, name: &str) -> Option<User> {
    entry_lines(passwd)
        .filter(|l| l.split(':').next() == Some(name))
        .find_map(|l| User::parse_line(l).ok())
}

/// root as a LinuxKit host without an `/etc/passwd` has it: uid 0, `/root`, `/bin/sh`.
pub fn builtin_root() -> User {
    User {
        name: "root".into(),
        uid: 0,
        gid: 0,
        gecos: "root".into(),
        home: "/root".into(),
        shell: "/bin/sh".into(),
    }
}

/// The first valid entry with this uid in the text of a passwd file.
pub fn find_user_by_uid(passwd: &str, uid: u32) -> Option<User> {
    entry_lines(passwd)
        .filter_map(|l| User::parse_line(l).ok())
        .find(|u| u.uid == uid)
}

/// The groups a login of `user` gets, as initgroups(3) computes them: the primary group
/// first, then every group of the text that lists `user` as a member, each gid once.
pub fn supplementary_groups(group: &str, user: &str, primary: u32) -> Vec<u32> {
    let mut gids = vec![primary];
    for g in entry_lines(group).filter_map(|l| Group::parse_line(l).ok()) {
        if g.members.iter().any(|m| m == user) && !gids.contains(&g.gid) {
            gids.push(g.gid);
        }
    }
    gids
}

fn read(path: &Path) -> Result<String, DbError> {
    std::fs::read_to_string(path).map_err(|source| DbError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads `passwd_path` and finds `name` in it.
pub fn lookup_user(passwd_path: &Path, name: &str) -> Result<User, DbError> {
    find_user(&read(passwd_path)?, name).ok_or_else(|| DbError::NoSuchUser {
        name: name.to_string(),
        path: passwd_path.to_path_buf(),
    })
}

/// Reads `group_path` and computes the groups of `user` (see [`supplementary_groups`]).
/// A missing group file is no error: the user then has the primary group alone.
pub fn user_groups(group_path: &Path, user: &User) -> Result<Vec<u32>, DbError> {
    match std::fs::read_to_string(group_path) {
        Ok(text) => Ok(supplementary_groups(&text, &user.name, user.gid)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(vec![user.gid]),
        Err(source) => Err(DbError::Read {
            path: group_path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "\
# a comment
root:x:0:0:root:/root:/bin/bash
+nisuser::::::
broken:x:12:
bad-uid:x:abc:100::/home/bad:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin

alice:x:1000:1000:Alice Liddell,,,:/home/alice:
alice:x:2000:2000:second alice:/home/other:/bin/false
crlf:x:7:7::/home/crlf:/bin/sh\r
";

    const GROUP: &str = "\
root:x:0:
wheel:x:10:root,alice
audio:x:29:bob, alice
users:x:100:
self:x:1000:alice
broken:x:
";

    #[test]
    fn parses_a_passwd_line() {
        let u = User::parse_line("alice:x:1000:1000:Alice,,,:/home/alice:/bin/zsh").unwrap();
        assert_eq!(
            u,
            User {
                name: "alice".into(),
                uid: 1000,
                gid: 1000,
                gecos: "Alice,,,".into(),
                home: "/home/alice".into(),
                shell: "/bin/zsh".into(),
            }
        );
    }

    #[test]
    fn rejects_bad_passwd_lines() {
        assert_eq!(
            User::parse_line("a:x:1:1"),
            Err(LineError::Fields {
                expected: 7,
                found: 4
            })
        );
        assert_eq!(User::parse_line(":x:1:1:::"), Err(LineError::EmptyName));
        assert!(matches!(
            User::parse_line("a:x:+1:1:::"),
            Err(LineError::Number { field: "uid", .. })
        ));
        assert!(matches!(
            User::parse_line("a:x:1:99999999999:::"),
            Err(LineError::Number { field: "gid", .. })
        ));
    }

    #[test]
    fn finds_users_skipping_junk() {
        let root = find_user(PASSWD, "root").unwrap();
        assert_eq!((root.uid, root.gid, root.home.as_str()), (0, 0, "/root"));
        // The first valid entry wins; an empty shell means /bin/sh.
        let alice = find_user(PASSWD, "alice").unwrap();
        assert_eq!(alice.uid, 1000);
        assert_eq!(alice.gecos, "Alice Liddell,,,");
        assert_eq!(alice.shell_or_default(), "/bin/sh");
        assert_eq!(find_user(PASSWD, "broken"), None);
        assert_eq!(find_user(PASSWD, "bad-uid"), None);
        assert_eq!(find_user(PASSWD, "nisuser"), None);
        assert_eq!(find_user(PASSWD, "+nisuser"), None);
        assert_eq!(find_user(PASSWD, "nobody"), None);
        assert_eq!(find_user(PASSWD, "crlf").unwrap().shell, "/bin/sh");
        assert_eq!(find_user_by_uid(PASSWD, 1).unwrap().name, "daemon");
        assert_eq!(find_user_by_uid(PASSWD, 4242), None);
    }

    #[test]
    fn parses_groups() {
        let g = Group::parse_line("audio:x:29:bob, alice").unwrap();
        assert_eq!(g.members, vec!["bob", "alice"]);
        assert!(Group::parse_line("users:x:100:")
            .unwrap()
            .members
            .is_empty());
        assert!(Group::parse_line("broken:x:").is_err());
    }

    #[test]
    fn supplementary_groups_start_with_the_primary_one() {
        assert_eq!(
            supplementary_groups(GROUP, "alice", 1000),
            vec![1000, 10, 29]
        );
        assert_eq!(supplementary_groups(GROUP, "root", 0), vec![0, 10]);
        assert_eq!(supplementary_groups(GROUP, "nobody", 65534), vec![65534]);
        assert_eq!(supplementary_groups("", "alice", 5), vec![5]);
    }

    #[test]
    fn reads_files() {
        let dir = tempfile::tempdir().unwrap();
        let passwd = dir.path().join("passwd");
        let group = dir.path().join("group");
        std::fs::write(&passwd, PASSWD).unwrap();
        let alice = lookup_user(&passwd, "alice").unwrap();
        // No group file: the primary group alone.
        assert_eq!(user_groups(&group, &alice).unwrap(), vec![1000]);
        std::fs::write(&group, GROUP).unwrap();
        assert_eq!(user_groups(&group, &alice).unwrap(), vec![1000, 10, 29]);
        let err = lookup_user(&passwd, "zed").unwrap_err();
        assert!(matches!(err, DbError::NoSuchUser { .. }), "{err}");
        assert!(err.to_string().contains("zed"));
        let err = lookup_user(&dir.path().join("missing"), "alice").unwrap_err();
        assert!(matches!(err, DbError::Read { .. }), "{err}");
    }
}
