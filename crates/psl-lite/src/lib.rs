//! The Public Suffix List as sorted data: the public suffix of a domain name, as the `psl`
//! crate computes it, from a 170 kB rule text instead of generated code.
//!
//! ```
//! assert_eq!(psl_lite::suffix("www.example.co.uk"), Some("co.uk"));
//! assert_eq!(psl_lite::suffix("example.com."), Some("com")); // a trailing dot is ignored
//! assert_eq!(psl_lite::suffix("a.b.unknown-tld"), Some("unknown-tld")); // implicit `*` rule
//! assert!(psl_lite::is_public_suffix("s3.amazonaws.com"));
//! assert!(!psl_lite::is_public_suffix("example.com"));
//! ```
//!
//! The answers are the `psl` crate's except where `psl` stops a wildcard rule early (`*.P`
//! over a name `L.P` that has deeper rules: 56 names of the list; see the tests).
//!
//! The rules (`data/rules.txt`) are the `psl` crate's, one per line, sorted bytewise, each
//! U-label rule also in its A-label form; `cargo xtask psl-data` regenerates them. Lookups
//! bisect that text: no allocation, nothing built at start-up. Names are compared byte for byte,
//! so pass them lower-case (as for `psl`).
//!
//! The algorithm is the list's own (<https://publicsuffix.org/list/>): the prevailing rule is
//! an exception rule (`!`) if one matches, else the matching rule with the most labels
//! (`*` matching any one label), else the implicit `*`; the suffix is the labels that rule
//! matches, minus the leftmost for an exception.
//!
//! Not supported: telling ICANN from private-section rules, registrable-domain helpers.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![no_std]

/// The rules, sorted bytewise, one per line, each line ending in `\n`.
const RULES: &str = include_str!("../data/rules.txt");

/// Whether `rule` (`a.b`, `*.b`, `!a.b`) is a line of [`RULES`], by bisection over the text.
fn has_rule(rule: &[u8]) -> bool {
    let text = RULES.as_bytes();
    let (mut lo, mut hi) = (0, text.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        // The line around `mid`: from after the previous newline (not before `lo`, which is
        // always a line start) to the next newline.
        let start = text
            .get(lo..mid)
            .and_then(|t| t.iter().rposition(|&b| b == b'\n'))
            .map_or(lo, |i| lo + i + 1);
        let end = text
            .get(start..hi)
            .and_then(|t| t.iter().position(|&b| b == b'\n'))
            .map_or(hi, |i| start + i);
        let line = text.get(start..end).unwrap_or_default();
        match line.cmp(rule) {
            core::cmp::Ordering::Equal => return true,
            core::cmp::Ordering::Less => lo = end + 1,
            core::cmp::Ordering::Greater => hi = start,
        }
    }
    false
}

/// `prefix` followed by `name`, in `buf`, when it fits.
fn with_prefix<'b>(buf: &'b mut [u8; 256], prefix: &[u8], name: &[u8]) -> Option<&'b [u8]> {
    let len = prefix.len() + name.len();
    let out = buf.get_mut(..len)?;
    let (p, n) = out.split_at_mut(prefix.len());
    p.copy_from_slice(prefix);
    n.copy_from_slice(name);
    Some(out)
}

/// The public suffix of `name` (its trailing dot, if any, left off), or `None` when the name
/// is empty (`psl::suffix_str`'s answers, `Some("")` for a name ending in an empty label and a
/// dot included). A name longer than DNS allows (253 octets) is looked up like any other, but
/// suffixes longer than 254 octets are not matched against rules.
pub fn suffix(name: &str) -> Option<&str> {
    let full = name;
    let name = name.strip_suffix('.').unwrap_or(name);
    let bytes = name.as_bytes();
    let mut buf = [0u8; 256];
    // Byte length of the suffix chosen so far; 0: none yet.
    let mut best = 0;
    // Walk the candidate suffixes from the last label leftwards.
    let mut previous = 0; // length of the previous (shorter) candidate
    let mut at = bytes.len();
    loop {
        let start = bytes
            .get(..at)
            .and_then(|t| t.iter().rposition(|&b| b == b'.'))
            .map_or(0, |i| i + 1);
        let candidate = bytes.get(start..).unwrap_or_default();
        if with_prefix(&mut buf, b"!", candidate).is_some_and(has_rule) {
            best = previous;
            break;
        }
        let exact = has_rule(candidate);
        let wildcard = previous > 0
            && bytes
                .get(bytes.len() - previous..)
                .and_then(|parent| with_prefix(&mut buf, b"*.", parent))
                .is_some_and(has_rule);
        if exact || wildcard {
            best = candidate.len();
        }
        if start == 0 {
            break;
        }
        previous = candidate.len();
        at = start - 1;
    }
    if best == 0 {
        // The implicit `*` rule: the last label.
        best = bytes.len() - bytes.iter().rposition(|&b| b == b'.').map_or(0, |i| i + 1);
    }
    if best == 0 {
        // An empty last label: `psl` says `Some("")` when there was a trailing dot.
        return (name.len() + 1 == full.len()).then_some("");
    }
    name.get(name.len() - best..)
}

/// Whether `name` (trailing dot ignored) is itself a public suffix: `com`, `co.uk`,
/// `s3.amazonaws.com`, or a single label no rule names.
pub fn is_public_suffix(name: &str) -> bool {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    suffix(name).is_some_and(|s| s.len() == trimmed.len())
}
