//! The interface identifiers of SLAAC addresses (RFC 4862 5.5.3), without
//! I/O: `slaac hwaddr` (modified EUI-64, RFC 4291 appendix A) and
//! `slaac private` (stable and opaque, RFC 7217), dhcpcd's two modes.

use std::net::Ipv6Addr;

use sha2::{Digest, Sha256};

/// How addresses are formed from an advertised prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SlaacMode {
    /// From the MAC: the same on every network, so it can be tracked.
    /// dhcpcd's default.
    #[default]
    Hwaddr,
    /// RFC 7217: stable on one network, unrelated across networks. LinuxKit's
    /// `slaac private`.
    Private,
}

/// The length of a prefix that SLAAC forms addresses from on Ethernet.
pub const PREFIX_LEN: u8 = 64;

/// RFC 7217 5: DAD failures after which no more addresses are tried
/// (IDGEN_RETRIES).
pub const IDGEN_RETRIES: u8 = 3;

/// The size of the secret key kept in the lease folder (RFC 7217 5 asks
/// for at least 128 bits).
pub const SECRET_LEN: usize = 32;

/// What makes an RFC 7217 identifier: the network, and the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StableInputs<'a> {
    /// Net_Iface: the interface's name, so a new NIC on the same network
    /// keeps its address and two NICs get different ones.
    pub interface: &'a str,
    /// Network_ID: empty on wired networks (the SSID on wireless ones).
    pub network_id: &'a [u8],
    pub secret: &'a [u8],
}

/// The address formed from `prefix` (a /64) for `mode`; `dad_counter`
/// counts earlier duplicates (RFC 7217 6). `None` if no usable identifier
/// comes out (every try reserved, or `prefix` unusable).
pub fn address(
    prefix: Ipv6Addr,
    mode: SlaacMode,
    mac: [u8; 6],
    stable: &StableInputs<'_>,
    dad_counter: u8,
) -> Option<Ipv6Addr> {
    let iid = match mode {
        SlaacMode::Hwaddr => eui64(mac),
        SlaacMode::Private => {
            // A reserved identifier counts as a collision: try the next counter.
            (dad_counter..=dad_counter.saturating_add(IDGEN_RETRIES))
                .map(|c| stable_iid(prefix, stable, c))
                .find(|iid| !is_reserved(*iid))?
        }
    };
    let net = u128::from(prefix) & (u128::MAX << 64);
    Some(Ipv6Addr::from(net | u128::from(iid)))
}

/// The modified EUI-64 identifier of `mac`: ff:fe in the middle, the
/// universal/local bit flipped.
pub fn eui64(mac: [u8; 6]) -> u64 {
    u64::from_be_bytes([
        mac[0] ^ 0x02,
        mac[1],
        mac[2],
        0xff,
        0xfe,
        mac[3],
        mac[4],
        mac[5],
    ])
}

/// RFC 7217 5: the first 64 bits of SHA-256(Prefix | Net_Iface |
/// Network_ID | DAD_Counter | secret_key).
fn stable_iid(prefix: Ipv6Addr, inputs: &StableInputs<'_>, dad_counter: u8) -> u64 {
    let mut h = Sha256::new();
    h.update(&prefix.octets()[..8]);
    h.update(inputs.interface.as_bytes());
    h.update(inputs.network_id);
    h.update([dad_counter]);
    h.update(inputs.secret);
    let digest = h.finalize();
    u64::from_be_bytes(digest[..8].try_into().expect("32 bytes"))
}

/// Identifiers no address may use (RFC 5453): the subnet-router anycast
/// (all zeros), the reserved subnet anycasts (fdff:ffff:ffff:ff80 to ffff),
/// and the proxy mobile range 0200:5eff:fe00:5213.
pub fn is_reserved(iid: u64) -> bool {
    iid == 0
        || (0xfdff_ffff_ffff_ff80..=0xfdff_ffff_ffff_ffff).contains(&iid)
        || iid == 0x0200_5eff_fe00_5213
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn inputs<'a>(interface: &'a str, secret: &'a [u8]) -> StableInputs<'a> {
        StableInputs {
            interface,
            network_id: b"",
            secret,
        }
    }

    #[test]
    fn hwaddr_is_modified_eui64() {
        // As the kernel forms fe80::5054:ff:fe12:3456 for this MAC.
        let got = address(
            a("2001:db8:1:2::"),
            SlaacMode::Hwaddr,
            MAC,
            &inputs("eth0", b"k"),
            0,
        );
        assert_eq!(got, Some(a("2001:db8:1:2:5054:ff:fe12:3456")));
        assert_eq!(eui64([0x02, 0, 0, 0, 0, 1]), 0x0000_00ff_fe00_0001);
    }

    #[test]
    fn private_is_stable_per_network_and_opaque_across() {
        let secret = [7u8; SECRET_LEN];
        let p1 = a("2001:db8:1:2::");
        let p2 = a("2001:db8:9:9::");
        let mode = SlaacMode::Private;
        let one = address(p1, mode, MAC, &inputs("eth0", &secret), 0).unwrap();
        // Stable: the same inputs, the same address, whatever the MAC.
        assert_eq!(
            address(p1, mode, [2, 0, 0, 0, 0, 9], &inputs("eth0", &secret), 0),
            Some(one)
        );
        // In the prefix, and not derived from the MAC.
        assert_eq!(u128::from(one) >> 64, u128::from(p1) >> 64);
        assert_ne!(u128::from(one) as u64, eui64(MAC));
        // Another prefix, interface, secret or DAD counter: another identifier.
        let others = [
            address(p2, mode, MAC, &inputs("eth0", &secret), 0),
            address(p1, mode, MAC, &inputs("eth1", &secret), 0),
            address(p1, mode, MAC, &inputs("eth0", &[8u8; SECRET_LEN]), 0),
            address(p1, mode, MAC, &inputs("eth0", &secret), 1),
        ];
        for other in others {
            let other = other.unwrap();
            assert_ne!(u128::from(other) as u64, u128::from(one) as u64, "{other}");
        }
        // Only the first 64 bits of the prefix count.
        assert_eq!(
            address(
                a("2001:db8:1:2:ffff::"),
                mode,
                MAC,
                &inputs("eth0", &secret),
                0
            ),
            Some(one)
        );
    }

    #[test]
    fn reserved_identifiers_are_never_used() {
        assert!(is_reserved(0));
        assert!(is_reserved(0xfdff_ffff_ffff_ff80) && is_reserved(0xfdff_ffff_ffff_ffff));
        assert!(!is_reserved(0xfdff_ffff_ffff_ff7f) && !is_reserved(0xfe00_0000_0000_0000));
        assert!(is_reserved(0x0200_5eff_fe00_5213));
        // Over many secrets, no reserved identifier comes out.
        for n in 0..2000u32 {
            let secret = n.to_be_bytes();
            let addr = address(
                a("2001:db8::"),
                SlaacMode::Private,
                MAC,
                &inputs("eth0", &secret),
                0,
            )
            .unwrap();
            assert!(!is_reserved(u128::from(addr) as u64));
        }
    }
}
