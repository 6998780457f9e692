//! Registry errors: each names the registry, the repository, the operation and the status.

use std::fmt;

/// Where a request failed: `registry HOST repository NAME: OP`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct At {
    pub registry: String,
    pub repository: String,
    /// What was being done, e.g. `PUT manifest v1` or `HEAD blob sha256:...`.
    pub op: String,
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "registry {} repository {}: {}",
            self.registry, self.repository, self.op
        )
    }
}

/// An HTTP status with what the registry said about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub code: u16,
    /// The distribution-spec `errors` of the body (`CODE: message; ...`), or the start of a
    /// body that is not such JSON; empty when there was no body.
    pub message: String,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason = ureq::http::StatusCode::from_u16(self.code)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        write!(f, "{}", self.code)?;
        if !reason.is_empty() {
            write!(f, " {reason}")?;
        }
        if !self.message.is_empty() {
            write!(f, " ({})", self.message)?;
        }
        Ok(())
    }
}

impl Status {
    /// Reads the distribution-spec error body, `{"errors":[{"code","message","detail"}]}`.
    pub fn from_body(code: u16, body: &[u8]) -> Status {
        let errors = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("errors")?.as_array().cloned())
            .unwrap_or_default();
        let parts: Vec<String> = errors
            .iter()
            .map(|e| {
                let field = |k: &str| e.get(k).and_then(|v| v.as_str()).unwrap_or("");
                match (field("code"), field("message")) {
                    (c, "") => c.to_string(),
                    ("", m) => m.to_string(),
                    (c, m) => format!("{c}: {m}"),
                }
            })
            .filter(|s| !s.is_empty())
            .collect();
        let message = if parts.is_empty() {
            // Not the spec's JSON (a proxy's page, "404 page not found"): keep one short line.
            let text = String::from_utf8_lossy(body);
            let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
            line.chars().take(200).collect()
        } else {
            parts.join("; ")
        };
        Status { code, message }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("invalid reference {input:?}: {reason}")]
    BadReference { input: String, reason: String },
    /// 401: no credentials, or wrong ones.
    #[error("{at}: {status}")]
    Unauthorized { at: At, status: Status },
    /// 403: the credentials lack the permission.
    #[error("{at}: {status}")]
    Forbidden { at: At, status: Status },
    /// 404 where the operation needs the thing to exist.
    #[error("{at}: {status}")]
    NotFound { at: At, status: Status },
    /// 5xx.
    #[error("{at}: {status}")]
    Server { at: At, status: Status },
    /// Any other unexpected status (400, 405, 429, ...).
    #[error("{at}: {status}")]
    Status { at: At, status: Status },
    /// No HTTP answer: connection refused or reset, timeout, TLS, DNS.
    #[error("{at}: {source}")]
    Transport {
        at: At,
        #[source]
        source: Box<ureq::Error>,
    },
    /// Content whose sha256 is not the digest it was sent or received under.
    #[error("{at}: digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        at: At,
        expected: String,
        actual: String,
    },
    /// An answer that breaks the protocol (no Location, bad JSON, ...).
    #[error("{at}: {message}")]
    Protocol { at: At, message: String },
    #[error("credentials for registry {registry}: {message}")]
    Credentials { registry: String, message: String },
}

impl RegistryError {
    /// The error for an unexpected status, by kind.
    pub fn from_status(at: At, status: Status) -> RegistryError {
        match status.code {
            401 => RegistryError::Unauthorized { at, status },
            403 => RegistryError::Forbidden { at, status },
            404 => RegistryError::NotFound { at, status },
            500..=599 => RegistryError::Server { at, status },
            _ => RegistryError::Status { at, status },
        }
    }

    /// The HTTP status, when the registry answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            RegistryError::Unauthorized { status, .. }
            | RegistryError::Forbidden { status, .. }
            | RegistryError::NotFound { status, .. }
            | RegistryError::Server { status, .. }
            | RegistryError::Status { status, .. } => Some(status.code),
            _ => None,
        }
    }

    /// Worth another try: 5xx but 501 (which will not change), 408, 429, and transport
    /// failures that a new connection may not meet (reset, refused, timeout).
    pub fn is_transient(&self) -> bool {
        match self {
            RegistryError::Server { status, .. } => status.code != 501,
            RegistryError::Status { status, .. } => matches!(status.code, 408 | 429),
            RegistryError::Transport { source, .. } => match source.as_ref() {
                ureq::Error::Timeout(_) | ureq::Error::ConnectionFailed => true,
                ureq::Error::Io(e) => {
                    use std::io::ErrorKind::*;
                    matches!(
                        e.kind(),
                        ConnectionReset
                            | ConnectionAborted
                            | ConnectionRefused
                            | BrokenPipe
                            | UnexpectedEof
                            | TimedOut
                            | Interrupted
                            | NotConnected
                            | WouldBlock
                    )
                }
                _ => false,
            },
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> At {
        At {
            registry: "127.0.0.1:5000".into(),
            repository: "linuxkit/dhcpcd".into(),
            op: "PUT manifest v1".into(),
        }
    }

    #[test]
    fn message_names_host_repository_status_and_code() {
        let body = br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}"#;
        let e = RegistryError::from_status(at(), Status::from_body(401, body));
        assert!(matches!(e, RegistryError::Unauthorized { .. }));
        assert_eq!(
            e.to_string(),
            "registry 127.0.0.1:5000 repository linuxkit/dhcpcd: PUT manifest v1: \
             401 Unauthorized (UNAUTHORIZED: authentication required)"
        );
        let e = RegistryError::from_status(at(), Status::from_body(404, b"404 page not found\n"));
        assert!(e
            .to_string()
            .ends_with("404 Not Found (404 page not found)"));
        let e = RegistryError::from_status(at(), Status::from_body(503, b""));
        assert!(e.to_string().ends_with(": 503 Service Unavailable"));
    }

    #[test]
    fn transient_kinds() {
        let s = |code| RegistryError::from_status(at(), Status::from_body(code, b""));
        assert!(s(500).is_transient());
        assert!(s(503).is_transient());
        assert!(s(429).is_transient());
        assert!(!s(501).is_transient());
        assert!(!s(400).is_transient());
        assert!(!s(401).is_transient());
        assert!(!s(404).is_transient());
        let io = |kind| RegistryError::Transport {
            at: at(),
            source: Box::new(ureq::Error::Io(std::io::Error::from(kind))),
        };
        assert!(io(std::io::ErrorKind::ConnectionReset).is_transient());
        assert!(!io(std::io::ErrorKind::PermissionDenied).is_transient());
    }
}
