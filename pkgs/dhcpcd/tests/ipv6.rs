//! IPv6 against real routers and servers, in network namespaces made by
//! each test: router advertisements from dnsmasq (`--enable-ra`) and
//! radvd, SLAAC and DAD by the kernel, and DHCPv6 from dnsmasq. The client
//! namespace is checked with `ip -j`.

mod common;

use std::fs;
use std::time::Duration;

use common::{ip, ip_json, wait_for, Dnsmasq, Lab, Proc, Radvd};
use nix::sys::signal::Signal;
use serde_json::Value;

const T: Duration = Duration::from_secs(30);

/// The server side: `server_if` with the IPv4 address and `v6` (no DAD, so
/// it serves at once).
fn link(lab: &Lab, server_if: &str, v4: &str, v6: &str) {
    lab.link("eth0", server_if, v4);
    ip(&[
        "-n",
        &lab.server.name,
        "addr",
        "add",
        v6,
        "dev",
        server_if,
        "nodad",
    ]);
}

fn mac(lab: &Lab, iface: &str) -> [u8; 6] {
    let v = ip_json(&lab.client, &["link", "show", "dev", iface]);
    let text = v[0]["address"].as_str().unwrap().to_string();
    let b: Vec<u8> = text
        .split(':')
        .map(|h| u8::from_str_radix(h, 16).unwrap())
        .collect();
    b.try_into().unwrap()
}

fn ifindex(lab: &Lab, iface: &str) -> u64 {
    ip_json(&lab.client, &["link", "show", "dev", iface])[0]["ifindex"]
        .as_u64()
        .unwrap()
}

/// `prefix` (a /64, as `a:b:c:d::`) with the modified EUI-64 of `mac`.
fn eui64(prefix: &str, mac: [u8; 6]) -> String {
    let p: std::net::Ipv6Addr = prefix.parse().unwrap();
    let mut o = p.octets();
    o[8..11].copy_from_slice(&[mac[0] ^ 2, mac[1], mac[2]]);
    o[11..13].copy_from_slice(&[0xff, 0xfe]);
    o[13..16].copy_from_slice(&mac[3..6]);
    std::net::Ipv6Addr::from(o).to_string()
}

fn in_prefix(addr: &str, prefix64: &str) -> bool {
    let a: std::net::Ipv6Addr = addr.parse().unwrap();
    let p: std::net::Ipv6Addr = prefix64.parse().unwrap();
    a.segments()[..4] == p.segments()[..4]
}

fn route6<'a>(routes: &'a [Value], dst: &str) -> Option<&'a Value> {
    routes.iter().find(|r| r["dst"] == dst)
}

fn route_mtu(r: &Value) -> Option<u64> {
    r["metrics"]
        .as_array()?
        .iter()
        .find_map(|m| m["mtu"].as_u64())
}

/// The usable (DAD passed) global addresses.
fn usable(lab: &Lab) -> Vec<String> {
    lab.addresses6("eth0")
        .into_iter()
        .filter(|(_, _, f)| !f.iter().any(|f| f == "tentative" || f == "dadfailed"))
        .map(|(a, _, _)| a)
        .collect()
}

/// The client kernel's accept_ra for eth0.
fn accept_ra(lab: &Lab) -> String {
    let out = lab
        .client
        .command("cat")
        .arg("/proc/sys/net/ipv6/conf/eth0/accept_ra")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The default routes in the client namespace, by gateway.
fn default_gateways(lab: &Lab) -> Vec<String> {
    lab.routes6()
        .iter()
        .filter(|r| r["dst"] == "default")
        .map(|r| r["gateway"].as_str().unwrap_or("multipath").to_string())
        .collect()
}

/// The link-local address of a server-side interface, once it has one.
fn server_link_local(lab: &Lab, iface: &str) -> String {
    wait_for("a link-local address on the router", T, || {
        let v = ip_json(
            &lab.server,
            &["-6", "addr", "show", "dev", iface, "scope", "link"],
        );
        v[0]["addr_info"]
            .as_array()?
            .iter()
            .find_map(|a| a["local"].as_str())
            .map(str::to_string)
    })
}

/// dnsmasq's router advertisements: a stable private address (the same
/// again after a restart, from the secret in the lease folder), the on-link
/// and default routes, RDNSS into resolv.conf; all of it gone on exit.
#[test]
fn slaac_from_dnsmasq_is_stable_and_removed_on_exit() {
    let lab = Lab::new();
    link(&lab, "srv0", "10.60.0.1/24", "2001:db8:60::1/64");
    let _dnsmasq = Dnsmasq::start(
        &lab,
        &["srv0"],
        &[
            "--enable-ra",
            "--dhcp-range=::,constructor:srv0,ra-only,64,1h",
            "--dhcp-option=option6:dns-server,[2001:db8:60::53]",
        ],
    );
    lab.config("slaac private\nipv6only\n");
    // The kernel follows advertisements until we do, and again after.
    assert_eq!(accept_ra(&lab), "1");
    let mut dhcpcd = lab.dhcpcd(&["--nobackground", "eth0"]);
    dhcpcd.wait_log("source=slaac", T);
    assert_eq!(accept_ra(&lab), "0");

    let addrs = lab.addresses6("eth0");
    assert_eq!(addrs.len(), 1, "{addrs:?}");
    let (first, prefix_len, flags) = addrs[0].clone();
    assert!(in_prefix(&first, "2001:db8:60::"), "{first}");
    assert_eq!(prefix_len, 64);
    assert_ne!(
        first,
        eui64("2001:db8:60::", mac(&lab, "eth0")),
        "not RFC 7217"
    );
    assert!(flags.iter().any(|f| f == "noprefixroute"), "{flags:?}");
    assert!(!flags.iter().any(|f| f == "tentative"), "{flags:?}");

    let metric = 1000 + ifindex(&lab, "eth0");
    let routes = lab.routes6();
    let onlink = route6(&routes, "2001:db8:60::/64").expect("on-link route");
    assert_eq!(onlink["protocol"], "ra", "{routes:?}");
    assert_eq!(onlink["metric"].as_u64(), Some(metric));
    let default = route6(&routes, "default").expect("default route");
    assert!(
        default["gateway"].as_str().unwrap().starts_with("fe80:"),
        "{routes:?}"
    );
    assert_eq!(default["protocol"], "ra");
    let resolv = fs::read_to_string(lab.path("resolv.conf")).unwrap();
    assert!(resolv.contains("nameserver 2001:db8:60::53\n"), "{resolv}");
    let secret = fs::read_to_string(lab.path("leases/secret")).unwrap();
    assert_eq!(secret.trim().split(':').count(), 32, "{secret}");
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(lab.path("leases/secret"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o077,
        0,
        "the secret is readable by others: {mode:o}"
    );

    dhcpcd.signal(Signal::SIGTERM);
    assert!(dhcpcd.wait_exit(T).success());
    assert_eq!(accept_ra(&lab), "1");
    assert_eq!(lab.addresses6("eth0"), []);
    let left: Vec<Value> = lab
        .routes6()
        .into_iter()
        .filter(|r| r["protocol"] == "ra")
        .collect();
    assert_eq!(left, Vec::<Value>::new());
    assert!(!lab.path("resolv.conf").exists());

    // The secret is kept, so the address comes back the same.
    let mut again = lab.dhcpcd(&["--nobackground", "eth0"]);
    again.wait_log("source=slaac", T);
    assert_eq!(usable(&lab), [first]);
}

/// radvd: a hwaddr (EUI-64) address, an RFC 4191 route with its
/// preference, the MTU on the routes, RDNSS and DNSSL; when radvd dies,
/// each lifetime's end removes what it installed.
#[test]
fn radvd_routes_mtu_dns_and_lifetimes_that_end() {
    let lab = Lab::new();
    link(&lab, "srv0", "10.61.0.1/24", "2001:db8:61::1/64");
    let radvd = Radvd::start(
        &lab,
        "interface srv0 {
            AdvSendAdvert on;
            MinRtrAdvInterval 3;
            MaxRtrAdvInterval 4;
            AdvDefaultLifetime 8;
            AdvLinkMTU 1400;
            prefix 2001:db8:61::/64 {
                AdvOnLink on;
                AdvAutonomous on;
                AdvValidLifetime 12;
                AdvPreferredLifetime 6;
            };
            route 2001:db8:99::/48 {
                AdvRoutePreference high;
                AdvRouteLifetime 12;
            };
            RDNSS 2001:db8:61::53 {
                AdvRDNSSLifetime 8;
            };
            DNSSL example.test {
                AdvDNSSLLifetime 8;
            };
        };\n",
    );
    lab.config("slaac hwaddr\nipv6only\n");
    let mut dhcpcd = lab.dhcpcd(&["--nobackground", "eth0"]);
    dhcpcd.wait_log("source=slaac", T);

    assert_eq!(usable(&lab), [eui64("2001:db8:61::", mac(&lab, "eth0"))]);
    let routes = lab.routes6();
    let specific = route6(&routes, "2001:db8:99::/48").expect("RFC 4191 route");
    assert!(specific["gateway"].as_str().unwrap().starts_with("fe80:"));
    assert_eq!(specific["pref"], "high", "{routes:?}");
    let default = route6(&routes, "default").expect("default route");
    assert_eq!(route_mtu(default), Some(1400), "{routes:?}");
    assert_eq!(
        route_mtu(route6(&routes, "2001:db8:61::/64").unwrap()),
        Some(1400)
    );
    let resolv = wait_for("RDNSS and DNSSL in resolv.conf", T, || {
        fs::read_to_string(lab.path("resolv.conf"))
            .ok()
            .filter(|r| r.contains("search example.test"))
    });
    assert!(resolv.contains("nameserver 2001:db8:61::53\n"), "{resolv}");

    // No goodbye advertisement: only the lifetimes end things.
    radvd.proc.signal(Signal::SIGKILL);
    wait_for("the default route to expire", T, || {
        route6(&lab.routes6(), "default").is_none().then_some(())
    });
    wait_for("RDNSS and DNSSL to expire", T, || {
        (!lab.path("resolv.conf").exists()).then_some(())
    });
    wait_for("the address and routes to expire", T, || {
        let routes = lab.routes6();
        (lab.addresses6("eth0").is_empty()
            && route6(&routes, "2001:db8:99::/48").is_none()
            && route6(&routes, "2001:db8:61::/64").is_none())
        .then_some(())
    });
    let log = dhcpcd.output();
    assert!(
        log.contains("event=deconfigured address=2001:db8:61:"),
        "{log}"
    );
}

/// The kernel's DAD finds our stable private address taken by another
/// host: it is removed and the next DAD counter gives another (RFC 7217).
#[test]
fn a_duplicate_address_is_replaced_by_the_next_stable_one() {
    let lab = Lab::new();
    link(&lab, "srv0", "10.64.0.1/24", "2001:db8:64::1/64");
    let _dnsmasq = Dnsmasq::start(
        &lab,
        &["srv0"],
        &[
            "--enable-ra",
            "--dhcp-range=::,constructor:srv0,ra-only,64,1h",
        ],
    );
    lab.config("slaac private\nipv6only\n");
    let mut dhcpcd = lab.dhcpcd(&["--nobackground", "eth0"]);
    dhcpcd.wait_log("source=slaac", T);
    let taken = usable(&lab).pop().unwrap();
    dhcpcd.signal(Signal::SIGTERM);
    assert!(dhcpcd.wait_exit(T).success());

    // Another host holds it now.
    let host = format!("{taken}/64");
    ip(&[
        "-n",
        &lab.server.name,
        "addr",
        "add",
        &host,
        "dev",
        "srv0",
        "nodad",
    ]);
    let mut dhcpcd = lab.dhcpcd(&["--nobackground", "eth0"]);
    let log = dhcpcd.wait_log("source=slaac", T);
    assert!(
        log.contains(&format!(
            "event=dad address={taken} result=duplicate action=next"
        )),
        "{log}"
    );
    let now = usable(&lab);
    assert_eq!(now.len(), 1, "{now:?}");
    assert_ne!(now[0], taken);
    assert!(in_prefix(&now[0], "2001:db8:64::"));
    assert!(
        !lab.addresses6("eth0").iter().any(|(a, _, _)| *a == taken),
        "the duplicate stays: {:?}",
        lab.addresses6("eth0")
    );
}

/// `waitip 6`: `-1` waits for IPv6 even when the DHCPv4 lease comes first;
/// with `ipv4only` it can never be met, and `-1` times out.
#[test]
fn waitip_6_waits_for_an_ipv6_address() {
    let lab = Lab::new();
    link(&lab, "srv0", "10.63.0.1/24", "2001:db8:63::1/64");
    let _dnsmasq = Dnsmasq::start(
        &lab,
        &["srv0"],
        &[
            "--dhcp-range=10.63.0.100,10.63.0.200,255.255.255.0,2m",
            "--enable-ra",
            "--dhcp-range=::,constructor:srv0,ra-only,64,1h",
        ],
    );
    lab.config("noarp\nnodelay\nwaitip 6\n");
    let mut dhcpcd = lab.dhcpcd(&["-1", "--nobackground", "eth0"]);
    assert!(dhcpcd.wait_exit(T).success(), "{}", dhcpcd.output());
    let log = dhcpcd.output();
    let v4 = log.find("event=configured address=10.63.0.").expect(&log);
    let v6 = log.find("source=slaac").expect(&log);
    let ready = log.find("event=ready waitip=6").expect(&log);
    assert!(v4 < v6 && v6 < ready, "{log}");
    assert_eq!(usable(&lab).len(), 1);

    lab.config("noarp\nnodelay\nwaitip 6\nipv4only\n");
    let mut dhcpcd = lab.dhcpcd(&["-1", "--nobackground", "-t", "3", "eth0"]);
    let status = dhcpcd.wait_exit(T);
    let log = dhcpcd.output();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("event=timeout"), "{log}");
    assert!(!log.contains("event=ipv6"), "{log}");
}

/// dnsmasq with a DHCPv6 range: the RA's M flag starts stateful DHCPv6,
/// whose IA_NA address (/128), DNS servers and NTP server are installed;
/// `release` sends a Release on exit and the address goes.
#[test]
fn stateful_dhcpv6_from_dnsmasq() {
    let lab = Lab::new();
    link(&lab, "srv0", "10.65.0.1/24", "2001:db8:65::1/64");
    let dnsmasq = Dnsmasq::start(
        &lab,
        &["srv0"],
        &[
            "--enable-ra",
            "--dhcp-range=2001:db8:65::100,2001:db8:65::1ff,64,1h",
            "--dhcp-option=option6:dns-server,[2001:db8:65::53]",
            "--dhcp-option=option6:ntp-server,[2001:db8:65::123]",
            "--dhcp-option=option6:domain-search,six.test",
        ],
    );
    lab.config("ipv6only\nrelease\n");
    // A DUID-EN an administrator wrote: sent as it is, and kept.
    let duid_en = "00:02:00:00:ab:11:5e:77:01:02:03:04\n";
    fs::create_dir_all(lab.path("leases")).unwrap();
    fs::write(lab.path("leases/duid"), duid_en).unwrap();
    let mut dhcpcd = lab.dhcpcd(&["--nobackground", "eth0"]);
    let log = dhcpcd.wait_log("source=dhcp6", T);
    assert!(log.contains("event=dhcp6 state=bound"), "{log}");

    let addrs = lab.addresses6("eth0");
    assert_eq!(addrs.len(), 1, "{addrs:?}");
    let (addr, prefix_len, _) = &addrs[0];
    let last = addr.parse::<std::net::Ipv6Addr>().unwrap().segments()[7];
    assert!(
        in_prefix(addr, "2001:db8:65::") && (0x100..=0x1ff).contains(&last),
        "{addr}"
    );
    assert_eq!(*prefix_len, 128);
    // The on-link prefix comes from the RA; the address alone from DHCPv6.
    assert!(route6(&lab.routes6(), "2001:db8:65::/64").is_some());
    let resolv = wait_for("DHCPv6 DNS in resolv.conf", T, || {
        fs::read_to_string(lab.path("resolv.conf"))
            .ok()
            .filter(|r| r.contains("eth0.dhcp6"))
    });
    assert!(resolv.contains("nameserver 2001:db8:65::53\n"), "{resolv}");
    assert!(resolv.contains("search six.test\n"), "{resolv}");
    assert_eq!(
        fs::read_to_string(lab.path("ntp-servers")).unwrap(),
        "2001:db8:65::123\n"
    );
    // The DUID is kept in the lease folder, and is the one the server saw.
    let duid = fs::read_to_string(lab.path("leases/duid")).unwrap();
    assert_eq!(duid, duid_en);
    let duid = duid.trim().to_string();
    let leases = dnsmasq.lease_file();
    assert!(leases.contains(addr.as_str()), "{leases}");
    assert!(leases.contains(&duid), "{duid} not in {leases}");

    dhcpcd.signal(Signal::SIGTERM);
    assert!(dhcpcd.wait_exit(T).success());
    assert_eq!(lab.addresses6("eth0"), []);
    let mut dnsmasq = dnsmasq;
    dnsmasq.proc.wait_log("DHCPRELEASE", T);
}

/// dnsmasq `ra-stateless`: SLAAC from the prefix, and the O flag's
/// Information-request for DNS and NTP.
#[test]
fn stateless_dhcpv6_with_slaac_from_dnsmasq() {
    let lab = Lab::new();
    link(&lab, "srv0", "10.66.0.1/24", "2001:db8:66::1/64");
    let _dnsmasq = Dnsmasq::start(
        &lab,
        &["srv0"],
        &[
            "--enable-ra",
            "--dhcp-range=::,constructor:srv0,ra-stateless,64,1h",
            "--dhcp-option=option6:dns-server,[2001:db8:66::53]",
            "--dhcp-option=option6:ntp-server,[2001:db8:66::123]",
        ],
    );
    lab.config("ipv6only\nslaac hwaddr\n");
    let mut dhcpcd = lab.dhcpcd(&["--nobackground", "eth0"]);
    dhcpcd.wait_log("source=slaac", T);
    let log = dhcpcd.wait_log("event=dhcp6 state=informed", T);
    assert!(!log.contains("event=dhcp6 state=soliciting"), "{log}");
    assert_eq!(usable(&lab), [eui64("2001:db8:66::", mac(&lab, "eth0"))]);
    let ntp = wait_for("DHCPv6 NTP in the hand-off file", T, || {
        fs::read_to_string(lab.path("ntp-servers")).ok()
    });
    assert_eq!(ntp, "2001:db8:66::123\n");
    let resolv = fs::read_to_string(lab.path("resolv.conf")).unwrap();
    assert!(resolv.contains("nameserver 2001:db8:66::53\n"), "{resolv}");
}

/// Two routers on one link: radvd on srv0 (preference low) and on a
/// macvlan beside it (high, with a MAC and link-local address of its own),
/// advertising `prefix`, and dhcpcd (`slaac hwaddr`, IPv6 only) on eth0.
struct TwoRouters {
    dhcpcd: Proc,
    /// Runs until the test ends.
    _low: Radvd,
    high: Radvd,
    low_ll: String,
    high_ll: String,
}

/// Starts [`TwoRouters`] and waits for the high router's default route,
/// alone.
fn two_routers(lab: &Lab, prefix: &str, high_lifetime: u32) -> TwoRouters {
    let server = lab.server.name.as_str();
    ip(&[
        "-n", server, "link", "add", "rtr1", "link", "srv0", "type", "macvlan", "mode", "bridge",
    ]);
    ip(&["-n", server, "link", "set", "rtr1", "up"]);
    let router = |iface: &str, preference: &str, lifetime: u32| {
        format!(
            "interface {iface} {{
                AdvSendAdvert on;
                MinRtrAdvInterval 3;
                MaxRtrAdvInterval 4;
                AdvDefaultLifetime {lifetime};
                AdvDefaultPreference {preference};
                prefix {prefix}/64 {{ AdvOnLink on; AdvAutonomous on; }};
            }};\n"
        )
    };
    let low = Radvd::start_as(lab, "radvd-low", &router("srv0", "low", 12));
    let high = Radvd::start_as(lab, "radvd-high", &router("rtr1", "high", high_lifetime));
    lab.config("slaac hwaddr\nipv6only\n");
    let mut dhcpcd = lab.dhcpcd(&["--nobackground", "eth0"]);
    dhcpcd.wait_log("source=slaac", T);
    // There once the client's end of the link is up.
    let (low_ll, high_ll) = (
        server_link_local(lab, "srv0"),
        server_link_local(lab, "rtr1"),
    );
    assert_ne!(low_ll, high_ll);
    wait_for("the high router's default route alone", T, || {
        (default_gateways(lab) == [high_ll.clone()]).then_some(())
    });
    TwoRouters {
        dhcpcd,
        _low: low,
        high,
        low_ll,
        high_ll,
    }
}

/// Two routers on the link, one of high preference: only its default route
/// is installed (one per interface and metric, as dhcpcd does), and when
/// it leaves, the other router's takes its place.
#[test]
fn two_routers_give_one_default_route_the_better_ones() {
    let lab = Lab::new();
    link(&lab, "srv0", "10.67.0.1/24", "2001:db8:67::1/64");
    let mut routers = two_routers(&lab, "2001:db8:67::", 12);
    let (low_ll, high_ll) = (routers.low_ll.clone(), routers.high_ll.clone());
    let dhcpcd = &mut routers.dhcpcd;
    // Both routers were heard, and the low one's route never joined.
    dhcpcd.wait_log(&format!("event=router address={low_ll} preference=low"), T);
    assert_eq!(default_gateways(&lab), std::slice::from_ref(&high_ll));

    // radvd's last advertisement on exit withdraws it as a default router.
    routers.high.proc.signal(Signal::SIGTERM);
    wait_for("the low router's default route alone", T, || {
        (default_gateways(&lab) == [low_ll.clone()]).then_some(())
    });
    let log = dhcpcd.output();
    assert!(
        log.contains(&format!("event=router address={high_ll} action=withdrawn")),
        "{log}"
    );
}

/// `nodhcp6`: the O flag is not followed. `noipv6rs`: DHCPv6 starts at
/// once, and the kernel keeps following advertisements itself.
#[test]
fn nodhcp6_and_noipv6rs() {
    let lab = Lab::new();
    link(&lab, "srv0", "10.68.0.1/24", "2001:db8:68::1/64");
    let _dnsmasq = Dnsmasq::start(
        &lab,
        &["srv0"],
        &[
            "--enable-ra",
            "--dhcp-range=::,constructor:srv0,ra-stateless,64,1h",
            "--dhcp-option=option6:ntp-server,[2001:db8:68::123]",
        ],
    );
    lab.config("ipv6only\nslaac hwaddr\nnodhcp6\n");
    let mut dhcpcd = lab.dhcpcd(&["--nobackground", "eth0"]);
    dhcpcd.wait_log("source=slaac", T);
    let log = dhcpcd.wait_log("event=dhcp6 action=skip reason=nodhcp6", T);
    assert!(!log.contains("event=dhcp6 state="), "{log}");
    assert!(!lab.path("ntp-servers").exists());
    dhcpcd.signal(Signal::SIGTERM);
    assert!(dhcpcd.wait_exit(T).success());
    assert_eq!(lab.addresses6("eth0"), []);

    lab.config("ipv6only\nnoipv6rs\n");
    let mut dhcpcd = lab.dhcpcd(&["--nobackground", "eth0"]);
    let log = dhcpcd.wait_log("event=dhcp6 state=soliciting", T);
    assert!(!log.contains("event=ipv6 state=soliciting"), "{log}");
    assert_eq!(accept_ra(&lab), "1");
    // The kernel's own SLAAC address, from dnsmasq's advertisement: with
    // the prefix route ours never have.
    let kernels = eui64("2001:db8:68::", mac(&lab, "eth0"));
    wait_for("the kernel's SLAAC address", T, || {
        usable(&lab).contains(&kernels).then_some(())
    });
    let flags = lab
        .addresses6("eth0")
        .into_iter()
        .find(|(a, _, _)| *a == kernels)
        .map(|(_, _, f)| f)
        .unwrap();
    assert!(!flags.iter().any(|f| f == "noprefixroute"), "{flags:?}");
    let log = dhcpcd.output();
    assert!(!log.contains("source=slaac"), "{log}");
}

/// `waitip 4` and `waitip 6` are met across interfaces, as in dhcpcd: IPv4
/// on one link and IPv6 on another satisfy `-1`.
#[test]
fn waitip_4_and_6_on_different_interfaces() {
    let lab = Lab::new();
    lab.link("eth0", "srv0", "10.69.0.1/24");
    lab.link("eth1", "srv1", "10.70.0.1/24");
    ip(&[
        "-n",
        &lab.server.name,
        "addr",
        "add",
        "2001:db8:70::1/64",
        "dev",
        "srv1",
        "nodad",
    ]);
    let _dnsmasq = Dnsmasq::start(
        &lab,
        &["srv0", "srv1"],
        &[
            "--dhcp-range=interface:srv0,10.69.0.100,10.69.0.200,255.255.255.0,2m",
            "--enable-ra",
            "--dhcp-range=::,constructor:srv1,ra-only,64,1h",
        ],
    );
    lab.config("noarp\nnodelay\nnoipv4ll\nwaitip 4\nwaitip 6\n");
    let mut dhcpcd = lab.dhcpcd(&["-1", "--nobackground"]);
    let status = dhcpcd.wait_exit(T);
    let log = dhcpcd.output();
    assert!(status.success(), "{log}");
    assert!(log.contains("event=ready waitip=4,6"), "{log}");
    assert!(
        log.contains("iface=eth0 event=configured address=10.69.0."),
        "{log}"
    );
    assert!(
        log.contains("iface=eth1 event=configured address=2001:db8:70:"),
        "{log}"
    );
    assert!(
        !log.contains("iface=eth1 event=configured address=10."),
        "{log}"
    );
}

/// IPv6 off in the kernel: the IPv6 task says so and ends, and the
/// interface is not started again by link events; once IPv6 is on and the
/// carrier comes back, router discovery and SLAAC run.
#[test]
fn ipv6_turned_on_later_starts_with_the_carrier() {
    let lab = Lab::new();
    link(&lab, "srv0", "10.71.0.1/24", "2001:db8:71::1/64");
    let _dnsmasq = Dnsmasq::start(
        &lab,
        &["srv0"],
        &[
            "--enable-ra",
            "--dhcp-range=::,constructor:srv0,ra-only,64,1h",
        ],
    );
    let sysctl = |setting: &str| {
        let mut c = lab.client.command("sysctl");
        assert!(c.args(["-qw", setting]).status().unwrap().success());
    };
    sysctl("net.ipv6.conf.eth0.disable_ipv6=1");
    lab.config("noarp\nnoipv4ll\nslaac hwaddr\n");
    let mut dhcpcd = lab.dhcpcd(&["--nobackground", "eth0"]);
    dhcpcd.wait_log("reason=\"IPv6 is disabled on the interface\"", T);
    sysctl("net.ipv6.conf.eth0.disable_ipv6=0");

    // The router keeps its prefix while its link is down.
    let mut keep = lab.server.command("sysctl");
    keep.args(["-qw", "net.ipv6.conf.srv0.keep_addr_on_down=1"]);
    assert!(keep.status().unwrap().success());
    let server = lab.server.name.as_str();
    ip(&["-n", server, "link", "set", "srv0", "down"]);
    dhcpcd.wait_log("event=carrier state=down", T);
    ip(&["-n", server, "link", "set", "srv0", "up"]);
    let log = dhcpcd.wait_log("source=slaac", T);
    assert_eq!(usable(&lab), [eui64("2001:db8:71::", mac(&lab, "eth0"))]);
    assert_eq!(log.matches("iface=eth0 event=start ").count(), 1, "{log}");
}

/// The better router dies without a word: once the kernel's neighbour
/// discovery gives up on it (RFC 4861 7.3.3), the default route moves to
/// the other router long before the dead one's lifetime ends.
#[test]
fn an_unreachable_router_loses_the_default_route() {
    let lab = Lab::new();
    link(&lab, "srv0", "10.72.0.1/24", "2001:db8:72::1/64");
    let routers = two_routers(&lab, "2001:db8:72::", 600);
    let (low_ll, high_ll) = (&routers.low_ll, &routers.high_ll);

    routers.high.proc.signal(Signal::SIGKILL);
    ip(&["-n", &lab.server.name, "link", "del", "rtr1"]);
    // Traffic to the dead router makes the kernel probe it, then give up.
    common::require("busybox", "busybox-static");
    wait_for("the low router's default route alone", T, || {
        let _ = lab
            .client
            .command("busybox")
            .args(["ping", "-6", "-c", "1", "-W", "1", "-I", "eth0", high_ll])
            .output();
        (default_gateways(&lab) == [low_ll.clone()]).then_some(())
    });
    let log = routers.dhcpcd.output();
    assert!(
        log.contains(&format!("event=router address={high_ll} state=unreachable")),
        "{log}"
    );
}

/// Two links with a router each: each interface takes only its own
/// router's prefix and default route, each at its own metric.
#[test]
fn each_interface_follows_its_own_router() {
    let lab = Lab::new();
    link(&lab, "srv0", "10.73.0.1/24", "2001:db8:73::1/64");
    lab.link("eth1", "srv1", "10.74.0.1/24");
    ip(&[
        "-n",
        &lab.server.name,
        "addr",
        "add",
        "2001:db8:74::1/64",
        "dev",
        "srv1",
        "nodad",
    ]);
    let _dnsmasq = Dnsmasq::start(
        &lab,
        &["srv0", "srv1"],
        &[
            "--enable-ra",
            "--dhcp-range=::,constructor:srv0,ra-only,64,1h",
            "--dhcp-range=::,constructor:srv1,ra-only,64,1h",
        ],
    );
    lab.config("ipv6only\nslaac hwaddr\n");
    let mut dhcpcd = lab.dhcpcd(&["--nobackground"]);
    dhcpcd.wait_log_count("source=slaac", 2, T);
    for (iface, prefix) in [("eth0", "2001:db8:73::"), ("eth1", "2001:db8:74::")] {
        let addrs = lab.addresses6(iface);
        assert_eq!(addrs.len(), 1, "{iface}: {addrs:?}");
        assert_eq!(addrs[0].0, eui64(prefix, mac(&lab, iface)), "{iface}");
        let metric = 1000 + ifindex(&lab, iface);
        let routes = lab.routes6();
        let default: Vec<&Value> = routes
            .iter()
            .filter(|r| r["dst"] == "default" && r["dev"] == iface)
            .collect();
        assert_eq!(default.len(), 1, "{iface}: {routes:?}");
        assert_eq!(default[0]["metric"].as_u64(), Some(metric), "{iface}");
        let onlink = format!("{prefix}/64");
        let on = route6(&routes, &onlink).expect("on-link route");
        assert_eq!(on["dev"], iface, "{routes:?}");
    }
}
