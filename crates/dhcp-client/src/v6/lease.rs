//! A DHCPv6 lease and its provisioning source in `DHCPv6_Option_To_Use` order (SPEC §2).

use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

use super::message::{DecodeError6, IaAddress, Received6, addresses6, code};
use crate::lease::{LeaseTimes, PassedOver, ProvisioningSource, SourceChoice, is_url, source_from, text};

/// The phone's default `DHCPv6_Option_To_Use`.
pub const DEFAULT_OPTION_ORDER6: &[u16] = &[17, 160, 159];

/// Cisco's IANA enterprise number: option 17 with it carries the TFTP servers in sub-option 1
/// (what Cisco IOS's `ipv6 dhcp pool … vendor-specific 9 / suboption 1 address` sends).
pub const CISCO_ENTERPRISE: u32 = 9;

/// A DHCPv6 lease from a REPLY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease6 {
    /// The addresses of our IA_NA (usually one), with their lifetimes.
    pub addresses: Vec<IaAddress>,
    /// The server's DUID (option 2): RENEW and RELEASE name it.
    pub server_id: Vec<u8>,
    /// Option 23.
    pub dns_servers: Vec<Ipv6Addr>,
    /// Option 24, as dotted names.
    pub domain_search: Vec<String>,
    /// From the message that got this REPLY: T1 (the IA's, or 0.5 × the shortest preferred
    /// lifetime when the server leaves it to the client, RFC 8415 §21.4), T2 (the IA's, or
    /// 0.8 ×), and the longest valid lifetime (when it passes without a REPLY the lease is gone).
    pub times: LeaseTimes,
    /// Every top-level option of the REPLY, raw, in order (17 may repeat per enterprise).
    pub options: Vec<(u16, Vec<u8>)>,
}

/// Why a REPLY was not taken as a lease.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseError6 {
    /// Malformed.
    #[error(transparent)]
    Decode(#[from] DecodeError6),
    /// No Server Identifier.
    #[error("the REPLY has no server identifier (option 2)")]
    NoServerId,
    /// The server refused (top-level or IA status code other than Success).
    #[error("the server answered status {code}: {message}")]
    Status {
        /// RFC 8415 §21.13 status code (2 NoAddrsAvail, 3 NoBinding, …).
        code: u16,
        /// The server's text.
        message: String,
    },
    /// Our IA_NA is missing or has no usable address.
    #[error("the REPLY assigns no address in our IA_NA")]
    NoAddress,
}

const INFINITE: u32 = u32::MAX;

fn secs(s: u32) -> Option<Duration> {
    (s != INFINITE).then(|| Duration::from_secs(u64::from(s)))
}

impl Lease6 {
    pub(crate) fn from_reply(reply: &Received6, iaid: u32, start: Instant) -> Result<Lease6, LeaseError6> {
        if let Some((code, message)) = reply.status()?
            && code != 0
        {
            return Err(LeaseError6::Status { code, message });
        }
        let server_id = reply
            .option(code::SERVER_ID)
            .map(|o| o.value.clone())
            .ok_or(LeaseError6::NoServerId)?;
        let ia = reply.ia_na(iaid)?.ok_or(LeaseError6::NoAddress)?;
        if let Some((code, message)) = ia.status
            && code != 0
        {
            return Err(LeaseError6::Status { code, message });
        }
        let addresses: Vec<IaAddress> = ia
            .addresses
            .into_iter()
            .filter(|a| a.valid > 0 && a.preferred <= a.valid && !a.address.is_multicast())
            .collect();
        if addresses.is_empty() {
            return Err(LeaseError6::NoAddress);
        }
        let shortest_preferred = addresses.iter().map(|a| a.preferred).min().unwrap_or(0);
        let valid = addresses.iter().map(|a| a.valid).max().and_then(secs);
        // RFC 8415 §21.4: T1/T2 of 0 leave the times to the client; we take 0.5 and 0.8 of
        // the shortest preferred lifetime. T1 > T2 is a bad IA: use ours.
        let (t1, t2) = if ia.t1 == 0 || ia.t2 == 0 || ia.t1 > ia.t2 {
            let p = secs(shortest_preferred);
            (p.map(|p| p / 2), p.map(|p| p * 4 / 5))
        } else {
            (secs(ia.t1), secs(ia.t2))
        };
        let domain_search = reply
            .option(code::DOMAIN_LIST)
            .map(|o| dns_names(&o.value))
            .unwrap_or_default();
        Ok(Lease6 {
            addresses,
            server_id,
            dns_servers: reply.addresses(code::DNS_SERVERS).unwrap_or_default(),
            domain_search,
            times: LeaseTimes {
                start,
                t1,
                t2,
                lifetime: valid,
            },
            options: reply.options.iter().map(|o| (o.code, o.value.clone())).collect(),
        })
    }

    /// The first address.
    pub fn address(&self) -> Option<Ipv6Addr> {
        self.addresses.first().map(|a| a.address)
    }

    /// When the lease ends (`None`: never).
    pub fn expires_at(&self) -> Option<Instant> {
        self.times.expires_at()
    }

    /// Walks `order` (`DHCPv6_Option_To_Use`) and returns the first option present in the
    /// lease that names a provisioning server or URL, with every earlier option that was present
    /// but unusable and why.
    ///
    /// Readings (the vendor documents no v6 payloads): 160 holds a URL and 159 a
    /// `[scheme://]host[;host…][/path]` as in DHCPv4; 17 (RFC 8415 §21.17) is read per
    /// enterprise: Cisco (9) sub-option 1 = TFTP server addresses, Broadband Forum (3561)
    /// sub-option 1 = TR-069 ACS URL (TR-069 Annex for DHCPv6); other enterprises are passed
    /// over with the reason.
    pub fn provisioning_source(&self, order: &[u16]) -> SourceChoice {
        let mut passed_over = Vec::new();
        for &code in order {
            for (_, value) in self.options.iter().filter(|(c, _)| *c == code) {
                let found = match code {
                    code::VENDOR_OPTS => vendor_source(value),
                    159 | 160 => source_from(code as u8, value),
                    _ => Err(format!(
                        "DHCPv6 option {code} does not name a provisioning server"
                    )),
                };
                match found {
                    Ok(source) => {
                        return SourceChoice {
                            chosen: Some((code, source)),
                            passed_over,
                        };
                    }
                    Err(reason) => passed_over.push(PassedOver { option: code, reason }),
                }
            }
        }
        SourceChoice {
            chosen: None,
            passed_over,
        }
    }
}

/// Option 17: enterprise-number (u32), then sub-options (code u16, length u16, data).
fn vendor_source(value: &[u8]) -> Result<ProvisioningSource, String> {
    let (Some(ent), Some(mut data)) = (value.get(..4), value.get(4..)) else {
        return Err(format!(
            "{} bytes, too short for an enterprise number",
            value.len()
        ));
    };
    let enterprise = <[u8; 4]>::try_from(ent).map_or(0, u32::from_be_bytes);
    let mut subs = Vec::new();
    while !data.is_empty() {
        let (Some(&[c0, c1, l0, l1]), Some(rest)) = (data.get(..4), data.get(4..)) else {
            return Err(format!("enterprise {enterprise}: truncated sub-option header"));
        };
        let sub = u16::from_be_bytes([c0, c1]);
        let len = usize::from(u16::from_be_bytes([l0, l1]));
        let Some(v) = rest.get(..len) else {
            return Err(format!(
                "enterprise {enterprise}: sub-option {sub} runs past the option"
            ));
        };
        subs.push((sub, v));
        data = rest.get(len..).unwrap_or_default();
    }
    let sub1 = subs.iter().find(|(c, _)| *c == 1).map(|(_, v)| *v);
    match enterprise {
        CISCO_ENTERPRISE => {
            let v = sub1.ok_or("enterprise 9 (Cisco) has no sub-option 1 (TFTP servers)")?;
            let a = addresses6(v).ok_or_else(|| {
                format!(
                    "enterprise 9 sub-option 1: length {} is not a multiple of 16",
                    v.len()
                )
            })?;
            Ok(ProvisioningSource::TftpServers(
                a.into_iter().map(IpAddr::V6).collect(),
            ))
        }
        crate::BROADBAND_FORUM_ENTERPRISE => {
            let v = sub1.ok_or("enterprise 3561 has no sub-option 1 (ACS URL)")?;
            let url = text(v)?;
            if !is_url(&url) {
                return Err(format!("ACS URL `{url}` is not a URL"));
            }
            Ok(ProvisioningSource::AcsUrl(url))
        }
        other => Err(format!(
            "enterprise {other} is neither Cisco (9) nor TR-069 (3561)"
        )),
    }
}

/// RFC 1035 §3.1 names (no compression, RFC 3646 §5), as dotted text; stops at the first bad one.
fn dns_names(mut v: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    let mut labels: Vec<String> = Vec::new();
    while let [len, rest @ ..] = v {
        let len = usize::from(*len);
        if len == 0 {
            names.push(labels.join("."));
            labels.clear();
            v = rest;
            continue;
        }
        let Some(label) = rest.get(..len).filter(|_| len < 64) else {
            break;
        };
        labels.push(String::from_utf8_lossy(label).into_owned());
        v = rest.get(len..).unwrap_or_default();
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(options: &[(u16, &[u8])]) -> Lease6 {
        Lease6 {
            addresses: vec![],
            server_id: vec![],
            dns_servers: vec![],
            domain_search: vec![],
            times: LeaseTimes {
                start: Instant::now(),
                t1: None,
                t2: None,
                lifetime: None,
            },
            options: options.iter().map(|(c, v)| (*c, v.to_vec())).collect(),
        }
    }

    fn vendor(enterprise: u32, sub: u16, data: &[u8]) -> Vec<u8> {
        let mut v = enterprise.to_be_bytes().to_vec();
        v.extend_from_slice(&sub.to_be_bytes());
        v.extend_from_slice(&(data.len() as u16).to_be_bytes());
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn option_17_per_enterprise_then_160_and_159() {
        let tftp: Ipv6Addr = "fd00::69".parse().unwrap();
        let cisco = vendor(9, 1, &tftp.octets());
        let acs = vendor(3561, 1, b"http://acs.example.com/");
        let l = lease(&[(17, &acs), (17, &cisco), (160, b"https://prov.example.com/p.xml")]);
        // Two 17s: the first usable one wins (both are).
        assert_eq!(
            l.provisioning_source(DEFAULT_OPTION_ORDER6).chosen,
            Some((17, ProvisioningSource::AcsUrl("http://acs.example.com/".into())))
        );
        assert_eq!(
            l.provisioning_source(&[160, 17]).chosen,
            Some((
                160,
                ProvisioningSource::Url("https://prov.example.com/p.xml".into())
            ))
        );
        let l = lease(&[(17, &vendor(4491, 1, b"x")), (17, &cisco)]);
        let c = l.provisioning_source(DEFAULT_OPTION_ORDER6);
        assert_eq!(
            c.chosen,
            Some((17, ProvisioningSource::TftpServers(vec![IpAddr::V6(tftp)])))
        );
        assert!(c.passed_over[0].reason.contains("4491"));
    }

    #[test]
    fn malformed_options_are_passed_over_with_the_reason() {
        let l = lease(&[
            (17, &vendor(9, 1, &[0; 15])),
            (160, b"not a url"),
            (159, b"http://[fd00::9];[fd00::a]/cfg"),
        ]);
        let c = l.provisioning_source(DEFAULT_OPTION_ORDER6);
        assert_eq!(
            c.chosen,
            Some((
                159,
                ProvisioningSource::Servers {
                    scheme: Some("http".into()),
                    hosts: vec!["[fd00::9]".into(), "[fd00::a]".into()],
                    path: Some("/cfg".into())
                }
            ))
        );
        let codes: Vec<u16> = c.passed_over.iter().map(|p| p.option).collect();
        assert_eq!(codes, [17, 160]);
        assert!(c.passed_over[0].reason.contains("multiple of 16"));
    }

    #[test]
    fn domain_search_names() {
        assert_eq!(
            dns_names(b"\x07example\x03com\x00\x01a\x00"),
            ["example.com", "a"]
        );
    }
}
