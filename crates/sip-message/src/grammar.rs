//! RFC 3261 §25.1 basic rules as nom parsers over `&str`.
//!
//! Header values are kept as written, folded lines included (`CRLF 1*WSP`), so every rule that
//! allows linear white space (`LWS`, `SWS`) skips a fold too, and an error's position is a real
//! byte offset into the message.

use std::borrow::Cow;

use nom::error::{ErrorKind, ParseError};
use nom::{IResult, Parser};

/// Why a rule failed: the input left when it did, and what it expected there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fail<'a> {
    pub rest: &'a str,
    pub expected: &'static str,
}

impl<'a> ParseError<&'a str> for Fail<'a> {
    fn from_error_kind(input: &'a str, _: ErrorKind) -> Self {
        Fail {
            rest: input,
            expected: "",
        }
    }
    fn append(_: &'a str, _: ErrorKind, other: Self) -> Self {
        other
    }
}

pub(crate) type PResult<'a, T> = IResult<&'a str, T, Fail<'a>>;

/// Fails at `rest`, expecting `expected`.
pub(crate) fn fail<'a, T>(rest: &'a str, expected: &'static str) -> PResult<'a, T> {
    Err(nom::Err::Error(Fail { rest, expected }))
}

/// Runs `p`; when it fails right at the start, or without saying what it expected, says
/// `expected`.
pub(crate) fn expect<'a, O, P>(expected: &'static str, mut p: P) -> impl FnMut(&'a str) -> PResult<'a, O>
where
    P: Parser<&'a str, Output = O, Error = Fail<'a>>,
{
    move |i| {
        p.parse(i).map_err(|e| {
            e.map(|f| {
                if f.expected.is_empty() || f.rest.len() == i.len() {
                    Fail {
                        rest: f.rest,
                        expected,
                    }
                } else {
                    f
                }
            })
        })
    }
}

/// Runs a whole-value parser and requires that it consumes everything but trailing white space.
/// On failure returns the byte offset in `value` and what was expected there.
pub(crate) fn complete<'a, O>(
    value: &'a str,
    mut p: impl FnMut(&'a str) -> PResult<'a, O>,
) -> Result<O, (usize, &'static str)> {
    let at = |rest: &str| value.len().saturating_sub(rest.len());
    match p(value) {
        Ok((rest, out)) => {
            let rest = sws(rest);
            if rest.is_empty() {
                Ok(out)
            } else {
                Err((at(rest), "end of the header value"))
            }
        }
        Err(nom::Err::Error(f) | nom::Err::Failure(f)) => Err((
            at(f.rest),
            if f.expected.is_empty() {
                "valid syntax"
            } else {
                f.expected
            },
        )),
        Err(nom::Err::Incomplete(_)) => Err((value.len(), "more input")),
    }
}

/// A 128-entry ASCII class table: `true` for every byte of `set` plus alphanumerics. Only
/// ASCII literals are passed, so every index is below 128.
#[allow(clippy::indexing_slicing)]
const fn class(set: &[u8]) -> [bool; 128] {
    let mut t = [false; 128];
    let mut c = 0;
    while c < 128 {
        t[c] = (c as u8).is_ascii_alphanumeric();
        c += 1;
    }
    let mut k = 0;
    while k < set.len() {
        t[set[k] as usize] = true;
        k += 1;
    }
    t
}

/// `token` characters (RFC 3261 §25.1): alphanumerics and `-.!%*_+`'~`.
pub(crate) const TOKEN: [bool; 128] = class(b"-.!%*_+`'~");
/// `unreserved` = alphanum / mark.
const UNRESERVED: [bool; 128] = class(b"-_.!~*'()");

/// `token` characters (RFC 3261 §25.1).
#[inline]
pub(crate) fn is_token_char(c: char) -> bool {
    TOKEN.get(c as usize).copied().unwrap_or(false)
}

/// [`is_token_char`] for a byte.
#[inline]
pub(crate) fn is_token_byte(b: u8) -> bool {
    TOKEN.get(usize::from(b)).copied().unwrap_or(false)
}

pub(crate) fn is_wsp(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// `unreserved` = alphanum / mark.
#[inline]
pub(crate) fn is_unreserved(c: char) -> bool {
    UNRESERVED.get(c as usize).copied().unwrap_or(false)
}

/// Skips `SWS` (optional linear white space, folds included); never fails.
pub(crate) fn sws(i: &str) -> &str {
    // Most values have no white space to skip.
    if !matches!(i.as_bytes().first(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        return i;
    }
    let mut rest = i;
    loop {
        let trimmed = rest.trim_start_matches(is_wsp);
        let after_nl = trimmed
            .strip_prefix("\r\n")
            .or_else(|| trimmed.strip_prefix('\n'));
        match after_nl {
            Some(r) if r.starts_with(is_wsp) => rest = r,
            _ => return trimmed,
        }
    }
}

/// `LWS`: at least one white space character (a fold counts).
pub(crate) fn lws(i: &str) -> PResult<'_, ()> {
    let rest = sws(i);
    if rest.len() == i.len() {
        fail(i, "white space")
    } else {
        Ok((rest, ()))
    }
}

/// `SWS c SWS` for the separators `;`, `,`, `=`, `/`, `:`.
pub(crate) fn sep(c: char, expected: &'static str) -> impl FnMut(&str) -> PResult<'_, ()> {
    move |i| {
        let rest = sws(i);
        match rest.strip_prefix(c) {
            Some(r) => Ok((sws(r), ())),
            None => fail(rest, expected),
        }
    }
}

pub(crate) fn token(i: &str) -> PResult<'_, &str> {
    let end = i.bytes().position(|b| !is_token_byte(b)).unwrap_or(i.len());
    if end == 0 {
        return fail(i, "a token");
    }
    Ok((i.get(end..).unwrap_or_default(), i.get(..end).unwrap_or_default()))
}

/// Takes the longest prefix whose characters satisfy `f`; at least `min` bytes.
pub(crate) fn take_while_min<'a>(
    i: &'a str,
    min: usize,
    expected: &'static str,
    f: impl Fn(char) -> bool,
) -> PResult<'a, &'a str> {
    // Every predicate here accepts ASCII only, so bytes do (a multi-byte character starts
    // with a byte >= 0x80, which no predicate accepts, exactly as its `char` would not be).
    let end = i.bytes().position(|b| !f(char::from(b))).unwrap_or(i.len());
    if end < min {
        return fail(i.get(end..).unwrap_or_default(), expected);
    }
    Ok((i.get(end..).unwrap_or_default(), i.get(..end).unwrap_or_default()))
}

/// Characters from `allowed` (a predicate) or `%HEXHEX` escapes; at least one.
pub(crate) fn escaped_chars<'a>(
    i: &'a str,
    expected: &'static str,
    allowed: impl Fn(char) -> bool,
) -> PResult<'a, &'a str> {
    let bytes = i.as_bytes();
    let mut n = 0;
    while let Some(&b) = bytes.get(n) {
        if b == b'%' {
            let hex = |k: usize| bytes.get(k).is_some_and(|b| b.is_ascii_hexdigit());
            if hex(n + 1) && hex(n + 2) {
                n += 3;
                continue;
            }
            return fail(i.get(n..).unwrap_or_default(), "an escape `%` HEX HEX");
        }
        if b < 0x80 && allowed(b as char) {
            n += 1;
        } else {
            break;
        }
    }
    if n == 0 {
        return fail(i, expected);
    }
    Ok((i.get(n..).unwrap_or_default(), i.get(..n).unwrap_or_default()))
}

/// `quoted-string` = SWS DQUOTE *(qdtext / quoted-pair) DQUOTE; returns the text with its quotes.
pub(crate) fn quoted_string(i: &str) -> PResult<'_, &str> {
    let start = sws(i);
    let Some(body) = start.strip_prefix('"') else {
        return fail(start, "`\"`");
    };
    let mut chars = body.char_indices();
    while let Some((k, c)) = chars.next() {
        match c {
            '"' => {
                let len = 1 + k + 1;
                return Ok((
                    start.get(len..).unwrap_or_default(),
                    start.get(..len).unwrap_or_default(),
                ));
            }
            '\\' => match chars.next() {
                Some((_, q)) if q != '\r' && q != '\n' && (q as u32) < 0x80 => {}
                _ => return fail(body.get(k..).unwrap_or_default(), "a quoted pair `\\` CHAR"),
            },
            '\r' | '\n' => {
                // Only a fold (CRLF followed by white space) may appear inside.
                let rest = body.get(k..).unwrap_or_default();
                let after = rest.strip_prefix("\r\n").or_else(|| rest.strip_prefix('\n'));
                match after {
                    Some(a) if a.starts_with(is_wsp) => {}
                    _ => return fail(rest, "a closing `\"`"),
                }
            }
            c if c == '\t' || c == ' ' || !c.is_control() => {}
            _ => {
                return fail(
                    body.get(k..).unwrap_or_default(),
                    "a printable character or `\\` escape",
                );
            }
        }
    }
    fail(start, "a closing `\"` for this quoted string")
}

/// The text of a quoted string without quotes and with `\` pairs resolved.
pub(crate) fn unquote(raw: &str) -> Cow<'_, str> {
    let inner = raw
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(raw);
    if !inner.contains('\\') {
        return Cow::Borrowed(inner);
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Replaces every fold and run of white space with one space (RFC 3261 §7.3.1).
pub(crate) fn unfold(raw: &str) -> Cow<'_, str> {
    if !raw.contains(['\r', '\n', '\t']) && !raw.contains("  ") {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut ws = false;
    for c in raw.chars() {
        if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
            ws = true;
        } else {
            if ws && !out.is_empty() {
                out.push(' ');
            }
            ws = false;
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `host` = hostname / IPv4address / IPv6reference (RFC 3261 §25.1).
///
/// A run of host characters whose last label starts with a digit can only be an
/// `IPv4address`: four `dec-octet`s from 0 to 255 (`10.10.10.256` is neither an address nor a
/// host name, whose `toplabel` starts with a letter). Labels never start or end with `-`.
pub(crate) fn host(i: &str) -> PResult<'_, &str> {
    if let Some(r) = i.strip_prefix('[') {
        let (r, addr) = take_while_min(r, 2, "an IPv6 address", |c| {
            c.is_ascii_hexdigit() || c == ':' || c == '.'
        })?;
        if addr.parse::<std::net::Ipv6Addr>().is_err() {
            return fail(i, "an IPv6 address inside `[...]`");
        }
        return match r.strip_prefix(']') {
            Some(r) => Ok((r, i.get(..i.len() - r.len()).unwrap_or_default())),
            None => fail(r, "`]` closing the IPv6 reference"),
        };
    }
    let (r, h) = take_while_min(i, 1, "a host name or address", |c| {
        c.is_ascii_alphanumeric() || c == '-' || c == '.'
    })?;
    if is_hostname_or_ipv4(h) {
        Ok((r, h))
    } else {
        fail(i, "a host name or an IPv4 address (four numbers from 0 to 255)")
    }
}

/// `hostname` / `IPv4address` over characters already known to be alphanumerics, `-`, `.`.
fn is_hostname_or_ipv4(h: &str) -> bool {
    let name = h.strip_suffix('.').unwrap_or(h);
    // The toplabel: what follows the last `.`.
    let top = name.bytes().rposition(|b| b == b'.').map_or(0, |dot| dot + 1);
    if name.as_bytes().get(top).is_some_and(u8::is_ascii_digit) {
        // Not a hostname (its toplabel starts with ALPHA): an IPv4address, written exactly
        // (no trailing dot, no leading zeros, no octet above 255).
        return h == name && is_ipv4(name);
    }
    name.split('.')
        .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'))
}

/// `IPv4address` = dec-octet "." dec-octet "." dec-octet "." dec-octet.
pub(crate) fn is_ipv4(s: &str) -> bool {
    s.parse::<std::net::Ipv4Addr>().is_ok()
}

/// `IPv6address` (RFC 3261 §25.1, RFC 4291 text forms, an IPv4 tail included).
pub(crate) fn is_ipv6(s: &str) -> bool {
    s.parse::<std::net::Ipv6Addr>().is_ok()
}

/// `port` = 1*DIGIT, within 0..=65535.
pub(crate) fn port(i: &str) -> PResult<'_, u16> {
    let (r, digits) = take_while_min(i, 1, "a port number", |c| c.is_ascii_digit())?;
    match digits.parse::<u16>() {
        Ok(p) => Ok((r, p)),
        Err(_) => fail(i, "a port number from 0 to 65535"),
    }
}

/// `1*DIGIT` as u64; overlarge numbers fail with `expected`.
pub(crate) fn number<'a>(i: &'a str, expected: &'static str) -> PResult<'a, u64> {
    let (r, digits) = take_while_min(i, 1, expected, |c| c.is_ascii_digit())?;
    match digits.parse::<u64>() {
        Ok(n) => Ok((r, n)),
        Err(_) => fail(i, expected),
    }
}

/// A `name[=value]` parameter as written; a quoted value keeps its quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    /// The parameter name.
    pub name: &'a str,
    /// The value as written (quoted strings keep their quotes), if any.
    pub value: Option<&'a str>,
}

impl<'a> Param<'a> {
    /// The value without quotes and `\` escapes.
    pub fn unquoted(&self) -> Option<Cow<'a, str>> {
        self.value.map(unquote)
    }
}

/// `gen-value` = token / host / quoted-string.
fn gen_value(i: &str) -> PResult<'_, &str> {
    let i = sws(i);
    if i.starts_with('"') {
        quoted_string(i)
    } else if i.starts_with('[') {
        host(i)
    } else {
        expect("a token, host or quoted string", token)(i)
    }
}

/// `generic-param` = token [ EQUAL gen-value ].
pub(crate) fn generic_param(i: &str) -> PResult<'_, Param<'_>> {
    let (r, name) = expect("a parameter name", token)(i)?;
    let after = sws(r);
    if after.starts_with('=') {
        let (r, ()) = sep('=', "`=`")(r)?;
        let (r, value) = gen_value(r)?;
        Ok((
            r,
            Param {
                name,
                value: Some(value),
            },
        ))
    } else {
        Ok((r, Param { name, value: None }))
    }
}

/// `*( SEMI generic-param )`.
pub(crate) fn params(mut i: &str) -> PResult<'_, Vec<Param<'_>>> {
    let mut out = Vec::new();
    loop {
        if !sws(i).starts_with(';') {
            return Ok((i, out));
        }
        let (r, ()) = sep(';', "`;`")(i)?;
        let (r, p) = generic_param(r)?;
        out.push(p);
        i = r;
    }
}

/// Looks up a parameter by name, case-insensitively.
pub(crate) fn find_param<'a>(params: &[Param<'a>], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
        .map(|p| p.value.unwrap_or(""))
}

/// Parses `item *(COMMA item)`, returning every item.
pub(crate) fn comma_list<'a, T>(
    mut i: &'a str,
    mut item: impl FnMut(&'a str) -> PResult<'a, T>,
) -> PResult<'a, Vec<T>> {
    let mut out = Vec::new();
    loop {
        let (r, v) = item(sws(i))?;
        out.push(v);
        if !sws(r).starts_with(',') {
            return Ok((r, out));
        }
        let (r, ()) = sep(',', "`,`")(r)?;
        i = r;
    }
}

/// Offset of `sub`, a subslice of `base`, within `base`.
pub(crate) fn offset_in(base: &str, sub: &str) -> usize {
    (sub.as_ptr() as usize)
        .saturating_sub(base.as_ptr() as usize)
        .min(base.len())
}

/// Constant-time equality of two byte strings (`subtle`; only a length difference returns
/// early: the length is not secret).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sws_skips_folds() {
        assert_eq!(sws(" \r\n  x"), "x");
        assert_eq!(sws(" \r\nx"), "\r\nx");
        assert_eq!(sws("x"), "x");
    }

    #[test]
    fn quoted_strings() {
        assert_eq!(quoted_string(r#""a \"b\"" rest"#), Ok((" rest", r#""a \"b\"""#)));
        assert!(quoted_string("\"open").is_err());
        assert_eq!(unquote(r#""J Rosenberg \\\"""#), "J Rosenberg \\\"");
    }

    #[test]
    fn params_with_lws() {
        let (r, p) =
            params(" ; newparam =\r\n      newvalue ;\r\n  secondparam ; q = 0.33").unwrap_or_default();
        assert_eq!(r, "");
        assert_eq!(p.len(), 3);
        assert_eq!(p.get(2).and_then(|p| p.value), Some("0.33"));
    }
}
