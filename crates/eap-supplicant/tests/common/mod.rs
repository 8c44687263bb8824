//! An in-process EAP-TLS authenticator on rustls' server side, for tests and benchmarks: it
//! frames TLS in EAP-TLS requests (fragmenting at its own size), ACKs the peer's fragments, and
//! can be told to misbehave.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, dead_code)]

use std::io::{Read, Write};
use std::sync::Arc;

use eap_supplicant::eap::{self, Code, EapPacket, MethodType};
use eap_supplicant::{Config, EapTlsConfig, TlsVersions};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection};

pub struct Pki {
    pub ca_pem: String,
    pub server_chain: Vec<CertificateDer<'static>>,
    pub server_key: Vec<u8>,
    pub client_pem: String,
    pub client_key_pem: String,
    pub other_ca_pem: String,
}

fn ca(name: &str) -> (rcgen::Certificate, KeyPair) {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let key = KeyPair::generate().unwrap();
    (p.self_signed(&key).unwrap(), key)
}

pub fn pki() -> Pki {
    pki_with_server(vec!["radius.example.org".into()], None)
}

/// A PKI whose server certificate has these SAN dNSNames and this subject CN.
pub fn pki_with_server(sans: Vec<String>, cn: Option<&str>) -> Pki {
    pki_with_server_valid(sans, cn, None)
}

/// Year, month, day.
pub type Ymd = (i32, u8, u8);

/// A PKI whose server certificate is valid only from `.0` to `.1` (year, month, day, at 00:00
/// UTC; rcgen's default otherwise: 1975 to 4096).
pub fn pki_with_server_valid(sans: Vec<String>, cn: Option<&str>, validity: Option<(Ymd, Ymd)>) -> Pki {
    let (ca_cert, ca_key) = ca("test CA");
    let (other, _) = ca("other CA");
    let mut sp = CertificateParams::new(sans).unwrap();
    if let Some(cn) = cn {
        sp.distinguished_name.push(DnType::CommonName, cn);
    }
    sp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    if let Some((from, until)) = validity {
        sp.not_before = rcgen::date_time_ymd(from.0, from.1, from.2);
        sp.not_after = rcgen::date_time_ymd(until.0, until.1, until.2);
    }
    let sk = KeyPair::generate().unwrap();
    let sc = sp.signed_by(&sk, &ca_cert, &ca_key).unwrap();
    let mut cp = CertificateParams::new(Vec::<String>::new()).unwrap();
    cp.distinguished_name.push(DnType::CommonName, "phone");
    cp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let ck = KeyPair::generate().unwrap();
    let cc = cp.signed_by(&ck, &ca_cert, &ca_key).unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        server_chain: vec![sc.der().clone()],
        server_key: sk.serialize_der(),
        client_pem: cc.pem(),
        client_key_pem: ck.serialize_pem(),
        other_ca_pem: other.pem(),
    }
}

pub fn peer_config(pki: &Pki, versions: TlsVersions, fragment: usize) -> Config {
    let tls = EapTlsConfig::builder(
        pki.ca_pem.as_bytes(),
        std::sync::Arc::new(eap_supplicant::DefaultTimeProvider),
    )
    .client_certificate(pki.client_pem.as_bytes(), pki.client_key_pem.as_bytes())
    .tls_versions(versions)
    .fragment_size(fragment)
    .build()
    .unwrap();
    Config::new("phone", tls)
}

pub fn server_config(pki: &Pki, tls13: bool) -> Arc<ServerConfig> {
    server_config_with_tickets(pki, tls13, 0)
}

/// A server that sends `tickets` TLS 1.3 NewSessionTickets after the handshake.
pub fn server_config_with_tickets(pki: &Pki, tls13: bool, tickets: usize) -> Arc<ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(pki.ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .unwrap();
    let versions: &[&rustls::SupportedProtocolVersion] = if tls13 {
        &[&rustls::version::TLS13]
    } else {
        &[&rustls::version::TLS12]
    };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            pki.server_chain.clone(),
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.server_key.clone())),
        )
        .unwrap();
    config.send_tls13_tickets = tickets;
    Arc::new(config)
}

use rustls::pki_types::pem::PemObject;

/// What the authenticator concluded from a response.
#[derive(Debug, PartialEq)]
pub enum Next {
    /// Send this request.
    Request(Vec<u8>),
    /// Send this Success/Failure; the conversation is over.
    Done(Vec<u8>),
}

pub struct Authenticator {
    conn: ServerConnection,
    pub id: u8,
    pub fragment: usize,
    out: Vec<u8>,
    out_pos: usize,
    rx: Vec<u8>,
    pub send_commitment: bool,
    /// Signal the end of the handshake with close_notify instead of the 0x00 byte.
    pub close_notify_commitment: bool,
    commitment_sent: bool,
    pub requests: usize,
}

impl Authenticator {
    pub fn new(config: Arc<ServerConfig>, fragment: usize) -> Authenticator {
        Authenticator {
            conn: ServerConnection::new(config).unwrap(),
            id: 1,
            fragment,
            out: Vec::new(),
            out_pos: 0,
            rx: Vec::new(),
            send_commitment: true,
            close_notify_commitment: false,
            commitment_sent: false,
            requests: 0,
        }
    }

    fn request(&mut self, method: MethodType, data: &[u8]) -> Next {
        self.id = self.id.wrapping_add(1);
        self.requests += 1;
        Next::Request(eap::request(self.id, method, data))
    }

    pub fn identity_request(&mut self) -> Vec<u8> {
        match self.request(MethodType::Identity, &[]) {
            Next::Request(r) | Next::Done(r) => r,
        }
    }

    fn next_fragment(&mut self) -> Next {
        let total = self.out.len();
        let end = total.min(self.out_pos + self.fragment);
        let more = end < total;
        let mut data = Vec::new();
        if self.out_pos == 0 && more {
            data.push(0xC0);
            data.extend_from_slice(&(total as u32).to_be_bytes());
        } else {
            data.push(if more { 0x40 } else { 0 });
        }
        data.extend_from_slice(&self.out[self.out_pos..end]);
        self.out_pos = end;
        self.request(MethodType::Tls, &data)
    }

    /// The server's MSK the way the peer derives it.
    pub fn msk(&self) -> Vec<u8> {
        let (label, ctx): (&[u8], Option<&[u8]>) = match self.conn.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => (b"EXPORTER_EAP_TLS_Key_Material", Some(&[13])),
            _ => (b"client EAP encryption", None),
        };
        let km = self
            .conn
            .export_keying_material(vec![0u8; 128], label, ctx)
            .unwrap();
        km[..64].to_vec()
    }

    /// Processes one EAP response from the peer.
    pub fn handle(&mut self, response: &[u8]) -> Next {
        let p = EapPacket::parse(response).unwrap();
        assert_eq!(p.code(), Code::Response);
        assert_eq!(p.identifier(), self.id, "response id");
        match p.method_type().unwrap() {
            MethodType::Identity => self.request(MethodType::Tls, &[0x20]),
            MethodType::Tls => {
                let data = p.type_data();
                let flags = data[0];
                let payload = if flags & 0x80 != 0 { &data[5..] } else { &data[1..] };
                if self.out_pos < self.out.len() {
                    assert!(payload.is_empty(), "expected an ACK");
                    return self.next_fragment();
                }
                self.rx.extend_from_slice(payload);
                if flags & 0x40 != 0 {
                    return self.request(MethodType::Tls, &[0]);
                }
                let message = std::mem::take(&mut self.rx);
                if !message.is_empty() {
                    let mut input = &message[..];
                    while !input.is_empty() {
                        self.conn.read_tls(&mut input).unwrap();
                        if self.conn.process_new_packets().is_err() {
                            return Next::Done(eap::outcome(Code::Failure, self.id));
                        }
                    }
                }
                if !self.conn.is_handshaking()
                    && self.conn.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3)
                    && self.send_commitment
                    && !self.commitment_sent
                {
                    if self.close_notify_commitment {
                        self.conn.send_close_notify();
                    } else {
                        self.conn.writer().write_all(&[0]).unwrap();
                    }
                    self.commitment_sent = true;
                }
                let mut out = Vec::new();
                while self.conn.wants_write() {
                    self.conn.write_tls(&mut out).unwrap();
                }
                if out.is_empty() {
                    if self.conn.is_handshaking() {
                        return Next::Done(eap::outcome(Code::Failure, self.id));
                    }
                    let mut sink = Vec::new();
                    let _ = self.conn.reader().read_to_end(&mut sink);
                    return Next::Done(eap::outcome(Code::Success, self.id));
                }
                self.out = out;
                self.out_pos = 0;
                self.next_fragment()
            }
            other => panic!("unexpected response type {other:?}"),
        }
    }
}
