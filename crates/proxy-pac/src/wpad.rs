//! Finding and fetching the PAC file: WPAD over DHCP (option 252) and DNS (`wpad.<domain>`,
//! devolved no further than the registrable domain), and the rules a PAC download must pass.
//! Pure logic: the host does the DHCP, DNS and HTTP/TFTP.

use std::fmt;
use std::time::Duration;

use url::Url;

/// Why a WPAD or PAC URL, or a downloaded PAC, is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WpadError {
    /// DHCP option 252 held no URL (empty, or only NULs and white space).
    #[error("DHCP option 252 is empty")]
    EmptyOption,
    /// The option or setting is not a URL.
    #[error("`{value}` is not a URL: {reason}")]
    InvalidUrl {
        /// The value (at most 200 characters).
        value: String,
        /// The parser's reason.
        reason: String,
    },
    /// A PAC URL whose scheme is not `http`, `https` or `tftp`.
    #[error("PAC URL scheme `{0}` is not supported (expected http, https or tftp)")]
    UnsupportedScheme(String),
    /// The server answered with a status other than 200.
    #[error("PAC server answered HTTP {0} (only 200 is accepted)")]
    Status(u16),
    /// The PAC file is larger than the fetch limit.
    #[error("PAC file is larger than {0} bytes")]
    TooLarge(usize),
    /// The Content-Type names a charset this crate does not decode.
    #[error("unsupported PAC charset `{0}` (expected UTF-8, UTF-16, ISO-8859-1 or US-ASCII)")]
    UnsupportedCharset(String),
    /// The body is not valid in its charset.
    #[error("PAC file is not valid {0}")]
    InvalidEncoding(&'static str),
    /// The body does not mention `FindProxyForURL` (Chromium's `LooksLikePacScript`).
    #[error("the downloaded file is not a PAC script (no FindProxyForURL)")]
    NotAPacScript,
}

/// Where a candidate PAC URL came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PacOrigin {
    /// The `PAC_URL` setting.
    Configured,
    /// DHCP option 252.
    Dhcp,
    /// DNS: `wpad.<domain>` for this domain.
    Dns {
        /// The name to resolve first (fully qualified, with the trailing dot).
        query: String,
    },
}

/// One URL to try for the PAC file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacCandidate {
    /// The URL.
    pub url: Url,
    /// Where it came from.
    pub origin: PacOrigin,
}

impl fmt::Display for PacCandidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            PacOrigin::Configured => write!(f, "{} (PAC_URL)", self.url),
            PacOrigin::Dhcp => write!(f, "{} (DHCP option 252)", self.url),
            PacOrigin::Dns { query } => write!(f, "{} (DNS {query})", self.url),
        }
    }
}

/// A PAC URL as configured (`PAC_URL`): `http`, `https` or `tftp`.
pub fn pac_url(value: &str) -> Result<Url, WpadError> {
    let url = Url::parse(value.trim()).map_err(|e| WpadError::InvalidUrl {
        value: value.chars().take(200).collect(),
        reason: e.to_string(),
    })?;
    match url.scheme() {
        "http" | "https" | "tftp" if url.host().is_some() => Ok(url),
        "http" | "https" | "tftp" => Err(WpadError::InvalidUrl {
            value: value.chars().take(200).collect(),
            reason: "no host".into(),
        }),
        other => Err(WpadError::UnsupportedScheme(other.to_owned())),
    }
}

/// The PAC URL in a DHCP option 252 value. Servers disagree on termination: the value is cut
/// at the first NUL or line break and trimmed, as Chromium's `SanitizeDhcpApiString` (which
/// cuts at NUL and trims) would for the same bytes.
pub fn dhcp_option_252(value: &[u8]) -> Result<Url, WpadError> {
    let end = value
        .iter()
        .position(|b| matches!(b, 0 | b'\n' | b'\r'))
        .unwrap_or(value.len());
    let text = String::from_utf8_lossy(value.get(..end).unwrap_or_default());
    let text = text.trim();
    if text.is_empty() {
        return Err(WpadError::EmptyOption);
    }
    pac_url(text)
}

/// DNS WPAD candidates for the phone's DNS domain (DHCP option 15 or configured):
/// `wpad.<domain>`, then one label less each time, never `wpad.<public suffix>`. The Public
/// Suffix List decides where the organisation ends (`example.co.uk` stops at
/// `wpad.example.co.uk`); an unknown top-level label counts as a public suffix. Names are
/// fully qualified (trailing dot) so no search list extends them.
///
/// ```
/// let c = proxy_pac::wpad::dns_candidates("eng.emea.corp.example.com");
/// let urls: Vec<_> = c.iter().map(|c| c.url.as_str()).collect();
/// assert_eq!(urls, [
///     "http://wpad.eng.emea.corp.example.com/wpad.dat",
///     "http://wpad.emea.corp.example.com/wpad.dat",
///     "http://wpad.corp.example.com/wpad.dat",
///     "http://wpad.example.com/wpad.dat",
/// ]);
/// assert!(proxy_pac::wpad::dns_candidates("co.uk").is_empty());
/// ```
pub fn dns_candidates(domain: &str) -> Vec<PacCandidate> {
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    let Ok(domain) = idna::domain_to_ascii(&domain) else {
        return Vec::new();
    };
    if domain.is_empty() || domain.split('.').any(str::is_empty) {
        return Vec::new();
    }
    let suffix_labels = psl_lite::suffix(&domain)
        .map_or(1, |s| s.split('.').count())
        .max(1);
    let labels: Vec<&str> = domain.split('.').collect();
    let mut out = Vec::new();
    for start in 0..labels.len() {
        let rest = labels.get(start..).unwrap_or_default();
        if rest.len() <= suffix_labels {
            break;
        }
        let name = rest.join(".");
        if let Ok(url) = Url::parse(&format!("http://wpad.{name}/wpad.dat")) {
            out.push(PacCandidate {
                url,
                origin: PacOrigin::Dns {
                    query: format!("wpad.{name}."),
                },
            });
        }
    }
    out
}

/// The order the phone tries PAC URLs in Auto mode with WPAD on: DHCP option 252 first, then
/// DNS. Returns the candidates and why an option 252 value was unusable, if it was.
pub fn discovery_candidates(
    option_252: Option<&[u8]>,
    domain: Option<&str>,
) -> (Vec<PacCandidate>, Option<WpadError>) {
    let mut out = Vec::new();
    let mut problem = None;
    match option_252.map(dhcp_option_252) {
        Some(Ok(url)) => out.push(PacCandidate {
            url,
            origin: PacOrigin::Dhcp,
        }),
        Some(Err(e)) => problem = Some(e),
        None => {}
    }
    if let Some(domain) = domain {
        out.extend(dns_candidates(domain));
    }
    (out, problem)
}

/// Rules for downloading a PAC file (Chromium's, net/docs/proxy.md): at most 1 MiB, 30 s,
/// status 200 only, never through a proxy; fresh for 12 h; after a failure retry in 8 s,
/// 32 s, 2 min, then every 4 h.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchPolicy {
    /// Largest body accepted.
    pub max_bytes: usize,
    /// Time allowed for the whole download.
    pub timeout: Duration,
    /// How long a fetched PAC is used before fetching it again.
    pub fresh_for: Duration,
    /// Waits after the 1st, 2nd, ... failure; the last one repeats.
    pub retry_delays: Vec<Duration>,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        FetchPolicy {
            max_bytes: 1 << 20,
            timeout: Duration::from_secs(30),
            fresh_for: Duration::from_secs(12 * 3600),
            retry_delays: vec![
                Duration::from_secs(8),
                Duration::from_secs(32),
                Duration::from_secs(120),
                Duration::from_secs(4 * 3600),
            ],
        }
    }
}

impl FetchPolicy {
    /// The wait before the next attempt after `failures` consecutive failures (`failures`
    /// >= 1); zero for `failures == 0`.
    pub fn retry_delay(&self, failures: u32) -> Duration {
        let Some(i) = failures.checked_sub(1) else {
            return Duration::ZERO;
        };
        let i = usize::try_from(i).unwrap_or(usize::MAX);
        self.retry_delays
            .get(i)
            .or(self.retry_delays.last())
            .copied()
            .unwrap_or(Duration::ZERO)
    }

    /// Checks the HTTP status (TFTP transfers have none: skip this).
    pub fn check_status(&self, status: u16) -> Result<(), WpadError> {
        if status == 200 {
            Ok(())
        } else {
            Err(WpadError::Status(status))
        }
    }

    /// Checks a size (announced by Content-Length, or received so far) against the cap; call
    /// it as the body arrives so a huge PAC is cut off early.
    pub fn check_size(&self, bytes: usize) -> Result<(), WpadError> {
        if bytes > self.max_bytes {
            Err(WpadError::TooLarge(self.max_bytes))
        } else {
            Ok(())
        }
    }

    /// The PAC text of a complete body: size checked; decoded by the Content-Type charset,
    /// else by a byte-order mark, else as ISO-8859-1 (Chromium's rule: not UTF-8); and it
    /// must mention `FindProxyForURL`.
    pub fn decode(&self, body: &[u8], content_type: Option<&str>) -> Result<String, WpadError> {
        self.check_size(body.len())?;
        let charset = content_type.and_then(charset_of);
        let text = match charset.as_deref() {
            Some("utf-8" | "utf8") => decode_utf8(strip_prefix(body, &[0xef, 0xbb, 0xbf]))?,
            Some("utf-16le") => decode_utf16(strip_prefix(body, &[0xff, 0xfe]), false)?,
            Some("utf-16be") => decode_utf16(strip_prefix(body, &[0xfe, 0xff]), true)?,
            Some("utf-16") => match body {
                [0xfe, 0xff, rest @ ..] => decode_utf16(rest, true)?,
                [0xff, 0xfe, rest @ ..] => decode_utf16(rest, false)?,
                _ => decode_utf16(body, true)?,
            },
            Some("iso-8859-1" | "latin1" | "iso8859-1" | "us-ascii" | "ascii") => latin1(body),
            Some(other) => return Err(WpadError::UnsupportedCharset(other.to_owned())),
            None => match body {
                [0xef, 0xbb, 0xbf, rest @ ..] => decode_utf8(rest)?,
                [0xfe, 0xff, rest @ ..] => decode_utf16(rest, true)?,
                [0xff, 0xfe, rest @ ..] => decode_utf16(rest, false)?,
                _ => latin1(body),
            },
        };
        if !text.contains("FindProxyForURL") {
            return Err(WpadError::NotAPacScript);
        }
        Ok(text)
    }
}

fn strip_prefix<'a>(body: &'a [u8], bom: &[u8]) -> &'a [u8] {
    body.strip_prefix(bom).unwrap_or(body)
}

fn charset_of(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').to_ascii_lowercase())
    })
}

fn decode_utf8(body: &[u8]) -> Result<String, WpadError> {
    String::from_utf8(body.to_vec()).map_err(|_| WpadError::InvalidEncoding("UTF-8"))
}

fn decode_utf16(body: &[u8], big_endian: bool) -> Result<String, WpadError> {
    if !body.len().is_multiple_of(2) {
        return Err(WpadError::InvalidEncoding("UTF-16"));
    }
    let units = body.chunks_exact(2).map(|c| match c {
        [a, b] if big_endian => u16::from_be_bytes([*a, *b]),
        [a, b] => u16::from_le_bytes([*a, *b]),
        _ => 0,
    });
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map_err(|_| WpadError::InvalidEncoding("UTF-16"))
}

fn latin1(body: &[u8]) -> String {
    body.iter().map(|b| char::from(*b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(c: &[PacCandidate]) -> Vec<&str> {
        c.iter().map(|c| c.url.as_str()).collect()
    }

    // Chromium's SanitizeDhcpApiString cases, and servers that pad differently.
    #[test]
    fn option_252_termination() {
        let base = "http://bingo/";
        for raw in [
            b"http://bingo/".to_vec(),
            b"http://bingo/\0".to_vec(),
            b"http://bingo/\nblablabla".to_vec(),
            b"http://bingo/\0foo\0blat".to_vec(),
            b"  http://bingo/ \r\n".to_vec(),
        ] {
            assert_eq!(dhcp_option_252(&raw).map(String::from).as_deref(), Ok(base));
        }
        assert_eq!(dhcp_option_252(b"\0\0"), Err(WpadError::EmptyOption));
        assert_eq!(dhcp_option_252(b""), Err(WpadError::EmptyOption));
        assert_eq!(
            dhcp_option_252(b"ftp://x/wpad.dat"),
            Err(WpadError::UnsupportedScheme("ftp".into()))
        );
        assert!(matches!(
            dhcp_option_252(b"not a url"),
            Err(WpadError::InvalidUrl { .. })
        ));
        assert!(dhcp_option_252(b"tftp://10.0.0.1/proxy.pac").is_ok());
    }

    #[test]
    fn devolution_stops_at_the_public_suffix() {
        assert_eq!(
            urls(&dns_candidates("pc.example.org.uk")),
            [
                "http://wpad.pc.example.org.uk/wpad.dat",
                "http://wpad.example.org.uk/wpad.dat"
            ]
        );
        assert_eq!(
            urls(&dns_candidates("example.co.uk")),
            ["http://wpad.example.co.uk/wpad.dat"]
        );
        assert!(dns_candidates("co.uk").is_empty());
        assert!(dns_candidates("com").is_empty());
        assert!(dns_candidates("").is_empty());
        assert!(dns_candidates("a..b.com").is_empty());
        // Unknown top-level label: treated as a public suffix.
        assert_eq!(
            urls(&dns_candidates("corp.internal")),
            ["http://wpad.corp.internal/wpad.dat"]
        );
        assert!(dns_candidates("internal").is_empty());
        // Private-section suffixes (a dynamic-DNS provider) bound the search too.
        assert!(dns_candidates("github.io").is_empty());
        assert_eq!(
            dns_candidates("Example.COM.").first().map(|c| c.origin.clone()),
            Some(PacOrigin::Dns {
                query: "wpad.example.com.".into()
            })
        );
    }

    #[test]
    fn dhcp_before_dns() {
        let (c, problem) = discovery_candidates(
            Some(b"http://pac.corp.example.com/p.pac\0"),
            Some("corp.example.com"),
        );
        assert_eq!(problem, None);
        assert_eq!(
            urls(&c),
            [
                "http://pac.corp.example.com/p.pac",
                "http://wpad.corp.example.com/wpad.dat",
                "http://wpad.example.com/wpad.dat"
            ]
        );
        let (c, problem) = discovery_candidates(Some(b"\0"), Some("example.com"));
        assert_eq!(problem, Some(WpadError::EmptyOption));
        assert_eq!(urls(&c), ["http://wpad.example.com/wpad.dat"]);
    }

    #[test]
    fn fetch_rules() {
        let p = FetchPolicy::default();
        assert_eq!(p.check_status(200), Ok(()));
        assert_eq!(p.check_status(204), Err(WpadError::Status(204)));
        assert_eq!(p.check_status(302), Err(WpadError::Status(302)));
        assert_eq!(p.check_size(1 << 20), Ok(()));
        assert_eq!(p.check_size((1 << 20) + 1), Err(WpadError::TooLarge(1 << 20)));
        let pac = "function FindProxyForURL(u, h) { return 'DIRECT'; } // \u{e9}";
        assert_eq!(
            p.decode(pac.as_bytes(), Some("text/plain; charset=UTF-8"))
                .as_deref(),
            Ok(pac)
        );
        // No charset, no BOM: ISO-8859-1, so UTF-8 bytes become two characters.
        assert!(
            p.decode(pac.as_bytes(), None)
                .is_ok_and(|t| t.ends_with("\u{c3}\u{a9}"))
        );
        let mut bom = vec![0xef, 0xbb, 0xbf];
        bom.extend_from_slice(pac.as_bytes());
        assert_eq!(p.decode(&bom, None).as_deref(), Ok(pac));
        let mut le = vec![0xff, 0xfe];
        le.extend(pac.encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(
            p.decode(&le, Some("application/x-ns-proxy-autoconfig"))
                .as_deref(),
            Ok(pac)
        );
        assert_eq!(
            p.decode(pac.as_bytes(), Some("text/plain; charset=koi8-r")),
            Err(WpadError::UnsupportedCharset("koi8-r".into()))
        );
        assert_eq!(p.decode(b"<html>", None), Err(WpadError::NotAPacScript));
        assert_eq!(
            p.decode(&[0xff, 0xfe, 0x00], None),
            Err(WpadError::InvalidEncoding("UTF-16"))
        );
    }

    #[test]
    fn retry_schedule() {
        let p = FetchPolicy::default();
        let secs: Vec<u64> = (0..6).map(|n| p.retry_delay(n).as_secs()).collect();
        assert_eq!(secs, [0, 8, 32, 120, 14400, 14400]);
    }
}
