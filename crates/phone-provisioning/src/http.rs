//! The head of an HTTP/1.x response as a provisioning fetch reads it (RFC 9112 §4, §5): the
//! answer of the provisioning server, of an HTTP proxy to an absolute-form request, or of a
//! proxy to `CONNECT` (RFC 9110 §9.3.6). The status line and the header fields, each field
//! kept in order (a `Proxy-Authenticate` may come several times), bounded by [`MAX_HEAD`].
//! Obsolete line folding (RFC 9112 §5.2) is refused, as the RFC allows.

use thiserror::Error;

/// The largest response head read (status line and fields, up to the empty line): a peer
/// that sends more is refused rather than buffered without end.
pub const MAX_HEAD: usize = 16 * 1024;

/// Why a response head is not one.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HeadError {
    /// No empty line within [`MAX_HEAD`] bytes.
    #[error("the HTTP response head is larger than {MAX_HEAD} bytes")]
    TooLarge,
    /// The data ended before the empty line that closes the head.
    #[error("the HTTP response ended inside its head ({0} bytes, no empty line)")]
    Truncated(usize),
    /// The first line is not `HTTP/1.x NNN reason`.
    #[error("not an HTTP/1.x status line: `{0}`")]
    StatusLine(String),
    /// A field line without `name:` or with a bad name, 1-based line number.
    #[error("HTTP response header line {line}: {why}")]
    Field {
        /// The line number in the head (the status line is 1).
        line: usize,
        /// What is wrong.
        why: &'static str,
    },
}

/// A parsed response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// `1.0` or `1.1` as the minor version digit.
    pub minor_version: u8,
    /// The status code (100..=999).
    pub status: u16,
    /// The reason phrase (may be empty).
    pub reason: String,
    fields: Vec<(String, String)>,
    /// Bytes of the head, empty line included: the body starts here.
    pub len: usize,
}

impl ResponseHead {
    /// Parses the head at the start of `bytes`: `Ok(None)` when the empty line has not come yet
    /// (and `bytes` is under [`MAX_HEAD`]), so a reader can call it as bytes arrive.
    ///
    /// ```
    /// use phone_provisioning::ResponseHead;
    /// let raw = b"HTTP/1.1 407 Proxy Authentication Required\r\n\
    ///     Proxy-Authenticate: Basic realm=\"squid\"\r\n\
    ///     Proxy-Authenticate: Digest realm=\"squid\", nonce=\"abc\"\r\n\r\nbody";
    /// let head = ResponseHead::parse(raw)?.expect("complete");
    /// assert_eq!(head.status, 407);
    /// assert_eq!(head.fields("proxy-authenticate").count(), 2);
    /// assert_eq!(&raw[head.len..], b"body");
    /// assert_eq!(ResponseHead::parse(b"HTTP/1.1 200 OK\r\n")?, None);
    /// # Ok::<(), phone_provisioning::HeadError>(())
    /// ```
    pub fn parse(bytes: &[u8]) -> Result<Option<ResponseHead>, HeadError> {
        let window = bytes.get(..bytes.len().min(MAX_HEAD)).unwrap_or(bytes);
        let Some(end) = window.windows(4).position(|w| w == b"\r\n\r\n") else {
            return if bytes.len() >= MAX_HEAD {
                Err(HeadError::TooLarge)
            } else {
                Ok(None)
            };
        };
        let head = window.get(..end).unwrap_or_default();
        let mut lines = head
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        let status_line = String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned();
        let (minor_version, status, reason) =
            parse_status_line(&status_line).ok_or_else(|| HeadError::StatusLine(truncate(&status_line)))?;
        let mut fields = Vec::new();
        for (i, line) in lines.enumerate() {
            let line_no = i + 2;
            if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
                return Err(HeadError::Field {
                    line: line_no,
                    why: "obsolete line folding",
                });
            }
            let colon = line.iter().position(|&b| b == b':').ok_or(HeadError::Field {
                line: line_no,
                why: "no `:` after the field name",
            })?;
            let (name, value) = line.split_at(colon);
            if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
                return Err(HeadError::Field {
                    line: line_no,
                    why: "the field name is not a token",
                });
            }
            let value = String::from_utf8_lossy(value.get(1..).unwrap_or_default());
            fields.push((
                String::from_utf8_lossy(name).into_owned(),
                value.trim_matches([' ', '\t']).to_owned(),
            ));
        }
        Ok(Some(ResponseHead {
            minor_version,
            status,
            reason,
            fields,
            len: end + 4,
        }))
    }

    /// Like [`ResponseHead::parse`] for a response that is complete (the peer closed): a
    /// missing empty line is [`HeadError::Truncated`].
    pub fn parse_complete(bytes: &[u8]) -> Result<ResponseHead, HeadError> {
        Self::parse(bytes)?.ok_or(HeadError::Truncated(bytes.len()))
    }

    /// The first value of field `name` (case-insensitive).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of field `name`, in order.
    pub fn fields<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `Content-Length`, when present and a number.
    pub fn content_length(&self) -> Option<usize> {
        self.field("content-length").and_then(|v| v.parse().ok())
    }
}

fn parse_status_line(line: &str) -> Option<(u8, u16, String)> {
    let rest = line.strip_prefix("HTTP/1.")?;
    let mut chars = rest.chars();
    let minor = chars.next()?.to_digit(10)?;
    let rest = chars.as_str().strip_prefix(' ')?;
    let code = rest.get(..3)?;
    if !code.bytes().all(|b| b.is_ascii_digit()) || code.starts_with('0') {
        return None;
    }
    let status: u16 = code.parse().ok()?;
    let reason = match rest.get(3..)? {
        "" => "",
        r => r.strip_prefix(' ')?,
    };
    Some((u8::try_from(minor).ok()?, status, reason.to_owned()))
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_established_as_squid_answers() {
        let head = ResponseHead::parse(b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03")
            .unwrap()
            .unwrap();
        assert_eq!(
            (head.status, head.reason.as_str(), head.len),
            (200, "Connection established", 39)
        );
    }

    #[test]
    fn fields_keep_order_and_case_insensitive_names() {
        let head = ResponseHead::parse_complete(
            b"HTTP/1.0 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"a\"\r\nwww-authenticate:Digest realm=\"b\"  \r\nContent-Length: 12\r\n\r\n",
        )
        .unwrap();
        let all: Vec<&str> = head.fields("WWW-Authenticate").collect();
        assert_eq!(all, ["Basic realm=\"a\"", "Digest realm=\"b\""]);
        assert_eq!((head.minor_version, head.content_length()), (0, Some(12)));
    }

    #[test]
    fn bad_heads_are_typed_errors() {
        assert_eq!(
            ResponseHead::parse(b"SSH-2.0-OpenSSH\r\n\r\n"),
            Err(HeadError::StatusLine("SSH-2.0-OpenSSH".into()))
        );
        assert_eq!(
            ResponseHead::parse(b"HTTP/1.1 20 OK\r\n\r\n"),
            Err(HeadError::StatusLine("HTTP/1.1 20 OK".into()))
        );
        assert_eq!(
            ResponseHead::parse(b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n"),
            Err(HeadError::Field {
                line: 2,
                why: "no `:` after the field name"
            })
        );
        assert_eq!(
            ResponseHead::parse(b"HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n"),
            Err(HeadError::Field {
                line: 3,
                why: "obsolete line folding"
            })
        );
        assert_eq!(
            ResponseHead::parse_complete(b"HTTP/1.1 200 OK\r\n"),
            Err(HeadError::Truncated(17))
        );
        let huge = vec![b'a'; MAX_HEAD + 1];
        assert_eq!(ResponseHead::parse(&huge), Err(HeadError::TooLarge));
    }
}
