//! The rustls client configuration every TLS client of the agent uses (SIP over TLS, LDAPS and
//! LDAP StartTLS): `TLS_Cipher_List` through cipher-string's rustls projection, the server
//! certificate through tls-hostname's verifier under the phone's profile (SPEC §9, §10).
//!
//! Nothing is printed here: what the caller should tell the user comes back in
//! [`ClientTls::warnings`].

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};

/// Whether the server's name is checked (SPEC §10: always for LDAP; per line for SIP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameCheck<'a> {
    /// Check it (tls-hostname's `Phone` profile: SAN, then CN when there is no SAN).
    Enabled,
    /// Do not check it; the setting that turned it off is named in the warning and in every
    /// handshake's log line.
    Disabled {
        /// E.g. `TLS_Name_Validate_1_`.
        setting: &'a str,
    },
}

/// A client configuration and what the user should know about it.
pub struct ClientTls {
    /// The configuration to hand to rustls (or tokio-rustls, or ldap3).
    pub config: Arc<rustls::ClientConfig>,
    /// The TLS 1.2 suites offered, IANA names in order (TLS 1.3 suites are always offered).
    pub tls12_suites: Vec<&'static str>,
    /// Warnings: a cipher list replaced by the default, a name check turned off.
    pub warnings: Vec<String>,
}

/// The CA certificates in a PEM file.
pub fn read_roots(path: &Path) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>> {
    use rustls_pki_types::pem::PemObject;
    let roots = rustls_pki_types::CertificateDer::pem_file_iter(path)
        .with_context(|| format!("reading {}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("a certificate in {}", path.display()))?;
    if roots.is_empty() {
        bail!("{}: no CA certificate in it", path.display());
    }
    Ok(roots)
}

/// A client configuration trusting the CA certificates in `ca_file`, offering `cipher_list`
/// (the value of `TLS_Cipher_List`; blank, refused, or nothing rustls can negotiate: the
/// curl-based applications' default, reported in the warnings).
pub fn client_config(ca_file: &Path, cipher_list: &str, name_check: NameCheck<'_>) -> Result<ClientTls> {
    let roots = read_roots(ca_file)?;
    let mut verifier = tls_hostname::ServerIdentityVerifier::new(roots, tls_hostname::Profile::Phone)
        .with_context(|| format!("the CA certificates in {}", ca_file.display()))?;
    let mut warnings = Vec::new();
    if let NameCheck::Disabled { setting } = name_check {
        warnings.push(format!(
            "{setting} is No: the server's certificate is checked against the CA but NOT against \
             the server's name; any certificate from that CA is accepted"
        ));
        verifier = verifier.dangerous_disable_name_check(setting);
    }
    let ring = rustls::crypto::ring::default_provider();
    let ciphers = cipher_string::effective_rustls(
        "TLS_Cipher_List",
        cipher_list,
        cipher_string::Application::Curl,
        &ring,
    );
    if let Some(fallback) = &ciphers.fallback
        && !cipher_list.trim().is_empty()
    {
        warnings.push(fallback.to_string());
    }
    if ciphers.rustls.is_empty() {
        bail!(
            "TLS_Cipher_List: `{cipher_list}` leaves no cipher suite rustls can negotiate, and neither does the default"
        );
    }
    let provider = Arc::new(ciphers.rustls.apply_to(&ring, None));
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous() // a custom verifier; tls-hostname's validates the chain and the name
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(ClientTls {
        config: Arc::new(config),
        tls12_suites: ciphers.rustls.iana_names(),
        warnings,
    })
}

/// The rustls error inside an I/O error from a TLS stream, if that is what it is.
pub fn rustls_error(e: &std::io::Error) -> Option<&rustls::Error> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
}

/// What a rustls error means for the user: the verifier's own words for a refused certificate
/// (with the certificate's names when the name did not match).
pub fn describe(tls: &rustls::Error) -> String {
    match tls {
        rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other)) => {
            format!("certificate refused: {}", other.0)
        }
        other => other.to_string(),
    }
}

/// A handshake error with what the verifier said about the certificate.
pub fn handshake_error(e: std::io::Error) -> anyhow::Error {
    match rustls_error(&e).map(describe) {
        Some(d) => anyhow!(d),
        None => anyhow::Error::from(e),
    }
}
