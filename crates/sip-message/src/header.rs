//! Header names (with RFC 3261 §7.3.3 compact forms) and the typed header values a UA needs.

use std::borrow::Cow;

use crate::grammar::{
    PResult, Param, comma_list, complete, expect, fail, find_param, host, is_token_char, lws, number, params,
    port, quoted_string, sep, sws, token, unquote,
};
use crate::method::Method;
use crate::uri::{Uri, UriContext, uri};

macro_rules! header_names {
    ($( $(#[$m:meta])* $variant:ident = $name:literal $(, $compact:literal)? ; )+) => {
        /// A header name the crate knows, or [`HeaderName::Other`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum HeaderName {
            $( $(#[$m])* $variant, )+
            /// Any other header: look it up by its written name.
            Other,
        }

        impl HeaderName {
            /// The canonical (long) name, e.g. `Call-ID`; `""` for [`HeaderName::Other`].
            pub fn as_str(self) -> &'static str {
                match self {
                    $( HeaderName::$variant => $name, )+
                    HeaderName::Other => "",
                }
            }

        }
    };
}

header_names! {
    /// `Via` / `v`.
    Via = "Via", "v";
    /// `From` / `f`.
    From = "From", "f";
    /// `To` / `t`.
    To = "To", "t";
    /// `Call-ID` / `i`.
    CallId = "Call-ID", "i";
    /// `CSeq`.
    CSeq = "CSeq";
    /// `Contact` / `m`.
    Contact = "Contact", "m";
    /// `Max-Forwards`.
    MaxForwards = "Max-Forwards";
    /// `Expires`.
    Expires = "Expires";
    /// `Require`.
    Require = "Require";
    /// `Proxy-Require`.
    ProxyRequire = "Proxy-Require";
    /// `Supported` / `k`.
    Supported = "Supported", "k";
    /// `Unsupported`.
    Unsupported = "Unsupported";
    /// `WWW-Authenticate`.
    WwwAuthenticate = "WWW-Authenticate";
    /// `Proxy-Authenticate`.
    ProxyAuthenticate = "Proxy-Authenticate";
    /// `Authorization`.
    Authorization = "Authorization";
    /// `Proxy-Authorization`.
    ProxyAuthorization = "Proxy-Authorization";
    /// `Security-Client` (RFC 3329).
    SecurityClient = "Security-Client";
    /// `Security-Server` (RFC 3329).
    SecurityServer = "Security-Server";
    /// `Security-Verify` (RFC 3329).
    SecurityVerify = "Security-Verify";
    /// `Content-Length` / `l`.
    ContentLength = "Content-Length", "l";
    /// `Content-Type` / `c`.
    ContentType = "Content-Type", "c";
    /// `Content-Encoding` / `e`.
    ContentEncoding = "Content-Encoding", "e";
    /// `Subject` / `s`.
    Subject = "Subject", "s";
    /// `Route`.
    Route = "Route";
    /// `Record-Route`.
    RecordRoute = "Record-Route";
    /// `Date`.
    Date = "Date";
    /// `Accept`.
    Accept = "Accept";
    /// `Allow`.
    Allow = "Allow";
    /// `User-Agent`.
    UserAgent = "User-Agent";
    /// `Event` / `o`.
    Event = "Event", "o";
    /// `Refer-To` / `r`.
    ReferTo = "Refer-To", "r";
}

impl HeaderName {
    /// The name a header line carries, long or compact form, any case.
    pub fn from_wire(name: &str) -> HeaderName {
        HeaderName::from_wire_in(name, name.as_bytes())
    }

    /// [`HeaderName::from_wire`] for a `name` that `text` begins with: when `text` has 16
    /// bytes, the key is read from it in one load rather than copied out of `name`.
    pub(crate) fn from_wire_in(name: &str, text: &[u8]) -> HeaderName {
        const K_VIA: u128 = name_key(b"Via");
        const K_V: u128 = name_key(b"v");
        const K_FROM: u128 = name_key(b"From");
        const K_F: u128 = name_key(b"f");
        const K_TO: u128 = name_key(b"To");
        const K_T: u128 = name_key(b"t");
        const K_CALL_ID: u128 = name_key(b"Call-ID");
        const K_I: u128 = name_key(b"i");
        const K_CSEQ: u128 = name_key(b"CSeq");
        const K_CONTACT: u128 = name_key(b"Contact");
        const K_M: u128 = name_key(b"m");
        const K_MAX_FORWARDS: u128 = name_key(b"Max-Forwards");
        const K_EXPIRES: u128 = name_key(b"Expires");
        const K_REQUIRE: u128 = name_key(b"Require");
        const K_PROXY_REQUIRE: u128 = name_key(b"Proxy-Require");
        const K_SUPPORTED: u128 = name_key(b"Supported");
        const K_K: u128 = name_key(b"k");
        const K_UNSUPPORTED: u128 = name_key(b"Unsupported");
        const K_WWW_AUTHENTICATE: u128 = name_key(b"WWW-Authenticate");
        const K_AUTHORIZATION: u128 = name_key(b"Authorization");
        const K_SECURITY_CLIENT: u128 = name_key(b"Security-Client");
        const K_SECURITY_SERVER: u128 = name_key(b"Security-Server");
        const K_SECURITY_VERIFY: u128 = name_key(b"Security-Verify");
        const K_CONTENT_LENGTH: u128 = name_key(b"Content-Length");
        const K_L: u128 = name_key(b"l");
        const K_CONTENT_TYPE: u128 = name_key(b"Content-Type");
        const K_C: u128 = name_key(b"c");
        const K_CONTENT_ENCODING: u128 = name_key(b"Content-Encoding");
        const K_E: u128 = name_key(b"e");
        const K_SUBJECT: u128 = name_key(b"Subject");
        const K_S: u128 = name_key(b"s");
        const K_ROUTE: u128 = name_key(b"Route");
        const K_RECORD_ROUTE: u128 = name_key(b"Record-Route");
        const K_DATE: u128 = name_key(b"Date");
        const K_ACCEPT: u128 = name_key(b"Accept");
        const K_ALLOW: u128 = name_key(b"Allow");
        const K_USER_AGENT: u128 = name_key(b"User-Agent");
        const K_EVENT: u128 = name_key(b"Event");
        const K_O: u128 = name_key(b"o");
        const K_REFER_TO: u128 = name_key(b"Refer-To");
        const K_R: u128 = name_key(b"r");
        let b = name.as_bytes();
        if b.len() > 16 {
            return match () {
                _ if name.eq_ignore_ascii_case("Proxy-Authenticate") => HeaderName::ProxyAuthenticate,
                _ if name.eq_ignore_ascii_case("Proxy-Authorization") => HeaderName::ProxyAuthorization,
                _ => HeaderName::Other,
            };
        }
        let Some(key) = name_key_in(b, text) else {
            return HeaderName::Other;
        };
        // The length first (a jump table), then one to three key comparisons.
        match b.len() {
            1 => match key {
                K_V => HeaderName::Via,
                K_F => HeaderName::From,
                K_T => HeaderName::To,
                K_I => HeaderName::CallId,
                K_M => HeaderName::Contact,
                K_K => HeaderName::Supported,
                K_L => HeaderName::ContentLength,
                K_C => HeaderName::ContentType,
                K_E => HeaderName::ContentEncoding,
                K_S => HeaderName::Subject,
                K_O => HeaderName::Event,
                K_R => HeaderName::ReferTo,
                _ => HeaderName::Other,
            },
            2 => match key {
                K_TO => HeaderName::To,
                _ => HeaderName::Other,
            },
            3 => match key {
                K_VIA => HeaderName::Via,
                _ => HeaderName::Other,
            },
            4 => match key {
                K_FROM => HeaderName::From,
                K_CSEQ => HeaderName::CSeq,
                K_DATE => HeaderName::Date,
                _ => HeaderName::Other,
            },
            5 => match key {
                K_ROUTE => HeaderName::Route,
                K_ALLOW => HeaderName::Allow,
                K_EVENT => HeaderName::Event,
                _ => HeaderName::Other,
            },
            6 => match key {
                K_ACCEPT => HeaderName::Accept,
                _ => HeaderName::Other,
            },
            7 => match key {
                K_CALL_ID => HeaderName::CallId,
                K_CONTACT => HeaderName::Contact,
                K_EXPIRES => HeaderName::Expires,
                K_REQUIRE => HeaderName::Require,
                K_SUBJECT => HeaderName::Subject,
                _ => HeaderName::Other,
            },
            8 => match key {
                K_REFER_TO => HeaderName::ReferTo,
                _ => HeaderName::Other,
            },
            9 => match key {
                K_SUPPORTED => HeaderName::Supported,
                _ => HeaderName::Other,
            },
            10 => match key {
                K_USER_AGENT => HeaderName::UserAgent,
                _ => HeaderName::Other,
            },
            11 => match key {
                K_UNSUPPORTED => HeaderName::Unsupported,
                _ => HeaderName::Other,
            },
            12 => match key {
                K_MAX_FORWARDS => HeaderName::MaxForwards,
                K_CONTENT_TYPE => HeaderName::ContentType,
                K_RECORD_ROUTE => HeaderName::RecordRoute,
                _ => HeaderName::Other,
            },
            13 => match key {
                K_PROXY_REQUIRE => HeaderName::ProxyRequire,
                K_AUTHORIZATION => HeaderName::Authorization,
                _ => HeaderName::Other,
            },
            14 => match key {
                K_CONTENT_LENGTH => HeaderName::ContentLength,
                _ => HeaderName::Other,
            },
            15 => match key {
                K_SECURITY_CLIENT => HeaderName::SecurityClient,
                K_SECURITY_SERVER => HeaderName::SecurityServer,
                K_SECURITY_VERIFY => HeaderName::SecurityVerify,
                _ => HeaderName::Other,
            },
            16 => match key {
                K_WWW_AUTHENTICATE => HeaderName::WwwAuthenticate,
                K_CONTENT_ENCODING => HeaderName::ContentEncoding,
                _ => HeaderName::Other,
            },
            _ => HeaderName::Other,
        }
    }
}

/// Up to 16 bytes of a header name, each OR 0x20, as one number: ASCII letters fold to lower
/// case and `-` stays `-`; among the other bytes only CR (0x0d) also becomes `-` (checked by
/// the caller), and none becomes a letter, so two names have the same key exactly when they
/// are equal ignoring ASCII case. Longer input: the first 16 bytes.
const fn name_key(mut b: &[u8]) -> u128 {
    let mut k = 0u128;
    let mut i = 0;
    while let [c, rest @ ..] = b {
        if i == 16 {
            break;
        }
        k |= ((*c | 0x20) as u128) << (8 * i);
        i += 1;
        b = rest;
    }
    k
}

/// [`name_key_fast`] for a name `b` that `text` begins with: one 16-byte load from `text` when
/// it is that long (the bytes after the name masked off), else the copy.
fn name_key_in(b: &[u8], text: &[u8]) -> Option<u128> {
    const ONES: u128 = 0x0101_0101_0101_0101_0101_0101_0101_0101;
    let n = b.len();
    let chunk = text
        .get(..16)
        // `text` begins with `b` when both start at the same byte (no comparison needed).
        .filter(|_| n <= 16 && std::ptr::eq(text.as_ptr(), b.as_ptr()))
        .and_then(|c| <[u8; 16]>::try_from(c).ok());
    let Some(chunk) = chunk else {
        return name_key_fast(b);
    };
    let mask = if n >= 16 {
        u128::MAX
    } else {
        (1u128 << (8 * n)) - 1
    };
    let raw = u128::from_le_bytes(chunk) & mask;
    // Has a CR byte: as in `name_key_fast` (the masked-off bytes are 0, not CR).
    let v = raw ^ (ONES * 0x0d);
    if v.wrapping_sub(ONES) & !v & (ONES * 0x80) != 0 {
        return None;
    }
    Some(raw | (mask & (ONES * 0x20)))
}

/// [`name_key`] at run time for up to 16 bytes: one copy and one OR instead of a loop of
/// 128-bit shifts. `None` when a byte is CR, which would fold to `-` (no name holds one).
fn name_key_fast(b: &[u8]) -> Option<u128> {
    const ONES: u128 = 0x0101_0101_0101_0101_0101_0101_0101_0101;
    let mut buf = [0u8; 16];
    let n = b.len().min(16);
    if let (Some(dst), Some(src)) = (buf.get_mut(..n), b.get(..n)) {
        dst.copy_from_slice(src);
    }
    let raw = u128::from_le_bytes(buf);
    // Has a CR byte: the classic "has a zero byte" test on raw XOR CRs (padding is 0, not CR).
    let v = raw ^ (ONES * 0x0d);
    if v.wrapping_sub(ONES) & !v & (ONES * 0x80) != 0 {
        return None;
    }
    let fold = if n >= 16 {
        u128::MAX
    } else {
        (1u128 << (8 * n)) - 1
    };
    Some(raw | (fold & (ONES * 0x20)))
}

impl std::fmt::Display for HeaderName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A header field value failed its grammar: offset into the value and what was expected.
pub(crate) type ValueError = (usize, &'static str);

/// One `Via` entry (RFC 3261 §20.42).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via<'a> {
    /// `SIP`.
    pub protocol: &'a str,
    /// `2.0`.
    pub version: &'a str,
    /// `UDP`, `TCP`, `TLS`, `SCTP` or any token.
    pub transport: &'a str,
    /// The sent-by host.
    pub host: &'a str,
    /// The sent-by port.
    pub port: Option<u16>,
    /// `via-params` in order.
    pub params: Vec<Param<'a>>,
}

/// The RFC 3261 branch prefix (§8.1.1.7).
pub const MAGIC_COOKIE: &str = "z9hG4bK";

impl<'a> Via<'a> {
    /// The `branch` parameter as written.
    pub fn branch(&self) -> Option<&'a str> {
        find_param(&self.params, "branch")
    }

    /// The branch when it is an RFC 3261 transaction identifier: the magic cookie followed by
    /// at least one character. `None` means RFC 2543 matching applies (RFC 4475 §3.2.1).
    pub fn rfc3261_branch(&self) -> Option<&'a str> {
        self.branch()
            .filter(|b| b.len() > MAGIC_COOKIE.len() && b.starts_with(MAGIC_COOKIE))
    }

    /// A parameter's value (`""` for a flag), case-insensitive name.
    pub fn param(&self, name: &str) -> Option<&'a str> {
        find_param(&self.params, name)
    }
}

fn via_parm(i: &str) -> PResult<'_, Via<'_>> {
    let (r, protocol) = expect("a protocol name (SIP)", token)(i)?;
    let (r, ()) = sep('/', "`/`")(r)?;
    let (r, version) = expect("a protocol version", token)(r)?;
    let (r, ()) = sep('/', "`/`")(r)?;
    let (r, transport) = expect("a transport", token)(r)?;
    let (r, ()) = lws(r)?;
    let (mut r, host) = host(r)?;
    let mut port_no = None;
    if sws(r).starts_with(':') {
        let (after, ()) = sep(':', "`:`")(r)?;
        let (after, p) = port(after)?;
        port_no = Some(p);
        r = after;
    }
    let (r, params) = via_params(r)?;
    Ok((
        r,
        Via {
            protocol,
            version,
            transport,
            host,
            port: port_no,
            params,
        },
    ))
}

/// `*( SEMI via-params )`: generic parameters, except that `received` holds an
/// `IPv4address` or a bare `IPv6address` (RFC 3261 §20.42, `via-received`; RFC 5118 §4.5
/// shows the bracketed `[IPv6]` form in the wild, which is accepted too) and nothing else.
fn via_params(mut i: &str) -> PResult<'_, Vec<Param<'_>>> {
    let mut out = Vec::new();
    loop {
        if !sws(i).starts_with(';') {
            return Ok((i, out));
        }
        let (r, ()) = sep(';', "`;`")(i)?;
        let (after_name, name) = expect("a parameter name", token)(r)?;
        if !name.eq_ignore_ascii_case("received") {
            let (r, p) = crate::grammar::generic_param(r)?;
            out.push(p);
            i = r;
            continue;
        }
        let (v, ()) = sep('=', "`=` after received")(after_name)?;
        let (rest, value) = if v.starts_with('[') {
            host(v)?
        } else {
            crate::grammar::take_while_min(v, 1, "an IP address", |c| {
                c.is_ascii_hexdigit() || c == ':' || c == '.'
            })?
        };
        let bare = value.strip_prefix('[').and_then(|x| x.strip_suffix(']'));
        let ok = match bare {
            Some(v6) => crate::grammar::is_ipv6(v6),
            None => crate::grammar::is_ipv4(value) || crate::grammar::is_ipv6(value),
        };
        // An address followed by more address-like characters (`10.0.0.1x`) is no address.
        if !ok || rest.starts_with(|c: char| is_token_char(c) && c != '.') {
            return fail(v, "an IPv4 or IPv6 address in received");
        }
        out.push(Param {
            name,
            value: Some(value),
        });
        i = rest;
    }
}

/// Parses one Via header value: one or more comma-separated entries.
pub fn parse_via(value: &str) -> Result<Vec<Via<'_>>, ValueError> {
    complete(value, |i| comma_list(i, via_parm))
}

/// `name-addr` or `addr-spec` with header parameters: From, To, Contact, Route, Record-Route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr<'a> {
    /// The display name as written: a quoted string with its quotes, or tokens.
    pub display_name: Option<&'a str>,
    /// The URI.
    pub uri: Uri<'a>,
    /// The header's parameters (`tag`, `expires`, `q`, ...).
    pub params: Vec<Param<'a>>,
}

impl<'a> NameAddr<'a> {
    /// The `tag` parameter.
    pub fn tag(&self) -> Option<&'a str> {
        find_param(&self.params, "tag")
    }

    /// A header parameter's value (`""` for a flag), case-insensitive name.
    pub fn param(&self, name: &str) -> Option<&'a str> {
        find_param(&self.params, name)
    }

    /// The display name without quotes or escapes.
    pub fn display_name_text(&self) -> Option<Cow<'a, str>> {
        self.display_name.map(unquote)
    }
}

/// `[display-name] LAQUOT addr-spec RAQUOT` or a bare `addr-spec`, then `*(SEMI param)`.
fn name_addr(i: &str) -> PResult<'_, NameAddr<'_>> {
    let start = sws(i);
    let (r, display_name) = if start.starts_with('"') {
        let (r, q) = quoted_string(start)?;
        (sws(r), Some(q))
    } else if start.starts_with('<') {
        (start, None)
    } else {
        // *(token LWS) followed by `<`; otherwise this is an addr-spec.
        let mut r = start;
        let mut end = start;
        while let Ok((after, _)) = token(r) {
            end = after;
            r = sws(after);
        }
        if r.starts_with('<') && end.len() < start.len() {
            (r, start.get(..start.len() - end.len()))
        } else {
            let (r, uri) = expect("a URI or `<`", |x| uri(x, UriContext::Bare))(start)?;
            let (r, params) = params(r)?;
            return Ok((
                r,
                NameAddr {
                    display_name: None,
                    uri,
                    params,
                },
            ));
        }
    };
    let Some(r) = r.strip_prefix('<') else {
        return fail(r, "`<` after the display name");
    };
    let (r, uri) = expect("a URI right after `<`", |x| uri(x, UriContext::Full))(r)?;
    let Some(r) = r.strip_prefix('>') else {
        return fail(r, "`>` right after the URI");
    };
    let (r, params) = params(r)?;
    Ok((
        r,
        NameAddr {
            display_name,
            uri,
            params,
        },
    ))
}

/// Parses a From or To value (exactly one name-addr).
pub fn parse_name_addr(value: &str) -> Result<NameAddr<'_>, ValueError> {
    complete(value, name_addr)
}

/// Parses a Contact, Route or Record-Route value: a comma list of name-addrs. A Contact of `*`
/// gives an empty list.
pub fn parse_name_addr_list(value: &str) -> Result<Vec<NameAddr<'_>>, ValueError> {
    if value.trim() == "*" {
        return Ok(Vec::new());
    }
    complete(value, |i| comma_list(i, name_addr))
}

/// `CSeq` (RFC 3261 §20.16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    /// The sequence number (less than 2**31).
    pub number: u32,
    /// The method.
    pub method: Method,
}

/// Parses a CSeq value. Sequence numbers of 2**31 or more are out of range (§8.1.1.5).
pub fn parse_cseq(value: &str) -> Result<CSeq, ValueError> {
    complete(value, |i| {
        let (r, n) = number(sws(i), "a sequence number below 2**31")?;
        let Ok(number) = u32::try_from(n) else {
            return fail(i, "a sequence number below 2**31");
        };
        if number >= 1 << 31 {
            return fail(i, "a sequence number below 2**31");
        }
        let (r, ()) = lws(r)?;
        let (r, m) = expect("a method", token)(r)?;
        Ok((
            r,
            CSeq {
                number,
                method: Method::from(m),
            },
        ))
    })
}

/// Parses a comma list of tokens (Require, Proxy-Require, Supported, Allow).
pub fn parse_tokens(value: &str) -> Result<Vec<&str>, ValueError> {
    if value.trim().is_empty() {
        return Ok(Vec::new());
    }
    complete(value, |i| comma_list(i, expect("an option tag", token)))
}

/// Parses `1*DIGIT` bounded by `max`.
pub fn parse_number(value: &str, max: u64, expected: &'static str) -> Result<u64, ValueError> {
    complete(value, |i| {
        let i = sws(i);
        let (r, n) = number(i, expected)?;
        if n > max { fail(i, expected) } else { Ok((r, n)) }
    })
}

/// `Call-ID = word [ "@" word ]` (RFC 3261 §25.1).
pub fn parse_call_id(value: &str) -> Result<&str, ValueError> {
    let is_word = |c: char| is_token_char(c) || "()<>:\\\"/[]?{}".contains(c);
    complete(value, |i| {
        let i = sws(i);
        let (r, _) = crate::grammar::take_while_min(i, 1, "a Call-ID word", is_word)?;
        let r = match r.strip_prefix('@') {
            Some(a) => crate::grammar::take_while_min(a, 1, "a word after `@`", is_word)?.0,
            None => r,
        };
        Ok((r, i.get(..i.len() - r.len()).unwrap_or_default()))
    })
}

/// A `media-type` (RFC 3261 §20.15): `type/subtype` and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType<'a> {
    /// `application`, `multipart`, ...
    pub type_: &'a str,
    /// `sdp`, `mixed`, ...
    pub subtype: &'a str,
    /// `m-parameter`s in order (`boundary`, `charset`, ...).
    pub params: Vec<Param<'a>>,
}

impl<'a> MediaType<'a> {
    /// Whether this is `type/subtype` (case-insensitive).
    pub fn is(&self, type_: &str, subtype: &str) -> bool {
        self.type_.eq_ignore_ascii_case(type_) && self.subtype.eq_ignore_ascii_case(subtype)
    }

    /// A parameter's value as written, case-insensitive name.
    pub fn param(&self, name: &str) -> Option<&'a str> {
        find_param(&self.params, name)
    }
}

/// Parses a Content-Type value: `m-type SLASH m-subtype *(SEMI m-parameter)`, each
/// `m-parameter` a `token EQUAL (token / quoted-string)`.
pub fn parse_media_type(value: &str) -> Result<MediaType<'_>, ValueError> {
    complete(value, |i| {
        let (r, type_) = expect("a media type (`application/sdp`)", token)(sws(i))?;
        let (r, ()) = sep('/', "`/` between type and subtype")(r)?;
        let (r, subtype) = expect("a media subtype", token)(r)?;
        let (r, params) = params(r)?;
        if let Some(p) = params.iter().find(|p| p.value.is_none()) {
            let after = crate::grammar::offset_in(i, p.name) + p.name.len();
            return fail(
                i.get(after..).unwrap_or_default(),
                "`=` and a value after the media parameter",
            );
        }
        Ok((
            r,
            MediaType {
                type_,
                subtype,
                params,
            },
        ))
    })
}

/// Checks an `rfc1123-date` (RFC 3261 §20.17): `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn parse_date(value: &str) -> Result<(), ValueError> {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let digits = |i: &'static str, n: usize| {
        move |x| {
            let (r, d) = crate::grammar::take_while_min(x, n, i, |c: char| c.is_ascii_digit())?;
            if d.len() == n { Ok((r, ())) } else { fail(x, i) }
        }
    };
    complete(value, |i| {
        let i = sws(i);
        let (r, _) = match DAYS.iter().find(|d| i.starts_with(**d)) {
            Some(d) => (i.get(d.len()..).unwrap_or_default(), ()),
            None => return fail(i, "a day name (Mon..Sun)"),
        };
        let r = r
            .strip_prefix(", ")
            .map_or_else(|| fail(r, "`, `"), |r| Ok((r, ())))?
            .0;
        let (r, ()) = digits("a two-digit day", 2)(r)?;
        let r = r
            .strip_prefix(' ')
            .map_or_else(|| fail(r, "` `"), |r| Ok((r, ())))?
            .0;
        let r = match MONTHS.iter().find(|m| r.starts_with(**m)) {
            Some(m) => r.get(m.len()..).unwrap_or_default(),
            None => return fail(r, "a month name (Jan..Dec)"),
        };
        let r = r
            .strip_prefix(' ')
            .map_or_else(|| fail(r, "` `"), |r| Ok((r, ())))?
            .0;
        let (r, ()) = digits("a four-digit year", 4)(r)?;
        let r = r
            .strip_prefix(' ')
            .map_or_else(|| fail(r, "` `"), |r| Ok((r, ())))?
            .0;
        let (r, ()) = digits("hh", 2)(r)?;
        let r = r
            .strip_prefix(':')
            .map_or_else(|| fail(r, "`:`"), |r| Ok((r, ())))?
            .0;
        let (r, ()) = digits("mm", 2)(r)?;
        let r = r
            .strip_prefix(':')
            .map_or_else(|| fail(r, "`:`"), |r| Ok((r, ())))?
            .0;
        let (r, ()) = digits("ss", 2)(r)?;
        match r.strip_prefix(" GMT") {
            Some(r) => Ok((r, ())),
            None => fail(r, "` GMT` (RFC 3261 allows no other time zone)"),
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn compact_forms() {
        assert_eq!(HeaderName::from_wire("v"), HeaderName::Via);
        assert_eq!(HeaderName::from_wire("I"), HeaderName::CallId);
        assert_eq!(HeaderName::from_wire("MaX-fOrWaRdS"), HeaderName::MaxForwards);
        assert_eq!(HeaderName::from_wire("X-Foo"), HeaderName::Other);
    }

    #[test]
    fn every_name_in_any_case_and_nothing_else() {
        let all = [
            "Via",
            "From",
            "To",
            "Call-ID",
            "CSeq",
            "Contact",
            "Max-Forwards",
            "Expires",
            "Require",
            "Proxy-Require",
            "Supported",
            "Unsupported",
            "WWW-Authenticate",
            "Proxy-Authenticate",
            "Authorization",
            "Proxy-Authorization",
            "Security-Client",
            "Security-Server",
            "Security-Verify",
            "Content-Length",
            "Content-Type",
            "Content-Encoding",
            "Subject",
            "Route",
            "Record-Route",
            "Date",
            "Accept",
            "Allow",
            "User-Agent",
            "Event",
            "Refer-To",
        ];
        for name in all {
            let kind = HeaderName::from_wire(name);
            assert_eq!(kind.as_str(), name);
            assert_eq!(HeaderName::from_wire(&name.to_ascii_lowercase()), kind, "{name}");
            assert_eq!(HeaderName::from_wire(&name.to_ascii_uppercase()), kind, "{name}");
            let cr = name.replace('-', "\r");
            if cr != name {
                assert_eq!(HeaderName::from_wire(&cr), HeaderName::Other, "{cr:?}");
            }
            assert_eq!(HeaderName::from_wire(&format!("{name}x")), HeaderName::Other);
            // (Dropping a letter of `To` leaves `o`, Event's compact form.)
            if name.len() > 2 {
                assert_eq!(HeaderName::from_wire(name.get(1..).unwrap()), HeaderName::Other);
            }
        }
        assert_eq!(HeaderName::from_wire(""), HeaderName::Other);
        assert_eq!(HeaderName::from_wire("Proxy-Authorizations"), HeaderName::Other);
        assert_eq!(HeaderName::from_wire("Call_ID"), HeaderName::Other);
    }

    #[test]
    fn folded_via() {
        let v = parse_via("SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw").unwrap();
        assert_eq!(
            (v[0].transport, v[0].host, v[0].branch()),
            ("UDP", "192.0.2.2", Some("390skdjuw"))
        );
        assert_eq!(v[0].rfc3261_branch(), None);
    }

    #[test]
    fn name_addr_forms() {
        let n = parse_name_addr("caller<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!((n.display_name, n.tag()), (Some("caller"), Some("323")));
        let n = parse_name_addr("sip:+1@gw.example.net;unknownparam").unwrap();
        assert_eq!(n.param("unknownparam"), Some(""));
        assert!(n.uri.sip().unwrap().params.is_empty());
        assert!(parse_name_addr("\"Watson, Thomas\" < sip:t.watson@example.org >").is_err());
        assert!(parse_name_addr("sip:user@example.com?Route=%3Csip:sip.example.com%3E").is_err());
    }

    #[test]
    fn dates() {
        assert!(parse_date("Sat, 15 Oct 2005 04:44:56 GMT").is_ok());
        assert!(parse_date("Fri, 01 Jan 2010 16:00:00 EST").is_err());
    }
}
