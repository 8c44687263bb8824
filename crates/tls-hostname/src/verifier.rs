//! A rustls [`ServerCertVerifier`]: chain through rustls-webpki, extra RFC 5280 / CA/B Forum
//! checks under `Strict`, names through a [`Profile`].

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{
    CertificateDer, CertificateRevocationListDer, Der, ServerName, TrustAnchor, UnixTime,
};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::certificate::{CertificateError, CertificateNames, CertificateVersion};
use crate::checks::{self, ChainCheckFailure};
use crate::profile::{NameMatch, NameMismatch, Profile};
use crate::reference::{ReferenceError, ReferenceName};

/// Whether the verifier checks the server's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameCheck {
    /// Check the name under the verifier's profile (the default).
    Enabled,
    /// Do not check the name: any certificate that chains to a root is accepted for any
    /// host. Every handshake logs a `WARN` line naming `setting`.
    Disabled {
        /// The configuration setting that turned the check off, e.g.
        /// `TLS_Name_Validate_1_`, so the log line says where to turn it back on.
        setting: String,
    },
}

/// Verifies a TLS server's certificate chain and identity.
///
/// ```
/// use std::sync::Arc;
/// use tls_hostname::{Profile, ServerIdentityVerifier};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let ca = rcgen::CertificateParams::new(Vec::<String>::new())?;
/// # let mut ca = ca; ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
/// # let ca_key = rcgen::KeyPair::generate()?;
/// # let root_der = ca.self_signed(&ca_key)?.der().clone();
/// let verifier = ServerIdentityVerifier::new([root_der], Profile::Phone)?;
/// let config = rustls::ClientConfig::builder_with_provider(Arc::new(
///     rustls::crypto::ring::default_provider(),
/// ))
/// .with_safe_default_protocol_versions()?
/// .dangerous() // a custom verifier is rustls' "dangerous" API; this one is not lax
/// .with_custom_certificate_verifier(Arc::new(verifier))
/// .with_no_client_auth();
/// # drop(config);
/// # Ok(()) }
/// ```
pub struct ServerIdentityVerifier {
    roots: Vec<Root>,
    crls: Vec<webpki::CertRevocationList<'static>>,
    /// The same CRLs as given, for the `Strict` checks rustls-webpki does not make.
    crl_ders: Vec<CertificateRevocationListDer<'static>>,
    profile: Profile,
    name_check: NameCheck,
    max_intermediates: Option<usize>,
    algorithms: WebPkiSupportedAlgorithms,
}

struct Root {
    der: CertificateDer<'static>,
    /// As given to rustls-webpki: without the directoryName constraints, which are in
    /// `directory_names`.
    anchor: TrustAnchor<'static>,
    directory_names: Option<checks::DirectoryNameConstraints>,
}

impl fmt::Debug for ServerIdentityVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerIdentityVerifier")
            .field("roots", &self.roots.len())
            .field("crls", &self.crls.len())
            .field("profile", &self.profile)
            .field("name_check", &self.name_check)
            .field("max_intermediates", &self.max_intermediates)
            .finish()
    }
}

/// A trust anchor or CRL that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Root certificate number `index` is not usable as a trust anchor.
    #[error("root certificate #{index} is not a usable trust anchor: {detail}")]
    BadRoot {
        /// Position in the list given, from 0.
        index: usize,
        /// rustls-webpki's reason.
        detail: String,
    },
    /// No root certificates were given.
    #[error("no root certificates: nothing could ever be trusted")]
    NoRoots,
    /// CRL number `index` does not parse.
    #[error("CRL #{index} does not parse: {detail}")]
    BadCrl {
        /// Position in the list given, from 0.
        index: usize,
        /// rustls-webpki's reason.
        detail: String,
    },
}

/// Why a server certificate was refused. The message says what failed and, for names, which
/// names the certificate had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The end-entity certificate cannot be read.
    #[error("server certificate unreadable: {0}")]
    Certificate(#[from] CertificateError),
    /// The server name given to the verifier is not usable.
    #[error("bad reference name: {0}")]
    Reference(#[from] ReferenceError),
    /// The certificate is X.509 v1: it has no extensions (no basicConstraints, no SAN), and
    /// chain validation (rustls-webpki) refuses it. Reissue it as v3.
    #[error(
        "server certificate is X.509 v1 (names: {}); chain validation refuses v1 certificates, \
         reissue it as v3 with a subjectAltName",
        names.join(", ")
    )]
    Version1 {
        /// The names it had.
        names: Vec<String>,
    },
    /// The certificate (or one in the chain) has expired.
    #[error("certificate chain: expired (not after {not_after}, now {now}, unix seconds)")]
    Expired {
        /// The notAfter time.
        not_after: u64,
        /// The verification time.
        now: u64,
    },
    /// The certificate (or one in the chain) is not valid yet.
    #[error("certificate chain: not valid yet (not before {not_before}, now {now}, unix seconds)")]
    NotYetValid {
        /// The notBefore time.
        not_before: u64,
        /// The verification time.
        now: u64,
    },
    /// No path to a trusted root.
    #[error("certificate chain: no path to a trusted root (unknown issuer)")]
    UnknownIssuer,
    /// Another chain-validation failure reported by rustls-webpki.
    #[error("certificate chain: {0}")]
    Chain(String),
    /// A certificate fails one of the `Strict` profile's RFC 5280 / CA/B Forum checks.
    #[error("certificate chain: {0}")]
    Check(#[from] ChainCheckFailure),
    /// The chain is fine, the name is not.
    #[error("{0}")]
    Name(#[from] NameMismatch),
}

/// What a successful verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedIdentity {
    names: CertificateNames,
    matched: Option<NameMatch>,
}

impl VerifiedIdentity {
    /// The end-entity certificate's names.
    pub fn names(&self) -> &CertificateNames {
        &self.names
    }

    /// Which name matched; `None` when the name check is disabled.
    pub fn matched(&self) -> Option<&NameMatch> {
        self.matched.as_ref()
    }
}

impl ServerIdentityVerifier {
    /// A verifier trusting `roots`, checking names under `profile`, with rustls' `ring`
    /// signature algorithms.
    pub fn new(
        roots: impl IntoIterator<Item = CertificateDer<'static>>,
        profile: Profile,
    ) -> Result<Self, ConfigError> {
        let mut out = Vec::new();
        for (index, der) in roots.into_iter().enumerate() {
            let mut anchor = webpki::anchor_from_trusted_cert(&der)
                .map_err(|e| ConfigError::BadRoot {
                    index,
                    detail: e.to_string(),
                })?
                .to_owned();
            // rustls-webpki refuses everything under a directoryName constraint; they are
            // checked here instead (ChainCheck::DirectoryNameConstraints).
            let split = anchor
                .name_constraints
                .as_deref()
                .and_then(checks::split_directory_name_constraints);
            let directory_names = split.map(|(rest, directory_names)| {
                anchor.name_constraints = rest.map(Der::from);
                directory_names
            });
            out.push(Root {
                der,
                anchor,
                directory_names,
            });
        }
        if out.is_empty() {
            return Err(ConfigError::NoRoots);
        }
        Ok(Self {
            roots: out,
            crls: Vec::new(),
            crl_ders: Vec::new(),
            profile,
            name_check: NameCheck::Enabled,
            max_intermediates: None,
            algorithms: rustls::crypto::ring::default_provider().signature_verification_algorithms,
        })
    }

    /// Turns the name check off (the phone's `TLS_Name_Validate_n_ = No`). The chain is
    /// still validated. Logs a warning now and on every verification, naming `setting`.
    pub fn dangerous_disable_name_check(mut self, setting: &str) -> Self {
        tracing::warn!(
            setting,
            "TLS server name check DISABLED by {setting}: any certificate from a trusted CA \
             will be accepted for any host"
        );
        self.name_check = NameCheck::Disabled {
            setting: setting.to_owned(),
        };
        self
    }

    /// Also checks revocation against these CRLs (every certificate in the chain; a
    /// certificate whose status no CRL gives is refused). Under [`Profile::Strict`], a CRL
    /// issued by a CA of the path must also have a well-formed, non-critical cRLNumber, and
    /// that CA's keyUsage, if any, must include cRLSign.
    pub fn with_crls(
        mut self,
        crls: impl IntoIterator<Item = CertificateRevocationListDer<'static>>,
    ) -> Result<Self, ConfigError> {
        for (index, der) in crls.into_iter().enumerate() {
            let crl = webpki::OwnedCertRevocationList::from_der(&der).map_err(|e| ConfigError::BadCrl {
                index,
                detail: e.to_string(),
            })?;
            self.crls.push(crl.into());
            self.crl_ders.push(der);
        }
        Ok(self)
    }

    /// Refuses paths with more than `n` intermediate certificates.
    pub fn with_max_intermediates(mut self, n: usize) -> Self {
        self.max_intermediates = Some(n);
        self
    }

    /// The name-matching profile.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// Whether names are checked.
    pub fn name_check(&self) -> &NameCheck {
        &self.name_check
    }

    /// Verifies a server certificate chain for `reference` at time `now`, without a
    /// handshake. `reference` is `None` to validate the chain only.
    pub fn verify_identity(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        reference: Option<&ReferenceName>,
        now: UnixTime,
    ) -> Result<VerifiedIdentity, VerifyError> {
        let names = CertificateNames::from_der(end_entity)?;
        if names.version() == CertificateVersion::V1 {
            return Err(VerifyError::Version1 {
                names: names.describe(),
            });
        }
        self.verify_chain(end_entity, intermediates, reference, now)?;
        let matched = match (&self.name_check, reference) {
            (NameCheck::Disabled { setting }, _) => {
                tracing::warn!(
                    setting,
                    names = %names.describe().join(", "),
                    "TLS server name NOT checked ({setting} = No)"
                );
                None
            }
            (NameCheck::Enabled, None) => None,
            (NameCheck::Enabled, Some(r)) => Some(self.profile.check(&names, r)?),
        };
        Ok(VerifiedIdentity { names, matched })
    }

    /// What the rustls handshake asks: [`verify_identity`](Self::verify_identity)'s answer
    /// without its names. When a SAN dNSName of a v2/v3 certificate matches, the name check
    /// reads the certificate's DER directly ([`Profile::check_der`]'s fast path, which
    /// allocates only the matched name) instead of building the name lists; every other case
    /// (no match, an IP reference, a v1 certificate, an unusual encoding, the name check
    /// disabled) goes through `verify_identity`, so errors and log lines are the same.
    fn verify_server(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        reference: &ReferenceName,
        now: UnixTime,
    ) -> Result<(), VerifyError> {
        if let (NameCheck::Enabled, ReferenceName::Dns(dns)) = (&self.name_check, reference) {
            // `Some` implies that `CertificateNames::from_der` succeeds and that
            // `Profile::check` matches, so only the version and the chain are left to check,
            // in verify_identity's order.
            if let Some((version, _)) = self.profile.dns_san_match_der(end_entity, dns) {
                if version != CertificateVersion::V1 {
                    return self.verify_chain(end_entity, intermediates, Some(reference), now);
                }
            }
        }
        self.verify_identity(end_entity, intermediates, Some(reference), now)
            .map(drop)
    }

    /// The `Strict` end-entity checks, then the chain (rustls-webpki, with the path checks).
    fn verify_chain(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        reference: Option<&ReferenceName>,
        now: UnixTime,
    ) -> Result<(), VerifyError> {
        let strict = self.profile == Profile::Strict;
        if strict {
            checks::end_entity(end_entity, reference)?;
        }
        let ee = webpki::EndEntityCert::try_from(end_entity).map_err(|e| chain_error(e, now))?;
        let crls: Vec<&webpki::CertRevocationList<'_>> = self.crls.iter().collect();
        let revocation = match webpki::RevocationOptionsBuilder::new(&crls) {
            Ok(b) => Some(
                b.with_depth(webpki::RevocationCheckDepth::Chain)
                    .with_status_policy(webpki::UnknownStatusPolicy::Deny)
                    .with_expiration_policy(webpki::ExpirationPolicy::Enforce)
                    .build(),
            ),
            Err(_) => None,
        };
        let anchors: Vec<TrustAnchor<'_>> = self.roots.iter().map(|r| r.anchor.clone()).collect();
        // The last path-level check that failed, to report instead of webpki's generic error.
        let path_failure = std::cell::RefCell::new(None::<ChainCheckFailure>);
        let verify_path = |path: &webpki::VerifiedPath<'_>| -> Result<(), webpki::Error> {
            let intermediates: Vec<CertificateDer<'_>> =
                path.intermediate_certificates().map(|c| c.der()).collect();
            let result = self.check_path(end_entity, &intermediates, path.anchor(), strict, now.as_secs());
            result.map_err(|failure| {
                path_failure.replace(Some(failure));
                webpki::Error::UnknownIssuer
            })
        };
        let verified = ee.verify_for_usage(
            self.algorithms.all,
            &anchors,
            intermediates,
            now,
            webpki::KeyUsage::server_auth(),
            revocation,
            Some(&verify_path),
        );
        match verified {
            Ok(_) => Ok(()),
            Err(e) => Err(match path_failure.into_inner() {
                Some(failure) if e == webpki::Error::UnknownIssuer => VerifyError::Check(failure),
                _ => chain_error(e, now),
            }),
        }
    }

    fn check_path(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        anchor: &TrustAnchor<'_>,
        strict: bool,
        now: u64,
    ) -> Result<(), ChainCheckFailure> {
        if let Some(max) = self.max_intermediates {
            if intermediates.len() > max {
                return Err(ChainCheckFailure::new(
                    checks::ChainCheck::MaxIntermediates,
                    format!("{} intermediates, at most {max} allowed", intermediates.len()),
                ));
            }
        }
        let root = self.roots.iter().find(|r| {
            r.anchor.subject == anchor.subject
                && r.anchor.subject_public_key_info == anchor.subject_public_key_info
        });
        if let Some(constraints) = root.and_then(|r| r.directory_names.as_ref()) {
            checks::directory_name_constraints(constraints, end_entity, intermediates)?;
        }
        if !strict {
            return Ok(());
        }
        let root = root.map(|r| &r.der);
        checks::path(intermediates, root, now)?;
        checks::crls(intermediates, root, &self.crl_ders)
    }
}

fn chain_error(e: webpki::Error, now: UnixTime) -> VerifyError {
    let now = now.as_secs();
    match e {
        webpki::Error::CertExpired { not_after, .. } => VerifyError::Expired {
            not_after: not_after.as_secs(),
            now,
        },
        webpki::Error::CertNotValidYet { not_before, .. } => VerifyError::NotYetValid {
            not_before: not_before.as_secs(),
            now,
        },
        webpki::Error::UnknownIssuer => VerifyError::UnknownIssuer,
        other => VerifyError::Chain(other.to_string()),
    }
}

fn to_rustls_error(e: VerifyError) -> rustls::Error {
    use rustls::CertificateError as C;
    let cert_error = match e {
        VerifyError::Expired { .. } => C::Expired,
        VerifyError::NotYetValid { .. } => C::NotValidYet,
        VerifyError::UnknownIssuer => C::UnknownIssuer,
        other => C::Other(rustls::OtherError(Arc::new(other))),
    };
    rustls::Error::InvalidCertificate(cert_error)
}

impl ServerCertVerifier for ServerIdentityVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let reference = match server_name {
            ServerName::DnsName(d) => ReferenceName::parse(d.as_ref()),
            ServerName::IpAddress(ip) => Ok(ReferenceName::Ip(std::net::IpAddr::from(*ip))),
            other => ReferenceName::parse(&other.to_str()),
        };
        let result = reference
            .map_err(VerifyError::from)
            .and_then(|r| self.verify_server(end_entity, intermediates, &r, now));
        match result {
            Ok(_) => Ok(ServerCertVerified::assertion()),
            Err(e) => {
                tracing::warn!(server = %server_name.to_str(), "TLS server certificate refused: {e}");
                Err(to_rustls_error(e))
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
