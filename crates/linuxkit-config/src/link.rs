//! runtime.json's `interfaces`, made and moved over rtnetlink as LinuxKit's init does (with
//! netlink, not the `ip` program: busybox's `ip` ignores a veth's peer name).

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL,
    NLM_F_REQUEST,
};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkInfo, LinkMessage,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use crate::runtime::Interface;

/// One rtnetlink request for an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkStep {
    /// Make `name` of `kind` in the network namespace of `netns_pid` (this one when `None`); a
    /// veth's `peer` end stays in this namespace.
    Add {
        name: String,
        kind: String,
        peer: Option<String>,
        netns_pid: Option<i32>,
    },
    /// Move the link `name` of this namespace into the network namespace of `pid`.
    Move { name: String, pid: i32 },
}

/// What LinuxKit does for one interface of a container whose init is `pid`: an existing link is
/// moved in; a new one is made straight in the container's namespace (a veth's peer staying
/// here), or here and then moved when `createInRoot` says so. No `add` but a `peer` is a veth.
pub fn interface_steps(iface: &Interface, pid: i32) -> Vec<LinkStep> {
    let name = iface.name.clone();
    let kind = if iface.add.is_empty() && !iface.peer.is_empty() {
        "veth".to_string()
    } else {
        iface.add.clone()
    };
    if kind.is_empty() {
        return vec![LinkStep::Move { name, pid }];
    }
    let peer = (kind == "veth").then(|| iface.peer.clone());
    if iface.create_in_root {
        vec![
            LinkStep::Add {
                name: name.clone(),
                kind,
                peer,
                netns_pid: None,
            },
            LinkStep::Move { name, pid },
        ]
    } else {
        vec![LinkStep::Add {
            name,
            kind,
            peer,
            netns_pid: Some(pid),
        }]
    }
}

fn message(step: &LinkStep) -> RouteNetlinkMessage {
    let mut link = LinkMessage::default();
    match step {
        LinkStep::Add {
            name,
            kind,
            peer,
            netns_pid,
        } => {
            link.attributes.push(LinkAttribute::IfName(name.clone()));
            let mut info = vec![LinkInfo::Kind(InfoKind::from(kind.as_str()))];
            if let Some(peer) = peer {
                let mut peer_link = LinkMessage::default();
                peer_link
                    .attributes
                    .push(LinkAttribute::IfName(peer.clone()));
                info.push(LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer_link))));
            }
            link.attributes.push(LinkAttribute::LinkInfo(info));
            if let Some(pid) = netns_pid {
                link.attributes.push(LinkAttribute::NetNsPid(*pid as u32));
            }
            RouteNetlinkMessage::NewLink(link)
        }
        LinkStep::Move { name, pid } => {
            link.attributes.push(LinkAttribute::IfName(name.clone()));
            link.attributes.push(LinkAttribute::NetNsPid(*pid as u32));
            RouteNetlinkMessage::SetLink(link)
        }
    }
}

/// Sends one step and waits for the kernel's answer; an error is the kernel's errno, named.
pub fn apply_step(step: &LinkStep) -> Result<(), String> {
    let mut socket = Socket::new(NETLINK_ROUTE).map_err(|e| format!("netlink socket: {e}"))?;
    socket
        .bind_auto()
        .map_err(|e| format!("netlink bind: {e}"))?;
    socket
        .connect(&SocketAddr::new(0, 0))
        .map_err(|e| format!("netlink connect: {e}"))?;
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_ACK;
    if matches!(step, LinkStep::Add { .. }) {
        header.flags |= NLM_F_CREATE | NLM_F_EXCL;
    }
    header.sequence_number = 1;
    let mut request = NetlinkMessage::new(header, NetlinkPayload::from(message(step)));
    request.finalize();
    let mut bytes = vec![0; request.buffer_len()];
    request.serialize(&mut bytes);
    socket
        .send(&bytes, 0)
        .map_err(|e| format!("netlink send: {e}"))?;
    let mut answer = Vec::with_capacity(8192);
    loop {
        answer.clear();
        socket
            .recv(&mut answer, 0)
            .map_err(|e| format!("netlink receive: {e}"))?;
        let mut offset = 0;
        while offset < answer.len() {
            let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&answer[offset..])
                .map_err(|e| format!("netlink answer: {e}"))?;
            let len = reply.header.length as usize;
            if reply.header.sequence_number == 1 {
                match reply.payload {
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => Ok(()),
                            Some(code) => {
                                Err(std::io::Error::from_raw_os_error(-code.get()).to_string())
                            }
                        }
                    }
                    NetlinkPayload::Done(_) => return Ok(()),
                    _ => {}
                }
            }
            if len == 0 {
                break;
            }
            offset += len;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(name: &str, add: &str, peer: &str, create_in_root: bool) -> Interface {
        Interface {
            name: name.into(),
            add: add.into(),
            peer: peer.into(),
            create_in_root,
        }
    }

    #[test]
    fn interfaces_become_steps_as_linuxkit_makes_them() {
        let mv = |name: &str| LinkStep::Move {
            name: name.into(),
            pid: 42,
        };
        let add =
            |name: &str, kind: &str, peer: Option<&str>, netns_pid: Option<i32>| LinkStep::Add {
                name: name.into(),
                kind: kind.into(),
                peer: peer.map(String::from),
                netns_pid,
            };
        assert_eq!(
            interface_steps(&iface("eth1", "", "", false), 42),
            [mv("eth1")]
        );
        assert_eq!(
            interface_steps(&iface("vA", "", "vB", false), 42),
            [add("vA", "veth", Some("vB"), Some(42))]
        );
        assert_eq!(
            interface_steps(&iface("vA", "veth", "vB", true), 42),
            [add("vA", "veth", Some("vB"), None), mv("vA")]
        );
        assert_eq!(
            interface_steps(&iface("wg0", "wireguard", "", false), 42),
            [add("wg0", "wireguard", None, Some(42))]
        );
        assert_eq!(
            interface_steps(&iface("wg0", "wireguard", "", true), 42),
            [add("wg0", "wireguard", None, None), mv("wg0")]
        );
    }
}
