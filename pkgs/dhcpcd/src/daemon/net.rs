//! rtnetlink: links and their carrier, and applying or removing a lease's
//! [`Plan`].

use std::net::{IpAddr, Ipv4Addr};

use anyhow::{Context, Result};
use futures_util::StreamExt;
use rtnetlink::packet_core::NetlinkPayload;
use rtnetlink::packet_route::address::{AddressAttribute, AddressMessage};
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkLayerType, LinkMessage};
use rtnetlink::packet_route::route::{RouteProtocol, RouteScope};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::{AddressMessageBuilder, Handle, LinkUnspec, MulticastGroup, RouteMessageBuilder};
use tokio::sync::mpsc;

use crate::plan::{Plan, PlannedRoute, METRIC_BASE};

/// What we know about a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    pub index: u32,
    pub name: String,
    pub mac: Option<[u8; 6]>,
    pub mtu: u32,
    pub up: bool,
    /// IFF_RUNNING: the link is up and has carrier.
    pub carrier: bool,
    pub loopback: bool,
    pub ethernet: bool,
}

impl LinkInfo {
    pub fn from_message(m: &LinkMessage) -> LinkInfo {
        let mut info = LinkInfo {
            index: m.header.index,
            name: String::new(),
            mac: None,
            mtu: 1500,
            up: m.header.flags.contains(LinkFlags::Up),
            carrier: m.header.flags.contains(LinkFlags::Running),
            loopback: m.header.flags.contains(LinkFlags::Loopback),
            ethernet: m.header.link_layer_type == LinkLayerType::Ether,
        };
        for a in &m.attributes {
            match a {
                LinkAttribute::IfName(n) => info.name = n.clone(),
                LinkAttribute::Address(b) => info.mac = b.as_slice().try_into().ok(),
                LinkAttribute::Mtu(m) => info.mtu = *m,
                _ => {}
            }
        }
        info
    }
}

/// A link appeared or changed, or went away.
#[derive(Debug, Clone)]
pub enum LinkEvent {
    Changed(LinkInfo),
    Removed(u32),
    /// The kernel dropped events (the socket's buffer overran): list the
    /// links again.
    Lost,
}

/// What [`Net::apply`] installed, to remove exactly that later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub plan: Plan,
    /// The MTU before we changed it.
    pub mtu_before: Option<u32>,
}

/// A handle on the rtnetlink connection.
#[derive(Clone)]
pub struct Net {
    pub(super) handle: Handle,
}

pub(super) fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => Some(m.raw_code().abs()),
        _ => None,
    }
}

impl Net {
    /// Opens the connection; its task runs on the current runtime.
    pub fn connect() -> Result<Net> {
        let (conn, handle, _) = rtnetlink::new_connection().context("opening a netlink socket")?;
        tokio::spawn(conn);
        Ok(Net { handle })
    }

    /// Subscribes to link changes (RTMGRP_LINK). Subscribe before listing
    /// links, so that no change falls in between.
    pub fn monitor() -> Result<mpsc::UnboundedReceiver<LinkEvent>> {
        subscribe(
            &[MulticastGroup::Link],
            "link",
            |m| match m {
                RouteNetlinkMessage::NewLink(l) => {
                    Some(LinkEvent::Changed(LinkInfo::from_message(&l)))
                }
                RouteNetlinkMessage::DelLink(l) => Some(LinkEvent::Removed(l.header.index)),
                _ => None,
            },
            LinkEvent::Lost,
        )
    }

    pub async fn links(&self) -> Result<Vec<LinkInfo>> {
        let mut out = Vec::new();
        let mut s = self.handle.link().get().execute();
        while let Some(m) = s.next().await {
            out.push(LinkInfo::from_message(&m.context("listing links")?));
        }
        Ok(out)
    }

    pub async fn link(&self, index: u32) -> Result<Option<LinkInfo>> {
        let mut s = self.handle.link().get().match_index(index).execute();
        match s.next().await {
            Some(Ok(m)) => Ok(Some(LinkInfo::from_message(&m))),
            Some(Err(e)) if errno(&e) == Some(libc::ENODEV) => Ok(None),
            Some(Err(e)) => Err(e).context("reading a link"),
            None => Ok(None),
        }
    }

    pub async fn set_up(&self, index: u32) -> Result<()> {
        self.handle
            .link()
            .set(LinkUnspec::new_with_index(index).up().build())
            .execute()
            .await
            .context("setting the link up")
    }

    async fn set_mtu(&self, index: u32, mtu: u32) -> Result<()> {
        self.handle
            .link()
            .set(LinkUnspec::new_with_index(index).mtu(mtu).build())
            .execute()
            .await
            .with_context(|| format!("setting MTU {mtu}"))
    }

    /// Every address on a link now, as the kernel lists them.
    pub(super) async fn address_messages(&self, index: u32) -> Result<Vec<AddressMessage>> {
        let mut out = Vec::new();
        let mut s = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .execute();
        while let Some(m) = s.next().await {
            out.push(m.context("listing addresses")?);
        }
        Ok(out)
    }

    /// Whether `address` is on the link.
    pub async fn has_address(&self, index: u32, address: Ipv4Addr) -> Result<bool> {
        let found = self.address_messages(index).await?.iter().any(|m| {
            m.attributes
                .iter()
                .any(|a| matches!(a, AddressAttribute::Address(IpAddr::V4(a)) if *a == address))
        });
        Ok(found)
    }

    /// Applies `plan` to the link: MTU, address with prefix and broadcast,
    /// routes (with metric 1000 + ifindex, protocol dhcp). Routes of
    /// `previous` that the new plan lacks are removed. Route and MTU
    /// failures are returned as warnings; an address failure is an error.
    pub async fn apply(
        &self,
        index: u32,
        plan: &Plan,
        previous: Option<&Applied>,
        link_mtu: u32,
    ) -> Result<(Applied, Vec<String>)> {
        let mut warnings = Vec::new();
        let mut mtu_before = previous.and_then(|p| p.mtu_before);
        match plan.mtu.map(u32::from) {
            Some(m) if m != link_mtu => match self.set_mtu(index, m).await {
                Ok(()) => mtu_before = mtu_before.or(Some(link_mtu)),
                Err(e) => warnings.push(format!("{e:#}")),
            },
            Some(_) => {}
            None => {
                // A renewal without option 26: back to the original MTU.
                if let Some(m) = mtu_before.take() {
                    if let Err(e) = self.set_mtu(index, m).await {
                        warnings.push(format!("{e:#}"));
                    }
                }
            }
        }

        let mut req = self
            .handle
            .address()
            .add(index, IpAddr::V4(plan.address), plan.prefix_len);
        let attrs = &mut req.message_mut().attributes;
        attrs.retain(|a| !matches!(a, AddressAttribute::Broadcast(_)));
        if plan.prefix_len < 31 {
            attrs.push(AddressAttribute::Broadcast(plan.broadcast));
        }
        req.replace()
            .execute()
            .await
            .with_context(|| format!("adding address {}/{}", plan.address, plan.prefix_len))?;

        let metric = METRIC_BASE + index;
        for r in &plan.routes {
            let msg = route_message(index, metric, plan.address, r);
            if let Err(e) = self.handle.route().add(msg).replace().execute().await {
                warnings.push(format!("adding route {}: {e}", show_route(r)));
            }
        }
        if let Some(prev) = previous {
            // Routes of the previous lease that this one does not have.
            let stale = prev.plan.routes.iter().filter(|r| !plan.routes.contains(r));
            for r in stale {
                self.delete_route(index, metric, prev.plan.address, r).await;
            }
        }
        Ok((
            Applied {
                plan: plan.clone(),
                mtu_before,
            },
            warnings,
        ))
    }

    async fn delete_route(&self, index: u32, metric: u32, src: Ipv4Addr, r: &PlannedRoute) {
        let msg = route_message(index, metric, src, r);
        // Gone already (the address went, or someone removed it): fine.
        let _ = self.handle.route().del(msg).execute().await;
    }

    /// Removes what [`Net::apply`] installed. Errors for things that are
    /// already gone are ignored; others are returned as warnings.
    pub async fn remove(&self, index: u32, applied: &Applied) -> Vec<String> {
        let mut warnings = Vec::new();
        let plan = &applied.plan;
        let metric = METRIC_BASE + index;
        for r in plan.routes.iter().rev() {
            self.delete_route(index, metric, plan.address, r).await;
        }
        let msg = AddressMessageBuilder::<Ipv4Addr>::new()
            .index(index)
            .address(plan.address, plan.prefix_len)
            .build();
        if let Err(e) = self.handle.address().del(msg).execute().await {
            if !matches!(errno(&e), Some(libc::EADDRNOTAVAIL | libc::ENODEV)) {
                warnings.push(format!(
                    "removing address {}/{}: {e}",
                    plan.address, plan.prefix_len
                ));
            }
        }
        if let Some(m) = applied.mtu_before {
            if let Err(e) = self.set_mtu(index, m).await {
                if !matches!(
                    e.downcast_ref::<rtnetlink::Error>().and_then(errno),
                    Some(libc::ENODEV)
                ) {
                    warnings.push(format!("{e:#}"));
                }
            }
        }
        warnings
    }
}

/// Subscribes to netlink multicast groups, passing on what `read` makes
/// of each message until the receiver is dropped, and `lost` where the
/// kernel dropped messages because we read too slowly.
pub(super) fn subscribe<T: Clone + Send + 'static>(
    groups: &[MulticastGroup],
    what: &str,
    read: fn(RouteNetlinkMessage) -> Option<T>,
    lost: T,
) -> Result<mpsc::UnboundedReceiver<T>> {
    let (conn, _handle, mut messages) = rtnetlink::new_multicast_connection(groups)
        .with_context(|| format!("subscribing to netlink {what} events"))?;
    tokio::spawn(conn);
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some((msg, _)) = messages.next().await {
            let ev = match msg.payload {
                NetlinkPayload::InnerMessage(m) => read(m),
                NetlinkPayload::Overrun(_) => Some(lost.clone()),
                _ => None,
            };
            if let Some(ev) = ev {
                if tx.send(ev).is_err() {
                    break;
                }
            }
        }
    });
    Ok(rx)
}

fn route_message(
    index: u32,
    metric: u32,
    src: Ipv4Addr,
    r: &PlannedRoute,
) -> rtnetlink::packet_route::route::RouteMessage {
    let mut b = RouteMessageBuilder::<Ipv4Addr>::new()
        .destination_prefix(r.destination, r.prefix_len)
        .output_interface(index)
        .priority(metric)
        .protocol(RouteProtocol::Dhcp)
        .pref_source(src);
    b = match r.gateway {
        Some(gw) => b.gateway(gw),
        None => b.scope(RouteScope::Link),
    };
    b.build()
}

fn show_route(r: &PlannedRoute) -> String {
    match r.gateway {
        Some(gw) => format!("{}/{} via {gw}", r.destination, r.prefix_len),
        None => format!("{}/{} scope link", r.destination, r.prefix_len),
    }
}
