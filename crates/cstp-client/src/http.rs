//! The little HTTP/1.1 the VPN speaks before the tunnel: requests the client writes and the
//! server's responses, with bounded header and body sizes.

use thiserror::Error;

use crate::Limits;

/// An HTTP response from the VPN server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// Header fields in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body (`Content-Length` bytes).
    pub body: Vec<u8>,
}

impl Response {
    /// The first header field with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header field with this name (case-insensitive), in order.
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The value of cookie `name` among the `Set-Cookie` fields (the last one wins).
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.headers_named("Set-Cookie")
            .filter_map(|c| {
                let pair = c.split(';').next()?.trim();
                let (n, v) = pair.split_once('=')?;
                (n.trim() == name).then_some(v.trim())
            })
            .last()
    }

    /// Whether the server will close the connection after this response.
    pub fn closes(&self) -> bool {
        self.header("Connection")
            .is_some_and(|c| c.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")))
    }
}

/// What was wrong with an HTTP response; offsets count from the start of the response.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HttpError {
    /// The header section is longer than the bound.
    #[error("HTTP response header section exceeds {max} bytes")]
    HeadersTooLong {
        /// The bound.
        max: usize,
    },
    /// More header fields than the bound.
    #[error("HTTP response has more than {max} header fields")]
    TooManyHeaders {
        /// The bound.
        max: usize,
    },
    /// The status line is not `HTTP/1.x NNN reason`.
    #[error("HTTP status line `{line}` is not `HTTP/1.x CODE REASON`")]
    BadStatusLine {
        /// The line (lossy UTF-8, cut to 80 characters).
        line: String,
    },
    /// A header line without a colon or with bytes that are not text.
    #[error("HTTP header line at byte {offset} is malformed: `{line}`")]
    BadHeader {
        /// Where the line starts.
        offset: usize,
        /// The line (lossy UTF-8, cut to 80 characters).
        line: String,
    },
    /// `Content-Length` is not a number or exceeds the bound.
    #[error("HTTP Content-Length `{value}` is not a number up to {max}")]
    BadContentLength {
        /// The value.
        value: String,
        /// The bound.
        max: usize,
    },
    /// Chunked transfer coding, which VPN servers do not use on these responses.
    #[error("HTTP response uses Transfer-Encoding `{value}`, which this client does not read")]
    UnsupportedTransferEncoding {
        /// The value.
        value: String,
    },
}

fn cut(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).chars().take(80).collect()
}

/// Parses one response from the start of `buf`: `Ok(None)` when incomplete, else the response
/// and the number of bytes it used. With `no_body` (a `200` answer to CONNECT), what follows
/// the header section is not the response's.
pub fn parse_response(
    buf: &[u8],
    limits: &Limits,
    no_body: bool,
) -> Result<Option<(Response, usize)>, HttpError> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        if buf.len() > limits.max_http_header {
            return Err(HttpError::HeadersTooLong {
                max: limits.max_http_header,
            });
        }
        return Ok(None);
    };
    if end > limits.max_http_header {
        return Err(HttpError::HeadersTooLong {
            max: limits.max_http_header,
        });
    }
    let head = buf.get(..end).unwrap_or_default();
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let status_line = lines.next().unwrap_or_default();
    let bad_status = || HttpError::BadStatusLine {
        line: cut(status_line),
    };
    let text = std::str::from_utf8(status_line).map_err(|_| bad_status())?;
    let mut parts = text.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(bad_status());
    }
    let status = parts
        .next()
        .filter(|c| c.len() == 3)
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(bad_status)?;
    let reason = parts.next().unwrap_or_default().trim().to_owned();
    let mut headers = Vec::new();
    let mut offset = status_line.len() + 2;
    for line in lines {
        let bad = || HttpError::BadHeader {
            offset,
            line: cut(line),
        };
        let text = std::str::from_utf8(line).map_err(|_| bad())?;
        let (name, value) = text.split_once(':').ok_or_else(bad)?;
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(bad());
        }
        if headers.len() == limits.max_http_headers {
            return Err(HttpError::TooManyHeaders {
                max: limits.max_http_headers,
            });
        }
        headers.push((name.to_owned(), value.trim().to_owned()));
        offset += line.len() + 2;
    }
    let mut response = Response {
        status,
        reason,
        headers,
        body: Vec::new(),
    };
    let body_start = end + 4;
    if no_body {
        return Ok(Some((response, body_start)));
    }
    if let Some(te) = response.header("Transfer-Encoding") {
        if !te.eq_ignore_ascii_case("identity") {
            return Err(HttpError::UnsupportedTransferEncoding { value: te.to_owned() });
        }
    }
    let len = match response.header("Content-Length") {
        None => 0,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|&n| n <= limits.max_http_body)
            .ok_or_else(|| HttpError::BadContentLength {
                value: v.to_owned(),
                max: limits.max_http_body,
            })?,
    };
    let Some(body) = buf.get(body_start..body_start + len) else {
        return Ok(None);
    };
    response.body = body.to_vec();
    Ok(Some((response, body_start + len)))
}

/// An HTTP/1.1 request: the request line, `Host`, the given fields, `Content-Length` when there
/// is a body, the body.
pub(crate) fn request(method: &str, path: &str, host: &str, fields: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n").as_bytes());
    for (name, value) in fields {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if method != "CONNECT" {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ocserv_complete_response_with_cookies() -> Result<(), HttpError> {
        let wire = b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 4\r\n\
Set-Cookie: webvpncontext=abc=; Secure; HttpOnly\r\nSet-Cookie: webvpn=Q0s=; Secure; HttpOnly\r\n\
Set-Cookie: webvpnc=; expires=Thu, 01 Jan 1970 22:00:00 GMT; path=/\r\n\r\nbodyNEXT";
        let (r, used) =
            parse_response(wire, &Limits::default(), false)?.ok_or(HttpError::TooManyHeaders { max: 0 })?;
        assert_eq!(
            (r.status, r.reason.as_str(), r.body.as_slice()),
            (200, "OK", &b"body"[..])
        );
        assert_eq!(r.set_cookie("webvpn"), Some("Q0s="));
        assert_eq!(r.set_cookie("webvpncontext"), Some("abc="));
        assert!(!r.closes());
        assert_eq!(wire.get(used..), Some(&b"NEXT"[..]));
        Ok(())
    }

    #[test]
    fn incomplete_then_bounded() {
        let l = Limits::default();
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", &l, false),
            Ok(None)
        );
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n", &l, false),
            Err(HttpError::BadContentLength {
                value: "99999999".into(),
                max: l.max_http_body
            })
        );
        assert!(matches!(
            parse_response(b"SSH-2.0-OpenSSH\r\n\r\n", &l, false),
            Err(HttpError::BadStatusLine { .. })
        ));
        assert!(matches!(
            parse_response(b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", &l, false),
            Err(HttpError::BadHeader { offset: 17, .. })
        ));
    }
}
