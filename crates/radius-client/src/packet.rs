//! The RADIUS packet codec (RFC 2865 §3, §5) and the two authenticators (RFC 2865 §3,
//! RFC 3579 §3.2). Pure functions over bytes; the client state machine is in `client.rs`.

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

use crate::SharedSecret;
use crate::error::{DecodeError, EncodeError, VerifyError};

/// The shortest RADIUS packet: the 20-byte header (RFC 2865 §3).
pub const MIN_PACKET: usize = 20;
/// The longest RADIUS packet (RFC 2865 §3).
pub const MAX_PACKET: usize = 4096;
/// The most value bytes one attribute carries (255 − type − length).
pub const MAX_ATTRIBUTE_VALUE: usize = 253;

/// RADIUS packet codes this crate sends or accepts (RFC 2865 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// 1: Access-Request, sent by the client.
    AccessRequest,
    /// 2: Access-Accept.
    AccessAccept,
    /// 3: Access-Reject.
    AccessReject,
    /// 11: Access-Challenge.
    AccessChallenge,
}

impl Code {
    /// The code byte.
    pub fn to_u8(self) -> u8 {
        match self {
            Code::AccessRequest => 1,
            Code::AccessAccept => 2,
            Code::AccessReject => 3,
            Code::AccessChallenge => 11,
        }
    }

    /// The code for a byte, `None` for codes outside the Access exchange.
    pub fn from_u8(b: u8) -> Option<Code> {
        match b {
            1 => Some(Code::AccessRequest),
            2 => Some(Code::AccessAccept),
            3 => Some(Code::AccessReject),
            11 => Some(Code::AccessChallenge),
            _ => None,
        }
    }
}

/// Attribute types used by an EAP client (RFC 2865 §5, RFC 3579 §3).
pub mod attr {
    /// User-Name (1).
    pub const USER_NAME: u8 = 1;
    /// Service-Type (6).
    pub const SERVICE_TYPE: u8 = 6;
    /// Framed-MTU (12).
    pub const FRAMED_MTU: u8 = 12;
    /// State (24), echoed unchanged in the next request.
    pub const STATE: u8 = 24;
    /// Vendor-Specific (26).
    pub const VENDOR_SPECIFIC: u8 = 26;
    /// NAS-Identifier (32).
    pub const NAS_IDENTIFIER: u8 = 32;
    /// NAS-Port-Type (61).
    pub const NAS_PORT_TYPE: u8 = 61;
    /// EAP-Message (79), split over several attributes when longer than 253 bytes.
    pub const EAP_MESSAGE: u8 = 79;
    /// Message-Authenticator (80), HMAC-MD5 over the packet.
    pub const MESSAGE_AUTHENTICATOR: u8 = 80;
}

/// A parsed packet borrowing its bytes. The attribute list is checked once by
/// [`Packet::parse`]; octets past the Length field are padding and ignored (RFC 2865 §3).
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    raw: &'a [u8],
}

impl<'a> Packet<'a> {
    /// Parses a datagram: the header, the Length field against the bytes received, and
    /// every attribute's length.
    pub fn parse(datagram: &'a [u8]) -> Result<Packet<'a>, DecodeError> {
        let [_, _, hi, lo, ..] = *datagram else {
            return Err(DecodeError::TooShort { len: datagram.len() });
        };
        let length = usize::from(u16::from_be_bytes([hi, lo]));
        if !(MIN_PACKET..=MAX_PACKET).contains(&length) {
            return Err(DecodeError::BadLength { length });
        }
        let raw = datagram.get(..length).ok_or(DecodeError::Truncated {
            length,
            received: datagram.len(),
        })?;
        let packet = Packet { raw };
        let mut offset = MIN_PACKET;
        let mut rest = packet.attribute_bytes();
        while !rest.is_empty() {
            let [attribute, len, ..] = *rest else {
                return Err(DecodeError::AttributeHeader { offset });
            };
            let len = usize::from(len);
            if len < 2 || len > rest.len() {
                return Err(DecodeError::AttributeLength {
                    offset,
                    attribute,
                    length: len,
                });
            }
            offset += len;
            rest = rest.get(len..).unwrap_or_default();
        }
        Ok(packet)
    }

    /// The code byte (see [`Code::from_u8`]).
    pub fn code(&self) -> u8 {
        self.raw.first().copied().unwrap_or_default()
    }

    /// The Identifier matching a reply to its request.
    pub fn identifier(&self) -> u8 {
        self.raw.get(1).copied().unwrap_or_default()
    }

    /// The 16-byte Request or Response Authenticator.
    pub fn authenticator(&self) -> [u8; 16] {
        self.raw
            .get(4..20)
            .and_then(|a| <[u8; 16]>::try_from(a).ok())
            .unwrap_or_default()
    }

    /// The packet's bytes up to its Length.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.raw
    }

    fn attribute_bytes(&self) -> &'a [u8] {
        self.raw.get(MIN_PACKET..).unwrap_or_default()
    }

    /// The attributes in order, as `(type, value, offset of the type byte)`.
    pub fn attributes(&self) -> Attributes<'a> {
        Attributes {
            rest: self.attribute_bytes(),
            offset: MIN_PACKET,
        }
    }

    /// The value of the first attribute of type `t`.
    pub fn attribute(&self, t: u8) -> Option<&'a [u8]> {
        self.attributes().find(|a| a.kind == t).map(|a| a.value)
    }

    /// All EAP-Message attributes concatenated (RFC 3579 §3.1).
    pub fn eap_message(&self) -> Vec<u8> {
        self.attributes()
            .filter(|a| a.kind == attr::EAP_MESSAGE)
            .flat_map(|a| a.value.iter().copied())
            .collect()
    }
}

/// One attribute of a [`Packet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute<'a> {
    /// The type byte.
    pub kind: u8,
    /// The value (without type and length).
    pub value: &'a [u8],
    /// Offset of the type byte in the packet.
    pub offset: usize,
}

/// Iterator over a checked attribute list.
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    rest: &'a [u8],
    offset: usize,
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Attribute<'a>;

    fn next(&mut self) -> Option<Attribute<'a>> {
        let [kind, len, ..] = *self.rest else {
            return None;
        };
        let len = usize::from(len);
        let value = self.rest.get(2..len)?;
        let attribute = Attribute {
            kind,
            value,
            offset: self.offset,
        };
        self.rest = self.rest.get(len..).unwrap_or_default();
        self.offset += len;
        Some(attribute)
    }
}

/// Builds one packet: attributes appended in order, then sealed by
/// [`finish_request`](PacketBuilder::finish_request) (clients) or
/// [`finish_reply`](PacketBuilder::finish_reply) (servers and tests).
#[derive(Debug, Clone)]
pub struct PacketBuilder {
    bytes: Vec<u8>,
}

impl PacketBuilder {
    /// A packet with this code, identifier and authenticator (random for a request; for a
    /// reply it is replaced by the Response Authenticator when finished).
    pub fn new(code: Code, identifier: u8, authenticator: [u8; 16]) -> PacketBuilder {
        let mut bytes = Vec::with_capacity(256);
        bytes.extend_from_slice(&[code.to_u8(), identifier, 0, 0]);
        bytes.extend_from_slice(&authenticator);
        PacketBuilder { bytes }
    }

    /// Appends one attribute.
    pub fn attribute(&mut self, kind: u8, value: &[u8]) -> Result<&mut Self, EncodeError> {
        if value.len() > MAX_ATTRIBUTE_VALUE {
            return Err(EncodeError::AttributeTooLong {
                attribute: kind,
                len: value.len(),
            });
        }
        if self.bytes.len() + 2 + value.len() > MAX_PACKET {
            return Err(EncodeError::PacketTooLong);
        }
        let len = u8::try_from(value.len() + 2).map_err(|_| EncodeError::PacketTooLong)?;
        self.bytes.extend_from_slice(&[kind, len]);
        self.bytes.extend_from_slice(value);
        Ok(self)
    }

    /// Appends an EAP packet as EAP-Message attributes of at most 253 bytes each.
    pub fn eap_message(&mut self, eap: &[u8]) -> Result<&mut Self, EncodeError> {
        if eap.is_empty() {
            return Err(EncodeError::EmptyEap);
        }
        for chunk in eap.chunks(MAX_ATTRIBUTE_VALUE) {
            self.attribute(attr::EAP_MESSAGE, chunk)?;
        }
        Ok(self)
    }

    /// Appends a zeroed Message-Authenticator and returns where its value goes.
    fn message_authenticator_slot(&mut self) -> Result<usize, EncodeError> {
        self.attribute(attr::MESSAGE_AUTHENTICATOR, &[0; 16])?;
        Ok(self.bytes.len() - 16)
    }

    fn set_length(&mut self) -> Result<(), EncodeError> {
        if self.bytes.len() > MAX_PACKET {
            return Err(EncodeError::PacketTooLong);
        }
        let len = u16::try_from(self.bytes.len()).map_err(|_| EncodeError::PacketTooLong)?;
        if let Some(l) = self.bytes.get_mut(2..4) {
            l.copy_from_slice(&len.to_be_bytes());
        }
        Ok(())
    }

    /// Seals an Access-Request: appends Message-Authenticator (RFC 3579 §3.2: HMAC-MD5 keyed
    /// with the shared secret over the packet with the field zeroed).
    pub fn finish_request(mut self, secret: &SharedSecret) -> Result<Vec<u8>, EncodeError> {
        let slot = self.message_authenticator_slot()?;
        self.set_length()?;
        let mac = hmac_md5(secret, &[&self.bytes]);
        if let Some(m) = self.bytes.get_mut(slot..slot + 16) {
            m.copy_from_slice(&mac);
        }
        Ok(self.bytes)
    }

    /// Seals a reply to the request whose authenticator is `request_authenticator`:
    /// Message-Authenticator computed over the packet carrying the Request Authenticator,
    /// then the Response Authenticator (RFC 2865 §3) written over it.
    pub fn finish_reply(
        mut self,
        secret: &SharedSecret,
        request_authenticator: &[u8; 16],
    ) -> Result<Vec<u8>, EncodeError> {
        let slot = self.message_authenticator_slot()?;
        self.set_length()?;
        if let Some(a) = self.bytes.get_mut(4..20) {
            a.copy_from_slice(request_authenticator);
        }
        let mac = hmac_md5(secret, &[&self.bytes]);
        if let Some(m) = self.bytes.get_mut(slot..slot + 16) {
            m.copy_from_slice(&mac);
        }
        let response = md5_of(&[&self.bytes, secret.expose()]);
        if let Some(a) = self.bytes.get_mut(4..20) {
            a.copy_from_slice(&response);
        }
        Ok(self.bytes)
    }
}

/// Checks a reply's Response Authenticator: MD5(Code ‖ Identifier ‖ Length ‖ Request
/// Authenticator ‖ Attributes ‖ Secret) (RFC 2865 §3), compared in constant time.
pub fn verify_response_authenticator(
    reply: &Packet<'_>,
    request_authenticator: &[u8; 16],
    secret: &SharedSecret,
) -> Result<(), VerifyError> {
    let raw = reply.as_bytes();
    let expected = md5_of(&[
        raw.get(..4).unwrap_or_default(),
        request_authenticator,
        raw.get(MIN_PACKET..).unwrap_or_default(),
        secret.expose(),
    ]);
    if bool::from(expected.ct_eq(&reply.authenticator())) {
        Ok(())
    } else {
        Err(VerifyError::ResponseAuthenticator)
    }
}

/// Checks a reply's Message-Authenticator (RFC 3579 §3.2): exactly one, 16 bytes, equal (in
/// constant time) to HMAC-MD5 over the reply with the Request Authenticator in place of the
/// Response Authenticator and the field zeroed. RFC 3579 requires it in every reply carrying
/// EAP-Message; this client requires it in every reply.
pub fn verify_message_authenticator(
    reply: &Packet<'_>,
    request_authenticator: &[u8; 16],
    secret: &SharedSecret,
) -> Result<(), VerifyError> {
    let mut found = reply
        .attributes()
        .filter(|a| a.kind == attr::MESSAGE_AUTHENTICATOR);
    let ma = found.next().ok_or(VerifyError::MissingMessageAuthenticator)?;
    if found.next().is_some() {
        return Err(VerifyError::DuplicateMessageAuthenticator);
    }
    if ma.value.len() != 16 {
        return Err(VerifyError::MessageAuthenticatorLength { len: ma.value.len() });
    }
    let raw = reply.as_bytes();
    let value_at = ma.offset + 2;
    let mac = hmac_md5(
        secret,
        &[
            raw.get(..4).unwrap_or_default(),
            request_authenticator,
            raw.get(MIN_PACKET..value_at).unwrap_or_default(),
            &[0; 16],
            raw.get(value_at + 16..).unwrap_or_default(),
        ],
    );
    if bool::from(mac.ct_eq(ma.value)) {
        Ok(())
    } else {
        Err(VerifyError::MessageAuthenticator)
    }
}

pub(crate) fn md5_of(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn hmac_md5(secret: &SharedSecret, parts: &[&[u8]]) -> [u8; 16] {
    // HMAC accepts keys of any length (longer ones are hashed first, RFC 2104 §2).
    let Ok(mut mac) = Hmac::<Md5>::new_from_slice(secret.expose()) else {
        return [0; 16];
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(s.get(i..i + 2).unwrap(), 16).unwrap())
            .collect()
    }

    /// RFC 2865 §7.1: the Access-Accept answering nemo's PAP request, secret "xyzzy5461".
    #[test]
    fn response_authenticator_matches_rfc_2865_example() {
        let secret = SharedSecret::from(b"xyzzy5461".to_vec());
        let request_auth: [u8; 16] = hex("0f403f9473978057bd83d5cb98f4227a").try_into().unwrap();
        let accept = hex("02 00 00 26 86 fe 22 0e 76 24 ba 2a 10 05 f6 bf 9b 55 e0 b2
             06 06 00 00 00 01 0f 06 00 00 00 00 0e 06 c0 a8 01 03");
        let p = Packet::parse(&accept).unwrap();
        assert_eq!(Code::from_u8(p.code()), Some(Code::AccessAccept));
        assert_eq!(p.attribute(6), Some(&[0, 0, 0, 1][..]));
        verify_response_authenticator(&p, &request_auth, &secret).unwrap();
        let wrong = SharedSecret::from(b"xyzzy5460".to_vec());
        assert_eq!(
            verify_response_authenticator(&p, &request_auth, &wrong),
            Err(VerifyError::ResponseAuthenticator)
        );
        // No Message-Authenticator: a PAP reply, which an EAP client refuses.
        assert_eq!(
            verify_message_authenticator(&p, &request_auth, &secret),
            Err(VerifyError::MissingMessageAuthenticator)
        );
    }

    /// RFC 2202 §2 test case 2, through the same HMAC the authenticators use.
    #[test]
    fn hmac_md5_matches_rfc_2202() {
        let key = SharedSecret::from(b"Jefe".to_vec());
        let mac = hmac_md5(&key, &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(mac.to_vec(), hex("750c783e6ab0b503eaa86e310a5db738"));
    }

    #[test]
    fn reply_built_here_verifies_and_any_flipped_bit_does_not() {
        let secret = SharedSecret::from(b"s3cret".to_vec());
        let req_auth = [9u8; 16];
        let mut b = PacketBuilder::new(Code::AccessChallenge, 7, [0; 16]);
        b.attribute(attr::STATE, b"st").unwrap();
        b.eap_message(&[1, 2, 0, 6, 13, 0x20]).unwrap();
        let reply = b.finish_reply(&secret, &req_auth).unwrap();
        let p = Packet::parse(&reply).unwrap();
        verify_response_authenticator(&p, &req_auth, &secret).unwrap();
        verify_message_authenticator(&p, &req_auth, &secret).unwrap();
        for bit in 0..reply.len() * 8 {
            let mut bad = reply.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            let Ok(p) = Packet::parse(&bad) else { continue };
            let ok = verify_response_authenticator(&p, &req_auth, &secret).is_ok()
                && verify_message_authenticator(&p, &req_auth, &secret).is_ok();
            assert!(!ok, "bit {bit} flipped and still accepted");
        }
    }

    #[test]
    fn malformed_packets_are_typed_errors() {
        assert_eq!(
            Packet::parse(&[2, 0, 0]).unwrap_err(),
            DecodeError::TooShort { len: 3 }
        );
        let mut p = vec![2, 0, 0, 19];
        p.resize(40, 0);
        assert_eq!(
            Packet::parse(&p).unwrap_err(),
            DecodeError::BadLength { length: 19 }
        );
        let mut p = vec![2, 0, 0, 30];
        p.resize(25, 0);
        assert_eq!(
            Packet::parse(&p).unwrap_err(),
            DecodeError::Truncated {
                length: 30,
                received: 25
            }
        );
        let mut p = vec![2, 0, 0, 23];
        p.resize(20, 0);
        p.extend_from_slice(&[79, 1, 0]);
        assert_eq!(
            Packet::parse(&p).unwrap_err(),
            DecodeError::AttributeLength {
                offset: 20,
                attribute: 79,
                length: 1
            }
        );
        let mut p = vec![2, 0, 0, 21];
        p.resize(20, 0);
        p.push(79);
        assert_eq!(
            Packet::parse(&p).unwrap_err(),
            DecodeError::AttributeHeader { offset: 20 }
        );
        // Padding past Length is ignored.
        let mut p = vec![2, 0, 0, 20];
        p.resize(30, 0xee);
        assert_eq!(Packet::parse(&p).unwrap().as_bytes().len(), 20);
    }

    #[test]
    fn long_eap_is_split_at_253_bytes() {
        let eap = vec![0xab; 600];
        let mut b = PacketBuilder::new(Code::AccessRequest, 1, [1; 16]);
        b.eap_message(&eap).unwrap();
        let secret = SharedSecret::from(b"x".to_vec());
        let bytes = b.finish_request(&secret).unwrap();
        let p = Packet::parse(&bytes).unwrap();
        let sizes: Vec<usize> = p
            .attributes()
            .filter(|a| a.kind == attr::EAP_MESSAGE)
            .map(|a| a.value.len())
            .collect();
        assert_eq!(sizes, [253, 253, 94]);
        assert_eq!(p.eap_message(), eap);
        let mut big = PacketBuilder::new(Code::AccessRequest, 1, [1; 16]);
        assert_eq!(
            big.eap_message(&[0; 5000]).unwrap_err(),
            EncodeError::PacketTooLong
        );
    }
}
