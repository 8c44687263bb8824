//! Locating the next hop per RFC 3263 §4 for `SIP_Transport_n_ = AUTO`: NAPTR, then SRV, then
//! A/AAAA, through hickory-resolver (plain DNS over UDP/TCP on a current-thread tokio runtime;
//! the system's resolv.conf, or one server given with `--dns`).
//!
//! The choice itself ([`choose_naptr`], [`order_srv`]) is plain code over the records, so it is
//! tested without a DNS server; the interop tests run it against dnsmasq.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::{Name, ResolveError, TokioResolver};

use super::ua::Transport;

/// Where and how to reach the next hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The transport the records chose.
    pub transport: Transport,
    /// Addresses to try, in order.
    pub addrs: Vec<SocketAddr>,
    /// How it was found, for the report (`NAPTR SIPS+D2T -> SRV _sips._tcp.example.com -> ...`).
    pub path: String,
}

/// One NAPTR record, as far as RFC 3263 reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Naptr {
    /// Lower first.
    pub order: u16,
    /// Lower first among equal orders.
    pub preference: u16,
    /// `S` for SRV records (the only kind RFC 3263 uses).
    pub flags: String,
    /// `SIP+D2U`, `SIP+D2T`, `SIPS+D2T`, ...
    pub service: String,
    /// The SRV name to query next.
    pub replacement: String,
}

/// One SRV record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Srv {
    /// Lower first.
    pub priority: u16,
    /// Higher first among equal priorities (RFC 2782's weighted random choice made
    /// deterministic: the heaviest is tried first).
    pub weight: u16,
    /// The port.
    pub port: u16,
    /// The host to resolve; `.` means "not offered here".
    pub target: String,
}

/// The transport a NAPTR service field names, for a `sip:` URI (RFC 3263 §4.1; RFC 3261
/// §26.2 for SIPS+D2T being TLS).
fn naptr_transport(service: &str) -> Option<Transport> {
    match service.to_ascii_uppercase().as_str() {
        "SIP+D2U" => Some(Transport::Udp),
        "SIP+D2T" => Some(Transport::Tcp),
        "SIPS+D2T" => Some(Transport::Tls),
        _ => None,
    }
}

/// RFC 3263 §4.1: the NAPTR records with flag `S` and a service this client supports, by
/// order then preference (the first is used).
pub fn choose_naptr(records: &[Naptr]) -> Vec<(Transport, Naptr)> {
    let mut usable: Vec<(Transport, Naptr)> = records
        .iter()
        .filter(|r| r.flags.eq_ignore_ascii_case("s"))
        .filter_map(|r| naptr_transport(&r.service).map(|t| (t, r.clone())))
        .collect();
    usable.sort_by_key(|(_, r)| (r.order, r.preference));
    usable
}

/// RFC 2782 order: by priority, then the heaviest first; a lone `.` target means the service
/// is decidedly not available.
pub fn order_srv(mut records: Vec<Srv>) -> Vec<Srv> {
    records.retain(|r| r.target != "." && !r.target.is_empty());
    records.sort_by_key(|r| (r.priority, std::cmp::Reverse(r.weight)));
    records
}

/// The SRV prefixes for a `sip:` URI, in this client's preference when there are no NAPTR
/// records (RFC 3263 §4.1: any transport the server supports; TLS first).
const SRV_PREFIXES: [(&str, Transport); 3] = [
    ("_sips._tcp", Transport::Tls),
    ("_sip._tcp", Transport::Tcp),
    ("_sip._udp", Transport::Udp),
];

fn not_found(e: &ResolveError) -> bool {
    e.is_no_records_found() || e.is_nx_domain()
}

/// A resolver using `dns` (a single server, UDP) or the system's configuration.
fn resolver(dns: Option<SocketAddr>) -> Result<TokioResolver> {
    let mut opts = ResolverOpts::default();
    opts.timeout = Duration::from_secs(2);
    opts.attempts = 2;
    let builder = match dns {
        Some(server) => {
            let mut config = ResolverConfig::new();
            config.add_name_server(NameServerConfig::new(server, Protocol::Udp));
            config.add_name_server(NameServerConfig::new(server, Protocol::Tcp));
            TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
        }
        None => TokioResolver::builder_tokio().context("reading the system's DNS configuration")?,
    };
    Ok(builder.with_options(opts).build())
}

fn fqdn(name: &str) -> Result<Name> {
    let mut n = Name::from_ascii(name).map_err(|e| anyhow!("`{name}` is not a DNS name: {e}"))?;
    n.set_fqdn(true);
    Ok(n)
}

async fn addresses(resolver: &TokioResolver, host: &str, port: u16) -> Result<Vec<SocketAddr>> {
    let ips = resolver
        .lookup_ip(fqdn(host)?)
        .await
        .with_context(|| format!("A/AAAA {host}"))?;
    Ok(ips.iter().map(|ip| SocketAddr::new(ip, port)).collect())
}

async fn naptr_records(resolver: &TokioResolver, domain: &str) -> Result<Vec<Naptr>> {
    match resolver.lookup(fqdn(domain)?, RecordType::NAPTR).await {
        Ok(lookup) => Ok(lookup
            .iter()
            .filter_map(|r| match r {
                RData::NAPTR(n) => Some(Naptr {
                    order: n.order(),
                    preference: n.preference(),
                    flags: String::from_utf8_lossy(n.flags()).into_owned(),
                    service: String::from_utf8_lossy(n.services()).into_owned(),
                    replacement: n.replacement().to_ascii(),
                }),
                _ => None,
            })
            .collect()),
        Err(e) if not_found(&e) => Ok(Vec::new()),
        Err(e) => Err(e).with_context(|| format!("NAPTR {domain}")),
    }
}

async fn srv_records(resolver: &TokioResolver, name: &str) -> Result<Vec<Srv>> {
    match resolver.srv_lookup(fqdn(name)?).await {
        Ok(lookup) => Ok(order_srv(
            lookup
                .iter()
                .map(|s| Srv {
                    priority: s.priority(),
                    weight: s.weight(),
                    port: s.port(),
                    target: s.target().to_ascii(),
                })
                .collect(),
        )),
        Err(e) if not_found(&e) => Ok(Vec::new()),
        Err(e) => Err(e).with_context(|| format!("SRV {name}")),
    }
}

/// The addresses of the SRV targets, in SRV order.
async fn srv_addresses(resolver: &TokioResolver, records: &[Srv]) -> Result<Vec<SocketAddr>> {
    let mut out = Vec::new();
    for r in records {
        match addresses(resolver, r.target.trim_end_matches('.'), r.port).await {
            Ok(a) => out.extend(a),
            Err(e) => tracing::warn!("SRV target {}: {e:#}", r.target),
        }
    }
    Ok(out)
}

async fn locate_async(domain: &str, resolver: &TokioResolver) -> Result<Target> {
    // §4.1: NAPTR first.
    let naptr = naptr_records(resolver, domain).await?;
    let choices = choose_naptr(&naptr);
    if !naptr.is_empty() && choices.is_empty() {
        bail!(
            "{domain} has NAPTR records but none for SIP over UDP, TCP or TLS (services: {})",
            naptr
                .iter()
                .map(|n| n.service.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for (transport, record) in &choices {
        let srv = srv_records(resolver, &record.replacement).await?;
        let addrs = srv_addresses(resolver, &srv).await?;
        if !addrs.is_empty() {
            return Ok(Target {
                transport: *transport,
                addrs,
                path: format!(
                    "NAPTR {} (order {}, preference {}) -> SRV {} -> {}",
                    record.service,
                    record.order,
                    record.preference,
                    record.replacement.trim_end_matches('.'),
                    describe_srv(&srv)
                ),
            });
        }
        tracing::warn!(
            "NAPTR {} -> {}: no usable SRV record, trying the next",
            record.service,
            record.replacement
        );
    }
    if !choices.is_empty() {
        bail!("{domain}: no NAPTR record leads to a reachable SRV target");
    }
    // §4.1: no NAPTR: SRV for each supported transport.
    for (prefix, transport) in SRV_PREFIXES {
        let name = format!("{prefix}.{domain}");
        let srv = srv_records(resolver, &name).await?;
        let addrs = srv_addresses(resolver, &srv).await?;
        if !addrs.is_empty() {
            return Ok(Target {
                transport,
                addrs,
                path: format!("no NAPTR; SRV {name} -> {}", describe_srv(&srv)),
            });
        }
    }
    // §4.2: neither: A/AAAA of the domain, UDP, port 5060.
    let addrs = addresses(resolver, domain, 5060).await?;
    if addrs.is_empty() {
        bail!("{domain}: no NAPTR, SRV, A or AAAA record");
    }
    Ok(Target {
        transport: Transport::Udp,
        addrs,
        path: "no NAPTR, no SRV; A/AAAA, UDP port 5060".into(),
    })
}

fn describe_srv(records: &[Srv]) -> String {
    records
        .iter()
        .map(|r| format!("{}:{}", r.target.trim_end_matches('.'), r.port))
        .collect::<Vec<_>>()
        .join(", ")
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the DNS runtime")
}

/// RFC 3263 §4 for `sip:HOST[:PORT]` with no transport parameter: a numeric address or an
/// explicit port means UDP to the A/AAAA records (§4.1, §4.2); otherwise NAPTR, SRV, A/AAAA.
pub fn locate(host: &str, port: Option<u16>, dns: Option<SocketAddr>) -> Result<Target> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(Target {
            transport: Transport::Udp,
            addrs: vec![SocketAddr::new(ip, port.unwrap_or(5060))],
            path: "numeric address: UDP".into(),
        });
    }
    let resolver = resolver(dns)?;
    let rt = runtime()?;
    rt.block_on(async {
        if let Some(port) = port {
            let addrs = addresses(&resolver, host, port).await?;
            return Ok(Target {
                transport: Transport::Udp,
                addrs,
                path: format!("explicit port {port}: A/AAAA, UDP"),
            });
        }
        locate_async(host, &resolver).await
    })
}

/// A/AAAA of `host` through `dns` (for a transport set explicitly, with `--dns`).
pub fn resolve(host: &str, port: u16, dns: SocketAddr) -> Result<Vec<SocketAddr>> {
    let resolver = resolver(Some(dns))?;
    runtime()?.block_on(addresses(&resolver, host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naptr(order: u16, preference: u16, flags: &str, service: &str, to: &str) -> Naptr {
        Naptr {
            order,
            preference,
            flags: flags.into(),
            service: service.into(),
            replacement: to.into(),
        }
    }

    #[test]
    fn naptr_by_order_then_preference_supported_only() {
        let records = [
            naptr(20, 10, "S", "SIP+D2U", "_sip._udp.example.com."),
            naptr(10, 20, "S", "SIP+D2T", "_sip._tcp.example.com."),
            naptr(10, 10, "S", "SIPS+D2T", "_sips._tcp.example.com."),
            naptr(5, 10, "S", "SIP+D2S", "_sip._sctp.example.com."),
            naptr(1, 10, "A", "SIP+D2T", "host.example.com."),
            naptr(2, 10, "S", "E2U+sip", "whatever."),
        ];
        let chosen: Vec<_> = choose_naptr(&records).into_iter().map(|(t, _)| t).collect();
        assert_eq!(chosen, [Transport::Tls, Transport::Tcp, Transport::Udp]);
    }

    #[test]
    fn srv_by_priority_then_weight_without_dot() {
        let srv = |priority, weight, target: &str| Srv {
            priority,
            weight,
            port: 5060,
            target: target.into(),
        };
        let ordered = order_srv(vec![
            srv(20, 0, "c."),
            srv(10, 5, "b."),
            srv(10, 50, "a."),
            srv(0, 0, "."),
        ]);
        let targets: Vec<_> = ordered.iter().map(|s| s.target.as_str()).collect();
        assert_eq!(targets, ["a.", "b.", "c."]);
    }

    #[test]
    fn numeric_address_is_udp_without_dns() {
        let t = locate("192.0.2.7", None, None).unwrap();
        assert_eq!(t.transport, Transport::Udp);
        assert_eq!(t.addrs, ["192.0.2.7:5060".parse().unwrap()]);
    }
}
