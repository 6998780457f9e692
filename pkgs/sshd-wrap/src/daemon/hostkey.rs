//! The host key: made on first start (ed25519), kept with mode 0600, reused ever after.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::{bail, Context};
use russh::keys::ssh_key::{Algorithm, HashAlg, LineEnding, PrivateKey};

/// Loads the key at `path`, or makes one and writes it there. Returns the key and whether it
/// is new.
pub fn load_or_create(path: &Path) -> anyhow::Result<(PrivateKey, bool)> {
    match std::fs::metadata(path) {
        Ok(meta) => {
            // As sshd does: a host key others can read is no secret, refuse it.
            if meta.permissions().mode() & 0o077 != 0 {
                bail!(
                    "host key {} is readable by others (mode {:o}); chmod 600 it",
                    path.display(),
                    meta.permissions().mode() & 0o777
                );
            }
            let key = PrivateKey::read_openssh_file(path)
                .with_context(|| format!("reading host key {}", path.display()))?;
            if key.is_encrypted() {
                bail!(
                    "host key {} is encrypted; give an unencrypted key",
                    path.display()
                );
            }
            Ok((key, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = generate()?;
            write_atomically(path, &key)?;
            Ok((key, true))
        }
        Err(e) => Err(e).with_context(|| format!("reading host key {}", path.display())),
    }
}

fn generate() -> anyhow::Result<PrivateKey> {
    PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519)
        .context("generating an ed25519 host key")
}

/// Writes the key to a temp file in the same directory (0600 from the start), syncs it, and
/// renames it into place, so a crash never leaves a half-written key.
fn write_atomically(path: &Path, key: &PrivateKey) -> anyhow::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating host key directory {}", dir.display()))?;
    }
    let text = key
        .to_openssh(LineEnding::LF)
        .context("encoding the host key")?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = dir {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok::<_, std::io::Error>(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing host key {}", path.display()))
}

/// `SHA256:...`, as `ssh-keygen -l` and the client's known_hosts prompt print it.
pub fn fingerprint(key: &PrivateKey) -> String {
    key.public_key().fingerprint(HashAlg::Sha256).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/ssh_host_ed25519_key");
        let (first, new) = load_or_create(&path).unwrap();
        assert!(new);
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let (again, new) = load_or_create(&path).unwrap();
        assert!(!new);
        assert_eq!(fingerprint(&first), fingerprint(&again));
        assert!(fingerprint(&first).starts_with("SHA256:"));
        // No temp file left beside it.
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
    }

    #[test]
    fn a_readable_or_broken_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        load_or_create(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = load_or_create(&path).unwrap_err().to_string();
        assert!(err.contains("readable by others"), "{err}");
        std::fs::write(&path, "not a key").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let err = format!("{:#}", load_or_create(&path).unwrap_err());
        assert!(err.contains("reading host key"), "{err}");
    }
}
