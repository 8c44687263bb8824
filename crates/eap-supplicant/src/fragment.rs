//! The TLS-in-EAP framing EAP-TLS (`tls.rs`) and EAP-FAST (`fast/method.rs`) share: the Flags
//! octet and TLS Message Length ([`Header`]), fragmentation and reassembly ([`Framing`]), and why a
//! fragment was discarded or a message could not be reassembled ([`FragmentError`], also used by
//! the events in `event.rs`).

use thiserror::Error;

/// An EAP-TLS framing error (RFC 5216 §3.1 flags, TLS Message Length, fragments).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FragmentError {
    /// The request has no Flags octet.
    #[error("no Flags octet")]
    MissingFlags,
    /// The L flag is set but fewer than 4 length bytes follow.
    #[error("L flag set but the TLS Message Length field is truncated ({0} bytes)")]
    TruncatedLength(usize),
    /// The declared TLS Message Length exceeds the configured bound.
    #[error("TLS Message Length {declared} exceeds the limit of {limit}")]
    MessageTooLong {
        /// The TLS Message Length field.
        declared: usize,
        /// [`EapTlsConfig::max_message_len`](crate::EapTlsConfig::max_message_len).
        limit: usize,
    },
    /// A first fragment with M set but no L flag.
    #[error("first fragment of a fragmented message has no TLS Message Length")]
    MissingLength,
    /// The fragments carry more bytes than the TLS Message Length.
    #[error("fragments carry {received} bytes, more than the TLS Message Length {declared}")]
    Overflow {
        /// The TLS Message Length field.
        declared: usize,
        /// The bytes received so far.
        received: usize,
    },
    /// The last fragment arrived before the declared length was reached.
    #[error("last fragment ends at {received} bytes, short of the TLS Message Length {declared}")]
    Underflow {
        /// The TLS Message Length field.
        declared: usize,
        /// The bytes received.
        received: usize,
    },
    /// An EAP-TLS Start that is fragmented or carries data.
    #[error("EAP-TLS Start with payload or M flag")]
    InvalidStart,
    /// An EAP-TLS Start in the middle of a handshake.
    #[error("EAP-TLS Start during a handshake")]
    UnexpectedStart,
    /// TLS data before the EAP-TLS Start.
    #[error("EAP-TLS data before Start")]
    DataBeforeStart,
    /// Data while this peer was sending fragments and expected an ACK.
    #[error("{0} bytes of data where an ACK of this peer's fragment was expected")]
    ExpectedAck(usize),
    /// A message after the handshake had finished and the method had nothing more to do.
    #[error("EAP-TLS request after the method finished")]
    AfterDone,
}

/// Flags: Length included (RFC 5216 §3.1, RFC 4851 §4.1).
pub(crate) const FLAG_LENGTH: u8 = 0x80;
/// Flags: More fragments.
pub(crate) const FLAG_MORE: u8 = 0x40;
/// Flags: Start.
pub(crate) const FLAG_START: u8 = 0x20;

/// The framing header of an EAP-TLS / EAP-FAST request: the Flags octet, the TLS Message
/// Length when the L flag is set, and the data after them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header<'a> {
    pub(crate) flags: u8,
    pub(crate) length: Option<usize>,
    pub(crate) payload: &'a [u8],
}

impl<'a> Header<'a> {
    /// Splits the type-data (flags onwards). Errors drop the request (RFC 4137 DISCARD).
    pub(crate) fn parse(data: &'a [u8]) -> Result<Header<'a>, FragmentError> {
        let (&flags, rest) = data.split_first().ok_or(FragmentError::MissingFlags)?;
        if flags & FLAG_LENGTH == 0 {
            return Ok(Header {
                flags,
                length: None,
                payload: rest,
            });
        }
        let (len, payload) = rest
            .split_first_chunk::<4>()
            .ok_or(FragmentError::TruncatedLength(rest.len()))?;
        Ok(Header {
            flags,
            length: Some(u32::from_be_bytes(*len) as usize),
            payload,
        })
    }

    /// The Start flag.
    pub(crate) fn start(&self) -> bool {
        self.flags & FLAG_START != 0
    }

    /// The More-fragments flag.
    pub(crate) fn more(&self) -> bool {
        self.flags & FLAG_MORE != 0
    }
}

/// What a request's data did to the reassembly.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Received {
    /// A fragment with M set: answer with an ACK.
    Fragment,
    /// A whole message (possibly empty: nothing for TLS, answer with an ACK).
    Message(Vec<u8>),
}

/// Fragmentation and reassembly shared by EAP-TLS and EAP-FAST (RFC 5216 §2.1.5 / RFC 4851
/// §3.2): the TLS bytes this peer sends, cut into fragments with the L and M flags, and the
/// server's fragments put back together within a bound.
#[derive(Debug, Default)]
pub(crate) struct Framing {
    fragment_size: usize,
    max_message_len: usize,
    rx: Vec<u8>,
    rx_expected: Option<usize>,
    rx_active: bool,
    tx: Vec<u8>,
    tx_offset: usize,
}

impl Framing {
    pub(crate) fn new(fragment_size: usize, max_message_len: usize) -> Framing {
        Framing {
            fragment_size: fragment_size.max(1),
            max_message_len,
            ..Framing::default()
        }
    }

    /// Whether fragments of this peer's last message are still waiting to go out.
    pub(crate) fn sending(&self) -> bool {
        self.tx_offset < self.tx.len()
    }

    /// Whether a message from the server is half reassembled.
    pub(crate) fn receiving(&self) -> bool {
        self.rx_active
    }

    /// The server's ACK of one of this peer's fragments: the next fragment to send. Data there
    /// instead is dropped ([`FragmentError::ExpectedAck`]).
    pub(crate) fn acked(&mut self, header: &Header<'_>, base_flags: u8) -> Result<Vec<u8>, FragmentError> {
        if !header.payload.is_empty() || header.more() {
            return Err(FragmentError::ExpectedAck(header.payload.len()));
        }
        Ok(self.next_fragment(base_flags))
    }

    /// Takes one fragment from the server. Errors are fatal for the method (the message can no
    /// longer be put together).
    pub(crate) fn receive(&mut self, header: &Header<'_>) -> Result<Received, FragmentError> {
        if !self.rx_active {
            match header.length {
                Some(declared) if declared > self.max_message_len => {
                    return Err(FragmentError::MessageTooLong {
                        declared,
                        limit: self.max_message_len,
                    });
                }
                None if header.more() => return Err(FragmentError::MissingLength),
                _ => {}
            }
            self.rx.clear();
            self.rx_expected = header.length;
            self.rx_active = true;
        }
        self.rx.extend_from_slice(header.payload);
        let limit = self.rx_expected.unwrap_or(self.max_message_len);
        if self.rx.len() > limit {
            self.rx_active = false;
            return Err(match self.rx_expected {
                Some(declared) => FragmentError::Overflow {
                    declared,
                    received: self.rx.len(),
                },
                None => FragmentError::MessageTooLong {
                    declared: self.rx.len(),
                    limit,
                },
            });
        }
        if header.more() {
            return Ok(Received::Fragment);
        }
        self.rx_active = false;
        if let Some(declared) = self.rx_expected {
            if self.rx.len() != declared {
                return Err(FragmentError::Underflow {
                    declared,
                    received: self.rx.len(),
                });
            }
        }
        Ok(Received::Message(std::mem::take(&mut self.rx)))
    }

    /// Replaces what is to be sent with `bytes` (the previous message has gone out).
    pub(crate) fn queue(&mut self, bytes: Vec<u8>) {
        self.tx = bytes;
        self.tx_offset = 0;
    }

    /// Drops whatever was still to be sent.
    #[cfg_attr(not(feature = "fast"), allow(dead_code))]
    pub(crate) fn clear_tx(&mut self) {
        self.tx.clear();
        self.tx_offset = 0;
    }

    /// Whether nothing is queued at all.
    #[cfg_attr(not(feature = "fast"), allow(dead_code))]
    pub(crate) fn tx_is_empty(&self) -> bool {
        self.tx.is_empty()
    }

    /// The next fragment's type-data: `base_flags` (0 for EAP-TLS, the version for EAP-FAST)
    /// with M on all but the last and L with the total on the first of several.
    pub(crate) fn next_fragment(&mut self, base_flags: u8) -> Vec<u8> {
        let total = self.tx.len();
        let start = self.tx_offset.min(total);
        let end = total.min(start.saturating_add(self.fragment_size));
        let more = end < total;
        let first_of_many = start == 0 && more;
        let mut flags = base_flags;
        if more {
            flags |= FLAG_MORE;
        }
        if first_of_many {
            flags |= FLAG_LENGTH;
        }
        let mut out = Vec::with_capacity(end - start + 5);
        out.push(flags);
        if first_of_many {
            out.extend_from_slice(&u32::try_from(total).unwrap_or(u32::MAX).to_be_bytes());
        }
        out.extend_from_slice(self.tx.get(start..end).unwrap_or(&[]));
        self.tx_offset = end;
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn header(data: &[u8]) -> Header<'_> {
        Header::parse(data).unwrap()
    }

    #[test]
    fn header_errors_are_typed() {
        assert_eq!(Header::parse(&[]), Err(FragmentError::MissingFlags));
        assert_eq!(
            Header::parse(&[0x80, 0, 0]),
            Err(FragmentError::TruncatedLength(2))
        );
        let h = header(&[0xe1, 0, 0, 0, 9, 7]);
        assert!(h.start() && h.more());
        assert_eq!(h.length, Some(9));
        assert_eq!(h.payload, &[7]);
    }

    #[test]
    fn sends_in_fragments_with_length_on_the_first() {
        let mut f = Framing::new(3, 100);
        f.queue(vec![1, 2, 3, 4, 5, 6, 7]);
        assert!(f.sending());
        assert_eq!(f.next_fragment(1), vec![0xc1, 0, 0, 0, 7, 1, 2, 3]);
        // Data where an ACK belongs is refused; the ACK gets the next fragment.
        assert_eq!(f.acked(&header(&[1, 9]), 1), Err(FragmentError::ExpectedAck(1)));
        assert_eq!(f.acked(&header(&[1]), 1).unwrap(), vec![0x41, 4, 5, 6]);
        assert_eq!(f.acked(&header(&[1]), 1).unwrap(), vec![0x01, 7]);
        assert!(!f.sending());
        // One that fits: no flags at all.
        f.queue(vec![8]);
        assert_eq!(f.next_fragment(0), vec![0, 8]);
    }

    #[test]
    fn reassembles_within_the_declared_length() {
        let mut f = Framing::new(1398, 10);
        assert_eq!(
            f.receive(&header(&[0xc0, 0, 0, 0, 4, 1, 2])),
            Ok(Received::Fragment)
        );
        assert!(f.receiving());
        assert_eq!(
            f.receive(&header(&[0x00, 3, 4])),
            Ok(Received::Message(vec![1, 2, 3, 4]))
        );
        assert!(!f.receiving());
        assert_eq!(f.receive(&header(&[0x00])), Ok(Received::Message(vec![])));
    }

    #[test]
    fn bad_fragments_are_refused() {
        let mut f = Framing::new(1398, 10);
        assert_eq!(
            f.receive(&header(&[0xc0, 0, 0, 0, 11, 1])),
            Err(FragmentError::MessageTooLong {
                declared: 11,
                limit: 10
            })
        );
        assert_eq!(f.receive(&header(&[0x40, 1])), Err(FragmentError::MissingLength));
        assert_eq!(f.receive(&header(&[0xc0, 0, 0, 0, 2, 1])), Ok(Received::Fragment));
        assert_eq!(
            f.receive(&header(&[0x00, 2, 3])),
            Err(FragmentError::Overflow {
                declared: 2,
                received: 3
            })
        );
        // Truncated: the last fragment ends short of the declared length.
        assert_eq!(f.receive(&header(&[0xc0, 0, 0, 0, 5, 1])), Ok(Received::Fragment));
        assert_eq!(
            f.receive(&header(&[0x00, 2])),
            Err(FragmentError::Underflow {
                declared: 5,
                received: 2
            })
        );
        // No length: bounded by the limit.
        let mut f = Framing::new(1398, 2);
        assert_eq!(
            f.receive(&header(&[0x00, 1, 2, 3])),
            Err(FragmentError::MessageTooLong {
                declared: 3,
                limit: 2
            })
        );
    }
}
