//! Locating the next hop (RFC 3263 §4): NAPTR, then SRV, then A/AAAA, through a
//! [`Resolver`] the host implements (the phone's agent uses hickory-resolver). The result is an
//! ordered list of [`Target`]s; [`crate::Line`] fails over along it (§4.3).

use std::net::{IpAddr, SocketAddr};

use thiserror::Error;

use crate::Transport;

/// Where to send: a transport and an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Target {
    /// The transport.
    pub transport: Transport,
    /// The address and port.
    pub addr: SocketAddr,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} over {:?}", self.addr, self.transport)
    }
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

/// DNS as the UA needs it. "No such record" is `Ok(vec![])`; an error is a failure to ask.
pub trait Resolver {
    /// NAPTR records of `domain`.
    fn naptr(&mut self, domain: &str) -> Result<Vec<Naptr>, ResolveError>;
    /// SRV records of `name`.
    fn srv(&mut self, name: &str) -> Result<Vec<Srv>, ResolveError>;
    /// A and AAAA records of `host`.
    fn ip(&mut self, host: &str) -> Result<Vec<IpAddr>, ResolveError>;
}

/// A DNS question could not be answered, or no record leads anywhere.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct ResolveError(pub String);

/// The targets and how they were found, for the report
/// (`NAPTR SIPS+D2T (order 10, preference 10) -> SRV _sips._tcp.example.com -> edge1:5061`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// Addresses to try, in order.
    pub targets: Vec<Target>,
    /// How they were found.
    pub path: String,
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
/// order then preference.
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

/// The SRV prefixes for a `sip:` URI when there are no NAPTR records (RFC 3263 §4.1: any
/// transport the server supports; this client prefers TLS).
const SRV_PREFIXES: [(&str, Transport); 3] = [
    ("_sips._tcp", Transport::Tls),
    ("_sip._tcp", Transport::Tcp),
    ("_sip._udp", Transport::Udp),
];

fn describe_srv(records: &[Srv]) -> String {
    records
        .iter()
        .map(|r| format!("{}:{}", r.target.trim_end_matches('.'), r.port))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The addresses of the SRV targets, in SRV order (a target without address is skipped).
fn srv_targets(resolver: &mut dyn Resolver, transport: Transport, records: &[Srv]) -> Vec<Target> {
    let mut out = Vec::new();
    for r in records {
        match resolver.ip(r.target.trim_end_matches('.')) {
            Ok(ips) => out.extend(ips.into_iter().map(|ip| Target {
                transport,
                addr: SocketAddr::new(ip, r.port),
            })),
            Err(e) => tracing::warn!("SRV target {}: {e}", r.target),
        }
    }
    out
}

fn addresses(
    resolver: &mut dyn Resolver,
    host: &str,
    port: u16,
    transport: Transport,
) -> Result<Vec<Target>, ResolveError> {
    let ips = resolver
        .ip(host)
        .map_err(|e| ResolveError(format!("A/AAAA {host}: {e}")))?;
    Ok(ips
        .into_iter()
        .map(|ip| Target {
            transport,
            addr: SocketAddr::new(ip, port),
        })
        .collect())
}

/// RFC 3263 §4 for `sip:HOST[:PORT]`. With a `transport` (the line's `SIP_Transport` is not
/// AUTO) only its A/AAAA records are used (port 5061 for TLS, else 5060, unless given). For
/// AUTO: a numeric address or an explicit port means UDP to the A/AAAA records (§4.1, §4.2);
/// otherwise NAPTR, SRV, A/AAAA.
pub fn locate(
    resolver: &mut dyn Resolver,
    host: &str,
    port: Option<u16>,
    transport: Option<Transport>,
) -> Result<Located, ResolveError> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let numeric = host.parse::<IpAddr>().ok();
    if let Some(transport) = transport {
        let port = port.unwrap_or(if transport == Transport::Tls { 5061 } else { 5060 });
        let targets = match numeric {
            Some(ip) => vec![Target {
                transport,
                addr: SocketAddr::new(ip, port),
            }],
            None => addresses(resolver, host, port, transport)?,
        };
        return non_empty(targets, format!("{transport:?} set: A/AAAA"), host);
    }
    if let Some(ip) = numeric {
        return Ok(Located {
            targets: vec![Target {
                transport: Transport::Udp,
                addr: SocketAddr::new(ip, port.unwrap_or(5060)),
            }],
            path: "numeric address: UDP".into(),
        });
    }
    if let Some(port) = port {
        let targets = addresses(resolver, host, port, Transport::Udp)?;
        return non_empty(targets, format!("explicit port {port}: A/AAAA, UDP"), host);
    }
    // §4.1: NAPTR first.
    let naptr = resolver
        .naptr(host)
        .map_err(|e| ResolveError(format!("NAPTR {host}: {e}")))?;
    let choices = choose_naptr(&naptr);
    if !naptr.is_empty() && choices.is_empty() {
        return Err(ResolveError(format!(
            "{host} has NAPTR records but none for SIP over UDP, TCP or TLS (services: {})",
            naptr
                .iter()
                .map(|n| n.service.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    for (transport, record) in &choices {
        let srv = order_srv(
            resolver
                .srv(&record.replacement)
                .map_err(|e| ResolveError(format!("SRV {}: {e}", record.replacement)))?,
        );
        let targets = srv_targets(resolver, *transport, &srv);
        if !targets.is_empty() {
            return Ok(Located {
                targets,
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
        return Err(ResolveError(format!(
            "{host}: no NAPTR record leads to a reachable SRV target"
        )));
    }
    // §4.1: no NAPTR: SRV for each supported transport.
    for (prefix, transport) in SRV_PREFIXES {
        let name = format!("{prefix}.{host}");
        let srv = order_srv(
            resolver
                .srv(&name)
                .map_err(|e| ResolveError(format!("SRV {name}: {e}")))?,
        );
        let targets = srv_targets(resolver, transport, &srv);
        if !targets.is_empty() {
            return Ok(Located {
                targets,
                path: format!("no NAPTR; SRV {name} -> {}", describe_srv(&srv)),
            });
        }
    }
    // §4.2: neither: A/AAAA of the domain, UDP, port 5060.
    let targets = addresses(resolver, host, 5060, Transport::Udp)?;
    non_empty(targets, "no NAPTR, no SRV; A/AAAA, UDP port 5060".into(), host)
}

fn non_empty(targets: Vec<Target>, path: String, host: &str) -> Result<Located, ResolveError> {
    if targets.is_empty() {
        return Err(ResolveError(format!("{host} has no address")));
    }
    Ok(Located { targets, path })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::HashMap;

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

    /// An in-memory zone.
    #[derive(Default)]
    struct Zone {
        naptr: HashMap<String, Vec<Naptr>>,
        srv: HashMap<String, Vec<Srv>>,
        ip: HashMap<String, Vec<IpAddr>>,
    }

    impl Resolver for Zone {
        fn naptr(&mut self, d: &str) -> Result<Vec<Naptr>, ResolveError> {
            Ok(self.naptr.get(d).cloned().unwrap_or_default())
        }
        fn srv(&mut self, n: &str) -> Result<Vec<Srv>, ResolveError> {
            Ok(self.srv.get(n).cloned().unwrap_or_default())
        }
        fn ip(&mut self, h: &str) -> Result<Vec<IpAddr>, ResolveError> {
            Ok(self.ip.get(h).cloned().unwrap_or_default())
        }
    }

    #[test]
    fn srv_targets_in_order_for_failover() {
        let mut z = Zone::default();
        z.srv.insert(
            "_sip._tcp.example.com".into(),
            vec![
                Srv {
                    priority: 20,
                    weight: 0,
                    port: 5070,
                    target: "b.example.com.".into(),
                },
                Srv {
                    priority: 10,
                    weight: 0,
                    port: 5060,
                    target: "a.example.com.".into(),
                },
            ],
        );
        z.ip.insert("a.example.com".into(), vec!["192.0.2.1".parse().unwrap()]);
        z.ip.insert("b.example.com".into(), vec!["192.0.2.2".parse().unwrap()]);
        let l = locate(&mut z, "example.com", None, None).unwrap();
        let addrs: Vec<_> = l
            .targets
            .iter()
            .map(|t| (t.transport, t.addr.to_string()))
            .collect();
        assert_eq!(
            addrs,
            [
                (Transport::Tcp, "192.0.2.1:5060".into()),
                (Transport::Tcp, "192.0.2.2:5070".into())
            ]
        );
        assert!(
            l.path.starts_with("no NAPTR; SRV _sip._tcp.example.com"),
            "{}",
            l.path
        );
    }

    #[test]
    fn numeric_and_fixed_transport_need_no_records() {
        let mut z = Zone::default();
        let l = locate(&mut z, "192.0.2.7", None, None).unwrap();
        assert_eq!(
            l.targets,
            [Target {
                transport: Transport::Udp,
                addr: "192.0.2.7:5060".parse().unwrap()
            }]
        );
        let l = locate(&mut z, "[2001:db8::1]", None, Some(Transport::Tls)).unwrap();
        assert_eq!(l.targets[0].addr, "[2001:db8::1]:5061".parse().unwrap());
        assert!(locate(&mut z, "nowhere.example", None, Some(Transport::Tcp)).is_err());
    }
}
