//! What applying a lease installs, computed without touching the system, so
//! that exactly the same set can be removed again.

use std::net::Ipv4Addr;

use crate::lease::{Lease, Route};

/// dhcpcd's default route metric for a wired interface is 1000 + ifindex,
/// so that several interfaces can each have a default route.
pub const METRIC_BASE: u32 = 1000;

/// A route in the main table, out of the lease's interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlannedRoute {
    pub destination: Ipv4Addr,
    pub prefix_len: u8,
    /// None for an on-link route (scope link).
    pub gateway: Option<Ipv4Addr>,
}

/// Everything a lease puts on an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub address: Ipv4Addr,
    pub prefix_len: u8,
    pub broadcast: Ipv4Addr,
    /// In the order they must be added (a gateway's host route first).
    pub routes: Vec<PlannedRoute>,
    pub mtu: Option<u16>,
}

impl Plan {
    pub fn for_lease(lease: &Lease) -> Plan {
        Plan {
            address: lease.address,
            prefix_len: lease.prefix_len,
            broadcast: lease.broadcast,
            routes: plan_routes(lease),
            mtu: lease.mtu,
        }
    }
}

fn contains(net: Ipv4Addr, prefix_len: u8, addr: Ipv4Addr) -> bool {
    Route::new(addr, prefix_len, Ipv4Addr::UNSPECIFIED).destination
        == Route::new(net, prefix_len, Ipv4Addr::UNSPECIFIED).destination
}

/// The routes for a lease: option 121 if present, else a default route via
/// the first router (see [`Lease::routes`]). A gateway outside the leased
/// subnet and outside every on-link route first gets a host route of its
/// own, as dhcpcd adds, or the kernel would refuse the route through it.
pub fn plan_routes(lease: &Lease) -> Vec<PlannedRoute> {
    let routes = lease.routes();
    let on_link: Vec<&Route> = routes
        .iter()
        .filter(|r| r.gateway.is_unspecified())
        .collect();
    let mut out: Vec<PlannedRoute> = Vec::new();
    let push = |r: PlannedRoute, out: &mut Vec<PlannedRoute>| {
        if !out.contains(&r) {
            out.push(r);
        }
    };
    for r in &routes {
        if r.gateway.is_unspecified() {
            push(
                PlannedRoute {
                    destination: r.destination,
                    prefix_len: r.prefix_len,
                    gateway: None,
                },
                &mut out,
            );
            continue;
        }
        let gw = r.gateway;
        let reachable = contains(lease.address, lease.prefix_len, gw)
            || on_link
                .iter()
                .any(|o| contains(o.destination, o.prefix_len, gw));
        if !reachable {
            push(
                PlannedRoute {
                    destination: gw,
                    prefix_len: 32,
                    gateway: None,
                },
                &mut out,
            );
        }
        push(
            PlannedRoute {
                destination: r.destination,
                prefix_len: r.prefix_len,
                gateway: Some(gw),
            },
            &mut out,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Instant;

    fn lease(routers: &[Ipv4Addr], classless: Vec<Route>) -> Lease {
        Lease {
            address: Ipv4Addr::new(10, 0, 0, 5),
            prefix_len: 24,
            broadcast: Ipv4Addr::new(10, 0, 0, 255),
            routers: routers.to_vec(),
            classless_routes: classless,
            mtu: Some(1400),
            dns_servers: vec![],
            domain_name: None,
            domain_search: vec![],
            ntp_servers: vec![],
            hostname: None,
            server_id: Ipv4Addr::new(10, 0, 0, 1),
            lease_time: 3600,
            t1: 1800,
            t2: 3150,
            acquired_at: Instant::ZERO,
        }
    }

    const GW: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

    #[test]
    fn default_route_via_router() {
        let p = Plan::for_lease(&lease(&[GW, Ipv4Addr::new(10, 0, 0, 2)], vec![]));
        assert_eq!(
            p.routes,
            [PlannedRoute {
                destination: Ipv4Addr::UNSPECIFIED,
                prefix_len: 0,
                gateway: Some(GW)
            }]
        );
        assert_eq!(p.mtu, Some(1400));
        assert_eq!(p.prefix_len, 24);
        assert!(plan_routes(&lease(&[], vec![])).is_empty());
    }

    #[test]
    fn classless_routes_win_and_far_gateways_get_host_routes() {
        let far = Ipv4Addr::new(192, 168, 7, 1);
        let l = lease(
            &[Ipv4Addr::new(10, 0, 0, 254)],
            vec![
                Route::new(Ipv4Addr::new(10, 99, 0, 0), 16, GW),
                Route::new(Ipv4Addr::new(172, 16, 0, 0), 12, Ipv4Addr::UNSPECIFIED),
                Route::new(
                    Ipv4Addr::new(172, 20, 1, 0),
                    24,
                    Ipv4Addr::new(172, 16, 0, 1),
                ),
                Route::new(Ipv4Addr::UNSPECIFIED, 0, far),
                Route::new(Ipv4Addr::new(10, 98, 0, 0), 16, far),
            ],
        );
        let r = plan_routes(&l);
        let want = [
            PlannedRoute {
                destination: Ipv4Addr::new(10, 99, 0, 0),
                prefix_len: 16,
                gateway: Some(GW),
            },
            PlannedRoute {
                destination: Ipv4Addr::new(172, 16, 0, 0),
                prefix_len: 12,
                gateway: None,
            },
            // 172.16.0.1 is on link through the route above: no host route.
            PlannedRoute {
                destination: Ipv4Addr::new(172, 20, 1, 0),
                prefix_len: 24,
                gateway: Some(Ipv4Addr::new(172, 16, 0, 1)),
            },
            PlannedRoute {
                destination: far,
                prefix_len: 32,
                gateway: None,
            },
            PlannedRoute {
                destination: Ipv4Addr::UNSPECIFIED,
                prefix_len: 0,
                gateway: Some(far),
            },
            PlannedRoute {
                destination: Ipv4Addr::new(10, 98, 0, 0),
                prefix_len: 16,
                gateway: Some(far),
            },
        ];
        assert_eq!(r, want);
    }
}
