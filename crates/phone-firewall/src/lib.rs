//! A VoIP desk phone's stateful firewall (SPEC §8) as a typed ruleset model and an nftables
//! ruleset, with no I/O.
//!
//! [`Inputs`] gathers what the firewall depends on (`Firewall`, `Firewall_Config`, the lines'
//! SIP ports and transports, the RTP range, peer firmware sharing, TR-069, the web server);
//! [`Ruleset`] turns it into the input chain of one `inet` table of our own (`phone_fw`): inbound
//! dropped unless a rule lets it in, outbound untouched, return traffic of the phone's own flows
//! let in while conntrack keeps them, the default open ports, the `Firewall_Config` options.
//! Every rule carries a comment naming the setting it comes from.
//!
//! ```
//! use phone_firewall::{Family, Inputs, Packet, Payload, Ruleset, Verdict};
//!
//! let xml = br#"<flat-profile>
//!   <Firewall_Config ua="na">NO_ICMP_PING,TCP:12000,UDP:8000:8010</Firewall_Config>
//! </flat-profile>"#;
//! let settings = phone_config::parse(xml)?.settings;
//! let ruleset = Ruleset::new(&Inputs::from_settings(&settings, None)?)?;
//!
//! // One transaction for `nft -f -`: replaces our table, leaves every other table alone.
//! let script = ruleset.script();
//! assert!(script.starts_with("table inet phone_fw\ndelete table inet phone_fw\n"));
//! assert!(script.contains("\t\ttcp dport 12000 accept comment \"Firewall_Config TCP:12000\"\n"));
//!
//! // The model answers what happens to a packet, and at what cost.
//! let ping = ruleset.evaluate(&Packet::new(Family::Ipv4, Payload::Icmp(8)));
//! assert_eq!(ping.verdict, Verdict::Drop); // NO_ICMP_PING
//! let sip = ruleset.evaluate(&Packet::new(Family::Ipv6, Payload::Udp(5060)));
//! assert_eq!(sip.verdict, Verdict::Accept);
//! let closed = ruleset.evaluate(&Packet::new(Family::Ipv4, Payload::Udp(9)));
//! assert_eq!(closed.verdict, Verdict::Reject); // ICMP port unreachable
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Applying the script needs `nft` (Debian `nftables`) and CAP_NET_ADMIN; `phone-agent firewall
//! apply` does that. The table also holds conntrack's TFTP helper, assigned in an output chain
//! that lets every packet out, to reads from a server's port 69: their DATA, from the server's
//! new port, is `related` and gets in even with `NO_CISCO_TFTP`. TFTP from a server port other
//! than 69 comes in through the open client ports 53240-53245, as on the phone. What is not
//! here: filtering outbound traffic, and a forward chain (the phone forwards nothing).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod inputs;
mod ruleset;

pub use inputs::{Inputs, SipLine, TR069_PORTS, Tr069Port};
pub use ruleset::{
    Conntrack, Difference, Evaluation, Family, MAX_COMMENT_LEN, Match, Packet, Payload, Rule, Ruleset,
    Verdict,
};

/// The name of our table (family `inet`, so IPv4 and IPv6 share the rules).
pub const TABLE: &str = "phone_fw";

/// The phone's TFTP client ports (SPEC §8), which the table opens unless `NO_CISCO_TFTP`: a
/// TFTP client on the phone binds one of them, so the server's DATA from its new port gets in.
pub const TFTP_CLIENT_PORTS: std::ops::RangeInclusive<u16> = 53240..=53245;

/// Settings the firewall cannot be built from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `RTP_Port_Min` is 0 or above `RTP_Port_Max`.
    #[error("RTP_Port_Min ({min}) must be from 1 to RTP_Port_Max ({max})")]
    RtpRange {
        /// `RTP_Port_Min`.
        min: u16,
        /// `RTP_Port_Max`.
        max: u16,
    },
    /// A port setting is 0.
    #[error("{0}: port 0 cannot be opened")]
    ZeroPort(String),
    /// `Enable_TR-069` is Yes but no connection-request port in 8000-9999 was given.
    #[error("Enable_TR-069 is Yes: a TR-069 connection-request port in 8000-9999 is needed")]
    Tr069PortMissing,
    /// More `UDP:` or `TCP:` entries than the phone takes.
    #[error("Firewall_Config: {count} {protocol} entries; the phone takes at most 5")]
    TooManyEntries {
        /// `UDP` or `TCP`.
        protocol: &'static str,
        /// How many were given.
        count: usize,
    },
    /// A rule comment longer than nftables accepts (a bug: comments are fixed texts).
    #[error("rule comment longer than 128 characters: {0}")]
    CommentTooLong(String),
}
