//! WPAD in the agent: the facts the phone's DHCP client would hand over (option 252, the DNS
//! domain), turned into the ordered PAC URL candidates of [`proxy_pac::wpad`].

use anyhow::{Result, bail};
use url::Url;

/// What WPAD discovery starts from.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// The value of DHCP option 252, as the DHCP client received it.
    pub dhcp_wpad: Option<String>,
    /// The phone's DNS domain (DHCP option 15 or configured).
    pub domain: Option<String>,
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
                    "WPAD found no PAC URL: give the DHCP option 252 value (--dhcp-wpad URL) or the DNS domain (--domain), or set PAC_URL"
                ),
            }
        }
        Ok(candidates.into_iter().map(|c| c.url).collect())
    }
}
