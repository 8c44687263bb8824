//! The EAP-FAST peer method (RFC 4851): EAP-FAST framing (flags, version, fragments), phase 1
//! on the TLS 1.2 client, phase 2 TLVs with the inner EAP-MSCHAPv2 / EAP-GTC, Crypto-Binding,
//! PAC provisioning (RFC 5422) and the keys.

use std::time::Instant;

use phone_secret::SecretBytes;
use subtle::ConstantTimeEq;
use thiserror::Error;
use zeroize::Zeroizing;

use super::config::{FastConfig, Phase2};
use super::keys;
use super::mschapv2;
use super::pac::{Pac, PacError};
use super::tls12::{CipherSuite, Client, ClientConfig, Output, SessionTicket, TlsError, TlsEvent};
use super::tlv::{self, TlvError};
use crate::eap::{self, Code, EapPacket, MethodType};
use crate::event::{Authenticated, Event, FailureReason, Protocol, TlsVersion};
use crate::fragment::{FragmentError, Framing, Header, Received};
use crate::tls::Step;

const VERSION_MASK: u8 = 0x07;
/// EAP-FAST version 1 (RFC 4851 §3.1).
const FAST_VERSION: u8 = 1;
/// The EAP-FAST Type-Code, also the Session-Id prefix (RFC 5247).
const TYPE_CODE: u8 = 43;
const MSCHAPV2: u8 = 26;
const GTC: u8 = 6;

/// Why EAP-FAST failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FastError {
    /// Phase 1: the TLS 1.2 client refused the server (certificate, DH group, MAC, order…).
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
    /// Phase 2: a malformed TLV message.
    #[error("phase 2 TLVs: {0}")]
    Tlv(#[from] TlvError),
    /// A PAC TLV that is not a usable PAC.
    #[error("PAC: {0}")]
    Pac(#[from] PacError),
    /// No PAC for this server and the policy allows no provisioning.
    #[error("no PAC for this server (A-ID {0}) and PAC provisioning is disabled")]
    NoPac(String),
    /// No cipher suite could be offered: authenticated provisioning without a CA.
    #[error(
        "no PAC and no provisioning mode this configuration can run (authenticated provisioning needs a CA)"
    )]
    NothingToOffer,
    /// Crypto-Binding TLV with a version or subtype other than 1 / request.
    #[error(
        "Crypto-Binding TLV: version {version}, received version {received}, subtype {subtype} (expected 1, 1, 0)"
    )]
    CryptoBindingVersion {
        /// Version.
        version: u8,
        /// Received-Version.
        received: u8,
        /// Sub-Type.
        subtype: u8,
    },
    /// The Compound MAC did not verify: the tunnel and the inner method are not bound.
    #[error("Crypto-Binding Compound MAC mismatch")]
    CompoundMac,
    /// The server's MSCHAPv2 authenticator response was wrong: it does not know the password.
    #[error("MSCHAPv2 authenticator response mismatch: the server is not who it claims")]
    AuthenticatorResponse,
    /// The inner method failed (MSCHAPv2 Failure: wrong password, locked account…).
    #[error("inner method failed: {0}")]
    InnerFailure(String),
    /// The server reported failure in a Result or Intermediate-Result TLV.
    #[error("the server reported failure in phase 2")]
    ServerFailure,
    /// The server refused the PAC (full handshake instead of the abbreviated one) and there is no
    /// CA to authenticate it with: forget this PAC and provision a new one if the policy allows.
    #[error("the server refused the PAC and no CA is configured to authenticate its certificate")]
    PacRefused,
    /// Something out of order.
    #[error("protocol: {0}")]
    Protocol(&'static str),
}

/// How phase 1 ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Abbreviated handshake with a PAC.
    Pac,
    /// Anonymous DH: provisioning only, ends in EAP-Failure (RFC 5422 §3.2.2).
    Anonymous,
    /// Full handshake with a server certificate: provisioning and authentication.
    Authenticated,
}

/// The inner method's state.
#[derive(Default)]
struct Inner {
    method: Option<u8>,
    auth_response: Option<[u8; 20]>,
    master_key: Option<Zeroizing<[u8; 16]>>,
    success: bool,
}

/// One EAP-FAST conversation.
pub(crate) struct EapFast {
    config: FastConfig,
    version: u8,
    tls: Option<Client>,
    framing: Framing,
    used_pac: bool,
    /// The PAC in use ends within the refresh margin: ask for a new one in phase 2.
    refresh_pac: bool,
    pac_requested: bool,
    mode: Option<Mode>,
    s_imck: Zeroizing<Vec<u8>>,
    challenges: Option<([u8; 16], [u8; 16])>,
    inner: Inner,
    keys: Option<Authenticated>,
    result_success: bool,
    failed: bool,
    events: Vec<Event>,
    pub(crate) pac_received: bool,
}

impl std::fmt::Debug for EapFast {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EapFast")
            .field("mode", &self.mode)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl EapFast {
    pub(crate) fn new(config: &FastConfig) -> EapFast {
        EapFast {
            config: config.clone(),
            version: FAST_VERSION,
            tls: None,
            framing: Framing::new(config.fragment_size, config.max_message_len),
            used_pac: false,
            refresh_pac: false,
            pac_requested: false,
            mode: None,
            s_imck: Zeroizing::new(Vec::new()),
            challenges: None,
            inner: Inner::default(),
            keys: None,
            result_success: false,
            failed: false,
            events: Vec::new(),
            pac_received: false,
        }
    }

    /// Events for the host (a provisioned PAC).
    pub(crate) fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Whether EAP-Success may be accepted, and the keys.
    pub(crate) fn success(&self) -> Result<&Authenticated, FailureReason> {
        match &self.keys {
            Some(k) if !self.failed && self.result_success && !self.framing.sending() => Ok(k),
            _ => Err(FailureReason::UnexpectedSuccess),
        }
    }

    /// Processes the type-data (flags onwards) of an EAP-FAST request received at `now`.
    pub(crate) fn process(&mut self, now: Instant, data: &[u8]) -> Step {
        let header = match Header::parse(data) {
            Ok(h) => h,
            Err(e) => return Step::Discard(e),
        };
        if header.start() {
            if self.tls.is_some() {
                return Step::Discard(FragmentError::UnexpectedStart);
            }
            return self.start(now, header.flags & VERSION_MASK, header.payload);
        }
        if self.tls.is_none() {
            return Step::Discard(FragmentError::DataBeforeStart);
        }
        if self.failed {
            return Step::Discard(FragmentError::AfterDone);
        }
        if self.framing.sending() {
            return match self.framing.acked(&header, self.version) {
                Ok(fragment) => Step::Respond(fragment),
                Err(e) => Step::Discard(e),
            };
        }
        match self.framing.receive(&header) {
            Err(e) => self.fail_framing(e),
            Ok(Received::Fragment) => Step::Respond(vec![self.version]),
            Ok(Received::Message(m)) if m.is_empty() => Step::Respond(vec![self.version]),
            Ok(Received::Message(message)) => match self.feed(now, &message) {
                Ok(()) => self.flush(),
                Err(e) => self.fail(e),
            },
        }
    }

    fn start(&mut self, now: Instant, server_version: u8, payload: &[u8]) -> Step {
        self.version = server_version.clamp(1, FAST_VERSION);
        // RFC 4851 §4.1: the Authority-ID TLV (type 4); a bare A-ID is accepted too.
        let a_id = match payload {
            [0, 4, l0, l1, rest @ ..] => rest
                .get(..usize::from(u16::from_be_bytes([*l0, *l1])))
                .unwrap_or(rest),
            other => other,
        };
        // PAC lifetimes are wall-clock times: the host's clock says what time it is. Without
        // one (an unset clock) the PAC is offered and the server, which checks it too, decides.
        let wall = self.config.clock.current_time().map(|t| t.as_secs());
        let for_server = self
            .config
            .pacs
            .iter()
            .find(|p| p.a_id == a_id && p.pac_type == super::pac::TUNNEL_PAC);
        let pac = for_server
            .filter(|p| match wall {
                Some(t) if p.expires_within(t, 0) => {
                    tracing::info!("EAP-FAST: the PAC for A-ID {} has expired: not used", hex(a_id));
                    false
                }
                _ => true,
            })
            .cloned();
        // RFC 5422 §3.4: a PAC close to its end is refreshed in the tunnel it opens.
        self.refresh_pac = match (&pac, wall) {
            (Some(p), Some(t)) => p.expires_within(t, self.config.pac_refresh_margin.as_secs()),
            _ => false,
        };
        let prov = self.config.provisioning;
        // Certificate suites: checked against the CA when there is one; without one they are
        // offered only next to a PAC (a server that then shows a certificate is refused).
        let mut tls = match &self.config.authenticated {
            Some(auth) => auth.clone(),
            // No CA: the certificate suites next to a PAC, refused if a certificate comes (never
            // anonymous DH next to a PAC: hostapd then expects provisioning's key-block
            // MSCHAPv2 challenges, and wpa_supplicant never offers it either).
            None => ClientConfig::without_server_authentication(),
        };
        if pac.is_none() && !(prov.authenticated && self.config.authenticated.is_some()) {
            tls = tls.with_suites(&[]);
        }
        if prov.unauthenticated && pac.is_none() {
            tls = tls.with_anonymous();
        }
        if let Some(pac) = &pac {
            self.used_pac = true;
            tls = tls.with_session_ticket(SessionTicket::new(
                pac.opaque_tlv(),
                pac.key.clone(),
                keys::pac_master_secret,
            ));
        } else if !prov.unauthenticated && !prov.authenticated {
            return self.fail(FastError::NoPac(hex(a_id)));
        }
        if tls.suites().is_empty() {
            return self.fail(FastError::NothingToOffer);
        }
        let mut client = Client::new(tls, self.config.random.clone());
        let started = client.start(now);
        self.tls = Some(client);
        match started {
            Ok(()) => self.flush(),
            Err(e) => self.fail(e.into()),
        }
    }

    fn feed(&mut self, now: Instant, message: &[u8]) -> Result<(), FastError> {
        let tls = self.tls.as_mut().ok_or(FastError::Protocol("no TLS"))?;
        match tls.handle_tls(now, message) {
            Err(TlsError::Certificate(_)) if self.used_pac && self.config.authenticated.is_none() => {
                return Err(FastError::PacRefused);
            }
            r => r?,
        }
        let mut app = Vec::new();
        let mut out = Vec::new();
        while let Some(o) = self.tls.as_mut().and_then(Client::poll_output) {
            match o {
                Output::Transmit(b) => out.extend_from_slice(&b),
                Output::Event(TlsEvent::HandshakeComplete { suite, resumed }) => {
                    self.phase1_done(suite, resumed)?
                }
                Output::Event(TlsEvent::ApplicationData(d)) => app.push(d),
                Output::Event(TlsEvent::Closed) => {
                    return Err(FastError::Protocol("server closed the tunnel"));
                }
            }
        }
        for data in app {
            let response = self.phase2(&data)?;
            let tls = self.tls.as_mut().ok_or(FastError::Protocol("no TLS"))?;
            tls.send(&response)?;
            while let Some(Output::Transmit(b)) = tls.poll_output() {
                out.extend_from_slice(&b);
            }
        }
        self.framing.queue(out);
        Ok(())
    }

    fn phase1_done(&mut self, suite: CipherSuite, resumed: bool) -> Result<(), FastError> {
        let mode = if resumed {
            Mode::Pac
        } else if suite == CipherSuite::DhAnonAes128CbcSha {
            Mode::Anonymous
        } else {
            Mode::Authenticated
        };
        tracing::debug!("EAP-FAST: phase 1 done with {suite}, {mode:?}");
        let skip = suite.key_block_record_len();
        let extra = if mode == Mode::Anonymous { 72 } else { 40 };
        let tls = self.tls.as_ref().ok_or(FastError::Protocol("no TLS"))?;
        let kb = tls
            .export_key_block(skip + extra)
            .ok_or(FastError::Protocol("no key block"))?;
        let tail = kb.expose().get(skip..).unwrap_or(&[]);
        // RFC 4851 §5.1: session_key_seed = S-IMCK[0]; RFC 5422 §3.2.3: the MSCHAPv2
        // ServerChallenge and ClientChallenge follow it in anonymous provisioning.
        self.s_imck = Zeroizing::new(tail.get(..40).unwrap_or(&[]).to_vec());
        if mode == Mode::Anonymous {
            let mut server = [0u8; 16];
            let mut client = [0u8; 16];
            server.copy_from_slice(tail.get(40..56).unwrap_or(&[0; 16]));
            client.copy_from_slice(tail.get(56..72).unwrap_or(&[0; 16]));
            self.challenges = Some((server, client));
        }
        self.mode = Some(mode);
        Ok(())
    }

    /// One decrypted phase 2 message in, the TLVs to send back out (hostap's
    /// `eap_fast_process_decrypted` order).
    fn phase2(&mut self, data: &[u8]) -> Result<Vec<u8>, FastError> {
        let t = tlv::parse(data)?;
        let mut resp = Vec::new();
        if let Some(ty) = t.unknown_mandatory {
            tlv::nak(&mut resp, ty);
            return Ok(resp);
        }
        if t.result == Some(tlv::FAILURE) || t.intermediate == Some(tlv::FAILURE) {
            return Err(FastError::ServerFailure);
        }
        let mut body = Vec::new();
        if let Some(cb) = &t.crypto_binding {
            self.crypto_binding(cb, &mut body)?;
        }
        if t.intermediate == Some(tlv::SUCCESS) {
            tlv::result(&mut body, tlv::SUCCESS, true);
        }
        if let Some(payload) = t.eap_payload {
            let inner = self.inner_request(payload)?;
            tlv::put(&mut body, tlv::ty::EAP_PAYLOAD, true, &inner);
        }
        if let Some(pac) = t.pac {
            if t.result != Some(tlv::SUCCESS) {
                return Err(FastError::Protocol(
                    "PAC TLV without a Result TLV acknowledging success",
                ));
            }
            let pac = Pac::from_tlv(pac)?;
            tracing::info!("EAP-FAST: PAC provisioned for A-ID {}", hex(&pac.a_id));
            self.events.push(Event::PacProvisioned(Box::new(pac)));
            self.pac_received = true;
            tlv::pac_ack(&mut body);
        }
        let succeeded = t.intermediate == Some(tlv::SUCCESS) || t.result == Some(tlv::SUCCESS);
        let wants_pac = (!self.used_pac && self.mode == Some(Mode::Authenticated))
            || (self.refresh_pac && self.mode == Some(Mode::Pac));
        if wants_pac && t.pac.is_none() && succeeded && !self.pac_requested {
            tracing::info!("EAP-FAST: requesting a new Tunnel PAC");
            self.pac_requested = true;
            tlv::pac_request(&mut body);
        }
        if t.result == Some(tlv::SUCCESS) {
            tlv::result(&mut resp, tlv::SUCCESS, false);
            if t.crypto_binding.is_some() || self.keys.is_some() {
                self.result_success = true;
            }
        }
        resp.extend_from_slice(&body);
        Ok(resp)
    }

    fn crypto_binding(&mut self, cb: &tlv::CryptoBinding, out: &mut Vec<u8>) -> Result<(), FastError> {
        if cb.version() != FAST_VERSION || cb.received_version() != self.version || cb.subtype() != 0 {
            return Err(FastError::CryptoBindingVersion {
                version: cb.version(),
                received: cb.received_version(),
                subtype: cb.subtype(),
            });
        }
        // ISK: the MSCHAPv2 keys (receive, send); zeros for a method without keys (GTC).
        let isk = match &self.inner.master_key {
            Some(mk) if self.inner.success => mschapv2::fast_isk(mk),
            _ => Zeroizing::new([0u8; 32]),
        };
        let (s_imck, cmk) = keys::imck_step(&self.s_imck, &isk);
        let want = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &cmk),
            &cb.zeroed(),
        );
        if !bool::from(want.as_ref().ct_eq(cb.mac())) {
            return Err(FastError::CompoundMac);
        }
        self.s_imck = s_imck;
        // The response: version 1, received version, subtype 1, nonce + 1, MAC.
        let mut r = [0u8; tlv::CRYPTO_BINDING_LEN];
        r[..4].copy_from_slice(&[0x80, 12, 0, 56]);
        r[5] = FAST_VERSION;
        r[6] = cb.version();
        r[7] = 1;
        r[8..40].copy_from_slice(cb.nonce());
        for b in r[8..40].iter_mut().rev() {
            *b = b.wrapping_add(1);
            if *b != 0 {
                break;
            }
        }
        let mac = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &cmk),
            &r,
        );
        r[40..].copy_from_slice(mac.as_ref());
        out.extend_from_slice(&r);
        if self.inner.success && self.mode != Some(Mode::Anonymous) {
            self.derive_keys()?;
        }
        Ok(())
    }

    fn derive_keys(&mut self) -> Result<(), FastError> {
        let tls = self.tls.as_ref().ok_or(FastError::Protocol("no TLS"))?;
        let suite = tls.suite().ok_or(FastError::Protocol("no suite"))?;
        let mut session_id = vec![TYPE_CODE];
        session_id.extend_from_slice(tls.client_random());
        session_id.extend_from_slice(tls.server_random());
        self.keys = Some(Authenticated {
            protocol: Protocol::EapFast,
            tls_version: TlsVersion::Tls12,
            cipher_suite: suite.name().to_string(),
            msk: SecretBytes::new(keys::msk(&self.s_imck).to_vec()),
            emsk: SecretBytes::new(keys::emsk(&self.s_imck).to_vec()),
            session_id,
        });
        Ok(())
    }

    /// The inner EAP conversation: Identity, EAP-MSCHAPv2, EAP-GTC; anything else a Nak.
    fn inner_request(&mut self, packet: &[u8]) -> Result<Vec<u8>, FastError> {
        let p = EapPacket::parse(packet).map_err(|_| FastError::Protocol("malformed inner EAP packet"))?;
        if p.code() != Code::Request {
            return Err(FastError::Protocol("inner EAP packet is not a Request"));
        }
        let id = p.identifier();
        let data = p.type_data();
        let ty = p.method_type().map(MethodType::value).unwrap_or(0);
        let wanted = match self.config.phase2 {
            Phase2::MsChapV2 => MSCHAPV2,
            Phase2::Gtc => GTC,
        };
        if ty == 1 {
            return Ok(eap::response(
                id,
                MethodType::Identity,
                self.config.inner_identity.as_bytes(),
            ));
        }
        let allowed = ty == wanted && !(self.mode == Some(Mode::Anonymous) && ty != MSCHAPV2);
        if !allowed {
            // RFC 5422 §3.2.2: only MSCHAPv2 in anonymous provisioning.
            return Ok(eap::response(id, MethodType::Nak, &[wanted]));
        }
        if self.inner.method.is_some_and(|m| m != ty) {
            return Err(FastError::Protocol("inner method changed"));
        }
        self.inner.method = Some(ty);
        match ty {
            GTC => {
                let mut r = Zeroizing::new(b"RESPONSE=".to_vec());
                r.extend_from_slice(self.config.inner_identity.as_bytes());
                r.push(0);
                r.extend_from_slice(self.config.password.expose().as_bytes());
                self.inner.success = true;
                Ok(eap::response(id, MethodType::Other(GTC), &r))
            }
            _ => self.mschapv2(id, data),
        }
    }

    fn mschapv2(&mut self, id: u8, data: &[u8]) -> Result<Vec<u8>, FastError> {
        let [op, ms_id, _l0, _l1, rest @ ..] = data else {
            return Err(FastError::Protocol("EAP-MSCHAPv2 header too short"));
        };
        match op {
            1 => {
                let [16, challenge @ ..] = rest else {
                    return Err(FastError::Protocol("EAP-MSCHAPv2 challenge of the wrong length"));
                };
                let challenge: [u8; 16] = challenge
                    .get(..16)
                    .and_then(|c| c.try_into().ok())
                    .ok_or(FastError::Protocol("EAP-MSCHAPv2 challenge truncated"))?;
                let (auth, peer, send_peer) = match self.challenges {
                    // RFC 5422 §3.2.3: both challenges from the key block; the peer challenge
                    // field is sent as zeros.
                    Some((server, client)) => (server, client, [0u8; 16]),
                    None => {
                        let mut peer = [0u8; 16];
                        let mut rng = super::tls12::Rng::new(&self.config.random);
                        rng.fill(&mut peer)
                            .map_err(|_| FastError::Protocol("random generator failed"))?;
                        (challenge, peer, peer)
                    }
                };
                let user = self.config.inner_identity.clone();
                let c = mschapv2::compute(&auth, &peer, &user, self.config.password.expose());
                self.inner.auth_response = Some(c.authenticator_response);
                self.inner.master_key = Some(c.master_key);
                let ms_len = 4 + 1 + 49 + user.len();
                let mut r = vec![2, *ms_id];
                r.extend_from_slice(&u16::try_from(ms_len).unwrap_or(u16::MAX).to_be_bytes());
                r.push(49);
                r.extend_from_slice(&send_peer);
                r.extend_from_slice(&[0; 8]);
                r.extend_from_slice(&c.nt_response);
                r.push(0);
                r.extend_from_slice(user.as_bytes());
                Ok(eap::response(id, MethodType::Other(MSCHAPV2), &r))
            }
            3 => {
                let expected = self
                    .inner
                    .auth_response
                    .ok_or(FastError::Protocol("EAP-MSCHAPv2 Success before a challenge"))?;
                if !mschapv2::verify_authenticator_response(&expected, rest) {
                    return Err(FastError::AuthenticatorResponse);
                }
                self.inner.success = true;
                Ok(eap::response(id, MethodType::Other(MSCHAPV2), &[3]))
            }
            4 => Err(FastError::InnerFailure(
                String::from_utf8_lossy(rest).into_owned(),
            )),
            _ => Err(FastError::Protocol("unknown EAP-MSCHAPv2 op code")),
        }
    }

    /// Sends whatever TLS produced, or an ACK when nothing.
    fn flush(&mut self) -> Step {
        if self.framing.tx_is_empty() {
            let mut out = Vec::new();
            if let Some(tls) = self.tls.as_mut() {
                while let Some(Output::Transmit(b)) = tls.poll_output() {
                    out.extend_from_slice(&b);
                }
            }
            self.framing.queue(out);
        }
        if self.framing.tx_is_empty() {
            return Step::Respond(vec![self.version]);
        }
        Step::Respond(self.framing.next_fragment(self.version))
    }

    fn fail_framing(&mut self, e: FragmentError) -> Step {
        self.failed = true;
        Step::Fail {
            reason: FailureReason::Fragmentation(e),
            respond: None,
        }
    }

    fn fail(&mut self, e: FastError) -> Step {
        tracing::debug!("EAP-FAST: {e}");
        self.failed = true;
        // A TLS alert, or in phase 2 a Result TLV saying Failure, goes back in the tunnel (what
        // was queued before, already sent, is dropped).
        let mut out = Vec::new();
        self.framing.clear_tx();
        if let Some(tls) = self.tls.as_mut() {
            if tls.is_established() && !matches!(e, FastError::Tls(_)) {
                let mut r = Vec::new();
                tlv::result(&mut r, tlv::FAILURE, false);
                // The method fails with `e` either way. A send that fails has queued a fatal
                // alert instead (the TLS client's error path), which the loop below transmits.
                if let Err(send) = tls.send(&r) {
                    tracing::debug!("EAP-FAST: the Failure Result TLV was not sent: {send}");
                }
            }
            while let Some(Output::Transmit(b)) = tls.poll_output() {
                out.extend_from_slice(&b);
            }
        }
        let respond = (!out.is_empty()).then(|| {
            let mut data = vec![self.version];
            data.extend_from_slice(&out);
            data
        });
        Step::Fail {
            reason: FailureReason::Fast(e),
            respond,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::fast::tls12::RandomSource;
    use phone_secret::SecretString;

    fn method() -> EapFast {
        let config = FastConfig::new(
            "u",
            SecretString::new("p"),
            std::sync::Arc::new(crate::DefaultTimeProvider),
        )
        .random(RandomSource::Seeded([3; 32]));
        let mut m = EapFast::new(&config);
        m.s_imck = Zeroizing::new(vec![0x5a; 40]);
        m
    }

    /// A Crypto-Binding request as a server would send it, MAC'd with `cmk`.
    fn request(version: u8, subtype: u8, cmk: &[u8]) -> tlv::CryptoBinding {
        let mut raw = [0u8; tlv::CRYPTO_BINDING_LEN];
        raw[..4].copy_from_slice(&[0x80, 12, 0, 56]);
        raw[5] = version;
        raw[6] = 1;
        raw[7] = subtype;
        raw[8..40].copy_from_slice(&[0x42; 32]);
        raw[39] = 0x40; // server nonces end in a 0 bit
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, cmk);
        let mac = ring::hmac::sign(&key, &raw);
        raw[40..].copy_from_slice(mac.as_ref());
        tlv::CryptoBinding { raw }
    }

    #[test]
    fn crypto_binding_fails_closed() {
        // GTC (no inner key): ISK is zeros, so CMK[1] follows from S-IMCK[0] alone.
        let (_, cmk) = keys::imck_step(&[0x5a; 40], &[0; 32]);

        let mut m = method();
        let mut out = Vec::new();
        m.crypto_binding(&request(1, 0, &cmk), &mut out).unwrap();
        assert_eq!(out.len(), 60);
        assert_eq!(&out[..8], &[0x80, 12, 0, 56, 0, 1, 1, 1]); // response subtype 1
        assert_eq!(out[39], 0x41); // nonce + 1
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &cmk);
        let mut zeroed = out.clone();
        zeroed[40..].fill(0);
        assert_eq!(ring::hmac::sign(&key, &zeroed).as_ref(), &out[40..]);

        // A MAC made with any other key: refused, S-IMCK untouched.
        let mut m = method();
        let err = m.crypto_binding(&request(1, 0, &[0u8; 20]), &mut Vec::new());
        assert_eq!(err, Err(FastError::CompoundMac));
        assert_eq!(m.s_imck.as_slice(), &[0x5a; 40]);
        assert!(m.keys.is_none());

        // Wrong version or a response subtype: refused before any key is touched.
        for (v, st) in [(2, 0), (0, 0), (1, 1)] {
            let mut m = method();
            assert!(matches!(
                m.crypto_binding(&request(v, st, &cmk), &mut Vec::new()),
                Err(FastError::CryptoBindingVersion { .. })
            ));
        }
    }

    #[test]
    fn success_is_refused_before_the_crypto_binding() {
        let m = method();
        assert_eq!(m.success().err(), Some(FailureReason::UnexpectedSuccess));
    }

    #[test]
    fn framing_errors_are_typed_never_panics() {
        let mut m = method();
        assert!(matches!(
            m.process(Instant::now(), &[]),
            Step::Discard(FragmentError::MissingFlags)
        ));
        assert!(matches!(
            m.process(Instant::now(), &[0x01, 1, 2]),
            Step::Discard(FragmentError::DataBeforeStart)
        ));
        assert!(matches!(
            m.process(Instant::now(), &[0x81, 0]),
            Step::Discard(FragmentError::TruncatedLength(1))
        ));
        // Start with no PAC and anonymous provisioning: a ClientHello goes out.
        let Step::Respond(hello) = m.process(Instant::now(), &[0x21, 0, 4, 0, 2, 0xaa, 0xbb]) else {
            panic!("no ClientHello")
        };
        assert_eq!(&hello[..4], &[0x01, 22, 3, 3]);
        // A second Start in the middle of the handshake is dropped.
        assert!(matches!(
            m.process(Instant::now(), &[0x21]),
            Step::Discard(FragmentError::UnexpectedStart)
        ));
        // Garbage where the ServerHello should be: a TLS failure with an alert for the server.
        let Step::Fail { reason, respond } = m.process(Instant::now(), &[0x01, 22, 3, 3, 0, 4, 99, 0, 0, 0])
        else {
            panic!("garbage accepted")
        };
        assert!(
            matches!(reason, FailureReason::Fast(FastError::Tls(_))),
            "{reason}"
        );
        assert_eq!(respond.unwrap()[1], 21); // an alert record
    }
}
