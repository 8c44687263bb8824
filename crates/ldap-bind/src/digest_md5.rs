//! The client side of SASL DIGEST-MD5 (RFC 2831) with `qop=auth`: parse the server's
//! digest-challenge (§2.1.1), compute the digest-response (§2.1.2), check the server's
//! `rspauth` (§2.1.3). No integrity or confidentiality layer (`auth-int`, `auth-conf`): the
//! session is already inside TLS. RFC 6331 made the mechanism historic; it is here because
//! deployed phones and directories use it.

use md5::{Digest, Md5};
use zeroize::Zeroizing;

use crate::Error;

/// RFC 2831 §2.1.1: "the size of a digest-challenge MUST be less than 2048 bytes".
pub const MAX_CHALLENGE_LEN: usize = 2048;

/// The most directives a challenge may hold (a real one has five or six).
const MAX_DIRECTIVES: usize = 32;

/// A parsed digest-challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The realms offered, in order (may be empty).
    pub realms: Vec<String>,
    /// The server's nonce.
    pub nonce: String,
    /// The qop values offered (`auth` when the directive is absent).
    pub qop: Vec<String>,
    /// `charset=utf-8` was given.
    pub utf8: bool,
    /// `stale=true`.
    pub stale: bool,
}

fn challenge_error(offset: usize, what: &'static str) -> Error {
    Error::Challenge { offset, what }
}

/// Splits `key=value` directives (RFC 2831 §7.1 `#rule` lists: empty elements allowed),
/// unquoting quoted-strings. Returns (key lower-cased, value, offset of the directive).
fn directives(text: &[u8]) -> Result<Vec<(String, Vec<u8>, usize)>, Error> {
    let mut out = Vec::new();
    let mut i = 0;
    let skip_lws = |i: &mut usize| {
        while text
            .get(*i)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        {
            *i += 1;
        }
    };
    loop {
        skip_lws(&mut i);
        match text.get(i) {
            None => break,
            Some(b',') => {
                i += 1;
                continue;
            }
            Some(_) => {}
        }
        let start = i;
        while text
            .get(i)
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        {
            i += 1;
        }
        if i == start {
            return Err(challenge_error(i, "a directive name"));
        }
        let key = String::from_utf8_lossy(text.get(start..i).unwrap_or_default()).to_ascii_lowercase();
        skip_lws(&mut i);
        if text.get(i) != Some(&b'=') {
            return Err(challenge_error(i, "`=` after the directive name"));
        }
        i += 1;
        skip_lws(&mut i);
        let mut value = Vec::new();
        if text.get(i) == Some(&b'"') {
            i += 1;
            loop {
                match text.get(i) {
                    None => return Err(challenge_error(i, "the closing `\"` of a quoted string")),
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(b'\\') => {
                        let c = *text
                            .get(i + 1)
                            .ok_or(challenge_error(i, "a character after `\\`"))?;
                        value.push(c);
                        i += 2;
                    }
                    Some(c) => {
                        value.push(*c);
                        i += 1;
                    }
                }
            }
        } else {
            while let Some(c) = text.get(i) {
                if matches!(c, b',' | b' ' | b'\t' | b'\r' | b'\n' | b'"') {
                    break;
                }
                value.push(*c);
                i += 1;
            }
            if value.is_empty() {
                return Err(challenge_error(i, "a value"));
            }
        }
        out.push((key, value, start));
        if out.len() > MAX_DIRECTIVES {
            return Err(challenge_error(start, "at most 32 directives"));
        }
        skip_lws(&mut i);
        match text.get(i) {
            None => break,
            Some(b',') => i += 1,
            Some(_) => return Err(challenge_error(i, "`,` between directives")),
        }
    }
    Ok(out)
}

impl Challenge {
    /// Parses a digest-challenge. Never panics; every problem is an [`Error::Challenge`] with
    /// the byte offset.
    pub fn parse(text: &[u8]) -> Result<Challenge, Error> {
        if text.len() >= MAX_CHALLENGE_LEN {
            return Err(Error::TooLong { len: text.len() });
        }
        let mut realms = Vec::new();
        let mut nonce = None;
        let mut qop = None;
        let mut utf8 = false;
        let mut stale = false;
        let mut algorithm = false;
        for (key, value, at) in directives(text)? {
            let value_text =
                || String::from_utf8(value.clone()).map_err(|_| challenge_error(at, "UTF-8 text"));
            match key.as_str() {
                "realm" => realms.push(value_text()?),
                "nonce" if nonce.is_some() => return Err(challenge_error(at, "one nonce")),
                "nonce" => nonce = Some(value_text()?),
                "qop" if qop.is_some() => return Err(challenge_error(at, "one qop")),
                "qop" => {
                    qop = Some(
                        value_text()?
                            .split(',')
                            .map(|s| s.trim().to_owned())
                            .filter(|s| !s.is_empty())
                            .collect::<Vec<_>>(),
                    );
                }
                "charset" if value.eq_ignore_ascii_case(b"utf-8") => utf8 = true,
                "charset" => return Err(challenge_error(at, "charset=utf-8")),
                "algorithm" if value == b"md5-sess" => algorithm = true,
                "algorithm" => return Err(challenge_error(at, "algorithm=md5-sess")),
                "stale" => stale = value.eq_ignore_ascii_case(b"true"),
                _ => {} // maxbuf, cipher, auth-param: not needed for qop=auth
            }
        }
        let nonce = nonce.ok_or(challenge_error(0, "a nonce directive"))?;
        if !algorithm {
            return Err(challenge_error(0, "an algorithm=md5-sess directive"));
        }
        Ok(Challenge {
            realms,
            nonce,
            qop: qop.unwrap_or_else(|| vec!["auth".to_owned()]),
            utf8,
            stale,
        })
    }
}

/// RFC 2831 §2.1.2.1: with `charset=utf-8`, a value whose characters are all in ISO 8859-1 is
/// hashed in ISO 8859-1; otherwise in UTF-8.
fn hash_bytes(value: &str, utf8: bool) -> Zeroizing<Vec<u8>> {
    if utf8 && value.chars().all(|c| u32::from(c) <= 0xff) {
        Zeroizing::new(value.chars().map(|c| u32::from(c) as u8).collect())
    } else {
        Zeroizing::new(value.as_bytes().to_vec())
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// A quoted-string value (RFC 2831 §7.2): `"` and `\` escaped.
fn quote(value: &str) -> String {
    let mut s = String::with_capacity(value.len() + 2);
    s.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('"');
    s
}

/// What the client answers with, and what it expects in `rspauth`.
pub struct Answer {
    /// The digest-response to send.
    pub response: Zeroizing<Vec<u8>>,
    /// The `rspauth` value the server must send back (32 hex digits).
    pub expected_rspauth: String,
}

/// The credentials and the server's identity for [`respond`].
pub struct Credentials<'a> {
    /// The user name (authentication identity).
    pub user: &'a str,
    /// The password.
    pub password: &'a str,
    /// The server's host name: the digest-uri is `ldap/<host>`.
    pub host: &'a str,
}

/// The digest-response to `challenge` (RFC 2831 §2.1.2) with `qop=auth`, nonce count 1,
/// the first realm offered (none: an empty realm), and `cnonce` (random bytes from the
/// caller; at least 8, RFC 2831 asks for 64 bits of entropy).
pub fn respond(challenge: &Challenge, credentials: &Credentials<'_>, cnonce: &[u8]) -> Result<Answer, Error> {
    if cnonce.len() < 8 {
        return Err(Error::Randomness);
    }
    if !challenge.qop.iter().any(|q| q == "auth") {
        return Err(Error::NoAuthQop {
            offered: challenge.qop.join(","),
        });
    }
    let cnonce = hex(cnonce);
    let realm = challenge.realms.first().map(String::as_str).unwrap_or("");
    let digest_uri = format!("ldap/{}", credentials.host);
    let nc = "00000001";
    let user = hash_bytes(credentials.user, challenge.utf8);
    let realm_bytes = hash_bytes(realm, challenge.utf8);
    let password = hash_bytes(credentials.password, challenge.utf8);
    // A1 = { H( { username-value, ":", realm-value, ":", passwd } ), ":", nonce-value, ":",
    // cnonce-value }: the inner hash is the raw 16 bytes, not hex.
    let inner = Zeroizing::new(md5(&[&user, b":", &realm_bytes, b":", &password]));
    let ha1 = Zeroizing::new(hex(&md5(&[
        inner.as_slice(),
        b":",
        challenge.nonce.as_bytes(),
        b":",
        cnonce.as_bytes(),
    ])));
    let kd = |a2: &[&[u8]]| {
        let ha2 = hex(&md5(a2));
        hex(&md5(&[
            ha1.as_bytes(),
            b":",
            challenge.nonce.as_bytes(),
            b":",
            nc.as_bytes(),
            b":",
            cnonce.as_bytes(),
            b":auth:",
            ha2.as_bytes(),
        ]))
    };
    let response = kd(&[b"AUTHENTICATE:", digest_uri.as_bytes()]);
    let expected_rspauth = kd(&[b":", digest_uri.as_bytes()]);
    let mut out = String::new();
    if challenge.utf8 {
        out.push_str("charset=utf-8,");
    }
    out.push_str(&format!("username={}", quote(credentials.user)));
    if !challenge.realms.is_empty() {
        out.push_str(&format!(",realm={}", quote(realm)));
    }
    out.push_str(&format!(
        ",nonce={},cnonce={},nc={nc},qop=auth,digest-uri={},response={response}",
        quote(&challenge.nonce),
        quote(&cnonce),
        quote(&digest_uri)
    ));
    Ok(Answer {
        response: Zeroizing::new(out.into_bytes()),
        expected_rspauth,
    })
}

/// Checks the server's response-auth (`rspauth=<32 hex>`, RFC 2831 §2.1.3).
pub fn check_rspauth(server: &[u8], expected: &str) -> Result<(), Error> {
    let directives = directives(server)?;
    let got = directives
        .iter()
        .find(|(k, _, _)| k == "rspauth")
        .map(|(_, v, _)| v.as_slice())
        .ok_or(Error::NoRspauth)?;
    // Hex digits in either case; compared in constant time (`subtle`).
    let got = Zeroizing::new(got.to_ascii_lowercase());
    let expected = Zeroizing::new(expected.to_ascii_lowercase());
    if bool::from(subtle::ConstantTimeEq::ct_eq(got.as_slice(), expected.as_bytes())) {
        Ok(())
    } else {
        Err(Error::BadRspauth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2831 §4, the IMAP example: its `response` and `rspauth` from its inputs (its
    /// cnonce is text, not hex of random bytes, so the steps are driven one by one).
    #[test]
    fn rfc_2831_example() {
        let challenge = Challenge::parse(
            b"realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\",qop=\"auth\",algorithm=md5-sess,charset=utf-8",
        )
        .unwrap();
        assert_eq!(challenge.realms, ["elwood.innosoft.com"]);
        let cnonce = "OA6MHXh6VqTrRk";
        let inner = md5(&[b"chris:elwood.innosoft.com:secret"]);
        let ha1 = hex(&md5(&[&inner, b":OA6MG9tEQGm2hh:", cnonce.as_bytes()]));
        let ha2 = hex(&md5(&[b"AUTHENTICATE:imap/elwood.innosoft.com"]));
        let response = hex(&md5(&[
            ha1.as_bytes(),
            b":OA6MG9tEQGm2hh:00000001:",
            cnonce.as_bytes(),
            b":auth:",
            ha2.as_bytes(),
        ]));
        // The value RFC 2831 §4 prints for this exchange.
        assert_eq!(response, "d388dad90d4bbd760a152321f2143af7");
        let ha2 = hex(&md5(&[b":imap/elwood.innosoft.com"]));
        let rspauth = hex(&md5(&[
            ha1.as_bytes(),
            b":OA6MG9tEQGm2hh:00000001:",
            cnonce.as_bytes(),
            b":auth:",
            ha2.as_bytes(),
        ]));
        assert_eq!(rspauth, "ea40f60335c427b5527b84dbabcdfffd");
    }

    #[test]
    fn respond_builds_the_directives() {
        let c = Challenge::parse(
            b"realm=\"example.org\",nonce=\"abc\",qop=\"auth,auth-int,auth-conf\",charset=utf-8,algorithm=md5-sess",
        )
        .unwrap();
        let creds = Credentials {
            user: "alice",
            password: "alicepw",
            host: "localhost",
        };
        let a = respond(&c, &creds, &[1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        let text = String::from_utf8(a.response.to_vec()).unwrap();
        assert!(text.starts_with(
            "charset=utf-8,username=\"alice\",realm=\"example.org\",nonce=\"abc\",cnonce=\"0102030405060708\",nc=00000001,qop=auth,digest-uri=\"ldap/localhost\",response="
        ), "{text}");
        let ours = format!("rspauth={}", a.expected_rspauth);
        assert_eq!(check_rspauth(ours.as_bytes(), &a.expected_rspauth), Ok(()));
        assert_eq!(
            check_rspauth(b"rspauth=00000000000000000000000000000000", &a.expected_rspauth),
            Err(Error::BadRspauth)
        );
        assert_eq!(check_rspauth(b"", &a.expected_rspauth), Err(Error::NoRspauth));
        assert_eq!(respond(&c, &creds, &[1; 4]).err(), Some(Error::Randomness));
    }

    #[test]
    fn only_auth_int_is_refused() {
        let c = Challenge::parse(b"nonce=\"n\",qop=\"auth-conf\",algorithm=md5-sess").unwrap();
        let creds = Credentials {
            user: "u",
            password: "p",
            host: "h",
        };
        assert!(matches!(
            respond(&c, &creds, &[0; 16]),
            Err(Error::NoAuthQop { .. })
        ));
    }

    #[test]
    fn bad_challenges_say_where() {
        for (text, offset) in [
            (&b"nonce=\"abc"[..], 10),
            (b"nonce", 5),
            (b"=x", 0),
            (b"nonce=\"a\" x", 10),
            (b"nonce=a,nonce=b,algorithm=md5-sess", 8),
            (b"nonce=a,algorithm=md5", 8),
            (b"realm=x", 0),
        ] {
            match Challenge::parse(text) {
                Err(Error::Challenge { offset: o, .. }) => {
                    assert_eq!(o, offset, "{}", String::from_utf8_lossy(text))
                }
                other => panic!("{}: {other:?}", String::from_utf8_lossy(text)),
            }
        }
        assert!(matches!(
            Challenge::parse(&[b'a'; 4096]),
            Err(Error::TooLong { .. })
        ));
        assert!(Challenge::parse(b",, nonce=a ,algorithm=md5-sess,").is_ok());
    }

    #[test]
    fn latin1_values_are_hashed_in_latin1() {
        assert_eq!(hash_bytes("é", true).as_slice(), &[0xe9]);
        assert_eq!(hash_bytes("é", false).as_slice(), "é".as_bytes());
        assert_eq!(hash_bytes("€", true).as_slice(), "€".as_bytes());
    }
}
