//! OpenSSH pattern lists as `from="..."` uses them (match.c, addrmatch.c): comma-separated
//! entries, `*` and `?` wildcards, `!` negation, and `addr/len` CIDR blocks for addresses.
//! A negated match refuses outright, whatever else matches.

use std::net::IpAddr;

/// Why a pattern list cannot be used. sshd refuses the key in that case, and so do we.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("bad CIDR block {0:?} (mask length out of range, or host bits set)")]
    BadCidr(String),
}

/// Matches `text` against a wildcard `pattern` (`*` any run, `?` one character). ASCII case is
/// ignored, as host names have no case.
pub fn wildcard_match(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.chars().map(|c| c.to_ascii_lowercase()).collect();
    let p: Vec<char> = pattern.chars().map(|c| c.to_ascii_lowercase()).collect();
    // Iterative matcher with one backtrack point: linear-ish, no recursion to blow up.
    let (mut ti, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            ti += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// -1 for a negated match, 1 for a match, 0 for none: as OpenSSH's `match_pattern_list`.
fn match_list(text: &str, list: &str) -> i8 {
    let mut result = 0;
    for entry in list.split(',') {
        let (negated, pat) = match entry.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, entry),
        };
        if wildcard_match(text, pat) {
            if negated {
                return -1;
            }
            result = 1;
        }
    }
    result
}

/// A CIDR block, or None if `s` is not an address at all (then it is a wildcard pattern).
fn parse_cidr(s: &str) -> Option<Result<(IpAddr, u8), PatternError>> {
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let addr: IpAddr = addr.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let bad = || PatternError::BadCidr(s.to_string());
    let len = match len {
        None => max,
        // Digits only: `u8::from_str` would also take `+8`.
        Some(l) if !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()) => {
            match l.parse::<u8>() {
                Ok(l) if l <= max => l,
                _ => return Some(Err(bad())),
            }
        }
        Some(_) => return Some(Err(bad())),
    };
    // As addrmatch.c: `10.0.0.1/8` is a mistake, not a network.
    if mask(addr, len) != addr {
        return Some(Err(bad()));
    }
    Some(Ok((addr, len)))
}

fn mask(addr: IpAddr, len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let m = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            IpAddr::V4((u32::from(a) & m).into())
        }
        IpAddr::V6(a) => {
            let m = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            IpAddr::V6((u128::from(a) & m).into())
        }
    }
}

/// An IPv4 address seen through an IPv6 socket (`::ffff:a.b.c.d`) is the IPv4 address.
pub fn normalize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// As OpenSSH's `addr_match_list`: -1 negated match, 1 match, 0 none.
fn match_addr_list(ip: IpAddr, list: &str) -> Result<i8, PatternError> {
    let ip = normalize(ip);
    let text = ip.to_string();
    let mut result = 0;
    for entry in list.split(',') {
        let (negated, pat) = match entry.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, entry),
        };
        let matched = match parse_cidr(pat) {
            Some(cidr) => {
                let (net, len) = cidr?;
                net.is_ipv4() == ip.is_ipv4() && mask(ip, len) == net
            }
            None => wildcard_match(&text, pat),
        };
        if matched {
            if negated {
                return Ok(-1);
            }
            result = 1;
        }
    }
    Ok(result)
}

/// Whether a client at `ip`, named `host` (None when names are not looked up: then the
/// address is its name, as sshd's `UseDNS no`), matches `list`. As `match_host_and_ip`: a
/// negated match of either refuses; otherwise a match of either accepts.
pub fn match_host_and_ip(host: Option<&str>, ip: IpAddr, list: &str) -> Result<bool, PatternError> {
    let by_ip = match_addr_list(ip, list)?;
    if by_ip == -1 {
        return Ok(false);
    }
    let ip_text = normalize(ip).to_string();
    let by_host = match_list(host.unwrap_or(&ip_text), list);
    Ok(by_host != -1 && (by_host == 1 || by_ip == 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("host.example.com", "*.example.com"));
        assert!(wildcard_match("HOST.Example.COM", "host.example.*"));
        assert!(wildcard_match("a", "?"));
        assert!(!wildcard_match("ab", "?"));
        assert!(wildcard_match("", "*"));
        assert!(!wildcard_match("", "?"));
        assert!(wildcard_match("abcabd", "*ab?"));
        assert!(wildcard_match("aXbXc", "a*b*c"));
        assert!(!wildcard_match("aXbX", "a*b*c"));
        assert!(wildcard_match("exact", "exact"));
        assert!(!wildcard_match("exact", "exac"));
    }

    #[test]
    fn ipv4_cidr_and_wildcards() {
        let l = "10.0.0.0/8,192.168.1.*";
        assert!(match_host_and_ip(None, ip("10.2.3.4"), l).unwrap());
        assert!(match_host_and_ip(None, ip("192.168.1.77"), l).unwrap());
        assert!(!match_host_and_ip(None, ip("192.168.2.1"), l).unwrap());
        assert!(!match_host_and_ip(None, ip("11.0.0.1"), l).unwrap());
        // A bare address is a /32.
        assert!(match_host_and_ip(None, ip("1.2.3.4"), "1.2.3.4").unwrap());
        assert!(!match_host_and_ip(None, ip("1.2.3.5"), "1.2.3.4").unwrap());
        assert!(match_host_and_ip(None, ip("8.8.8.8"), "0.0.0.0/0").unwrap());
        // Mapped IPv4 from an IPv6 socket.
        assert!(match_host_and_ip(None, ip("::ffff:10.1.1.1"), "10.0.0.0/8").unwrap());
    }

    #[test]
    fn ipv6_cidr() {
        assert!(match_host_and_ip(None, ip("::1"), "::1/128").unwrap());
        assert!(!match_host_and_ip(None, ip("::2"), "::1/128").unwrap());
        assert!(match_host_and_ip(None, ip("2001:db8::5"), "2001:db8::/32").unwrap());
        assert!(!match_host_and_ip(None, ip("2001:db9::5"), "2001:db8::/32").unwrap());
        // Families never match each other.
        assert!(!match_host_and_ip(None, ip("10.0.0.1"), "::/0").unwrap());
        assert!(!match_host_and_ip(None, ip("::1"), "0.0.0.0/0").unwrap());
    }

    #[test]
    fn negation_wins() {
        let l = "10.0.0.0/8,!10.1.0.0/16";
        assert!(match_host_and_ip(None, ip("10.2.0.1"), l).unwrap());
        assert!(!match_host_and_ip(None, ip("10.1.0.1"), l).unwrap());
        // Order does not matter.
        assert!(!match_host_and_ip(None, ip("10.1.0.1"), "!10.1.0.0/16,10.0.0.0/8").unwrap());
        // A negation alone matches nothing.
        assert!(!match_host_and_ip(None, ip("10.2.0.1"), "!10.1.0.0/16").unwrap());
        // Negated host name.
        let l = "*.example.com,!bad.example.com";
        assert!(match_host_and_ip(Some("good.example.com"), ip("10.0.0.1"), l).unwrap());
        assert!(!match_host_and_ip(Some("BAD.example.com"), ip("10.0.0.1"), l).unwrap());
        // A negated address refuses even when the name matches.
        let l = "*.example.com,!10.0.0.1";
        assert!(!match_host_and_ip(Some("good.example.com"), ip("10.0.0.1"), l).unwrap());
    }

    #[test]
    fn host_names() {
        let l = "*.example.com,jump?";
        assert!(match_host_and_ip(Some("a.example.com"), ip("10.0.0.1"), l).unwrap());
        assert!(match_host_and_ip(Some("jump1"), ip("10.0.0.1"), l).unwrap());
        assert!(!match_host_and_ip(Some("jump10"), ip("10.0.0.1"), l).unwrap());
        assert!(!match_host_and_ip(Some("example.com"), ip("10.0.0.1"), l).unwrap());
        // Without a name the address stands in for it.
        assert!(match_host_and_ip(None, ip("fe80::1"), "fe80::*").unwrap());
    }

    #[test]
    fn bad_cidr_is_an_error() {
        for l in [
            "10.0.0.1/8",
            "10.0.0.0/33",
            "::1/129",
            "10.0.0.0/x",
            "10.0.0.0/",
        ] {
            assert_eq!(
                match_host_and_ip(None, ip("10.0.0.1"), l),
                Err(PatternError::BadCidr(l.into())),
                "{l}"
            );
        }
    }
}
