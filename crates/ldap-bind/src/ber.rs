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
    let Some(&tag) = buf.first() else {
        return Ok(None);
    };
    if tag != SEQUENCE {
        return Err(Error::Ber {
            offset: 0,
            what: "an LDAPMessage starts with a SEQUENCE (0x30)",
        });
    }
    let Some(&first) = buf.get(1) else {
        return Ok(None);
    };
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return Err(Error::Ber {
                offset: 1,
                what: "LDAP allows only definite lengths of at most 4 bytes",
            });
        }
        let Some(bytes) = buf.get(2..2 + n) else {
            return Ok(None);
        };
        (
            bytes.iter().fold(0usize, |a, b| (a << 8) | usize::from(*b)),
            2 + n,
        )
    };
    let total = header + len;
    if total > MAX_MESSAGE_LEN {
        return Err(Error::TooLong { len: total });
    }
    Ok((buf.len() >= total).then_some(total))
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
