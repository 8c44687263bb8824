//! CSTP framing (draft-mavrogiannopoulos-openconnect, "The CSTP channel"): an 8-byte header
//! `'S' 'T' 'F' 0x01`, the payload length as a big-endian u16, the packet type, a reserved byte
//! (written 0, ignored when read).
//!
//! Peers put exactly one frame in one TLS record; [`encode`] builds one frame so that the
//! caller can hand it to TLS in one write. [`FrameDecoder`] still reads a byte stream, since a
//! record boundary is not something a TLS API promises.

use thiserror::Error;

/// Length of the CSTP header.
pub const HEADER_LEN: usize = 8;

/// The first four header bytes.
pub const MAGIC: [u8; 4] = *b"STF\x01";

/// CSTP packet types (openconnect `AC_PKT_*`, ocserv `AC_PKT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// 0x00: an IP packet.
    Data,
    /// 0x03: dead peer detection request; answered with a response carrying the same payload.
    DpdRequest,
    /// 0x04: dead peer detection response.
    DpdResponse,
    /// 0x05: the peer ends the session (first payload byte a reason code, then text).
    Disconnect,
    /// 0x07: keepalive; not answered.
    Keepalive,
    /// 0x08: a compressed IP packet; only valid when compression was negotiated, which this
    /// client never does.
    Compressed,
    /// 0x09: server shutting down.
    Terminate,
}

impl PacketType {
    /// The type byte on the wire.
    pub fn code(self) -> u8 {
        match self {
            PacketType::Data => 0x00,
            PacketType::DpdRequest => 0x03,
            PacketType::DpdResponse => 0x04,
            PacketType::Disconnect => 0x05,
            PacketType::Keepalive => 0x07,
            PacketType::Compressed => 0x08,
            PacketType::Terminate => 0x09,
        }
    }

    /// The type for a byte on the wire, if CSTP defines it.
    pub fn from_code(code: u8) -> Option<PacketType> {
        Some(match code {
            0x00 => PacketType::Data,
            0x03 => PacketType::DpdRequest,
            0x04 => PacketType::DpdResponse,
            0x05 => PacketType::Disconnect,
            0x07 => PacketType::Keepalive,
            0x08 => PacketType::Compressed,
            0x09 => PacketType::Terminate,
            _ => return None,
        })
    }
}

/// One CSTP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Its type.
    pub kind: PacketType,
    /// Its payload (an IP packet for [`PacketType::Data`]).
    pub payload: Vec<u8>,
}

/// What was wrong with CSTP bytes; offsets count bytes from the start of the tunnel stream.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    /// The header does not start with `STF\x01`.
    #[error("CSTP header at byte {offset}: expected magic 53 54 46 01, found {found:02x?}")]
    BadMagic {
        /// Where the header starts.
        offset: u64,
        /// The four bytes found.
        found: [u8; 4],
    },
    /// A type byte CSTP does not define.
    #[error("CSTP header at byte {offset}: unknown packet type 0x{code:02x}")]
    UnknownType {
        /// Where the header starts.
        offset: u64,
        /// The type byte.
        code: u8,
    },
    /// A payload longer than the decoder's bound.
    #[error("CSTP header at byte {offset}: payload of {len} bytes exceeds the bound of {max}")]
    TooLong {
        /// Where the header starts.
        offset: u64,
        /// The announced length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// A payload that does not fit the 16-bit length field.
    #[error("a CSTP payload of {len} bytes does not fit the 16-bit length field")]
    PayloadTooLong {
        /// The payload length.
        len: usize,
    },
}

/// One frame: header and payload, ready for one TLS write.
pub fn encode(kind: PacketType, payload: &[u8]) -> Result<Vec<u8>, FrameError> {
    let len = u16::try_from(payload.len()).map_err(|_| FrameError::PayloadTooLong { len: payload.len() })?;
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&len.to_be_bytes());
    out.push(kind.code());
    out.push(0);
    out.extend_from_slice(payload);
    Ok(out)
}

/// Splits a byte stream into frames, holding at most one partial frame.
#[derive(Debug)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    start: usize,
    consumed: u64,
    max_payload: usize,
}

impl FrameDecoder {
    /// A decoder refusing payloads longer than `max_payload` (at most 65535).
    pub fn new(max_payload: usize) -> FrameDecoder {
        FrameDecoder {
            buf: Vec::new(),
            start: 0,
            consumed: 0,
            max_payload: max_payload.min(usize::from(u16::MAX)),
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered and not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len().saturating_sub(self.start)
    }

    /// The next whole frame, `Ok(None)` when more bytes are needed. After an error the stream
    /// is unusable (CSTP has no resynchronisation).
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        let rest = self.buf.get(self.start..).unwrap_or_default();
        let Some(header) = rest.get(..HEADER_LEN) else {
            return Ok(None);
        };
        let offset = self.consumed;
        let mut magic = [0u8; 4];
        magic.copy_from_slice(header.get(..4).unwrap_or(&[0; 4]));
        if magic != MAGIC {
            return Err(FrameError::BadMagic { offset, found: magic });
        }
        let len = usize::from(u16::from_be_bytes([
            header.get(4).copied().unwrap_or(0),
            header.get(5).copied().unwrap_or(0),
        ]));
        let code = header.get(6).copied().unwrap_or(0);
        let kind = PacketType::from_code(code).ok_or(FrameError::UnknownType { offset, code })?;
        if len > self.max_payload {
            return Err(FrameError::TooLong {
                offset,
                len,
                max: self.max_payload,
            });
        }
        let Some(payload) = rest.get(HEADER_LEN..HEADER_LEN + len) else {
            return Ok(None);
        };
        let frame = Frame {
            kind,
            payload: payload.to_vec(),
        };
        self.start += HEADER_LEN + len;
        self.consumed += (HEADER_LEN + len) as u64;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        Ok(Some(frame))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_frame_round_trips_split_anywhere() -> Result<(), FrameError> {
        let wire = encode(PacketType::Data, b"\x45\x00abc")?;
        assert_eq!(wire.get(..8), Some(&b"STF\x01\x00\x05\x00\x00"[..]));
        for cut in 0..wire.len() {
            let mut d = FrameDecoder::new(1500);
            d.push(wire.get(..cut).unwrap_or_default());
            assert_eq!(d.next_frame()?, None);
            d.push(wire.get(cut..).unwrap_or_default());
            let f = d.next_frame()?;
            assert_eq!(
                f.map(|f| (f.kind, f.payload)),
                Some((PacketType::Data, b"\x45\x00abc".to_vec()))
            );
        }
        Ok(())
    }

    #[test]
    fn two_frames_in_one_read_and_offsets_in_errors() -> Result<(), FrameError> {
        let mut wire = encode(PacketType::DpdRequest, b"")?;
        wire.extend(encode(PacketType::Keepalive, b"")?);
        wire.extend_from_slice(b"STF\x01\x00\x00\x02\x00");
        let mut d = FrameDecoder::new(1500);
        d.push(&wire);
        assert_eq!(d.next_frame()?.map(|f| f.kind), Some(PacketType::DpdRequest));
        assert_eq!(d.next_frame()?.map(|f| f.kind), Some(PacketType::Keepalive));
        assert_eq!(
            d.next_frame(),
            Err(FrameError::UnknownType { offset: 16, code: 2 })
        );
        Ok(())
    }

    #[test]
    fn reserved_header_byte_is_ignored_on_input_and_zero_on_output() -> Result<(), FrameError> {
        let mut d = FrameDecoder::new(100);
        d.push(b"STF\x01\x00\x01\x00\x6ex");
        let f = d.next_frame()?.ok_or(FrameError::PayloadTooLong { len: 0 })?;
        assert_eq!(encode(f.kind, &f.payload)?, b"STF\x01\x00\x01\x00\x00x");
        Ok(())
    }

    #[test]
    fn bad_magic_and_oversize_are_refused() {
        let mut d = FrameDecoder::new(100);
        d.push(b"HTTP/1.1");
        assert!(matches!(
            d.next_frame(),
            Err(FrameError::BadMagic { offset: 0, .. })
        ));
        let mut d = FrameDecoder::new(100);
        d.push(b"STF\x01\x00\x65\x00\x00");
        assert_eq!(
            d.next_frame(),
            Err(FrameError::TooLong {
                offset: 0,
                len: 101,
                max: 100
            })
        );
        assert_eq!(
            encode(PacketType::Data, &vec![0; 70_000]),
            Err(FrameError::PayloadTooLong { len: 70_000 })
        );
    }
}
