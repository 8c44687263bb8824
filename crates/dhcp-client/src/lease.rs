//! A lease and what it says about provisioning: which option names the server, in the order
//! `DHCP_Option_To_Use` gives (SPEC §2), and WPAD's option 252.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use crate::message::Received;

/// The phone's default `DHCP_Option_To_Use`.
pub const DEFAULT_OPTION_ORDER: &[u8] = &[66, 160, 159, 150, 60, 43, 125];

/// The TR-069 enterprise number in option 125 (Broadband Forum, RFC 3925 VIVSO).
pub const BROADBAND_FORUM_ENTERPRISE: u32 = 3561;

/// When a lease is renewed, rebound and lost, counted from when it started: DHCPv4's lease
/// time with T1 and T2 (RFC 2131 §4.4.5), DHCPv6's longest valid lifetime with the IA's T1
/// and T2 (RFC 8415 §21.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTimes {
    /// When the message that got the lease was sent: the times run from then.
    pub start: Instant,
    /// Renew (unicast to the server) after this; `None` with an infinite lease.
    pub t1: Option<Duration>,
    /// Rebind (to any server) after this.
    pub t2: Option<Duration>,
    /// The lease is gone after this; `None`: never.
    pub lifetime: Option<Duration>,
}

impl LeaseTimes {
    /// When to renew.
    pub fn renew_at(&self) -> Option<Instant> {
        self.t1.map(|t| self.start + t)
    }

    /// When to rebind.
    pub fn rebind_at(&self) -> Option<Instant> {
        self.t2.map(|t| self.start + t)
    }

    /// When the lease ends (`None`: never).
    pub fn expires_at(&self) -> Option<Instant> {
        self.lifetime.map(|l| self.start + l)
    }
}

/// An address lease from an ACK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The address assigned (`yiaddr`).
    pub address: Ipv4Addr,
    /// The server that granted it (option 54).
    pub server: Ipv4Addr,
    /// Option 1.
    pub subnet_mask: Option<Ipv4Addr>,
    /// Option 3, in order of preference.
    pub routers: Vec<Ipv4Addr>,
    /// Option 6.
    pub dns_servers: Vec<Ipv4Addr>,
    /// Option 15.
    pub domain_name: Option<String>,
    /// Option 42.
    pub ntp_servers: Vec<Ipv4Addr>,
    /// From the REQUEST that got this ACK (the lease runs from then, RFC 2131 §4.4.1): T1
    /// (option 58, else half the lease), T2 (option 59, else 7/8), the lease time (option 51;
    /// `None` for an infinite lease, 0xffffffff).
    pub times: LeaseTimes,
    /// Every option of the ACK, raw.
    pub options: BTreeMap<u8, Vec<u8>>,
    /// `siaddr` of the ACK (BOOTP's next server).
    pub next_server: Ipv4Addr,
}

/// Why an ACK was not taken as a lease.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseError {
    /// `yiaddr` is 0.0.0.0 or a broadcast/multicast address.
    #[error("the ACK assigns {0}, which is not a host address")]
    BadAddress(Ipv4Addr),
    /// No server identifier (option 54).
    #[error("the ACK has no server identifier (option 54)")]
    NoServerId,
    /// No lease time (option 51) or not 4 bytes.
    #[error("the ACK has no 4-byte lease time (option 51)")]
    NoLeaseTime,
}

impl Lease {
    pub(crate) fn from_ack(ack: &Received, start: Instant) -> Result<Lease, LeaseError> {
        let a = ack.yiaddr;
        if a.is_unspecified() || a.is_broadcast() || a.is_multicast() {
            return Err(LeaseError::BadAddress(a));
        }
        let server = ack.addr_option(54).ok_or(LeaseError::NoServerId)?;
        let secs = ack.u32_option(51).ok_or(LeaseError::NoLeaseTime)?;
        let lease_time = (secs != u32::MAX).then(|| Duration::from_secs(u64::from(secs)));
        let t1 = lease_time.map(|l| {
            ack.u32_option(58)
                .map(|s| Duration::from_secs(u64::from(s)))
                .filter(|t| *t < l)
                .unwrap_or(l / 2)
        });
        let t2 = lease_time.map(|l| {
            ack.u32_option(59)
                .map(|s| Duration::from_secs(u64::from(s)))
                .filter(|t| *t < l && Some(*t) > t1)
                .unwrap_or(l * 7 / 8)
        });
        Ok(Lease {
            address: a,
            server,
            subnet_mask: ack.addr_option(1),
            routers: ack.addr_list_option(3).unwrap_or_default(),
            dns_servers: ack.addr_list_option(6).unwrap_or_default(),
            domain_name: ack.options.get(&15).and_then(|v| text(v).ok()),
            ntp_servers: ack.addr_list_option(42).unwrap_or_default(),
            times: LeaseTimes {
                start,
                t1,
                t2,
                lifetime: lease_time,
            },
            options: ack.options.clone(),
            next_server: ack.siaddr,
        })
    }

    /// The prefix length from the subnet mask, when the mask is contiguous.
    pub fn prefix_len(&self) -> Option<u8> {
        let m = u32::from(self.subnet_mask?);
        let len = m.leading_ones();
        (m.checked_shl(len).unwrap_or(0) == 0).then_some(len as u8)
    }

    /// When the lease ends (`None`: never).
    pub fn expires_at(&self) -> Option<Instant> {
        self.times.expires_at()
    }

    /// The WPAD URL of option 252 (proxy-pac's DHCP source), when present and printable.
    pub fn wpad_url(&self) -> Option<String> {
        self.options.get(&252).and_then(|v| text(v).ok())
    }

    /// Walks `order` (`DHCP_Option_To_Use`) and returns the first option present in the lease
    /// that names a provisioning server or URL, with every earlier option that was present but
    /// unusable and why.
    pub fn provisioning_source(&self, order: &[u8]) -> SourceChoice {
        let mut passed_over = Vec::new();
        for &code in order {
            let Some(value) = self.options.get(&code) else {
                continue;
            };
            match source_from(code, value) {
                Ok(source) => {
                    return SourceChoice {
                        chosen: Some((u16::from(code), source)),
                        passed_over,
                    };
                }
                Err(reason) => passed_over.push(PassedOver {
                    option: u16::from(code),
                    reason,
                }),
            }
        }
        SourceChoice {
            chosen: None,
            passed_over,
        }
    }
}

/// Which option named the provisioning server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceChoice {
    /// The option code that won and what it says; `None` when no option in the order did.
    pub chosen: Option<(u16, ProvisioningSource)>,
    /// Options in the order before the winner that were present but not usable.
    pub passed_over: Vec<PassedOver>,
}

/// An option present in the lease but not usable as a provisioning source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassedOver {
    /// The option code.
    pub option: u16,
    /// Why.
    pub reason: String,
}

/// What a provisioning option names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProvisioningSource {
    /// Option 66: the TFTP server's name (or address) for rules that name no server.
    TftpServerName(String),
    /// Option 150 (IPv4, RFC 5859), or DHCPv6 option 17 with Cisco's enterprise 9
    /// sub-option 1 (IPv6): TFTP server addresses, tried in order.
    TftpServers(Vec<IpAddr>),
    /// Option 160: a provisioning URL.
    Url(String),
    /// Option 159: provisioning servers, `[scheme://]host[;host…][/path]` (Cisco; the
    /// `;`-separated alternates and the path per the 6800 release notes).
    Servers {
        /// The scheme, when given.
        scheme: Option<String>,
        /// The servers, in order.
        hosts: Vec<String>,
        /// The path, when given (starting with `/`).
        path: Option<String>,
    },
    /// Option 43 sub-option 1, or option 125 (enterprise 3561) sub-option 11: a TR-069 ACS URL.
    AcsUrl(String),
    /// Option 60 in the server's reply holding an absolute URL (our reading: the guide lists
    /// 60 in the order without saying what the server puts there; only a URL is taken).
    VendorClassUrl(String),
}

impl fmt::Display for ProvisioningSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProvisioningSource::TftpServerName(n) => write!(f, "TFTP server {n}"),
            ProvisioningSource::TftpServers(a) => {
                let list: Vec<String> = a.iter().map(IpAddr::to_string).collect();
                write!(f, "TFTP servers {}", list.join(", "))
            }
            ProvisioningSource::Url(u) => write!(f, "provisioning URL {u}"),
            ProvisioningSource::Servers { scheme, hosts, path } => {
                write!(f, "provisioning servers ")?;
                if let Some(s) = scheme {
                    write!(f, "{s}://")?;
                }
                write!(f, "{}{}", hosts.join(";"), path.as_deref().unwrap_or(""))
            }
            ProvisioningSource::AcsUrl(u) => write!(f, "TR-069 ACS URL {u}"),
            ProvisioningSource::VendorClassUrl(u) => write!(f, "vendor class URL {u}"),
        }
    }
}

/// A printable ASCII string from an option (trailing NULs dropped, as some servers add one).
pub(crate) fn text(value: &[u8]) -> Result<String, String> {
    let end = value.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let v = value.get(..end).unwrap_or_default();
    if v.is_empty() {
        return Err("empty".into());
    }
    if let Some(i) = v.iter().position(|b| !(0x20..0x7f).contains(b)) {
        return Err(format!("byte {i} is not printable ASCII"));
    }
    Ok(String::from_utf8_lossy(v).trim().to_owned())
}

pub(crate) fn is_url(s: &str) -> bool {
    s.split_once("://").is_some_and(|(scheme, rest)| {
        !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric()) && !rest.is_empty()
    })
}

pub(crate) fn source_from(code: u8, value: &[u8]) -> Result<ProvisioningSource, String> {
    match code {
        66 => {
            let name = text(value)?;
            if name.contains(char::is_whitespace) || name.contains('/') {
                return Err(format!("`{name}` is not a server name"));
            }
            Ok(ProvisioningSource::TftpServerName(name))
        }
        150 => crate::message::addresses(value)
            .map(|a| ProvisioningSource::TftpServers(a.into_iter().map(IpAddr::V4).collect()))
            .ok_or_else(|| format!("length {} is not a multiple of 4", value.len())),
        160 => {
            let url = text(value)?;
            if !is_url(&url) {
                return Err(format!("`{url}` is not a URL (scheme://host/path)"));
            }
            Ok(ProvisioningSource::Url(url))
        }
        159 => {
            let t = text(value)?;
            let (scheme, rest) = match t.split_once("://") {
                Some((s, r)) => (Some(s.to_owned()), r),
                None => (None, t.as_str()),
            };
            let (hosts, path) = match rest.find('/') {
                Some(i) => (&rest[..i], Some(rest[i..].to_owned())),
                None => (rest, None),
            };
            let hosts: Vec<String> = hosts
                .split(';')
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .map(str::to_owned)
                .collect();
            if hosts.is_empty() || hosts.iter().any(|h| h.contains(char::is_whitespace)) {
                return Err(format!("`{t}` names no server"));
            }
            Ok(ProvisioningSource::Servers { scheme, hosts, path })
        }
        60 => {
            let t = text(value)?;
            if is_url(&t) {
                Ok(ProvisioningSource::VendorClassUrl(t))
            } else {
                Err(format!("`{t}` is a vendor class, not a URL"))
            }
        }
        43 => sub_option(value, 1)
            .ok_or_else(|| "no sub-option 1 (TR-069 ACS URL)".to_owned())
            .and_then(|v| acs(&v)),
        125 => vivso_acs(value).and_then(|v| acs(&v)),
        _ => Err(format!("option {code} does not name a provisioning server")),
    }
}

fn acs(value: &[u8]) -> Result<ProvisioningSource, String> {
    let url = text(value)?;
    if !is_url(&url) {
        return Err(format!("ACS URL `{url}` is not a URL"));
    }
    Ok(ProvisioningSource::AcsUrl(url))
}

/// A sub-option in an encapsulated code/length/value list (option 43's TR-069 form).
pub(crate) fn sub_option(mut data: &[u8], want: u8) -> Option<Vec<u8>> {
    while let [code, len, rest @ ..] = data {
        let v = rest.get(..usize::from(*len))?;
        if *code == want {
            return Some(v.to_vec());
        }
        data = rest.get(usize::from(*len)..)?;
    }
    None
}

/// Option 125 (RFC 3925): enterprise (u32), data-len (u8), sub-options; TR-069 enterprise
/// 3561 sub-option 11 is the ACS URL.
fn vivso_acs(mut data: &[u8]) -> Result<Vec<u8>, String> {
    while !data.is_empty() {
        let (Some(ent), Some(&len)) = (data.get(..4), data.get(4)) else {
            return Err("truncated enterprise header".into());
        };
        let enterprise = <[u8; 4]>::try_from(ent).map_or(0, u32::from_be_bytes);
        let Some(body) = data.get(5..5 + usize::from(len)) else {
            return Err(format!("enterprise {enterprise} data runs past the option"));
        };
        if enterprise == BROADBAND_FORUM_ENTERPRISE {
            return sub_option(body, 11)
                .ok_or_else(|| "enterprise 3561 has no sub-option 11 (ACS URL)".into());
        }
        data = data.get(5 + usize::from(len)..).unwrap_or_default();
    }
    Err("no enterprise 3561 (TR-069) data".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(options: &[(u8, &[u8])]) -> Lease {
        Lease {
            address: Ipv4Addr::new(10, 0, 0, 5),
            server: Ipv4Addr::new(10, 0, 0, 1),
            subnet_mask: Some(Ipv4Addr::new(255, 255, 255, 0)),
            routers: vec![],
            dns_servers: vec![],
            domain_name: None,
            ntp_servers: vec![],
            times: LeaseTimes {
                start: Instant::now(),
                t1: None,
                t2: None,
                lifetime: None,
            },
            options: options.iter().map(|(c, v)| (*c, v.to_vec())).collect(),
            next_server: Ipv4Addr::UNSPECIFIED,
        }
    }

    #[test]
    fn first_usable_option_in_the_order_wins() {
        let l = lease(&[(150, &[10, 0, 0, 9]), (160, b"https://prov.example.com/x.xml")]);
        let c = l.provisioning_source(DEFAULT_OPTION_ORDER);
        assert_eq!(
            c.chosen,
            Some((
                160,
                ProvisioningSource::Url("https://prov.example.com/x.xml".into())
            ))
        );
        // The order is the configuration's: 150 before 160.
        let c = l.provisioning_source(&[150, 160]);
        assert_eq!(
            c.chosen,
            Some((
                150,
                ProvisioningSource::TftpServers(vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9))])
            ))
        );
    }

    #[test]
    fn malformed_options_are_passed_over_with_the_reason() {
        let l = lease(&[(66, b"a b"), (160, b"no-scheme"), (150, &[10, 0, 0])]);
        let c = l.provisioning_source(DEFAULT_OPTION_ORDER);
        assert_eq!(c.chosen, None);
        let codes: Vec<u16> = c.passed_over.iter().map(|p| p.option).collect();
        assert_eq!(codes, [66, 160, 150]);
        assert!(c.passed_over[2].reason.contains("multiple of 4"));
    }

    #[test]
    fn option_159_takes_scheme_alternates_and_path() {
        let l = lease(&[(159, b"http://10.0.0.1;10.0.0.2/cfg\0")]);
        let c = l.provisioning_source(DEFAULT_OPTION_ORDER);
        assert_eq!(
            c.chosen,
            Some((
                159,
                ProvisioningSource::Servers {
                    scheme: Some("http".into()),
                    hosts: vec!["10.0.0.1".into(), "10.0.0.2".into()],
                    path: Some("/cfg".into())
                }
            ))
        );
    }

    #[test]
    fn tr069_acs_from_43_and_125() {
        let mut o43 = vec![1, 22];
        o43.extend_from_slice(b"http://acs.example.com");
        let l = lease(&[(43, &o43)]);
        assert_eq!(
            l.provisioning_source(DEFAULT_OPTION_ORDER).chosen,
            Some((43, ProvisioningSource::AcsUrl("http://acs.example.com".into())))
        );
        let mut o125 = 9u32.to_be_bytes().to_vec();
        o125.extend_from_slice(&[2, 1, 0]);
        o125.extend_from_slice(&3561u32.to_be_bytes());
        o125.extend_from_slice(&[24, 11, 22]);
        o125.extend_from_slice(b"http://acs.example.com");
        let l = lease(&[(125, &o125)]);
        assert_eq!(
            l.provisioning_source(DEFAULT_OPTION_ORDER).chosen,
            Some((125, ProvisioningSource::AcsUrl("http://acs.example.com".into())))
        );
    }

    #[test]
    fn prefix_length_from_mask() {
        assert_eq!(lease(&[]).prefix_len(), Some(24));
        let mut l = lease(&[]);
        l.subnet_mask = Some(Ipv4Addr::new(255, 0, 255, 0));
        assert_eq!(l.prefix_len(), None);
    }
}
