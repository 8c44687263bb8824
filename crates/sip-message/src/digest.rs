//! HTTP Digest authentication as SIP uses it (RFC 3261 §22.4, RFC 2617, RFC 8760): parse
//! challenges (`WWW-Authenticate`, `Proxy-Authenticate`) and credentials (`Authorization`,
//! `Proxy-Authorization`), compute a response (a UA answering a 401/407) and verify one (a UA
//! that challenges an incoming INVITE). MD5 and SHA-256, each plain and `-sess`; `qop=auth` or
//! no qop. `auth-int` is refused: a phone has no use for it.

use std::fmt::{self, Write as _};

use md5::Digest as _;
use thiserror::Error;
use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind};
use crate::grammar::{
    PResult, comma_list, complete, ct_eq, expect, lws, quoted_string, sep, sws, token, unquote,
};

/// The digest algorithm (`algorithm=`; absent means MD5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `MD5` (RFC 2617).
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256` (RFC 8760).
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
}

impl Algorithm {
    /// Reads an `algorithm` value, case-insensitive.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        [
            Algorithm::Md5,
            Algorithm::Md5Sess,
            Algorithm::Sha256,
            Algorithm::Sha256Sess,
        ]
        .into_iter()
        .find(|a| a.as_str().eq_ignore_ascii_case(name))
    }

    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    fn is_sess(self) -> bool {
        matches!(self, Algorithm::Md5Sess | Algorithm::Sha256Sess)
    }

    /// Lower-case hex of the hash of `data`.
    fn hex(self, data: &[u8]) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(64));
        let mut push = |bytes: &[u8]| {
            for b in bytes {
                let _ = write!(out, "{b:02x}");
            }
        };
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => push(&md5::Md5::digest(data)),
            Algorithm::Sha256 | Algorithm::Sha256Sess => {
                push(ring::digest::digest(&ring::digest::SHA256, data).as_ref());
            }
        }
        out
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `auth-param`s as (name, value without quotes) in order, plus whether each was quoted.
type AuthParams = Vec<(String, String, bool)>;

fn auth_param(i: &str) -> PResult<'_, (String, String, bool)> {
    let (r, name) = expect("a parameter name", token)(i)?;
    let (r, ()) = sep('=', "`=` after the parameter name")(r)?;
    let r = sws(r);
    if r.starts_with('"') {
        let (r, q) = quoted_string(r)?;
        Ok((r, (name.to_owned(), unquote(q).into_owned(), true)))
    } else {
        let (r, v) = expect("a token or quoted string", token)(r)?;
        Ok((r, (name.to_owned(), v.to_owned(), false)))
    }
}

/// `auth-scheme LWS auth-param *(COMMA auth-param)`.
fn scheme_and_params(value: &str, header: &'static str) -> Result<(String, AuthParams), Error> {
    complete(value, |i| {
        let (r, scheme) = expect("an authentication scheme", token)(sws(i))?;
        if sws(r).is_empty() {
            return Ok((r, (scheme.to_owned(), Vec::new())));
        }
        let (r, ()) = lws(r)?;
        let (r, params) = comma_list(r, auth_param)?;
        Ok((r, (scheme.to_owned(), params)))
    })
    .map_err(|(at, expected)| Error::new(ErrorKind::Header { header, expected }, at))
}

fn get<'p>(params: &'p AuthParams, name: &str) -> Option<&'p str> {
    params
        .iter()
        .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v, _)| v.as_str())
}

/// A challenge from `WWW-Authenticate` or `Proxy-Authenticate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// `Digest` or another scheme.
    pub scheme: String,
    /// `realm`.
    pub realm: String,
    /// `nonce`.
    pub nonce: String,
    /// `opaque`, echoed back unchanged.
    pub opaque: Option<String>,
    /// `algorithm` as written (absent: MD5).
    pub algorithm: Option<String>,
    /// The `qop` options offered (`auth`, `auth-int`).
    pub qop: Vec<String>,
    /// `stale=true`: the nonce expired, the credentials were right.
    pub stale: bool,
}

impl Challenge {
    /// Parses a challenge header value. Offsets in errors are into `value`.
    pub fn parse(value: &str) -> Result<Challenge, Error> {
        let (scheme, params) = scheme_and_params(value, "WWW-Authenticate")?;
        Ok(Challenge {
            realm: get(&params, "realm").unwrap_or_default().to_owned(),
            nonce: get(&params, "nonce").unwrap_or_default().to_owned(),
            opaque: get(&params, "opaque").map(str::to_owned),
            algorithm: get(&params, "algorithm").map(str::to_owned),
            qop: get(&params, "qop")
                .map(|q| {
                    q.split(',')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            stale: get(&params, "stale").is_some_and(|s| s.eq_ignore_ascii_case("true")),
            scheme,
        })
    }

    /// A Digest challenge for `realm` with a `nonce` the caller generated, `qop="auth"`.
    pub fn digest(realm: &str, nonce: &str, algorithm: Algorithm) -> Challenge {
        Challenge {
            scheme: "Digest".into(),
            realm: realm.into(),
            nonce: nonce.into(),
            opaque: None,
            algorithm: Some(algorithm.as_str().into()),
            qop: vec!["auth".into()],
            stale: false,
        }
    }

    /// The algorithm, MD5 when absent; `None` when unknown.
    pub fn algorithm(&self) -> Option<Algorithm> {
        self.algorithm
            .as_deref()
            .map_or(Some(Algorithm::Md5), Algorithm::from_name)
    }

    /// Computes the credentials that answer this challenge for a request (RFC 2617 §3.2.2).
    /// `cnonce` is a fresh client nonce, `nc` the count of requests sent with this nonce.
    pub fn respond(
        &self,
        request: &DigestRequest<'_>,
        cnonce: &str,
        nc: u32,
    ) -> Result<Credentials, DigestError> {
        if !self.scheme.eq_ignore_ascii_case("Digest") {
            return Err(DigestError::NotDigest(self.scheme.clone()));
        }
        let algorithm = self
            .algorithm()
            .ok_or_else(|| DigestError::UnsupportedAlgorithm(self.algorithm.clone().unwrap_or_default()))?;
        let qop = if self.qop.is_empty() {
            None
        } else if self.qop.iter().any(|q| q.eq_ignore_ascii_case("auth")) {
            Some("auth".to_owned())
        } else {
            return Err(DigestError::UnsupportedQop(self.qop.join(",")));
        };
        let nc_text = format!("{nc:08x}");
        let (cnonce, nc) = match qop {
            Some(_) => (Some(cnonce.to_owned()), Some(nc_text)),
            None if algorithm.is_sess() => (Some(cnonce.to_owned()), None),
            None => (None, None),
        };
        let response = compute(
            algorithm,
            request,
            &self.realm,
            &self.nonce,
            cnonce.as_deref(),
            nc.as_deref(),
            qop.as_deref(),
        );
        Ok(Credentials {
            scheme: "Digest".into(),
            username: request.username.to_owned(),
            realm: self.realm.clone(),
            nonce: self.nonce.clone(),
            uri: request.uri.to_owned(),
            response: response.to_string(),
            algorithm: self.algorithm.clone(),
            cnonce,
            opaque: self.opaque.clone(),
            qop,
            nc,
        })
    }
}

impl fmt::Display for Challenge {
    /// The header value: `Digest realm="...", nonce="...", ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} realm=\"{}\", nonce=\"{}\"",
            self.scheme,
            escape(&self.realm),
            escape(&self.nonce)
        )?;
        if let Some(a) = &self.algorithm {
            write!(f, ", algorithm={a}")?;
        }
        if !self.qop.is_empty() {
            write!(f, ", qop=\"{}\"", self.qop.join(","))?;
        }
        if let Some(o) = &self.opaque {
            write!(f, ", opaque=\"{}\"", escape(o))?;
        }
        if self.stale {
            f.write_str(", stale=TRUE")?;
        }
        Ok(())
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// What the digest covers besides the challenge: who, which password, which request.
#[derive(Clone, Copy)]
pub struct DigestRequest<'a> {
    /// The user name.
    pub username: &'a str,
    /// The password (never logged).
    pub password: &'a str,
    /// The request method (`REGISTER`, `INVITE`).
    pub method: &'a str,
    /// The `digest-uri`: the Request-URI as written.
    pub uri: &'a str,
}

impl fmt::Debug for DigestRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigestRequest")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("method", &self.method)
            .field("uri", &self.uri)
            .finish()
    }
}

/// The request-digest of RFC 2617 §3.2.2.1 (with RFC 8760's SHA-256).
fn compute(
    algorithm: Algorithm,
    request: &DigestRequest<'_>,
    realm: &str,
    nonce: &str,
    cnonce: Option<&str>,
    nc: Option<&str>,
    qop: Option<&str>,
) -> Zeroizing<String> {
    let a1 = Zeroizing::new(format!("{}:{}:{}", request.username, realm, request.password));
    let mut ha1 = algorithm.hex(a1.as_bytes());
    if algorithm.is_sess() {
        let sess = Zeroizing::new(format!(
            "{}:{}:{}",
            ha1.as_str(),
            nonce,
            cnonce.unwrap_or_default()
        ));
        ha1 = algorithm.hex(sess.as_bytes());
    }
    let ha2 = algorithm.hex(format!("{}:{}", request.method, request.uri).as_bytes());
    let kd = match qop {
        Some(q) => Zeroizing::new(format!(
            "{}:{}:{}:{}:{}:{}",
            ha1.as_str(),
            nonce,
            nc.unwrap_or_default(),
            cnonce.unwrap_or_default(),
            q,
            ha2.as_str()
        )),
        None => Zeroizing::new(format!("{}:{}:{}", ha1.as_str(), nonce, ha2.as_str())),
    };
    algorithm.hex(kd.as_bytes())
}

/// Credentials from `Authorization` or `Proxy-Authorization`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `Digest` or another scheme.
    pub scheme: String,
    /// `username`.
    pub username: String,
    /// `realm`.
    pub realm: String,
    /// `nonce`.
    pub nonce: String,
    /// `uri` (the digest-uri).
    pub uri: String,
    /// `response`: the request-digest in lower-case hex.
    pub response: String,
    /// `algorithm` as written.
    pub algorithm: Option<String>,
    /// `cnonce`.
    pub cnonce: Option<String>,
    /// `opaque`.
    pub opaque: Option<String>,
    /// `qop`.
    pub qop: Option<String>,
    /// `nc`: eight hex digits.
    pub nc: Option<String>,
}

impl Credentials {
    /// Parses a credentials header value. Any scheme parses (RFC 4475 §3.3.7); only Digest
    /// verifies. Offsets in errors are into `value`.
    pub fn parse(value: &str) -> Result<Credentials, Error> {
        let (scheme, params) = scheme_and_params(value, "Authorization")?;
        let s = |n| get(&params, n).map(str::to_owned);
        Ok(Credentials {
            username: s("username").unwrap_or_default(),
            realm: s("realm").unwrap_or_default(),
            nonce: s("nonce").unwrap_or_default(),
            uri: s("uri").unwrap_or_default(),
            response: s("response").unwrap_or_default(),
            algorithm: s("algorithm"),
            cnonce: s("cnonce"),
            opaque: s("opaque"),
            qop: s("qop"),
            nc: s("nc"),
            scheme,
        })
    }

    /// Checks these credentials against the challenge the verifier issued and the request
    /// they came with (RFC 2617 §3.2.2; `password` is the verifier's copy). The response is
    /// compared in constant time.
    pub fn verify(&self, challenge: &Challenge, method: &str, password: &str) -> Result<(), DigestError> {
        if !self.scheme.eq_ignore_ascii_case("Digest") {
            return Err(DigestError::NotDigest(self.scheme.clone()));
        }
        let algorithm = match &self.algorithm {
            None => Algorithm::Md5,
            Some(a) => Algorithm::from_name(a).ok_or_else(|| DigestError::UnsupportedAlgorithm(a.clone()))?,
        };
        if Some(algorithm) != challenge.algorithm() {
            return Err(DigestError::Mismatch("algorithm"));
        }
        if self.realm != challenge.realm {
            return Err(DigestError::Mismatch("realm"));
        }
        if !ct_eq(self.nonce.as_bytes(), challenge.nonce.as_bytes()) {
            return Err(DigestError::Mismatch("nonce"));
        }
        if self.opaque != challenge.opaque {
            return Err(DigestError::Mismatch("opaque"));
        }
        match self.qop.as_deref() {
            None if challenge.qop.is_empty() => {}
            None => return Err(DigestError::Missing("qop")),
            Some(q)
                if q.eq_ignore_ascii_case("auth")
                    && challenge.qop.iter().any(|c| c.eq_ignore_ascii_case("auth")) =>
            {
                let nc_ok = self
                    .nc
                    .as_deref()
                    .is_some_and(|n| n.len() == 8 && n.bytes().all(|b| b.is_ascii_hexdigit()));
                if !nc_ok {
                    return Err(DigestError::Missing("nc (8 hex digits)"));
                }
                if self.cnonce.as_deref().is_none_or(str::is_empty) {
                    return Err(DigestError::Missing("cnonce"));
                }
            }
            Some(q) => return Err(DigestError::UnsupportedQop(q.to_owned())),
        }
        let request = DigestRequest {
            username: &self.username,
            password,
            method,
            uri: &self.uri,
        };
        let expected = compute(
            algorithm,
            &request,
            &self.realm,
            &self.nonce,
            self.cnonce.as_deref(),
            self.nc.as_deref(),
            self.qop.as_deref(),
        );
        if ct_eq(expected.as_bytes(), self.response.to_ascii_lowercase().as_bytes()) {
            Ok(())
        } else {
            Err(DigestError::WrongResponse)
        }
    }
}

impl fmt::Display for Credentials {
    /// The header value: `Digest username="...", realm="...", ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", response=\"{}\"",
            self.scheme,
            escape(&self.username),
            escape(&self.realm),
            escape(&self.nonce),
            escape(&self.uri),
            self.response
        )?;
        if let Some(a) = &self.algorithm {
            write!(f, ", algorithm={a}")?;
        }
        if let Some(c) = &self.cnonce {
            write!(f, ", cnonce=\"{}\"", escape(c))?;
        }
        if let Some(o) = &self.opaque {
            write!(f, ", opaque=\"{}\"", escape(o))?;
        }
        if let Some(q) = &self.qop {
            write!(f, ", qop={q}")?;
        }
        if let Some(n) = &self.nc {
            write!(f, ", nc={n}")?;
        }
        Ok(())
    }
}

/// Why a digest could not be computed or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DigestError {
    /// The scheme is not Digest.
    #[error("authentication scheme `{0}` is not Digest")]
    NotDigest(String),
    /// An algorithm other than MD5, SHA-256 and their -sess forms.
    #[error("unsupported digest algorithm `{0}`")]
    UnsupportedAlgorithm(String),
    /// A qop other than `auth`.
    #[error("unsupported qop `{0}` (only auth)")]
    UnsupportedQop(String),
    /// A parameter the verifier needs is absent or malformed.
    #[error("credentials lack {0}")]
    Missing(&'static str),
    /// A parameter differs from the challenge.
    #[error("credentials {0} differs from the challenge")]
    Mismatch(&'static str),
    /// The response is not the request-digest the password gives.
    #[error("wrong digest response (wrong password or altered request)")]
    WrongResponse,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// RFC 7616 §3.9.1: the same request with MD5 and SHA-256.
    #[test]
    fn rfc7616_examples() {
        let req = DigestRequest {
            username: "Mufasa",
            password: "Circle of Life",
            method: "GET",
            uri: "/dir/index.html",
        };
        let cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
        for (alg, expected) in [
            (Algorithm::Md5, "8ca523f5e9506fed4657c9700eebdbec"),
            (
                Algorithm::Sha256,
                "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
            ),
        ] {
            let mut c = Challenge::digest(
                "http-auth@example.org",
                "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
                alg,
            );
            c.opaque = Some("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS".into());
            let creds = c.respond(&req, cnonce, 1).unwrap();
            assert_eq!(creds.response, expected);
            assert_eq!(creds.nc.as_deref(), Some("00000001"));
            let parsed = Credentials::parse(&creds.to_string()).unwrap();
            assert_eq!(parsed, creds);
            assert_eq!(parsed.verify(&c, "GET", "Circle of Life"), Ok(()));
            assert_eq!(
                parsed.verify(&c, "GET", "circle of life"),
                Err(DigestError::WrongResponse)
            );
            assert_eq!(
                parsed.verify(&c, "POST", "Circle of Life"),
                Err(DigestError::WrongResponse)
            );
        }
    }

    /// RFC 2617 §3.5.
    #[test]
    fn rfc2617_example() {
        let c = Challenge::parse(
            "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
        )
        .unwrap();
        assert_eq!(c.qop, ["auth", "auth-int"]);
        let req = DigestRequest {
            username: "Mufasa",
            password: "Circle Of Life",
            method: "GET",
            uri: "/dir/index.html",
        };
        assert_eq!(
            c.respond(&req, "0a4f113b", 1).unwrap().response,
            "6629fae49393a05397450978507c4ef1"
        );
    }

    #[test]
    fn unknown_scheme_parses_but_does_not_verify() {
        let c = Credentials::parse("NoOneKnowsThisScheme opaque-data=here").unwrap();
        assert_eq!(c.scheme, "NoOneKnowsThisScheme");
        let ch = Challenge::digest("r", "n", Algorithm::Md5);
        assert!(matches!(
            c.verify(&ch, "REGISTER", "x"),
            Err(DigestError::NotDigest(_))
        ));
    }

    #[test]
    fn malformed_has_offset() {
        let e = Credentials::parse("Digest username=\"alice, realm=x").unwrap_err();
        assert_eq!(e.offset, 16);
    }
}
