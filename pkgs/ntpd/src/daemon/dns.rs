//! Names through hickory-resolver, configured from resolv.conf as we read it
//! (no NSS in a static binary, never getaddrinfo). The file is read again for
//! each lookup: DHCP may have changed it.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use hickory_resolver::config::{LookupIpStrategy, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::Name;
use hickory_resolver::Resolver;

use crate::resolv::ResolvConf;

/// The first of `paths` that can be read; none: glibc's defaults (127.0.0.1).
pub fn read_resolv_conf(paths: &[PathBuf]) -> ResolvConf {
    for p in paths {
        if let Ok(text) = std::fs::read_to_string(p) {
            return ResolvConf::parse(&text);
        }
    }
    ResolvConf::parse("")
}

/// Every address of `name`, IPv4 first.
pub async fn lookup(name: &str, rc: &ResolvConf) -> Result<Vec<IpAddr>, String> {
    let servers = rc
        .nameservers
        .iter()
        .map(|ip| NameServerConfig::udp_and_tcp(*ip))
        .collect();
    let search = rc
        .search
        .iter()
        .filter_map(|s| Name::from_ascii(s).ok())
        .collect();
    let domain = rc.domain.as_deref().and_then(|d| Name::from_ascii(d).ok());
    let config = ResolverConfig::from_parts(domain, search, servers);
    let mut builder = Resolver::builder_with_config(config, TokioRuntimeProvider::default());
    let opts = builder.options_mut();
    opts.timeout = Duration::from_secs(u64::from(rc.timeout));
    opts.attempts = rc.attempts as usize;
    opts.ndots = rc.ndots as usize;
    opts.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
    let resolver = builder.build().map_err(|e| e.to_string())?;
    let answer = resolver.lookup_ip(name).await.map_err(|e| e.to_string())?;
    let mut out: Vec<IpAddr> = Vec::new();
    for ip in answer.iter() {
        if !out.contains(&ip) {
            out.push(ip);
        }
    }
    Ok(out)
}
