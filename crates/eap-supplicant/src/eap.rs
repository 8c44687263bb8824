//! EAP packets (RFC 3748 §4): Request, Response, Success, Failure.

use thiserror::Error;

/// The EAP Code field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// 1: Request (authenticator to peer).
    Request,
    /// 2: Response (peer to authenticator).
    Response,
    /// 3: Success.
    Success,
    /// 4: Failure.
    Failure,
}

impl Code {
    /// The numeric value.
    pub fn value(self) -> u8 {
        match self {
            Code::Request => 1,
            Code::Response => 2,
            Code::Success => 3,
            Code::Failure => 4,
        }
    }
}

/// An EAP method type (RFC 3748 §5, IANA "EAP Method Types").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MethodType {
    /// 1: Identity.
    Identity,
    /// 2: Notification.
    Notification,
    /// 3: Legacy Nak (Response only).
    Nak,
    /// 4: MD5-Challenge.
    Md5Challenge,
    /// 13: EAP-TLS.
    Tls,
    /// 43: EAP-FAST.
    Fast,
    /// 254: Expanded Type.
    Expanded,
    /// Any other type.
    Other(u8),
}

impl MethodType {
    /// The numeric value.
    pub fn value(self) -> u8 {
        match self {
            MethodType::Identity => 1,
            MethodType::Notification => 2,
            MethodType::Nak => 3,
            MethodType::Md5Challenge => 4,
            MethodType::Tls => 13,
            MethodType::Fast => 43,
            MethodType::Expanded => 254,
            MethodType::Other(v) => v,
        }
    }

    /// The type for a numeric value.
    pub fn from_value(v: u8) -> MethodType {
        match v {
            1 => MethodType::Identity,
            2 => MethodType::Notification,
            3 => MethodType::Nak,
            4 => MethodType::Md5Challenge,
            13 => MethodType::Tls,
            43 => MethodType::Fast,
            254 => MethodType::Expanded,
            v => MethodType::Other(v),
        }
    }
}

/// Why bytes are not an EAP packet.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EapError {
    /// Fewer than the 4 header bytes.
    #[error("EAP packet of {len} bytes is shorter than the 4-byte header")]
    TooShort {
        /// The bytes received.
        len: usize,
    },
    /// The Length field is below 4 or above the bytes received.
    #[error(
        "EAP Length field {declared} is invalid for {available} received bytes (expected 4..={available})"
    )]
    BadLength {
        /// The Length field.
        declared: usize,
        /// The bytes received.
        available: usize,
    },
    /// Code 0 or 5 and above (5/6 are RFC 6696 ERP, which this peer does not implement).
    #[error("EAP Code {0} is not Request, Response, Success or Failure")]
    UnknownCode(u8),
    /// A Request or Response without the Type byte.
    #[error("EAP {code:?} without a Type field (Length 4)")]
    MissingType {
        /// The packet's code.
        code: Code,
    },
}

/// One EAP packet, borrowed from the bytes it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EapPacket<'a> {
    code: Code,
    identifier: u8,
    method: Option<(MethodType, &'a [u8])>,
}

impl<'a> EapPacket<'a> {
    /// Parses a packet. Bytes beyond the Length field are ignored (RFC 3748 §4.1: link padding);
    /// data in Success/Failure is ignored.
    pub fn parse(bytes: &'a [u8]) -> Result<EapPacket<'a>, EapError> {
        let [code, identifier, len_hi, len_lo, ..] = bytes else {
            return Err(EapError::TooShort { len: bytes.len() });
        };
        let declared = usize::from(u16::from_be_bytes([*len_hi, *len_lo]));
        if declared < 4 || declared > bytes.len() {
            return Err(EapError::BadLength {
                declared,
                available: bytes.len(),
            });
        }
        let code = match code {
            1 => Code::Request,
            2 => Code::Response,
            3 => Code::Success,
            4 => Code::Failure,
            other => return Err(EapError::UnknownCode(*other)),
        };
        let payload = bytes.get(4..declared).unwrap_or(&[]);
        let method = match code {
            Code::Request | Code::Response => match payload {
                [t, data @ ..] => Some((MethodType::from_value(*t), data)),
                [] => return Err(EapError::MissingType { code }),
            },
            Code::Success | Code::Failure => None,
        };
        Ok(EapPacket {
            code,
            identifier: *identifier,
            method,
        })
    }

    /// The Code.
    pub fn code(&self) -> Code {
        self.code
    }

    /// The Identifier.
    pub fn identifier(&self) -> u8 {
        self.identifier
    }

    /// The Type of a Request or Response.
    pub fn method_type(&self) -> Option<MethodType> {
        self.method.map(|(t, _)| t)
    }

    /// The Type-Data of a Request or Response (empty for Success/Failure).
    pub fn type_data(&self) -> &'a [u8] {
        self.method.map(|(_, d)| d).unwrap_or(&[])
    }
}

/// Encodes an EAP Response. `type_data` longer than 65,530 bytes is cut (never the case for the
/// responses this crate builds: EAP-TLS fragments are bounded by the fragment size).
pub fn response(identifier: u8, method: MethodType, type_data: &[u8]) -> Vec<u8> {
    let data = type_data.get(..usize::from(u16::MAX) - 5).unwrap_or(type_data);
    let len = u16::try_from(data.len() + 5).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(data.len() + 5);
    out.extend_from_slice(&[Code::Response.value(), identifier]);
    out.extend_from_slice(&len.to_be_bytes());
    out.push(method.value());
    out.extend_from_slice(data);
    out
}

/// Encodes a Request (for tests and authenticator-side tools).
pub fn request(identifier: u8, method: MethodType, type_data: &[u8]) -> Vec<u8> {
    let mut out = response(identifier, method, type_data);
    if let Some(c) = out.first_mut() {
        *c = Code::Request.value();
    }
    out
}

/// Encodes a Success or Failure (for tests and authenticator-side tools).
pub fn outcome(code: Code, identifier: u8) -> Vec<u8> {
    vec![code.value(), identifier, 0, 4]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_request_identity_and_ignores_padding() {
        let p = EapPacket::parse(&[1, 7, 0, 5, 1, 0xaa, 0xbb]).unwrap();
        assert_eq!(p.code(), Code::Request);
        assert_eq!(p.identifier(), 7);
        assert_eq!(p.method_type(), Some(MethodType::Identity));
        assert_eq!(p.type_data(), &[] as &[u8]);
    }

    #[test]
    fn parses_success_and_failure() {
        assert_eq!(EapPacket::parse(&[3, 9, 0, 4]).unwrap().code(), Code::Success);
        assert_eq!(EapPacket::parse(&[4, 9, 0, 4]).unwrap().code(), Code::Failure);
    }

    #[test]
    fn rejects_malformed_packets() {
        assert_eq!(EapPacket::parse(&[1, 1, 0]), Err(EapError::TooShort { len: 3 }));
        assert_eq!(
            EapPacket::parse(&[1, 1, 0, 3, 1]),
            Err(EapError::BadLength {
                declared: 3,
                available: 5
            })
        );
        assert_eq!(
            EapPacket::parse(&[1, 1, 0, 9, 1]),
            Err(EapError::BadLength {
                declared: 9,
                available: 5
            })
        );
        assert_eq!(EapPacket::parse(&[5, 1, 0, 4]), Err(EapError::UnknownCode(5)));
        assert_eq!(
            EapPacket::parse(&[1, 1, 0, 4]),
            Err(EapError::MissingType { code: Code::Request })
        );
    }

    #[test]
    fn builds_responses() {
        assert_eq!(response(3, MethodType::Nak, &[13]), [2, 3, 0, 6, 3, 13]);
        assert_eq!(request(3, MethodType::Tls, &[0x20]), [1, 3, 0, 6, 13, 0x20]);
        assert_eq!(outcome(Code::Success, 4), [3, 4, 0, 4]);
    }
}
