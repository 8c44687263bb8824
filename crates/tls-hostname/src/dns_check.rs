//! The provisioning DNS cross-check (SPEC §6): "the phone tests the server IP address against
//! a DNS lookup of the server name". Pure logic: the caller does the lookup.

use std::fmt;
use std::net::IpAddr;

/// The inputs of the provisioning DNS cross-check.
///
/// ```
/// use std::net::IpAddr;
/// use tls_hostname::{DnsCrossCheck, CrossCheckOutcome};
/// let resolved: [IpAddr; 2] = ["192.0.2.10".parse()?, "192.0.2.11".parse()?];
/// let check = DnsCrossCheck {
///     certificate_name: "pv.telco.net",
///     resolved: &resolved,
///     connected: "192.0.2.11".parse()?,
/// };
/// assert_eq!(check.evaluate(), CrossCheckOutcome::Agree);
/// # Ok::<(), std::net::AddrParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnsCrossCheck<'a> {
    /// The host name taken from the certificate (for `CN=host/extra`, the `host` part; see
    /// [`provisioning_host`]).
    pub certificate_name: &'a str,
    /// The addresses DNS returned for `certificate_name` (the phone asks for A records only).
    pub resolved: &'a [IpAddr],
    /// The address the connection was made to.
    pub connected: IpAddr,
}

/// The result of a [`DnsCrossCheck`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrossCheckOutcome {
    /// The connected address is among the resolved ones.
    Agree,
    /// DNS returned addresses, none of them the connected one.
    Disagree {
        /// The connected address.
        connected: IpAddr,
        /// What DNS returned.
        resolved: Vec<IpAddr>,
    },
    /// DNS returned no address: the name cannot vouch for the connection.
    NothingResolved,
    /// The certificate's name cannot be looked up (a wildcard, empty, or not a host name).
    NameNotResolvable,
}

impl CrossCheckOutcome {
    /// Whether the connection may proceed.
    pub fn agrees(&self) -> bool {
        matches!(self, Self::Agree)
    }
}

impl fmt::Display for CrossCheckOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Agree => f.write_str("the connected address is one DNS gives for the certificate's name"),
            Self::Disagree { connected, resolved } => {
                let list: Vec<String> = resolved.iter().map(IpAddr::to_string).collect();
                write!(f, "connected to {connected}, but DNS gives {}", list.join(", "))
            }
            Self::NothingResolved => f.write_str("DNS gave no address for the certificate's name"),
            Self::NameNotResolvable => f.write_str("the certificate's name cannot be looked up in DNS"),
        }
    }
}

impl DnsCrossCheck<'_> {
    /// Compares the addresses. An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) counts as the
    /// IPv4 address it maps, on either side, since dual-stack sockets report IPv4 peers that
    /// way.
    pub fn evaluate(&self) -> CrossCheckOutcome {
        let name = self
            .certificate_name
            .strip_suffix('.')
            .unwrap_or(self.certificate_name);
        if name.is_empty()
            || name.contains('*')
            || crate::ReferenceName::parse(name)
                .map(|r| r.as_dns().is_none())
                .unwrap_or(true)
        {
            return CrossCheckOutcome::NameNotResolvable;
        }
        if self.resolved.is_empty() {
            return CrossCheckOutcome::NothingResolved;
        }
        let connected = canonical(self.connected);
        if self.resolved.iter().any(|a| canonical(*a) == connected) {
            CrossCheckOutcome::Agree
        } else {
            CrossCheckOutcome::Disagree {
                connected: self.connected,
                resolved: self.resolved.to_vec(),
            }
        }
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The host name a provisioning certificate names: the first subject CN, up to its first `/`
/// (`CN=pv.telco.net/mailto:admin@telco.net` gives `pv.telco.net`); the first dNSName SAN if
/// there is no CN.
pub fn provisioning_host(names: &crate::CertificateNames) -> Option<&str> {
    if let Some(cn) = names.common_names().first() {
        let host = cn.split_once('/').map_or(cn.as_str(), |(h, _)| h);
        return (!host.is_empty()).then_some(host);
    }
    names.dns_names().first().map(String::as_str)
}
