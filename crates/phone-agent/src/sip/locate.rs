//! DNS for `phone-agent sip register`: the agent's implementation of [`sip_ua::Resolver`]
//! (RFC 3263 itself, NAPTR then SRV then A/AAAA, is `sip_ua::locate`). hickory-resolver over
//! plain UDP/TCP DNS on one current-thread tokio runtime, made on first use: one server given
//! with `--dns`, or the system's resolv.conf. Without `--dns`, host names go through the
//! system's resolver (`/etc/hosts` included).

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::{Name, ResolveError as HickoryError, TokioResolver};
use sip_ua::{Naptr, ResolveError, Srv};

/// The agent's DNS.
pub struct AgentResolver {
    dns: Option<SocketAddr>,
    hickory: Option<(TokioResolver, tokio::runtime::Handle)>,
    restricted: Option<(phone_provisioning::RestrictedDomains, String)>,
}

impl AgentResolver {
    /// `dns`: the one server to ask (`--dns`), or `None` for the system's configuration.
    pub fn new(dns: Option<SocketAddr>) -> AgentResolver {
        AgentResolver {
            dns,
            hickory: None,
            restricted: None,
        }
    }

    /// Every name this resolver is asked for or finds (SRV domains, SRV targets, hosts) must
    /// be inside `Restricted_Access_Domains` (SPEC §1); `source` names the setting the lookups
    /// are for (`Proxy_1_`). A name outside fails the whole lookup with the setting named,
    /// never a silently skipped target.
    pub fn restricted(
        mut self,
        domains: phone_provisioning::RestrictedDomains,
        source: &str,
    ) -> AgentResolver {
        self.restricted = Some((domains, source.to_owned()));
        self
    }

    fn allowed(&self, name: &str, how: &str) -> Result<(), ResolveError> {
        match &self.restricted {
            Some((domains, source)) => domains
                .check(name.trim_end_matches('.'), &format!("{source}{how}"))
                .map_err(|e| ResolveError(e.to_string())),
            None => Ok(()),
        }
    }

    fn hickory(&mut self) -> Result<&(TokioResolver, tokio::runtime::Handle), ResolveError> {
        if self.hickory.is_none() {
            let mut opts = ResolverOpts::default();
            opts.timeout = Duration::from_secs(2);
            opts.attempts = 2;
            let builder = match self.dns {
                Some(server) => {
                    let mut config = ResolverConfig::new();
                    config.add_name_server(NameServerConfig::new(server, Protocol::Udp));
                    config.add_name_server(NameServerConfig::new(server, Protocol::Tcp));
                    TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
                }
                None => TokioResolver::builder_tokio()
                    .map_err(|e| ResolveError(format!("reading the system's DNS configuration: {e}")))?,
            };
            let rt = tokio::runtime::Handle::try_current()
                .map_err(|e| ResolveError(format!("no tokio runtime for DNS: {e}")))?;
            self.hickory = Some((builder.with_options(opts).build(), rt));
        }
        self.hickory
            .as_ref()
            .ok_or_else(|| ResolveError("no resolver".into()))
    }
}

fn fqdn(name: &str) -> Result<Name, ResolveError> {
    let mut n =
        Name::from_ascii(name).map_err(|e| ResolveError(format!("`{name}` is not a DNS name: {e}")))?;
    n.set_fqdn(true);
    Ok(n)
}

fn not_found(e: &HickoryError) -> bool {
    e.is_no_records_found() || e.is_nx_domain()
}

impl sip_ua::Resolver for AgentResolver {
    fn naptr(&mut self, domain: &str) -> Result<Vec<Naptr>, ResolveError> {
        let name = fqdn(domain)?;
        let (resolver, rt) = self.hickory()?;
        match rt.block_on(resolver.lookup(name, RecordType::NAPTR)) {
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
            Err(e) => Err(ResolveError(e.to_string())),
        }
    }

    fn srv(&mut self, name: &str) -> Result<Vec<Srv>, ResolveError> {
        let fq = fqdn(name)?;
        let (resolver, rt) = self.hickory()?;
        let found: Vec<Srv> = match rt.block_on(resolver.srv_lookup(fq)) {
            Ok(lookup) => lookup
                .iter()
                .map(|s| Srv {
                    priority: s.priority(),
                    weight: s.weight(),
                    port: s.port(),
                    target: s.target().to_ascii(),
                })
                .collect(),
            Err(e) if not_found(&e) => Vec::new(),
            Err(e) => return Err(ResolveError(e.to_string())),
        };
        for s in &found {
            self.allowed(&s.target, &format!(", SRV target of {name}"))?;
        }
        Ok(found)
    }

    fn ip(&mut self, host: &str) -> Result<Vec<IpAddr>, ResolveError> {
        self.allowed(host, "")?;
        if self.dns.is_none() {
            return (host, 0)
                .to_socket_addrs()
                .map(|a| a.map(|a| a.ip()).collect())
                .map_err(|e| ResolveError(e.to_string()));
        }
        let name = fqdn(host)?;
        let (resolver, rt) = self.hickory()?;
        match rt.block_on(resolver.lookup_ip(name)) {
            Ok(ips) => Ok(ips.iter().collect()),
            Err(e) if not_found(&e) => Ok(Vec::new()),
            Err(e) => Err(ResolveError(e.to_string())),
        }
    }
}

/// A/AAAA of `host` through `dns` (also used by WPAD's `--dns`).
pub fn resolve(host: &str, port: u16, dns: SocketAddr) -> anyhow::Result<Vec<SocketAddr>> {
    let ips = sip_ua::Resolver::ip(&mut AgentResolver::new(Some(dns)), host)
        .map_err(|e| anyhow::anyhow!("A/AAAA {host}: {e}"))?;
    Ok(ips.into_iter().map(|ip| SocketAddr::new(ip, port)).collect())
}
