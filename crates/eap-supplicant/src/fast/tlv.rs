//! EAP-FAST phase 2 TLVs (RFC 4851 §4.2): `M|R|Type(14) Length(16) Value`, parsed with the
//! duplicate and length rules of hostap's `eap_fast_parse_tlv`, and the responses built.

use thiserror::Error;

/// TLV types (RFC 4851 §4.2, RFC 5422 §4.2).
pub(crate) mod ty {
    pub const RESULT: u16 = 3;
    pub const NAK: u16 = 4;
    pub const ERROR: u16 = 5;
    pub const VENDOR_SPECIFIC: u16 = 7;
    pub const EAP_PAYLOAD: u16 = 9;
    pub const INTERMEDIATE_RESULT: u16 = 10;
    pub const PAC: u16 = 11;
    pub const CRYPTO_BINDING: u16 = 12;
    pub const REQUEST_ACTION: u16 = 19;
}

const MANDATORY: u16 = 0x8000;
/// Result values.
pub(crate) const SUCCESS: u16 = 1;
pub(crate) const FAILURE: u16 = 2;
/// The Crypto-Binding TLV is always 60 octets with its header.
pub(crate) const CRYPTO_BINDING_LEN: usize = 60;

/// A phase 2 message the peer refuses; each one fails the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TlvError {
    /// Fewer than 4 octets of TLVs.
    #[error("phase 2 TLV frame of {0} octets is too short")]
    TooShort(usize),
    /// A TLV's length runs past the message.
    #[error("TLV type {ty} of length {len} overflows the {left} octets left")]
    Overflow {
        /// TLV type.
        ty: u16,
        /// Its Length field.
        len: usize,
        /// Octets left.
        left: usize,
    },
    /// Two TLVs of a type that may appear once.
    #[error("more than one TLV of type {0}")]
    Duplicate(u16),
    /// A TLV shorter than its type needs.
    #[error("TLV type {ty} of length {len} is too short")]
    Truncated {
        /// TLV type.
        ty: u16,
        /// Its Length field.
        len: usize,
    },
    /// A Result or Intermediate-Result status other than 1 or 2.
    #[error("unknown result status {0}")]
    UnknownStatus(u16),
}

/// The Crypto-Binding TLV (RFC 4851 §4.2.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CryptoBinding {
    /// The whole TLV (60 octets), for the Compound MAC.
    pub raw: [u8; CRYPTO_BINDING_LEN],
}

impl CryptoBinding {
    pub(crate) fn version(&self) -> u8 {
        self.raw[5]
    }
    pub(crate) fn received_version(&self) -> u8 {
        self.raw[6]
    }
    pub(crate) fn subtype(&self) -> u8 {
        self.raw[7]
    }
    pub(crate) fn nonce(&self) -> &[u8] {
        &self.raw[8..40]
    }
    pub(crate) fn mac(&self) -> &[u8] {
        &self.raw[40..60]
    }
    /// The TLV with the Compound MAC field zeroed, as the MAC is computed over it.
    pub(crate) fn zeroed(&self) -> [u8; CRYPTO_BINDING_LEN] {
        let mut z = self.raw;
        for b in &mut z[40..] {
            *b = 0;
        }
        z
    }
}

/// The TLVs of one phase 2 message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Tlvs<'a> {
    pub result: Option<u16>,
    pub intermediate: Option<u16>,
    pub crypto_binding: Option<CryptoBinding>,
    pub eap_payload: Option<&'a [u8]>,
    pub pac: Option<&'a [u8]>,
    pub request_action: Option<u16>,
    pub error_code: Option<u32>,
    /// The first unknown TLV with the M bit (answered with a NAK TLV).
    pub unknown_mandatory: Option<u16>,
}

fn status(ty: u16, v: &[u8]) -> Result<u16, TlvError> {
    let s = <[u8; 2]>::try_from(v.get(..2).ok_or(TlvError::Truncated { ty, len: v.len() })?)
        .map(u16::from_be_bytes)
        .map_err(|_| TlvError::Truncated { ty, len: v.len() })?;
    if s != SUCCESS && s != FAILURE {
        return Err(TlvError::UnknownStatus(s));
    }
    Ok(s)
}

/// Parses a decrypted phase 2 message.
pub(crate) fn parse(data: &[u8]) -> Result<Tlvs<'_>, TlvError> {
    if data.len() < 4 {
        return Err(TlvError::TooShort(data.len()));
    }
    let mut t = Tlvs::default();
    let mut rest = data;
    while let [h0, h1, l0, l1, tail @ ..] = rest {
        let raw_ty = u16::from_be_bytes([*h0, *h1]);
        let ty = raw_ty & 0x3fff;
        let len = usize::from(u16::from_be_bytes([*l0, *l1]));
        let value = tail.get(..len).ok_or(TlvError::Overflow {
            ty,
            len,
            left: tail.len(),
        })?;
        let whole = rest.get(..4 + len).unwrap_or(&[]);
        rest = tail.get(len..).unwrap_or(&[]);
        let dup = |present: bool| {
            if present {
                Err(TlvError::Duplicate(ty))
            } else {
                Ok(())
            }
        };
        match ty {
            ty::RESULT => {
                dup(t.result.is_some())?;
                t.result = Some(status(ty, value)?);
            }
            ty::INTERMEDIATE_RESULT => {
                dup(t.intermediate.is_some())?;
                t.intermediate = Some(status(ty, value)?);
            }
            ty::CRYPTO_BINDING => {
                dup(t.crypto_binding.is_some())?;
                let raw = whole
                    .get(..CRYPTO_BINDING_LEN)
                    .and_then(|w| <[u8; CRYPTO_BINDING_LEN]>::try_from(w).ok())
                    .filter(|_| len == CRYPTO_BINDING_LEN - 4)
                    .ok_or(TlvError::Truncated { ty, len })?;
                t.crypto_binding = Some(CryptoBinding { raw });
            }
            ty::EAP_PAYLOAD => {
                dup(t.eap_payload.is_some())?;
                if len < 4 {
                    return Err(TlvError::Truncated { ty, len });
                }
                t.eap_payload = Some(value);
            }
            ty::PAC => {
                dup(t.pac.is_some())?;
                t.pac = Some(value);
            }
            ty::REQUEST_ACTION => {
                dup(t.request_action.is_some())?;
                let v = <[u8; 2]>::try_from(value.get(..2).ok_or(TlvError::Truncated { ty, len })?)
                    .map_err(|_| TlvError::Truncated { ty, len })?;
                t.request_action = Some(u16::from_be_bytes(v));
            }
            ty::ERROR => {
                let v = <[u8; 4]>::try_from(value.get(..4).ok_or(TlvError::Truncated { ty, len })?)
                    .map_err(|_| TlvError::Truncated { ty, len })?;
                t.error_code = Some(u32::from_be_bytes(v));
            }
            ty::NAK | ty::VENDOR_SPECIFIC => {}
            _ if raw_ty & MANDATORY != 0 => {
                t.unknown_mandatory.get_or_insert(ty);
            }
            _ => {} // unknown optional TLV: ignored (RFC 4851 §4.2)
        }
    }
    if !rest.is_empty() {
        return Err(TlvError::Overflow {
            ty: 0,
            len: 4,
            left: rest.len(),
        });
    }
    Ok(t)
}

/// Appends a TLV.
pub(crate) fn put(out: &mut Vec<u8>, ty: u16, mandatory: bool, value: &[u8]) {
    let t = if mandatory { ty | MANDATORY } else { ty };
    out.extend_from_slice(&t.to_be_bytes());
    out.extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(value);
}

/// A Result (or Intermediate-Result) TLV.
pub(crate) fn result(out: &mut Vec<u8>, status: u16, intermediate: bool) {
    let t = if intermediate {
        ty::INTERMEDIATE_RESULT
    } else {
        ty::RESULT
    };
    put(out, t, true, &status.to_be_bytes());
}

/// A NAK TLV for an unknown mandatory TLV (vendor 0).
pub(crate) fn nak(out: &mut Vec<u8>, tlv_type: u16) {
    let mut v = [0u8; 6];
    v[4..].copy_from_slice(&tlv_type.to_be_bytes());
    put(out, ty::NAK, true, &v);
}

/// The PAC-Acknowledgement (RFC 5422 §4.2.?): a PAC TLV holding PAC-Acknowledgement = Success.
pub(crate) fn pac_ack(out: &mut Vec<u8>) {
    let mut v = Vec::new();
    v.extend_from_slice(&super::pac::attr::PAC_ACKNOWLEDGEMENT.to_be_bytes());
    v.extend_from_slice(&2u16.to_be_bytes());
    v.extend_from_slice(&SUCCESS.to_be_bytes());
    put(out, ty::PAC, true, &v);
}

/// A PAC request for a Tunnel PAC: Request-Action (Process-TLV) then a PAC TLV with PAC-Type 1
/// (as wpa_supplicant sends it in authenticated provisioning).
pub(crate) fn pac_request(out: &mut Vec<u8>) {
    put(out, ty::REQUEST_ACTION, false, &1u16.to_be_bytes());
    let mut v = Vec::new();
    v.extend_from_slice(&super::pac::attr::PAC_TYPE.to_be_bytes());
    v.extend_from_slice(&2u16.to_be_bytes());
    v.extend_from_slice(&super::pac::TUNNEL_PAC.to_be_bytes());
    put(out, ty::PAC, false, &v);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn t(ty: u16, v: &[u8]) -> Vec<u8> {
        let mut o = Vec::new();
        put(&mut o, ty, true, v);
        o
    }

    /// The phase 2 cases of hostap's test_eap_fast_proto_phase2, each failing closed.
    #[test]
    fn hostap_phase2_malformed_cases() {
        assert_eq!(parse(&[0x80, 3, 0]), Err(TlvError::TooShort(3)));
        assert!(matches!(
            parse(&[0x80, 3, 0, 9, 0, 1]),
            Err(TlvError::Overflow { ty: 3, .. })
        ));
        for ty in [
            ty::RESULT,
            ty::INTERMEDIATE_RESULT,
            ty::EAP_PAYLOAD,
            ty::PAC,
            ty::REQUEST_ACTION,
        ] {
            let one = t(ty, &[0, 1, 0, 4]);
            assert_eq!(
                parse(&[one.clone(), one].concat()),
                Err(TlvError::Duplicate(ty)),
                "type {ty}"
            );
        }
        let cb = t(ty::CRYPTO_BINDING, &[0; 56]);
        assert_eq!(
            parse(&[cb.clone(), cb].concat()),
            Err(TlvError::Duplicate(ty::CRYPTO_BINDING))
        );
        for ty in [
            ty::RESULT,
            ty::INTERMEDIATE_RESULT,
            ty::CRYPTO_BINDING,
            ty::REQUEST_ACTION,
            ty::EAP_PAYLOAD,
        ] {
            assert!(
                matches!(parse(&t(ty, &[0])), Err(TlvError::Truncated { .. })),
                "type {ty}"
            );
        }
        assert_eq!(
            parse(&t(ty::RESULT, &[0, 255])),
            Err(TlvError::UnknownStatus(255))
        );
        assert_eq!(
            parse(&t(ty::INTERMEDIATE_RESULT, &[0, 255])),
            Err(TlvError::UnknownStatus(255))
        );
        // Unknown TLVs: optional ignored, mandatory reported for a NAK.
        let mut opt = Vec::new();
        put(&mut opt, 0x3ff0, false, &[1, 2]);
        assert_eq!(parse(&opt).unwrap(), Tlvs::default());
        assert_eq!(parse(&t(0x3ff0, &[1])).unwrap().unknown_mandatory, Some(0x3ff0));
    }

    #[test]
    fn builds_what_hostap_sends() {
        let mut o = Vec::new();
        result(&mut o, SUCCESS, true);
        assert_eq!(o, [0x80, 10, 0, 2, 0, 1]);
        let mut o = Vec::new();
        pac_ack(&mut o);
        assert_eq!(o, [0x80, 11, 0, 6, 0, 8, 0, 2, 0, 1]);
        let mut o = Vec::new();
        nak(&mut o, 0x3ff0);
        assert_eq!(o, [0x80, 4, 0, 6, 0, 0, 0, 0, 0x3f, 0xf0]);
    }
}
