//! Which key options we enforce, and the decision for an offered key.
//!
//! An option we do not enforce refuses its key: a key written with `permitopen=` or
//! `environment=` was meant to be limited, and accepting it without the limit would grant
//! more than its owner wrote. Options that only forbid what this daemon never does (agent
//! and X11 forwarding, `~/.ssh/rc`) are accepted as no-ops.

use std::net::IpAddr;

use ssh_key::PublicKey;

use crate::authorized_keys::{fingerprint, AuthorizedKey, KeyOption};
use crate::pattern::{match_host_and_ip, PatternError};

/// Where a client connects from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr<'a> {
    pub ip: IpAddr,
    /// Its verified host name, if the daemon looks names up; None uses the address instead.
    pub host: Option<&'a str>,
}

impl ClientAddr<'_> {
    pub fn from_ip(ip: IpAddr) -> ClientAddr<'static> {
        ClientAddr { ip, host: None }
    }
}

/// What the daemon may do for an accepted key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Accept {
        /// Fingerprint of the key that matched, for the log line.
        fingerprint: String,
        /// The line of `authorized_keys` that matched.
        line: usize,
        /// `command="..."`: run this instead of whatever the client asks for.
        forced_command: Option<String>,
        pty_allowed: bool,
        port_forwarding_allowed: bool,
    },
    Refuse {
        reason: Refusal,
    },
}

/// Why a key was refused; its Display is meant for a log line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("key {fingerprint} is not in authorized_keys")]
    UnknownKey { fingerprint: String },
    #[error(
        "key {fingerprint} (line {line}): option {option:?} is not supported, we do not enforce it"
    )]
    UnsupportedOption {
        fingerprint: String,
        line: usize,
        option: String,
    },
    #[error("key {fingerprint} (line {line}): option {option:?} needs a value")]
    MissingValue {
        fingerprint: String,
        line: usize,
        option: String,
    },
    #[error("key {fingerprint} (line {line}): option {option:?} takes no value")]
    UnexpectedValue {
        fingerprint: String,
        line: usize,
        option: String,
    },
    #[error("key {fingerprint} (line {line}): option {option:?} given twice")]
    Duplicate {
        fingerprint: String,
        line: usize,
        option: String,
    },
    #[error("key {fingerprint} (line {line}): from={pattern:?}: {error}")]
    BadPattern {
        fingerprint: String,
        line: usize,
        pattern: String,
        error: PatternError,
    },
    #[error("key {fingerprint} (line {line}): client {client} does not match from={pattern:?}")]
    FromMismatch {
        fingerprint: String,
        line: usize,
        client: String,
        pattern: String,
    },
}

/// The permissions a line's options give, before `from=` is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Permissions {
    forced_command: Option<String>,
    from: Option<String>,
    pty: bool,
    port_forwarding: bool,
}

/// Options that only forbid (or, after `restrict`, allow) what this daemon never does.
const NO_OPS: &[&str] = &[
    "no-agent-forwarding",
    "agent-forwarding",
    "no-x11-forwarding",
    "x11-forwarding",
    "no-user-rc",
    "user-rc",
];

/// Reads a line's options in order, as sshd does: a later flag overrides an earlier one, so
/// `restrict,pty` allows a pty and `pty,restrict` does not.
fn permissions(key: &AuthorizedKey) -> Result<Permissions, Refusal> {
    let fp = || key.fingerprint();
    let mut p = Permissions {
        forced_command: None,
        from: None,
        pty: true,
        port_forwarding: true,
    };
    for KeyOption { name, value } in &key.options {
        let option = || name.clone();
        let flag = |value: &Option<String>| match value {
            None => Ok(()),
            Some(_) => Err(Refusal::UnexpectedValue {
                fingerprint: fp(),
                line: key.line,
                option: option(),
            }),
        };
        let string = |slot: &Option<String>| match (slot, value) {
            (Some(_), _) => Err(Refusal::Duplicate {
                fingerprint: fp(),
                line: key.line,
                option: option(),
            }),
            (None, Some(v)) => Ok(Some(v.clone())),
            (None, None) => Err(Refusal::MissingValue {
                fingerprint: fp(),
                line: key.line,
                option: option(),
            }),
        };
        match name.as_str() {
            "restrict" => {
                flag(value)?;
                p.pty = false;
                p.port_forwarding = false;
            }
            "pty" | "no-pty" => {
                flag(value)?;
                p.pty = name == "pty";
            }
            "port-forwarding" | "no-port-forwarding" => {
                flag(value)?;
                p.port_forwarding = name == "port-forwarding";
            }
            n if NO_OPS.contains(&n) => flag(value)?,
            "command" => p.forced_command = string(&p.forced_command)?,
            "from" => p.from = string(&p.from)?,
            _ => {
                return Err(Refusal::UnsupportedOption {
                    fingerprint: fp(),
                    line: key.line,
                    option: option(),
                })
            }
        }
    }
    Ok(p)
}

/// Decides whether `offered` may log in from `client`. Every line with the same key is tried
/// in file order, as sshd does; the first one whose options allow it wins. If none does, the
/// first line's reason is given.
pub fn authorize(keys: &[AuthorizedKey], offered: &PublicKey, client: ClientAddr) -> Decision {
    let mut first_refusal = None;
    // Compare the key material only: the comment is not part of the key.
    for key in keys
        .iter()
        .filter(|k| k.key.key_data() == offered.key_data())
    {
        match check(key, client) {
            Ok(decision) => return decision,
            Err(reason) => {
                first_refusal.get_or_insert(reason);
            }
        }
    }
    Decision::Refuse {
        reason: first_refusal.unwrap_or_else(|| Refusal::UnknownKey {
            fingerprint: fingerprint(offered),
        }),
    }
}

fn check(key: &AuthorizedKey, client: ClientAddr) -> Result<Decision, Refusal> {
    let p = permissions(key)?;
    if let Some(pattern) = &p.from {
        let matched = match_host_and_ip(client.host, client.ip, pattern).map_err(|error| {
            Refusal::BadPattern {
                fingerprint: key.fingerprint(),
                line: key.line,
                pattern: pattern.clone(),
                error,
            }
        })?;
        if !matched {
            let client = match client.host {
                Some(h) => format!("{h} [{}]", client.ip),
                None => client.ip.to_string(),
            };
            return Err(Refusal::FromMismatch {
                fingerprint: key.fingerprint(),
                line: key.line,
                client,
                pattern: pattern.clone(),
            });
        }
    }
    Ok(Decision::Accept {
        fingerprint: key.fingerprint(),
        line: key.line,
        forced_command: p.forced_command,
        pty_allowed: p.pty,
        port_forwarding_allowed: p.port_forwarding,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorized_keys::parse_authorized_keys;
    use crate::authorized_keys::tests::{ED25519, ED25519_FP, P256, RSA};

    fn keys(text: &str) -> Vec<AuthorizedKey> {
        let p = parse_authorized_keys(text);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        p.keys
    }

    fn pk(line: &str) -> PublicKey {
        PublicKey::from_openssh(line).unwrap()
    }

    fn local() -> ClientAddr<'static> {
        ClientAddr::from_ip("10.0.0.7".parse().unwrap())
    }

    fn accept(cmd: Option<&str>, pty: bool, fwd: bool, line: usize) -> Decision {
        Decision::Accept {
            fingerprint: ED25519_FP.into(),
            line,
            forced_command: cmd.map(Into::into),
            pty_allowed: pty,
            port_forwarding_allowed: fwd,
        }
    }

    fn decide(options: &str, client: ClientAddr) -> Decision {
        let text = format!("{options} {ED25519}");
        authorize(&keys(text.trim_start()), &pk(ED25519), client)
    }

    fn reason(d: Decision) -> Refusal {
        match d {
            Decision::Refuse { reason } => reason,
            d => panic!("accepted: {d:?}"),
        }
    }

    #[test]
    fn plain_key_is_accepted_with_everything() {
        assert_eq!(decide("", local()), accept(None, true, true, 1));
    }

    #[test]
    fn unknown_key_is_refused() {
        let ks = keys(&format!("{RSA}\n{P256}\n"));
        let r = reason(authorize(&ks, &pk(ED25519), local()));
        assert_eq!(
            r,
            Refusal::UnknownKey {
                fingerprint: ED25519_FP.into()
            }
        );
        assert!(r.to_string().contains(ED25519_FP));
    }

    #[test]
    fn comment_does_not_matter() {
        let ks = keys(&format!("{ED25519}\n"));
        let offered = pk(&ED25519.replace("ed25519@test", "other"));
        assert!(matches!(
            authorize(&ks, &offered, local()),
            Decision::Accept { .. }
        ));
    }

    #[test]
    fn restrict_and_pty() {
        assert_eq!(decide("restrict", local()), accept(None, false, false, 1));
        assert_eq!(
            decide("restrict,pty", local()),
            accept(None, true, false, 1)
        );
        assert_eq!(
            decide("pty,restrict", local()),
            accept(None, false, false, 1)
        );
        assert_eq!(
            decide("restrict,port-forwarding", local()),
            accept(None, false, true, 1)
        );
        assert_eq!(decide("no-pty", local()), accept(None, false, true, 1));
        assert_eq!(decide("no-pty,pty", local()), accept(None, true, true, 1));
        assert_eq!(
            decide("no-port-forwarding", local()),
            accept(None, true, false, 1)
        );
        assert_eq!(
            decide("no-agent-forwarding,no-X11-forwarding,no-user-rc", local()),
            accept(None, true, true, 1)
        );
    }

    #[test]
    fn forced_command() {
        assert_eq!(
            decide(r#"restrict,command="echo \"hi, there\"""#, local()),
            accept(Some(r#"echo "hi, there""#), false, false, 1)
        );
        assert!(matches!(
            reason(decide(r#"command="a",command="b""#, local())),
            Refusal::Duplicate { option, .. } if option == "command"
        ));
        assert!(matches!(
            reason(decide("command", local())),
            Refusal::MissingValue { option, .. } if option == "command"
        ));
        assert!(matches!(
            reason(decide(r#"no-pty="x""#, local())),
            Refusal::UnexpectedValue { option, .. } if option == "no-pty"
        ));
    }

    #[test]
    fn unknown_options_refuse_the_key() {
        for (opts, name) in [
            (r#"environment="A=b""#, "environment"),
            (r#"permitopen="host:22""#, "permitopen"),
            (r#"permitlisten="8080""#, "permitlisten"),
            (r#"tunnel="0""#, "tunnel"),
            (r#"principals="root""#, "principals"),
            ("cert-authority", "cert-authority"),
            (r#"expiry-time="20300101""#, "expiry-time"),
            ("no-touch-required", "no-touch-required"),
            ("restrict,Frobnicate", "frobnicate"),
        ] {
            let r = reason(decide(opts, local()));
            assert!(
                matches!(&r, Refusal::UnsupportedOption { option, line: 1, .. } if option == name),
                "{opts}: {r:?}"
            );
            let shown = r.to_string();
            assert!(
                shown.contains(name) && shown.contains("we do not enforce it"),
                "{shown}"
            );
        }
    }

    #[test]
    fn from_is_enforced() {
        let opts = r#"from="10.0.0.0/8,!10.0.0.66,*.trusted.example""#;
        assert!(matches!(decide(opts, local()), Decision::Accept { .. }));
        let bad = ClientAddr::from_ip("10.0.0.66".parse().unwrap());
        let r = reason(decide(opts, bad));
        assert!(matches!(r, Refusal::FromMismatch { .. }));
        assert!(r.to_string().contains("10.0.0.66"), "{r}");
        let outside = ClientAddr::from_ip("192.0.2.1".parse().unwrap());
        assert!(matches!(
            reason(decide(opts, outside)),
            Refusal::FromMismatch { .. }
        ));
        let named = ClientAddr {
            ip: "192.0.2.1".parse().unwrap(),
            host: Some("box.trusted.example"),
        };
        assert!(matches!(decide(opts, named), Decision::Accept { .. }));
        let v6 = ClientAddr::from_ip("::1".parse().unwrap());
        assert!(matches!(
            decide(r#"from="::1/128""#, v6),
            Decision::Accept { .. }
        ));
        assert!(matches!(
            reason(decide(r#"from="10.0.0.1/8""#, local())),
            Refusal::BadPattern { .. }
        ));
        assert!(matches!(
            reason(decide(r#"from="a",from="b""#, local())),
            Refusal::Duplicate { .. }
        ));
    }

    #[test]
    fn later_lines_for_the_same_key_are_tried() {
        let text = format!(
            "from=\"192.0.2.0/24\" {ED25519}\npermitopen=\"x:1\" {ED25519}\nrestrict {ED25519}\n"
        );
        let ks = keys(&text);
        assert_eq!(
            authorize(&ks, &pk(ED25519), local()),
            accept(None, false, false, 3)
        );
        // Without the last line, the first line's reason is given.
        let r = reason(authorize(&ks[..2], &pk(ED25519), local()));
        assert!(matches!(r, Refusal::FromMismatch { line: 1, .. }), "{r:?}");
    }
}
