//! `Firewall_Config`: extra firewall options (SPEC §8).
//!
//! ```text
//! config  = [ entry *( "," entry ) ]
//! entry   = "NO_ICMP_PING" / "NO_ICMP_UNREACHABLE" / "NO_CISCO_TFTP"
//!         / ( "UDP" / "TCP" ) ":" port [ ":" port ]      ; 1..65535, first <= last
//! ```
//! At most five UDP and five TCP entries. Keywords are written in capitals, as the guide does;
//! another spelling is an error with the right spelling as the hint, never a silent guess.

use std::fmt;
use std::ops::RangeInclusive;

use crate::value::{Param, Problem, parse_number};

/// The most UDP (and, separately, TCP) entries the phone accepts.
pub const MAX_PORT_ENTRIES: usize = 5;

/// Transport protocol of an opened port range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
}

impl Protocol {
    fn as_str(self) -> &'static str {
        match self {
            Protocol::Udp => "UDP",
            Protocol::Tcp => "TCP",
        }
    }
}

/// An inclusive range of ports, `first <= last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    first: u16,
    last: u16,
}

impl PortRange {
    /// A range; `None` when a bound is 0 or `first > last`.
    pub fn new(first: u16, last: u16) -> Option<Self> {
        (first > 0 && first <= last).then_some(PortRange { first, last })
    }

    /// The ports, inclusive.
    pub fn ports(self) -> RangeInclusive<u16> {
        self.first..=self.last
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}:{}", self.first, self.last)
        }
    }
}

/// The parsed `Firewall_Config`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FirewallConfig {
    /// `NO_ICMP_PING`: drop inbound ICMP/ICMPv6 echo requests.
    pub no_icmp_ping: bool,
    /// `NO_ICMP_UNREACHABLE`: send no destination-unreachable for UDP ports outside RTP.
    pub no_icmp_unreachable: bool,
    /// `NO_CISCO_TFTP`: do not open the TFTP client ports 53240-53245.
    pub no_cisco_tftp: bool,
    /// Extra UDP ports opened, in the order given.
    pub udp: Vec<PortRange>,
    /// Extra TCP ports opened, in the order given.
    pub tcp: Vec<PortRange>,
}

const KEYWORDS: [&str; 3] = ["NO_ICMP_PING", "NO_ICMP_UNREACHABLE", "NO_CISCO_TFTP"];

impl Param for FirewallConfig {
    fn show(&self) -> String {
        self.to_string()
    }
    const KIND: crate::Kind = crate::Kind::Firewall;

    fn parse_param(text: &str, problems: &mut Vec<Problem>) -> Option<Self> {
        let mut config = FirewallConfig::default();
        let errors_before = problems.iter().filter(|p| p.is_error()).count();
        if text.is_empty() {
            return Some(config);
        }
        let mut offset = 0;
        for raw in text.split(',') {
            let at = offset + (raw.len() - raw.trim_start().len());
            offset += raw.len() + 1;
            let entry = raw.trim();
            if entry.is_empty() {
                problems.push(
                    Problem::error("empty entry")
                        .hint("entries are separated by single commas")
                        .offset(at),
                );
                continue;
            }
            let mut parts = entry.splitn(2, ':');
            let word = parts.next().unwrap_or("");
            match (word, parts.next()) {
                ("NO_ICMP_PING", None) => set_flag(&mut config.no_icmp_ping, entry, at, problems),
                ("NO_ICMP_UNREACHABLE", None) => {
                    set_flag(&mut config.no_icmp_unreachable, entry, at, problems)
                }
                ("NO_CISCO_TFTP", None) => set_flag(&mut config.no_cisco_tftp, entry, at, problems),
                ("UDP", Some(ports)) => push_range(&mut config.udp, Protocol::Udp, ports, at + 4, problems),
                ("TCP", Some(ports)) => push_range(&mut config.tcp, Protocol::Tcp, ports, at + 4, problems),
                (w, Some(_)) if w.eq_ignore_ascii_case("udp") || w.eq_ignore_ascii_case("tcp") => {
                    problems.push(
                        Problem::error(format!("`{w}` must be written in capitals"))
                            .hint(format!("write `{}`", w.to_ascii_uppercase()))
                            .offset(at),
                    );
                }
                (w, None) if KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(w)) => {
                    problems.push(
                        Problem::error(format!("`{w}` must be written in capitals"))
                            .hint(format!("write `{}`", w.to_ascii_uppercase()))
                            .offset(at),
                    );
                }
                (w, Some(_)) if KEYWORDS.contains(&w) => problems.push(
                    Problem::error(format!("`{w}` takes no value"))
                        .hint(format!("write `{w}` alone"))
                        .offset(at),
                ),
                (w, None) if w == "UDP" || w == "TCP" => problems.push(
                    Problem::error(format!("`{w}` needs a port"))
                        .hint(format!("write `{w}:port` or `{w}:first:last`"))
                        .offset(at),
                ),
                _ => problems.push(
                    Problem::error(format!("unknown firewall option `{entry}`"))
                        .hint(
                            "expected NO_ICMP_PING, NO_ICMP_UNREACHABLE, NO_CISCO_TFTP, \
                             UDP:port, UDP:first:last, TCP:port or TCP:first:last",
                        )
                        .offset(at),
                ),
            }
        }
        for (list, proto) in [(&config.udp, Protocol::Udp), (&config.tcp, Protocol::Tcp)] {
            if list.len() > MAX_PORT_ENTRIES {
                problems.push(
                    Problem::error(format!(
                        "{} {} entries; the phone takes at most {MAX_PORT_ENTRIES}",
                        list.len(),
                        proto.as_str()
                    ))
                    .hint("merge neighbouring ports into ranges (first:last)"),
                );
            }
        }
        let errors_after = problems.iter().filter(|p| p.is_error()).count();
        (errors_after == errors_before).then_some(config)
    }
}

fn set_flag(flag: &mut bool, entry: &str, at: usize, problems: &mut Vec<Problem>) {
    if *flag {
        problems.push(Problem::warning(format!("`{entry}` is given twice")).offset(at));
    }
    *flag = true;
}

fn push_range(
    list: &mut Vec<PortRange>,
    proto: Protocol,
    ports: &str,
    at: usize,
    problems: &mut Vec<Problem>,
) {
    let p = proto.as_str();
    let port = |text: &str, at: usize| -> Result<u16, Problem> {
        parse_number(text, 65535)
            .and_then(|n| u16::try_from(n).ok())
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                Problem::error(format!("`{text}` is not a port number"))
                    .hint("expected a number from 1 to 65535")
                    .offset(at)
            })
    };
    let parsed = match ports.split_once(':') {
        None => port(ports, at).map(|n| (n, n)),
        Some((a, b)) => port(a, at).and_then(|a| Ok((a, port(b, at + ports.len() - b.len())?))),
    };
    match parsed {
        Ok((first, last)) => match PortRange::new(first, last) {
            Some(range) => {
                if list.contains(&range) {
                    problems.push(Problem::warning(format!("`{p}:{ports}` is given twice")).offset(at));
                }
                list.push(range);
            }
            None => problems.push(
                Problem::error(format!("`{p}:{ports}`: the first port is greater than the last"))
                    .hint(format!("write `{p}:{last}:{first}`"))
                    .offset(at),
            ),
        },
        Err(e) => problems.push(e),
    }
}

impl fmt::Display for FirewallConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        for (on, word) in [
            (self.no_icmp_ping, KEYWORDS[0]),
            (self.no_icmp_unreachable, KEYWORDS[1]),
            (self.no_cisco_tftp, KEYWORDS[2]),
        ] {
            if on {
                parts.push(word.to_owned());
            }
        }
        parts.extend(self.udp.iter().map(|r| format!("UDP:{r}")));
        parts.extend(self.tcp.iter().map(|r| format!("TCP:{r}")));
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Option<FirewallConfig>, Vec<Problem>) {
        let mut p = Vec::new();
        (FirewallConfig::parse_param(text, &mut p), p)
    }

    #[test]
    fn the_guides_example() {
        let (c, p) = parse("NO_ICMP_PING,TCP:12000,UDP:8000:8010");
        assert!(p.is_empty(), "{p:?}");
        let c = c.unwrap();
        assert!(c.no_icmp_ping && !c.no_cisco_tftp);
        assert_eq!(c.tcp, vec![PortRange::new(12000, 12000).unwrap()]);
        assert_eq!(c.udp[0].ports(), 8000..=8010);
        assert_eq!(c.to_string(), "NO_ICMP_PING,UDP:8000:8010,TCP:12000");
    }

    #[test]
    fn errors_name_the_entry_and_its_offset() {
        let (c, p) = parse("NO_ICMP_PING, UDP:0");
        assert!(c.is_none());
        assert_eq!(
            (p[0].offset, p[0].message.as_str()),
            (Some(18), "`0` is not a port number")
        );
        let (_, p) = parse("TCP:9000:8000");
        assert!(p[0].message.contains("greater"), "{p:?}");
        let (_, p) = parse("UDP:70000");
        assert!(p[0].message.contains("70000"));
        let (_, p) = parse("NO_PING");
        assert!(p[0].message.contains("unknown firewall option `NO_PING`"));
        let (_, p) = parse("no_icmp_ping");
        assert_eq!(p[0].hint.as_deref(), Some("write `NO_ICMP_PING`"));
        let (_, p) = parse("UDP");
        assert!(p[0].message.contains("needs a port"));
        let (_, p) = parse("UDP:1:2:3");
        assert!(p[0].message.contains("`2:3`"), "{p:?}");
        let (_, p) = parse("NO_CISCO_TFTP,,UDP:1");
        assert_eq!((p[0].message.as_str(), p[0].offset), ("empty entry", Some(14)));
    }

    #[test]
    fn at_most_five_per_protocol() {
        let (c, p) = parse("UDP:1,UDP:2,UDP:3,UDP:4,UDP:5,TCP:1,TCP:2,TCP:3,TCP:4,TCP:5");
        assert!(c.is_some() && p.is_empty(), "{p:?}");
        let (c, p) = parse("UDP:1,UDP:2,UDP:3,UDP:4,UDP:5:9,UDP:6");
        assert!(c.is_none());
        assert!(p[0].message.starts_with("6 UDP entries"), "{p:?}");
    }
}
