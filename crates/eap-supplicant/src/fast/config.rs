//! EAP-FAST settings: the inner identity and password, the inner method, the PAC provisioning
//! policy (wpa_supplicant's `fast_provisioning`), the PACs on hand and the CA for authenticated
//! provisioning.

use std::sync::Arc;
use std::time::Duration;

use phone_secret::SecretString;
use rustls::time_provider::TimeProvider;

use super::pac::Pac;
use super::tls12::{self, RandomSource};
use crate::config::{DEFAULT_FRAGMENT_SIZE, DEFAULT_MAX_MESSAGE_LEN};
use crate::verifier::ServerNameMatch;

/// The inner (phase 2) method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Phase2 {
    /// EAP-MSCHAPv2 (RFC 2759; the only method allowed in anonymous provisioning).
    #[default]
    MsChapV2,
    /// EAP-GTC with the `RESPONSE=identity\0password` form EAP-FAST servers expect.
    Gtc,
}

/// Which PAC provisioning modes are allowed (wpa_supplicant's `fast_provisioning` 0–3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Provisioning {
    /// Anonymous Diffie-Hellman (RFC 5422 §3.2.2): bit 1.
    pub unauthenticated: bool,
    /// Server-authenticated TLS (RFC 5422 §3.2.1): bit 2; needs a CA.
    pub authenticated: bool,
}

impl Provisioning {
    /// From wpa_supplicant's `fast_provisioning` value (0..=3); `None` for anything else.
    pub fn from_level(level: u8) -> Option<Provisioning> {
        (level <= 3).then_some(Provisioning {
            unauthenticated: level & 1 != 0,
            authenticated: level & 2 != 0,
        })
    }
}

/// EAP-FAST configuration. Build with [`FastConfig::new`].
#[derive(Clone)]
pub struct FastConfig {
    pub(crate) inner_identity: String,
    pub(crate) password: SecretString,
    pub(crate) phase2: Phase2,
    pub(crate) provisioning: Provisioning,
    pub(crate) pacs: Vec<Pac>,
    pub(crate) authenticated: Option<tls12::ClientConfig>,
    pub(crate) random: RandomSource,
    pub(crate) fragment_size: usize,
    pub(crate) max_message_len: usize,
    pub(crate) clock: Arc<dyn TimeProvider>,
    pub(crate) pac_refresh_margin: Duration,
}

/// How long before its PAC-Lifetime a PAC is refreshed by default: one day, hostapd's
/// `pac_key_refresh_time` default.
pub const DEFAULT_PAC_REFRESH_MARGIN: Duration = Duration::from_secs(86_400);

impl std::fmt::Debug for FastConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FastConfig")
            .field("inner_identity", &self.inner_identity)
            .field("phase2", &self.phase2)
            .field("provisioning", &self.provisioning)
            .field("pacs", &self.pacs.len())
            .field("server_ca", &self.authenticated.is_some())
            .field("pac_refresh_margin", &self.pac_refresh_margin)
            .finish_non_exhaustive()
    }
}

impl FastConfig {
    /// EAP-FAST with inner `identity` and `password`, MSCHAPv2, unauthenticated provisioning
    /// allowed (`fast_provisioning=1`), no PAC yet, the system random generator.
    ///
    /// `clock` is the host's wall clock ([`DefaultTimeProvider`](crate::DefaultTimeProvider) is
    /// the system's): PAC lifetimes are judged at its time (an expired PAC is not used, one
    /// within [`FastConfig::pac_refresh_margin`] of its end is refreshed), and so are the
    /// server certificate's validity dates. The crate reads no clock itself; a clock that
    /// returns `None` (not set yet) leaves the PAC's lifetime to the server.
    pub fn new(
        identity: impl Into<String>,
        password: SecretString,
        clock: Arc<dyn TimeProvider>,
    ) -> FastConfig {
        FastConfig {
            inner_identity: identity.into(),
            password,
            phase2: Phase2::MsChapV2,
            provisioning: Provisioning {
                unauthenticated: true,
                authenticated: false,
            },
            pacs: Vec::new(),
            authenticated: None,
            random: RandomSource::System,
            fragment_size: DEFAULT_FRAGMENT_SIZE,
            max_message_len: DEFAULT_MAX_MESSAGE_LEN,
            clock,
            pac_refresh_margin: DEFAULT_PAC_REFRESH_MARGIN,
        }
    }

    /// Asks the server for a new Tunnel PAC (RFC 5422 §3.4, a PAC TLV request in phase 2) when
    /// the PAC in use ends within `margin` (default [`DEFAULT_PAC_REFRESH_MARGIN`]).
    pub fn pac_refresh_margin(mut self, margin: Duration) -> FastConfig {
        self.pac_refresh_margin = margin;
        self
    }

    /// The inner method.
    pub fn phase2(mut self, phase2: Phase2) -> FastConfig {
        self.phase2 = phase2;
        self
    }

    /// The provisioning policy.
    pub fn provisioning(mut self, provisioning: Provisioning) -> FastConfig {
        self.provisioning = provisioning;
        self
    }

    /// The PACs on hand (from [`read_pac_file`](super::read_pac_file)), most recent first.
    pub fn pacs(mut self, pacs: Vec<Pac>) -> FastConfig {
        self.pacs = pacs;
        self
    }

    /// The CA (PEM or DER) the server's certificate must chain to when the server shows one
    /// (authenticated provisioning, or a full handshake after a refused PAC); its validity is
    /// checked at the configuration's clock.
    pub fn server_ca(
        mut self,
        ca: &[u8],
        name_match: Option<ServerNameMatch>,
    ) -> Result<FastConfig, tls12::ConfigError> {
        self.authenticated = Some(tls12::ClientConfig::authenticated(
            ca,
            name_match,
            self.clock.clone(),
        )?);
        Ok(self)
    }

    /// The random source (seeded only in tests).
    pub fn random(mut self, random: RandomSource) -> FastConfig {
        self.random = random;
        self
    }

    /// TLS bytes per EAP-FAST fragment (default 1398).
    pub fn fragment_size(mut self, size: usize) -> FastConfig {
        self.fragment_size = size.max(crate::config::MIN_FRAGMENT_SIZE);
        self
    }

    /// The inner identity.
    pub fn inner_identity(&self) -> &str {
        &self.inner_identity
    }

    /// The PACs the configuration started with.
    pub fn initial_pacs(&self) -> &[Pac] {
        &self.pacs
    }
}
