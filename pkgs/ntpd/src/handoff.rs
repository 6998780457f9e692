//! The DHCP hand-off file that pkgs/dhcpcd writes (option 42): one IPv4
//! address per line. We read it leniently, as its README asks: blank lines,
//! `#` comments and lines that do not parse are skipped. As an extension,
//! IPv6 addresses and `ADDR:PORT` / `[V6]:PORT` lines are accepted too
//! (dhcpcd writes neither; tests and odd setups do).

use std::net::{IpAddr, SocketAddr};

use crate::config::NTP_PORT;

/// The servers in the file, in order, without duplicates.
pub fn parse(text: &str) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let addr = match line.parse::<IpAddr>() {
            Ok(ip) => SocketAddr::new(ip, NTP_PORT),
            Err(_) => match line.parse::<SocketAddr>() {
                Ok(sa) if sa.port() != 0 => sa,
                _ => continue,
            },
        };
        if !out.contains(&addr) {
            out.push(addr);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient() {
        let got = parse(
            "10.0.0.1\n\n# x\n  10.0.0.2  \nnot an address\n10.0.0.1\n2001:db8::1\n\
             10.0.0.3:10123\n[2001:db8::2]:124\n10.0.0.4:0\n",
        );
        let want: Vec<SocketAddr> = [
            "10.0.0.1:123",
            "10.0.0.2:123",
            "[2001:db8::1]:123",
            "10.0.0.3:10123",
            "[2001:db8::2]:124",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        assert_eq!(got, want);
        assert!(parse("").is_empty());
    }
}
