//! The route-netlink messages that put a lease on an interface (`rtnetlink(7)`), as bytes: the
//! host sends a [`Request`] on a `NETLINK_ROUTE` socket and reads the kernel's answer with
//! [`parse_reply`]. No socket here; phone-agent owns it.
//!
//! Three requests, all with `NLM_F_ACK`, so the kernel always answers with one `NLMSG_ERROR`
//! message (error 0 is the acknowledgement):
//!
//! - [`Request::AddAddress`]: `RTM_NEWADDR` with `NLM_F_CREATE | NLM_F_REPLACE` (`ip address
//!   replace`), `IFA_ADDRESS` and `IFA_LOCAL`, and for IPv4 below /31 `IFA_BROADCAST` (the
//!   host part all ones, as `ip address add … brd +` sets it).
//! - [`Request::DeleteAddress`]: `RTM_DELADDR` (`ip address del`). An address that is not there
//!   is refused with `EADDRNOTAVAIL` ([`Reply::is_not_there`]).
//! - [`Request::AddDefaultRoute`]: `RTM_NEWROUTE` with `NLM_F_CREATE | NLM_F_REPLACE` (`ip
//!   route replace default via GW dev IF`): main table, protocol static, scope universe,
//!   unicast, `RTA_OIF` and `RTA_GATEWAY`.
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use dhcp_client::netlink::{Reply, Request, parse_reply};
//!
//! let request = Request::AddAddress { index: 2, address: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5)), prefix_len: 24 };
//! let bytes = request.encode(7);
//! assert_eq!(bytes.len(), 16 + 8 + 3 * 8); // header, ifaddrmsg, three attributes
//! assert_eq!(u16::from_ne_bytes([bytes[4], bytes[5]]), 20); // RTM_NEWADDR
//!
//! // The kernel's acknowledgement: NLMSG_ERROR with error 0, echoing the request's header.
//! let mut ack = Vec::new();
//! ack.extend_from_slice(&36u32.to_ne_bytes()); // length
//! ack.extend_from_slice(&2u16.to_ne_bytes()); // NLMSG_ERROR
//! ack.extend_from_slice(&0u16.to_ne_bytes()); // flags
//! ack.extend_from_slice(&7u32.to_ne_bytes()); // sequence number
//! ack.extend_from_slice(&0u32.to_ne_bytes()); // port
//! ack.extend_from_slice(&0i32.to_ne_bytes()); // error 0
//! ack.extend_from_slice(&bytes[..16]); // the request's header
//! assert_eq!(parse_reply(&ack, 7), Ok(Some(Reply::Ack)));
//! // The same answer to another request is not ours.
//! assert_eq!(parse_reply(&ack, 8), Ok(None));
//! ```
//!
//! Netlink is host byte order; the encoding is the running machine's.

use std::net::{IpAddr, Ipv4Addr};

/// `struct nlmsghdr`: length, type, flags, sequence number, port.
pub const HEADER_LEN: usize = 16;
/// The answer to a request with `NLM_F_ACK` (error 0) or a refusal (negative errno).
const NLMSG_ERROR: u16 = 2;
/// Messages were dropped: the answer we wait for may be among them.
const NLMSG_OVERRUN: u16 = 4;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_NEWROUTE: u16 = 24;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_REPLACE: u16 = 0x100;
const NLM_F_CREATE: u16 = 0x400;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_BROADCAST: u16 = 4;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RT_TABLE_MAIN: u8 = 254;
const RTPROT_STATIC: u8 = 4;
const RT_SCOPE_UNIVERSE: u8 = 0;
const RTN_UNICAST: u8 = 1;
/// `EADDRNOTAVAIL`: the address to delete is not on the interface.
const EADDRNOTAVAIL: i32 = 99;

/// A request to the kernel's routing subsystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// Put `address/prefix_len` on interface `index`, replacing the same address if present.
    AddAddress {
        /// The interface index (`/sys/class/net/IF/ifindex`).
        index: u32,
        /// The address.
        address: IpAddr,
        /// Its prefix length.
        prefix_len: u8,
    },
    /// Remove `address/prefix_len` from interface `index`.
    DeleteAddress {
        /// The interface index.
        index: u32,
        /// The address.
        address: IpAddr,
        /// Its prefix length.
        prefix_len: u8,
    },
    /// Set the IPv4 default route of the main table: through `gateway` on interface `index`.
    AddDefaultRoute {
        /// The interface index.
        index: u32,
        /// The next hop.
        gateway: Ipv4Addr,
    },
}

impl Request {
    /// The request as one netlink message with sequence number `seq` (port 0: the kernel
    /// fills in the socket's).
    pub fn encode(&self, seq: u32) -> Vec<u8> {
        let mut m = Vec::with_capacity(64);
        let (kind, flags) = match self {
            Request::AddAddress { .. } => (RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE),
            Request::DeleteAddress { .. } => (RTM_DELADDR, 0),
            Request::AddDefaultRoute { .. } => (RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE),
        };
        m.extend_from_slice(&0u32.to_ne_bytes()); // the length, set below
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK | flags).to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        match *self {
            Request::AddAddress {
                index,
                address,
                prefix_len,
            }
            | Request::DeleteAddress {
                index,
                address,
                prefix_len,
            } => {
                // struct ifaddrmsg: family, prefix length, flags, scope, index.
                let family = if address.is_ipv4() { AF_INET } else { AF_INET6 };
                m.extend_from_slice(&[family, prefix_len, 0, 0]);
                m.extend_from_slice(&index.to_ne_bytes());
                let octets = ip_octets(address);
                attribute(&mut m, IFA_ADDRESS, &octets);
                attribute(&mut m, IFA_LOCAL, &octets);
                if let (Request::AddAddress { .. }, IpAddr::V4(a)) = (self, address)
                    && prefix_len < 31
                {
                    let host = u32::MAX.checked_shr(u32::from(prefix_len)).unwrap_or(0);
                    let broadcast = Ipv4Addr::from(u32::from(a) | host);
                    attribute(&mut m, IFA_BROADCAST, &broadcast.octets());
                }
            }
            Request::AddDefaultRoute { index, gateway } => {
                // struct rtmsg: family, dst_len 0 (default), src_len, tos, table, protocol,
                // scope, type, then 32 bits of flags.
                m.extend_from_slice(&[
                    AF_INET,
                    0,
                    0,
                    0,
                    RT_TABLE_MAIN,
                    RTPROT_STATIC,
                    RT_SCOPE_UNIVERSE,
                    RTN_UNICAST,
                ]);
                m.extend_from_slice(&0u32.to_ne_bytes());
                attribute(&mut m, RTA_OIF, &index.to_ne_bytes());
                attribute(&mut m, RTA_GATEWAY, &gateway.octets());
            }
        }
        let len = u32::try_from(m.len()).unwrap_or(u32::MAX).to_ne_bytes();
        m.splice(0..4, len);
        m
    }
}

fn ip_octets(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// Appends a `struct rtattr` (length, type, value, padding to 4 bytes).
fn attribute(m: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let len = u16::try_from(4 + value.len()).unwrap_or(u16::MAX);
    m.extend_from_slice(&len.to_ne_bytes());
    m.extend_from_slice(&kind.to_ne_bytes());
    m.extend_from_slice(value);
    m.resize(m.len().next_multiple_of(4), 0);
}

/// The kernel's answer to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// Done (`NLMSG_ERROR` with error 0).
    Ack,
    /// Refused with this errno (`NLMSG_ERROR` with `-errno`), e.g. 1 `EPERM` without
    /// `CAP_NET_ADMIN`, 19 `ENODEV`, 99 `EADDRNOTAVAIL`.
    Refused {
        /// The positive errno.
        errno: i32,
    },
}

impl Reply {
    /// A refused [`Request::DeleteAddress`] whose address was not on the interface.
    pub fn is_not_there(self) -> bool {
        self == Reply::Refused { errno: EADDRNOTAVAIL }
    }
}

/// A datagram from the netlink socket that is not a well-formed answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// A message header does not fit in what is left of the datagram.
    #[error("netlink message at offset {offset}: {left} bytes left, less than the 16-byte header")]
    ShortHeader {
        /// Where the message starts.
        offset: usize,
        /// The bytes from there to the end.
        left: usize,
    },
    /// A message claims a length shorter than its header or beyond the datagram.
    #[error(
        "netlink message at offset {offset} claims {len} bytes, but {left} remain (and at least 16 are needed)"
    )]
    BadLength {
        /// Where the message starts.
        offset: usize,
        /// Its length field.
        len: u32,
        /// The bytes from there to the end.
        left: usize,
    },
    /// Our `NLMSG_ERROR` has no room for its error code.
    #[error("netlink error message at offset {offset} is {len} bytes, too short for its error code")]
    ShortError {
        /// Where the message starts.
        offset: usize,
        /// Its length.
        len: u32,
    },
    /// Our `NLMSG_ERROR` carries a positive code, which the kernel never sends.
    #[error("netlink error message at offset {offset} carries error code {code}, not 0 or a negative errno")]
    BadErrorCode {
        /// Where the message starts.
        offset: usize,
        /// The code.
        code: i32,
    },
    /// The kernel dropped messages for this socket (`NLMSG_OVERRUN`).
    #[error("netlink overrun at offset {offset}: the kernel dropped messages, the answer may be lost")]
    Overrun {
        /// Where the message starts.
        offset: usize,
    },
}

/// Reads one datagram from the socket: the answer to the request with sequence number `seq`,
/// or `None` when the datagram holds only other messages (another sequence number, a
/// notification) and the host should read on.
pub fn parse_reply(datagram: &[u8], seq: u32) -> Result<Option<Reply>, ReplyError> {
    let mut offset = 0;
    while offset < datagram.len() {
        let left = datagram.len() - offset;
        let header = datagram.get(offset..offset + HEADER_LEN);
        let Some(header) = header.and_then(|h| <&[u8; HEADER_LEN]>::try_from(h).ok()) else {
            return Err(ReplyError::ShortHeader { offset, left });
        };
        let len = u32::from_ne_bytes([header[0], header[1], header[2], header[3]]);
        let kind = u16::from_ne_bytes([header[4], header[5]]);
        let message_seq = u32::from_ne_bytes([header[8], header[9], header[10], header[11]]);
        let bad_length = ReplyError::BadLength { offset, len, left };
        let len_usize = usize::try_from(len).map_err(|_| bad_length.clone())?;
        if len_usize < HEADER_LEN || len_usize > left {
            return Err(bad_length);
        }
        if kind == NLMSG_OVERRUN {
            return Err(ReplyError::Overrun { offset });
        }
        if kind == NLMSG_ERROR && message_seq == seq {
            let code = datagram
                .get(offset + HEADER_LEN..offset + HEADER_LEN + 4)
                .and_then(|c| <[u8; 4]>::try_from(c).ok());
            let (Some(code), true) = (code, len_usize >= HEADER_LEN + 4) else {
                return Err(ReplyError::ShortError { offset, len });
            };
            let code = i32::from_ne_bytes(code);
            return match code {
                0 => Ok(Some(Reply::Ack)),
                i32::MIN..0 => match code.checked_neg() {
                    Some(errno) => Ok(Some(Reply::Refused { errno })),
                    None => Err(ReplyError::BadErrorCode { offset, code }),
                },
                _ => Err(ReplyError::BadErrorCode { offset, code }),
            };
        }
        // Messages are padded to 4 bytes; the last one may end without padding.
        offset += len_usize.next_multiple_of(4).min(left);
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;

    use super::*;

    fn message(kind: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&((HEADER_LEN + payload.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&0u16.to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&4242u32.to_ne_bytes());
        m.extend_from_slice(payload);
        m.resize(m.len().next_multiple_of(4), 0);
        m
    }

    fn error(seq: u32, code: i32) -> Vec<u8> {
        let mut payload = code.to_ne_bytes().to_vec();
        payload.extend_from_slice(&message(RTM_NEWADDR, seq, &[])); // the echoed header
        message(NLMSG_ERROR, seq, &payload)
    }

    /// The attributes after the fixed part (`ifaddrmsg` 8 bytes, `rtmsg` 12), as (type, value).
    fn attributes(m: &[u8]) -> Vec<(u16, Vec<u8>)> {
        let mut out = Vec::new();
        let kind = u16::from_ne_bytes([m[4], m[5]]);
        let mut at = HEADER_LEN + if kind == RTM_NEWROUTE { 12 } else { 8 };
        while at < m.len() {
            let len = u16::from_ne_bytes([m[at], m[at + 1]]) as usize;
            let kind = u16::from_ne_bytes([m[at + 2], m[at + 3]]);
            out.push((kind, m[at + 4..at + len].to_vec()));
            at += len.next_multiple_of(4);
        }
        out
    }

    fn u32_at(m: &[u8], at: usize) -> u32 {
        u32::from_ne_bytes(m[at..at + 4].try_into().unwrap())
    }

    fn header(m: &[u8]) -> (u32, u16, u16, u32, u32) {
        (
            u32_at(m, 0),
            u16::from_ne_bytes([m[4], m[5]]),
            u16::from_ne_bytes([m[6], m[7]]),
            u32_at(m, 8),
            u32_at(m, 12),
        )
    }

    #[test]
    fn add_v4_address_is_ip_address_replace_with_broadcast() {
        let m = Request::AddAddress {
            index: 3,
            address: IpAddr::V4(Ipv4Addr::new(10, 1, 2, 5)),
            prefix_len: 24,
        }
        .encode(9);
        assert_eq!(header(&m), (48, RTM_NEWADDR, 0x1 | 0x4 | 0x100 | 0x400, 9, 0));
        assert_eq!(&m[16..20], &[AF_INET, 24, 0, 0]);
        assert_eq!(&m[20..24], &3u32.to_ne_bytes());
        assert_eq!(
            attributes(&m),
            vec![
                (IFA_ADDRESS, vec![10, 1, 2, 5]),
                (IFA_LOCAL, vec![10, 1, 2, 5]),
                (IFA_BROADCAST, vec![10, 1, 2, 255]),
            ]
        );
    }

    #[test]
    fn v4_broadcast_follows_the_prefix_and_is_left_out_from_31() {
        let brd = |prefix_len| {
            let m = Request::AddAddress {
                index: 1,
                address: IpAddr::V4(Ipv4Addr::new(192, 168, 77, 130)),
                prefix_len,
            }
            .encode(1);
            attributes(&m)
                .into_iter()
                .find(|(k, _)| *k == IFA_BROADCAST)
                .map(|(_, v)| v)
        };
        assert_eq!(brd(0), Some(vec![255, 255, 255, 255]));
        assert_eq!(brd(25), Some(vec![192, 168, 77, 255]));
        assert_eq!(brd(26), Some(vec![192, 168, 77, 191]));
        assert_eq!(brd(30), Some(vec![192, 168, 77, 131]));
        assert_eq!(brd(31), None);
        assert_eq!(brd(32), None);
    }

    #[test]
    fn v6_address_and_delete_carry_no_broadcast() {
        let a: Ipv6Addr = "fd00::1:10".parse().unwrap();
        let add = Request::AddAddress {
            index: 7,
            address: IpAddr::V6(a),
            prefix_len: 128,
        }
        .encode(1);
        assert_eq!(header(&add).0 as usize, add.len());
        assert_eq!(&add[16..20], &[AF_INET6, 128, 0, 0]);
        assert_eq!(
            attributes(&add),
            vec![
                (IFA_ADDRESS, a.octets().to_vec()),
                (IFA_LOCAL, a.octets().to_vec())
            ]
        );
        let del = Request::DeleteAddress {
            index: 7,
            address: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5)),
            prefix_len: 24,
        }
        .encode(2);
        assert_eq!(header(&del), (40, RTM_DELADDR, 0x1 | 0x4, 2, 0));
        assert_eq!(attributes(&del).len(), 2);
    }

    #[test]
    fn default_route_is_main_table_static_unicast() {
        let m = Request::AddDefaultRoute {
            index: 4,
            gateway: Ipv4Addr::new(10, 0, 0, 1),
        }
        .encode(3);
        assert_eq!(header(&m), (44, RTM_NEWROUTE, 0x1 | 0x4 | 0x100 | 0x400, 3, 0));
        assert_eq!(&m[16..28], &[AF_INET, 0, 0, 0, 254, 4, 0, 1, 0, 0, 0, 0]);
        assert_eq!(
            attributes(&m),
            vec![
                (RTA_OIF, 4u32.to_ne_bytes().to_vec()),
                (RTA_GATEWAY, vec![10, 0, 0, 1])
            ]
        );
    }

    #[test]
    fn ack_and_refusals() {
        assert_eq!(parse_reply(&error(5, 0), 5), Ok(Some(Reply::Ack)));
        let eperm = parse_reply(&error(5, -1), 5);
        assert_eq!(eperm, Ok(Some(Reply::Refused { errno: 1 })));
        let gone = parse_reply(&error(5, -99), 5).unwrap().unwrap();
        assert!(gone.is_not_there());
        assert!(!Reply::Ack.is_not_there());
        assert_eq!(
            parse_reply(&error(5, 17), 5),
            Err(ReplyError::BadErrorCode { offset: 0, code: 17 })
        );
        assert_eq!(
            parse_reply(&error(5, i32::MIN), 5),
            Err(ReplyError::BadErrorCode {
                offset: 0,
                code: i32::MIN
            })
        );
    }

    #[test]
    fn other_messages_are_skipped() {
        // A notification and another request's answer before ours, in one datagram.
        let mut d = message(RTM_NEWADDR, 0, &[1, 2, 3, 4, 5]);
        d.extend(error(4, -17));
        d.extend(error(5, 0));
        assert_eq!(parse_reply(&d, 5), Ok(Some(Reply::Ack)));
        assert_eq!(parse_reply(&d, 4), Ok(Some(Reply::Refused { errno: 17 })));
        assert_eq!(parse_reply(&d, 6), Ok(None));
        assert_eq!(parse_reply(&[], 6), Ok(None));
    }

    #[test]
    fn malformed_datagrams_say_where() {
        let ok = error(5, 0);
        assert_eq!(
            parse_reply(&ok[..10], 5),
            Err(ReplyError::ShortHeader { offset: 0, left: 10 })
        );
        let mut long = ok.clone();
        long[..4].copy_from_slice(&100u32.to_ne_bytes());
        assert_eq!(
            parse_reply(&long, 5),
            Err(ReplyError::BadLength {
                offset: 0,
                len: 100,
                left: ok.len()
            })
        );
        let mut short = ok.clone();
        short[..4].copy_from_slice(&8u32.to_ne_bytes());
        assert!(matches!(
            parse_reply(&short, 5),
            Err(ReplyError::BadLength { len: 8, .. })
        ));
        // Our error message cut after its header.
        let cut = message(NLMSG_ERROR, 5, &[]);
        assert_eq!(
            parse_reply(&cut, 5),
            Err(ReplyError::ShortError { offset: 0, len: 16 })
        );
        // The second message is the broken one.
        let mut two = error(4, 0);
        two.extend_from_slice(&[1, 2, 3]);
        assert_eq!(
            parse_reply(&two, 5),
            Err(ReplyError::ShortHeader {
                offset: ok.len(),
                left: 3
            })
        );
        assert_eq!(
            parse_reply(&message(NLMSG_OVERRUN, 0, &[]), 5),
            Err(ReplyError::Overrun { offset: 0 })
        );
        let e = ReplyError::BadLength {
            offset: 0,
            len: 100,
            left: 36,
        };
        assert_eq!(
            e.to_string(),
            "netlink message at offset 0 claims 100 bytes, but 36 remain (and at least 16 are needed)"
        );
    }
}
