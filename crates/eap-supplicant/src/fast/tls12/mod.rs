//! A TLS 1.2-only client for exactly what EAP-FAST needs (RFC 4851 §3.2, RFC 5422 §3.2), sans-IO.
//!
//! Cipher suites: `TLS_DH_anon_WITH_AES_128_CBC_SHA` (0x0034, anonymous PAC provisioning only),
//! `TLS_DHE_RSA_WITH_AES_128/256_CBC_SHA` (0x0033/0x0039) and `TLS_RSA_WITH_AES_128/256_CBC_SHA`
//! (0x002F/0x0035). Never RC4, export or NULL; no TLS 1.0/1.1; no renegotiation (a HelloRequest
//! gets a `no_renegotiation` warning); no client certificates (an empty Certificate answers a
//! CertificateRequest).
//!
//! What rustls cannot do and this client does: a PAC-Opaque in the ClientHello's SessionTicket
//! extension with the master secret derived from the PAC-Key once the ServerHello is in
//! ([`SessionTicket`]), and the key block exported past the record keys
//! ([`Client::export_key_block`]).
//!
//! ```
//! use std::time::Instant;
//! use eap_supplicant::fast::tls12::{Client, ClientConfig, Output, RandomSource};
//!
//! let mut client = Client::new(ClientConfig::anonymous(), RandomSource::Seeded([7; 32]));
//! client.start(Instant::now())?;
//! let Some(Output::Transmit(hello)) = client.poll_output() else { panic!("no ClientHello") };
//! assert_eq!(&hello[..3], &[22, 3, 3]); // a handshake record, TLS 1.2
//! // Feed the server's bytes with client.handle_tls(now, &bytes) and drain poll_output().
//! # Ok::<(), eap_supplicant::fast::tls12::TlsError>(())
//! ```

pub(crate) mod codec;
mod keyex;
pub(crate) mod prf;
mod random;
pub(crate) mod record;

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use ring::digest;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::CertificateDer;
use rustls::time_provider::TimeProvider;
use subtle::ConstantTimeEq;
use thiserror::Error;
use zeroize::Zeroizing;

use crate::verifier::{EapServerVerifier, ServerNameMatch};
use codec::{Reader, handshake, put_u16, put_vec8, put_vec16};
use keyex::{DhParams, RsaPublicKey};
use phone_secret::SecretBytes as Secret;
use record::{CipherState, ContentType, RecordLayer};

pub(crate) use random::Rng;
pub use random::{RandomError, RandomSource};

/// The cipher suites this client implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CipherSuite {
    /// 0x0034 `TLS_DH_anon_WITH_AES_128_CBC_SHA`: no server authentication; only for RFC 5422
    /// anonymous provisioning, where the inner MSCHAPv2 authenticates both sides.
    DhAnonAes128CbcSha,
    /// 0x0033 `TLS_DHE_RSA_WITH_AES_128_CBC_SHA`.
    DheRsaAes128CbcSha,
    /// 0x0039 `TLS_DHE_RSA_WITH_AES_256_CBC_SHA`.
    DheRsaAes256CbcSha,
    /// 0x002F `TLS_RSA_WITH_AES_128_CBC_SHA`.
    RsaAes128CbcSha,
    /// 0x0035 `TLS_RSA_WITH_AES_256_CBC_SHA`.
    RsaAes256CbcSha,
}

impl CipherSuite {
    /// The IANA value.
    pub fn value(self) -> u16 {
        match self {
            CipherSuite::DhAnonAes128CbcSha => 0x0034,
            CipherSuite::DheRsaAes128CbcSha => 0x0033,
            CipherSuite::DheRsaAes256CbcSha => 0x0039,
            CipherSuite::RsaAes128CbcSha => 0x002f,
            CipherSuite::RsaAes256CbcSha => 0x0035,
        }
    }

    fn from_value(v: u16) -> Option<CipherSuite> {
        [
            CipherSuite::DhAnonAes128CbcSha,
            CipherSuite::DheRsaAes128CbcSha,
            CipherSuite::DheRsaAes256CbcSha,
            CipherSuite::RsaAes128CbcSha,
            CipherSuite::RsaAes256CbcSha,
        ]
        .into_iter()
        .find(|s| s.value() == v)
    }

    /// The IANA name.
    pub fn name(self) -> &'static str {
        match self {
            CipherSuite::DhAnonAes128CbcSha => "TLS_DH_anon_WITH_AES_128_CBC_SHA",
            CipherSuite::DheRsaAes128CbcSha => "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
            CipherSuite::DheRsaAes256CbcSha => "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
            CipherSuite::RsaAes128CbcSha => "TLS_RSA_WITH_AES_128_CBC_SHA",
            CipherSuite::RsaAes256CbcSha => "TLS_RSA_WITH_AES_256_CBC_SHA",
        }
    }

    pub(crate) fn key_len(self) -> usize {
        match self {
            CipherSuite::DhAnonAes128CbcSha
            | CipherSuite::DheRsaAes128CbcSha
            | CipherSuite::RsaAes128CbcSha => 16,
            CipherSuite::DheRsaAes256CbcSha | CipherSuite::RsaAes256CbcSha => 32,
        }
    }

    fn is_anonymous(self) -> bool {
        self == CipherSuite::DhAnonAes128CbcSha
    }

    fn is_rsa_key_exchange(self) -> bool {
        matches!(self, CipherSuite::RsaAes128CbcSha | CipherSuite::RsaAes256CbcSha)
    }

    /// Bytes of the key block the record layer uses: `2 × (MAC + key + IV)`, with the 16-byte
    /// CBC IV counted as hostapd and OpenSSL count it even in TLS 1.2 (research note §A.4).
    pub fn key_block_record_len(self) -> usize {
        2 * (20 + self.key_len() + 16)
    }
}

impl fmt::Display for CipherSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Derives the master secret from a ticket's key and the two randoms
/// (`key, server_random, client_random`).
pub type MasterSecretFn = fn(&[u8], &[u8; 32], &[u8; 32]) -> Zeroizing<Vec<u8>>;

/// A session ticket to offer (for EAP-FAST: the PAC-Opaque TLV) and how to get the master
/// secret when the server accepts it.
#[derive(Clone)]
pub struct SessionTicket {
    ticket: Vec<u8>,
    key: Secret,
    derive: MasterSecretFn,
}

impl SessionTicket {
    /// `ticket` goes into the SessionTicket extension verbatim; when the server resumes, the
    /// master secret is `derive(key, server_random, client_random)` (48 bytes).
    pub fn new(ticket: Vec<u8>, key: Secret, derive: MasterSecretFn) -> SessionTicket {
        SessionTicket { ticket, key, derive }
    }
}

impl fmt::Debug for SessionTicket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionTicket")
            .field("ticket_len", &self.ticket.len())
            .field("key", &self.key)
            .finish()
    }
}

/// What the client offers and whom it trusts.
#[derive(Clone)]
pub struct ClientConfig {
    suites: Vec<CipherSuite>,
    verifier: Option<Arc<EapServerVerifier>>,
    clock: Option<Arc<dyn TimeProvider>>,
    ticket: Option<SessionTicket>,
    max_handshake_len: usize,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("suites", &self.suites)
            .field("authenticates_server", &self.verifier.is_some())
            .field("ticket", &self.ticket)
            .finish()
    }
}

/// The default bound on one handshake message (a certificate chain fits many times over).
pub const DEFAULT_MAX_HANDSHAKE_LEN: usize = 65_536;

/// Why a [`ClientConfig`] could not be built.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The CA bytes hold no usable trust anchor.
    #[error("{0}")]
    Ca(#[from] crate::config::ConfigError),
}

impl ClientConfig {
    /// Anonymous Diffie-Hellman only (0x0034): the server is *not* authenticated. For RFC 5422
    /// unauthenticated provisioning, where the inner MSCHAPv2 (with challenges from the TLS key
    /// block) authenticates the server.
    pub fn anonymous() -> ClientConfig {
        ClientConfig {
            suites: vec![CipherSuite::DhAnonAes128CbcSha],
            verifier: None,
            clock: None,
            ticket: None,
            max_handshake_len: DEFAULT_MAX_HANDSHAKE_LEN,
        }
    }

    /// The certificate suites (DHE_RSA then RSA, AES-256 first, as wpa_supplicant orders
    /// them), with the server's chain checked against the CAs in `ca` (PEM or DER) and, when
    /// given, its names against `name_match`. Certificate validity is checked at `clock`'s time
    /// ([`DefaultTimeProvider`](crate::DefaultTimeProvider) is the system clock).
    pub fn authenticated(
        ca: &[u8],
        name_match: Option<ServerNameMatch>,
        clock: Arc<dyn TimeProvider>,
    ) -> Result<ClientConfig, ConfigError> {
        let mut roots = rustls::RootCertStore::empty();
        for (index, cert) in crate::config::certificates_from_bytes(ca, "CA")?
            .into_iter()
            .enumerate()
        {
            roots
                .add(cert)
                .map_err(|e| crate::config::ConfigError::InvalidCa {
                    index,
                    reason: e.to_string(),
                })?;
        }
        if roots.is_empty() {
            return Err(crate::config::ConfigError::NoCaCertificates.into());
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        Ok(ClientConfig {
            suites: vec![
                CipherSuite::DheRsaAes256CbcSha,
                CipherSuite::DheRsaAes128CbcSha,
                CipherSuite::RsaAes256CbcSha,
                CipherSuite::RsaAes128CbcSha,
            ],
            verifier: Some(Arc::new(EapServerVerifier::new(
                Arc::new(roots),
                name_match,
                provider,
            ))),
            clock: Some(clock),
            ticket: None,
            max_handshake_len: DEFAULT_MAX_HANDSHAKE_LEN,
        })
    }

    /// The certificate suites with no CA: a server that shows a certificate is refused. For
    /// offering a PAC when no CA is configured (the abbreviated handshake shows none).
    pub(crate) fn without_server_authentication() -> ClientConfig {
        ClientConfig {
            suites: vec![
                CipherSuite::DheRsaAes256CbcSha,
                CipherSuite::DheRsaAes128CbcSha,
                CipherSuite::RsaAes256CbcSha,
                CipherSuite::RsaAes128CbcSha,
            ],
            verifier: None,
            clock: None,
            ticket: None,
            max_handshake_len: DEFAULT_MAX_HANDSHAKE_LEN,
        }
    }

    /// Offers only these suites (in this order). Certificate suites need a configuration made
    /// by [`ClientConfig::authenticated`]; without one they are dropped.
    pub fn with_suites(mut self, suites: &[CipherSuite]) -> ClientConfig {
        let authenticated = self.verifier.is_some();
        self.suites = suites
            .iter()
            .copied()
            .filter(|s| s.is_anonymous() || authenticated)
            .collect();
        self
    }

    /// Adds anonymous DH (0x0034) after the certificate suites (wpa_supplicant's
    /// `fast_provisioning=3`).
    pub fn with_anonymous(mut self) -> ClientConfig {
        if !self.suites.contains(&CipherSuite::DhAnonAes128CbcSha) {
            self.suites.push(CipherSuite::DhAnonAes128CbcSha);
        }
        self
    }

    /// Offers a session ticket (abbreviated handshake).
    pub fn with_session_ticket(mut self, ticket: SessionTicket) -> ClientConfig {
        self.ticket = Some(ticket);
        self
    }

    /// The suites offered.
    pub fn suites(&self) -> &[CipherSuite] {
        &self.suites
    }
}

/// What went wrong, and where. Every error ends the connection; the alert that says so is
/// queued for [`Client::poll_output`] when one is due.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A message or field was shorter or longer than its encoding says.
    #[error("malformed {0}")]
    Decode(&'static str),
    /// A handshake message out of order.
    #[error("unexpected handshake message type {got} (expected {expected})")]
    UnexpectedMessage {
        /// What the state machine waited for.
        expected: &'static str,
        /// The handshake type received.
        got: u8,
    },
    /// A record of a content type not allowed here.
    #[error("unexpected record of content type {0}")]
    UnexpectedContentType(u8),
    /// A record failed decryption or its MAC (always the same error, RFC 5246 §7.2.2).
    #[error("record failed the MAC check (bad_record_mac)")]
    BadRecordMac,
    /// A record or buffer beyond the RFC 5246 bounds.
    #[error("record of {0} bytes exceeds the limit")]
    RecordOverflow(usize),
    /// A handshake message beyond the configured bound.
    #[error("handshake message of {0} bytes exceeds the limit")]
    HandshakeTooLong(usize),
    /// The server chose something this client did not offer or does not accept.
    #[error("illegal parameter: {0}")]
    IllegalParameter(&'static str),
    /// The server's DH parameters failed the checks.
    #[error("server DH parameters refused: {0}")]
    DhParameters(String),
    /// The server's certificate chain or names failed the policy.
    #[error("server certificate refused: {0}")]
    Certificate(String),
    /// The ServerKeyExchange signature did not verify.
    #[error("ServerKeyExchange signature invalid")]
    Signature,
    /// The server's Finished did not match.
    #[error("server Finished verify_data mismatch")]
    FinishedMismatch,
    /// The server sent a fatal alert.
    #[error("server sent fatal alert {0}")]
    AlertReceived(u8),
    /// No more random bytes.
    #[error("random number generator failed")]
    Random,
    /// 2^64 records in one direction.
    #[error("record sequence number exhausted")]
    SequenceExhausted,
    /// Application data before the handshake finished, or after the end.
    #[error("connection not ready for application data")]
    NotReady,
    /// A bug guard.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl TlsError {
    /// The alert description to send for this error, if any.
    fn alert(&self) -> Option<u8> {
        Some(match self {
            TlsError::Decode(_) => 50,
            TlsError::UnexpectedMessage { .. } | TlsError::UnexpectedContentType(_) | TlsError::NotReady => {
                10
            }
            TlsError::BadRecordMac => 20,
            TlsError::RecordOverflow(_) | TlsError::HandshakeTooLong(_) => 22,
            TlsError::IllegalParameter(_) => 47,
            TlsError::DhParameters(_) => 71,
            TlsError::Certificate(_) => 42,
            TlsError::Signature | TlsError::FinishedMismatch => 51,
            TlsError::Random | TlsError::Internal(_) | TlsError::SequenceExhausted => 80,
            TlsError::AlertReceived(_) => return None,
        })
    }
}

/// What the client reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsEvent {
    /// The handshake finished; application data may flow.
    HandshakeComplete {
        /// The suite negotiated.
        suite: CipherSuite,
        /// Whether the server accepted the session ticket (abbreviated handshake).
        resumed: bool,
    },
    /// Decrypted application data.
    ApplicationData(Vec<u8>),
    /// The server sent close_notify.
    Closed,
}

/// What the host should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send these bytes (whole records) to the server.
    Transmit(Vec<u8>),
    /// Report this.
    Event(TlsEvent),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    ServerHello,
    /// After a ServerHello to a ClientHello with a ticket: a ChangeCipherSpec (or a
    /// NewSessionTicket) means the server resumed, a Certificate or ServerKeyExchange that it
    /// refused the ticket and runs a full handshake (hostap's internal client decides the same
    /// way; OpenSSL servers do not always echo the session ID).
    TicketOrFull,
    Certificate,
    KeyExchange,
    CertificateRequestOrDone,
    ChangeCipherSpec {
        abbreviated: bool,
    },
    Finished {
        abbreviated: bool,
    },
    Done,
    Failed,
    Closed,
}

/// Handshake types (RFC 5246 §7.4).
mod hs {
    pub const HELLO_REQUEST: u8 = 0;
    pub const CLIENT_HELLO: u8 = 1;
    pub const SERVER_HELLO: u8 = 2;
    pub const NEW_SESSION_TICKET: u8 = 4;
    pub const CERTIFICATE: u8 = 11;
    pub const SERVER_KEY_EXCHANGE: u8 = 12;
    pub const CERTIFICATE_REQUEST: u8 = 13;
    pub const SERVER_HELLO_DONE: u8 = 14;
    pub const CLIENT_KEY_EXCHANGE: u8 = 16;
    pub const FINISHED: u8 = 20;
}

const EXT_SIGNATURE_ALGORITHMS: u16 = 13;
const EXT_SESSION_TICKET: u16 = 35;
const EXT_RENEGOTIATION_INFO: u16 = 0xff01;
/// rsa_pss_rsae_sha256/384/512, rsa_pkcs1_sha256/384/512.
const SIGNATURE_SCHEMES: [u16; 6] = [0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601];

/// One TLS 1.2 client connection. Drive it with [`Client::start`], [`Client::handle_tls`] and
/// [`Client::send`]; drain [`Client::poll_output`] after each call.
pub struct Client {
    config: ClientConfig,
    rng: Rng,
    state: State,
    records: RecordLayer,
    hs_buf: Vec<u8>,
    transcript: digest::Context,
    client_random: [u8; 32],
    server_random: [u8; 32],
    session_id: Vec<u8>,
    suite: Option<CipherSuite>,
    server_certs: Vec<CertificateDer<'static>>,
    rsa_key: Option<RsaPublicKey>,
    dh: Option<DhParams>,
    cert_requested: bool,
    master_secret: Option<Zeroizing<Vec<u8>>>,
    pending_read: Option<CipherState>,
    pending_write: Option<CipherState>,
    resumed: bool,
    tx: Vec<u8>,
    events: VecDeque<TlsEvent>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("state", &self.state)
            .field("suite", &self.suite)
            .field("resumed", &self.resumed)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A connection that has sent nothing yet.
    pub fn new(config: ClientConfig, random: RandomSource) -> Client {
        Client {
            config,
            rng: Rng::new(&random),
            state: State::Idle,
            records: RecordLayer::new(),
            hs_buf: Vec::new(),
            transcript: digest::Context::new(&digest::SHA256),
            client_random: [0; 32],
            server_random: [0; 32],
            session_id: Vec::new(),
            suite: None,
            server_certs: Vec::new(),
            rsa_key: None,
            dh: None,
            cert_requested: false,
            master_secret: None,
            pending_read: None,
            pending_write: None,
            resumed: false,
            tx: Vec::new(),
            events: VecDeque::new(),
        }
    }

    /// Queues the ClientHello.
    pub fn start(&mut self, now: Instant) -> Result<(), TlsError> {
        let _ = now; // TLS has no timers here; the EAP layer times the conversation
        if self.state != State::Idle {
            return Err(TlsError::Internal("start called twice"));
        }
        if self.config.suites.is_empty() {
            return Err(TlsError::Internal("no cipher suite to offer"));
        }
        let result = self.send_client_hello();
        self.check(result)
    }

    /// Takes bytes from the server (any split: partial records are kept for the next call).
    pub fn handle_tls(&mut self, now: Instant, bytes: &[u8]) -> Result<(), TlsError> {
        let _ = now;
        match self.state {
            State::Failed => return Err(TlsError::NotReady),
            State::Closed => return Ok(()),
            _ => {}
        }
        let result = self.records.push(bytes).and_then(|()| self.read_records());
        self.check(result)
    }

    /// Encrypts application data (after the handshake).
    pub fn send(&mut self, data: &[u8]) -> Result<(), TlsError> {
        if self.state != State::Done {
            return Err(TlsError::NotReady);
        }
        let mut out = std::mem::take(&mut self.tx);
        let result = self
            .records
            .seal(&mut self.rng, ContentType::ApplicationData, data, &mut out);
        self.tx = out;
        self.check(result)
    }

    /// Sends close_notify; nothing more can be sent.
    pub fn close(&mut self) {
        if matches!(self.state, State::Done) {
            let mut out = std::mem::take(&mut self.tx);
            let _ = self
                .records
                .seal(&mut self.rng, ContentType::Alert, &[1, 0], &mut out);
            self.tx = out;
        }
        self.state = State::Closed;
    }

    /// The next thing to do: bytes to send first, then events.
    pub fn poll_output(&mut self) -> Option<Output> {
        if !self.tx.is_empty() {
            return Some(Output::Transmit(std::mem::take(&mut self.tx)));
        }
        self.events.pop_front().map(Output::Event)
    }

    /// Whether the handshake finished.
    pub fn is_established(&self) -> bool {
        self.state == State::Done
    }

    /// The suite the server chose.
    pub fn suite(&self) -> Option<CipherSuite> {
        self.suite
    }

    /// Whether the server accepted the session ticket.
    pub fn resumed(&self) -> bool {
        self.resumed
    }

    /// The ClientHello random.
    pub fn client_random(&self) -> &[u8; 32] {
        &self.client_random
    }

    /// The ServerHello random (zeros before it arrives).
    pub fn server_random(&self) -> &[u8; 32] {
        &self.server_random
    }

    /// The server's certificate chain as received (empty for anonymous DH and resumption).
    pub fn server_certificates(&self) -> &[CertificateDer<'static>] {
        &self.server_certs
    }

    /// `PRF(master_secret, "key expansion", server_random || client_random)` of `len` bytes:
    /// the record keys first ([`CipherSuite::key_block_record_len`]), then what EAP-FAST takes
    /// past them (RFC 4851 §5.1 session_key_seed, RFC 5422 §3.2.3 MSCHAPv2 challenges).
    /// `None` before the handshake has finished.
    pub fn export_key_block(&self, len: usize) -> Option<Secret> {
        if self.state != State::Done {
            return None;
        }
        let ms = self.master_secret.as_ref()?;
        let kb = prf::prf(ms, b"key expansion", &self.randoms(false), len);
        Some(Secret::new(kb.to_vec()))
    }

    fn randoms(&self, client_first: bool) -> [u8; 64] {
        let mut seed = [0u8; 64];
        let (a, b) = seed.split_at_mut(32);
        if client_first {
            a.copy_from_slice(&self.client_random);
            b.copy_from_slice(&self.server_random);
        } else {
            a.copy_from_slice(&self.server_random);
            b.copy_from_slice(&self.client_random);
        }
        seed
    }

    /// On error: queue the alert, stop.
    fn check<T>(&mut self, result: Result<T, TlsError>) -> Result<T, TlsError> {
        if let Err(e) = &result {
            tracing::debug!("TLS: {e}");
            if let Some(desc) = e.alert() {
                let mut out = std::mem::take(&mut self.tx);
                let _ = self
                    .records
                    .seal(&mut self.rng, ContentType::Alert, &[2, desc], &mut out);
                self.tx = out;
            }
            self.state = State::Failed;
        }
        result
    }

    fn write_handshake(&mut self, message: &[u8]) -> Result<(), TlsError> {
        self.transcript.update(message);
        let mut out = std::mem::take(&mut self.tx);
        let r = self
            .records
            .seal(&mut self.rng, ContentType::Handshake, message, &mut out);
        self.tx = out;
        r
    }

    fn send_client_hello(&mut self) -> Result<(), TlsError> {
        self.rng
            .fill(&mut self.client_random)
            .map_err(|_| TlsError::Random)?;
        if self.config.ticket.is_some() {
            // RFC 5077 §3.4: a session ID lets the client tell resumption from a full handshake.
            self.session_id = vec![0u8; 32];
            self.rng
                .fill(&mut self.session_id)
                .map_err(|_| TlsError::Random)?;
        }
        let mut body = vec![3, 3];
        body.extend_from_slice(&self.client_random);
        put_vec8(&mut body, &self.session_id);
        let suites: Vec<u8> = self
            .config
            .suites
            .iter()
            .flat_map(|s| s.value().to_be_bytes())
            .collect();
        put_vec16(&mut body, &suites);
        put_vec8(&mut body, &[0]); // null compression only
        let mut ext = Vec::new();
        if self.config.suites.iter().any(|s| !s.is_anonymous()) {
            let schemes: Vec<u8> = SIGNATURE_SCHEMES.iter().flat_map(|s| s.to_be_bytes()).collect();
            let mut data = Vec::new();
            put_vec16(&mut data, &schemes);
            put_u16(&mut ext, usize::from(EXT_SIGNATURE_ALGORITHMS));
            put_vec16(&mut ext, &data);
        }
        // RFC 5746: an empty renegotiation_info says "secure renegotiation aware"; this client
        // then never renegotiates.
        put_u16(&mut ext, usize::from(EXT_RENEGOTIATION_INFO));
        put_vec16(&mut ext, &[0]);
        if let Some(ticket) = &self.config.ticket {
            put_u16(&mut ext, usize::from(EXT_SESSION_TICKET));
            put_vec16(&mut ext, &ticket.ticket);
        }
        put_vec16(&mut body, &ext);
        self.write_handshake(&handshake(hs::CLIENT_HELLO, &body))?;
        self.state = State::ServerHello;
        Ok(())
    }

    fn read_records(&mut self) -> Result<(), TlsError> {
        while let Some(record) = self.records.next_record()? {
            match record.ty {
                ContentType::Handshake => {
                    if self.hs_buf.len() + record.data.len() > self.config.max_handshake_len + 4 {
                        return Err(TlsError::HandshakeTooLong(self.hs_buf.len() + record.data.len()));
                    }
                    self.hs_buf.extend_from_slice(&record.data);
                    self.read_handshake_messages()?;
                }
                ContentType::ChangeCipherSpec => self.change_cipher_spec(&record.data)?,
                ContentType::Alert => self.alert(&record.data)?,
                ContentType::ApplicationData => {
                    if self.state != State::Done {
                        return Err(TlsError::UnexpectedContentType(23));
                    }
                    if !record.data.is_empty() {
                        self.events
                            .push_back(TlsEvent::ApplicationData(record.data.to_vec()));
                    }
                }
            }
            if matches!(self.state, State::Closed) {
                break;
            }
        }
        Ok(())
    }

    fn alert(&mut self, data: &[u8]) -> Result<(), TlsError> {
        let [level, desc] = data else {
            return Err(TlsError::Decode("alert"));
        };
        match (level, desc) {
            (_, 0) => {
                self.state = State::Closed;
                self.events.push_back(TlsEvent::Closed);
                Ok(())
            }
            (1, d) => {
                tracing::debug!("TLS: warning alert {d} from the server ignored");
                Ok(())
            }
            (_, d) => {
                self.state = State::Failed;
                Err(TlsError::AlertReceived(*d))
            }
        }
    }

    fn change_cipher_spec(&mut self, data: &[u8]) -> Result<(), TlsError> {
        if self.state == State::TicketOrFull {
            self.resume()?;
        }
        let State::ChangeCipherSpec { abbreviated } = self.state else {
            return Err(TlsError::UnexpectedContentType(20));
        };
        if data != [1] {
            return Err(TlsError::Decode("change_cipher_spec"));
        }
        if !self.hs_buf.is_empty() {
            // A handshake message split across the CCS.
            return Err(TlsError::UnexpectedContentType(20));
        }
        let read = self
            .pending_read
            .take()
            .ok_or(TlsError::Internal("no pending read keys"))?;
        self.records.set_read(read);
        self.state = State::Finished { abbreviated };
        Ok(())
    }

    fn read_handshake_messages(&mut self) -> Result<(), TlsError> {
        loop {
            let Some(header) = self.hs_buf.get(..4) else {
                return Ok(());
            };
            let ty = *header.first().unwrap_or(&0);
            let len = header
                .iter()
                .skip(1)
                .fold(0usize, |a, b| (a << 8) | usize::from(*b));
            if len > self.config.max_handshake_len {
                return Err(TlsError::HandshakeTooLong(len));
            }
            if self.hs_buf.len() < 4 + len {
                return Ok(());
            }
            let message: Vec<u8> = self.hs_buf.drain(..4 + len).collect();
            let body = message.get(4..).unwrap_or(&[]);
            self.handshake_message(ty, body, &message)?;
            if self.state == State::Failed {
                return Ok(());
            }
        }
    }

    fn handshake_message(&mut self, ty: u8, body: &[u8], whole: &[u8]) -> Result<(), TlsError> {
        if ty == hs::HELLO_REQUEST {
            if !body.is_empty() {
                return Err(TlsError::Decode("HelloRequest"));
            }
            if self.state == State::Done {
                // RFC 5746 §4.2 / RFC 5246 §7.2.2: refuse with a warning, keep the connection.
                let mut out = std::mem::take(&mut self.tx);
                let r = self
                    .records
                    .seal(&mut self.rng, ContentType::Alert, &[1, 100], &mut out);
                self.tx = out;
                return r;
            }
            return Ok(()); // ignored during a handshake (RFC 5246 §7.4.1.1), not hashed
        }
        if ty != hs::FINISHED {
            self.transcript.update(whole);
        }
        match (self.state, ty) {
            (State::ServerHello, hs::SERVER_HELLO) => self.server_hello(body),
            (State::Certificate, hs::CERTIFICATE) => self.certificate(body),
            (State::TicketOrFull, hs::CERTIFICATE) if !self.suite.is_some_and(CipherSuite::is_anonymous) => {
                tracing::debug!("TLS: the server refused the session ticket (full handshake)");
                self.certificate(body)
            }
            (State::TicketOrFull, hs::SERVER_KEY_EXCHANGE)
                if self.suite.is_some_and(CipherSuite::is_anonymous) =>
            {
                tracing::debug!("TLS: the server refused the session ticket (full handshake)");
                self.server_key_exchange(body)
            }
            (State::TicketOrFull, hs::NEW_SESSION_TICKET) => {
                self.resume()?;
                let mut r = Reader::new(body, "NewSessionTicket");
                r.take(4)?;
                r.vec16()?;
                r.finish()
            }
            (State::KeyExchange, hs::SERVER_KEY_EXCHANGE) => self.server_key_exchange(body),
            (State::CertificateRequestOrDone, hs::CERTIFICATE_REQUEST) if !self.cert_requested => {
                self.certificate_request(body)
            }
            (State::CertificateRequestOrDone, hs::SERVER_HELLO_DONE) => {
                if !body.is_empty() {
                    return Err(TlsError::Decode("ServerHelloDone"));
                }
                self.client_flight()
            }
            (State::ChangeCipherSpec { .. }, hs::NEW_SESSION_TICKET) => {
                let mut r = Reader::new(body, "NewSessionTicket");
                r.take(4)?;
                r.vec16()?;
                r.finish()
            }
            (State::Finished { abbreviated }, hs::FINISHED) => {
                self.server_finished(body, abbreviated)?;
                self.transcript.update(whole);
                if abbreviated {
                    self.send_ccs_and_finished()?;
                }
                self.state = State::Done;
                let suite = self.suite.ok_or(TlsError::Internal("no suite"))?;
                self.events.push_back(TlsEvent::HandshakeComplete {
                    suite,
                    resumed: self.resumed,
                });
                Ok(())
            }
            (state, got) => Err(TlsError::UnexpectedMessage {
                expected: match state {
                    State::ServerHello => "ServerHello",
                    State::TicketOrFull => "ChangeCipherSpec, Certificate or ServerKeyExchange",
                    State::Certificate => "Certificate",
                    State::KeyExchange => "ServerKeyExchange",
                    State::CertificateRequestOrDone => "CertificateRequest or ServerHelloDone",
                    State::ChangeCipherSpec { .. } => "ChangeCipherSpec",
                    State::Finished { .. } => "Finished",
                    State::Done => "no handshake message (renegotiation is refused)",
                    State::Idle | State::Failed | State::Closed => "nothing",
                },
                got,
            }),
        }
    }

    fn server_hello(&mut self, body: &[u8]) -> Result<(), TlsError> {
        let mut r = Reader::new(body, "ServerHello");
        if r.u16()? != 0x0303 {
            return Err(TlsError::IllegalParameter("ServerHello version is not TLS 1.2"));
        }
        self.server_random.copy_from_slice(r.take(32)?);
        // RFC 8446 §4.1.3: a TLS 1.3 server negotiating 1.2 ends its random with "DOWNGRD\x01";
        // a client that only speaks TLS 1.2 has nothing to check there (hostapd with TLS 1.3
        // enabled sends it).
        let session_id = r.vec8()?.to_vec();
        if session_id.len() > 32 {
            return Err(TlsError::Decode("ServerHello session_id"));
        }
        let suite = CipherSuite::from_value(r.u16()?)
            .filter(|s| self.config.suites.contains(s))
            .ok_or(TlsError::IllegalParameter("cipher suite not offered"))?;
        if r.u8()? != 0 {
            return Err(TlsError::IllegalParameter("compression method not offered"));
        }
        let mut seen = Vec::new();
        let mut secure_renegotiation = false;
        if !r.is_empty() {
            let mut ext = Reader::new(r.vec16()?, "ServerHello extensions");
            while !ext.is_empty() {
                let ty = ext.u16()?;
                let data = ext.vec16()?;
                if seen.contains(&ty) {
                    return Err(TlsError::IllegalParameter("duplicate ServerHello extension"));
                }
                seen.push(ty);
                match ty {
                    EXT_RENEGOTIATION_INFO if data == [0] => secure_renegotiation = true,
                    EXT_RENEGOTIATION_INFO => {
                        return Err(TlsError::IllegalParameter("renegotiation_info not empty"));
                    }
                    EXT_SESSION_TICKET if self.config.ticket.is_some() && data.is_empty() => {}
                    _ => return Err(TlsError::IllegalParameter("unsolicited ServerHello extension")),
                }
            }
        }
        r.finish()?;
        if !secure_renegotiation {
            tracing::debug!(
                "TLS: server did not confirm RFC 5746 secure renegotiation (never renegotiated here)"
            );
        }
        self.suite = Some(suite);
        let echoed = !self.session_id.is_empty() && session_id == self.session_id;
        if echoed {
            self.resume()?;
        } else if self.config.ticket.is_some() {
            self.state = State::TicketOrFull;
        } else if suite.is_anonymous() {
            self.state = State::KeyExchange;
        } else {
            self.state = State::Certificate;
        }
        Ok(())
    }

    /// The server accepted the ticket: the master secret comes from the ticket's key.
    fn resume(&mut self) -> Result<(), TlsError> {
        let ticket = self.config.ticket.as_ref().ok_or(TlsError::Internal("ticket"))?;
        let ms = (ticket.derive)(ticket.key.expose(), &self.server_random, &self.client_random);
        if ms.len() != 48 {
            return Err(TlsError::Internal("master secret not 48 bytes"));
        }
        self.master_secret = Some(ms);
        self.resumed = true;
        self.derive_record_keys()?;
        self.state = State::ChangeCipherSpec { abbreviated: true };
        Ok(())
    }

    fn certificate(&mut self, body: &[u8]) -> Result<(), TlsError> {
        let mut r = Reader::new(body, "Certificate");
        let mut list = Reader::new(r.vec24()?, "Certificate list");
        r.finish()?;
        let mut certs = Vec::new();
        while !list.is_empty() {
            certs.push(CertificateDer::from(list.vec24()?.to_vec()));
            if certs.len() > 10 {
                return Err(TlsError::Certificate("chain longer than 10 certificates".into()));
            }
        }
        let (leaf, intermediates) = certs
            .split_first()
            .ok_or_else(|| TlsError::Certificate("empty certificate list".into()))?;
        let verifier = self
            .config
            .verifier
            .as_ref()
            .ok_or_else(|| TlsError::Certificate("no CA configured to check it against".into()))?;
        let now = self
            .config
            .clock
            .as_ref()
            .and_then(|c| c.current_time())
            .ok_or_else(|| TlsError::Certificate("no clock to check its validity against".into()))?;
        verifier
            .verify_server_cert(
                leaf,
                intermediates,
                &crate::config::EapTlsConfig::server_name(),
                &[],
                now,
            )
            .map_err(|e| TlsError::Certificate(e.to_string()))?;
        let suite = self.suite.ok_or(TlsError::Internal("no suite"))?;
        if suite.is_rsa_key_exchange() {
            self.rsa_key = Some(RsaPublicKey::from_certificate(leaf.as_ref())?);
            self.state = State::CertificateRequestOrDone;
        } else {
            self.state = State::KeyExchange;
        }
        self.server_certs = certs;
        Ok(())
    }

    fn server_key_exchange(&mut self, body: &[u8]) -> Result<(), TlsError> {
        let mut r = Reader::new(body, "ServerKeyExchange");
        let dh = DhParams::read(&mut r)?;
        let params_len = body.len() - r.rest_len();
        let suite = self.suite.ok_or(TlsError::Internal("no suite"))?;
        if !suite.is_anonymous() {
            let scheme = r.u16()?;
            let signature = r.vec16()?;
            r.finish()?;
            let alg = match scheme {
                0x0401 => webpki::ring::RSA_PKCS1_2048_8192_SHA256,
                0x0501 => webpki::ring::RSA_PKCS1_2048_8192_SHA384,
                0x0601 => webpki::ring::RSA_PKCS1_2048_8192_SHA512,
                0x0804 => webpki::ring::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
                0x0805 => webpki::ring::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
                0x0806 => webpki::ring::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
                _ => return Err(TlsError::IllegalParameter("signature scheme not offered")),
            };
            let mut signed = Vec::with_capacity(64 + params_len);
            signed.extend_from_slice(&self.client_random);
            signed.extend_from_slice(&self.server_random);
            signed.extend_from_slice(body.get(..params_len).unwrap_or(&[]));
            let leaf = self
                .server_certs
                .first()
                .ok_or(TlsError::Internal("no certificate"))?;
            let cert =
                webpki::EndEntityCert::try_from(leaf).map_err(|e| TlsError::Certificate(e.to_string()))?;
            cert.verify_signature(alg, &signed, signature)
                .map_err(|_| TlsError::Signature)?;
        } else {
            r.finish()?;
        }
        self.dh = Some(dh);
        self.state = State::CertificateRequestOrDone;
        Ok(())
    }

    fn certificate_request(&mut self, body: &[u8]) -> Result<(), TlsError> {
        let mut r = Reader::new(body, "CertificateRequest");
        r.vec8()?;
        r.vec16()?;
        r.vec16()?;
        r.finish()?;
        self.cert_requested = true;
        Ok(())
    }

    fn client_flight(&mut self) -> Result<(), TlsError> {
        if self.cert_requested {
            // No client certificate in EAP-FAST: an empty list (RFC 5246 §7.4.6).
            self.write_handshake(&handshake(hs::CERTIFICATE, &[0, 0, 0]))?;
        }
        let (exchange, pms) = if let Some(dh) = &self.dh {
            let (yc, z) = dh.agree(&mut self.rng)?;
            let mut body = Vec::new();
            put_vec16(&mut body, &yc);
            (body, z)
        } else if let Some(rsa) = &self.rsa_key {
            let mut pms = Zeroizing::new(vec![0u8; 48]);
            self.rng.fill(&mut pms).map_err(|_| TlsError::Random)?;
            if let Some(v) = pms.get_mut(..2) {
                v.copy_from_slice(&[3, 3]);
            }
            let ct = rsa.encrypt(&mut self.rng, &pms)?;
            let mut body = Vec::new();
            put_vec16(&mut body, &ct);
            (body, pms)
        } else {
            return Err(TlsError::Internal("no key exchange"));
        };
        self.write_handshake(&handshake(hs::CLIENT_KEY_EXCHANGE, &exchange))?;
        self.master_secret = Some(prf::prf(&pms, b"master secret", &self.randoms(true), 48));
        self.derive_record_keys()?;
        self.send_ccs_and_finished()?;
        self.state = State::ChangeCipherSpec { abbreviated: false };
        Ok(())
    }

    fn derive_record_keys(&mut self) -> Result<(), TlsError> {
        let suite = self.suite.ok_or(TlsError::Internal("no suite"))?;
        let ms = self
            .master_secret
            .as_ref()
            .ok_or(TlsError::Internal("no master secret"))?;
        let k = suite.key_len();
        let kb = prf::prf(
            ms,
            b"key expansion",
            &self.randoms(false),
            suite.key_block_record_len(),
        );
        let part = |from: usize, len: usize| kb.get(from..from + len).ok_or(TlsError::Internal("key block"));
        let client = CipherState::new(part(0, 20)?, part(40, k)?)?;
        let server = CipherState::new(part(20, 20)?, part(40 + k, k)?)?;
        self.pending_write = Some(client);
        self.pending_read = Some(server);
        Ok(())
    }

    fn verify_data(&self, label: &[u8]) -> Result<Zeroizing<Vec<u8>>, TlsError> {
        let ms = self
            .master_secret
            .as_ref()
            .ok_or(TlsError::Internal("no master secret"))?;
        let hash = self.transcript.clone().finish();
        Ok(prf::prf(ms, label, hash.as_ref(), 12))
    }

    fn send_ccs_and_finished(&mut self) -> Result<(), TlsError> {
        let mut out = std::mem::take(&mut self.tx);
        let r = self
            .records
            .seal(&mut self.rng, ContentType::ChangeCipherSpec, &[1], &mut out);
        self.tx = out;
        r?;
        let write = self
            .pending_write
            .take()
            .ok_or(TlsError::Internal("no pending write keys"))?;
        self.records.set_write(write);
        let vd = self.verify_data(b"client finished")?;
        self.write_handshake(&handshake(hs::FINISHED, &vd))
    }

    fn server_finished(&mut self, body: &[u8], _abbreviated: bool) -> Result<(), TlsError> {
        let want = self.verify_data(b"server finished")?;
        if body.len() != 12 {
            return Err(TlsError::Decode("Finished"));
        }
        if !bool::from(want.as_slice().ct_eq(body)) {
            return Err(TlsError::FinishedMismatch);
        }
        Ok(())
    }
}
