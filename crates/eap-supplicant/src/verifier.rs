//! The server certificate policy for EAP: the chain to a configured CA and the optional
//! [`ServerNameMatch`] on the certificate's names. The configuration (`config.rs`) builds it; it
//! imports nothing from the configuration or the method.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::verify_server_cert_signed_by_trust_anchor;
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// How the server certificate's names are checked, beyond chaining to the configured CA: against
/// the SAN dNSNames, or against the subject CN when the certificate has no dNSName.
///
/// EAP has no host name to check against, so by default only the chain is checked; a deployment
/// that shares its CA with other servers should name the RADIUS server (wpa_supplicant's
/// `domain_match` / `domain_suffix_match`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServerNameMatch {
    /// A name equals this one (ASCII case-insensitive).
    Exact(String),
    /// A name equals this domain or ends with `.` followed by it.
    Suffix(String),
}

impl ServerNameMatch {
    pub(crate) fn matches(&self, dns_name: &str) -> bool {
        let name = dns_name.trim_end_matches('.');
        match self {
            ServerNameMatch::Exact(want) => name.eq_ignore_ascii_case(want.trim_end_matches('.')),
            ServerNameMatch::Suffix(suffix) => {
                let suffix = suffix.trim_start_matches('.').trim_end_matches('.');
                if name.eq_ignore_ascii_case(suffix) {
                    return true;
                }
                name.len() > suffix.len()
                    && name.get(name.len() - suffix.len() - 1..).is_some_and(|tail| {
                        tail.starts_with('.') && tail.get(1..).is_some_and(|t| t.eq_ignore_ascii_case(suffix))
                    })
            }
        }
    }
}

/// The server certificate policy for EAP: the chain must reach a configured CA (rustls-webpki,
/// EKU serverAuth when present); there is no host name, so the optional [`ServerNameMatch`] on
/// SAN dNSNames takes its place.
#[derive(Debug)]
pub(crate) struct EapServerVerifier {
    roots: Arc<RootCertStore>,
    name_match: Option<ServerNameMatch>,
    provider: Arc<CryptoProvider>,
}

impl EapServerVerifier {
    pub(crate) fn new(
        roots: Arc<RootCertStore>,
        name_match: Option<ServerNameMatch>,
        provider: Arc<CryptoProvider>,
    ) -> Self {
        EapServerVerifier {
            roots,
            name_match,
            provider,
        }
    }
}

impl ServerCertVerifier for EapServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = ParsedCertificate::try_from(end_entity)?;
        verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.provider.signature_verification_algorithms.all,
        )?;
        if let Some(want) = &self.name_match {
            let names = tls_hostname::CertificateNames::from_der(end_entity.as_ref())
                .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
            // SAN dNSNames; the subject CN only when there is none (wpa_supplicant's
            // domain_suffix_match does the same for CN-only RADIUS certificates).
            let candidates = if names.dns_names().is_empty() {
                names.common_names()
            } else {
                names.dns_names()
            };
            if !candidates.iter().any(|n| want.matches(n)) {
                tracing::warn!(
                    "EAP-TLS: server certificate names {candidates:?} do not satisfy the configured {want:?}"
                );
                return Err(rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName,
                ));
            }
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::ServerNameMatch;

    #[test]
    fn suffix_match_follows_label_boundaries() {
        let m = ServerNameMatch::Suffix("example.org".into());
        assert!(m.matches("example.org"));
        assert!(m.matches("radius.EXAMPLE.org"));
        assert!(m.matches("a.b.example.org."));
        assert!(!m.matches("badexample.org"));
        assert!(!m.matches("example.org.evil"));
        assert!(!m.matches("org"));
        let e = ServerNameMatch::Exact("radius.example.org".into());
        assert!(e.matches("RADIUS.example.org"));
        assert!(!e.matches("x.radius.example.org"));
    }
}
