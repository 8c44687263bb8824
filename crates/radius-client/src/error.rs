//! Error types, one per kind of failure.

use thiserror::Error;

/// A datagram that is not a well-formed RADIUS packet.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// Fewer than the 4 bytes that hold the Length field.
    #[error("{len} bytes: too short for a RADIUS header")]
    TooShort {
        /// Bytes received.
        len: usize,
    },
    /// A Length field outside 20..=4096.
    #[error("Length field {length} is outside 20..=4096")]
    BadLength {
        /// The Length field.
        length: usize,
    },
    /// The Length field says more than was received.
    #[error("Length field {length} but only {received} bytes received")]
    Truncated {
        /// The Length field.
        length: usize,
        /// Bytes received.
        received: usize,
    },
    /// One byte left where an attribute header needs two.
    #[error("truncated attribute header at byte {offset}")]
    AttributeHeader {
        /// Offset of the lone byte.
        offset: usize,
    },
    /// An attribute length below 2 or past the packet's end.
    #[error("attribute {attribute} at byte {offset} has length {length}")]
    AttributeLength {
        /// Offset of the attribute's type byte.
        offset: usize,
        /// Its type.
        attribute: u8,
        /// Its length byte.
        length: usize,
    },
}

/// A packet that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// An attribute value over 253 bytes.
    #[error("attribute {attribute}: {len} bytes, the limit is 253")]
    AttributeTooLong {
        /// The attribute type.
        attribute: u8,
        /// The value's length.
        len: usize,
    },
    /// The packet would exceed 4096 bytes.
    #[error("the packet would exceed RADIUS' 4096 bytes")]
    PacketTooLong,
    /// An empty EAP packet.
    #[error("no EAP packet to send")]
    EmptyEap,
}

/// A reply whose authenticators do not check: a wrong shared secret, a forged or corrupted
/// datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum VerifyError {
    /// The Response Authenticator differs (wrong shared secret?).
    #[error("Response Authenticator mismatch (wrong shared secret?)")]
    ResponseAuthenticator,
    /// No Message-Authenticator (RFC 3579 §3.2 requires one).
    #[error("reply without Message-Authenticator (RFC 3579 requires it)")]
    MissingMessageAuthenticator,
    /// More than one Message-Authenticator.
    #[error("more than one Message-Authenticator")]
    DuplicateMessageAuthenticator,
    /// A Message-Authenticator that is not 16 bytes.
    #[error("Message-Authenticator of {len} bytes, not 16")]
    MessageAuthenticatorLength {
        /// Its length.
        len: usize,
    },
    /// The Message-Authenticator differs.
    #[error("Message-Authenticator mismatch")]
    MessageAuthenticator,
}

/// Why a received datagram was dropped; the request keeps waiting for a good reply.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DropReason {
    /// Nothing is waiting for a reply.
    #[error("no request is waiting for a reply")]
    Unsolicited,
    /// Not a RADIUS packet.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A reply to another request.
    #[error("reply identifier {got}, expected {expected}")]
    Identifier {
        /// The pending request's identifier.
        expected: u8,
        /// The reply's.
        got: u8,
    },
    /// A code other than Accept, Reject or Challenge.
    #[error("RADIUS code {0} is not a reply to an Access-Request")]
    Code(u8),
    /// The authenticators do not check.
    #[error(transparent)]
    Verify(#[from] VerifyError),
}

/// The randomness source failed; the client refuses to send a predictable authenticator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("the randomness source failed")]
pub struct RandomError;

/// Why [`Client::send_eap`](crate::Client::send_eap) refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SendError {
    /// A request is still waiting for its reply.
    #[error("a request is still waiting for its reply")]
    Busy,
    /// The request cannot be built.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// No randomness for the Request Authenticator.
    #[error(transparent)]
    Random(#[from] RandomError),
}
