//! Framing (RFC 3261 §7, §18.3): start line, header lines, body; then typed access and
//! validation.

use std::borrow::Cow;

use crate::error::{Error, ErrorKind};
use crate::grammar::{is_token_byte, is_token_char, is_wsp, unfold};
use crate::header::{
    CSeq, HeaderName, MediaType, NameAddr, Via, parse_call_id, parse_cseq, parse_date, parse_media_type,
    parse_name_addr, parse_name_addr_list, parse_number, parse_tokens, parse_via,
};
use crate::method::Method;
use crate::security::{SecurityMechanism, parse_security_mechanisms};
use crate::uri::{Uri, UriContext, uri};

/// Bounds on what one message may hold. Input from the network is never unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most header lines (continuation lines not counted).
    pub max_headers: usize,
    /// Longest line, start line or header line, in bytes.
    pub max_line: usize,
    /// Largest body in bytes.
    pub max_body: usize,
}

impl Default for Limits {
    /// 128 headers, 8 KiB lines, 64 KiB bodies: far above any real UA's needs, and above every
    /// RFC 4475 message (`longreq.dat` has 34 Via lines and 594-byte lines).
    fn default() -> Self {
        Limits {
            max_headers: 128,
            max_line: 8 * 1024,
            max_body: 64 * 1024,
        }
    }
}

/// How the message arrived, which decides what Content-Length means (RFC 3261 §18.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// One UDP datagram: Content-Length is optional (the body is the rest), bytes after the
    /// body are ignored, and a body shorter than Content-Length is an error.
    Datagram,
    /// A stream (TCP, TLS): Content-Length is mandatory and says where the next message starts.
    Stream,
}

/// The protocol version of a start line: `SIP/major.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    /// Major.
    pub major: u8,
    /// Minor.
    pub minor: u8,
}

impl Version {
    /// SIP/2.0.
    pub const SIP_2_0: Version = Version { major: 2, minor: 0 };
}

/// The first line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine<'a> {
    /// `Method SP Request-URI SP SIP-Version`.
    Request {
        /// The method.
        method: Method,
        /// The Request-URI.
        uri: Uri<'a>,
        /// The version.
        version: Version,
    },
    /// `SIP-Version SP Status-Code SP Reason-Phrase`.
    Response {
        /// The version.
        version: Version,
        /// 100 to 699.
        code: u16,
        /// The reason phrase, possibly empty.
        reason: &'a str,
    },
}

/// One header line (folded continuation lines included), borrowed from the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    name: &'a str,
    kind: HeaderName,
    value: &'a str,
    offset: usize,
    value_offset: usize,
}

impl<'a> Header<'a> {
    /// The name as written (`v`, `VIA`, `NewFangledHeader`).
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The known header this is, or [`HeaderName::Other`].
    pub fn kind(&self) -> HeaderName {
        self.kind
    }

    /// The value as written, folds included, trailing white space removed.
    pub fn raw_value(&self) -> &'a str {
        self.value
    }

    /// The value with folds and runs of white space replaced by one space.
    pub fn value(&self) -> Cow<'a, str> {
        unfold(self.value)
    }

    /// Byte offset of the header line in the message.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Byte offset of the value in the message.
    pub fn value_offset(&self) -> usize {
        self.value_offset
    }

    /// Whether this header has `name` (long or compact form, any case).
    pub fn is(&self, name: &str) -> bool {
        match HeaderName::from_wire(name) {
            HeaderName::Other => self.name.eq_ignore_ascii_case(name),
            k => k == self.kind,
        }
    }
}

/// A parsed SIP message, borrowing from the input bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    start: StartLine<'a>,
    headers: Vec<Header<'a>>,
    body: &'a [u8],
    len: usize,
}

/// Turns a header value error into a message error.
fn header_error(h: &Header<'_>, kind: HeaderName, (at, expected): (usize, &'static str)) -> Error {
    Error::new(
        ErrorKind::Header {
            header: kind.as_str(),
            expected,
        },
        h.value_offset + at,
    )
}

impl<'a> Message<'a> {
    /// Parses one message from a datagram with the default [`Limits`].
    pub fn parse(input: &'a [u8]) -> Result<Message<'a>, Error> {
        match Self::parse_with(input, Framing::Datagram, &Limits::default())? {
            Some(m) => Ok(m),
            None => Err(Error::new(ErrorKind::HeadNotTerminated, input.len())),
        }
    }

    /// Parses the first message in a stream buffer. `Ok(None)`: not all of it has arrived yet;
    /// [`Message::len`] of the result says how many bytes to drop from the buffer.
    pub fn parse_stream(input: &'a [u8]) -> Result<Option<Message<'a>>, Error> {
        Self::parse_with(input, Framing::Stream, &Limits::default())
    }

    /// Parses with explicit framing and limits. With [`Framing::Datagram`] the result is never
    /// `Ok(None)`.
    pub fn parse_with(
        input: &'a [u8],
        framing: Framing,
        limits: &Limits,
    ) -> Result<Option<Message<'a>>, Error> {
        // CRLFs before a message are keep-alives (RFC 3261 §7.5, RFC 5626 §4.4.1).
        let start = input
            .iter()
            .position(|&b| b != b'\r' && b != b'\n')
            .unwrap_or(input.len());
        let bytes = input.get(start..).unwrap_or_default();
        if bytes.is_empty() {
            return match framing {
                Framing::Datagram => Err(Error::new(ErrorKind::Empty, input.len())),
                Framing::Stream => Ok(None),
            };
        }
        let head_limit = limits
            .max_line
            .saturating_mul(limits.max_headers.saturating_add(1));
        let mut line_ends = LineEnds::new();
        let Some((head_len, sep_len)) = find_head_end(bytes, head_limit, &mut line_ends) else {
            if framing == Framing::Stream && bytes.len() < head_limit {
                // Any complete line may already be too long or bad: check what is there.
                if let Some(line_end) = bytes.iter().position(|&b| b == b'\n') {
                    if line_end > limits.max_line {
                        return Err(Error::new(
                            ErrorKind::LineTooLong {
                                limit: limits.max_line,
                            },
                            start,
                        ));
                    }
                } else if bytes.len() > limits.max_line {
                    return Err(Error::new(
                        ErrorKind::LineTooLong {
                            limit: limits.max_line,
                        },
                        start,
                    ));
                }
                return Ok(None);
            }
            return Err(Error::new(ErrorKind::HeadNotTerminated, input.len()));
        };
        let head_bytes = bytes.get(..head_len).unwrap_or_default();
        let head = std::str::from_utf8(head_bytes)
            .map_err(|e| Error::new(ErrorKind::NotUtf8, start + e.valid_up_to()))?;
        let (start_line, headers) = parse_head(head, start, limits, line_ends.known())?;

        let body_start = start + head_len + sep_len;
        let available = input.len() - body_start;
        let declared = content_length(&headers)?;
        let body_len = match (declared, framing) {
            (Some((n, _)), _) if n > limits.max_body => {
                return Err(Error::new(
                    ErrorKind::BodyTooLarge {
                        declared: n,
                        limit: limits.max_body,
                    },
                    declared.map_or(0, |d| d.1),
                ));
            }
            (Some((n, _)), Framing::Stream) if n > available => return Ok(None),
            (Some((n, at)), Framing::Datagram) if n > available => {
                let _ = at;
                return Err(Error::new(
                    ErrorKind::BodyTruncated {
                        declared: n,
                        available,
                    },
                    body_start,
                ));
            }
            (Some((n, _)), _) => n,
            (None, Framing::Stream) => return Err(Error::new(ErrorKind::MissingContentLength, start)),
            (None, Framing::Datagram) if available > limits.max_body => {
                return Err(Error::new(
                    ErrorKind::BodyTooLarge {
                        declared: available,
                        limit: limits.max_body,
                    },
                    body_start,
                ));
            }
            (None, Framing::Datagram) => available,
        };
        let body = input.get(body_start..body_start + body_len).unwrap_or_default();
        Ok(Some(Message {
            start: start_line,
            headers,
            body,
            len: body_start + body_len,
        }))
    }

    /// The start line.
    pub fn start_line(&self) -> &StartLine<'a> {
        &self.start
    }

    /// The method of a request.
    pub fn method(&self) -> Option<&Method> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// The Request-URI of a request.
    pub fn request_uri(&self) -> Option<&Uri<'a>> {
        match &self.start {
            StartLine::Request { uri, .. } => Some(uri),
            StartLine::Response { .. } => None,
        }
    }

    /// The status code of a response.
    pub fn status(&self) -> Option<u16> {
        match &self.start {
            StartLine::Response { code, .. } => Some(*code),
            StartLine::Request { .. } => None,
        }
    }

    /// The reason phrase of a response.
    pub fn reason(&self) -> Option<&'a str> {
        match &self.start {
            StartLine::Response { reason, .. } => Some(reason),
            StartLine::Request { .. } => None,
        }
    }

    /// Whether this is a request.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// Every header line in order.
    pub fn headers(&self) -> &[Header<'a>] {
        &self.headers
    }

    /// The header lines of one known kind, in order.
    pub fn headers_of(&self, kind: HeaderName) -> impl Iterator<Item = &Header<'a>> {
        self.headers.iter().filter(move |h| h.kind == kind)
    }

    /// The first header line with this name (long or compact form, any case).
    pub fn header(&self, name: &str) -> Option<&Header<'a>> {
        self.headers.iter().find(|h| h.is(name))
    }

    /// The body.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// Bytes the message occupied in the input, leading keep-alive CRLFs included.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never true: a parsed message has at least a start line.
    pub fn is_empty(&self) -> bool {
        false
    }

    fn single(&self, kind: HeaderName) -> Option<&Header<'a>> {
        self.headers_of(kind).next()
    }

    /// All Via entries, top first, across header lines and comma lists.
    pub fn via(&self) -> Result<Vec<Via<'a>>, Error> {
        let mut out: Option<Vec<Via<'a>>> = None;
        for h in self.headers_of(HeaderName::Via) {
            let entries = parse_via(h.value).map_err(|e| header_error(h, HeaderName::Via, e))?;
            match &mut out {
                None => out = Some(entries),
                Some(v) => v.extend(entries),
            }
        }
        Ok(out.unwrap_or_default())
    }

    fn name_addr(&self, kind: HeaderName) -> Result<NameAddr<'a>, Error> {
        let h = self
            .single(kind)
            .ok_or_else(|| Error::new(ErrorKind::MissingHeader(kind.as_str()), self.len))?;
        parse_name_addr(h.value).map_err(|e| header_error(h, kind, e))
    }

    /// The From header.
    pub fn from(&self) -> Result<NameAddr<'a>, Error> {
        self.name_addr(HeaderName::From)
    }

    /// The To header.
    pub fn to(&self) -> Result<NameAddr<'a>, Error> {
        self.name_addr(HeaderName::To)
    }

    /// All Contact entries; empty for `Contact: *` or no Contact.
    pub fn contacts(&self) -> Result<Vec<NameAddr<'a>>, Error> {
        self.name_addr_list(HeaderName::Contact)
    }

    /// All entries of a list-valued name-addr header (Contact, Route, Record-Route).
    pub fn name_addr_list(&self, kind: HeaderName) -> Result<Vec<NameAddr<'a>>, Error> {
        let mut out = Vec::new();
        for h in self.headers_of(kind) {
            out.extend(parse_name_addr_list(h.value).map_err(|e| header_error(h, kind, e))?);
        }
        Ok(out)
    }

    /// The Call-ID.
    pub fn call_id(&self) -> Result<&'a str, Error> {
        let h = self
            .single(HeaderName::CallId)
            .ok_or_else(|| Error::new(ErrorKind::MissingHeader("Call-ID"), self.len))?;
        parse_call_id(h.value).map_err(|e| header_error(h, HeaderName::CallId, e))
    }

    /// The CSeq.
    pub fn cseq(&self) -> Result<CSeq, Error> {
        let h = self
            .single(HeaderName::CSeq)
            .ok_or_else(|| Error::new(ErrorKind::MissingHeader("CSeq"), self.len))?;
        parse_cseq(h.value).map_err(|(at, expected)| {
            let kind = if expected.contains("2**31") {
                ErrorKind::OutOfRange {
                    header: "CSeq",
                    expected,
                }
            } else {
                ErrorKind::Header {
                    header: "CSeq",
                    expected,
                }
            };
            Error::new(kind, h.value_offset + at)
        })
    }

    fn number(&self, kind: HeaderName, max: u64, expected: &'static str) -> Result<Option<u64>, Error> {
        let Some(h) = self.single(kind) else {
            return Ok(None);
        };
        parse_number(h.value, max, expected).map(Some).map_err(|(at, e)| {
            Error::new(
                ErrorKind::OutOfRange {
                    header: kind.as_str(),
                    expected: e,
                },
                h.value_offset + at,
            )
        })
    }

    /// Max-Forwards (0 to 255), if present.
    pub fn max_forwards(&self) -> Result<Option<u8>, Error> {
        Ok(self
            .number(HeaderName::MaxForwards, 255, "a number from 0 to 255")?
            .and_then(|n| u8::try_from(n).ok()))
    }

    /// Expires in seconds (0 to 2**32-1), if present.
    pub fn expires(&self) -> Result<Option<u32>, Error> {
        Ok(self
            .number(
                HeaderName::Expires,
                u32::MAX.into(),
                "a number of seconds below 2**32",
            )?
            .and_then(|n| u32::try_from(n).ok()))
    }

    /// The `expires` parameters of every Contact entry, in order (`None` where an entry has
    /// none); each must be `delta-seconds` below 2**32 (RFC 3261 §20.10, §25.1).
    pub fn contact_expires(&self) -> Result<Vec<Option<u32>>, Error> {
        let mut out = Vec::new();
        for h in self.headers_of(HeaderName::Contact) {
            let entries =
                parse_name_addr_list(h.value).map_err(|e| header_error(h, HeaderName::Contact, e))?;
            for c in entries {
                let Some(p) = c.params.iter().find(|p| p.name.eq_ignore_ascii_case("expires")) else {
                    out.push(None);
                    continue;
                };
                let text = p.value.unwrap_or_default();
                let at = h.value_offset + crate::grammar::offset_in(h.value, text);
                let n = parse_number(text, u32::MAX.into(), "an expires of seconds below 2**32")
                    .ok()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| {
                        Error::new(
                            ErrorKind::OutOfRange {
                                header: "Contact",
                                expected: "an expires parameter of seconds below 2**32",
                            },
                            at,
                        )
                    })?;
                out.push(Some(n));
            }
        }
        Ok(out)
    }

    /// The Content-Type (RFC 3261 §20.15 `media-type`), if present. An empty value is an
    /// error: the header names the body's type or is absent.
    pub fn content_type(&self) -> Result<Option<MediaType<'a>>, Error> {
        let Some(h) = self.single(HeaderName::ContentType) else {
            return Ok(None);
        };
        parse_media_type(h.value)
            .map(Some)
            .map_err(|e| header_error(h, HeaderName::ContentType, e))
    }

    /// Content-Length as the framing read it, if present.
    pub fn content_length(&self) -> Option<usize> {
        content_length(&self.headers).ok().flatten().map(|(n, _)| n)
    }

    /// All option tags of a token-list header (Require, Proxy-Require, Supported,
    /// Unsupported, Allow), across header lines.
    pub fn tokens(&self, kind: HeaderName) -> Result<Vec<&'a str>, Error> {
        let mut out = Vec::new();
        for h in self.headers_of(kind) {
            out.extend(parse_tokens(h.value).map_err(|e| header_error(h, kind, e))?);
        }
        Ok(out)
    }

    /// The RFC 3329 mechanisms of Security-Client, -Server or -Verify, merged across header
    /// lines and comma lists, in order.
    pub fn security_mechanisms(&self, kind: HeaderName) -> Result<Vec<SecurityMechanism>, Error> {
        let mut out = Vec::new();
        for h in self.headers_of(kind) {
            out.extend(
                parse_security_mechanisms(h.value)
                    .map_err(|e| Error::new(e.kind, h.value_offset + e.offset))?,
            );
        }
        Ok(out)
    }

    /// Checks what RFC 3261 requires of any message a UA accepts: version 2.0, the mandatory
    /// headers once each (To, From, CSeq, Call-ID, Via; Max-Forwards at most once), their
    /// grammar and ranges, a CSeq method equal to the request method, no `?headers` in the
    /// Request-URI, a GMT Date, well-formed Contact, token lists and Security-* headers.
    /// The first problem is returned.
    pub fn validate(&self) -> Result<(), Error> {
        let version = match &self.start {
            StartLine::Request { version, .. } | StartLine::Response { version, .. } => *version,
        };
        if version != Version::SIP_2_0 {
            return Err(Error::new(ErrorKind::UnsupportedVersion, 0));
        }
        if let StartLine::Request { uri, .. } = &self.start {
            if uri.sip().is_some_and(|s| s.headers.is_some()) {
                return Err(Error::new(ErrorKind::RequestUriHeaders, uri_offset(self)));
            }
        }
        for kind in [
            HeaderName::To,
            HeaderName::From,
            HeaderName::CSeq,
            HeaderName::CallId,
            HeaderName::MaxForwards,
        ] {
            if let Some(second) = self.headers_of(kind).nth(1) {
                return Err(Error::new(
                    ErrorKind::DuplicateHeader(kind.as_str()),
                    second.offset,
                ));
            }
        }
        for kind in [
            HeaderName::To,
            HeaderName::From,
            HeaderName::CSeq,
            HeaderName::CallId,
            HeaderName::Via,
        ] {
            if self.single(kind).is_none() {
                return Err(Error::new(ErrorKind::MissingHeader(kind.as_str()), self.len));
            }
        }
        self.via()?;
        self.from()?;
        self.to()?;
        self.call_id()?;
        let cseq = self.cseq()?;
        if let Some(m) = self.method() {
            if *m != cseq.method {
                let at = self.single(HeaderName::CSeq).map_or(0, |h| h.value_offset);
                return Err(Error::new(ErrorKind::CSeqMethodMismatch, at));
            }
        }
        self.max_forwards()?;
        self.contacts()?;
        for kind in [
            HeaderName::Require,
            HeaderName::ProxyRequire,
            HeaderName::Supported,
            HeaderName::Unsupported,
        ] {
            self.tokens(kind)?;
        }
        for kind in [
            HeaderName::SecurityClient,
            HeaderName::SecurityServer,
            HeaderName::SecurityVerify,
        ] {
            self.security_mechanisms(kind)?;
        }
        if let Some(h) = self.single(HeaderName::Date) {
            parse_date(h.value).map_err(|e| header_error(h, HeaderName::Date, e))?;
        }
        self.expires()?;
        self.contact_expires()?;
        self.content_type()?;
        Ok(())
    }
}

fn uri_offset(m: &Message<'_>) -> usize {
    match &m.start {
        StartLine::Request { method, .. } => method.as_str().len() + 1,
        StartLine::Response { .. } => 0,
    }
}

/// The offsets of the first line ends (`\n`) of a head, recorded by [`find_head_end`] so that
/// splitting the head into lines does not search for them a second time.
struct LineEnds {
    ends: [u32; LineEnds::CAPACITY],
    len: usize,
}

impl LineEnds {
    /// Enough for the start line and 31 header lines; lines after those are searched again.
    const CAPACITY: usize = 32;

    fn new() -> LineEnds {
        LineEnds {
            ends: [0; LineEnds::CAPACITY],
            len: 0,
        }
    }

    /// Records the next line end, if there is room and it fits in a `u32`.
    fn push(&mut self, nl: usize) {
        if let (Some(slot), Ok(nl)) = (self.ends.get_mut(self.len), u32::try_from(nl)) {
            *slot = nl;
            self.len += 1;
        }
    }

    /// The line ends recorded, in order: a prefix of all of them.
    fn known(&self) -> &[u32] {
        self.ends.get(..self.len).unwrap_or_default()
    }
}

/// The header section's end: its length and the length of the blank-line separator. The line
/// ends before it go into `line_ends` (as many as fit).
fn find_head_end(bytes: &[u8], limit: usize, line_ends: &mut LineEnds) -> Option<(usize, usize)> {
    let window = bytes.get(..bytes.len().min(limit.saturating_add(4)))?;
    // `\n\r\n` or `\n\n` ends the head.
    for nl in memchr::memchr_iter(b'\n', window) {
        // Once the table is full, later pushes are ignored: what it holds stays a prefix.
        if line_ends.len < LineEnds::CAPACITY {
            line_ends.push(nl);
        }
        match (window.get(nl + 1), window.get(nl + 2)) {
            (Some(b'\n'), _) => return Some((nl + 1, 1)),
            (Some(b'\r'), Some(b'\n')) => return Some((nl + 1, 2)),
            _ => {}
        }
    }
    None
}

/// Splits `head` (the message up to and including the last header line's line end) into the
/// start line and header lines. `base` is the head's offset in the input; `line_ends` the
/// first line ends of `head` (a prefix of them, possibly empty).
fn parse_head<'a>(
    head: &'a str,
    base: usize,
    limits: &Limits,
    line_ends: &[u32],
) -> Result<(StartLine<'a>, Vec<Header<'a>>), Error> {
    let bytes = head.as_bytes();
    // Lengths and control characters come first (a later line's bad byte is reported before an
    // earlier line's grammar). Most heads have no control character but CR and LF, no CR
    // outside a CRLF, and fit in one line's limit: two branch-free counts say so, and the
    // line-by-line check only runs when they do not, or when the grammar below fails.
    let is_ctl = |b: u8| (b < 0x20 && b != b'\t' && b != b'\r' && b != b'\n') || b == 0x7f;
    // Per 32-byte chunk with byte-wide counters, which the compiler turns into vector code.
    let (mut any_ctl, mut crs) = (false, 0usize);
    for chunk in bytes.chunks(32) {
        let (mut ctl, mut cr) = (0u8, 0u8);
        for &b in chunk {
            ctl |= u8::from(is_ctl(b));
            cr += u8::from(b == b'\r');
        }
        any_ctl |= ctl != 0;
        crs += usize::from(cr);
    }
    if any_ctl || head.len() > limits.max_line {
        check_lines(head, base, limits)?;
    }
    match split_head(head, base, limits, line_ends) {
        Ok((start, headers, crlfs)) => {
            if crlfs != crs {
                check_lines(head, base, limits)?;
            }
            Ok((start, headers))
        }
        Err(e) => {
            check_lines(head, base, limits)?;
            Err(e)
        }
    }
}

/// Every line no longer than the limit and without a control character outside a quoted pair.
fn check_lines(head: &str, base: usize, limits: &Limits) -> Result<(), Error> {
    for (pos, line) in Lines::new(head) {
        if line.len() > limits.max_line {
            return Err(Error::new(
                ErrorKind::LineTooLong {
                    limit: limits.max_line,
                },
                base + pos,
            ));
        }
        if let Some((k, byte)) = bare_control(line) {
            return Err(Error::new(ErrorKind::ControlCharacter { byte }, base + pos + k));
        }
    }
    Ok(())
}

/// The start line and the headers; also how many lines ended in CRLF.
#[allow(clippy::type_complexity)]
fn split_head<'a>(
    head: &'a str,
    base: usize,
    limits: &Limits,
    line_ends: &[u32],
) -> Result<(StartLine<'a>, Vec<Header<'a>>, usize), Error> {
    // Pass 2: the start line, then `name: value` lines and their folds.
    let mut lines = Lines::with_known_ends(head, line_ends);
    let Some((_, first)) = lines.next() else {
        return Err(Error::new(ErrorKind::Empty, base));
    };
    let start = start_line(first, base)?;
    let mut headers: Vec<Header<'a>> = Vec::with_capacity(16);
    let mut folded = false;
    for (pos, line) in lines.by_ref() {
        if line.starts_with(is_wsp) {
            // A fold: the previous header's value runs on to the end of this line.
            let Some(prev) = headers.last_mut() else {
                return Err(Error::new(
                    ErrorKind::HeaderLine {
                        expected: "a header name (a continuation line cannot come first)",
                    },
                    base + pos,
                ));
            };
            folded = true;
            if !line.trim().is_empty() {
                let value_start = prev.value_offset - base;
                let end = pos + line.trim_end_matches(is_wsp).len();
                prev.value = head.get(value_start..end).unwrap_or(prev.value);
            }
            continue;
        }
        if headers.len() >= limits.max_headers {
            return Err(Error::new(
                ErrorKind::TooManyHeaders {
                    limit: limits.max_headers,
                },
                base + pos,
            ));
        }
        let lb = line.as_bytes();
        let name_len = lb.iter().position(|&b| !is_token_byte(b)).unwrap_or(lb.len());
        if name_len == 0 {
            return Err(Error::new(
                ErrorKind::HeaderLine {
                    expected: "a header name",
                },
                base + pos,
            ));
        }
        let name = line.get(..name_len).unwrap_or_default();
        // `name: value` without white space before the colon is the common case.
        let after_colon = match lb.get(name_len) {
            Some(b':') => line.get(name_len + 1..).unwrap_or_default(),
            _ => {
                let after_name = line.get(name_len..).unwrap_or_default();
                let trimmed = after_name.trim_start_matches(is_wsp);
                let Some(after_colon) = trimmed.strip_prefix(':') else {
                    return Err(Error::new(
                        ErrorKind::HeaderLine {
                            expected: "`:` after the header name",
                        },
                        base + pos + line.len() - trimmed.len(),
                    ));
                };
                after_colon
            }
        };
        let value = after_colon.trim_start_matches(is_wsp);
        let value_pos = pos + line.len() - value.len();
        let value = value.trim_end_matches(is_wsp);
        headers.push(Header {
            name,
            kind: HeaderName::from_wire_in(name, head.as_bytes().get(pos..).unwrap_or_default()),
            value,
            offset: base + pos,
            value_offset: base + value_pos,
        });
    }
    // A value that begins on a continuation line (`To :CRLF sip:...`) starts after the fold.
    if folded {
        for h in &mut headers {
            let lead = crate::grammar::sws(h.value);
            h.value_offset += h.value.len() - lead.len();
            h.value = lead;
        }
    }
    Ok((start, headers, lines.crlfs))
}

/// The lines of a head (each ending in LF, an optional CR before it removed), with their
/// offsets: the line ends already known first, then found with `memchr`.
struct Lines<'a, 'k> {
    head: &'a str,
    pos: usize,
    /// Lines so far that ended in CRLF.
    crlfs: usize,
    /// The first line ends of `head`, in order, not yet used.
    known: &'k [u32],
}

impl<'a, 'k> Lines<'a, 'k> {
    fn new(head: &'a str) -> Lines<'a, 'k> {
        Lines::with_known_ends(head, &[])
    }

    /// `known`: the offsets of the first line ends of `head` (a prefix of them, in order).
    fn with_known_ends(head: &'a str, known: &'k [u32]) -> Lines<'a, 'k> {
        Lines {
            head,
            pos: 0,
            crlfs: 0,
            known,
        }
    }
}

impl<'a> Iterator for Lines<'a, '_> {
    type Item = (usize, &'a str);

    fn next(&mut self) -> Option<(usize, &'a str)> {
        let rest = self.head.get(self.pos..)?;
        if rest.is_empty() {
            return None;
        }
        let start = self.pos;
        let nl = match self.known.split_first() {
            Some((&end, more)) => {
                self.known = more;
                usize::try_from(end)
                    .ok()
                    .and_then(|end| end.checked_sub(start))
                    .filter(|&nl| rest.as_bytes().get(nl) == Some(&b'\n'))
                    .or_else(|| memchr::memchr(b'\n', rest.as_bytes()))
            }
            None => memchr::memchr(b'\n', rest.as_bytes()),
        };
        let (line, advance) = match nl {
            Some(nl) => (rest.get(..nl).unwrap_or_default(), nl + 1),
            None => (rest, rest.len()),
        };
        self.pos += advance;
        match line.strip_suffix('\r') {
            Some(l) => {
                self.crlfs += 1;
                Some((start, l))
            }
            None => Some((start, line)),
        }
    }
}

/// The first control character (other than HTAB) of a line that is not a `quoted-pair`
/// inside a quoted string (RFC 3261 §25.1: `quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)`
/// is the only place a control character may appear; RFC 4475 §3.1.1.2 has `"BEL:\<07>"`).
fn bare_control(line: &str) -> Option<(usize, u8)> {
    let is_ctl = |b: u8| (b < 0x20 && b != b'\t') || b == 0x7f;
    let bytes = line.as_bytes();
    // Fast path: no control character at all.
    if !bytes.iter().any(|&b| is_ctl(b)) {
        return None;
    }
    let (mut quoted, mut escaped) = (false, false);
    for (k, &b) in bytes.iter().enumerate() {
        if escaped {
            escaped = false;
            if b == b'\r' || b == b'\n' {
                return Some((k, b));
            }
            continue;
        }
        match b {
            b'"' => quoted = !quoted,
            b'\\' if quoted => escaped = true,
            _ if is_ctl(b) => return Some((k, b)),
            _ => {}
        }
    }
    None
}

fn version(text: &str) -> Option<Version> {
    let rest = text.strip_prefix("SIP/")?;
    let (major, minor) = rest.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(major) || !digits(minor) {
        return None;
    }
    Some(Version {
        major: major.parse().ok()?,
        minor: minor.parse().ok()?,
    })
}

fn start_line(line: &str, base: usize) -> Result<StartLine<'_>, Error> {
    let err = |at: usize, expected| Error::new(ErrorKind::StartLine { expected }, base + at);
    if line.starts_with("SIP/") {
        let (v, rest) = line.split_once(' ').unwrap_or((line, ""));
        let version = version(v).ok_or_else(|| err(0, "`SIP/` DIGIT `.` DIGIT"))?;
        let code_text = rest.get(..3).unwrap_or(rest);
        let code_ok = code_text.len() == 3 && code_text.bytes().all(|b| b.is_ascii_digit());
        let after = rest.get(3..).unwrap_or_default();
        if !code_ok || !(after.is_empty() || after.starts_with(' ')) {
            return Err(err(v.len() + 1, "a three-digit status code"));
        }
        let code: u16 = code_text.parse().map_err(|_| err(v.len() + 1, "a status code"))?;
        if !(100..=699).contains(&code) {
            return Err(err(v.len() + 1, "a status code from 100 to 699"));
        }
        let reason = after.strip_prefix(' ').unwrap_or(after);
        if let Some(k) = reason.find(|c: char| c.is_control() && c != '\t') {
            return Err(err(line.len() - reason.len() + k, "reason phrase text"));
        }
        return Ok(StartLine::Response {
            version,
            code,
            reason,
        });
    }
    let name_len = line.find(|c| !is_token_char(c)).unwrap_or(line.len());
    if name_len == 0 {
        return Err(err(0, "a method or `SIP/2.0`"));
    }
    let method = line.get(..name_len).unwrap_or_default();
    let rest = line.get(name_len..).unwrap_or_default();
    let Some(rest) = rest.strip_prefix(' ') else {
        return Err(err(name_len, "one space after the method"));
    };
    let uri_at = name_len + 1;
    let (rest, parsed) = match uri(rest, UriContext::Full) {
        Ok(ok) => ok,
        Err(nom::Err::Error(f) | nom::Err::Failure(f)) => {
            return Err(err(
                line.len() - f.rest.len(),
                if f.expected.is_empty() {
                    "a Request-URI"
                } else {
                    f.expected
                },
            ));
        }
        Err(nom::Err::Incomplete(_)) => return Err(err(uri_at, "a Request-URI")),
    };
    let Some(v) = rest.strip_prefix(' ') else {
        return Err(err(line.len() - rest.len(), "one space after the Request-URI"));
    };
    let version = version(v).ok_or_else(|| err(line.len() - v.len(), "`SIP/2.0` ending the request line"))?;
    Ok(StartLine::Request {
        method: Method::from(method),
        uri: parsed,
        version,
    })
}

/// The Content-Length (value, offset of the header) if any; conflicting values are an error.
fn content_length(headers: &[Header<'_>]) -> Result<Option<(usize, usize)>, Error> {
    let mut found: Option<(usize, usize)> = None;
    for h in headers.iter().filter(|h| h.kind == HeaderName::ContentLength) {
        let text = h.value.trim_matches(|c: char| c.is_ascii_whitespace());
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::new(
                ErrorKind::ContentLength {
                    reason: "not a non-negative decimal number",
                },
                h.value_offset,
            ));
        }
        let n = text
            .parse::<usize>()
            .map_err(|_| Error::new(ErrorKind::ContentLength { reason: "too large" }, h.value_offset))?;
        match found {
            Some((m, _)) if m != n => {
                return Err(Error::new(
                    ErrorKind::ContentLength {
                        reason: "two Content-Length headers disagree",
                    },
                    h.offset,
                ));
            }
            Some(_) => {}
            None => found = Some((n, h.offset)),
        }
    }
    Ok(found)
}
