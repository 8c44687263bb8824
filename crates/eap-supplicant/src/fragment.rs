//! Why an EAP-TLS fragment was discarded or a message could not be reassembled: an error type of
//! its own, so the method (`tls.rs`) and the events that report it (`event.rs`) both use it
//! without importing each other.

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
