//! `DHCP_Option_To_Use` and `DHCPv6_Option_To_Use` (SPEC §2): the order in which DHCP options
//! are used to find the provisioning server and firmware.

use std::fmt;

use crate::value::{Param, Problem, parse_number};

/// DHCPv4 options the phone supports (SPEC §2), with what they carry.
pub const DHCPV4_SUPPORTED: &[(u8, &str)] = &[
    (1, "subnet mask"),
    (2, "time offset"),
    (3, "router"),
    (6, "DNS servers"),
    (15, "domain name"),
    (41, "IP address lease time"),
    (42, "NTP servers"),
    (43, "vendor-specific information"),
    (56, "NTP server over IPv6"),
    (60, "vendor class identifier"),
    (66, "TFTP server name"),
    (125, "vendor-identifying vendor-specific information"),
    (150, "TFTP server"),
    (159, "provisioning server IP"),
    (160, "provisioning URL"),
];

/// DHCPv4 options that can name a provisioning or firmware server: the guide's default list.
pub const DHCPV4_PROVISIONING: &[u8] = &[66, 160, 159, 150, 60, 43, 125];

/// DHCPv6 options that can name a provisioning server: the guide's default list
/// (17 vendor-specific information, 160 provisioning URL, 159 provisioning server).
pub const DHCPV6_PROVISIONING: &[u16] = &[17, 160, 159];

/// An ordered list of DHCPv4 option codes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DhcpOptions(Vec<u8>);

/// An ordered list of DHCPv6 option codes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dhcpv6Options(Vec<u16>);

impl DhcpOptions {
    /// The option codes, in the order the phone tries them.
    pub fn codes(&self) -> &[u8] {
        &self.0
    }
}

impl Default for DhcpOptions {
    fn default() -> Self {
        DhcpOptions(DHCPV4_PROVISIONING.to_vec())
    }
}

impl Dhcpv6Options {
    /// The option codes, in the order the phone tries them.
    pub fn codes(&self) -> &[u16] {
        &self.0
    }
}

impl Default for Dhcpv6Options {
    fn default() -> Self {
        Dhcpv6Options(DHCPV6_PROVISIONING.to_vec())
    }
}

/// Splits a comma-separated list of numbers, reporting bad and duplicate entries.
fn parse_list(
    text: &str,
    max: u32,
    problems: &mut Vec<Problem>,
    mut check: impl FnMut(u32, &str, usize, &mut Vec<Problem>) -> bool,
) -> Option<Vec<u32>> {
    let mut codes: Vec<u32> = Vec::new();
    let mut ok = true;
    let mut offset = 0;
    if text.is_empty() {
        problems.push(
            Problem::warning("no DHCP option is used to find the provisioning server")
                .hint("the server must then come from Profile_Rule; the default list is used when the element is absent"),
        );
        return Some(codes);
    }
    for raw in text.split(',') {
        let at = offset + (raw.len() - raw.trim_start().len());
        offset += raw.len() + 1;
        let entry = raw.trim();
        match parse_number(entry, max) {
            None => {
                ok = false;
                problems.push(
                    Problem::error(format!("`{entry}` is not a DHCP option number"))
                        .hint(format!("expected comma-separated numbers from 1 to {max}"))
                        .offset(at),
                );
            }
            Some(code) if codes.contains(&code) => problems.push(
                Problem::warning(format!("option {code} is listed twice"))
                    .hint("only its first place in the list counts")
                    .offset(at),
            ),
            Some(code) => {
                if check(code, entry, at, problems) {
                    codes.push(code);
                } else {
                    ok = false;
                }
            }
        }
    }
    ok.then_some(codes)
}

impl Param for DhcpOptions {
    fn show(&self) -> String {
        self.to_string()
    }
    const KIND: crate::Kind = crate::Kind::DhcpOptions;

    fn parse_param(text: &str, problems: &mut Vec<Problem>) -> Option<Self> {
        let codes = parse_list(text, 254, problems, |code, entry, at, problems| {
            let Some((_, what)) = DHCPV4_SUPPORTED.iter().find(|(c, _)| u32::from(*c) == code) else {
                problems.push(
                    Problem::error(format!("DHCP option {entry} is not supported by the phone"))
                        .hint("provisioning options are 66, 160, 159, 150, 60, 43 and 125")
                        .offset(at),
                );
                return false;
            };
            if !DHCPV4_PROVISIONING.iter().any(|c| u32::from(*c) == code) {
                problems.push(
                    Problem::warning(format!(
                        "DHCP option {code} ({what}) carries no provisioning server"
                    ))
                    .hint("provisioning options are 66, 160, 159, 150, 60, 43 and 125")
                    .offset(at),
                );
            }
            true
        })?;
        Some(DhcpOptions(
            codes.into_iter().filter_map(|c| u8::try_from(c).ok()).collect(),
        ))
    }
}

impl Param for Dhcpv6Options {
    fn show(&self) -> String {
        self.to_string()
    }
    const KIND: crate::Kind = crate::Kind::DhcpOptions;

    fn parse_param(text: &str, problems: &mut Vec<Problem>) -> Option<Self> {
        let codes = parse_list(text, 65535, problems, |code, entry, at, problems| {
            if DHCPV6_PROVISIONING.iter().any(|c| u32::from(*c) == code) {
                return true;
            }
            problems.push(
                Problem::error(format!("DHCPv6 option {entry} is not supported for provisioning"))
                    .hint("supported DHCPv6 options are 17, 160 and 159")
                    .offset(at),
            );
            false
        })?;
        Some(Dhcpv6Options(
            codes.into_iter().filter_map(|c| u16::try_from(c).ok()).collect(),
        ))
    }
}

fn join<T: fmt::Display>(f: &mut fmt::Formatter<'_>, codes: &[T]) -> fmt::Result {
    let parts: Vec<String> = codes.iter().map(ToString::to_string).collect();
    f.write_str(&parts.join(","))
}

impl fmt::Display for DhcpOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        join(f, &self.0)
    }
}

impl fmt::Display for Dhcpv6Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        join(f, &self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip() {
        let mut p = Vec::new();
        let v4 = DhcpOptions::parse_param("66,160,159,150,60,43,125", &mut p).unwrap();
        assert_eq!(v4, DhcpOptions::default());
        let v6 = Dhcpv6Options::parse_param("17, 160, 159", &mut p).unwrap();
        assert_eq!(v6, Dhcpv6Options::default());
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(v4.to_string(), "66,160,159,150,60,43,125");
    }

    #[test]
    fn bad_lists() {
        let mut p = Vec::new();
        assert!(DhcpOptions::parse_param("66,abc", &mut p).is_none());
        assert_eq!(
            (p[0].offset, p[0].message.as_str()),
            (Some(3), "`abc` is not a DHCP option number")
        );
        p.clear();
        assert!(DhcpOptions::parse_param("66,252", &mut p).is_none());
        assert!(p[0].message.contains("252 is not supported"), "{p:?}");
        p.clear();
        let v = DhcpOptions::parse_param("66,66,3", &mut p).unwrap();
        assert_eq!(v.codes(), &[66, 3]);
        assert!(
            p[0].message.contains("listed twice") && p[1].message.contains("router"),
            "{p:?}"
        );
        p.clear();
        assert!(Dhcpv6Options::parse_param("17,23", &mut p).is_none());
        assert!(DhcpOptions::parse_param("0", &mut p).is_none());
        assert!(DhcpOptions::parse_param("255", &mut p).is_none());
    }
}
