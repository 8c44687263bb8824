//! The ruleset model: an ordered list of input-chain rules, each with the setting it comes from,
//! rendered as nftables text exactly as `nft list table inet phone_fw` prints it back.

use std::fmt::{self, Write as _};

use phone_config::{PortRange, Protocol};

use crate::inputs::{Inputs, SipLine, Tr069Port};
use crate::{Error, TABLE};

/// The longest rule comment nftables accepts.
pub const MAX_COMMENT_LEN: usize = 128;

/// What a rule matches.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Match {
    /// Packets arriving on the loopback interface: `iif "lo"`.
    Loopback,
    /// `ct state invalid`.
    CtInvalid,
    /// `ct state established,related`: return traffic of the phone's own flows.
    CtEstablishedRelated,
    /// Neighbour discovery and router messages with hop limit 255 (RFC 4861 §6.1, §7.1).
    NeighbourDiscovery,
    /// MLD listener queries (RFC 3810), so multicast listening (and NDP behind snooping
    /// switches) keeps working.
    MldQuery,
    /// ICMPv6 errors, packet-too-big included (RFC 4890 §4.3.1).
    Icmpv6Errors,
    /// ICMP errors.
    IcmpErrors,
    /// ICMPv6 echo requests sent to a multicast address.
    Icmpv6EchoMulticast,
    /// ICMPv6 echo requests.
    Icmpv6Echo,
    /// ICMP echo requests.
    IcmpEcho,
    /// Destination ports: one range, or a list of single ports.
    Ports {
        /// UDP or TCP.
        protocol: Protocol,
        /// The ports; sorted, without duplicates.
        ports: Vec<PortRange>,
    },
    /// Every packet of a transport protocol: `meta l4proto udp`.
    Protocol(Protocol),
}

/// What happens to a packet a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Let it in.
    Accept,
    /// Drop it silently.
    Drop,
    /// Drop it and answer ICMP / ICMPv6 port unreachable (`reject`, i.e. `icmpx
    /// port-unreachable` in an inet table).
    Reject,
}

/// One rule of the input chain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    matcher: Match,
    verdict: Verdict,
    comment: String,
}

impl Rule {
    /// What it matches.
    pub fn matcher(&self) -> &Match {
        &self.matcher
    }

    /// What it does.
    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// The setting it comes from, as its nftables comment.
    pub fn comment(&self) -> &str {
        &self.comment
    }
}

impl fmt::Display for Rule {
    /// The rule in nftables syntax, as `nft list` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.matcher {
            Match::Loopback => f.write_str("iif \"lo\"")?,
            Match::CtInvalid => f.write_str("ct state invalid")?,
            Match::CtEstablishedRelated => f.write_str("ct state established,related")?,
            Match::NeighbourDiscovery => f.write_str(
                "icmpv6 type { nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, nd-redirect } \
                 ip6 hoplimit 255",
            )?,
            Match::MldQuery => f.write_str("icmpv6 type mld-listener-query")?,
            Match::Icmpv6Errors => f.write_str(
                "icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem }",
            )?,
            Match::IcmpErrors => {
                f.write_str("icmp type { destination-unreachable, time-exceeded, parameter-problem }")?
            }
            Match::Icmpv6EchoMulticast => f.write_str("icmpv6 type echo-request meta pkttype multicast")?,
            Match::Icmpv6Echo => f.write_str("icmpv6 type echo-request")?,
            Match::IcmpEcho => f.write_str("icmp type echo-request")?,
            Match::Ports { protocol, ports } => {
                write!(f, "{} dport ", proto_name(*protocol))?;
                match ports.as_slice() {
                    [one] => write_range(f, *one)?,
                    many => {
                        f.write_str("{ ")?;
                        for (i, r) in many.iter().enumerate() {
                            if i > 0 {
                                f.write_str(", ")?;
                            }
                            write_range(f, *r)?;
                        }
                        f.write_str(" }")?;
                    }
                }
            }
            Match::Protocol(p) => write!(f, "meta l4proto {}", proto_name(*p))?,
        }
        let verdict = match self.verdict {
            Verdict::Accept => "accept",
            Verdict::Drop => "drop",
            Verdict::Reject => "reject",
        };
        write!(f, " {verdict} comment \"{}\"", self.comment)
    }
}

fn proto_name(p: Protocol) -> &'static str {
    match p {
        Protocol::Udp => "udp",
        Protocol::Tcp => "tcp",
    }
}

fn write_range(f: &mut fmt::Formatter<'_>, r: PortRange) -> fmt::Result {
    let (first, last) = (*r.ports().start(), *r.ports().end());
    if first == last {
        write!(f, "{first}")
    } else {
        write!(f, "{first}-{last}")
    }
}

/// The phone's firewall: Disabled, or the input chain of our own `inet` table.
///
/// Built from [`Inputs`]; rendered with [`Ruleset::script`] (one nftables transaction that
/// replaces our table, or removes it when the firewall is Disabled) and [`Ruleset::listing`]
/// (what `nft list table inet phone_fw` prints when the kernel holds this ruleset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ruleset {
    enabled: bool,
    rules: Vec<Rule>,
}

struct Builder {
    rules: Vec<Rule>,
}

impl Builder {
    fn push(&mut self, matcher: Match, verdict: Verdict, comment: String) {
        self.rules.push(Rule {
            matcher,
            verdict,
            comment,
        });
    }

    fn open(&mut self, protocol: Protocol, ports: Vec<PortRange>, comment: String) {
        self.push(Match::Ports { protocol, ports }, Verdict::Accept, comment);
    }
}

fn range(first: u16, last: u16) -> Result<PortRange, Error> {
    PortRange::new(first, last).ok_or(Error::RtpRange {
        min: first,
        max: last,
    })
}

fn single(port: u16) -> Result<PortRange, Error> {
    PortRange::new(port, port).ok_or_else(|| Error::ZeroPort(port.to_string()))
}

/// "1-3,5,7-16" from sorted line numbers.
fn line_list(lines: &[SipLine]) -> String {
    let mut numbers: Vec<u16> = lines.iter().map(|l| l.line).collect();
    numbers.sort_unstable();
    numbers.dedup();
    let mut out = String::new();
    let mut i = 0;
    while let Some(&start) = numbers.get(i) {
        let mut end = start;
        while numbers.get(i + 1) == Some(&(end.wrapping_add(1))) {
            end += 1;
            i += 1;
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            let _ = write!(out, "{start}");
        } else {
            let _ = write!(out, "{start}-{end}");
        }
        i += 1;
    }
    out
}

impl Ruleset {
    /// The ruleset the inputs call for.
    pub fn new(inputs: &Inputs) -> Result<Ruleset, Error> {
        inputs.validate()?;
        if !inputs.enabled {
            return Ok(Ruleset {
                enabled: false,
                rules: Vec::new(),
            });
        }
        let o = &inputs.options;
        let mut b = Builder { rules: Vec::new() };
        let on = "Firewall Enabled";
        b.push(
            Match::Loopback,
            Verdict::Accept,
            format!("{on}: the phone's own loopback traffic"),
        );
        b.push(
            Match::CtInvalid,
            Verdict::Drop,
            format!("{on}: packets conntrack finds invalid"),
        );
        b.push(
            Match::CtEstablishedRelated,
            Verdict::Accept,
            format!("{on}: return traffic of the phone's own flows while conntrack keeps them"),
        );
        b.push(
            Match::NeighbourDiscovery,
            Verdict::Accept,
            format!("{on}: IPv6 neighbour discovery and router adverts (RFC 4861)"),
        );
        b.push(
            Match::MldQuery,
            Verdict::Accept,
            format!("{on}: MLD queries (RFC 3810), so IPv6 multicast and NDP keep working"),
        );
        b.push(
            Match::Icmpv6Errors,
            Verdict::Accept,
            format!("{on}: ICMPv6 errors, packet-too-big for path MTU (RFC 4890)"),
        );
        b.push(Match::IcmpErrors, Verdict::Accept, format!("{on}: ICMP errors"));
        b.push(
            Match::Icmpv6EchoMulticast,
            Verdict::Accept,
            "IPv6 multicast ping (Broadcast Echo) keeps working regardless of the firewall".to_owned(),
        );
        if !o.no_icmp_ping {
            b.push(
                Match::Icmpv6Echo,
                Verdict::Accept,
                "Firewall_Config without NO_ICMP_PING: ICMPv6 echo requests".to_owned(),
            );
            b.push(
                Match::IcmpEcho,
                Verdict::Accept,
                "Firewall_Config without NO_ICMP_PING: ICMP echo requests".to_owned(),
            );
        }
        b.open(
            Protocol::Udp,
            vec![single(68)?],
            format!("{on}: DHCP client, UDP 68"),
        );
        b.open(
            Protocol::Udp,
            vec![single(546)?],
            format!("{on}: DHCPv6 client, UDP 546"),
        );
        if !inputs.sip_lines.is_empty() {
            let mut ports: Vec<u16> = inputs.sip_lines.iter().map(|l| l.port).collect();
            ports.sort_unstable();
            ports.dedup();
            let ports = ports.into_iter().map(single).collect::<Result<Vec<_>, _>>()?;
            b.open(
                Protocol::Udp,
                ports,
                format!(
                    "SIP_Port_n_ of lines {}: Line_Enable Yes, SIP_Transport UDP or AUTO",
                    line_list(&inputs.sip_lines)
                ),
            );
        }
        let rtp_last = inputs.rtp_port_max.saturating_add(1);
        b.open(
            Protocol::Udp,
            vec![range(inputs.rtp_port_min, rtp_last)?],
            format!(
                "RTP_Port_Min..RTP_Port_Max+1 ({}-{rtp_last})",
                inputs.rtp_port_min
            ),
        );
        if inputs.peer_firmware_sharing {
            let why = "Upgrade_Enable and Peer_Firmware_Sharing Yes: peer firmware sharing";
            b.open(Protocol::Udp, vec![single(4051)?], format!("{why}, UDP 4051"));
            b.open(
                Protocol::Tcp,
                vec![single(4051)?, single(6970)?],
                format!("{why}, TCP 4051 and 6970"),
            );
        }
        if !o.no_cisco_tftp {
            b.open(
                Protocol::Udp,
                vec![range(
                    *crate::TFTP_CLIENT_PORTS.start(),
                    *crate::TFTP_CLIENT_PORTS.end(),
                )?],
                format!(
                    "Firewall_Config without NO_CISCO_TFTP: TFTP client ports {}-{}",
                    crate::TFTP_CLIENT_PORTS.start(),
                    crate::TFTP_CLIENT_PORTS.end()
                ),
            );
        }
        if let Some(port) = inputs.tr069 {
            b.open(
                Protocol::Udp,
                vec![single(7999)?],
                "Enable_TR-069 Yes: STUN for TR-069, UDP 7999".to_owned(),
            );
            b.open(Protocol::Tcp, vec![single(port.get())?], TR069_COMMENT.to_owned());
        }
        if let Some(port) = inputs.web_server_port {
            b.open(
                Protocol::Tcp,
                vec![single(port)?],
                format!("Enable_Web_Server Yes: Web_Server_Port {port}"),
            );
        }
        for (protocol, list, name) in [(Protocol::Udp, &o.udp, "UDP"), (Protocol::Tcp, &o.tcp, "TCP")] {
            for r in list {
                b.open(protocol, vec![*r], format!("Firewall_Config {name}:{r}"));
            }
        }
        if o.no_icmp_unreachable {
            b.push(
                Match::Protocol(Protocol::Udp),
                Verdict::Drop,
                "Firewall_Config NO_ICMP_UNREACHABLE: closed UDP ports stay silent (the open RTP range still answers)"
                    .to_owned(),
            );
        } else {
            b.push(
                Match::Protocol(Protocol::Udp),
                Verdict::Reject,
                "Firewall_Config without NO_ICMP_UNREACHABLE: closed UDP ports answer ICMP port unreachable"
                    .to_owned(),
            );
        }
        if let Some(long) = b.rules.iter().find(|r| r.comment.len() > MAX_COMMENT_LEN) {
            return Err(Error::CommentTooLong(long.comment.clone()));
        }
        Ok(Ruleset {
            enabled: true,
            rules: b.rules,
        })
    }

    /// False when `Firewall` is Disabled: then there is no table of ours at all.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The input chain's rules, in order; empty when Disabled. Whatever no rule matches is
    /// dropped (the chain's policy).
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The open ports and why: every `Ports` rule that accepts, in chain order.
    pub fn open_ports(&self) -> impl Iterator<Item = (Protocol, &[PortRange], &str)> {
        self.rules.iter().filter_map(|r| match (&r.matcher, r.verdict) {
            (Match::Ports { protocol, ports }, Verdict::Accept) => {
                Some((*protocol, ports.as_slice(), r.comment()))
            }
            _ => None,
        })
    }

    /// The TR-069 connection-request port this ruleset opens, if any.
    pub fn tr069_port(&self) -> Option<Tr069Port> {
        self.rules.iter().find_map(|r| match &r.matcher {
            Match::Ports { ports, .. } if r.comment == TR069_COMMENT => {
                ports.first().and_then(|p| Tr069Port::new(*p.ports().start()))
            }
            _ => None,
        })
    }

    /// The TR-069 connection-request port a listing of our table (from the kernel) opens, so
    /// that re-applying keeps the port the phone chose.
    pub fn tr069_port_in(listing: &str) -> Option<Tr069Port> {
        let comment = format!("comment \"{TR069_COMMENT}\"");
        listing
            .lines()
            .find(|l| l.trim_end().ends_with(&comment))
            .and_then(|l| l.trim().strip_prefix("tcp dport "))
            .and_then(|rest| rest.split(' ').next())
            .and_then(|port| port.parse().ok())
            .and_then(Tr069Port::new)
    }

    /// What `nft list table inet phone_fw` prints when the kernel holds this ruleset; `None`
    /// when Disabled (then the table does not exist).
    pub fn listing(&self) -> Option<String> {
        if !self.enabled {
            return None;
        }
        let mut s = format!(
            "table inet {TABLE} {{\n{TFTP_HELPER}\n\tchain input {{\n\t\ttype filter hook input priority filter; policy drop;\n"
        );
        for r in &self.rules {
            let _ = writeln!(s, "\t\t{r}");
        }
        s.push_str("\t}\n}\n");
        Some(s)
    }

    /// One nftables transaction (for `nft -f -`) that replaces our table with this ruleset,
    /// or removes it when Disabled. It never touches another table, and it works whether or
    /// not the table exists: the kernel applies all of it or nothing.
    pub fn script(&self) -> String {
        // Declaring the table first makes the delete succeed when it does not exist yet.
        let mut s = format!("table inet {TABLE}\ndelete table inet {TABLE}\n");
        if let Some(listing) = self.listing() {
            s.push_str(&listing);
        }
        s
    }

    /// How the kernel's listing of our table (`None`: no such table) differs from this
    /// ruleset; empty when it is the same.
    pub fn compare(&self, kernel: Option<&str>) -> Vec<Difference> {
        let expected = self.listing();
        match (expected.as_deref(), kernel) {
            (None, None) => Vec::new(),
            (None, Some(_)) => vec![Difference::TablePresent],
            (Some(_), None) => vec![Difference::TableAbsent],
            (Some(want), Some(have)) => {
                let want: Vec<&str> = lines(want);
                let have: Vec<&str> = lines(have);
                if want == have {
                    return Vec::new();
                }
                let mut out: Vec<Difference> = want
                    .iter()
                    .filter(|l| !have.contains(l))
                    .map(|l| Difference::Missing((*l).to_owned()))
                    .collect();
                out.extend(
                    have.iter()
                        .filter(|l| !want.contains(l))
                        .map(|l| Difference::Unexpected((*l).to_owned())),
                );
                if out.is_empty() {
                    out.push(Difference::Order);
                }
                out
            }
        }
    }

    /// Runs a packet through the input chain as the kernel would: the verdict, and how many
    /// rules it was compared against (the packet-path cost).
    pub fn evaluate(&self, packet: &Packet) -> Evaluation {
        if !self.enabled {
            return Evaluation {
                verdict: Verdict::Accept,
                rule: None,
                rules_evaluated: 0,
            };
        }
        for (i, r) in self.rules.iter().enumerate() {
            if r.matches(packet) {
                return Evaluation {
                    verdict: r.verdict,
                    rule: Some(i),
                    rules_evaluated: i + 1,
                };
            }
        }
        Evaluation {
            verdict: Verdict::Drop,
            rule: None,
            rules_evaluated: self.rules.len(),
        }
    }
}

/// conntrack's TFTP helper for the phone's reads from a server's port 69: the DATA comes from
/// a new server port (RFC 1350 §4), and the helper makes it `related` to the request, so it gets
/// in even when `NO_CISCO_TFTP` closes the TFTP client ports 53240-53245 (SPEC §8: "port 69
/// works"). The output chain only assigns the helper; it lets every packet out.
const TFTP_HELPER: &str = "\tct helper tftp {\n\t\ttype \"tftp\" protocol udp\n\t\tl3proto inet\n\t}\n\n\
     \tchain output {\n\t\ttype filter hook output priority filter; policy accept;\n\
     \t\tudp dport 69 ct helper set \"tftp\" comment \"TFTP to port 69: the server's data from its new port is related (conntrack's TFTP helper)\"\n\
     \t}\n";

const TR069_COMMENT: &str = "Enable_TR-069 Yes: TR-069 connection-request port (chosen in 8000-9999)";

fn lines(listing: &str) -> Vec<&str> {
    listing.lines().map(str::trim).filter(|l| !l.is_empty()).collect()
}

/// One way the kernel's table differs from the ruleset the settings call for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Difference {
    /// The firewall is Enabled but the kernel has no table of ours.
    TableAbsent,
    /// The firewall is Disabled but the kernel still has our table.
    TablePresent,
    /// A line the settings call for that the kernel's table lacks.
    Missing(String),
    /// A line in the kernel's table that the settings do not call for.
    Unexpected(String),
    /// The same lines in another order.
    Order,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::TableAbsent => {
                write!(f, "table inet {TABLE} is missing: the firewall is not applied")
            }
            Difference::TablePresent => {
                write!(f, "table inet {TABLE} is present although Firewall is Disabled")
            }
            Difference::Missing(l) => write!(f, "- {l}"),
            Difference::Unexpected(l) => write!(f, "+ {l}"),
            Difference::Order => f.write_str("the rules are the same but in another order"),
        }
    }
}

/// IP version of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4.
    Ipv4,
    /// IPv6.
    Ipv6,
}

/// What conntrack says about a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Conntrack {
    /// The first packet of a flow, or one whose flow has expired.
    New,
    /// A packet of a flow the phone started (or that was let in), while conntrack keeps it.
    Established,
    /// An ICMP error about a known flow, or an expected connection.
    Related,
    /// A packet conntrack cannot make sense of.
    Invalid,
    /// Not tracked: neighbour discovery and MLD.
    Untracked,
}

/// The transport payload of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Payload {
    /// UDP to a port.
    Udp(u16),
    /// TCP to a port.
    Tcp(u16),
    /// ICMP of a type (8 = echo request).
    Icmp(u8),
    /// ICMPv6 of a type (128 = echo request, 135 = neighbour solicitation).
    Icmpv6(u8),
}

/// An inbound packet, as far as the ruleset looks at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Packet {
    /// IPv4 or IPv6.
    pub family: Family,
    /// Its conntrack state.
    pub conntrack: Conntrack,
    /// Its transport payload.
    pub payload: Payload,
    /// Arrived on the loopback interface.
    pub loopback: bool,
    /// Sent to a multicast (or broadcast) address.
    pub multicast: bool,
    /// IPv6 hop limit / IPv4 TTL.
    pub hop_limit: u8,
}

impl Packet {
    /// A new, unicast packet from the network (hop limit 64); ND and MLD types are untracked.
    pub fn new(family: Family, payload: Payload) -> Packet {
        let untracked = matches!(payload, Payload::Icmpv6(130..=137 | 143));
        Packet {
            family,
            conntrack: if untracked {
                Conntrack::Untracked
            } else {
                Conntrack::New
            },
            payload,
            loopback: false,
            multicast: false,
            hop_limit: 64,
        }
    }
}

/// The result of [`Ruleset::evaluate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Evaluation {
    /// What happens to the packet.
    pub verdict: Verdict,
    /// Index of the rule that decided, `None` for the chain's policy (or Disabled).
    pub rule: Option<usize>,
    /// How many rules the packet was compared against.
    pub rules_evaluated: usize,
}

const ND_TYPES: [u8; 4] = [134, 135, 136, 137];
const ICMPV6_ERRORS: [u8; 4] = [1, 2, 3, 4];
const ICMP_ERRORS: [u8; 3] = [3, 11, 12];

impl Rule {
    fn matches(&self, p: &Packet) -> bool {
        let icmpv6 = |types: &[u8]| matches!(p.payload, Payload::Icmpv6(t) if types.contains(&t));
        let icmp = |types: &[u8]| matches!(p.payload, Payload::Icmp(t) if types.contains(&t));
        match &self.matcher {
            Match::Loopback => p.loopback,
            Match::CtInvalid => p.conntrack == Conntrack::Invalid,
            Match::CtEstablishedRelated => matches!(p.conntrack, Conntrack::Established | Conntrack::Related),
            Match::NeighbourDiscovery => icmpv6(&ND_TYPES) && p.hop_limit == 255,
            Match::MldQuery => icmpv6(&[130]),
            Match::Icmpv6Errors => icmpv6(&ICMPV6_ERRORS),
            Match::IcmpErrors => icmp(&ICMP_ERRORS),
            Match::Icmpv6EchoMulticast => icmpv6(&[128]) && p.multicast,
            Match::Icmpv6Echo => icmpv6(&[128]),
            Match::IcmpEcho => icmp(&[8]),
            Match::Ports { protocol, ports } => {
                let port = match (protocol, p.payload) {
                    (Protocol::Udp, Payload::Udp(port)) | (Protocol::Tcp, Payload::Tcp(port)) => port,
                    _ => return false,
                };
                ports.iter().any(|r| r.ports().contains(&port))
            }
            Match::Protocol(protocol) => matches!(
                (protocol, p.payload),
                (Protocol::Udp, Payload::Udp(_)) | (Protocol::Tcp, Payload::Tcp(_))
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ruleset(xml_body: &str, tr069: Option<u16>) -> Ruleset {
        let xml = format!("<flat-profile>{xml_body}</flat-profile>");
        let parsed = phone_config::parse(xml.as_bytes()).unwrap();
        let errors: Vec<_> = parsed
            .diagnostics
            .iter()
            .filter(|d| d.severity == phone_config::Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        let inputs = Inputs::from_settings(&parsed.settings, tr069.and_then(Tr069Port::new)).unwrap();
        Ruleset::new(&inputs).unwrap()
    }

    fn verdict(r: &Ruleset, family: Family, payload: Payload) -> Verdict {
        r.evaluate(&Packet::new(family, payload)).verdict
    }

    #[test]
    fn defaults_open_the_seed_table_and_nothing_else() {
        let r = ruleset("", None);
        let open: Vec<String> = r
            .open_ports()
            .map(|(p, ports, _)| {
                format!(
                    "{} {}",
                    proto_name(p),
                    ports.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(",")
                )
            })
            .collect();
        assert_eq!(
            open,
            [
                "udp 68",
                "udp 546",
                "udp 5060,5061,5062,5063,5064,5065,5066,5067,5068,5069,5070,5071,5072,5073,5074,5075",
                "udp 16384:16483",
                "udp 4051",
                "tcp 4051,6970",
                "udp 53240:53245",
                "tcp 80",
            ]
        );
        for family in [Family::Ipv4, Family::Ipv6] {
            assert_eq!(verdict(&r, family, Payload::Udp(16483)), Verdict::Accept);
            assert_eq!(verdict(&r, family, Payload::Udp(16484)), Verdict::Reject);
            assert_eq!(verdict(&r, family, Payload::Tcp(22)), Verdict::Drop);
            assert_eq!(verdict(&r, family, Payload::Tcp(80)), Verdict::Accept);
        }
        assert_eq!(verdict(&r, Family::Ipv4, Payload::Icmp(8)), Verdict::Accept);
        assert_eq!(verdict(&r, Family::Ipv6, Payload::Icmpv6(128)), Verdict::Accept);
    }

    #[test]
    fn the_guides_example() {
        let r = ruleset(
            "<Firewall_Config>NO_ICMP_PING,TCP:12000,UDP:8000:8010</Firewall_Config>",
            None,
        );
        for family in [Family::Ipv4, Family::Ipv6] {
            assert_eq!(verdict(&r, family, Payload::Tcp(12000)), Verdict::Accept);
            assert_eq!(verdict(&r, family, Payload::Tcp(12001)), Verdict::Drop);
            assert_eq!(verdict(&r, family, Payload::Udp(8000)), Verdict::Accept);
            assert_eq!(verdict(&r, family, Payload::Udp(8010)), Verdict::Accept);
            assert_eq!(verdict(&r, family, Payload::Udp(8011)), Verdict::Reject);
        }
        assert_eq!(verdict(&r, Family::Ipv4, Payload::Icmp(8)), Verdict::Drop);
        assert_eq!(verdict(&r, Family::Ipv6, Payload::Icmpv6(128)), Verdict::Drop);
        let mut multicast = Packet::new(Family::Ipv6, Payload::Icmpv6(128));
        multicast.multicast = true;
        assert_eq!(r.evaluate(&multicast).verdict, Verdict::Accept);
    }

    #[test]
    fn conditions_of_the_default_ports() {
        let r = ruleset(
            "<Line_Enable_2_>No</Line_Enable_2_><SIP_Transport_3_>TLS</SIP_Transport_3_>\
             <SIP_Transport_4_>AUTO</SIP_Transport_4_><Peer_Firmware_Sharing>No</Peer_Firmware_Sharing>\
             <Enable_TR-069>Yes</Enable_TR-069><Web_Server_Port>8080</Web_Server_Port>\
             <Firewall_Config>NO_CISCO_TFTP,NO_ICMP_UNREACHABLE</Firewall_Config>\
             <RTP_Port_Min>20000</RTP_Port_Min><RTP_Port_Max>20099</RTP_Port_Max>",
            Some(8123),
        );
        let v4 = |p| verdict(&r, Family::Ipv4, p);
        assert_eq!(v4(Payload::Udp(5060)), Verdict::Accept);
        assert_eq!(v4(Payload::Udp(5061)), Verdict::Drop, "line 2 disabled");
        assert_eq!(v4(Payload::Udp(5062)), Verdict::Drop, "line 3 on TLS");
        assert_eq!(v4(Payload::Udp(5063)), Verdict::Accept, "line 4 on AUTO");
        assert_eq!(v4(Payload::Udp(4051)), Verdict::Drop);
        assert_eq!(v4(Payload::Tcp(6970)), Verdict::Drop);
        assert_eq!(v4(Payload::Udp(53240)), Verdict::Drop);
        assert_eq!(v4(Payload::Udp(7999)), Verdict::Accept);
        assert_eq!(v4(Payload::Tcp(8123)), Verdict::Accept);
        assert_eq!(v4(Payload::Tcp(80)), Verdict::Drop);
        assert_eq!(v4(Payload::Tcp(8080)), Verdict::Accept);
        assert_eq!(v4(Payload::Udp(20100)), Verdict::Accept);
        assert_eq!(v4(Payload::Udp(20101)), Verdict::Drop);
        assert_eq!(r.tr069_port().map(Tr069Port::get), Some(8123));
        let listing = r.listing().unwrap();
        assert_eq!(Ruleset::tr069_port_in(&listing), Tr069Port::new(8123));
        assert_eq!(
            Ruleset::tr069_port_in(&ruleset("", None).listing().unwrap()),
            None
        );
        assert!(listing.contains(
            "udp dport { 5060, 5063, 5064, 5065, 5066, 5067, 5068, 5069, 5070, 5071, 5072, 5073, 5074, 5075 } accept \
             comment \"SIP_Port_n_ of lines 1,4-16: Line_Enable Yes, SIP_Transport UDP or AUTO\""
        ), "{listing}");
    }

    #[test]
    fn tr069_needs_a_port_in_range() {
        let parsed = phone_config::parse(b"<x><Enable_TR-069>Yes</Enable_TR-069></x>").unwrap();
        assert_eq!(
            Inputs::from_settings(&parsed.settings, None),
            Err(Error::Tr069PortMissing)
        );
        assert_eq!(Tr069Port::new(7999), None);
        assert_eq!(Tr069Port::new(10000), None);
        assert_eq!(
            Tr069Port::from_random(u32::MAX).get(),
            8000 + (u32::MAX % 2000) as u16
        );
        assert!(
            (0..5000)
                .map(Tr069Port::from_random)
                .all(|p| (8000..=9999).contains(&p.get()))
        );
    }

    #[test]
    fn disabled_is_no_table() {
        let r = ruleset(
            "<Firewall>Disabled</Firewall><Firewall_Config>NO_ICMP_PING</Firewall_Config>",
            None,
        );
        assert!(!r.is_enabled() && r.rules().is_empty() && r.listing().is_none());
        assert_eq!(r.script(), "table inet phone_fw\ndelete table inet phone_fw\n");
        assert_eq!(verdict(&r, Family::Ipv4, Payload::Tcp(1)), Verdict::Accept);
        assert_eq!(r.compare(None), vec![]);
        assert_eq!(
            r.compare(Some("table inet phone_fw {}")),
            vec![Difference::TablePresent]
        );
    }

    #[test]
    fn rtp_max_65535_opens_up_to_65535() {
        let r = ruleset(
            "<RTP_Port_Min>65000</RTP_Port_Min><RTP_Port_Max>65535</RTP_Port_Max>",
            None,
        );
        assert!(r.listing().unwrap().contains("udp dport 65000-65535 accept"));
        let bad = Inputs {
            rtp_port_min: 5,
            rtp_port_max: 4,
            ..Inputs::from_settings(&phone_config::Settings::default(), None).unwrap()
        };
        assert_eq!(Ruleset::new(&bad), Err(Error::RtpRange { min: 5, max: 4 }));
    }

    #[test]
    fn every_comment_fits_and_names_a_setting() {
        let r = ruleset(
            "<Enable_TR-069>Yes</Enable_TR-069><Firewall_Config>UDP:1:65535,UDP:2,UDP:3,UDP:4,UDP:5,\
             TCP:1:65535,TCP:2,TCP:3,TCP:4,TCP:5</Firewall_Config>",
            Some(9999),
        );
        for rule in r.rules() {
            assert!(rule.comment().len() <= MAX_COMMENT_LEN, "{rule}");
            assert!(
                [
                    "Firewall",
                    "SIP_Port",
                    "RTP_Port",
                    "Upgrade_Enable",
                    "Enable_",
                    "IPv6 multicast ping"
                ]
                .iter()
                .any(|s| rule.comment().starts_with(s)),
                "{rule}"
            );
        }
    }

    #[test]
    fn tftp_to_port_69_gets_conntracks_helper_with_or_without_the_client_ports() {
        for config in ["", "<Firewall_Config>NO_CISCO_TFTP</Firewall_Config>"] {
            let listing = ruleset(config, None).listing().unwrap();
            assert!(
                listing.contains("\tct helper tftp {\n\t\ttype \"tftp\" protocol udp\n"),
                "{listing}"
            );
            assert!(
                listing.contains("\t\tudp dport 69 ct helper set \"tftp\" comment"),
                "{listing}"
            );
            assert_eq!(
                listing.contains("udp dport 53240-53245 accept"),
                config.is_empty(),
                "{listing}"
            );
        }
    }

    #[test]
    fn compare_reports_missing_and_unexpected_lines() {
        let r = ruleset("", None);
        let listing = r.listing().unwrap();
        assert_eq!(r.compare(Some(&listing)), vec![]);
        assert_eq!(r.compare(None), vec![Difference::TableAbsent]);
        let changed = listing.replace("tcp dport 80 accept", "tcp dport 81 accept");
        let d = r.compare(Some(&changed));
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].to_string().starts_with("- tcp dport 80 accept"));
        assert!(d[1].to_string().starts_with("+ tcp dport 81 accept"));
    }

    #[test]
    fn packet_path_cost() {
        let r = ruleset("", None);
        let mut established = Packet::new(Family::Ipv4, Payload::Tcp(40000));
        established.conntrack = Conntrack::Established;
        assert_eq!(r.evaluate(&established).rules_evaluated, 3);
        let mut ns = Packet::new(Family::Ipv6, Payload::Icmpv6(135));
        ns.hop_limit = 255;
        assert_eq!(r.evaluate(&ns).verdict, Verdict::Accept);
        ns.hop_limit = 64;
        assert_eq!(
            r.evaluate(&ns).verdict,
            Verdict::Drop,
            "ND with hop limit < 255 is forged"
        );
    }
}
