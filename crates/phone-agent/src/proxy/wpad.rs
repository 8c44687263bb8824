//! WPAD in the agent: the facts the phone's DHCP client would hand over (option 252, the DNS
//! domain), turned into the ordered PAC URL candidates of [`proxy_pac::wpad`].

use std::net::SocketAddr;

use anyhow::{Result, bail};
use url::Url;

/// What WPAD discovery starts from.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// The value of DHCP option 252, as the DHCP client received it.
    pub dhcp_wpad: Option<String>,
    /// The phone's DNS domain (DHCP option 15 or configured).
    pub domain: Option<String>,
    /// The DNS server for PAC hosts (`wpad.<domain>`); the system's resolver when `None`.
    pub dns: Option<SocketAddr>,
}

impl Discovery {
    /// The PAC URLs to try, DHCP's first.
    pub fn candidates(&self) -> Result<Vec<Url>> {
        let (candidates, problem) = proxy_pac::wpad::discovery_candidates(
            self.dhcp_wpad.as_deref().map(str::as_bytes),
            self.domain.as_deref(),
        );
        if let Some(p) = &problem {
            tracing::warn!("DHCP option 252: {p}");
        }
        if candidates.is_empty() {
            match problem {
                Some(p) => bail!("WPAD found no PAC URL: DHCP option 252: {p}"),
                None => bail!(
                    "WPAD found no PAC URL: give the DHCP option 252 value (--dhcp-wpad URL) or the DNS domain (--domain DOMAIN), or set PAC_URL"
                ),
            }
        }
        Ok(candidates.into_iter().map(|c| c.url).collect())
    }

    /// Where to connect for `url`'s host when a DNS server is given: its first A/AAAA record
    /// there. `None` for IP literals and without `--dns` (the system resolver decides).
    pub fn resolve(&self, url: &Url) -> Result<Option<(String, SocketAddr)>> {
        let (Some(dns), Some(url::Host::Domain(host))) = (self.dns, url.host()) else {
            return Ok(None);
        };
        let port = url.port_or_known_default().unwrap_or(80);
        let addrs = crate::sip::locate::resolve(host, port, dns)?;
        match addrs.first() {
            Some(a) => Ok(Some((host.to_owned(), *a))),
            None => bail!("{host} has no address at {dns}"),
        }
    }
}
