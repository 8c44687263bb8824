//! Reading a received DHCPv4 message (RFC 2131 §2, RFC 2132 §2, RFC 3396).
//!
//! The fixed header is read at its fixed offsets; the options are walked here rather than by
//! `dhcproto`'s decoder, which stops silently at the first option it cannot decode and drops
//! every option after it (a 150 with two addresses would hide 159 and 160). This walker keeps
//! each option's raw bytes, concatenates repeated options (RFC 3396), follows option 52
//! (overload into `file`/`sname`), and refuses a message whose options run past its end.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// Bytes before the options: the BOOTP header (236) and the magic cookie (4).
pub const HEADER_LEN: usize = 240;

/// The largest message accepted: RFC 2131 lets a client advertise up to 65535 bytes, but a
/// phone asks for 1500 (option 57) and a UDP payload on Ethernet is smaller than that.
pub const MAX_MESSAGE: usize = 4096;

/// The DHCP magic cookie (RFC 2131 §3).
pub const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];

/// Why a received message was not accepted as DHCP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Shorter than the fixed header and cookie.
    #[error("message is {len} bytes, shorter than the {HEADER_LEN}-byte DHCP header")]
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
    /// Bytes 236..240 are not the magic cookie.
    #[error("bytes 236..240 are not the DHCP magic cookie 99.130.83.99 (BOOTP without options?)")]
    BadCookie,
    /// An option's length runs past the end of its area.
    #[error("option {code} at offset {offset} claims {len} bytes but only {left} remain")]
    TruncatedOption {
        /// The option code.
        code: u8,
        /// Offset of the option's code byte in the message.
        offset: usize,
        /// The length byte.
        len: u8,
        /// Bytes left in the area after the length byte.
        left: usize,
    },
    /// An option area ended without the END option (255).
    #[error("the options in the {area} end at offset {offset} without END (255)")]
    MissingEnd {
        /// `options`, `file` or `sname`.
        area: &'static str,
        /// Offset where the area ends.
        offset: usize,
    },
    /// Option 52 has a value other than 1, 2, 3 or a length other than 1.
    #[error("option 52 (overload) at offset {offset} is malformed: expected one byte 1, 2 or 3")]
    BadOverload {
        /// Offset of the option's code byte.
        offset: usize,
    },
    /// `hlen` is larger than the 16-byte `chaddr` field.
    #[error("hlen {hlen} is larger than the 16-byte chaddr field")]
    BadHardwareLength {
        /// The value of `hlen`.
        hlen: u8,
    },
}

/// A received DHCPv4 message: the header fields a client needs and every option's raw bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// 1 BOOTREQUEST, 2 BOOTREPLY.
    pub op: u8,
    /// Transaction ID.
    pub xid: u32,
    /// The client's hardware address (`hlen` bytes of `chaddr`).
    pub chaddr: Vec<u8>,
    /// `ciaddr`.
    pub ciaddr: Ipv4Addr,
    /// `yiaddr`: the address offered or assigned.
    pub yiaddr: Ipv4Addr,
    /// `siaddr`: the next server (BOOTP's TFTP server).
    pub siaddr: Ipv4Addr,
    /// `sname` when not used for options, up to its first NUL.
    pub sname: Vec<u8>,
    /// `file` when not used for options, up to its first NUL.
    pub file: Vec<u8>,
    /// Option code → value (instances concatenated in order, RFC 3396). PAD, END and 52 are
    /// not kept.
    pub options: BTreeMap<u8, Vec<u8>>,
}

impl Received {
    /// Reads a message, refusing anything malformed with the offset where it went wrong.
    pub fn parse(bytes: &[u8]) -> Result<Received, DecodeError> {
        if bytes.len() < HEADER_LEN {
            return Err(DecodeError::TooShort { len: bytes.len() });
        }
        if bytes.len() > MAX_MESSAGE {
            return Err(DecodeError::TooLong { len: bytes.len() });
        }
        let u32_at = |at: usize| -> u32 {
            let mut b = [0u8; 4];
            if let Some(s) = bytes.get(at..at + 4) {
                b.copy_from_slice(s);
            }
            u32::from_be_bytes(b)
        };
        let ip_at = |at: usize| Ipv4Addr::from(u32_at(at));
        if bytes.get(236..240) != Some(&MAGIC_COOKIE[..]) {
            return Err(DecodeError::BadCookie);
        }
        let hlen = bytes.get(2).copied().unwrap_or(0);
        if hlen > 16 {
            return Err(DecodeError::BadHardwareLength { hlen });
        }
        let chaddr = bytes.get(28..28 + usize::from(hlen)).unwrap_or_default().to_vec();
        let sname_area = bytes.get(44..108).unwrap_or_default();
        let file_area = bytes.get(108..236).unwrap_or_default();
        let mut options = BTreeMap::new();
        let overload = walk(
            bytes.get(HEADER_LEN..).unwrap_or_default(),
            HEADER_LEN,
            "options",
            &mut options,
        )?;
        // RFC 2131 §4.1: with option 52, `file` (1), `sname` (2) or both (3) carry options,
        // read after the options field, `file` before `sname`.
        if overload & 1 != 0 {
            walk(file_area, 108, "file", &mut options)?;
        }
        if overload & 2 != 0 {
            walk(sname_area, 44, "sname", &mut options)?;
        }
        let until_nul = |area: &[u8]| -> Vec<u8> { area.iter().take_while(|&&b| b != 0).copied().collect() };
        Ok(Received {
            op: bytes.first().copied().unwrap_or(0),
            xid: u32_at(4),
            chaddr,
            ciaddr: ip_at(12),
            yiaddr: ip_at(16),
            siaddr: ip_at(20),
            sname: if overload & 2 != 0 {
                Vec::new()
            } else {
                until_nul(sname_area)
            },
            file: if overload & 1 != 0 {
                Vec::new()
            } else {
                until_nul(file_area)
            },
            options,
        })
    }

    /// The DHCP message type (option 53), when present and one byte long.
    pub fn message_type(&self) -> Option<u8> {
        match self.options.get(&53).map(Vec::as_slice) {
            Some([t]) => Some(*t),
            _ => None,
        }
    }

    /// An option that must hold one IPv4 address (54, 1, 50).
    pub fn addr_option(&self, code: u8) -> Option<Ipv4Addr> {
        let v = self.options.get(&code)?;
        let b: [u8; 4] = v.as_slice().try_into().ok()?;
        Some(Ipv4Addr::from(b))
    }

    /// An option that must hold a 32-bit number (51, 58, 59).
    pub fn u32_option(&self, code: u8) -> Option<u32> {
        let v = self.options.get(&code)?;
        let b: [u8; 4] = v.as_slice().try_into().ok()?;
        Some(u32::from_be_bytes(b))
    }

    /// An option that holds a list of IPv4 addresses (3, 6, 42, 150); `None` when absent or
    /// when its length is not a positive multiple of 4.
    pub fn addr_list_option(&self, code: u8) -> Option<Vec<Ipv4Addr>> {
        let v = self.options.get(&code)?;
        addresses(v)
    }
}

/// A non-empty list of IPv4 addresses (length a multiple of 4).
pub(crate) fn addresses(v: &[u8]) -> Option<Vec<Ipv4Addr>> {
    if v.is_empty() || !v.len().is_multiple_of(4) {
        return None;
    }
    v.chunks_exact(4)
        .map(|c| <[u8; 4]>::try_from(c).ok().map(Ipv4Addr::from))
        .collect()
}

/// Walks one option area, appending to `options`; returns the overload value (0 when none).
fn walk(
    area: &[u8],
    base: usize,
    name: &'static str,
    options: &mut BTreeMap<u8, Vec<u8>>,
) -> Result<u8, DecodeError> {
    let mut at = 0;
    let mut overload = 0;
    loop {
        let Some(&code) = area.get(at) else {
            return Err(DecodeError::MissingEnd {
                area: name,
                offset: base + at,
            });
        };
        match code {
            0 => at += 1,
            255 => return Ok(overload),
            _ => {
                let Some(&len) = area.get(at + 1) else {
                    return Err(DecodeError::TruncatedOption {
                        code,
                        offset: base + at,
                        len: 0,
                        left: 0,
                    });
                };
                let start = at + 2;
                let Some(value) = area.get(start..start + usize::from(len)) else {
                    return Err(DecodeError::TruncatedOption {
                        code,
                        offset: base + at,
                        len,
                        left: area.len().saturating_sub(start),
                    });
                };
                if code == 52 {
                    match value {
                        [v @ 1..=3] if name == "options" => overload = *v,
                        _ => return Err(DecodeError::BadOverload { offset: base + at }),
                    }
                } else {
                    options.entry(code).or_default().extend_from_slice(value);
                }
                at = start + usize::from(len);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(options: &[u8]) -> Vec<u8> {
        let mut m = vec![0u8; HEADER_LEN];
        m[0] = 2;
        m[2] = 6;
        m[4..8].copy_from_slice(&0x1234_5678u32.to_be_bytes());
        m[28..34].copy_from_slice(&[0, 0x0e, 8, 0xab, 0xcd, 0xef]);
        m[236..240].copy_from_slice(&MAGIC_COOKIE);
        m.extend_from_slice(options);
        m
    }

    #[test]
    fn reads_header_and_concatenates_split_options() {
        // RFC 3396: two instances of 160 form one value.
        let m = message(&[53, 1, 2, 160, 3, b'h', b't', b't', 0, 160, 2, b'p', b':', 255]);
        let r = Received::parse(&m).unwrap();
        assert_eq!(r.xid, 0x1234_5678);
        assert_eq!(r.chaddr, [0, 0x0e, 8, 0xab, 0xcd, 0xef]);
        assert_eq!(r.message_type(), Some(2));
        assert_eq!(r.options[&160], b"http:");
    }

    #[test]
    fn truncated_option_is_an_error_with_its_offset() {
        let m = message(&[53, 1, 2, 150, 8, 10, 0, 0, 1]);
        assert_eq!(
            Received::parse(&m),
            Err(DecodeError::TruncatedOption {
                code: 150,
                offset: 243,
                len: 8,
                left: 4
            })
        );
    }

    #[test]
    fn options_without_end_are_refused() {
        let m = message(&[53, 1, 2]);
        assert_eq!(
            Received::parse(&m),
            Err(DecodeError::MissingEnd {
                area: "options",
                offset: 243
            })
        );
    }

    #[test]
    fn overloaded_file_field_is_read() {
        let mut m = message(&[53, 1, 5, 52, 1, 1, 255]);
        m[108..114].copy_from_slice(&[66, 3, b'a', b'.', b'b', 255]);
        let r = Received::parse(&m).unwrap();
        assert_eq!(r.options[&66], b"a.b");
        assert!(r.file.is_empty());
    }

    #[test]
    fn a_multi_address_150_does_not_hide_later_options() {
        let m = message(&[
            53, 1, 5, 150, 8, 10, 0, 0, 1, 10, 0, 0, 2, 160, 4, b'h', b't', b't', b'p', 255,
        ]);
        let r = Received::parse(&m).unwrap();
        assert_eq!(
            r.addr_list_option(150),
            Some(vec![Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)])
        );
        assert_eq!(r.options[&160], b"http");
    }

    #[test]
    fn short_and_long_messages_are_refused() {
        assert_eq!(Received::parse(&[0; 10]), Err(DecodeError::TooShort { len: 10 }));
        assert_eq!(
            Received::parse(&vec![0; MAX_MESSAGE + 1]),
            Err(DecodeError::TooLong { len: MAX_MESSAGE + 1 })
        );
        assert_eq!(Received::parse(&[0; HEADER_LEN]), Err(DecodeError::BadCookie));
    }
}
