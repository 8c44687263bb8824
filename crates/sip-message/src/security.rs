//! RFC 3329 §2.2 `Security-Client`, `Security-Server`, `Security-Verify`, with the 3GPP
//! TS 24.229 / TS 33.203 mechanism names and parameters (`sdes-srtp`, `mediasec`, `ipsec-3gpp`,
//! ...) and any other `token` mechanism or `generic-param`.
//!
//! ```text
//! security-client  = "Security-Client" HCOLON sec-mechanism *(COMMA sec-mechanism)
//! sec-mechanism    = mechanism-name *(SEMI mech-parameters)
//! mech-parameters  = ( preference / digest-algorithm / digest-qop / digest-verify / extension )
//! preference       = "q" EQUAL qvalue
//! qvalue           = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
//! digest-verify    = "d-ver" EQUAL LDQUOT 32LHEX RDQUOT
//! ```
//!
//! Mechanisms are kept exactly as received (names and parameter values as written, in order)
//! so that a `Security-Verify` can mirror a `Security-Server` list parameter for parameter.

use std::fmt;

use crate::error::{Error, ErrorKind};
use crate::grammar::{comma_list, complete, offset_in, params, sws, token, unquote};

/// One `sec-mechanism`: a name and its parameters in order, owned (a UA keeps the server's list
/// for the lifetime of a registration).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecurityMechanism {
    name: String,
    params: Vec<(String, Option<String>)>,
}

impl SecurityMechanism {
    /// A mechanism with no parameters, e.g. `sdes-srtp`. The name must be a token.
    pub fn new(name: &str) -> Result<Self, Error> {
        let parsed = complete(name, token).map_err(|(at, _)| {
            Error::new(
                ErrorKind::Header {
                    header: "Security-Client",
                    expected: "a mechanism name (token)",
                },
                at,
            )
        })?;
        Ok(SecurityMechanism {
            name: parsed.to_owned(),
            params: Vec::new(),
        })
    }

    /// Adds a parameter (`mediasec`, `q=0.1`); the value is written as given.
    pub fn with_param(mut self, name: &str, value: Option<&str>) -> Self {
        self.params.push((name.to_owned(), value.map(str::to_owned)));
        self
    }

    /// The mechanism name as written (`sdes-srtp`, `ipsec-3gpp`, `digest`, ...).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Parameters in order; values as written (quoted values keep their quotes).
    pub fn params(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.params.iter().map(|(n, v)| (n.as_str(), v.as_deref()))
    }

    /// A parameter's value (`Some("")` for a flag), case-insensitive name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref().unwrap_or(""))
    }

    /// Whether the `mediasec` flag marks this as a media-plane mechanism
    /// (draft-dawes-sipcore-mediasec-parameter).
    pub fn is_mediasec(&self) -> bool {
        self.param("mediasec").is_some()
    }

    /// The preference `q` in thousandths (0..=1000).
    pub fn q(&self) -> Option<u16> {
        self.param("q").and_then(qvalue)
    }

    /// `d-alg`.
    pub fn d_alg(&self) -> Option<&str> {
        self.param("d-alg")
    }

    /// `d-qop`.
    pub fn d_qop(&self) -> Option<&str> {
        self.param("d-qop")
    }

    /// `d-ver` without quotes.
    pub fn d_ver(&self) -> Option<String> {
        self.param("d-ver").map(|v| unquote(v).into_owned())
    }

    /// Equality as RFC 3329 §2.3.1 compares a Security-Verify entry with the Security-Server
    /// entry it mirrors: same name (case-insensitive), same parameters in the same order with
    /// the same values (names case-insensitive).
    pub fn matches(&self, other: &SecurityMechanism) -> bool {
        self.name.eq_ignore_ascii_case(&other.name)
            && self.params.len() == other.params.len()
            && self
                .params
                .iter()
                .zip(&other.params)
                .all(|((n1, v1), (n2, v2))| n1.eq_ignore_ascii_case(n2) && v1 == v2)
    }
}

impl fmt::Display for SecurityMechanism {
    /// `name;p1;p2=v2` — no white space, parameters in order, values as received.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for (n, v) in &self.params {
            write!(f, ";{n}")?;
            if let Some(v) = v {
                write!(f, "={v}")?;
            }
        }
        Ok(())
    }
}

/// `qvalue` in thousandths.
fn qvalue(text: &str) -> Option<u16> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_value = format!("{frac:0<3}").parse::<u16>().ok()?;
    match int {
        "0" => Some(frac_value),
        "1" if frac_value == 0 => Some(1000),
        _ => None,
    }
}

/// Parses one Security-Client / -Server / -Verify header value into its mechanisms. Offsets in
/// errors are into `value`.
pub fn parse_security_mechanisms(value: &str) -> Result<Vec<SecurityMechanism>, Error> {
    let err = |at, expected| {
        Error::new(
            ErrorKind::Header {
                header: "Security-*",
                expected,
            },
            at,
        )
    };
    let raw = complete(value, |i| {
        comma_list(i, |m| {
            let (r, name) = crate::grammar::expect("a mechanism name", token)(sws(m))?;
            let (r, ps) = params(r)?;
            Ok((r, (name, ps)))
        })
    })
    .map_err(|(at, e)| err(at, e))?;
    let mut out = Vec::with_capacity(raw.len());
    for (name, ps) in raw {
        let mut mech = SecurityMechanism {
            name: name.to_owned(),
            params: Vec::with_capacity(ps.len()),
        };
        for p in ps {
            let at = offset_in(value, p.name);
            match (p.name.to_ascii_lowercase().as_str(), p.value) {
                ("q", Some(v)) if qvalue(v).is_none() => {
                    return Err(err(at, "q = 0 to 1 with at most 3 decimals"));
                }
                ("q", None) => return Err(err(at, "q = a qvalue")),
                ("d-ver", v) => {
                    let ok = v.is_some_and(|v| {
                        let inner = v.strip_prefix('"').and_then(|v| v.strip_suffix('"'));
                        inner.is_some_and(|h| {
                            h.len() == 32 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                        })
                    });
                    if !ok {
                        return Err(err(at, "d-ver = a quoted 32-digit lower-case hex string"));
                    }
                }
                _ => {}
            }
            mech.params.push((p.name.to_owned(), p.value.map(str::to_owned)));
        }
        out.push(mech);
    }
    Ok(out)
}

/// Writes a mechanism list as one header value: `m1, m2`.
pub fn format_security_mechanisms(list: &[SecurityMechanism]) -> String {
    let mut out = String::new();
    for (k, m) in list.iter().enumerate() {
        if k > 0 {
            out.push_str(", ");
        }
        out.push_str(&m.to_string());
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rfc3329_section_4_example() {
        let list = parse_security_mechanisms("ipsec-ike;q=0.1, tls;q=0.2").unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!((list[0].name(), list[0].q()), ("ipsec-ike", Some(100)));
        assert_eq!(list[1].to_string(), "tls;q=0.2");
    }

    #[test]
    fn mediasec_and_unknown_params_survive() {
        let list = parse_security_mechanisms("sdes-srtp;mediasec, future-thing;x=\"a b\";q=0.500").unwrap();
        assert!(list[0].is_mediasec());
        assert_eq!(list[1].to_string(), "future-thing;x=\"a b\";q=0.500");
        assert_eq!(list[1].q(), Some(500));
    }

    #[test]
    fn bad_values_have_offsets() {
        let e = parse_security_mechanisms("tls;q=2").unwrap_err();
        assert_eq!(e.offset, 4);
        let e = parse_security_mechanisms("digest;d-ver=\"ABC\"").unwrap_err();
        assert_eq!(e.offset, 7);
        let e = parse_security_mechanisms("tls;;q=0.1").unwrap_err();
        assert_eq!(e.offset, 4);
    }
}
