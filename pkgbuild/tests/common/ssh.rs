//! OpenSSH's client side for the tests that log in to sshd-wrap: a key, and `ssh` with no user
//! config, that key only and no prompts.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::require;

/// A new ed25519 key without a passphrase at `dir/id_ed25519` (and `.pub`).
pub fn keygen(dir: &Path, comment: &str) -> PathBuf {
    require("ssh-keygen", "openssh-client");
    let key = dir.join("id_ed25519");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success(), "ssh-keygen: {out:?}");
    key
}

/// The options every client here takes, before the destination: `-F /dev/null -i KEY`,
/// IdentitiesOnly, BatchMode, ConnectTimeout and the given host key checking.
pub fn options(key: &Path, host_key_checking: &str, known_hosts: &Path) -> Vec<String> {
    require("ssh", "openssh-client");
    [
        "-F",
        "/dev/null",
        "-i",
        &key.display().to_string(),
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=20",
        "-o",
        &format!("StrictHostKeyChecking={host_key_checking}"),
        "-o",
        &format!("UserKnownHostsFile={}", known_hosts.display()),
    ]
    .map(String::from)
    .to_vec()
}

/// A crypt(3) hash made by libxcrypt (`mkpasswd -m METHOD`), as a user makes a shadow file's.
pub fn mkpasswd(method: &str, password: &str) -> String {
    require("mkpasswd", "whois");
    let out = Command::new("mkpasswd")
        .args(["-m", method, password])
        .output()
        .unwrap();
    assert!(out.status.success(), "mkpasswd: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}
