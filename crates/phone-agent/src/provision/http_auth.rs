//! Answers to the HTTP authentication challenges of a provisioning fetch: a 401 from the
//! server (`WWW-Authenticate`, answered with the rule's `[--uid U --pwd P]`) and a 407 from the
//! HTTP proxy (`Proxy-Authenticate`, answered with `Proxy_Username` / `Proxy_Password`).
//! Basic (RFC 7617) and Digest (RFC 7616: MD5, SHA-256 and their `-sess` forms, `qop=auth` or
//! none) through sip-message's digest code; Digest is preferred when both are offered, SHA-256
//! over MD5. Anything else is refused with the challenge named.

use sip_message::digest::{Algorithm, Challenge, DigestRequest};

/// The header value that answers a challenge, and which scheme it uses.
pub struct Answer {
    /// The `Authorization` / `Proxy-Authorization` value.
    pub value: String,
    /// `Basic` or `Digest MD5`, `Digest SHA-256`… for reports.
    pub scheme: String,
}

/// What the request is, for Digest's `A2` (the method and the request-target as sent).
pub struct Target<'a> {
    /// `GET` or `CONNECT`.
    pub method: &'a str,
    /// The request-target as written on the request line (`/p.xml`, `http://h/p.xml`,
    /// `10.0.0.1:443`).
    pub uri: &'a str,
}

/// Answers the best of `challenges` (each one header value) for `user` / `password`.
pub fn answer(
    challenges: &[String],
    user: &str,
    password: &str,
    target: &Target<'_>,
) -> Result<Answer, String> {
    let mut parsed = Vec::new();
    let mut problems = Vec::new();
    for c in challenges {
        match Challenge::parse(c) {
            Ok(ch) => parsed.push(ch),
            Err(e) => problems.push(format!("`{c}`: {e}")),
        }
    }
    let rank = |c: &Challenge| -> Option<u8> {
        if c.scheme.eq_ignore_ascii_case("Digest") {
            let supported_qop = c.qop.is_empty() || c.qop.iter().any(|q| q.eq_ignore_ascii_case("auth"));
            match c.algorithm() {
                Some(Algorithm::Sha256 | Algorithm::Sha256Sess) if supported_qop => Some(3),
                Some(Algorithm::Md5 | Algorithm::Md5Sess) if supported_qop => Some(2),
                _ => None,
            }
        } else if c.scheme.eq_ignore_ascii_case("Basic") {
            Some(1)
        } else {
            None
        }
    };
    let best = parsed
        .iter()
        .filter_map(|c| rank(c).map(|r| (r, c)))
        .max_by_key(|(r, _)| *r)
        .map(|(_, c)| c);
    let Some(challenge) = best else {
        let offered: Vec<String> = parsed.iter().map(ToString::to_string).chain(problems).collect();
        return Err(format!(
            "no challenge this client can answer (Basic, or Digest MD5/SHA-256 with qop=auth): {}",
            if offered.is_empty() {
                "none given".to_owned()
            } else {
                offered.join("; ")
            }
        ));
    };
    if challenge.scheme.eq_ignore_ascii_case("Basic") {
        use base64::Engine as _;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        return Ok(Answer {
            value: format!("Basic {token}"),
            scheme: "Basic".into(),
        });
    }
    let cnonce = cnonce()?;
    let request = DigestRequest {
        username: user,
        password,
        method: target.method,
        uri: target.uri,
    };
    let credentials = challenge
        .respond(&request, &cnonce, 1)
        .map_err(|e| format!("Digest: {e}"))?;
    let algorithm = challenge.algorithm().map_or("MD5", Algorithm::as_str);
    Ok(Answer {
        value: credentials.to_string(),
        scheme: format!("Digest {algorithm}"),
    })
}

/// 16 random bytes in hex: the client nonce (the system's randomness; failure is an error).
fn cnonce() -> Result<String, String> {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| "Digest: no randomness for the client nonce".to_owned())?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GET: Target<'static> = Target {
        method: "GET",
        uri: "/p.xml",
    };

    #[test]
    fn basic_is_user_colon_password_in_base64() {
        let a = answer(&["Basic realm=\"phone\"".into()], "phone", "s3cret", &GET).unwrap();
        assert_eq!(a.value, "Basic cGhvbmU6czNjcmV0");
        assert_eq!(a.scheme, "Basic");
    }

    #[test]
    fn digest_preferred_and_sha256_over_md5() {
        let offered = [
            "Basic realm=\"r\"".to_owned(),
            "Digest realm=\"r\", nonce=\"n1\", qop=\"auth\", algorithm=MD5".to_owned(),
            "Digest realm=\"r\", nonce=\"n2\", qop=\"auth\", algorithm=SHA-256".to_owned(),
        ];
        let a = answer(&offered, "u", "p", &GET).unwrap();
        assert_eq!(a.scheme, "Digest SHA-256");
        assert!(
            a.value
                .starts_with("Digest username=\"u\", realm=\"r\", nonce=\"n2\", uri=\"/p.xml\""),
            "{}",
            a.value
        );
        assert!(a.value.contains("qop=auth, nc=00000001"), "{}", a.value);
    }

    /// RFC 7616 §3.9.1's example, with its cnonce: the response the RFC prints.
    #[test]
    fn rfc7616_md5_example() {
        let challenge = Challenge::parse(
            "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=MD5, \
             nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"",
        )
        .unwrap();
        let request = DigestRequest {
            username: "Mufasa",
            password: "Circle of Life",
            method: "GET",
            uri: "/dir/index.html",
        };
        let c = challenge
            .respond(&request, "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", 1)
            .unwrap();
        assert_eq!(c.response, "8ca523f5e9506fed4657c9700eebdbec");
    }

    #[test]
    fn unknown_schemes_are_refused_naming_them() {
        let e = answer(&["Negotiate".into(), "NTLM".into()], "u", "p", &GET)
            .err()
            .unwrap();
        assert!(e.contains("Negotiate") && e.contains("NTLM"), "{e}");
        let e = answer(
            &["Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\"".into()],
            "u",
            "p",
            &GET,
        )
        .err()
        .unwrap();
        assert!(e.contains("auth-int"), "{e}");
    }
}
