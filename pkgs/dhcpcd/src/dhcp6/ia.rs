//! The messages of the stateful exchanges for one IA_NA (RFC 8415 18): what
//! the client sends, and what an Advertise or a Reply gives it.

use std::net::Ipv6Addr;
use std::time::Duration;

use dhcproto::v6::{self, DhcpOption};

use super::{
    check_message, encode, other_config, server_id, status, Duid, OtherConfig, ReplyError,
};

/// All ones: an infinite lifetime, or a T1/T2 that never comes (RFC 8415 7.7).
pub const INFINITY: u32 = u32::MAX;
/// A server may lease many addresses in one IA; more than this are not
/// taken, so that one cannot flood the interface.
pub const MAX_ADDRESSES: usize = 8;

/// The stateful messages a client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Solicit,
    Request,
    Renew,
    Rebind,
    Release,
    Decline,
}

impl Kind {
    fn message_type(self) -> v6::MessageType {
        match self {
            Kind::Solicit => v6::MessageType::Solicit,
            Kind::Request => v6::MessageType::Request,
            Kind::Renew => v6::MessageType::Renew,
            Kind::Rebind => v6::MessageType::Rebind,
            Kind::Release => v6::MessageType::Release,
            Kind::Decline => v6::MessageType::Decline,
        }
    }
}

/// Why an Advertise or a Reply gives us no lease.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IaError {
    /// Not for us, malformed, or a status code in the message or the IA.
    #[error(transparent)]
    Message(#[from] ReplyError),
    #[error("no IA_NA {0:#x}")]
    NoIa(u32),
    #[error("IA_NA with T1 {t1} after T2 {t2}")]
    T1AfterT2 { t1: u32, t2: u32 },
    #[error("no usable address in the IA_NA")]
    NoAddresses,
}

impl IaError {
    /// The status a server answered with, in the message or the IA.
    pub fn status(&self) -> Option<v6::Status> {
        match self {
            IaError::Message(ReplyError::Status { status, .. }) => Some(*status),
            _ => None,
        }
    }
}

/// A leased address; `None` lifetimes are infinite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IaAddress {
    pub address: Ipv6Addr,
    pub preferred: Option<Duration>,
    pub valid: Option<Duration>,
}

/// A server's offer (RFC 8415 18.2.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advertise {
    pub server_id: Vec<u8>,
    /// Option 7; 0 without one.
    pub preference: u8,
    pub addresses: Vec<Ipv6Addr>,
}

/// A Reply to Request, Renew or Rebind (RFC 8415 18.2.10.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub server_id: Vec<u8>,
    /// After how long to renew and to rebind; `None`: never.
    pub t1: Option<Duration>,
    pub t2: Option<Duration>,
    /// Never empty; those the server gave a zero valid lifetime are left out.
    pub addresses: Vec<IaAddress>,
    pub other: OtherConfig,
}

/// A client message about our IA_NA `iaid` holding `addresses`. Solicit and
/// Rebind go to any server, so `server_id` is left out of them.
pub fn client_message(
    kind: Kind,
    xid: u32,
    elapsed: u16,
    duid: &Duid,
    iaid: u32,
    server_id: &[u8],
    addresses: &[Ipv6Addr],
) -> Vec<u8> {
    let mut m = v6::Message::new(kind.message_type());
    m.set_xid_num(xid & 0x00ff_ffff);
    let o = m.opts_mut();
    o.insert(DhcpOption::ClientId(duid.to_bytes()));
    o.insert(DhcpOption::ElapsedTime(elapsed));
    if !matches!(kind, Kind::Solicit | Kind::Rebind) {
        o.insert(DhcpOption::ServerId(server_id.to_vec()));
    }
    // Release and Decline ask for nothing; option 32 is for
    // Information-requests only (RFC 8415 21.23).
    if !matches!(kind, Kind::Release | Kind::Decline) {
        o.insert(DhcpOption::ORO(v6::ORO {
            opts: super::ASKED[..4].to_vec(),
        }));
    }
    // T1, T2 and the lifetimes are the server's to choose: zero (21.4, 21.6).
    let opts = addresses
        .iter()
        .map(|&addr| {
            DhcpOption::IAAddr(v6::IAAddr {
                addr,
                preferred_life: 0,
                valid_life: 0,
                opts: v6::DhcpOptions::new(),
            })
        })
        .collect();
    o.insert(DhcpOption::IANA(v6::IANA {
        id: iaid,
        t1: 0,
        t2: 0,
        opts,
    }));
    encode(&m)
}

/// Reads an Advertise to our Solicit `xid`. One with a status other than
/// Success, or no address we could use, is of no use to us (18.2.9).
pub fn read_advertise(
    bytes: &[u8],
    xid: u32,
    duid: &Duid,
    iaid: u32,
) -> Result<Advertise, IaError> {
    let m = check_message(bytes, v6::MessageType::Advertise, xid, duid)?;
    status(m.opts())?;
    let (_, addresses) = read_ia(&m, iaid)?;
    let preference = match m.opts().get(v6::OptionCode::Preference) {
        Some(DhcpOption::Preference(p)) => *p,
        _ => 0,
    };
    Ok(Advertise {
        server_id: server_id(&m).unwrap_or_default().to_vec(),
        preference,
        addresses: addresses.iter().map(|a| a.address).collect(),
    })
}

/// Reads the Reply to our Request, Renew or Rebind `xid`.
pub fn read_reply(bytes: &[u8], xid: u32, duid: &Duid, iaid: u32) -> Result<Binding, IaError> {
    let m = check_message(bytes, v6::MessageType::Reply, xid, duid)?;
    status(m.opts())?;
    let (ia, addresses) = read_ia(&m, iaid)?;
    let (t1, t2) = times(ia.t1, ia.t2, &addresses);
    let other = other_config(&m);
    Ok(Binding {
        server_id: other.server_id.clone(),
        t1,
        t2,
        addresses,
        other,
    })
}

/// Our IA_NA in `m`, and the addresses in it we can use.
fn read_ia(m: &v6::Message, iaid: u32) -> Result<(&v6::IANA, Vec<IaAddress>), IaError> {
    let ia = m
        .opts()
        .iter()
        .find_map(|o| match o {
            DhcpOption::IANA(ia) if ia.id == iaid => Some(ia),
            _ => None,
        })
        .ok_or(IaError::NoIa(iaid))?;
    status(&ia.opts)?;
    // 21.4: such an IA is to be discarded.
    if ia.t2 != 0 && ia.t1 > ia.t2 {
        return Err(IaError::T1AfterT2 {
            t1: ia.t1,
            t2: ia.t2,
        });
    }
    let mut addresses: Vec<IaAddress> = Vec::new();
    for o in ia.opts.iter() {
        let DhcpOption::IAAddr(a) = o else { continue };
        // 21.6: preferred past valid is discarded; a zero valid lifetime
        // takes the address away; and no host may have some addresses.
        let usable = a.preferred_life <= a.valid_life
            && a.valid_life != 0
            && status(&a.opts).is_ok()
            && is_unicast(a.addr)
            && !addresses.iter().any(|b| b.address == a.addr);
        if usable && addresses.len() < MAX_ADDRESSES {
            addresses.push(IaAddress {
                address: a.addr,
                preferred: lifetime(a.preferred_life),
                valid: lifetime(a.valid_life),
            });
        }
    }
    if addresses.is_empty() {
        return Err(IaError::NoAddresses);
    }
    Ok((ia, addresses))
}

fn is_unicast(a: Ipv6Addr) -> bool {
    let link_local = a.segments()[0] & 0xffc0 == 0xfe80;
    !(a.is_unspecified() || a.is_loopback() || a.is_multicast() || link_local)
}

fn lifetime(secs: u32) -> Option<Duration> {
    (secs != INFINITY).then(|| Duration::from_secs(secs.into()))
}

/// T1 and T2 from the IA; a zero is ours to choose (21.4): half and four
/// fifths of the shortest preferred lifetime (18.2.4, 18.2.5).
fn times(t1: u32, t2: u32, addresses: &[IaAddress]) -> (Option<Duration>, Option<Duration>) {
    // A deprecated address (preferred 0) would have us renew at once,
    // forever: its valid lifetime counts instead.
    let shortest = addresses
        .iter()
        .filter_map(|a| match a.preferred {
            Some(Duration::ZERO) => a.valid,
            p => p,
        })
        .min();
    let pick = |given: u32, tenths: u32| match given {
        0 => shortest.map(|s| s * tenths / 10),
        t => lifetime(t),
    };
    let t1 = pick(t1, 5);
    // A chosen T2 is never before T1.
    let t2 = pick(t2, 8).map(|t2| t1.map_or(t2, |t1| t1.max(t2)));
    (t1, t2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dhcproto::{Decodable, Decoder};

    const MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
    const SERVER: [u8; 10] = [0, 3, 0, 1, 2, 0, 0, 0, 0, 0xaa];

    fn ip(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn iaaddr(addr: &str, preferred: u32, valid: u32) -> DhcpOption {
        DhcpOption::IAAddr(v6::IAAddr {
            addr: ip(addr),
            preferred_life: preferred,
            valid_life: valid,
            opts: v6::DhcpOptions::new(),
        })
    }

    fn ia(id: u32, t1: u32, t2: u32, opts: Vec<DhcpOption>) -> DhcpOption {
        DhcpOption::IANA(v6::IANA {
            id,
            t1,
            t2,
            opts: opts.into_iter().collect(),
        })
    }

    fn message(ty: v6::MessageType, xid: u32, opts: Vec<DhcpOption>) -> Vec<u8> {
        let mut m = v6::Message::new(ty);
        m.set_xid_num(xid);
        let o = m.opts_mut();
        o.insert(DhcpOption::ServerId(SERVER.to_vec()));
        o.insert(DhcpOption::ClientId(
            Duid::LinkLayer { mac: MAC }.to_bytes(),
        ));
        for opt in opts {
            o.insert(opt);
        }
        encode(&m)
    }

    fn reply(t1: u32, t2: u32, addrs: Vec<DhcpOption>) -> Result<Binding, IaError> {
        let bytes = message(v6::MessageType::Reply, 9, vec![ia(1, t1, t2, addrs)]);
        read_reply(&bytes, 9, &Duid::LinkLayer { mac: MAC }, 1)
    }

    fn secs(s: u64) -> Option<Duration> {
        Some(Duration::from_secs(s))
    }

    #[test]
    fn messages_carry_what_each_kind_needs() {
        let duid = Duid::LinkLayer { mac: MAC };
        let held = [ip("2001:db8::5")];
        for kind in [
            Kind::Solicit,
            Kind::Request,
            Kind::Renew,
            Kind::Rebind,
            Kind::Release,
            Kind::Decline,
        ] {
            let bytes = client_message(kind, 0x1_abcdef, 30, &duid, 7, &SERVER, &held);
            let m = v6::Message::decode(&mut Decoder::new(&bytes)).unwrap();
            assert_eq!(m.msg_type(), kind.message_type());
            assert_eq!(m.xid_num(), 0xabcdef, "24 bits");
            let o = m.opts();
            assert_eq!(
                o.get(v6::OptionCode::ClientId),
                Some(&DhcpOption::ClientId(duid.to_bytes()))
            );
            assert_eq!(
                o.get(v6::OptionCode::ElapsedTime),
                Some(&DhcpOption::ElapsedTime(30))
            );
            let to_one = !matches!(kind, Kind::Solicit | Kind::Rebind);
            assert_eq!(
                o.get(v6::OptionCode::ServerId).is_some(),
                to_one,
                "{kind:?}"
            );
            let asks = !matches!(kind, Kind::Release | Kind::Decline);
            match o.get(v6::OptionCode::ORO) {
                Some(DhcpOption::ORO(oro)) => {
                    assert!(asks, "{kind:?}");
                    let codes: Vec<u16> = oro.opts.iter().map(|&c| c.into()).collect();
                    assert_eq!(codes, [23, 24, 56, 31]);
                }
                _ => assert!(!asks, "{kind:?}"),
            }
            let Some(DhcpOption::IANA(ia)) = o.get(v6::OptionCode::IANA) else {
                panic!("{kind:?}: no IA_NA")
            };
            assert_eq!((ia.id, ia.t1, ia.t2), (7, 0, 0));
            let Some(DhcpOption::IAAddr(a)) = ia.opts.get(v6::OptionCode::IAAddr) else {
                panic!("{kind:?}: no address")
            };
            assert_eq!((a.addr, a.preferred_life, a.valid_life), (held[0], 0, 0));
        }
        // A Solicit asks for any address: its IA_NA is empty.
        let bytes = client_message(Kind::Solicit, 1, 0, &duid, 7, &[], &[]);
        let m = v6::Message::decode(&mut Decoder::new(&bytes)).unwrap();
        let Some(DhcpOption::IANA(ia)) = m.opts().get(v6::OptionCode::IANA) else {
            panic!()
        };
        assert!(ia.opts.iter().next().is_none());
    }

    #[test]
    fn an_advertise_gives_server_preference_and_addresses() {
        let duid = Duid::LinkLayer { mac: MAC };
        let bytes = message(
            v6::MessageType::Advertise,
            9,
            vec![
                DhcpOption::Preference(200),
                ia(1, 0, 0, vec![iaaddr("2001:db8::5", 100, 200)]),
            ],
        );
        let adv = read_advertise(&bytes, 9, &duid, 1).unwrap();
        assert_eq!(adv.server_id, SERVER);
        assert_eq!(adv.preference, 200);
        assert_eq!(adv.addresses, [ip("2001:db8::5")]);
        // Another IAID's IA is not ours; a Reply is not an Advertise.
        assert_eq!(read_advertise(&bytes, 9, &duid, 2), Err(IaError::NoIa(2)));
        assert!(matches!(
            read_advertise(&bytes, 8, &duid, 1),
            Err(IaError::Message(ReplyError::OtherTransaction { .. }))
        ));
        let reply = message(
            v6::MessageType::Reply,
            9,
            vec![ia(1, 0, 0, vec![iaaddr("2001:db8::5", 100, 200)])],
        );
        assert!(matches!(
            read_advertise(&reply, 9, &duid, 1),
            Err(IaError::Message(ReplyError::WrongType { .. }))
        ));
    }

    #[test]
    fn no_addrs_avail_in_the_message_or_the_ia_makes_an_advertise_useless() {
        let duid = Duid::LinkLayer { mac: MAC };
        let none = |msg: &str| {
            DhcpOption::StatusCode(v6::StatusCode {
                status: v6::Status::NoAddrsAvail,
                msg: msg.into(),
            })
        };
        let at_message = message(
            v6::MessageType::Advertise,
            9,
            vec![none("all gone"), ia(1, 0, 0, vec![])],
        );
        let e = read_advertise(&at_message, 9, &duid, 1).unwrap_err();
        assert_eq!(e.status(), Some(v6::Status::NoAddrsAvail));
        let at_ia = message(
            v6::MessageType::Advertise,
            9,
            vec![ia(1, 0, 0, vec![none("none for you")])],
        );
        let e = read_advertise(&at_ia, 9, &duid, 1).unwrap_err();
        assert_eq!(e.status(), Some(v6::Status::NoAddrsAvail));
        let empty = message(v6::MessageType::Advertise, 9, vec![ia(1, 0, 0, vec![])]);
        assert_eq!(
            read_advertise(&empty, 9, &duid, 1),
            Err(IaError::NoAddresses)
        );
    }

    #[test]
    fn a_reply_gives_lifetimes_and_the_servers_t1_t2() {
        let b = reply(
            1000,
            1600,
            vec![
                iaaddr("2001:db8::5", 3000, 4000),
                iaaddr("2001:db8::6", INFINITY, INFINITY),
            ],
        )
        .unwrap();
        assert_eq!(b.server_id, SERVER);
        assert_eq!((b.t1, b.t2), (secs(1000), secs(1600)));
        assert_eq!(
            b.addresses,
            [
                IaAddress {
                    address: ip("2001:db8::5"),
                    preferred: secs(3000),
                    valid: secs(4000)
                },
                IaAddress {
                    address: ip("2001:db8::6"),
                    preferred: None,
                    valid: None
                },
            ]
        );
        let never = reply(INFINITY, INFINITY, vec![iaaddr("2001:db8::5", 30, 40)]).unwrap();
        assert_eq!((never.t1, never.t2), (None, None));
    }

    #[test]
    fn zero_t1_t2_are_half_and_four_fifths_of_the_shortest_preferred_lifetime() {
        let addrs = || {
            vec![
                iaaddr("2001:db8::5", 3000, 4000),
                iaaddr("2001:db8::6", 1000, 4000),
            ]
        };
        let b = reply(0, 0, addrs()).unwrap();
        assert_eq!((b.t1, b.t2), (secs(500), secs(800)));
        // Only T2 ours to choose, and it would come before the given T1.
        let b = reply(900, 0, addrs()).unwrap();
        assert_eq!((b.t1, b.t2), (secs(900), secs(900)));
        let b = reply(0, 700, addrs()).unwrap();
        assert_eq!((b.t1, b.t2), (secs(500), secs(700)));
        // A deprecated address counts with its valid lifetime.
        let b = reply(0, 0, vec![iaaddr("2001:db8::5", 0, 100)]).unwrap();
        assert_eq!((b.t1, b.t2), (secs(50), secs(80)));
        // Infinite lifetimes: never.
        let b = reply(0, 0, vec![iaaddr("2001:db8::5", INFINITY, INFINITY)]).unwrap();
        assert_eq!((b.t1, b.t2), (None, None));
    }

    #[test]
    fn bad_ias_and_addresses_are_ignored() {
        assert_eq!(
            reply(2000, 1000, vec![iaaddr("2001:db8::5", 30, 40)]),
            Err(IaError::T1AfterT2 { t1: 2000, t2: 1000 })
        );
        // T1 above a zero T2 is fine: T2 is ours to choose.
        assert!(reply(2000, 0, vec![iaaddr("2001:db8::5", 30, 40)]).is_ok());
        let b = reply(
            0,
            0,
            vec![
                iaaddr("2001:db8::1", 50, 40), // preferred past valid
                iaaddr("2001:db8::2", 0, 0),   // taken away
                iaaddr("ff02::1", 30, 40),
                iaaddr("fe80::1", 30, 40),
                iaaddr("::1", 30, 40),
                iaaddr("::", 30, 40),
                iaaddr("2001:db8::5", 30, 40),
                iaaddr("2001:db8::5", 60, 80), // twice
            ],
        )
        .unwrap();
        assert_eq!(b.addresses.len(), 1);
        assert_eq!(b.addresses[0].valid, secs(40));
        assert_eq!(
            reply(0, 0, vec![iaaddr("2001:db8::2", 0, 0)]),
            Err(IaError::NoAddresses)
        );
        let many = (0..20)
            .map(|i| iaaddr(&format!("2001:db8::{}", i + 1), 30, 40))
            .collect();
        assert_eq!(reply(0, 0, many).unwrap().addresses.len(), MAX_ADDRESSES);
    }

    #[test]
    fn ia_status_codes_are_errors_with_their_status() {
        let e = reply(
            0,
            0,
            vec![DhcpOption::StatusCode(v6::StatusCode {
                status: v6::Status::NoBinding,
                msg: "who?".into(),
            })],
        )
        .unwrap_err();
        assert_eq!(e.status(), Some(v6::Status::NoBinding));
        assert_eq!(IaError::NoAddresses.status(), None);
    }

    #[test]
    fn a_reply_gives_dns_and_ntp_like_a_stateless_one() {
        let bytes = message(
            v6::MessageType::Reply,
            9,
            vec![
                ia(1, 0, 0, vec![iaaddr("2001:db8::5", 30, 40)]),
                DhcpOption::DomainNameServers(vec![ip("2001:db8::53")]),
                DhcpOption::DomainSearchList(vec!["Example.TEST.".parse().unwrap()]),
                DhcpOption::NtpServer(vec![v6::NtpSuboption::ServerAddress(ip("2001:db8::123"))]),
            ],
        );
        let b = read_reply(&bytes, 9, &Duid::LinkLayer { mac: MAC }, 1).unwrap();
        assert_eq!(b.other.dns_servers, [ip("2001:db8::53")]);
        assert_eq!(b.other.search_domains, ["example.test"]);
        assert_eq!(b.other.ntp_servers, ["2001:db8::123"]);
    }

    #[test]
    fn malformed_nesting_is_an_error_not_a_panic() {
        let duid = Duid::LinkLayer { mac: MAC };
        let good = message(
            v6::MessageType::Reply,
            9,
            vec![ia(1, 0, 0, vec![iaaddr("2001:db8::5", 30, 40)])],
        );
        assert!(read_reply(&good, 9, &duid, 1).is_ok());
        // The IA_NA is last: its length, then the IA Address's, past the end.
        let ia_at = good.len() - (4 + 12 + 4 + 24);
        for at in [ia_at + 2, ia_at + 16 + 2] {
            let mut m = good.clone();
            m[at] = 0xff;
            assert!(
                matches!(
                    read_reply(&m, 9, &duid, 1),
                    Err(IaError::Message(ReplyError::Malformed(_)))
                ),
                "length at {at}"
            );
        }
        // A Status Code of no bytes; a Preference of two.
        let mut short_status = good.clone();
        short_status.extend_from_slice(&[0, 13, 0, 0, 0, 1, 0, 0]);
        assert!(read_reply(&short_status, 9, &duid, 1).is_err());
        let mut long_pref = good.clone();
        long_pref.extend_from_slice(&[0, 7, 0, 2, 1, 1]);
        assert!(read_reply(&long_pref, 9, &duid, 1).is_err());
        // DNS servers of 15 bytes: dhcproto drops it, and all after it.
        let mut odd_dns = good.clone();
        odd_dns.extend_from_slice(&[0, 23, 0, 15]);
        odd_dns.extend_from_slice(&[0; 15]);
        assert!(read_reply(&odd_dns, 9, &duid, 1).is_err());
        // IA_NAs inside IA_NAs, deeper than any message needs.
        let mut deep = vec![0u8, 3, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        for _ in 0..5 {
            let mut outer = vec![0, 3];
            outer.extend_from_slice(&((12 + deep.len()) as u16).to_be_bytes());
            outer.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
            outer.extend_from_slice(&deep);
            deep = outer;
        }
        let mut m = good[..4].to_vec();
        m.extend_from_slice(&deep);
        assert!(matches!(
            read_reply(&m, 9, &duid, 1),
            Err(IaError::Message(ReplyError::Malformed(_)))
        ));
    }
}
