//! Reading a received DHCPv6 message (RFC 8415 §8, §21).
//!
//! Like the DHCPv4 reader, this walks the options itself and keeps their raw bytes rather than
//! trusting `dhcproto`'s decoder: an option whose length runs past its container is refused with
//! its offset, never silently dropped with everything after it. Nested options (IA_NA → IAADDR
//! → Status Code) are read with the same walker.

use std::net::Ipv6Addr;

/// The largest message accepted. A server's REPLY to a phone is a few hundred bytes; RFC 8415
/// puts no bound below the UDP maximum, this keeps a hostile peer's work small.
pub const MAX_MESSAGE: usize = 8192;

/// Client → server message types (RFC 8415 §7.3).
pub mod kind {
    /// SOLICIT.
    pub const SOLICIT: u8 = 1;
    /// ADVERTISE.
    pub const ADVERTISE: u8 = 2;
    /// REQUEST.
    pub const REQUEST: u8 = 3;
    /// RENEW.
    pub const RENEW: u8 = 5;
    /// REBIND.
    pub const REBIND: u8 = 6;
    /// REPLY.
    pub const REPLY: u8 = 7;
    /// RELEASE.
    pub const RELEASE: u8 = 8;
}

/// Option codes the client reads (RFC 8415 §21, RFC 3646, SPEC §2).
pub mod code {
    /// Client Identifier.
    pub const CLIENT_ID: u16 = 1;
    /// Server Identifier.
    pub const SERVER_ID: u16 = 2;
    /// Identity Association for Non-temporary Addresses.
    pub const IA_NA: u16 = 3;
    /// IA Address (inside IA_NA).
    pub const IAADDR: u16 = 5;
    /// Option Request.
    pub const ORO: u16 = 6;
    /// Preference.
    pub const PREFERENCE: u16 = 7;
    /// Elapsed Time.
    pub const ELAPSED_TIME: u16 = 8;
    /// Status Code.
    pub const STATUS_CODE: u16 = 13;
    /// Vendor-specific Information.
    pub const VENDOR_OPTS: u16 = 17;
    /// DNS recursive name servers (RFC 3646).
    pub const DNS_SERVERS: u16 = 23;
    /// Domain search list (RFC 3646).
    pub const DOMAIN_LIST: u16 = 24;
    /// NTP server (RFC 5908).
    pub const NTP_SERVER: u16 = 56;
}

/// Why a received DHCPv6 message was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError6 {
    /// Shorter than the 4-byte header.
    #[error("message is {len} bytes, shorter than the 4-byte DHCPv6 header")]
    TooShort {
        /// The message length.
        len: usize,
    },
    /// Longer than [`MAX_MESSAGE`].
    #[error("message is {len} bytes, more than the {MAX_MESSAGE} accepted")]
    TooLong {
        /// The message length.
        len: usize,
    },
    /// An option's header or value runs past its container.
    #[error("option {code} at offset {offset} claims {len} bytes but only {left} remain")]
    TruncatedOption {
        /// The option code (0 when even the code is cut off).
        code: u16,
        /// Offset of the option's header in the message.
        offset: usize,
        /// The claimed length.
        len: u16,
        /// Bytes left after the header.
        left: usize,
    },
    /// An option whose value has the wrong size for its type.
    #[error("option {code} at offset {offset} is {len} bytes; {expected}")]
    BadLength {
        /// The option code.
        code: u16,
        /// Offset of the option's header.
        offset: usize,
        /// Its length.
        len: usize,
        /// What its length must be.
        expected: &'static str,
    },
}

/// One option: its code, its value and where its header was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawOption {
    /// The option code.
    pub code: u16,
    /// The value bytes.
    pub value: Vec<u8>,
    /// Offset of the option's header in the message.
    pub offset: usize,
}

/// A received DHCPv6 message: type, transaction ID and every top-level option in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received6 {
    /// The message type.
    pub kind: u8,
    /// The 24-bit transaction ID.
    pub xid: u32,
    /// Top-level options in the order received (an option may repeat, e.g. 17 per enterprise).
    pub options: Vec<RawOption>,
}

/// An IA_NA (RFC 8415 §21.4) with its addresses and status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IaNa {
    /// The identity association's ID.
    pub iaid: u32,
    /// Seconds until RENEW (0: the client chooses).
    pub t1: u32,
    /// Seconds until REBIND (0: the client chooses).
    pub t2: u32,
    /// The addresses.
    pub addresses: Vec<IaAddress>,
    /// The IA's Status Code, when present: code and message.
    pub status: Option<(u16, String)>,
}

/// An IA Address (RFC 8415 §21.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IaAddress {
    /// The address.
    pub address: Ipv6Addr,
    /// Preferred lifetime in seconds (0xffffffff: infinite).
    pub preferred: u32,
    /// Valid lifetime in seconds (0xffffffff: infinite).
    pub valid: u32,
}

impl Received6 {
    /// Reads a message, refusing anything malformed with the offset where it went wrong.
    pub fn parse(bytes: &[u8]) -> Result<Received6, DecodeError6> {
        if bytes.len() < 4 {
            return Err(DecodeError6::TooShort { len: bytes.len() });
        }
        if bytes.len() > MAX_MESSAGE {
            return Err(DecodeError6::TooLong { len: bytes.len() });
        }
        let kind = bytes.first().copied().unwrap_or(0);
        let xid = bytes
            .get(1..4)
            .map_or(0, |b| b.iter().fold(0u32, |a, &x| (a << 8) | u32::from(x)));
        let options = walk(bytes.get(4..).unwrap_or_default(), 4)?;
        Ok(Received6 { kind, xid, options })
    }

    /// The first instance of an option.
    pub fn option(&self, code: u16) -> Option<&RawOption> {
        self.options.iter().find(|o| o.code == code)
    }

    /// Every instance of an option.
    pub fn all(&self, code: u16) -> impl Iterator<Item = &RawOption> {
        self.options.iter().filter(move |o| o.code == code)
    }

    /// The top-level Status Code (RFC 8415 §21.13): code and message.
    pub fn status(&self) -> Result<Option<(u16, String)>, DecodeError6> {
        self.option(code::STATUS_CODE).map(status_code).transpose()
    }

    /// The IA_NA with `iaid`, read with its addresses (the first such IA).
    pub fn ia_na(&self, iaid: u32) -> Result<Option<IaNa>, DecodeError6> {
        for o in self.all(code::IA_NA) {
            let ia = read_ia_na(o)?;
            if ia.iaid == iaid {
                return Ok(Some(ia));
            }
        }
        Ok(None)
    }

    /// Option 7 (Preference), 0 when absent.
    pub fn preference(&self) -> Result<u8, DecodeError6> {
        match self.option(code::PREFERENCE) {
            None => Ok(0),
            Some(o) => match o.value.as_slice() {
                [p] => Ok(*p),
                _ => Err(bad_length(o, "expected 1")),
            },
        }
    }

    /// An option holding a list of IPv6 addresses (23 DNS servers).
    pub fn addresses(&self, code: u16) -> Result<Vec<Ipv6Addr>, DecodeError6> {
        match self.option(code) {
            None => Ok(Vec::new()),
            Some(o) => addresses6(&o.value).ok_or_else(|| bad_length(o, "expected a multiple of 16")),
        }
    }
}

fn bad_length(o: &RawOption, expected: &'static str) -> DecodeError6 {
    DecodeError6::BadLength {
        code: o.code,
        offset: o.offset,
        len: o.value.len(),
        expected,
    }
}

/// A non-empty list of IPv6 addresses (length a multiple of 16).
pub(crate) fn addresses6(v: &[u8]) -> Option<Vec<Ipv6Addr>> {
    if v.is_empty() || !v.len().is_multiple_of(16) {
        return None;
    }
    v.chunks_exact(16)
        .map(|c| <[u8; 16]>::try_from(c).ok().map(Ipv6Addr::from))
        .collect()
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .map_or(0, u32::from_be_bytes)
}

/// Walks code/length/value options; `base` is the offset of `area` in the message.
pub(crate) fn walk(area: &[u8], base: usize) -> Result<Vec<RawOption>, DecodeError6> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < area.len() {
        let Some(&[c0, c1, l0, l1]) = area.get(at..at + 4) else {
            let code = match area.get(at..at + 2) {
                Some(&[a, b]) => u16::from_be_bytes([a, b]),
                _ => 0,
            };
            return Err(DecodeError6::TruncatedOption {
                code,
                offset: base + at,
                len: 0,
                left: 0,
            });
        };
        let code = u16::from_be_bytes([c0, c1]);
        let len = u16::from_be_bytes([l0, l1]);
        let start = at + 4;
        let Some(value) = area.get(start..start + usize::from(len)) else {
            return Err(DecodeError6::TruncatedOption {
                code,
                offset: base + at,
                len,
                left: area.len().saturating_sub(start),
            });
        };
        out.push(RawOption {
            code,
            value: value.to_vec(),
            offset: base + at,
        });
        at = start + usize::from(len);
    }
    Ok(out)
}

fn status_code(o: &RawOption) -> Result<(u16, String), DecodeError6> {
    let [a, b, msg @ ..] = o.value.as_slice() else {
        return Err(bad_length(o, "expected at least 2"));
    };
    Ok((
        u16::from_be_bytes([*a, *b]),
        String::from_utf8_lossy(msg).into_owned(),
    ))
}

fn read_ia_na(o: &RawOption) -> Result<IaNa, DecodeError6> {
    if o.value.len() < 12 {
        return Err(bad_length(o, "expected at least 12 (IAID, T1, T2)"));
    }
    let mut ia = IaNa {
        iaid: u32_at(&o.value, 0),
        t1: u32_at(&o.value, 4),
        t2: u32_at(&o.value, 8),
        addresses: Vec::new(),
        status: None,
    };
    for sub in walk(o.value.get(12..).unwrap_or_default(), o.offset + 16)? {
        match sub.code {
            code::IAADDR => {
                let Some(addr) = sub.value.get(..16).and_then(|a| <[u8; 16]>::try_from(a).ok()) else {
                    return Err(bad_length(&sub, "expected at least 24 (address, lifetimes)"));
                };
                if sub.value.len() < 24 {
                    return Err(bad_length(&sub, "expected at least 24 (address, lifetimes)"));
                }
                // An address with its own failure status is not assigned (RFC 8415 §21.6).
                let own = walk(sub.value.get(24..).unwrap_or_default(), sub.offset + 28)?;
                let failed = match own.iter().find(|s| s.code == code::STATUS_CODE) {
                    Some(s) => status_code(s)?.0 != 0,
                    None => false,
                };
                if !failed {
                    ia.addresses.push(IaAddress {
                        address: Ipv6Addr::from(addr),
                        preferred: u32_at(&sub.value, 16),
                        valid: u32_at(&sub.value, 20),
                    });
                }
            }
            code::STATUS_CODE => ia.status = Some(status_code(&sub)?),
            _ => {}
        }
    }
    Ok(ia)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opt(code: u16, value: &[u8]) -> Vec<u8> {
        let mut v = code.to_be_bytes().to_vec();
        v.extend_from_slice(&(value.len() as u16).to_be_bytes());
        v.extend_from_slice(value);
        v
    }

    #[test]
    fn reads_an_ia_na_with_its_address_and_lifetimes() {
        let mut iaaddr = "fd00::5".parse::<Ipv6Addr>().unwrap().octets().to_vec();
        iaaddr.extend_from_slice(&100u32.to_be_bytes());
        iaaddr.extend_from_slice(&200u32.to_be_bytes());
        let mut ia = 7u32.to_be_bytes().to_vec();
        ia.extend_from_slice(&50u32.to_be_bytes());
        ia.extend_from_slice(&80u32.to_be_bytes());
        ia.extend(opt(code::IAADDR, &iaaddr));
        let mut m = vec![kind::REPLY, 1, 2, 3];
        m.extend(opt(code::IA_NA, &ia));
        m.extend(opt(code::PREFERENCE, &[9]));
        let r = Received6::parse(&m).unwrap();
        assert_eq!(r.kind, kind::REPLY);
        assert_eq!(r.xid, 0x010203);
        assert_eq!(r.preference(), Ok(9));
        let ia = r.ia_na(7).unwrap().unwrap();
        assert_eq!((ia.t1, ia.t2), (50, 80));
        assert_eq!(
            ia.addresses,
            [IaAddress {
                address: "fd00::5".parse().unwrap(),
                preferred: 100,
                valid: 200
            }]
        );
        assert_eq!(r.ia_na(8), Ok(None));
    }

    #[test]
    fn truncated_option_is_an_error_with_its_offset() {
        let mut m = vec![kind::REPLY, 0, 0, 1];
        m.extend(opt(23, &[0; 16]));
        m.extend_from_slice(&[0, 160, 0, 40, b'h']);
        assert_eq!(
            Received6::parse(&m),
            Err(DecodeError6::TruncatedOption {
                code: 160,
                offset: 24,
                len: 40,
                left: 1
            })
        );
        // A truncated option inside an IA_NA is found when the IA is read.
        let mut m = vec![kind::REPLY, 0, 0, 1];
        m.extend(opt(
            code::IA_NA,
            &[0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 24, 1],
        ));
        let r = Received6::parse(&m).unwrap();
        assert!(matches!(
            r.ia_na(7),
            Err(DecodeError6::TruncatedOption {
                code: 5,
                offset: 20,
                ..
            })
        ));
    }

    #[test]
    fn wrong_sizes_are_refused() {
        assert_eq!(Received6::parse(&[1, 2]), Err(DecodeError6::TooShort { len: 2 }));
        let mut m = vec![kind::REPLY, 0, 0, 1];
        m.extend(opt(23, &[0; 15]));
        let r = Received6::parse(&m).unwrap();
        assert!(matches!(
            r.addresses(23),
            Err(DecodeError6::BadLength { code: 23, .. })
        ));
    }
}
