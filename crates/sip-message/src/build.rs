//! Building messages: an owned request or response with headers in order, written out with a
//! correct Content-Length.

use crate::header::HeaderName;
use crate::message::Message;
use crate::method::Method;

/// Header lines in order, as (name, value).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    /// Appends a header line.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }

    /// Every line, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Whether a header with this name (long or compact, any case) is present.
    pub fn contains(&self, name: &str) -> bool {
        self.iter().any(|(n, _)| same_name(n, name))
    }

    /// The values of every line with this name.
    pub fn get_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.iter()
            .filter(move |(n, _)| same_name(n, name))
            .map(|(_, v)| v)
    }

    /// Removes every line with this name; returns how many went.
    pub fn remove(&mut self, name: &str) -> usize {
        let before = self.0.len();
        self.0.retain(|(n, _)| !same_name(n, name));
        before - self.0.len()
    }

    /// Adds an option tag to a token-list header (`Require`, `Proxy-Require`, `Supported`):
    /// appended to the first existing line (`Require: 100rel, mediasec`), never a second line;
    /// nothing happens when the tag is already listed.
    pub fn add_option_tag(&mut self, name: &str, tag: &str) {
        let present = self
            .get_all(name)
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(tag));
        if present {
            return;
        }
        match self.0.iter_mut().find(|(n, _)| same_name(n, name)) {
            Some((_, v)) if v.trim().is_empty() => *v = tag.to_owned(),
            Some((_, v)) => {
                v.push_str(", ");
                v.push_str(tag);
            }
            None => self.push(name, tag),
        }
    }
}

fn same_name(a: &str, b: &str) -> bool {
    match (HeaderName::from_wire(a), HeaderName::from_wire(b)) {
        (HeaderName::Other, HeaderName::Other) => a.eq_ignore_ascii_case(b),
        (x, y) => x == y,
    }
}

fn write_common(out: &mut Vec<u8>, headers: &Headers, body: &[u8]) {
    for (n, v) in headers.iter() {
        if same_name(n, "Content-Length") {
            continue;
        }
        out.extend_from_slice(n.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
}

/// A request being built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The Request-URI.
    pub uri: String,
    /// Header lines (Content-Length is written from the body).
    pub headers: Headers,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// A request with no headers yet.
    pub fn new(method: Method, uri: impl Into<String>) -> Request {
        Request {
            method,
            uri: uri.into(),
            headers: Headers::default(),
            body: Vec::new(),
        }
    }

    /// Adds a header line (builder style).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Request {
        self.headers.push(name, value);
        self
    }

    /// The bytes on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.body.len());
        out.extend_from_slice(format!("{} {} SIP/2.0\r\n", self.method, self.uri).as_bytes());
        write_common(&mut out, &self.headers, &self.body);
        out
    }
}

/// A response being built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// 100 to 699.
    pub code: u16,
    /// Reason phrase.
    pub reason: String,
    /// Header lines (Content-Length is written from the body).
    pub headers: Headers,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// A response to `request` (RFC 3261 §8.2.6.2): its Via lines, From, To (with `to_tag`
    /// added when the To has no tag yet), Call-ID and CSeq, copied as written.
    pub fn to(request: &Message<'_>, code: u16, reason: &str, to_tag: Option<&str>) -> Response {
        let mut headers = Headers::default();
        for h in request.headers() {
            match h.kind() {
                HeaderName::Via | HeaderName::From | HeaderName::CallId | HeaderName::CSeq => {
                    headers.push(h.kind().as_str(), h.value().into_owned());
                }
                HeaderName::To => {
                    let mut v = h.value().into_owned();
                    let has_tag = request.to().ok().and_then(|t| t.tag().map(|_| ())).is_some();
                    if let (Some(tag), false) = (to_tag, has_tag) {
                        v.push_str(";tag=");
                        v.push_str(tag);
                    }
                    headers.push("To", v);
                }
                _ => {}
            }
        }
        Response {
            code,
            reason: reason.to_owned(),
            headers,
            body: Vec::new(),
        }
    }

    /// Adds a header line (builder style).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Response {
        self.headers.push(name, value);
        self
    }

    /// The bytes on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.body.len());
        out.extend_from_slice(format!("SIP/2.0 {} {}\r\n", self.code, self.reason).as_bytes());
        write_common(&mut out, &self.headers, &self.body);
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn option_tag_appends_to_existing_line() {
        let mut h = Headers::default();
        h.push("Require", "100rel");
        h.add_option_tag("Require", "mediasec");
        h.add_option_tag("Require", "mediasec");
        assert_eq!(h.get_all("Require").collect::<Vec<_>>(), ["100rel, mediasec"]);
        h.add_option_tag("Proxy-Require", "mediasec");
        assert_eq!(h.get_all("proxy-require").collect::<Vec<_>>(), ["mediasec"]);
    }

    #[test]
    fn round_trip() {
        let req = Request::new(Method::Register, "sip:example.com")
            .header("Via", "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1")
            .header("To", "<sip:a@example.com>")
            .header("From", "<sip:a@example.com>;tag=1")
            .header("Call-ID", "x")
            .header("CSeq", "1 REGISTER")
            .header("Max-Forwards", "70");
        let bytes = req.to_bytes();
        let m = Message::parse(&bytes).unwrap();
        m.validate().unwrap();
        let resp = Response::to(&m, 200, "OK", Some("t1")).to_bytes();
        let r = Message::parse(&resp).unwrap();
        r.validate().unwrap();
        assert_eq!(r.to().unwrap().tag(), Some("t1"));
    }
}
