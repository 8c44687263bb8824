//! The BER subset LDAP uses (RFC 4511 §5.1): definite lengths, single-byte tags, and only the
//! messages this crate sends and reads: BindRequest/BindResponse (§4.2) and
//! ExtendedRequest/ExtendedResponse (§4.12), wrapped in LDAPMessage (§4.1.1).

use crate::Error;

/// The largest LDAPMessage this crate reads: bind and StartTLS responses are a few hundred
/// bytes; a DIGEST-MD5 challenge is at most 2048 (RFC 2831 §2.1.1).
pub const MAX_MESSAGE_LEN: usize = 16 * 1024;

const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const ENUMERATED: u8 = 0x0a;
const SEQUENCE: u8 = 0x30;
const BIND_REQUEST: u8 = 0x60; // [APPLICATION 0] constructed
const BIND_RESPONSE: u8 = 0x61; // [APPLICATION 1] constructed
const EXTENDED_REQUEST: u8 = 0x77; // [APPLICATION 23] constructed
const EXTENDED_RESPONSE: u8 = 0x78; // [APPLICATION 24] constructed
const SASL_CREDENTIALS: u8 = 0xa3; // [3] constructed
const SIMPLE: u8 = 0x80; // [0] primitive
const REFERRAL: u8 = 0xa3; // [3] constructed, inside LDAPResult
const SERVER_SASL_CREDS: u8 = 0x87; // [7] primitive
const REQUEST_NAME: u8 = 0x80; // [0] primitive
const RESPONSE_NAME: u8 = 0x8a; // [10] primitive
const RESPONSE_VALUE: u8 = 0x8b; // [11] primitive
const CONTROLS: u8 = 0xa0; // [0] constructed

/// The StartTLS extended operation's OID (RFC 4511 §4.14.1).
pub const START_TLS_OID: &str = "1.3.6.1.4.1.1466.20037";
/// The Notice of Disconnection's OID (RFC 4511 §4.4.1).
pub const NOTICE_OF_DISCONNECTION_OID: &str = "1.3.6.1.4.1.1466.20036";

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let significant = bytes.get(skip..).unwrap_or_default();
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    push_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

fn integer(n: i32) -> Vec<u8> {
    let mut bytes: &[u8] = &n.to_be_bytes();
    // Minimal two's complement: drop leading bytes that only repeat the sign.
    while let [b, next, ..] = bytes {
        if (*b == 0 && next & 0x80 == 0) || (*b == 0xff && next & 0x80 != 0) {
            bytes = bytes.get(1..).unwrap_or_default();
        } else {
            break;
        }
    }
    tlv(INTEGER, bytes)
}

fn message(id: i32, op: Vec<u8>) -> Vec<u8> {
    let mut content = integer(id);
    content.extend(op);
    tlv(SEQUENCE, &content)
}

/// A SASL BindRequest: `name` (usually empty for SASL), `mechanism`, and `credentials` when
/// this step carries any.
pub fn sasl_bind_request(id: i32, name: &str, mechanism: &str, credentials: Option<&[u8]>) -> Vec<u8> {
    let mut sasl = tlv(OCTET_STRING, mechanism.as_bytes());
    if let Some(c) = credentials {
        sasl.extend(tlv(OCTET_STRING, c));
    }
    let mut bind = integer(3);
    bind.extend(tlv(OCTET_STRING, name.as_bytes()));
    bind.extend(tlv(SASL_CREDENTIALS, &sasl));
    message(id, tlv(BIND_REQUEST, &bind))
}

/// A simple BindRequest (for tests and completeness; the password travels as it is).
pub fn simple_bind_request(id: i32, name: &str, password: &[u8]) -> Vec<u8> {
    let mut bind = integer(3);
    bind.extend(tlv(OCTET_STRING, name.as_bytes()));
    bind.extend(tlv(SIMPLE, password));
    message(id, tlv(BIND_REQUEST, &bind))
}

/// The StartTLS ExtendedRequest (RFC 4511 §4.14.1).
pub fn start_tls_request(id: i32) -> Vec<u8> {
    message(
        id,
        tlv(EXTENDED_REQUEST, &tlv(REQUEST_NAME, START_TLS_OID.as_bytes())),
    )
}

/// How many bytes the first LDAPMessage in `buf` takes: `Ok(None)` when more bytes are
/// needed, an error when the bytes cannot start an LDAPMessage or it would be larger than
/// [`MAX_MESSAGE_LEN`].
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, Error> {
    message_len(buf, MAX_MESSAGE_LEN)
}

/// The deepest nesting of constructed elements [`check_depth`] lets through for a client
/// such as ldap3, whose BER reader recurses once per level. LDAP's own messages nest about 6
/// deep (LDAPMessage → SearchResultEntry → attributes → PartialAttribute → vals, plus
/// controls); a filter echoed in a control a few more.
pub const MAX_DEPTH: usize = 32;

/// How many bytes the first LDAPMessage in `buf` takes, for any message up to `max_len`
/// bytes (search results, not only bind and StartTLS): `Ok(None)` when more bytes are needed.
pub fn message_len(buf: &[u8], max_len: usize) -> Result<Option<usize>, Error> {
    let Some(&tag) = buf.first() else {
        return Ok(None);
    };
    if tag != SEQUENCE {
        return Err(Error::Ber {
            offset: 0,
            what: "an LDAPMessage starts with a SEQUENCE (0x30)",
        });
    }
    let Some(header) = length(buf, 1)? else {
        return Ok(None);
    };
    let (len, content_start) = header;
    let total = content_start.saturating_add(len);
    if total > max_len {
        return Err(Error::TooLong { len: total });
    }
    Ok((buf.len() >= total).then_some(total))
}

/// The definite length at `at`: (length, offset of the content), `None` when `buf` ends
/// first.
fn length(buf: &[u8], at: usize) -> Result<Option<(usize, usize)>, Error> {
    let Some(&first) = buf.get(at) else {
        return Ok(None);
    };
    if first < 0x80 {
        return Ok(Some((usize::from(first), at + 1)));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 4 {
        return Err(Error::Ber {
            offset: at,
            what: "LDAP allows only definite lengths of at most 4 bytes",
        });
    }
    let Some(bytes) = buf.get(at + 1..at + 1 + n) else {
        return Ok(None);
    };
    let len = bytes.iter().fold(0usize, |a, b| (a << 8) | usize::from(*b));
    Ok(Some((len, at + 1 + n)))
}

/// Walks every element of one whole LDAPMessage without recursion and refuses it when
/// constructed elements nest deeper than `max_depth`, or an element does not fit in the one
/// around it, before a recursive BER reader (ldap3's) sees it: such a message from a hostile
/// server would otherwise overflow the reader's stack and abort the process.
pub fn check_depth(msg: &[u8], max_depth: usize) -> Result<(), Error> {
    // The end offsets of the constructed elements around `pos`, innermost last.
    let mut ends: Vec<usize> = Vec::new();
    let mut pos = 0;
    while pos < msg.len() {
        while ends.last().is_some_and(|&end| pos >= end) {
            ends.pop();
        }
        let start = pos;
        let truncated = Error::Ber {
            offset: start,
            what: "an element that fits in the message",
        };
        let &tag = msg.get(pos).ok_or(truncated.clone())?;
        pos += 1;
        if tag & 0x1f == 0x1f {
            // A tag number in the following bytes (LDAP uses none, ldap3 reads them).
            while msg.get(pos).ok_or(truncated.clone())? & 0x80 != 0 {
                pos += 1;
            }
            pos += 1;
        }
        let (len, content) = length(msg, pos)?.ok_or(truncated.clone())?;
        let end = content.checked_add(len).ok_or(truncated.clone())?;
        let limit = ends.last().copied().unwrap_or(msg.len());
        if end > limit {
            return Err(truncated);
        }
        if tag & 0x20 != 0 {
            ends.push(end);
            if ends.len() > max_depth {
                return Err(Error::TooDeep {
                    offset: start,
                    max: max_depth,
                });
            }
            pos = content;
        } else {
            pos = end;
        }
    }
    Ok(())
}

/// A reader over one TLV level.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Offset of `buf` in the whole message, for error positions.
    base: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], base: usize) -> Self {
        Reader { buf, pos: 0, base }
    }

    fn at(&self) -> usize {
        self.base + self.pos
    }

    fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn peek_tag(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    /// The next TLV: (tag, content, content's offset in the message).
    fn next(&mut self) -> Result<(u8, &'a [u8], usize), Error> {
        let start = self.at();
        let truncated = Error::Ber {
            offset: start,
            what: "truncated element",
        };
        let tag = *self.buf.get(self.pos).ok_or(truncated.clone())?;
        if tag & 0x1f == 0x1f {
            return Err(Error::Ber {
                offset: start,
                what: "multi-byte tags are not used by LDAP",
            });
        }
        let first = *self.buf.get(self.pos + 1).ok_or(truncated.clone())?;
        let (len, header) = if first < 0x80 {
            (usize::from(first), 2)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 {
                return Err(Error::Ber {
                    offset: start + 1,
                    what: "LDAP allows only definite lengths of at most 4 bytes",
                });
            }
            let bytes = self
                .buf
                .get(self.pos + 2..self.pos + 2 + n)
                .ok_or(truncated.clone())?;
            (
                bytes.iter().fold(0usize, |a, b| (a << 8) | usize::from(*b)),
                2 + n,
            )
        };
        let content_start = self.pos + header;
        let content = content_start
            .checked_add(len)
            .and_then(|end| self.buf.get(content_start..end))
            .ok_or(truncated)?;
        self.pos = content_start + len;
        Ok((tag, content, self.base + content_start))
    }

    fn expect(&mut self, tag: u8, what: &'static str) -> Result<(&'a [u8], usize), Error> {
        let start = self.at();
        let (t, content, at) = self.next()?;
        if t != tag {
            return Err(Error::Ber { offset: start, what });
        }
        Ok((content, at))
    }
}

fn read_int(content: &[u8], offset: usize) -> Result<i64, Error> {
    if content.is_empty() || content.len() > 4 {
        return Err(Error::Ber {
            offset,
            what: "an INTEGER/ENUMERATED of 1 to 4 bytes",
        });
    }
    let negative = content.first().is_some_and(|b| b & 0x80 != 0);
    let init: i64 = if negative { -1 } else { 0 };
    Ok(content.iter().fold(init, |a, b| (a << 8) | i64::from(*b)))
}

fn text(content: &[u8]) -> String {
    String::from_utf8_lossy(content).into_owned()
}

/// An LDAPResult (RFC 4511 §4.1.9) with the extra fields of a bind or extended response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The message ID it answers (0: unsolicited notification).
    pub message_id: i32,
    /// Which operation it is.
    pub kind: ResponseKind,
    /// resultCode.
    pub result_code: u32,
    /// matchedDN.
    pub matched_dn: String,
    /// diagnosticMessage.
    pub diagnostic_message: String,
    /// serverSaslCreds of a BindResponse.
    pub server_sasl_creds: Option<Vec<u8>>,
    /// responseName of an ExtendedResponse.
    pub response_name: Option<String>,
}

/// The operation a [`Response`] belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseKind {
    /// BindResponse.
    Bind,
    /// ExtendedResponse.
    Extended,
}

/// Parses one whole LDAPMessage holding a BindResponse or an ExtendedResponse. Bytes after
/// the message are an error: frame with [`frame_len`] first.
pub fn parse_response(msg: &[u8]) -> Result<Response, Error> {
    if msg.len() > MAX_MESSAGE_LEN {
        return Err(Error::TooLong { len: msg.len() });
    }
    let mut outer = Reader::new(msg, 0);
    let (content, at) = outer.expect(SEQUENCE, "an LDAPMessage SEQUENCE")?;
    if !outer.is_empty() {
        return Err(Error::Ber {
            offset: outer.at(),
            what: "bytes after the LDAPMessage",
        });
    }
    let mut m = Reader::new(content, at);
    let (id, id_at) = m.expect(INTEGER, "the messageID INTEGER")?;
    let message_id = read_int(id, id_at)?;
    let message_id = i32::try_from(message_id)
        .ok()
        .filter(|n| *n >= 0)
        .ok_or(Error::Ber {
            offset: id_at,
            what: "a messageID from 0 to 2^31-1",
        })?;
    let op_at = m.at();
    let (tag, op, op_content_at) = m.next()?;
    let kind = match tag {
        BIND_RESPONSE => ResponseKind::Bind,
        EXTENDED_RESPONSE => ResponseKind::Extended,
        _ => {
            return Err(Error::Ber {
                offset: op_at,
                what: "a BindResponse (0x61) or ExtendedResponse (0x78)",
            });
        }
    };
    if let Some(t) = m.peek_tag() {
        if t != CONTROLS {
            return Err(Error::Ber {
                offset: m.at(),
                what: "only controls may follow the protocolOp",
            });
        }
        m.next()?; // response controls: none are used here
    }
    if !m.is_empty() {
        return Err(Error::Ber {
            offset: m.at(),
            what: "bytes after the controls",
        });
    }
    let mut r = Reader::new(op, op_content_at);
    let (code, code_at) = r.expect(ENUMERATED, "the resultCode ENUMERATED")?;
    let result_code = u32::try_from(read_int(code, code_at)?).map_err(|_| Error::Ber {
        offset: code_at,
        what: "a non-negative resultCode",
    })?;
    let (matched, _) = r.expect(OCTET_STRING, "the matchedDN OCTET STRING")?;
    let (diag, _) = r.expect(OCTET_STRING, "the diagnosticMessage OCTET STRING")?;
    let mut response = Response {
        message_id,
        kind,
        result_code,
        matched_dn: text(matched),
        diagnostic_message: text(diag),
        server_sasl_creds: None,
        response_name: None,
    };
    while !r.is_empty() {
        let at = r.at();
        let (t, content, _) = r.next()?;
        match (kind, t) {
            (_, REFERRAL) => {} // not followed: the result code says what happened
            (ResponseKind::Bind, SERVER_SASL_CREDS) if response.server_sasl_creds.is_none() => {
                response.server_sasl_creds = Some(content.to_vec());
            }
            (ResponseKind::Extended, RESPONSE_NAME) if response.response_name.is_none() => {
                response.response_name = Some(text(content));
            }
            (ResponseKind::Extended, RESPONSE_VALUE) => {}
            _ => {
                return Err(Error::Ber {
                    offset: at,
                    what: "an element this response does not have",
                });
            }
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_tls_request_bytes() {
        // RFC 4511 §4.14.1 with messageID 1, as OpenLDAP's ldapsearch -ZZ sends it.
        let mut expected = vec![0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16];
        expected.extend_from_slice(START_TLS_OID.as_bytes());
        assert_eq!(start_tls_request(1), expected);
    }

    #[test]
    fn sasl_bind_request_bytes() {
        let b = sasl_bind_request(1, "", "DIGEST-MD5", None);
        let mut expected = vec![
            0x30, 0x18, 0x02, 0x01, 0x01, 0x60, 0x13, 0x02, 0x01, 0x03, 0x04, 0x00,
        ];
        expected.extend_from_slice(&[0xa3, 0x0c, 0x04, 0x0a]);
        expected.extend_from_slice(b"DIGEST-MD5");
        assert_eq!(b, expected);
        let long = sasl_bind_request(300, "", "DIGEST-MD5", Some(&[b'x'; 200]));
        assert_eq!(frame_len(&long), Ok(Some(long.len())));
        assert_eq!(long[1], 0x81, "a long form length");
    }

    #[test]
    fn integers_are_minimal() {
        assert_eq!(integer(0), [2, 1, 0]);
        assert_eq!(integer(127), [2, 1, 127]);
        assert_eq!(integer(128), [2, 2, 0, 128]);
        assert_eq!(integer(256), [2, 2, 1, 0]);
        assert_eq!(integer(-1), [2, 1, 0xff]);
        assert_eq!(integer(i32::MAX), [2, 4, 0x7f, 0xff, 0xff, 0xff]);
    }

    fn bind_response(id: u8, rc: u8, diag: &str, creds: Option<&[u8]>) -> Vec<u8> {
        let mut op = vec![ENUMERATED, 1, rc, OCTET_STRING, 0];
        op.extend(tlv(OCTET_STRING, diag.as_bytes()));
        if let Some(c) = creds {
            op.extend(tlv(SERVER_SASL_CREDS, c));
        }
        let mut m = vec![INTEGER, 1, id];
        m.extend(tlv(BIND_RESPONSE, &op));
        tlv(SEQUENCE, &m)
    }

    #[test]
    fn bind_responses() {
        let msg = bind_response(1, 14, "", Some(b"nonce=\"x\""));
        assert_eq!(frame_len(&msg), Ok(Some(msg.len())));
        assert_eq!(frame_len(&msg[..msg.len() - 1]), Ok(None));
        let r = parse_response(&msg).unwrap();
        assert_eq!((r.message_id, r.kind, r.result_code), (1, ResponseKind::Bind, 14));
        assert_eq!(r.server_sasl_creds.as_deref(), Some(&b"nonce=\"x\""[..]));
        let r = parse_response(&bind_response(2, 49, "bad", None)).unwrap();
        assert_eq!((r.result_code, r.diagnostic_message.as_str()), (49, "bad"));
    }

    #[test]
    fn an_extended_response_refusing_start_tls() {
        // slapd without TLS: protocolError "unsupported extended operation".
        let mut op = vec![ENUMERATED, 1, 2, OCTET_STRING, 0];
        op.extend(tlv(OCTET_STRING, b"unsupported extended operation"));
        let mut m = vec![INTEGER, 1, 1];
        m.extend(tlv(EXTENDED_RESPONSE, &op));
        let r = parse_response(&tlv(SEQUENCE, &m)).unwrap();
        assert_eq!((r.kind, r.result_code), (ResponseKind::Extended, 2));
        assert_eq!(r.diagnostic_message, "unsupported extended operation");
    }

    /// `depth` SEQUENCEs, each holding the next, the innermost holding an INTEGER. Built
    /// back to front, so that deep ones take linear time.
    fn nested(depth: usize) -> Vec<u8> {
        let mut rev = vec![0x05, 0x01, 0x02];
        for _ in 0..depth {
            let mut header = vec![0x30];
            push_len(&mut header, rev.len());
            rev.extend(header.iter().rev());
        }
        rev.reverse();
        rev
    }

    #[test]
    fn depth_is_checked_without_recursion() {
        assert_eq!(check_depth(&nested(MAX_DEPTH), MAX_DEPTH), Ok(()));
        assert_eq!(
            check_depth(&nested(MAX_DEPTH + 1), MAX_DEPTH),
            Err(Error::TooDeep {
                offset: 2 * MAX_DEPTH,
                max: MAX_DEPTH
            })
        );
        // 100,000 levels (400 kB) in a thread with 64 KiB of stack.
        let deep = nested(100_000);
        let r = std::thread::Builder::new()
            .stack_size(64 << 10)
            .spawn(move || check_depth(&deep, MAX_DEPTH))
            .map(|t| t.join());
        assert!(
            matches!(r, Ok(Ok(Err(Error::TooDeep { max: MAX_DEPTH, .. })))),
            "{r:?}"
        );
        // Real messages pass: a bind response and a sequence of siblings.
        let reply = bind_response(1, 0, "", Some(b"rspauth=0"));
        assert_eq!(check_depth(&reply, 6), Ok(()));
        let mut siblings = vec![0x30, 0x82, 0x13, 0x88];
        for _ in 0..1000 {
            siblings.extend_from_slice(&[0x30, 0x03, 0x02, 0x01, 0x05]);
        }
        assert_eq!(check_depth(&siblings, 2), Ok(()));
    }

    #[test]
    fn elements_must_fit_their_parent() {
        // A SEQUENCE of 3 whose INTEGER claims 5.
        let bad = [0x30, 0x03, 0x02, 0x05, 0x01];
        assert!(matches!(check_depth(&bad, 8), Err(Error::Ber { offset: 2, .. })));
        assert!(matches!(
            check_depth(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff], 8),
            Err(Error::Ber { .. })
        ));
        assert!(matches!(
            check_depth(&[0x30, 0x80, 0x00, 0x00], 8),
            Err(Error::Ber { offset: 1, .. })
        ));
        assert!(matches!(check_depth(&[0x3f], 8), Err(Error::Ber { .. })));
        assert_eq!(check_depth(&[0x3f, 0x81, 0x01, 0x00], 8), Ok(()));
    }

    #[test]
    fn message_len_takes_search_sized_messages() {
        let mut big = vec![0x30, 0x83, 0x01, 0x00, 0x00];
        big.resize(5 + 0x10000, 0);
        assert_eq!(message_len(&big, 1 << 20), Ok(Some(big.len())));
        assert_eq!(message_len(&big[..100], 1 << 20), Ok(None));
        assert_eq!(message_len(&big, 1000), Err(Error::TooLong { len: big.len() }));
        assert_eq!(message_len(&[0x30], 1000), Ok(None));
        assert!(message_len(&[0x04, 0x00], 1000).is_err());
    }

    #[test]
    fn bad_input_is_an_error_with_a_position() {
        assert!(matches!(
            frame_len(b"\x31\x00"),
            Err(Error::Ber { offset: 0, .. })
        ));
        assert!(matches!(
            frame_len(b"\x30\x85\x00"),
            Err(Error::Ber { offset: 1, .. })
        ));
        assert!(matches!(
            frame_len(b"\x30\x84\x7f\xff\xff\xff"),
            Err(Error::TooLong { .. })
        ));
        let mut msg = bind_response(1, 0, "", None);
        msg[5] = 0x65; // a SearchResultDone
        assert!(matches!(parse_response(&msg), Err(Error::Ber { offset: 5, .. })));
        let msg = bind_response(1, 0, "", None);
        for cut in 0..msg.len() {
            assert!(parse_response(&msg[..cut]).is_err(), "{cut}");
        }
    }
}
