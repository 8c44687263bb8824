//! URIs: `sip:` and `sips:` per RFC 3261 §19.1 / §25.1 in detail, any other scheme as an opaque
//! `absoluteURI` (RFC 4475 §3.3.2–3.3.4: a UA must parse them and decide at a higher layer).

use crate::grammar::{
    PResult, Param, escaped_chars, fail, find_param, host, is_unreserved, port, take_while_min,
};

/// A parsed URI, borrowing from the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri<'a> {
    raw: &'a str,
    scheme: &'a str,
    sip: Option<SipUri<'a>>,
}

/// The parts of a `sip:` / `sips:` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri<'a> {
    /// `sips:` rather than `sip:`.
    pub secure: bool,
    /// The user part, still %-escaped.
    pub user: Option<&'a str>,
    /// The password part, still %-escaped.
    pub password: Option<&'a str>,
    /// Host name, IPv4 address or `[IPv6]` reference.
    pub host: &'a str,
    /// The port, if written.
    pub port: Option<u16>,
    /// `uri-parameters` in order.
    pub params: Vec<Param<'a>>,
    /// The `?headers` part without the `?`.
    pub headers: Option<&'a str>,
}

impl<'a> Uri<'a> {
    /// Parses a whole URI (nothing may follow it).
    pub fn parse(text: &'a str) -> Result<Uri<'a>, crate::Error> {
        match uri(text, UriContext::Full) {
            Ok(("", u)) => Ok(u),
            Ok((rest, _)) => Err(crate::Error::new(
                crate::ErrorKind::Header {
                    header: "URI",
                    expected: "end of the URI",
                },
                text.len() - rest.len(),
            )),
            Err(nom::Err::Error(f) | nom::Err::Failure(f)) => Err(crate::Error::new(
                crate::ErrorKind::Header {
                    header: "URI",
                    expected: f.expected,
                },
                text.len().saturating_sub(f.rest.len()),
            )),
            Err(nom::Err::Incomplete(_)) => Err(crate::Error::new(
                crate::ErrorKind::Header {
                    header: "URI",
                    expected: "more input",
                },
                text.len(),
            )),
        }
    }

    /// The URI as written.
    pub fn as_str(&self) -> &'a str {
        self.raw
    }

    /// The scheme as written (`sip`, `sips`, `tel`, `nobodyKnowsThisScheme`, ...).
    pub fn scheme(&self) -> &'a str {
        self.scheme
    }

    /// The SIP parts when the scheme is `sip` or `sips`.
    pub fn sip(&self) -> Option<&SipUri<'a>> {
        self.sip.as_ref()
    }
}

impl<'a> SipUri<'a> {
    /// A URI parameter's value (`""` for a flag such as `lr`), case-insensitive name.
    pub fn param(&self, name: &str) -> Option<&'a str> {
        find_param(&self.params, name)
    }

    /// RFC 3261 §19.1.4 equality: same scheme; user and password equal byte for byte after
    /// `%`-unescaping (case-sensitive); host case-insensitive; ports equal (an absent port is
    /// not 5060); the `user`, `ttl`, `method`, `maddr` and `transport` parameters equal when
    /// either URI has them; any other parameter equal when both have it; the same headers.
    pub fn equivalent(&self, other: &SipUri<'_>) -> bool {
        let opt_eq = |a: Option<&str>, b: Option<&str>| match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => unescape(a) == unescape(b),
            _ => false,
        };
        if self.secure != other.secure
            || !opt_eq(self.user, other.user)
            || !opt_eq(self.password, other.password)
            || !self.host.eq_ignore_ascii_case(other.host)
            || self.port != other.port
        {
            return false;
        }
        let value_eq = |a: &str, b: &str| unescape(a).eq_ignore_ascii_case(&unescape(b));
        for name in ["user", "ttl", "method", "maddr", "transport"] {
            match (self.param(name), other.param(name)) {
                (None, None) => {}
                (Some(a), Some(b)) if value_eq(a, b) => {}
                _ => return false,
            }
        }
        for p in &self.params {
            if let Some(theirs) = other.param(p.name) {
                if !value_eq(p.value.unwrap_or(""), theirs) {
                    return false;
                }
            }
        }
        let mut mine: Vec<_> = self
            .headers
            .unwrap_or("")
            .split('&')
            .filter(|h| !h.is_empty())
            .collect();
        let mut theirs: Vec<_> = other
            .headers
            .unwrap_or("")
            .split('&')
            .filter(|h| !h.is_empty())
            .collect();
        mine.sort_unstable();
        theirs.sort_unstable();
        mine.len() == theirs.len() && mine.iter().zip(&theirs).all(|(a, b)| unescape(a) == unescape(b))
    }
}

/// `%HH` escapes resolved (bytes; an invalid escape is kept as written).
fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut k = 0;
    while let Some(&c) = b.get(k) {
        let hex = |at: usize| b.get(at).and_then(|h| (*h as char).to_digit(16));
        match (c, hex(k + 1), hex(k + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                k += 3;
            }
            _ => {
                out.push(c);
                k += 1;
            }
        }
    }
    out
}

impl std::fmt::Display for Uri<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.raw)
    }
}

/// Where a URI appears, which decides what may end it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UriContext {
    /// Request-URI or inside `<...>`: parameters and headers belong to the URI.
    Full,
    /// `addr-spec` without angle brackets in From/To/Contact: `;` starts the header's own
    /// parameters, and `?` or `,` are not allowed (RFC 3261 §20).
    Bare,
}

fn is_scheme_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.'
}

/// `reserved` / `unreserved` characters of `uric` (escapes handled separately).
fn is_uric(c: char) -> bool {
    is_unreserved(c) || ";/?:@&=+$,".contains(c)
}

fn is_user_char(c: char) -> bool {
    is_unreserved(c) || "&=+$,;?/".contains(c)
}

fn is_password_char(c: char) -> bool {
    is_unreserved(c) || "&=+$,".contains(c)
}

fn is_param_char(c: char) -> bool {
    is_unreserved(c) || "[]/:&+$".contains(c)
}

fn is_header_char(c: char) -> bool {
    is_unreserved(c) || "[]/?:+$".contains(c)
}

pub(crate) fn uri(i: &str, ctx: UriContext) -> PResult<'_, Uri<'_>> {
    let (r, scheme) = take_while_min(i, 1, "a URI scheme", is_scheme_char)?;
    if !scheme.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return fail(i, "a URI scheme");
    }
    let Some(r) = r.strip_prefix(':') else {
        return fail(r, "`:` after the URI scheme");
    };
    let raw_of = |rest: &str| i.get(..i.len() - rest.len()).unwrap_or_default();
    if scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips") {
        let (rest, sip) = sip_uri(r, scheme.eq_ignore_ascii_case("sips"), ctx)?;
        Ok((
            rest,
            Uri {
                raw: raw_of(rest),
                scheme,
                sip: Some(sip),
            },
        ))
    } else {
        let allowed = |c: char| match ctx {
            UriContext::Full => is_uric(c),
            UriContext::Bare => is_uric(c) && c != ';' && c != ',' && c != '?',
        };
        let (rest, _) = escaped_chars(r, "the rest of the URI", allowed)?;
        Ok((
            rest,
            Uri {
                raw: raw_of(rest),
                scheme,
                sip: None,
            },
        ))
    }
}

fn sip_uri(i: &str, secure: bool, ctx: UriContext) -> PResult<'_, SipUri<'_>> {
    // userinfo is present exactly when an `@` ends the run of user/password characters.
    let (mut r, mut user, mut password) = (i, None, None);
    if let Ok((after, info)) = escaped_chars(i, "", |c| is_user_char(c) || c == ':') {
        if let Some(after_at) = after.strip_prefix('@') {
            let (u, p) = match info.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (info, None),
            };
            if u.is_empty() {
                return fail(i, "a user name before `@`");
            }
            escaped_chars(u, "a user name", is_user_char)?;
            if let Some(p) = p {
                if !p.is_empty() {
                    let (rest, _) = escaped_chars(p, "a password", is_password_char)?;
                    if !rest.is_empty() {
                        return fail(rest, "a password character");
                    }
                }
            }
            user = Some(u);
            password = p;
            r = after_at;
        }
    }
    let (mut r, host) = host(r)?;
    let mut port_no = None;
    if let Some(after) = r.strip_prefix(':') {
        let (after, p) = port(after)?;
        port_no = Some(p);
        r = after;
    }
    let mut params = Vec::new();
    let mut headers = None;
    if ctx == UriContext::Full {
        while let Some(after) = r.strip_prefix(';') {
            let (after, name) = escaped_chars(after, "a URI parameter name", is_param_char)?;
            let (after, value) = match after.strip_prefix('=') {
                Some(v) => {
                    let (after, value) = escaped_chars(v, "a URI parameter value", is_param_char)?;
                    (after, Some(value))
                }
                None => (after, None),
            };
            params.push(Param { name, value });
            r = after;
        }
        if let Some(after) = r.strip_prefix('?') {
            let (after, h) = escaped_chars(after, "URI headers", |c| {
                is_header_char(c) || c == '=' || c == '&'
            })?;
            headers = Some(h);
            r = after;
        }
    } else if r.starts_with('?') {
        return fail(r, "`<...>` around a URI with headers (RFC 3261 §20)");
    }
    Ok((
        r,
        SipUri {
            secure,
            user,
            password,
            host,
            port: port_no,
            params,
            headers,
        },
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sip_uri_parts() {
        let u = Uri::parse("sip:alice:secret@example.com:5061;transport=tcp;lr?subject=x").unwrap();
        let s = u.sip().unwrap();
        assert_eq!(
            (s.user, s.password, s.host, s.port),
            (Some("alice"), Some("secret"), "example.com", Some(5061))
        );
        assert_eq!(s.param("transport"), Some("tcp"));
        assert_eq!(s.param("lr"), Some(""));
        assert_eq!(s.headers, Some("subject=x"));
    }

    #[test]
    fn user_with_semicolon() {
        let u = Uri::parse("sip:user;par=u%40example.net@example.com").unwrap();
        assert_eq!(u.sip().unwrap().user, Some("user;par=u%40example.net"));
        assert_eq!(u.sip().unwrap().host, "example.com");
    }

    #[test]
    fn rfc3261_19_1_4_equivalent_uris() {
        let eq = |a: &str, b: &str| {
            let (a, b) = (Uri::parse(a).unwrap(), Uri::parse(b).unwrap());
            a.sip().unwrap().equivalent(b.sip().unwrap())
        };
        // The RFC's examples of equivalent URIs.
        assert!(eq(
            "sip:%61lice@atlanta.com;transport=TCP",
            "sip:alice@AtLanTa.CoM;Transport=tcp"
        ));
        assert!(eq("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"));
        assert!(eq(
            "sip:carol@chicago.com;security=on",
            "sip:carol@chicago.com;newparam=5"
        ));
        assert!(eq(
            "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
            "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"
        ));
        assert!(eq(
            "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
            "sip:alice@atlanta.com?priority=urgent&subject=project%20x"
        ));
        // ...and of URIs that are not.
        assert!(!eq(
            "SIP:ALICE@AtLanTa.CoM;Transport=udp",
            "sip:alice@AtLanTa.CoM;Transport=UDP"
        ));
        assert!(!eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
        assert!(!eq("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"));
        assert!(!eq(
            "sip:bob@biloxi.com:6000;transport=tcp",
            "sip:bob@biloxi.com:6000"
        ));
        assert!(!eq(
            "sip:carol@chicago.com",
            "sip:carol@chicago.com?Subject=next%20meeting"
        ));
        assert!(!eq("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"));
        assert!(!eq(
            "sip:carol@chicago.com;newparam=6",
            "sip:carol@chicago.com;newparam=5"
        ));
    }

    #[test]
    fn other_schemes_are_opaque() {
        assert_eq!(
            Uri::parse("soap.beep://192.0.2.103:3002").unwrap().scheme(),
            "soap.beep"
        );
        assert!(Uri::parse("<sip:x@y>").is_err());
        assert!(Uri::parse("sip:%zz@example.com").is_err());
    }
}
