//! The PAC result string (`"PROXY a:3128; SOCKS5 b; DIRECT"`) parsed as Chromium's
//! `ProxyList::SetFromPacString` does, with a diagnostic for every entry it drops.

use std::fmt;
use std::net::Ipv6Addr;
use std::ops::Range;

/// How a proxy is spoken to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProxyScheme {
    /// `PROXY host:port` (and Firefox's `HTTP`): a plain HTTP proxy, default port 80.
    Http,
    /// `HTTPS host:port`: an HTTP proxy reached over TLS, default port 443.
    Https,
    /// `SOCKS` and `SOCKS4`: SOCKS version 4, default port 1080. `SOCKS` means version 4 "for
    /// compatibility", as in Chromium and Firefox.
    Socks4,
    /// `SOCKS5`: SOCKS version 5, default port 1080.
    Socks5,
}

impl ProxyScheme {
    /// The port used when the entry names none.
    pub fn default_port(self) -> u16 {
        match self {
            ProxyScheme::Http => 80,
            ProxyScheme::Https => 443,
            ProxyScheme::Socks4 | ProxyScheme::Socks5 => 1080,
        }
    }

    /// The keyword that writes this scheme in a PAC result.
    pub fn pac_keyword(self) -> &'static str {
        match self {
            ProxyScheme::Http => "PROXY",
            ProxyScheme::Https => "HTTPS",
            ProxyScheme::Socks4 => "SOCKS4",
            ProxyScheme::Socks5 => "SOCKS5",
        }
    }

    /// The URL scheme of this kind of proxy (`http`, `https`, `socks4`, `socks5`).
    pub fn url_scheme(self) -> &'static str {
        match self {
            ProxyScheme::Http => "http",
            ProxyScheme::Https => "https",
            ProxyScheme::Socks4 => "socks4",
            ProxyScheme::Socks5 => "socks5",
        }
    }
}

/// One proxy server: scheme, host (lower-case name or IP literal, IPv6 without brackets) and
/// port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProxyServer {
    scheme: ProxyScheme,
    host: String,
    port: u16,
}

impl ProxyServer {
    /// A proxy server from its parts. The host is checked and lower-cased as in a PAC result.
    pub fn new(scheme: ProxyScheme, host: &str, port: u16) -> Result<Self, ResultError> {
        let host = canonical_host(host)?;
        Ok(ProxyServer { scheme, host, port })
    }

    /// How the proxy is spoken to.
    pub fn scheme(&self) -> ProxyScheme {
        self.scheme
    }

    /// Host name or IP literal (IPv6 without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `host:port`, with brackets around an IPv6 literal.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The proxy as a URL, `http://host:port`, for HTTP clients that take one.
    pub fn to_url(&self) -> String {
        format!("{}://{}", self.scheme.url_scheme(), self.authority())
    }
}

impl fmt::Display for ProxyServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.scheme.pac_keyword(), self.authority())
    }
}

/// One way to reach a URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProxyEntry {
    /// Connect to the origin itself.
    Direct,
    /// Go through this proxy.
    Proxy(ProxyServer),
}

impl fmt::Display for ProxyEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyEntry::Direct => f.write_str("DIRECT"),
            ProxyEntry::Proxy(p) => p.fmt(f),
        }
    }
}

/// Why an entry of a PAC result was dropped, or why the whole result became `DIRECT`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResultError {
    /// The keyword is none of PROXY, HTTP, HTTPS, SOCKS, SOCKS4, SOCKS5, DIRECT.
    #[error("unknown proxy type `{0}` (expected PROXY, HTTPS, SOCKS, SOCKS4, SOCKS5 or DIRECT)")]
    UnknownType(String),
    /// `DIRECT` followed by a host.
    #[error("DIRECT takes no host")]
    DirectWithHost,
    /// A proxy type without `host[:port]`.
    #[error("missing host after the proxy type")]
    MissingHost,
    /// The host part carries `user@`: Chromium refuses credentials in a PAC result.
    #[error("credentials are not allowed in a PAC result")]
    Userinfo,
    /// `host:` or a port that is not a number in 0..=65535.
    #[error("invalid port `{0}`")]
    InvalidPort(String),
    /// A host that is neither a name nor an IP literal (IPv6 needs brackets).
    #[error("invalid host `{0}`")]
    InvalidHost(String),
    /// Text after `host:port`.
    #[error("unexpected text after the host")]
    TrailingText,
    /// Nothing valid in the whole result: the list falls back to `DIRECT`, as in Chromium.
    #[error("no valid entry: DIRECT is used")]
    Empty,
}

/// An entry dropped from a PAC result: what was wrong and where (byte range in the result).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultDiagnostic {
    /// Byte range of the entry in the result string.
    pub span: Range<usize>,
    /// What was wrong.
    pub error: ResultError,
}

impl fmt::Display for ResultDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bytes {}..{}: {}", self.span.start, self.span.end, self.error)
    }
}

/// The ordered ways to reach a URL, and what was dropped on the way.
///
/// Never empty: a result with no valid entry is `[DIRECT]` with a [`ResultError::Empty`]
/// diagnostic (Chromium falls back to DIRECT silently; this crate says so).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyList {
    entries: Vec<ProxyEntry>,
    diagnostics: Vec<ResultDiagnostic>,
}

impl ProxyList {
    /// A list of the given entries (`[DIRECT]` when empty), without diagnostics.
    pub fn from_entries(entries: Vec<ProxyEntry>) -> Self {
        if entries.is_empty() {
            return ProxyList::direct();
        }
        ProxyList {
            entries,
            diagnostics: Vec::new(),
        }
    }

    /// `[DIRECT]`.
    pub fn direct() -> Self {
        ProxyList {
            entries: vec![ProxyEntry::Direct],
            diagnostics: Vec::new(),
        }
    }

    /// Parses a `FindProxyForURL` result. Never fails: bad entries become diagnostics.
    ///
    /// ```
    /// use proxy_pac::{ProxyEntry, ProxyList, ProxyScheme};
    /// let list = ProxyList::parse_pac_result("PROXY a.example:3128; BOGUS x; SOCKS b; DIRECT");
    /// assert_eq!(list.entries().len(), 3);
    /// let ProxyEntry::Proxy(b) = &list.entries()[1] else { panic!() };
    /// assert_eq!((b.scheme(), b.host(), b.port()), (ProxyScheme::Socks4, "b", 1080));
    /// assert_eq!(list.diagnostics()[0].error.to_string(),
    ///            "unknown proxy type `BOGUS` (expected PROXY, HTTPS, SOCKS, SOCKS4, SOCKS5 or DIRECT)");
    /// ```
    pub fn parse_pac_result(result: &str) -> Self {
        let mut entries = Vec::new();
        let mut diagnostics = Vec::new();
        let mut start = 0;
        for element in result.split(';') {
            let element_start = start;
            start += element.len() + 1;
            let trimmed = trim_lws(element);
            if trimmed.is_empty() {
                continue;
            }
            let lead = element.len() - element.trim_start_matches(is_lws).len();
            let span = element_start + lead..element_start + lead + trimmed.len();
            match parse_element(trimmed) {
                Ok(entry) => entries.push(entry),
                Err(error) => {
                    tracing::debug!(entry = trimmed, %error, "PAC result entry dropped");
                    diagnostics.push(ResultDiagnostic { span, error });
                }
            }
        }
        if entries.is_empty() {
            entries.push(ProxyEntry::Direct);
            diagnostics.push(ResultDiagnostic {
                span: 0..result.len(),
                error: ResultError::Empty,
            });
        }
        ProxyList { entries, diagnostics }
    }

    /// The entries, in the order to try them.
    pub fn entries(&self) -> &[ProxyEntry] {
        &self.entries
    }

    /// Entries dropped while parsing, in order.
    pub fn diagnostics(&self) -> &[ResultDiagnostic] {
        &self.diagnostics
    }

    /// The list in PAC syntax, `PROXY a:80; DIRECT`.
    pub fn to_pac_string(&self) -> String {
        self.entries
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl fmt::Display for ProxyList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_pac_string())
    }
}

/// HTTP's linear white space as Chromium's `HttpUtil::IsLWS`: space and tab.
fn is_lws(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn trim_lws(s: &str) -> &str {
    s.trim_matches(is_lws)
}

fn parse_element(element: &str) -> Result<ProxyEntry, ResultError> {
    let (kind, rest) = match element.find(is_lws) {
        Some(i) => element.split_at(i),
        None => (element, ""),
    };
    let rest = trim_lws(rest);
    let scheme = if kind.eq_ignore_ascii_case("DIRECT") {
        return if rest.is_empty() {
            Ok(ProxyEntry::Direct)
        } else {
            Err(ResultError::DirectWithHost)
        };
    } else if kind.eq_ignore_ascii_case("PROXY") || kind.eq_ignore_ascii_case("HTTP") {
        ProxyScheme::Http
    } else if kind.eq_ignore_ascii_case("HTTPS") {
        ProxyScheme::Https
    } else if kind.eq_ignore_ascii_case("SOCKS") || kind.eq_ignore_ascii_case("SOCKS4") {
        ProxyScheme::Socks4
    } else if kind.eq_ignore_ascii_case("SOCKS5") {
        ProxyScheme::Socks5
    } else {
        return Err(ResultError::UnknownType(kind.chars().take(64).collect()));
    };
    if rest.is_empty() {
        return Err(ResultError::MissingHost);
    }
    if rest.contains(is_lws) {
        return Err(ResultError::TrailingText);
    }
    if rest.contains('@') {
        return Err(ResultError::Userinfo);
    }
    let (host, port) = split_host_port(rest)?;
    let port = match port {
        None => scheme.default_port(),
        Some(p) => parse_port(p)?,
    };
    Ok(ProxyEntry::Proxy(ProxyServer {
        scheme,
        host: canonical_host(host)?,
        port,
    }))
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`.
fn split_host_port(s: &str) -> Result<(&str, Option<&str>), ResultError> {
    if let Some(after) = s.strip_prefix('[') {
        let Some(close) = after.find(']') else {
            return Err(ResultError::InvalidHost(short(s)));
        };
        let (v6, tail) = after.split_at(close);
        let tail = tail.get(1..).unwrap_or_default();
        if v6.parse::<Ipv6Addr>().is_err() {
            return Err(ResultError::InvalidHost(short(s)));
        }
        return match tail {
            "" => Ok((v6, None)),
            t => match t.strip_prefix(':') {
                Some(p) => Ok((v6, Some(p))),
                None => Err(ResultError::TrailingText),
            },
        };
    }
    match s.rsplit_once(':') {
        None => Ok((s, None)),
        Some((h, _)) if h.contains(':') => Err(ResultError::InvalidHost(short(s))),
        Some((h, p)) => Ok((h, Some(p))),
    }
}

fn parse_port(p: &str) -> Result<u16, ResultError> {
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ResultError::InvalidPort(short(p)));
    }
    p.parse().map_err(|_| ResultError::InvalidPort(short(p)))
}

fn short(s: &str) -> String {
    s.chars().take(64).collect()
}

/// A proxy host: an IPv6 literal (unbracketed), or a name/IPv4 of letters, digits, `-`, `_`
/// and `.`, lower-cased.
fn canonical_host(host: &str) -> Result<String, ResultError> {
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(v6) = host.parse::<Ipv6Addr>() {
        return Ok(v6.to_string());
    }
    let ok = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && !host.starts_with('.')
        && !host.contains("..");
    if ok {
        Ok(host.to_ascii_lowercase())
    } else {
        Err(ResultError::InvalidHost(short(host)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(s: &str) -> Vec<String> {
        ProxyList::parse_pac_result(s)
            .entries()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn errors(s: &str) -> Vec<ResultError> {
        ProxyList::parse_pac_result(s)
            .diagnostics()
            .iter()
            .map(|d| d.error.clone())
            .collect()
    }

    // Cases re-derived from Chromium's proxy_list_unittest.cc / proxy_string_util tests.
    #[test]
    fn chromium_pac_strings() {
        assert_eq!(entries("PROXY foopy:10"), ["PROXY foopy:10"]);
        assert_eq!(entries(" DIRECT"), ["DIRECT"]);
        assert_eq!(
            entries("PROXY foopy:10 ; SOCKS5 foopy2"),
            ["PROXY foopy:10", "SOCKS5 foopy2:1080"]
        );
        assert_eq!(entries("DIRECT ; proxy foobar:1"), ["DIRECT", "PROXY foobar:1"]);
        assert_eq!(entries("https foopy:443"), ["HTTPS foopy:443"]);
        assert_eq!(entries("HTTPS foopy"), ["HTTPS foopy:443"]);
        assert_eq!(entries("PROXY foopy"), ["PROXY foopy:80"]);
        assert_eq!(entries("SOCKS foopy"), ["SOCKS4 foopy:1080"]);
        assert_eq!(entries("SOCKS4 foopy"), ["SOCKS4 foopy:1080"]);
        assert_eq!(entries("PROXY [::1]:3128"), ["PROXY [::1]:3128"]);
        assert_eq!(entries("PROXY FooPy.Example:8080"), ["PROXY foopy.example:8080"]);
        // Invalid entries are dropped; nothing valid means DIRECT.
        assert_eq!(
            entries("PROXY foopy:10 ; BOGUS foo ; DIRECT"),
            ["PROXY foopy:10", "DIRECT"]
        );
        assert_eq!(entries("BOGUS foo"), ["DIRECT"]);
        assert_eq!(entries(""), ["DIRECT"]);
        assert_eq!(entries("PROXY"), ["DIRECT"]);
        assert_eq!(entries("DIRECT foopy:10"), ["DIRECT"]);
    }

    #[test]
    fn firefox_http_keyword_is_accepted() {
        assert_eq!(entries("HTTP proxy:3128"), ["PROXY proxy:3128"]);
    }

    #[test]
    fn every_dropped_entry_has_a_diagnostic() {
        assert_eq!(errors(""), [ResultError::Empty]);
        assert_eq!(
            errors("PROXY user:pw@host:80; PROXY host:; PROXY ::1; PROXY a b; QUIC x; DIRECT x"),
            [
                ResultError::Userinfo,
                ResultError::InvalidPort(String::new()),
                ResultError::InvalidHost("::1".into()),
                ResultError::TrailingText,
                ResultError::UnknownType("QUIC".into()),
                ResultError::DirectWithHost,
                ResultError::Empty,
            ]
        );
        assert_eq!(
            errors("PROXY host:65536"),
            [ResultError::InvalidPort("65536".into()), ResultError::Empty]
        );
        let list = ProxyList::parse_pac_result("DIRECT; PROXY a/b");
        assert_eq!(list.diagnostics()[0].span, 8..17);
    }

    #[test]
    fn round_trip() {
        let list = ProxyList::parse_pac_result("proxy A:1;socks5 [::1];https b;direct");
        assert_eq!(
            list.to_pac_string(),
            "PROXY a:1; SOCKS5 [::1]:1080; HTTPS b:443; DIRECT"
        );
        assert_eq!(ProxyList::parse_pac_result(&list.to_pac_string()), list);
    }
}
