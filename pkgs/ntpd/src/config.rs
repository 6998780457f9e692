//! The config file: openntpd's `server` and `servers` keywords and ntpd's
//! `pool`, one per line, `#` starts a comment.
//!
//! ```text
//! servers pool.ntp.org        # every address of the name
//! server ntp.example.com      # one address of the name
//! pool 2.debian.pool.ntp.org  # every address, re-resolved for replacements
//! server 192.0.2.1 port 10123 # chrony's port option; also 192.0.2.1:10123
//! ```
//!
//! Options openntpd and ntpd users write (`weight N`, `trusted`, `iburst`,
//! `prefer`, `minpoll N`, `maxpoll N`) are accepted and ignored. Keywords of a
//! server (`listen`, `sensor`, `constraint`, ...) and unknown keywords are
//! warnings, so a config written for openntpd or ntpd still loads; a bad
//! value for a keyword we use is an error that names the line.

use std::net::{IpAddr, SocketAddr};

use thiserror::Error;

pub const NTP_PORT: u16 = 123;

/// How a name's addresses become sources.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `server`: one address of the name.
    Server,
    /// `servers`: every address of the name.
    Servers,
    /// `pool`: every address, and the name is resolved again to replace sources that fail.
    Pool,
}

impl Kind {
    pub fn keyword(self) -> &'static str {
        match self {
            Kind::Server => "server",
            Kind::Servers => "servers",
            Kind::Pool => "pool",
        }
    }
}

/// An address or a name still to resolve.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Host {
    Ip(IpAddr),
    Name(String),
}

/// One server, pool or address from the config or the flags.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServerSpec {
    pub kind: Kind,
    pub host: Host,
    pub port: u16,
}

impl ServerSpec {
    /// Parses `HOST`, `HOST:PORT`, `[V6]:PORT` or a bare IPv6 address.
    pub fn parse(kind: Kind, s: &str) -> Result<ServerSpec, String> {
        let bad = || format!("{s:?} is not a host name or address");
        if s.is_empty() {
            return Err(bad());
        }
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(ServerSpec {
                kind,
                host: Host::Ip(ip),
                port: NTP_PORT,
            });
        }
        if let Ok(sa) = s.parse::<SocketAddr>() {
            return Ok(ServerSpec {
                kind,
                host: Host::Ip(sa.ip()),
                port: sa.port(),
            });
        }
        let (name, port) = match s.rsplit_once(':') {
            Some((n, p)) => (n, parse_port(p)?),
            None => (s, NTP_PORT),
        };
        if !valid_name(name) {
            return Err(bad());
        }
        Ok(ServerSpec {
            kind,
            host: Host::Name(name.trim_end_matches('.').to_ascii_lowercase()),
            port,
        })
    }

    /// `HOST:PORT` for logs.
    pub fn display(&self) -> String {
        match &self.host {
            Host::Ip(ip) => SocketAddr::new(*ip, self.port).to_string(),
            Host::Name(n) if self.port == NTP_PORT => n.clone(),
            Host::Name(n) => format!("{n}:{}", self.port),
        }
    }
}

fn parse_port(p: &str) -> Result<u16, String> {
    match p.parse::<u16>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{p:?} is not a port")),
    }
}

/// A DNS name: labels of letters, digits, `-` and `_`, up to 253 characters.
fn valid_name(n: &str) -> bool {
    let n = n.strip_suffix('.').unwrap_or(n);
    !n.is_empty()
        && n.len() <= 253
        && n.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        })
}

/// A line we did not use, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    pub line: usize,
    pub message: String,
}

#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("line {line}: {message}")]
pub struct ConfigError {
    pub line: usize,
    pub message: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    pub servers: Vec<ServerSpec>,
    pub warnings: Vec<Warning>,
}

impl Config {
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let mut cfg = Config::default();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let content = raw.split('#').next().unwrap_or("");
            let mut words = content.split_whitespace();
            let Some(keyword) = words.next() else {
                continue;
            };
            let kind = match keyword {
                "server" => Kind::Server,
                "servers" => Kind::Servers,
                "pool" => Kind::Pool,
                "listen" | "sensor" | "constraint" | "constraints" | "query" | "rtable"
                | "driftfile" | "restrict" | "tinker" | "logfile" | "statsdir" | "leapfile" => {
                    cfg.warnings.push(Warning {
                        line,
                        message: format!("{keyword:?} is not used by this client, ignored"),
                    });
                    continue;
                }
                other => {
                    cfg.warnings.push(Warning {
                        line,
                        message: format!("unknown keyword {other:?} ignored"),
                    });
                    continue;
                }
            };
            let err = |message: String| ConfigError { line, message };
            let host = words
                .next()
                .ok_or_else(|| err(format!("{keyword} needs a host name or address")))?;
            let mut spec = ServerSpec::parse(kind, host).map_err(err)?;
            while let Some(opt) = words.next() {
                match opt {
                    "port" => {
                        let p = words
                            .next()
                            .ok_or_else(|| err("port needs a number".into()))?;
                        spec.port = parse_port(p).map_err(err)?;
                    }
                    "weight" | "minpoll" | "maxpoll" | "key" | "version" => {
                        if words.next().is_none() {
                            return Err(err(format!("{opt} needs a value")));
                        }
                    }
                    "trusted" | "iburst" | "burst" | "prefer" | "noselect" | "true" => {}
                    other => {
                        cfg.warnings.push(Warning {
                            line,
                            message: format!("unknown option {other:?} ignored"),
                        });
                    }
                }
            }
            if !cfg.servers.contains(&spec) {
                cfg.servers.push(spec);
            }
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_and_forms() {
        let cfg = Config::parse(
            "# openntpd\nservers pool.ntp.org\nserver ntp.example.com. weight 5 trusted\n\
             pool 2.Debian.pool.ntp.org iburst\nserver 192.0.2.1 port 10123\n\
             server [2001:db8::1]:124\nserver 2001:db8::2\nserver time.test:1234 # comment\n\
             listen on *\nfrobnicate yes\nserver 192.0.2.1 port 10123\n",
        )
        .unwrap();
        let s: Vec<String> = cfg
            .servers
            .iter()
            .map(|s| format!("{} {}", s.kind.keyword(), s.display()))
            .collect();
        assert_eq!(
            s,
            [
                "servers pool.ntp.org",
                "server ntp.example.com",
                "pool 2.debian.pool.ntp.org",
                "server 192.0.2.1:10123",
                "server [2001:db8::1]:124",
                "server [2001:db8::2]:123",
                "server time.test:1234",
            ]
        );
        assert_eq!(cfg.warnings.len(), 2);
        assert_eq!(cfg.warnings[0].line, 9);
        assert!(cfg.warnings[1].message.contains("frobnicate"));
    }

    #[test]
    fn errors_name_the_line() {
        for (text, line) in [
            ("server\n", 1),
            ("\nserver a.test port\n", 2),
            ("server a.test port 0\n", 1),
            ("server a.test port x\n", 1),
            ("server bad/name\n", 1),
            ("server a.test weight\n", 1),
            ("server a.test:99999\n", 1),
        ] {
            let e = Config::parse(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
        }
    }

    #[test]
    fn flags_use_the_same_parser() {
        let s = ServerSpec::parse(Kind::Server, "127.0.0.1:10123").unwrap();
        assert_eq!(s.host, Host::Ip("127.0.0.1".parse().unwrap()));
        assert_eq!(s.port, 10123);
        assert!(ServerSpec::parse(Kind::Server, "").is_err());
        assert!(ServerSpec::parse(Kind::Server, "a..b").is_err());
    }
}
