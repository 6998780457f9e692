//! The subset of dhcpcd.conf that LinuxKit images use.
//!
//! Unknown keywords are reported as warnings, so a config written for the
//! real dhcpcd still loads; a bad value for a keyword we know is an error,
//! since silently ignoring it would change behaviour.

use std::fmt;

use crate::client::ClientConfig;
use crate::options::{duid_ll, iaid_from_mac, ClientId};

/// A parse error, with its 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {keyword}: {reason}")]
pub struct ConfigError {
    pub line: usize,
    pub keyword: String,
    pub reason: String,
}

/// Something ignored in the config, with its 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// What to send as hostname (option 12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostnameSetting {
    /// `hostname` alone: the system's host name, which the daemon looks up.
    System,
    /// `hostname NAME`.
    Name(String),
}

/// Which client identifier (option 61) to send.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ClientIdSetting {
    /// `duid`, dhcpcd's default: RFC 4361 IAID + DUID.
    #[default]
    Duid,
    /// `clientid` alone: hardware type and address.
    HwAddr,
    /// `clientid VALUE`: `01:02:03` hex, or the bytes of the text.
    Custom(Vec<u8>),
}

/// Which addresses `waitip` waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitIp {
    Any,
    V4,
    V6,
}

/// The parsed configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `allowinterfaces`: globs; empty means every interface.
    pub allow_interfaces: Vec<String>,
    /// `denyinterfaces`: globs; these win over `allowinterfaces`.
    pub deny_interfaces: Vec<String>,
    pub hostname: Option<HostnameSetting>,
    pub client_id: ClientIdSetting,
    /// `persistent`: keep the address when dhcpcd exits or the carrier goes.
    pub persistent: bool,
    /// `option NAME`: extra codes for the parameter request list.
    pub request: Vec<u8>,
    /// `option rapid_commit`.
    pub rapid_commit: bool,
    /// `require NAME`: replies without these options are ignored.
    pub require: Vec<u8>,
    /// `noarp`: skip the RFC 5227 address probe and defence (and IPv4LL,
    /// which needs ARP).
    pub noarp: bool,
    /// `ipv4ll` (the default) or `noipv4ll`: seek an RFC 3927 link-local
    /// address while no DHCP server answers.
    pub ipv4ll: bool,
    /// `slaac hwaddr|private`: how SLAAC addresses are formed.
    pub slaac: crate::slaac::SlaacMode,
    /// `nodelay`: skip the random delay before the first DISCOVER.
    pub nodelay: bool,
    /// `waitip [4|6]`, each line adding what to wait for.
    pub waitip: Vec<WaitIp>,
    /// `noipv4` (or `ipv6only`) turns DHCPv4 and IPv4LL off.
    pub ipv4: bool,
    /// `noipv6` (or `ipv4only`) turns router solicitation, SLAAC and
    /// DHCPv6 off.
    pub ipv6: bool,
    /// `nodhcp6`: no DHCPv6, whatever routers or `ia_na` ask.
    pub dhcp6: bool,
    /// `ipv6rs` (the default) or `noipv6rs`: solicit routers and follow
    /// their advertisements. Without it DHCPv6 starts at once.
    pub ipv6rs: bool,
    /// `ia_na [IAID]`: ask DHCPv6 for an address from the start, not only
    /// when a router sets M. The IAID defaults to the MAC's last four bytes.
    pub ia_na: Option<Option<u32>>,
    /// `timeout N`: seconds to wait for a lease; 0 waits forever.
    pub timeout: u32,
    /// `release`: release the lease when dhcpcd exits.
    pub release: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            allow_interfaces: Vec::new(),
            deny_interfaces: Vec::new(),
            hostname: None,
            client_id: ClientIdSetting::Duid,
            persistent: false,
            request: Vec::new(),
            rapid_commit: false,
            require: Vec::new(),
            noarp: false,
            ipv4ll: true,
            slaac: crate::slaac::SlaacMode::Hwaddr,
            nodelay: false,
            waitip: Vec::new(),
            ipv4: true,
            ipv6: true,
            dhcp6: true,
            ipv6rs: true,
            ia_na: None,
            timeout: 30, // dhcpcd's default
            release: false,
        }
    }
}

/// A parsed config and what was ignored in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub config: Config,
    pub warnings: Vec<Warning>,
}

/// dhcpcd's option names and their codes.
const OPTION_NAMES: &[(&str, u8)] = &[
    ("subnet_mask", 1),
    ("time_offset", 2),
    ("routers", 3),
    ("time_servers", 4),
    ("domain_name_servers", 6),
    ("log_servers", 7),
    ("host_name", 12),
    ("domain_name", 15),
    ("root_path", 17),
    ("interface_mtu", 26),
    ("broadcast_address", 28),
    ("static_routes", 33),
    ("nis_domain", 40),
    ("nis_servers", 41),
    ("ntp_servers", 42),
    ("vendor_encapsulated_options", 43),
    ("netbios_name_servers", 44),
    ("netbios_scope", 47),
    ("dhcp_lease_time", 51),
    ("dhcp_server_identifier", 54),
    ("dhcp_renewal_time", 58),
    ("dhcp_rebinding_time", 59),
    ("tftp_server_name", 66),
    ("bootfile_name", 67),
    ("rapid_commit", 80),
    ("fqdn", 81),
    ("posix_timezone", 100),
    ("tzdb_timezone", 101),
    ("domain_search", 119),
    ("sip_server", 120),
    ("classless_static_routes", 121),
    ("ms_classless_static_routes", 249),
    ("wpad_url", 252),
];

/// The code for a dhcpcd option name (or a plain number 1-254).
pub fn option_code(name: &str) -> Option<u8> {
    if let Ok(n) = name.parse::<u8>() {
        return (1..=254).contains(&n).then_some(n);
    }
    OPTION_NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, c)| c)
}

/// Parses dhcpcd.conf text.
pub fn parse(text: &str) -> Result<Parsed, ConfigError> {
    let mut c = Config::default();
    let mut warnings = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (keyword, rest) = match trimmed.split_once(char::is_whitespace) {
            Some((k, r)) => (k, r.trim()),
            None => (trimmed, ""),
        };
        let args = split_args(rest);
        let err = |reason: &str| ConfigError {
            line,
            keyword: keyword.to_string(),
            reason: reason.to_string(),
        };
        let no_args = || {
            if args.is_empty() {
                Ok(true)
            } else {
                Err(err("takes no value"))
            }
        };
        match keyword {
            "allowinterfaces" | "denyinterfaces" => {
                if args.is_empty() {
                    return Err(err("needs at least one interface name or glob"));
                }
                let list = if keyword == "allowinterfaces" {
                    &mut c.allow_interfaces
                } else {
                    &mut c.deny_interfaces
                };
                list.extend(args);
            }
            "hostname" => {
                c.hostname = Some(match args.as_slice() {
                    [] => HostnameSetting::System,
                    [name] => match crate::lease::clean_domain(name) {
                        Some(n) => HostnameSetting::Name(n),
                        None => return Err(err("not a valid host name")),
                    },
                    _ => return Err(err("takes one host name")),
                });
            }
            "clientid" => {
                c.client_id = match args.as_slice() {
                    [] => ClientIdSetting::HwAddr,
                    [v] => ClientIdSetting::Custom(
                        parse_hex(v).unwrap_or_else(|| v.clone().into_bytes()),
                    ),
                    _ => return Err(err("takes at most one value")),
                };
            }
            "duid" => {
                match args.as_slice() {
                    [] => {}
                    [t] if t == "ll" => {}
                    [t] => warnings.push(Warning {
                        line,
                        message: format!("duid {t}: only DUID-LL is supported, using it"),
                    }),
                    _ => return Err(err("takes at most one type")),
                }
                c.client_id = ClientIdSetting::Duid;
            }
            "option" | "require" => {
                if args.is_empty() {
                    return Err(err("needs at least one option name"));
                }
                for name in &args {
                    match option_code(name) {
                        Some(80) if keyword == "option" => c.rapid_commit = true,
                        Some(code) => {
                            let list = if keyword == "option" {
                                &mut c.request
                            } else {
                                &mut c.require
                            };
                            if !list.contains(&code) {
                                list.push(code);
                            }
                        }
                        // A newer dhcpcd may know names we do not: warn.
                        None => warnings.push(Warning {
                            line,
                            message: format!("{keyword}: unknown option name {name:?} ignored"),
                        }),
                    }
                }
            }
            "persistent" => c.persistent = no_args()?,
            "noarp" => c.noarp = no_args()?,
            "ipv4ll" => c.ipv4ll = no_args()?,
            "noipv4ll" => c.ipv4ll = !no_args()?,
            "nodelay" => c.nodelay = no_args()?,
            "release" => c.release = no_args()?,
            "slaac" => {
                use crate::slaac::SlaacMode;
                let (mode, rest) = match args.split_first() {
                    // dhcpcd's names for RFC 7217; anything else means the MAC.
                    Some((m, rest))
                        if ["private", "stableprivate", "stable"].contains(&m.as_str()) =>
                    {
                        (SlaacMode::Private, rest)
                    }
                    Some((m, rest)) if m == "hwaddr" => (SlaacMode::Hwaddr, rest),
                    _ => return Err(err("takes hwaddr or private")),
                };
                match rest {
                    [] => {}
                    [t] if t == "temp" || t == "temporary" => warnings.push(Warning {
                        line,
                        message: format!("slaac {t}: temporary addresses (RFC 4941) are not supported, using stable ones only"),
                    }),
                    _ => return Err(err("takes hwaddr or private, then at most temp")),
                }
                c.slaac = mode;
            }
            "waitip" => {
                let w = match args.as_slice() {
                    [] => WaitIp::Any,
                    [v] if v == "4" => WaitIp::V4,
                    [v] if v == "6" => WaitIp::V6,
                    _ => return Err(err("takes nothing, 4 or 6")),
                };
                if !c.waitip.contains(&w) {
                    c.waitip.push(w);
                }
            }
            "ipv4" => c.ipv4 = no_args()?,
            "noipv4" | "ipv6only" => c.ipv4 = !no_args()?,
            "ipv6" => c.ipv6 = no_args()?,
            "noipv6" | "ipv4only" => c.ipv6 = !no_args()?,
            "dhcp6" => c.dhcp6 = no_args()?,
            "nodhcp6" => c.dhcp6 = !no_args()?,
            "ipv6rs" => c.ipv6rs = no_args()?,
            "noipv6rs" => c.ipv6rs = !no_args()?,
            "ia_na" => {
                c.ia_na = Some(match args.as_slice() {
                    [] => None,
                    [v] => Some(parse_iaid(v).ok_or_else(|| err("takes a number or 4 hex bytes"))?),
                    _ => return Err(err("takes at most one IAID")),
                });
            }
            "timeout" => {
                c.timeout = match args.as_slice() {
                    [v] => v.parse().map_err(|_| err("needs a number of seconds"))?,
                    _ => return Err(err("needs a number of seconds")),
                };
            }
            _ => warnings.push(Warning {
                line,
                message: format!("unknown keyword {keyword:?} ignored"),
            }),
        }
    }
    Ok(Parsed {
        config: c,
        warnings,
    })
}

/// An IAID as dhcpcd reads it: a decimal number, or four bytes of hex
/// `00:11:22:33`.
fn parse_iaid(v: &str) -> Option<u32> {
    if let Ok(n) = v.parse::<u32>() {
        return Some(n);
    }
    let b: [u8; 4] = parse_hex(v)?.try_into().ok()?;
    Some(u32::from_be_bytes(b))
}

/// Splits on whitespace and commas; a value may be in double quotes.
fn split_args(rest: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for ch in rest.chars() {
        match ch {
            '"' => quoted = !quoted,
            c if !quoted && (c.is_whitespace() || c == ',') => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `01:ab:ff` as bytes, or None if `s` is not in that form.
fn parse_hex(s: &str) -> Option<Vec<u8>> {
    if !s.contains(':') {
        return None;
    }
    s.split(':')
        .map(|p| {
            if p.len() == 2 {
                u8::from_str_radix(p, 16).ok()
            } else {
                None
            }
        })
        .collect()
}

impl Config {
    /// Whether dhcpcd should run on interface `name`.
    pub fn allows_interface(&self, name: &str) -> bool {
        if self.deny_interfaces.iter().any(|g| glob_match(g, name)) {
            return false;
        }
        self.allow_interfaces.is_empty()
            || self.allow_interfaces.iter().any(|g| glob_match(g, name))
    }

    /// The client settings for an interface with MAC `mac`. `system_hostname`
    /// is used when the config says `hostname` without a name.
    pub fn client_config(&self, mac: [u8; 6], system_hostname: Option<&str>) -> ClientConfig {
        let mut cc = ClientConfig::new(mac);
        cc.client_id = match &self.client_id {
            ClientIdSetting::Duid => ClientId::Duid {
                iaid: iaid_from_mac(mac),
                duid: duid_ll(mac),
            },
            ClientIdSetting::HwAddr => ClientId::HwAddr(mac),
            ClientIdSetting::Custom(b) => ClientId::Custom(b.clone()),
        };
        cc.hostname = match &self.hostname {
            Some(HostnameSetting::Name(n)) => Some(n.clone()),
            Some(HostnameSetting::System) => system_hostname.and_then(crate::lease::clean_domain),
            None => None,
        };
        cc.extra_request = self.request.clone();
        cc.require = self.require.clone();
        cc.rapid_commit = self.rapid_commit;
        cc.arp = !self.noarp;
        cc.ipv4ll = self.ipv4ll && !self.noarp;
        cc.initial_delay = !self.nodelay;
        cc.persistent = self.persistent;
        cc.release_on_stop = self.release;
        cc
    }
}

/// Shell-style matching of interface names: `*`, `?`, and `[a-z]`,
/// `[!0-9]` classes.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    // Where the last '*' was, and the name position it now covers up to.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ni));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                '[' => match match_class(&p, pi, n[ni]) {
                    Some((true, next)) => {
                        pi = next;
                        ni += 1;
                        continue;
                    }
                    Some((false, _)) => {}
                    // No closing ']': a literal '['.
                    None if n[ni] == '[' => {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                    None => {}
                },
                c if c == n[ni] => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                _ => {}
            }
        }
        // Mismatch: let the last '*' swallow one more character.
        match star {
            Some((sp, sn)) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Matches `c` against the class starting at `p[start] == '['`. Returns
/// whether it matched and the index after the class, or None if unclosed.
fn match_class(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            matched |= (p[i]..=p[i + 2]).contains(&c);
            i += 3;
        } else {
            matched |= p[i] == c;
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// LinuxKit's pkg/dhcpcd/dhcpcd.conf.
    const LINUXKIT: &str = "\
# Only configure standard external ethernet
allowinterfaces eth*

# Inform the DHCP server of our hostname for DDNS.
hostname

# Use the hardware address of the interface for the Client ID.
clientid
# or
#duid

# Persist interface configuration when dhcpcd exits.
persistent

option rapid_commit

# A list of options to request from the DHCP server.
option domain_name_servers, domain_name, domain_search, host_name
option classless_static_routes
option ntp_servers
option interface_mtu

# A ServerID is required by RFC2131.
require dhcp_server_identifier

# Generate Stable Private IPv6 Addresses instead of hardware based ones
slaac private

nodelay
noarp
waitip 4
";

    #[test]
    fn parses_linuxkit_config() {
        let p = parse(LINUXKIT).unwrap();
        let c = &p.config;
        assert_eq!(c.allow_interfaces, ["eth*"]);
        assert_eq!(c.hostname, Some(HostnameSetting::System));
        assert_eq!(c.client_id, ClientIdSetting::HwAddr);
        assert!(c.persistent && c.rapid_commit && c.nodelay && c.noarp);
        assert_eq!(c.request, [6, 15, 119, 12, 121, 42, 26]);
        assert_eq!(c.require, [54]);
        assert_eq!(c.waitip, [WaitIp::V4]);
        assert_eq!(c.timeout, 30);
        assert!(!c.release);
        assert_eq!(c.slaac, crate::slaac::SlaacMode::Private);
        assert_eq!(p.warnings, []);
    }

    #[test]
    fn slaac_modes_as_dhcpcd_names_them() {
        use crate::slaac::SlaacMode;
        assert_eq!(parse("").unwrap().config.slaac, SlaacMode::Hwaddr);
        for (text, mode) in [
            ("slaac hwaddr", SlaacMode::Hwaddr),
            ("slaac private", SlaacMode::Private),
            ("slaac stableprivate", SlaacMode::Private),
            ("slaac stable", SlaacMode::Private),
        ] {
            let p = parse(text).unwrap();
            assert_eq!((p.config.slaac, p.warnings.len()), (mode, 0), "{text}");
        }
        let p = parse("slaac private temp").unwrap();
        assert_eq!(p.config.slaac, SlaacMode::Private);
        assert_eq!(
            p.warnings[0].to_string(),
            "line 1: slaac temp: temporary addresses (RFC 4941) are not supported, using stable ones only"
        );
    }

    #[test]
    fn parses_every_keyword() {
        let p = parse(
            "denyinterfaces veth* docker0\n\
             allowinterfaces eth0,eth1\n\
             hostname \"box-1\"\n\
             duid\n\
             timeout 0\n\
             release\n\
             waitip\n\
             require subnet_mask routers\n\
             option 200\n",
        )
        .unwrap();
        let c = p.config;
        assert!(p.warnings.is_empty());
        assert_eq!(c.deny_interfaces, ["veth*", "docker0"]);
        assert_eq!(c.allow_interfaces, ["eth0", "eth1"]);
        assert_eq!(c.hostname, Some(HostnameSetting::Name("box-1".into())));
        assert_eq!(c.client_id, ClientIdSetting::Duid);
        assert_eq!(c.timeout, 0);
        assert!(c.release);
        assert_eq!(c.waitip, [WaitIp::Any]);
        assert_eq!(c.require, [1, 3]);
        assert_eq!(c.request, [200]);
    }

    #[test]
    fn address_family_keywords_as_dhcpcd_reads_them() {
        let d = Config::default();
        assert!(d.ipv4 && d.ipv6 && d.ipv6rs && d.ia_na.is_none() && d.waitip.is_empty());
        let c = parse("ipv4only\nnoipv6rs\nia_na\nwaitip 4\nwaitip 6\nwaitip 4\n")
            .unwrap()
            .config;
        assert!(c.ipv4 && !c.ipv6 && !c.ipv6rs);
        assert_eq!(c.ia_na, Some(None));
        assert_eq!(c.waitip, [WaitIp::V4, WaitIp::V6]);
        let c = parse("ipv6only\nnoipv6rs\nipv6rs\nia_na 7\n")
            .unwrap()
            .config;
        assert!(!c.ipv4 && c.ipv6 && c.ipv6rs);
        assert_eq!(c.ia_na, Some(Some(7)));
        assert_eq!(
            parse("ia_na 00:00:01:02").unwrap().config.ia_na,
            Some(Some(0x0102))
        );
        assert!(parse("ia_na x").is_err());
        assert!(parse("ia_na 1 2").is_err());
        assert!(parse("ipv4only yes").is_err());
        // dhcpcd's longer names for the same switches.
        let c = parse("noipv4\nnodhcp6\n").unwrap().config;
        assert!(!c.ipv4 && c.ipv6 && !c.dhcp6);
        let c = parse("noipv6\n").unwrap().config;
        assert!(c.ipv4 && !c.ipv6 && c.dhcp6);
        let c = parse("noipv4\nipv4\nnodhcp6\ndhcp6\n").unwrap().config;
        assert!(c.ipv4 && c.dhcp6);
        assert!(parse("nodhcp6 now").is_err());
    }

    #[test]
    fn empty_config_is_defaults() {
        let p = parse("\n   \n# only a comment\n").unwrap();
        assert_eq!(p.config, Config::default());
        assert!(p.warnings.is_empty());
    }

    #[test]
    fn unknown_things_are_warnings_with_line_numbers() {
        let p =
            parse("interface eth0\noption foo_bar, ntp_servers\nduid llt\nipv6ra_own\n").unwrap();
        let lines: Vec<usize> = p.warnings.iter().map(|w| w.line).collect();
        assert_eq!(lines, [1, 2, 3, 4]);
        assert!(p.warnings[1].message.contains("foo_bar"));
        assert_eq!(p.config.request, [42]);
        assert_eq!(p.config.client_id, ClientIdSetting::Duid);
    }

    #[test]
    fn bad_values_are_errors_with_line_numbers() {
        let cases = [
            ("timeout abc", "timeout"),
            ("timeout", "timeout"),
            ("timeout -1", "timeout"),
            ("noarp yes", "noarp"),
            ("noipv4ll 1", "noipv4ll"),
            ("slaac", "slaac"),
            ("slaac eui64", "slaac"),
            ("slaac private temp x", "slaac"),
            ("waitip 5", "waitip"),
            ("hostname a b", "hostname"),
            ("hostname bad_host!", "hostname"),
            ("allowinterfaces", "allowinterfaces"),
            ("option", "option"),
            ("require ,", "require"),
            ("clientid a b", "clientid"),
        ];
        for (text, kw) in cases {
            let e = parse(&format!("# first\n{text}\n")).unwrap_err();
            assert_eq!(e.line, 2, "{text}");
            assert_eq!(e.keyword, kw, "{text}");
        }
        let e = parse("timeout x").unwrap_err();
        assert_eq!(e.to_string(), "line 1: timeout: needs a number of seconds");
    }

    #[test]
    fn custom_client_id() {
        let c = parse("clientid 01:02:0a").unwrap().config;
        assert_eq!(c.client_id, ClientIdSetting::Custom(vec![1, 2, 10]));
        let c = parse("clientid myhost").unwrap().config;
        assert_eq!(c.client_id, ClientIdSetting::Custom(b"myhost".to_vec()));
    }

    #[test]
    fn option_codes() {
        assert_eq!(option_code("classless_static_routes"), Some(121));
        assert_eq!(option_code("rapid_commit"), Some(80));
        assert_eq!(option_code("42"), Some(42));
        assert_eq!(option_code("0"), None);
        assert_eq!(option_code("255"), None);
        assert_eq!(option_code("nope"), None);
    }

    #[test]
    fn globs() {
        assert!(glob_match("eth*", "eth0"));
        assert!(glob_match("eth*", "eth"));
        assert!(!glob_match("eth*", "veth0"));
        assert!(glob_match("*", ""));
        assert!(glob_match("e?h0", "eth0"));
        assert!(!glob_match("e?h0", "eh0"));
        assert!(glob_match("eth[0-3]", "eth2"));
        assert!(!glob_match("eth[0-3]", "eth4"));
        assert!(glob_match("eth[!0-3]", "eth4"));
        assert!(!glob_match("eth[^0-3]", "eth1"));
        assert!(glob_match("*.100", "eth0.100"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
        assert!(glob_match("en[]]", "en]"));
        assert!(glob_match("br[", "br["));
        assert!(!glob_match("eth0", "eth01"));
        assert!(glob_match("**x", "abx"));
    }

    #[test]
    fn interface_filter() {
        let c = parse("allowinterfaces eth* wlan0\ndenyinterfaces eth9")
            .unwrap()
            .config;
        assert!(c.allows_interface("eth0"));
        assert!(c.allows_interface("wlan0"));
        assert!(!c.allows_interface("eth9"));
        assert!(!c.allows_interface("lo"));
        let c = parse("denyinterfaces lo").unwrap().config;
        assert!(c.allows_interface("enp0s3"));
        assert!(!c.allows_interface("lo"));
    }

    fn cc_of(c: &Config, mac: [u8; 6]) -> ClientConfig {
        c.client_config(mac, None)
    }

    #[test]
    fn client_config_from_config() {
        let mac = [2, 0, 0, 0, 0, 9];
        let c = parse(LINUXKIT).unwrap().config;
        let cc = c.client_config(mac, Some("linuxkit-0242"));
        assert_eq!(cc.client_id, ClientId::HwAddr(mac));
        assert_eq!(cc.hostname.as_deref(), Some("linuxkit-0242"));
        assert!(cc.rapid_commit && !cc.arp && !cc.initial_delay && cc.persistent);
        assert_eq!(cc.require, [54]);
        let cc = Config::default().client_config(mac, Some("x"));
        assert_eq!(cc.client_id, ClientId::duid_ll(mac));
        assert_eq!(cc.hostname, None);
        assert!(cc.arp && cc.ipv4ll && cc.initial_delay && !cc.rapid_commit);
        // IPv4LL is on by default, off with `noipv4ll`, and needs ARP as in dhcpcd.
        assert!(!cc_of(&parse("noipv4ll").unwrap().config, mac).ipv4ll);
        assert!(!cc_of(&parse("noarp\nipv4ll").unwrap().config, mac).ipv4ll);
        assert!(cc_of(&parse("noipv4ll\nipv4ll").unwrap().config, mac).ipv4ll);
        // An unusable system host name is not sent.
        let c = parse("hostname").unwrap().config;
        assert_eq!(c.client_config(mac, Some("bad name")).hostname, None);
    }
}
