//! Errors: what was wrong, where (a byte offset into the message or header value), and what
//! was expected there.

use thiserror::Error;

/// A message or header that could not be parsed, or that parsed but is not a valid SIP message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{kind} at byte {offset}")]
pub struct Error {
    /// What was wrong.
    pub kind: ErrorKind,
    /// Byte offset of the problem: into the message for [`crate::Message`] methods, into the
    /// header value for the standalone header parsers.
    pub offset: usize,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, offset: usize) -> Self {
        Error { kind, offset }
    }

    /// Whether this error belongs to the framing stage (the message could not be split into
    /// start line, headers and body) rather than to a header's grammar or to validation.
    pub fn is_framing(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Empty
                | ErrorKind::NotUtf8
                | ErrorKind::HeadNotTerminated
                | ErrorKind::StartLine { .. }
                | ErrorKind::HeaderLine { .. }
                | ErrorKind::TooManyHeaders { .. }
                | ErrorKind::LineTooLong { .. }
                | ErrorKind::BodyTooLarge { .. }
                | ErrorKind::BodyTruncated { .. }
                | ErrorKind::ContentLength { .. }
                | ErrorKind::MissingContentLength
                | ErrorKind::ControlCharacter { .. }
        )
    }
}

/// The kinds of [`struct@Error`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No bytes (or only the CRLF keep-alives that may precede a message).
    #[error("empty message")]
    Empty,
    /// The start line and headers must be UTF-8 (RFC 3261 §7.3.1).
    #[error("start line or header is not UTF-8")]
    NotUtf8,
    /// No empty line ends the headers.
    #[error("headers not terminated by an empty line")]
    HeadNotTerminated,
    /// The request or status line does not follow RFC 3261 §7.1 / §7.2.
    #[error("malformed start line: expected {expected}")]
    StartLine {
        /// What the grammar expected at the offset.
        expected: &'static str,
    },
    /// A header line is not `name: value`.
    #[error("malformed header line: expected {expected}")]
    HeaderLine {
        /// What the grammar expected at the offset.
        expected: &'static str,
    },
    /// More header lines than [`crate::Limits::max_headers`].
    #[error("more than {limit} header lines")]
    TooManyHeaders {
        /// The limit.
        limit: usize,
    },
    /// A line longer than [`crate::Limits::max_line`].
    #[error("line longer than {limit} bytes")]
    LineTooLong {
        /// The limit.
        limit: usize,
    },
    /// A body larger than [`crate::Limits::max_body`].
    #[error("body of {declared} bytes is larger than the limit of {limit}")]
    BodyTooLarge {
        /// Content-Length.
        declared: usize,
        /// The limit.
        limit: usize,
    },
    /// Content-Length says more bytes than the datagram holds (RFC 3261 §18.3).
    #[error("Content-Length is {declared} but only {available} body bytes follow")]
    BodyTruncated {
        /// Content-Length.
        declared: usize,
        /// Bytes after the headers.
        available: usize,
    },
    /// Content-Length is not a number, or two Content-Length headers disagree.
    #[error("bad Content-Length: {reason}")]
    ContentLength {
        /// Why.
        reason: &'static str,
    },
    /// A stream message without Content-Length (RFC 3261 §18.3: mandatory on streams).
    #[error("Content-Length is required on a stream transport")]
    MissingContentLength,
    /// A control character (NUL, a bare CR, ESC, DEL...) in a header line: RFC 3261 §25.1
    /// allows only HTAB and the CRLF of a fold between `TEXT-UTF8char`s.
    #[error("control character 0x{byte:02x} in a header line")]
    ControlCharacter {
        /// The byte.
        byte: u8,
    },
    /// A header value does not follow its grammar.
    #[error("malformed {header} header: expected {expected}")]
    Header {
        /// The header's canonical name.
        header: &'static str,
        /// What the grammar expected at the offset.
        expected: &'static str,
    },
    /// A header the message must carry is absent (RFC 3261 §8.1.1).
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// A header that may appear once appears again (RFC 3261 §7.3, RFC 4475 §3.3.8).
    #[error("second {0} header where only one is allowed")]
    DuplicateHeader(&'static str),
    /// A number outside its allowed range (RFC 4475 §3.1.2.4).
    #[error("{header} value out of range: {expected}")]
    OutOfRange {
        /// The header's canonical name.
        header: &'static str,
        /// The allowed range.
        expected: &'static str,
    },
    /// The CSeq method differs from the request method (RFC 3261 §8.1.1.5).
    #[error("CSeq method does not match the request method")]
    CSeqMethodMismatch,
    /// A SIP version other than 2.0 (RFC 3261 §8.2.1 wants a 505).
    #[error("unsupported SIP version (only SIP/2.0)")]
    UnsupportedVersion,
    /// The Request-URI carries `?headers` (RFC 3261 §19.1.5: not allowed in a Request-URI).
    #[error("Request-URI has headers")]
    RequestUriHeaders,
}
