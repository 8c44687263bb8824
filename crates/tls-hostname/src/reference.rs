//! Reference identifiers: the name the client used to reach the server (RFC 9525 §6.2).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// The longest DNS name in presentation form without the trailing dot (RFC 1035 §3.1).
const MAX_DNS_NAME_LEN: usize = 253;
/// The longest DNS label (RFC 1035 §2.3.4).
const MAX_LABEL_LEN: usize = 63;

/// What the client expects the server to be: a DNS name or an IP address.
///
/// Parsing normalises the name the way RFC 9525 §6.3 asks: ASCII letters are lower-cased, a
/// trailing dot (an absolute name) is dropped, and U-labels are converted to A-labels with
/// UTS #46 (`idna` crate). An IP address is recognised in any textual form the standard
/// library accepts (dotted-quad IPv4; compressed, full, upper-case or IPv4-embedded IPv6),
/// optionally in `[` `]`.
///
/// ```
/// use tls_hostname::ReferenceName;
/// let r: ReferenceName = "Bücher.Example.".parse()?;
/// assert_eq!(r.to_string(), "xn--bcher-kva.example");
/// let ip: ReferenceName = "[2001:DB8::0:1]".parse()?;
/// assert_eq!(ip.to_string(), "2001:db8::1");
/// # Ok::<(), tls_hostname::ReferenceError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReferenceName {
    /// A DNS name in lower-case A-label form, without a trailing dot.
    Dns(DnsReference),
    /// An IP address.
    Ip(IpAddr),
}

/// A validated DNS reference name (lower case, A-labels, no trailing dot).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DnsReference(String);

impl DnsReference {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DnsReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a string is not a usable reference name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReferenceError {
    /// The input is empty (or only a dot).
    #[error("empty host name")]
    Empty,
    /// The name is longer than 253 characters.
    #[error("host name is {len} characters long; DNS allows 253")]
    TooLong {
        /// Its length after normalisation.
        len: usize,
    },
    /// A label is empty, too long or has a character DNS host names cannot have.
    #[error("host name {name:?}: label {label:?} {problem}")]
    BadLabel {
        /// The whole name as given.
        name: String,
        /// The offending label.
        label: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A U-label could not be converted to an A-label (UTS #46).
    #[error("host name {name:?} is not a valid internationalised domain name: {detail}")]
    Idna {
        /// The name as given.
        name: String,
        /// The IDNA processing errors.
        detail: String,
    },
    /// Text in `[` `]` that is not an IPv6 address.
    #[error("{text:?} is bracketed but not an IPv6 address")]
    BadBracketedAddress {
        /// The input.
        text: String,
    },
}

impl ReferenceName {
    /// Parses and normalises a reference name; see the type's documentation.
    pub fn parse(text: &str) -> Result<Self, ReferenceError> {
        if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            return match inner.parse::<std::net::Ipv6Addr>() {
                Ok(v6) => Ok(Self::Ip(IpAddr::V6(v6))),
                Err(_) => Err(ReferenceError::BadBracketedAddress { text: text.into() }),
            };
        }
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(Self::Ip(ip));
        }
        Ok(Self::Dns(parse_dns(text)?))
    }

    /// The DNS name, if this is one.
    pub fn as_dns(&self) -> Option<&DnsReference> {
        match self {
            Self::Dns(d) => Some(d),
            Self::Ip(_) => None,
        }
    }
}

impl FromStr for ReferenceName {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for ReferenceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dns(d) => d.fmt(f),
            Self::Ip(ip) => ip.fmt(f),
        }
    }
}

fn parse_dns(text: &str) -> Result<DnsReference, ReferenceError> {
    let trimmed = text.strip_suffix('.').unwrap_or(text);
    if trimmed.is_empty() {
        return Err(ReferenceError::Empty);
    }
    let ascii = if trimmed.is_ascii() {
        trimmed.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii(trimmed).map_err(|e| ReferenceError::Idna {
            name: text.into(),
            detail: e.to_string(),
        })?
    };
    if ascii.len() > MAX_DNS_NAME_LEN {
        return Err(ReferenceError::TooLong { len: ascii.len() });
    }
    for label in ascii.split('.') {
        if let Some(problem) = label_problem(label) {
            return Err(ReferenceError::BadLabel {
                name: text.into(),
                label: label.into(),
                problem,
            });
        }
    }
    Ok(DnsReference(ascii))
}

/// Checks one reference label: 1–63 of letters, digits, `-` and `_` (underscores appear in
/// real host names; whether a *presented* name may carry one is the profile's decision), not
/// starting or ending with `-`.
fn label_problem(label: &str) -> Option<&'static str> {
    if label.is_empty() {
        return Some("is empty");
    }
    if label.len() > MAX_LABEL_LEN {
        return Some("is longer than 63 characters");
    }
    if !label
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Some("has a character other than a letter, digit, '-' or '_'");
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Some("starts or ends with '-'");
    }
    None
}
