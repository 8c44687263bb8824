//! Running x509-limbo test cases through [`ServerIdentityVerifier`]. Shared by the `limbo`
//! integration test and the `limbo` example (which `cargo xtask limbo` runs).
//!
//! The input is limbo's own `limbo.json` schema (`limbo-schema.json` upstream); the output is
//! its `LimboResult` format: `{version: 1, harness, results: [{id, actual_result, context}]}`.

use rustls::client::danger::{ServerCertVerified, ServerCertVerifier as _};
use serde::Deserialize;
use tls_hostname::pki_types::pem::PemObject;
use tls_hostname::pki_types::{CertificateDer, CertificateRevocationListDer, ServerName, UnixTime};
use tls_hostname::{Profile, ReferenceName, ServerIdentityVerifier, VerifiedIdentity, VerifyError};

/// The suite file.
#[derive(Debug, Deserialize)]
pub struct Limbo {
    /// Every test case.
    pub testcases: Vec<Testcase>,
}

/// One limbo test case (the fields this harness reads).
#[derive(Debug, Deserialize)]
pub struct Testcase {
    pub id: String,
    #[serde(default)]
    pub features: Vec<String>,
    pub validation_kind: String,
    pub trusted_certs: Vec<String>,
    pub untrusted_intermediates: Vec<String>,
    pub peer_certificate: String,
    pub validation_time: Option<String>,
    pub expected_result: String,
    pub expected_peer_name: Option<PeerName>,
    pub max_chain_depth: Option<usize>,
    #[serde(default)]
    pub crls: Vec<String>,
    #[serde(default)]
    pub signature_algorithms: Vec<String>,
    #[serde(default)]
    pub key_usage: Vec<String>,
    #[serde(default)]
    pub extended_key_usage: Vec<String>,
}

/// `{kind: DNS|IP|RFC822, value}`.
#[derive(Debug, Deserialize)]
pub struct PeerName {
    pub kind: String,
    pub value: String,
}

/// limbo's `actual_result`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actual {
    Success,
    Failure,
    Skipped,
}

impl Actual {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "SUCCESS",
            Self::Failure => "FAILURE",
            Self::Skipped => "SKIPPED",
        }
    }
}

/// One case's outcome.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub id: String,
    pub expected: String,
    pub actual: Actual,
    pub context: String,
}

impl Outcome {
    pub fn as_expected(&self) -> bool {
        self.actual.as_str() == self.expected
    }
}

pub fn load(json: &str) -> Result<Limbo, serde_json::Error> {
    serde_json::from_str(json)
}

/// The cases the issue calls name-related: SAN and CN matching, and name constraints.
pub fn is_name_related(id: &str) -> bool {
    [
        "webpki::san::",
        "webpki::cn::",
        "rfc5280::san::",
        "rfc5280::nc::",
        "webpki::nc::",
    ]
    .iter()
    .any(|p| id.starts_with(p))
}

/// Runs one case under `profile`.
pub fn evaluate(tc: &Testcase, profile: Profile) -> Outcome {
    let (actual, context) = run(tc, profile);
    Outcome {
        id: tc.id.clone(),
        expected: tc.expected_result.clone(),
        actual,
        context,
    }
}

fn run(tc: &Testcase, profile: Profile) -> (Actual, String) {
    if tc.validation_kind != "SERVER" {
        return (
            Actual::Skipped,
            "CLIENT validation: this is a server-certificate verifier".into(),
        );
    }
    if !tc.signature_algorithms.is_empty() || !tc.key_usage.is_empty() {
        return (
            Actual::Skipped,
            "signature_algorithms / key_usage constraints not supported".into(),
        );
    }
    if tc.extended_key_usage.iter().any(|e| e != "serverAuth") {
        return (Actual::Skipped, "only the serverAuth EKU is supported".into());
    }
    let Ok(leaf) = CertificateDer::from_pem_slice(tc.peer_certificate.as_bytes()) else {
        return (Actual::Failure, "peer certificate: PEM does not parse".into());
    };
    let mut roots = Vec::new();
    for pem in &tc.trusted_certs {
        match CertificateDer::from_pem_slice(pem.as_bytes()) {
            Ok(der) => roots.push(der),
            Err(e) => return (Actual::Failure, format!("trusted certificate PEM: {e}")),
        }
    }
    let mut intermediates = Vec::new();
    for pem in &tc.untrusted_intermediates {
        match CertificateDer::from_pem_slice(pem.as_bytes()) {
            Ok(der) => intermediates.push(der),
            Err(e) => return (Actual::Failure, format!("intermediate PEM: {e}")),
        }
    }
    // Unusable roots are left out, as a trust store would (limbo's rustls harness does too).
    let usable: Vec<CertificateDer<'static>> = roots
        .into_iter()
        .filter(|r| ServerIdentityVerifier::new([r.clone()], profile).is_ok())
        .collect();
    let mut verifier = match ServerIdentityVerifier::new(usable, profile) {
        Ok(v) => v,
        Err(e) => return (Actual::Failure, e.to_string()),
    };
    if !tc.crls.is_empty() {
        let mut crls = Vec::new();
        for pem in &tc.crls {
            match CertificateRevocationListDer::from_pem_slice(pem.as_bytes()) {
                Ok(der) => crls.push(der),
                Err(e) => return (Actual::Failure, format!("CRL PEM: {e}")),
            }
        }
        verifier = match verifier.with_crls(crls) {
            Ok(v) => v,
            Err(e) => return (Actual::Failure, e.to_string()),
        };
    }
    if let Some(depth) = tc.max_chain_depth {
        verifier = verifier.with_max_intermediates(depth);
    }
    let now = match tc.validation_time.as_deref() {
        Some(t) => match parse_time(t) {
            Some(secs) => UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs)),
            None => return (Actual::Failure, format!("validation_time {t:?} does not parse")),
        },
        None => UnixTime::now(),
    };
    let reference = match &tc.expected_peer_name {
        None => None,
        Some(p) if p.kind == "DNS" || p.kind == "IP" => match ReferenceName::parse(&p.value) {
            Ok(r) => Some(r),
            Err(e) => return (Actual::Failure, format!("reference name: {e}")),
        },
        Some(p) => {
            return (
                Actual::Skipped,
                format!("peer name kind {} not supported", p.kind),
            );
        }
    };
    let identity = verifier.verify_identity(&leaf, &intermediates, reference.as_ref(), now);
    // The handshake path (rustls' ServerCertVerifier, which reads the name straight from the
    // DER when it can) must give the same answer and the same error.
    let server_name = tc
        .expected_peer_name
        .as_ref()
        .and_then(|p| ServerName::try_from(p.value.as_str()).ok());
    if let Some(server_name) = server_name {
        let handshake = verifier.verify_server_cert(&leaf, &intermediates, &server_name, &[], now);
        if let Some(why) = handshake_differs(&identity, &handshake) {
            return (Actual::Failure, format!("{HANDSHAKE_DIFFERS}: {why}"));
        }
    }
    match identity {
        Ok(v) => (
            Actual::Success,
            v.matched()
                .map(|m| format!("matched {}", m.presented()))
                .unwrap_or_default(),
        ),
        Err(e @ VerifyError::Name(_)) => (Actual::Failure, e.to_string()),
        Err(e) => (Actual::Failure, e.to_string()),
    }
}

/// The context of an outcome where the two verification paths disagree.
pub const HANDSHAKE_DIFFERS: &str = "handshake path differs";

/// Why `verify_server_cert`'s result is not `verify_identity`'s, if it is not.
fn handshake_differs(
    identity: &Result<VerifiedIdentity, VerifyError>,
    handshake: &Result<ServerCertVerified, rustls::Error>,
) -> Option<String> {
    use rustls::CertificateError as C;
    match (identity, handshake) {
        (Ok(_), Ok(_)) => None,
        (Err(VerifyError::Expired { .. }), Err(rustls::Error::InvalidCertificate(C::Expired)))
        | (Err(VerifyError::NotYetValid { .. }), Err(rustls::Error::InvalidCertificate(C::NotValidYet)))
        | (Err(VerifyError::UnknownIssuer), Err(rustls::Error::InvalidCertificate(C::UnknownIssuer))) => None,
        (Err(e), Err(rustls::Error::InvalidCertificate(C::Other(other))))
            if other.to_string() == e.to_string() =>
        {
            None
        }
        (identity, handshake) => Some(format!(
            "verify_identity {identity:?}, verify_server_cert {handshake:?}"
        )),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|+00:00)` to Unix seconds (limbo writes UTC).
pub fn parse_time(t: &str) -> Option<u64> {
    let num = |s: Option<&str>| s.and_then(|s| s.parse::<i64>().ok());
    let (date, time) = t.split_once('T')?;
    let mut d = date.split('-');
    let (y, m, day) = (num(d.next())?, num(d.next())?, num(d.next())?);
    let time = time.trim_end_matches('Z');
    let time = time
        .split_once('+')
        .map_or(time, |(t, off)| if off == "00:00" { t } else { "" });
    let time = time.split_once('.').map_or(time, |(t, _)| t);
    let mut hms = time.split(':');
    let (hh, mm, ss) = (num(hms.next())?, num(hms.next())?, num(hms.next())?);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()
}

/// limbo's `LimboResult` JSON.
pub fn results_json(harness: &str, outcomes: &[Outcome]) -> serde_json::Value {
    serde_json::json!({
        "version": 1,
        "harness": harness,
        "results": outcomes.iter().map(|o| serde_json::json!({
            "id": o.id,
            "actual_result": o.actual.as_str(),
            "context": o.context,
        })).collect::<Vec<_>>(),
    })
}

/// (as expected, not as expected, skipped).
pub fn score(outcomes: &[Outcome]) -> (usize, usize, usize) {
    let skipped = outcomes.iter().filter(|o| o.actual == Actual::Skipped).count();
    let pass = outcomes.iter().filter(|o| o.as_expected()).count();
    (pass, outcomes.len() - pass - skipped, skipped)
}
