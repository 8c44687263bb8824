//! A sans-IO DHCPv4 client (RFC 2131) for a VoIP desk phone, and the phone's choice of
//! provisioning server from the lease (SPEC §2, `DHCP_Option_To_Use`).
//!
//! The [`Client`] never touches a socket or a clock: the host feeds it received datagrams and
//! the time (`handle_datagram(now, bytes)`, `handle_timeout(now)`), and does what
//! [`Client::poll_output`] hands out: datagrams to broadcast or unicast from port 68, events
//! (`Bound`, `Renewed`, `Nak`, `Expired`), the next deadline. The transaction ID and the
//! retransmission jitter come from an injected [`Random`] source.
//!
//! ```
//! use std::net::Ipv4Addr;
//! use std::time::{Duration, Instant};
//! use dhcp_client::{Client, Config, Event, Output, DEFAULT_OPTION_ORDER, ProvisioningSource};
//! use dhcproto::v4::{DhcpOption, Message, MessageType, Opcode, OptionCode};
//! use dhcproto::{Decodable, Decoder, Encodable, Encoder};
//!
//! let mac = [0x00, 0x0e, 0x08, 0xab, 0xcd, 0xef];
//! let seeded = |b: &mut [u8]| { b.fill(7); Ok(()) };
//! let now = Instant::now();
//! let mut client = Client::new(Config::new(mac), seeded, now);
//! client.start(now);
//! let Some(Output::Transmit(discover)) = client.poll_output() else { panic!() };
//! assert!(discover.is_broadcast());
//! assert!(matches!(client.poll_output(), Some(Output::Timeout(_)))); // resend at ~4 s
//! let discover = Message::decode(&mut Decoder::new(&discover.payload))?;
//!
//! // A server's reply to it: an OFFER, then (to the REQUEST) an ACK.
//! let reply = |kind| -> Result<Vec<u8>, Box<dyn std::error::Error>> {
//!     let mut m = Message::new_with_id(discover.xid(), Ipv4Addr::UNSPECIFIED,
//!         Ipv4Addr::new(10, 0, 0, 5), Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED, &mac);
//!     m.set_opcode(Opcode::BootReply);
//!     let o = m.opts_mut();
//!     o.insert(DhcpOption::MessageType(kind));
//!     o.insert(DhcpOption::ServerIdentifier(Ipv4Addr::new(10, 0, 0, 1)));
//!     o.insert(DhcpOption::AddressLeaseTime(3600));
//!     o.insert(DhcpOption::Unknown(dhcproto::v4::UnknownOption::new(
//!         OptionCode::from(160), b"https://prov.example.com/$MA.xml".to_vec())));
//!     let mut bytes = Vec::new();
//!     m.encode(&mut Encoder::new(&mut bytes))?;
//!     Ok(bytes)
//! };
//! client.handle_datagram(now, &reply(MessageType::Offer)?);
//! assert!(matches!(client.poll_output(), Some(Output::Transmit(_)))); // the REQUEST
//! # while let Some(Output::Timeout(_)) = client.poll_output() {}
//! client.handle_datagram(now, &reply(MessageType::Ack)?);
//! let Some(Output::Event(Event::Bound(lease))) = client.poll_output() else { panic!() };
//! assert_eq!(lease.address, Ipv4Addr::new(10, 0, 0, 5));
//! // Renew at T1, half the lease.
//! assert_eq!(client.poll_output(), Some(Output::Timeout(Some(now + Duration::from_secs(1800)))));
//!
//! // Option 66 is first in the default order but absent: 160 wins.
//! let choice = lease.provisioning_source(DEFAULT_OPTION_ORDER);
//! assert_eq!(choice.chosen, Some((160,
//!     ProvisioningSource::Url("https://prov.example.com/$MA.xml".into()))));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Messages are built with `dhcproto`; received messages are read by [`message::Received`],
//! which refuses truncated options with their offset instead of dropping them (and everything
//! after them) as `dhcproto`'s decoder does.
//!
//! DHCPv6 (RFC 8415) is in [`v6`]: the same shape, with the provisioning source chosen in
//! `DHCPv6_Option_To_Use` order (17, 160, 159).
//!
//! Putting the lease on an interface is the host's I/O; [`netlink`] builds the three
//! route-netlink requests it needs (address, default route, address removal) and reads the
//! kernel's answers.
//!
//! Not supported: ARP probing of the offered address and DECLINE (the host may probe
//! before configuring); DHCPINFORM; choosing among several OFFERs (the first valid one wins).
#![forbid(unsafe_code)]

mod client;
mod lease;
pub mod message;
pub mod netlink;
pub mod v6;

pub use client::{
    CLIENT_PORT, Client, Config, Discarded, Event, Output, PARAMETER_REQUEST_LIST, Random, RandomError,
    SERVER_PORT, State, Transmit,
};
pub use lease::{
    BROADBAND_FORUM_ENTERPRISE, DEFAULT_OPTION_ORDER, Lease, LeaseError, LeaseTimes, PassedOver,
    ProvisioningSource, SourceChoice,
};
