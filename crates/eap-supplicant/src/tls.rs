//! EAP-TLS (RFC 5216 for TLS 1.2, RFC 9190 for TLS 1.3) on rustls' connection API: framing,
//! fragmentation and reassembly, the key derivations (the server certificate policy is in
//! `verifier.rs`, the fragmentation errors in `fragment.rs`).

use std::io::{ErrorKind, Read};

use rustls::{ClientConnection, ProtocolVersion};
use zeroize::Zeroizing;

use crate::config::EapTlsConfig;
use crate::event::{Authenticated, FailureReason, Protocol, TlsVersion};
use phone_secret::SecretBytes;

pub use crate::fragment::FragmentError;
use crate::fragment::{Framing, Header, Received};

/// The EAP-TLS Type-Code, also the RFC 9190 exporter context and the Session-Id prefix.
pub const TYPE_CODE: u8 = 13;
/// Flags: Length included.
pub const FLAG_LENGTH: u8 = crate::fragment::FLAG_LENGTH;
/// Flags: More fragments.
pub const FLAG_MORE: u8 = crate::fragment::FLAG_MORE;
/// Flags: EAP-TLS Start.
pub const FLAG_START: u8 = crate::fragment::FLAG_START;

/// RFC 5216 §2.3 label (TLS 1.2, exporter context absent).
const LABEL_TLS12: &[u8] = b"client EAP encryption";
/// RFC 9190 §2.3 labels (TLS 1.3, context = Type-Code).
const LABEL_TLS13_KEYS: &[u8] = b"EXPORTER_EAP_TLS_Key_Material";
const LABEL_TLS13_METHOD_ID: &[u8] = b"EXPORTER_EAP_TLS_Method-Id";

/// What the method wants done with a request.
#[derive(Debug)]
pub(crate) enum Step {
    /// Send a response with this EAP-TLS type-data (flags onwards).
    Respond(Vec<u8>),
    /// The method failed; send `respond` (a TLS alert) first if present.
    Fail {
        reason: FailureReason,
        respond: Option<Vec<u8>>,
    },
    /// Drop the request silently (RFC 4137 DISCARD) and keep the state.
    Discard(FragmentError),
}

/// One EAP-TLS conversation.
#[derive(Debug)]
pub(crate) struct EapTls {
    config: EapTlsConfig,
    conn: Option<ClientConnection>,
    framing: Framing,
    client_random: Option<[u8; 32]>,
    server_random: Option<[u8; 32]>,
    commitment: bool,
    keys: Option<Authenticated>,
    failed: bool,
    pub(crate) messages_in: usize,
}

impl EapTls {
    pub(crate) fn new(config: &EapTlsConfig) -> EapTls {
        EapTls {
            config: config.clone(),
            conn: None,
            framing: Framing::new(config.fragment_size, config.max_message_len),
            client_random: None,
            server_random: None,
            commitment: false,
            keys: None,
            failed: false,
            messages_in: 0,
        }
    }

    /// Whether EAP-Success may be accepted now, and the keys if so.
    pub(crate) fn success(&self) -> Result<&Authenticated, FailureReason> {
        match &self.keys {
            Some(keys) if !self.framing.sending() && !self.framing.receiving() && !self.failed => {
                if keys.tls_version == TlsVersion::Tls13 && !self.commitment {
                    Err(FailureReason::MissingCommitment)
                } else {
                    Ok(keys)
                }
            }
            _ => Err(FailureReason::UnexpectedSuccess),
        }
    }

    /// Processes the type-data (flags onwards) of an EAP-TLS request.
    pub(crate) fn process(&mut self, data: &[u8]) -> Step {
        let header = match Header::parse(data) {
            Ok(h) => h,
            Err(e) => return Step::Discard(e),
        };
        if header.start() {
            if self.conn.is_some() {
                return Step::Discard(FragmentError::UnexpectedStart);
            }
            if header.more() || !header.payload.is_empty() || header.length.is_some_and(|l| l != 0) {
                return Step::Discard(FragmentError::InvalidStart);
            }
            return self.start();
        }
        if self.conn.is_none() {
            return Step::Discard(FragmentError::DataBeforeStart);
        }
        if self.failed {
            return Step::Discard(FragmentError::AfterDone);
        }
        // Sending our own fragments: the server ACKs each with an empty request.
        if self.framing.sending() {
            return match self.framing.acked(&header, 0) {
                Ok(fragment) => Step::Respond(fragment),
                Err(e) => Step::Discard(e),
            };
        }
        match self.framing.receive(&header) {
            Err(e) => self.fail(FailureReason::Fragmentation(e)),
            Ok(Received::Fragment) => Step::Respond(vec![0]),
            // An empty request outside our own fragmentation: nothing for TLS, ACK it.
            Ok(Received::Message(m)) if m.is_empty() => Step::Respond(vec![0]),
            Ok(Received::Message(message)) => {
                self.messages_in += 1;
                self.feed(&message)
            }
        }
    }

    fn start(&mut self) -> Step {
        match ClientConnection::new(self.config.rustls.clone(), EapTlsConfig::server_name()) {
            Ok(conn) => {
                self.conn = Some(conn);
                self.flush()
            }
            Err(e) => self.fail(FailureReason::Tls(e)),
        }
    }

    fn feed(&mut self, message: &[u8]) -> Step {
        if let Some(random) = hello_random(message, 2) {
            self.server_random = Some(random);
        }
        let Some(conn) = self.conn.as_mut() else {
            return Step::Discard(FragmentError::DataBeforeStart);
        };
        let mut input = message;
        let mut plaintext = Vec::new();
        while !input.is_empty() {
            match conn.read_tls(&mut input) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!("EAP-TLS: rustls refused input: {e}");
                    return self.fail(FailureReason::Tls(rustls::Error::General(e.to_string())));
                }
            }
            if let Err(e) = conn.process_new_packets() {
                tracing::debug!("EAP-TLS: handshake failed: {e}");
                return self.fail(FailureReason::Tls(e));
            }
            if let Err(reason) = drain_plaintext(conn, &mut plaintext, &mut self.commitment) {
                return self.fail(reason);
            }
        }
        match plaintext.as_slice() {
            [] => {}
            [0] => self.commitment = true,
            other => return self.fail(FailureReason::UnexpectedApplicationData(other.len())),
        }
        if !conn.is_handshaking() && self.keys.is_none() {
            match derive_keys(conn, self.client_random, self.server_random) {
                Ok(keys) => self.keys = Some(keys),
                Err(e) => return self.fail(FailureReason::Tls(e)),
            }
        }
        self.flush()
    }

    /// Sends whatever rustls wants to send, or an ACK when it has nothing.
    fn flush(&mut self) -> Step {
        let mut out = Vec::new();
        if let Some(conn) = self.conn.as_mut() {
            while conn.wants_write() {
                match conn.write_tls(&mut out) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        }
        if self.client_random.is_none() {
            self.client_random = hello_random(&out, 1);
        }
        if out.is_empty() {
            return Step::Respond(vec![0]);
        }
        self.framing.queue(out);
        Step::Respond(self.framing.next_fragment(0))
    }

    /// Fails the method, sending the TLS alert rustls queued (if any) as a last response.
    fn fail(&mut self, reason: FailureReason) -> Step {
        self.failed = true;
        let mut alert = Vec::new();
        if let Some(conn) = self.conn.as_mut() {
            while conn.wants_write() {
                match conn.write_tls(&mut alert) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        }
        let respond = (!alert.is_empty()).then(|| {
            let mut data = Vec::with_capacity(alert.len() + 1);
            data.push(0);
            data.extend_from_slice(&alert);
            data
        });
        Step::Fail { reason, respond }
    }
}

/// Reads decrypted application data; a close_notify also counts as the TLS 1.3 commitment.
fn drain_plaintext(
    conn: &mut ClientConnection,
    plaintext: &mut Vec<u8>,
    commitment: &mut bool,
) -> Result<(), FailureReason> {
    let mut buf = [0u8; 256];
    loop {
        match conn.reader().read(&mut buf) {
            Ok(0) => {
                *commitment = true;
                return Ok(());
            }
            Ok(n) => {
                plaintext.extend_from_slice(buf.get(..n).unwrap_or(&[]));
                if plaintext.len() > 1 {
                    return Err(FailureReason::UnexpectedApplicationData(plaintext.len()));
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(FailureReason::Tls(rustls::Error::General(e.to_string()))),
        }
    }
}

/// The 32-byte random of a ClientHello (`handshake_type` 1) or ServerHello (2) at the start of a
/// plaintext handshake record.
fn hello_random(record: &[u8], handshake_type: u8) -> Option<[u8; 32]> {
    if record.first() != Some(&0x16) || record.get(5) != Some(&handshake_type) {
        return None;
    }
    record.get(11..43)?.try_into().ok()
}

/// RFC 5216 §2.3 (TLS 1.2) or RFC 9190 §2.3 (TLS 1.3) key material and Session-Id.
fn derive_keys(
    conn: &ClientConnection,
    client_random: Option<[u8; 32]>,
    server_random: Option<[u8; 32]>,
) -> Result<Authenticated, rustls::Error> {
    let cipher_suite = conn
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()))
        .unwrap_or_default();
    let (tls_version, km, session_id) = match conn.protocol_version() {
        Some(ProtocolVersion::TLSv1_3) => {
            let km = conn.export_keying_material(
                Zeroizing::new(vec![0u8; 128]),
                LABEL_TLS13_KEYS,
                Some(&[TYPE_CODE]),
            )?;
            let method_id =
                conn.export_keying_material(vec![0u8; 64], LABEL_TLS13_METHOD_ID, Some(&[TYPE_CODE]))?;
            let mut session_id = vec![TYPE_CODE];
            session_id.extend_from_slice(&method_id);
            (TlsVersion::Tls13, km, session_id)
        }
        Some(ProtocolVersion::TLSv1_2) => {
            // The context is absent (None), not empty: RFC 5705 tells them apart in TLS 1.2.
            let km = conn.export_keying_material(Zeroizing::new(vec![0u8; 128]), LABEL_TLS12, None)?;
            let mut session_id = vec![TYPE_CODE];
            session_id.extend_from_slice(&client_random.unwrap_or_default());
            session_id.extend_from_slice(&server_random.unwrap_or_default());
            (TlsVersion::Tls12, km, session_id)
        }
        other => {
            return Err(rustls::Error::General(format!(
                "EAP-TLS keys for protocol version {other:?}"
            )));
        }
    };
    let (msk, emsk) = km.split_at(64.min(km.len()));
    Ok(Authenticated {
        protocol: Protocol::EapTls,
        tls_version,
        cipher_suite,
        msk: SecretBytes::new(msk.to_vec()),
        emsk: SecretBytes::new(emsk.to_vec()),
        session_id,
    })
}
