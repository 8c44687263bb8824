//! Presented DNS identifiers and how they match a reference (RFC 9525 §6.3, §6.4).

use crate::reference::DnsReference;

/// What the profile allows in a presented DNS identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DnsRules {
    /// Accept `_` in presented labels (OpenSSL does; RFC 5280's preferred name syntax does
    /// not).
    pub allow_underscore: bool,
}

/// Why a presented DNS identifier can never match anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidPresentedName {
    /// The name is empty.
    #[error("empty name")]
    Empty,
    /// The name ends in `.` (presented identifiers are never absolute).
    #[error("ends with '.'")]
    TrailingDot,
    /// A label is empty (`a..b`) or longer than 63 characters, or the name is longer than
    /// 253.
    #[error("has an empty or over-long label")]
    BadLength,
    /// A character outside letters, digits, `-` (and `_` where allowed) and `*`.
    #[error("has a character that is not allowed in a DNS name")]
    BadCharacter,
    /// A label starts or ends with `-`.
    #[error("has a label that starts or ends with '-'")]
    BadHyphen,
    /// An underscore where the profile does not allow one.
    #[error("has an underscore (not in RFC 5280's preferred name syntax)")]
    Underscore,
    /// `*` is part of a label (`f*.example.com`, `xn--*.example.com`).
    #[error("has a partial wildcard; only a whole left-most '*' label is allowed")]
    PartialWildcard,
    /// `*` is in a label other than the left-most, or there is more than one.
    #[error("has a wildcard outside the left-most label")]
    WildcardNotLeftmost,
    /// The wildcard's parent is a single label (`*.com`) or the name is `*`.
    #[error("is a wildcard over a single-label parent")]
    WildcardSingleLabelParent,
    /// The wildcard's parent is a public suffix (`*.co.uk`, `*.s3.amazonaws.com`).
    #[error("is a wildcard over a public suffix")]
    WildcardPublicSuffix,
}

/// A presented DNS identifier that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PresentedDns<'a> {
    /// Matches exactly this name (ASCII case-insensitive).
    Exact(&'a str),
    /// `*.parent`: matches one label followed by `parent`.
    Wildcard { parent: &'a str },
}

impl PresentedDns<'_> {
    pub(crate) fn matches(&self, reference: &DnsReference) -> bool {
        match self {
            Self::Exact(name) => name.eq_ignore_ascii_case(reference.as_str()),
            Self::Wildcard { parent } => match reference.as_str().split_once('.') {
                // The reference's first label is never empty (validated), and `*` matches
                // exactly one label, so the rest must equal the parent.
                Some((_first, rest)) => rest.eq_ignore_ascii_case(parent),
                None => false,
            },
        }
    }
}

/// A necessary condition for `parse_presented(presented, _)` to succeed and match the
/// reference: the name equals the reference, or it is `*.` followed by the reference's
/// parent (ASCII case-insensitive). Cheap: no validation, no Public Suffix List. The
/// reference is split once, for any number of presented names.
pub(crate) struct CouldMatch<'a> {
    reference: &'a str,
    /// The reference without its first label, which a `*.` wildcard may stand for.
    parent: Option<&'a str>,
}

impl<'a> CouldMatch<'a> {
    pub(crate) fn new(reference: &'a DnsReference) -> Self {
        let reference = reference.as_str();
        let parent = reference.split_once('.').map(|(_, parent)| parent);
        CouldMatch { reference, parent }
    }

    pub(crate) fn test(&self, presented: &str) -> bool {
        presented.eq_ignore_ascii_case(self.reference)
            || presented
                .strip_prefix("*.")
                .zip(self.parent)
                .is_some_and(|(p, parent)| p.eq_ignore_ascii_case(parent))
    }
}

/// Validates a presented DNS identifier under `rules`.
pub(crate) fn parse_presented(name: &str, rules: DnsRules) -> Result<PresentedDns<'_>, InvalidPresentedName> {
    if name.is_empty() {
        return Err(InvalidPresentedName::Empty);
    }
    if name.ends_with('.') {
        return Err(InvalidPresentedName::TrailingDot);
    }
    if name.len() > 253 {
        return Err(InvalidPresentedName::BadLength);
    }
    let mut wildcard = false;
    for (i, label) in name.split('.').enumerate() {
        if label.is_empty() || label.len() > 63 {
            return Err(InvalidPresentedName::BadLength);
        }
        if label.contains('*') {
            if label != "*" {
                return Err(InvalidPresentedName::PartialWildcard);
            }
            if i != 0 {
                return Err(InvalidPresentedName::WildcardNotLeftmost);
            }
            wildcard = true;
            continue;
        }
        for b in label.bytes() {
            match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' => {}
                b'_' if rules.allow_underscore => {}
                b'_' => return Err(InvalidPresentedName::Underscore),
                _ => return Err(InvalidPresentedName::BadCharacter),
            }
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(InvalidPresentedName::BadHyphen);
        }
    }
    if !wildcard {
        return Ok(PresentedDns::Exact(name));
    }
    let parent = match name.strip_prefix("*.") {
        Some(p) if p.contains('.') => p,
        _ => return Err(InvalidPresentedName::WildcardSingleLabelParent),
    };
    if is_public_suffix(parent) {
        return Err(InvalidPresentedName::WildcardPublicSuffix);
    }
    Ok(PresentedDns::Wildcard { parent })
}

/// Whether `name` is itself a public suffix, ICANN or private section of the Public Suffix
/// List (`psl-lite`, the list as data). Unlisted TLDs count as public suffixes (the list's `*`
/// rule).
fn is_public_suffix(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    psl_lite::suffix(&lower).is_some_and(|s| s.len() == lower.len())
}

/// Matches `presented` against `reference`: `Ok(true)` match, `Ok(false)` valid but
/// different, `Err` never matches anything.
///
/// This is the DNS-ID comparison of the [`Strict`](crate::Profile::Strict) profile, exposed
/// for callers that hold a presented name from elsewhere (an EAP server name list, say).
///
/// ```
/// use tls_hostname::{presented_dns_matches, ReferenceName};
/// let r = ReferenceName::parse("www.example.com")?;
/// let r = r.as_dns().ok_or("not a DNS name")?;
/// assert_eq!(presented_dns_matches("*.example.com", r), Ok(true));
/// assert!(presented_dns_matches("w*.example.com", r).is_err());
/// assert!(presented_dns_matches("*.com", r).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn presented_dns_matches(
    presented: &str,
    reference: &DnsReference,
) -> Result<bool, InvalidPresentedName> {
    let p = parse_presented(
        presented,
        DnsRules {
            allow_underscore: false,
        },
    )?;
    Ok(p.matches(reference))
}
