//! rtnetlink for IPv6: the addresses SLAAC and DHCPv6 add (with their
//! lifetimes, and DAD left on), what the kernel says of them, and the
//! routes router discovery installs.

use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

use anyhow::{Context, Result};
use rtnetlink::packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, CacheInfo,
};
use rtnetlink::packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourMessage, NeighbourState,
};
use rtnetlink::packet_route::route::{RouteAttribute, RouteMetric, RouteProtocol};
use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::{AddressMessageBuilder, MulticastGroup, RouteMessageBuilder};
use tokio::sync::mpsc;

use super::net::{errno, subscribe, Net};
use crate::nd::Route;
use crate::plan::METRIC_BASE;
use crate::ra::Preference;

/// What the IPv6 monitor hears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ipv6Event {
    Address(Addr6),
    /// Neighbour discovery found a neighbour reachable, or gave up on it.
    Neighbour {
        index: u32,
        address: Ipv6Addr,
        reachable: bool,
    },
    /// The kernel dropped events: read the addresses again.
    Lost,
}

/// An IPv6 neighbour found reachable, or given up on (FAILED); the states
/// in between say nothing yet.
fn neighbour_event(m: &NeighbourMessage) -> Option<Ipv6Event> {
    if m.header.family != AddressFamily::Inet6 {
        return None;
    }
    let reachable = match m.header.state {
        NeighbourState::Reachable => true,
        NeighbourState::Failed => false,
        _ => return None,
    };
    let address = m.attributes.iter().find_map(|a| match a {
        NeighbourAttribute::Destination(NeighbourAddress::Inet6(a)) => Some(*a),
        _ => None,
    })?;
    Some(Ipv6Event::Neighbour {
        index: m.header.ifindex,
        address,
        reachable,
    })
}

/// What the kernel says of one IPv6 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addr6 {
    pub index: u32,
    pub address: Ipv6Addr,
    pub dad: Dad,
}

/// Where duplicate address detection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dad {
    Tentative,
    /// Usable: DAD passed (or was not run).
    Done,
    Failed,
    /// The address is gone.
    Removed,
}

impl Addr6 {
    fn from_message(m: &AddressMessage, removed: bool) -> Option<Addr6> {
        if m.header.family != AddressFamily::Inet6 {
            return None;
        }
        let mut address = None;
        // IFA_FLAGS holds all 32 bits; the header only the low eight.
        let mut flags = AddressFlags::from_bits_truncate(m.header.flags.bits().into());
        for a in &m.attributes {
            match a {
                AddressAttribute::Address(IpAddr::V6(a)) => address = Some(*a),
                AddressAttribute::Flags(f) => flags = *f,
                _ => {}
            }
        }
        // The kernel deletes an address with lifetimes whose DAD failed,
        // saying so in the flags of the deletion.
        let dad = if flags.contains(AddressFlags::Dadfailed) {
            Dad::Failed
        } else if removed {
            Dad::Removed
        } else if flags.contains(AddressFlags::Tentative) {
            Dad::Tentative
        } else {
            Dad::Done
        };
        Some(Addr6 {
            index: m.header.index,
            address: address?,
            dad,
        })
    }
}

/// Seconds for the kernel: 0xffffffff is forever.
fn kernel_lifetime(d: Option<Duration>) -> u32 {
    d.map_or(u32::MAX, |d| {
        d.as_secs().min(u64::from(u32::MAX - 1)) as u32
    })
}

fn route_preference(p: Preference) -> u8 {
    // RFC 4191's two bits, as the kernel's RTA_PREF takes them.
    match p {
        Preference::High => 1,
        Preference::Medium => 0,
        Preference::Low => 3,
    }
}

impl Net {
    /// Subscribes to the IPv6 address and neighbour changes of every link.
    pub fn monitor6() -> Result<mpsc::UnboundedReceiver<Ipv6Event>> {
        fn read(m: RouteNetlinkMessage) -> Option<Ipv6Event> {
            match m {
                RouteNetlinkMessage::NewAddress(m) => {
                    Addr6::from_message(&m, false).map(Ipv6Event::Address)
                }
                RouteNetlinkMessage::DelAddress(m) => {
                    Addr6::from_message(&m, true).map(Ipv6Event::Address)
                }
                RouteNetlinkMessage::NewNeighbour(m) => neighbour_event(&m),
                _ => None,
            }
        }
        subscribe(
            &[MulticastGroup::Ipv6Ifaddr, MulticastGroup::Neigh],
            "IPv6 address and neighbour",
            read,
            Ipv6Event::Lost,
        )
    }

    /// The IPv6 addresses on a link now.
    pub async fn addresses6(&self, index: u32) -> Result<Vec<Addr6>> {
        let all = self.address_messages(index).await?;
        Ok(all
            .iter()
            .filter_map(|m| Addr6::from_message(m, false))
            .collect())
    }

    /// Adds an address, or updates its lifetimes. DAD runs on a new one
    /// (no IFA_F_NODAD); no prefix route comes with it, since router
    /// discovery installs the on-link routes it is told of.
    pub async fn add_address6(
        &self,
        index: u32,
        address: Ipv6Addr,
        prefix_len: u8,
        valid: Option<Duration>,
        preferred: Option<Duration>,
    ) -> Result<()> {
        let mut req = self
            .handle
            .address()
            .add(index, IpAddr::V6(address), prefix_len);
        let m = req.message_mut();
        m.header.flags = AddressHeaderFlags::empty();
        m.attributes
            .push(AddressAttribute::Flags(AddressFlags::Noprefixroute));
        let mut lifetimes = CacheInfo::default();
        lifetimes.ifa_preferred = kernel_lifetime(preferred);
        lifetimes.ifa_valid = kernel_lifetime(valid);
        m.attributes.push(AddressAttribute::CacheInfo(lifetimes));
        req.replace()
            .execute()
            .await
            .with_context(|| format!("adding address {address}/{prefix_len}"))
    }

    /// Removes an address; one already gone is not an error.
    pub async fn remove_address6(
        &self,
        index: u32,
        address: Ipv6Addr,
        prefix_len: u8,
    ) -> Result<()> {
        let msg = AddressMessageBuilder::<Ipv6Addr>::new()
            .index(index)
            .address(address, prefix_len)
            .build();
        match self.handle.address().del(msg).execute().await {
            Err(e) if !matches!(errno(&e), Some(libc::EADDRNOTAVAIL | libc::ENODEV)) => {
                Err(e).with_context(|| format!("removing address {address}/{prefix_len}"))
            }
            _ => Ok(()),
        }
    }

    /// Adds (or replaces) a route out of the link, protocol ra, metric
    /// 1000 + ifindex as for IPv4, with the advertised MTU.
    pub async fn add_route6(&self, index: u32, r: &Route, mtu: Option<u32>) -> Result<()> {
        let mut msg = route6_message(index, r);
        msg.attributes.push(RouteAttribute::Preference(
            route_preference(r.preference).into(),
        ));
        if let Some(m) = mtu {
            msg.attributes
                .push(RouteAttribute::Metrics(vec![RouteMetric::Mtu(m)]));
        }
        self.handle
            .route()
            .add(msg)
            .replace()
            .execute()
            .await
            .with_context(|| format!("adding route {}", show_route6(r)))
    }

    /// Removes a route; one already gone is not an error.
    pub async fn remove_route6(&self, index: u32, r: &Route) -> Result<()> {
        match self
            .handle
            .route()
            .del(route6_message(index, r))
            .execute()
            .await
        {
            Err(e) if !matches!(errno(&e), Some(libc::ESRCH | libc::ENODEV)) => {
                Err(e).with_context(|| format!("removing route {}", show_route6(r)))
            }
            _ => Ok(()),
        }
    }
}

fn route6_message(index: u32, r: &Route) -> rtnetlink::packet_route::route::RouteMessage {
    let mut b = RouteMessageBuilder::<Ipv6Addr>::new()
        .destination_prefix(r.destination, r.prefix_len)
        .output_interface(index)
        .priority(METRIC_BASE + index)
        .protocol(RouteProtocol::Ra);
    if let Some(gw) = r.via {
        b = b.gateway(gw);
    }
    b.build()
}

pub fn show_route6(r: &Route) -> String {
    match r.via {
        Some(gw) => format!("{}/{} via {gw}", r.destination, r.prefix_len),
        None => format!("{}/{} on-link", r.destination, r.prefix_len),
    }
}

/// Stops the kernel acting on router advertisements itself (accept_ra 0),
/// as dhcpcd does, so that the addresses and routes are ours alone.
/// Returns the value it had, when that was not 0, for [`restore_kernel_ra`].
pub fn disable_kernel_ra(interface: &str) -> std::io::Result<Option<String>> {
    let path = accept_ra_path(interface);
    let before = std::fs::read_to_string(&path)?.trim().to_string();
    if before == "0" {
        return Ok(None);
    }
    std::fs::write(&path, "0")?;
    Ok(Some(before))
}

/// Gives router advertisements back to the kernel.
pub fn restore_kernel_ra(interface: &str, value: &str) -> std::io::Result<()> {
    std::fs::write(accept_ra_path(interface), value)
}

fn accept_ra_path(interface: &str) -> String {
    format!("/proc/sys/net/ipv6/conf/{interface}/accept_ra")
}

/// Whether IPv6 is on for the interface (the kernel may have it off).
pub fn ipv6_enabled(interface: &str) -> bool {
    let path = format!("/proc/sys/net/ipv6/conf/{interface}/disable_ipv6");
    std::fs::read_to_string(path).is_ok_and(|v| v.trim() == "0")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(flags: AddressFlags) -> AddressMessage {
        let mut m = AddressMessage::default();
        m.header.family = AddressFamily::Inet6;
        m.header.index = 7;
        m.attributes.push(AddressAttribute::Address(IpAddr::V6(
            "2001:db8::5".parse().unwrap(),
        )));
        m.attributes.push(AddressAttribute::Flags(flags));
        m
    }

    #[test]
    fn dad_verdicts_from_address_events() {
        let dad = |flags, removed| Addr6::from_message(&message(flags), removed).unwrap().dad;
        assert_eq!(dad(AddressFlags::Tentative, false), Dad::Tentative);
        assert_eq!(dad(AddressFlags::Noprefixroute, false), Dad::Done);
        assert_eq!(
            dad(AddressFlags::Dadfailed | AddressFlags::Tentative, false),
            Dad::Failed
        );
        // An address with lifetimes whose DAD failed is deleted, not kept.
        let failed = AddressFlags::Dadfailed | AddressFlags::Tentative;
        assert_eq!(dad(failed, true), Dad::Failed);
        assert_eq!(dad(AddressFlags::Noprefixroute, true), Dad::Removed);
        let a = Addr6::from_message(&message(AddressFlags::empty()), false).unwrap();
        assert_eq!((a.index, a.address.to_string()), (7, "2001:db8::5".into()));
        let mut v4 = message(AddressFlags::empty());
        v4.header.family = AddressFamily::Inet;
        assert_eq!(Addr6::from_message(&v4, false), None);
    }

    #[test]
    fn lifetimes_for_the_kernel() {
        assert_eq!(kernel_lifetime(None), u32::MAX);
        assert_eq!(kernel_lifetime(Some(Duration::from_secs(3600))), 3600);
        assert_eq!(
            kernel_lifetime(Some(Duration::from_secs(u64::MAX))),
            u32::MAX - 1
        );
    }
}
