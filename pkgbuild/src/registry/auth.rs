//! Credentials from Docker's `config.json` and its credential helpers, and `WWW-Authenticate`
//! challenges.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;

use super::reference::DOCKER_HUB;

/// A user name and a password (or a personal access token).
pub type Credentials = (String, String);

/// What a registry asks for in a `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// Parses the first challenge of a `WWW-Authenticate` value; `None` for an unknown scheme.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, params) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let params = parse_params(params);
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.clone())
    };
    Some(Challenge::Bearer {
        realm: get("realm")?,
        service: get("service"),
        scope: get("scope"),
    })
}

/// `key="quoted, value",key=token,...`: quoted values may hold commas (`pull,push`).
fn parse_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=')).collect();
        if chars.next() != Some('=') {
            return out;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => value.extend(chars.next()),
                    c => value.push(c),
                }
            }
        } else {
            value = std::iter::from_fn(|| chars.next_if(|c| *c != ',')).collect();
        }
        out.push((key.trim().to_string(), value.trim().to_string()));
    }
}

/// `config.json`: the explicit path, else `$DOCKER_CONFIG/config.json`, else
/// `~/.docker/config.json`.
pub fn docker_config_path(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = explicit {
        return Some(path.to_path_buf());
    }
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker/config.json"))
}

/// The names a host goes by in `config.json`: Docker Hub is stored under its v1 index URL.
fn config_names(host: &str) -> Vec<&str> {
    if host == DOCKER_HUB {
        vec![DOCKER_HUB, "index.docker.io", "docker.io"]
    } else {
        vec![host]
    }
}

/// `https://host/v1/` -> `host`, as Docker normalizes the keys of `auths`.
fn key_host(key: &str) -> &str {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    key.split('/').next().unwrap_or(key)
}

/// Looks up `host` in `config.json`, in Docker's order: `credHelpers.<host>`, then
/// `credsStore`, then `auths.<host>`. A missing file means no credentials.
pub fn lookup(config: &Path, host: &str) -> Result<Option<Credentials>, String> {
    let text = match std::fs::read_to_string(config) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", config.display())),
    };
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", config.display()))?;
    let names = config_names(host);
    let find = |table: &str| {
        json.get(table)?
            .as_object()?
            .iter()
            .find(|(k, _)| names.contains(&key_host(k)))
            .map(|(_, v)| v.clone())
    };
    let server = if host == DOCKER_HUB {
        "https://index.docker.io/v1/"
    } else {
        host
    };
    if let Some(helper) = find("credHelpers").and_then(|v| v.as_str().map(str::to_string)) {
        return run_helper(&helper, server);
    }
    if let Some(store) = json.get("credsStore").and_then(|v| v.as_str()) {
        if let Some(creds) = run_helper(store, server)? {
            return Ok(Some(creds));
        }
    }
    let Some(entry) = find("auths") else {
        return Ok(None);
    };
    if let Some(auth) = entry.get("auth").and_then(|v| v.as_str()) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|e| format!("{}: auths.{host}.auth is not base64: {e}", config.display()))?;
        let text = String::from_utf8(decoded)
            .map_err(|_| format!("{}: auths.{host}.auth is not UTF-8", config.display()))?;
        let (user, pass) = text.split_once(':').ok_or_else(|| {
            format!(
                "{}: auths.{host}.auth is not user:password",
                config.display()
            )
        })?;
        return Ok(Some((user.to_string(), pass.to_string())));
    }
    let field = |k: &str| entry.get(k).and_then(|v| v.as_str()).map(str::to_string);
    Ok(field("username").zip(field("password")))
}

/// Runs `docker-credential-<name> get` with the server on stdin.
fn run_helper(name: &str, server: &str) -> Result<Option<Credentials>, String> {
    let program = format!("docker-credential-{name}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{program} (named in config.json): {e}"))?;
    // A helper that exits without reading makes this write fail; its exit status tells why.
    let _ = child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(server.as_bytes());
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{program}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        // The helpers' protocol says so for a server they hold nothing for.
        if stdout.contains("credentials not found") {
            return Ok(None);
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "{program} get {server}: {} {}",
            out.status,
            format!("{stdout} {stderr}").trim()
        ));
    }
    let json: serde_json::Value = serde_json::from_str(&stdout)
        .map_err(|e| format!("{program} get {server}: bad JSON: {e}"))?;
    let user = json.get("Username").and_then(|v| v.as_str()).unwrap_or("");
    let secret = json.get("Secret").and_then(|v| v.as_str()).unwrap_or("");
    if user == "<token>" {
        return Err(format!(
            "{program} get {server}: holds an identity token, which this client does not support; \
             log in with a user name and password or access token"
        ));
    }
    Ok(Some((user.to_string(), secret.to_string())))
}

pub fn basic_header((user, pass): &Credentials) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    format!("Basic {encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull,push""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("reg".into()),
                scope: Some("repository:a/b:pull,push".into()),
            })
        );
        assert_eq!(
            parse_challenge("bearer realm=http://x/t"),
            Some(Challenge::Bearer {
                realm: "http://x/t".into(),
                service: None,
                scope: None
            })
        );
        assert_eq!(parse_challenge("Bearer service=x"), None);
        assert_eq!(parse_challenge("Negotiate"), None);
    }

    #[test]
    fn auths_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        // "alice:s3:cret" in base64: the password may hold a colon.
        std::fs::write(
            &path,
            r#"{"auths":{"https://127.0.0.1:5000/v1/":{"auth":"YWxpY2U6czM6Y3JldA=="},
                "https://index.docker.io/v1/":{"username":"bob","password":"pw"}}}"#,
        )
        .unwrap();
        assert_eq!(
            lookup(&path, "127.0.0.1:5000").unwrap(),
            Some(("alice".into(), "s3:cret".into()))
        );
        assert_eq!(
            lookup(&path, DOCKER_HUB).unwrap(),
            Some(("bob".into(), "pw".into()))
        );
        assert_eq!(lookup(&path, "127.0.0.1:5001").unwrap(), None);
        assert_eq!(lookup(&dir.path().join("none.json"), "x").unwrap(), None);
        std::fs::write(&path, "{").unwrap();
        assert!(lookup(&path, "x").is_err());
    }

    #[test]
    fn missing_helper_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, r#"{"credHelpers":{"r.example":"nonexistent-xyz"}}"#).unwrap();
        let err = lookup(&path, "r.example").unwrap_err();
        assert!(err.contains("docker-credential-nonexistent-xyz"), "{err}");
        assert_eq!(lookup(&path, "other.example").unwrap(), None);
    }
}
