//! Configuration: the identity, the EAP-TLS credentials and server policy, the PAE timers.

use std::sync::Arc;
use std::time::Duration;

use rustls::client::Resumption;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::time_provider::TimeProvider;
use rustls::{ClientConfig, RootCertStore};
use thiserror::Error;

use crate::eapol::EapolVersion;
use crate::verifier::{EapServerVerifier, ServerNameMatch};
use phone_secret::SecretBytes;

/// The fragment size wpa_supplicant uses by default: TLS bytes per EAP-TLS fragment.
pub const DEFAULT_FRAGMENT_SIZE: usize = 1398;
/// The default bound on a reassembled EAP-TLS message (the TLS Message Length field).
pub const DEFAULT_MAX_MESSAGE_LEN: usize = 65_536;
/// The smallest fragment size accepted.
pub const MIN_FRAGMENT_SIZE: usize = 64;

/// Which TLS versions EAP-TLS may negotiate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TlsVersions {
    /// TLS 1.2 (RFC 5216) or TLS 1.3 (RFC 9190), whichever the server picks.
    #[default]
    Tls12And13,
    /// Only TLS 1.2 (for servers whose TLS 1.3 EAP support is broken).
    Tls12Only,
    /// Only TLS 1.3.
    Tls13Only,
}

/// Why an EAP-TLS configuration could not be built.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// No trust anchor: EAP-TLS without a CA would accept any server.
    #[error("no CA certificate configured: the server could not be authenticated")]
    NoCaCertificates,
    /// A CA certificate webpki cannot use as a trust anchor.
    #[error("CA certificate {index} is not a usable trust anchor: {reason}")]
    InvalidCa {
        /// Its position in the input.
        index: usize,
        /// What webpki said.
        reason: String,
    },
    /// Bytes that hold no certificate.
    #[error("no certificate found in the {what} bytes (expected PEM or DER)")]
    NoCertificate {
        /// `"CA"` or `"client certificate"`.
        what: &'static str,
    },
    /// Bytes that hold no private key.
    #[error(
        "no private key found (expected PEM or DER: PKCS#8, PKCS#1 RSA or SEC1 EC; encrypted keys are not supported)"
    )]
    NoPrivateKey,
    /// rustls refused the certificate, key or versions.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// A fragment size below the minimum.
    #[error("fragment size {0} is below the minimum of {MIN_FRAGMENT_SIZE}")]
    FragmentSize(usize),
}

/// Reads certificates from PEM (any number of `CERTIFICATE` blocks) or one DER certificate.
pub fn certificates_from_bytes(
    bytes: &[u8],
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let pem: Vec<_> = CertificateDer::pem_slice_iter(bytes)
        .filter_map(Result::ok)
        .collect();
    if !pem.is_empty() {
        return Ok(pem);
    }
    // DER: a SEQUENCE.
    if bytes.first() == Some(&0x30) {
        return Ok(vec![CertificateDer::from(bytes.to_vec())]);
    }
    Err(ConfigError::NoCertificate { what })
}

/// Reads a private key from PEM (PKCS#8, `RSA PRIVATE KEY`, `EC PRIVATE KEY`) or DER.
pub fn private_key_from_bytes(bytes: &[u8]) -> Result<PrivateKeyDer<'static>, ConfigError> {
    if let Ok(key) = PrivateKeyDer::from_pem_slice(bytes) {
        return Ok(key);
    }
    PrivateKeyDer::try_from(bytes.to_vec()).map_err(|_| ConfigError::NoPrivateKey)
}

/// EAP-TLS settings: trust anchors, server name policy, client credentials, TLS versions and
/// fragmentation. Build one with [`EapTlsConfig::builder`].
#[derive(Debug, Clone)]
pub struct EapTlsConfig {
    pub(crate) rustls: Arc<ClientConfig>,
    pub(crate) fragment_size: usize,
    pub(crate) max_message_len: usize,
}

impl EapTlsConfig {
    /// Starts a configuration that trusts the CA certificates in `ca` (PEM or DER), checking
    /// certificate validity periods at the time `clock` gives: the host's wall clock
    /// ([`DefaultTimeProvider`](crate::DefaultTimeProvider) is the system clock), never one the
    /// crate reads by itself, so a test or a phone without a set clock decides what "now" is.
    pub fn builder(ca: &[u8], clock: Arc<dyn TimeProvider>) -> EapTlsConfigBuilder {
        EapTlsConfigBuilder {
            ca: ca.to_vec(),
            clock,
            client: None,
            name_match: None,
            versions: TlsVersions::default(),
            session_tickets: false,
            fragment_size: DEFAULT_FRAGMENT_SIZE,
            max_message_len: DEFAULT_MAX_MESSAGE_LEN,
        }
    }

    /// The TLS bytes per EAP-TLS fragment this peer sends.
    pub fn fragment_size(&self) -> usize {
        self.fragment_size
    }

    /// The largest TLS message this peer reassembles.
    pub fn max_message_len(&self) -> usize {
        self.max_message_len
    }

    /// The server name given to rustls: SNI is off and the verifier checks no name against it,
    /// so a documentation address (RFC 5737) stands in.
    pub(crate) fn server_name() -> ServerName<'static> {
        ServerName::IpAddress(std::net::IpAddr::from([192, 0, 2, 1]).into())
    }
}

/// Builder for [`EapTlsConfig`].
#[derive(Debug)]
pub struct EapTlsConfigBuilder {
    ca: Vec<u8>,
    clock: Arc<dyn TimeProvider>,
    client: Option<(Vec<u8>, SecretBytes)>,
    name_match: Option<ServerNameMatch>,
    versions: TlsVersions,
    session_tickets: bool,
    fragment_size: usize,
    max_message_len: usize,
}

impl EapTlsConfigBuilder {
    /// The client certificate chain (PEM or DER, leaf first) and its private key (PEM or DER;
    /// PKCS#8, RSA or EC). EAP-TLS servers normally require one. The builder's copy of the key
    /// is redacted in `Debug` and zeroized on drop.
    pub fn client_certificate(mut self, chain: &[u8], key: &[u8]) -> Self {
        self.client = Some((chain.to_vec(), SecretBytes::new(key.to_vec())));
        self
    }

    /// Require the server certificate to carry a matching SAN dNSName.
    pub fn server_name(mut self, name_match: ServerNameMatch) -> Self {
        self.name_match = Some(name_match);
        self
    }

    /// The TLS versions to offer (default: 1.2 and 1.3).
    pub fn tls_versions(mut self, versions: TlsVersions) -> Self {
        self.versions = versions;
        self
    }

    /// Offer TLS session tickets and resumption. Off by default, as in wpa_supplicant
    /// (`tls_disable_session_ticket`): some AAA servers mishandle the extension.
    pub fn session_tickets(mut self, enabled: bool) -> Self {
        self.session_tickets = enabled;
        self
    }

    /// TLS bytes per EAP-TLS fragment (default 1398, minimum 64).
    pub fn fragment_size(mut self, size: usize) -> Self {
        self.fragment_size = size;
        self
    }

    /// The largest TLS message to reassemble (default 65,536 bytes); a server declaring more is
    /// refused.
    pub fn max_message_len(mut self, len: usize) -> Self {
        self.max_message_len = len;
        self
    }

    /// Checks the inputs and builds the rustls configuration.
    pub fn build(self) -> Result<EapTlsConfig, ConfigError> {
        if self.fragment_size < MIN_FRAGMENT_SIZE {
            return Err(ConfigError::FragmentSize(self.fragment_size));
        }
        let mut roots = RootCertStore::empty();
        for (index, ca) in certificates_from_bytes(&self.ca, "CA")?.into_iter().enumerate() {
            roots.add(ca).map_err(|e| ConfigError::InvalidCa {
                index,
                reason: e.to_string(),
            })?;
        }
        if roots.is_empty() {
            return Err(ConfigError::NoCaCertificates);
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let versions: &[&rustls::SupportedProtocolVersion] = match self.versions {
            TlsVersions::Tls12And13 => &[&rustls::version::TLS13, &rustls::version::TLS12],
            TlsVersions::Tls12Only => &[&rustls::version::TLS12],
            TlsVersions::Tls13Only => &[&rustls::version::TLS13],
        };
        let verifier = EapServerVerifier::new(Arc::new(roots), self.name_match, provider.clone());
        let builder = ClientConfig::builder_with_details(provider, self.clock)
            .with_protocol_versions(versions)?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier));
        let mut config = match self.client {
            Some((chain, key)) => builder.with_client_auth_cert(
                certificates_from_bytes(&chain, "client certificate")?,
                private_key_from_bytes(key.expose())?,
            )?,
            None => builder.with_no_client_auth(),
        };
        config.enable_sni = false;
        if !self.session_tickets {
            config.resumption = Resumption::disabled();
        }
        Ok(EapTlsConfig {
            rustls: Arc::new(config),
            fragment_size: self.fragment_size,
            max_message_len: self.max_message_len,
        })
    }
}

/// The supplicant PAE timers and counters (IEEE 802.1X-2004 §8.2.11.1.2), wpa_supplicant's
/// defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaeTimers {
    /// Time between EAPOL-Starts while no authenticator answers (startPeriod, 30 s).
    pub start_period: Duration,
    /// Quiet time after a failure (heldPeriod, 60 s).
    pub held_period: Duration,
    /// Time to wait for the next request during authentication (authPeriod, 30 s).
    pub auth_period: Duration,
    /// EAPOL-Starts sent before assuming there is no authenticator (maxStart, 3).
    pub max_start: u32,
}

impl Default for PaeTimers {
    fn default() -> Self {
        PaeTimers {
            start_period: Duration::from_secs(30),
            held_period: Duration::from_secs(60),
            auth_period: Duration::from_secs(30),
            max_start: 3,
        }
    }
}

/// Everything a [`Peer`](crate::Peer) or [`Supplicant`](crate::Supplicant) needs.
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) identity: String,
    pub(crate) tls: Option<EapTlsConfig>,
    #[cfg(feature = "fast")]
    pub(crate) fast: Option<crate::fast::FastConfig>,
    pub(crate) timers: PaeTimers,
    pub(crate) eapol_version: EapolVersion,
}

impl Config {
    /// EAP-TLS with `identity` as the EAP Identity (for EAP-TLS usually the certificate's
    /// subject or `host/<name>`).
    pub fn new(identity: impl Into<String>, tls: EapTlsConfig) -> Config {
        Config {
            identity: identity.into(),
            tls: Some(tls),
            #[cfg(feature = "fast")]
            fast: None,
            timers: PaeTimers::default(),
            eapol_version: EapolVersion::V3,
        }
    }

    /// EAP-FAST only, with `identity` as the outer (phase 1) EAP Identity; an EAP-TLS request
    /// gets a Nak offering EAP-FAST.
    #[cfg(feature = "fast")]
    pub fn fast(identity: impl Into<String>, fast: crate::fast::FastConfig) -> Config {
        Config {
            identity: identity.into(),
            tls: None,
            fast: Some(fast),
            timers: PaeTimers::default(),
            eapol_version: EapolVersion::V3,
        }
    }

    /// Also answers EAP-FAST requests with these settings (EAP-TLS stays preferred in Naks).
    #[cfg(feature = "fast")]
    pub fn with_fast(mut self, fast: crate::fast::FastConfig) -> Config {
        self.fast = Some(fast);
        self
    }

    /// The EAP-FAST settings, if EAP-FAST is on.
    #[cfg(feature = "fast")]
    pub fn fast_config(&self) -> Option<&crate::fast::FastConfig> {
        self.fast.as_ref()
    }

    /// Other PAE timers.
    pub fn with_timers(mut self, timers: PaeTimers) -> Config {
        self.timers = timers;
        self
    }

    /// The EAPOL version to transmit (default 3, IEEE 802.1X-2010).
    pub fn with_eapol_version(mut self, version: EapolVersion) -> Config {
        self.eapol_version = version;
        self
    }

    /// The EAP Identity.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The EAP-TLS settings (`None` for an EAP-FAST-only configuration).
    pub fn tls(&self) -> Option<&EapTlsConfig> {
        self.tls.as_ref()
    }

    /// The PAE timers.
    pub fn timers(&self) -> &PaeTimers {
        &self.timers
    }
}
