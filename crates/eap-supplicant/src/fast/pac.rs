//! Protected Access Credentials (RFC 5422): the PAC the server provisions, and wpa_supplicant's
//! text and binary PAC file formats (`eap_fast_pac.c`), so existing PAC files carry over and
//! `eapol_test` can use the files this crate writes. The crate reads and writes bytes; the host
//! owns the file (write it atomically, mode 0600: it holds the PAC-Key).

use std::fmt::Write as _;

use phone_secret::SecretBytes;
use thiserror::Error;

/// PAC attribute types (RFC 5422 §4.2).
pub(crate) mod attr {
    pub const PAC_KEY: u16 = 1;
    pub const PAC_OPAQUE: u16 = 2;
    pub const CRED_LIFETIME: u16 = 3;
    pub const A_ID: u16 = 4;
    pub const I_ID: u16 = 5;
    pub const A_ID_INFO: u16 = 7;
    pub const PAC_ACKNOWLEDGEMENT: u16 = 8;
    pub const PAC_INFO: u16 = 9;
    pub const PAC_TYPE: u16 = 10;
}

/// PAC-Type 1: a Tunnel PAC (RFC 5422 §4.2.6).
pub const TUNNEL_PAC: u16 = 1;
const MACHINE_AUTHENTICATION_PAC: u16 = 2;
const USER_AUTHORIZATION_PAC: u16 = 3;
const TEXT_HEADER: &str = "wpa_supplicant EAP-FAST PAC file - version 1";
const BINARY_MAGIC: u32 = 0x6ae4_920c;
/// Bounds: a PAC file holds few PACs; each field fits a 16-bit length.
const MAX_PACS: usize = 64;

/// One PAC: the key, the opaque blob the server reads back, and what the server said about it.
#[derive(Clone, PartialEq, Eq)]
pub struct Pac {
    /// PAC-Type (1 Tunnel, 2 Machine Authentication, 3 User Authorization).
    pub pac_type: u16,
    /// PAC-Key (32 octets).
    pub key: SecretBytes,
    /// PAC-Opaque, sent back verbatim in the ClientHello.
    pub opaque: Vec<u8>,
    /// PAC-Info as received (TLVs), empty when read from a text file.
    pub info: Vec<u8>,
    /// The Authority-ID the PAC belongs to.
    pub a_id: Vec<u8>,
    /// The Initiator-ID (usually the user name).
    pub i_id: Vec<u8>,
    /// A-ID-Info, a human-readable server name.
    pub a_id_info: Vec<u8>,
    /// CRED_LIFETIME: seconds since 1970 after which the PAC is no good, when the server said.
    pub lifetime: Option<u32>,
}

impl std::fmt::Debug for Pac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pac")
            .field("pac_type", &self.pac_type)
            .field("key", &self.key)
            .field("opaque_len", &self.opaque.len())
            .field("a_id", &String::from_utf8_lossy(&self.a_id))
            .field("i_id", &String::from_utf8_lossy(&self.i_id))
            .field("a_id_info", &String::from_utf8_lossy(&self.a_id_info))
            .field("lifetime", &self.lifetime)
            .finish()
    }
}

/// Why a PAC TLV or PAC file was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PacError {
    /// An attribute's length runs past its container.
    #[error("PAC attribute type {ty} of length {len} overruns the {left} bytes left")]
    Overrun {
        /// Attribute type.
        ty: u16,
        /// Declared length.
        len: usize,
        /// Bytes left.
        left: usize,
    },
    /// A required attribute is missing.
    #[error("PAC without {0}")]
    Missing(&'static str),
    /// The PAC-Key is not 32 octets.
    #[error("PAC-Key of {0} octets (expected 32)")]
    KeyLength(usize),
    /// A PAC-Type other than 1, 2 or 3.
    #[error("unsupported PAC-Type {0}")]
    UnsupportedType(u16),
    /// A text PAC file error, with its line number.
    #[error("PAC file line {line}: {what}")]
    Text {
        /// 1-based line.
        line: usize,
        /// What was wrong.
        what: &'static str,
    },
    /// A binary PAC file error.
    #[error("binary PAC file: {0}")]
    Binary(&'static str),
    /// More PACs than the store keeps.
    #[error("more than {MAX_PACS} PACs")]
    TooMany,
}

/// Walks `type(2) len(2) value` attributes.
fn attributes(mut data: &[u8]) -> impl Iterator<Item = Result<(u16, &[u8]), PacError>> {
    std::iter::from_fn(move || {
        let [t0, t1, l0, l1, rest @ ..] = data else {
            return None;
        };
        let ty = u16::from_be_bytes([*t0, *t1]) & 0x7fff;
        let len = usize::from(u16::from_be_bytes([*l0, *l1]));
        let Some(value) = rest.get(..len) else {
            let left = rest.len();
            data = &[];
            return Some(Err(PacError::Overrun { ty, len, left }));
        };
        data = rest.get(len..).unwrap_or(&[]);
        Some(Ok((ty, value)))
    })
}

impl Pac {
    /// Reads the contents of a PAC TLV (RFC 5422 §4.2): PAC-Key, PAC-Opaque and PAC-Info (with
    /// A-ID and A-ID-Info) are required, as wpa_supplicant requires them.
    pub fn from_tlv(data: &[u8]) -> Result<Pac, PacError> {
        let (mut key, mut opaque, mut info) = (None, None, None);
        for a in attributes(data) {
            let (ty, value) = a?;
            match ty {
                attr::PAC_KEY => {
                    if value.len() != 32 {
                        return Err(PacError::KeyLength(value.len()));
                    }
                    key = Some(value);
                }
                attr::PAC_OPAQUE => opaque = Some(value),
                attr::PAC_INFO => info = Some(value),
                _ => {}
            }
        }
        let key = key.ok_or(PacError::Missing("PAC-Key"))?;
        let opaque = opaque.ok_or(PacError::Missing("PAC-Opaque"))?;
        let info = info.ok_or(PacError::Missing("PAC-Info"))?;
        let mut pac = Pac {
            pac_type: TUNNEL_PAC,
            key: SecretBytes::new(key.to_vec()),
            opaque: opaque.to_vec(),
            info: info.to_vec(),
            a_id: Vec::new(),
            i_id: Vec::new(),
            a_id_info: Vec::new(),
            lifetime: None,
        };
        pac.read_info()?;
        if pac.a_id.is_empty() {
            return Err(PacError::Missing("A-ID in PAC-Info"));
        }
        if pac.a_id_info.is_empty() {
            return Err(PacError::Missing("A-ID-Info in PAC-Info"));
        }
        Ok(pac)
    }

    fn read_info(&mut self) -> Result<(), PacError> {
        let info = std::mem::take(&mut self.info);
        for a in attributes(&info) {
            let (ty, value) = a?;
            match ty {
                attr::A_ID => self.a_id = value.to_vec(),
                attr::I_ID => self.i_id = value.to_vec(),
                attr::A_ID_INFO => self.a_id_info = value.to_vec(),
                attr::CRED_LIFETIME => {
                    self.lifetime = <[u8; 4]>::try_from(value).ok().map(u32::from_be_bytes);
                }
                attr::PAC_TYPE => {
                    let t = <[u8; 2]>::try_from(value)
                        .map(u16::from_be_bytes)
                        .map_err(|_| PacError::Missing("a 2-octet PAC-Type"))?;
                    check_type(t)?;
                    self.pac_type = t;
                }
                _ => {}
            }
        }
        self.info = info;
        Ok(())
    }

    /// The PAC-Opaque as the TLV that goes into the ClientHello's SessionTicket extension
    /// (wpa_supplicant's `eap_fast_use_pac_opaque`).
    pub fn opaque_tlv(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.opaque.len() + 4);
        out.extend_from_slice(&attr::PAC_OPAQUE.to_be_bytes());
        out.extend_from_slice(&u16::try_from(self.opaque.len()).unwrap_or(u16::MAX).to_be_bytes());
        out.extend_from_slice(&self.opaque);
        out
    }

    /// Whether the PAC's lifetime has passed or ends within `margin` seconds of `now` (seconds
    /// since 1970): time to refresh it (RFC 5422 §3.4).
    pub fn expires_within(&self, now: u64, margin: u64) -> bool {
        self.lifetime
            .is_some_and(|t| u64::from(t) <= now.saturating_add(margin))
    }
}

fn check_type(t: u16) -> Result<(), PacError> {
    match t {
        TUNNEL_PAC | MACHINE_AUTHENTICATION_PAC | USER_AUTHORIZATION_PAC => Ok(()),
        other => Err(PacError::UnsupportedType(other)),
    }
}

/// Reads a PAC file in either format (binary when it starts with the magic number).
pub fn read_pac_file(bytes: &[u8]) -> Result<Vec<Pac>, PacError> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    if bytes.get(..4) == Some(&BINARY_MAGIC.to_be_bytes()[..]) {
        read_binary(bytes)
    } else {
        read_text(bytes)
    }
}

fn hex_decode(s: &str, line: usize, what: &'static str) -> Result<Vec<u8>, PacError> {
    let bad = PacError::Text { line, what };
    if s.len() % 2 != 0 {
        return Err(bad);
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or(bad.clone())
        })
        .collect()
}

fn read_text(bytes: &[u8]) -> Result<Vec<Pac>, PacError> {
    let text = std::str::from_utf8(bytes).map_err(|_| PacError::Text {
        line: 1,
        what: "not UTF-8 text",
    })?;
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')));
    if lines.next().map(|(_, l)| l) != Some(TEXT_HEADER) {
        return Err(PacError::Text {
            line: 1,
            what: "unrecognized header line",
        });
    }
    let mut out = Vec::new();
    let mut current: Option<Pac> = None;
    for (line, l) in lines {
        let (name, value) = l.split_once('=').unwrap_or((l, ""));
        match (name, current.as_mut()) {
            ("START", None) => {
                current = Some(Pac {
                    pac_type: TUNNEL_PAC,
                    key: SecretBytes::new(Vec::new()),
                    opaque: Vec::new(),
                    info: Vec::new(),
                    a_id: Vec::new(),
                    i_id: Vec::new(),
                    a_id_info: Vec::new(),
                    lifetime: None,
                })
            }
            ("START", Some(_)) => {
                return Err(PacError::Text {
                    line,
                    what: "START line without END",
                });
            }
            ("END", Some(pac)) => {
                if pac.key.len() != 32 {
                    return Err(PacError::Text {
                        line,
                        what: "PAC without a 32-octet PAC-Key",
                    });
                }
                if pac.opaque.is_empty() {
                    return Err(PacError::Text {
                        line,
                        what: "PAC without PAC-Opaque",
                    });
                }
                let mut pac = current.take().ok_or(PacError::Text { line, what: "END" })?;
                if !pac.info.is_empty() {
                    let _ = pac.read_info();
                }
                out.push(pac);
                if out.len() > MAX_PACS {
                    return Err(PacError::TooMany);
                }
            }
            ("END", None) => {
                return Err(PacError::Text {
                    line,
                    what: "END line without START",
                });
            }
            (_, None) if l.is_empty() => {}
            (_, None) => {
                return Err(PacError::Text {
                    line,
                    what: "line outside a START/END block",
                });
            }
            ("PAC-Type", Some(pac)) => {
                let t = value.parse::<u16>().map_err(|_| PacError::Text {
                    line,
                    what: "PAC-Type",
                })?;
                check_type(t).map_err(|_| PacError::Text {
                    line,
                    what: "unrecognized PAC-Type",
                })?;
                pac.pac_type = t;
            }
            ("PAC-Key", Some(pac)) => {
                let key = hex_decode(value, line, "invalid PAC-Key")?;
                if key.len() != 32 {
                    return Err(PacError::Text {
                        line,
                        what: "invalid PAC-Key",
                    });
                }
                pac.key = SecretBytes::new(key);
            }
            ("PAC-Opaque", Some(pac)) => pac.opaque = hex_decode(value, line, "invalid PAC-Opaque")?,
            ("PAC-Info", Some(pac)) => pac.info = hex_decode(value, line, "invalid PAC-Info")?,
            ("A-ID", Some(pac)) => pac.a_id = hex_decode(value, line, "invalid A-ID")?,
            ("I-ID", Some(pac)) => pac.i_id = hex_decode(value, line, "invalid I-ID")?,
            ("A-ID-Info", Some(pac)) => pac.a_id_info = hex_decode(value, line, "invalid A-ID-Info")?,
            _ => {} // *-txt lines and unknown fields, as wpa_supplicant
        }
    }
    if current.is_some() {
        return Err(PacError::Text {
            line: text.lines().count(),
            what: "PAC block not terminated with END",
        });
    }
    Ok(out)
}

fn read_binary(bytes: &[u8]) -> Result<Vec<Pac>, PacError> {
    let rest = bytes.get(4..).ok_or(PacError::Binary("truncated header"))?;
    let [v0, v1, tail @ ..] = rest else {
        return Err(PacError::Binary("truncated header"));
    };
    let mut rest: &[u8] = tail;
    if u16::from_be_bytes([*v0, *v1]) != 0 {
        return Err(PacError::Binary("unknown format version"));
    }
    let mut out = Vec::new();
    while !rest.is_empty() {
        let take = |rest: &mut &[u8], n: usize| -> Result<Vec<u8>, PacError> {
            let v = rest.get(..n).ok_or(PacError::Binary("truncated entry"))?.to_vec();
            *rest = rest.get(n..).unwrap_or(&[]);
            Ok(v)
        };
        let u16_of = |v: Vec<u8>| u16::from_be_bytes([*v.first().unwrap_or(&0), *v.get(1).unwrap_or(&0)]);
        let pac_type = u16_of(take(&mut rest, 2)?);
        check_type(pac_type).map_err(|_| PacError::Binary("unsupported PAC-Type"))?;
        let key = take(&mut rest, 32)?;
        let n = usize::from(u16_of(take(&mut rest, 2)?));
        let opaque = take(&mut rest, n)?;
        let n = usize::from(u16_of(take(&mut rest, 2)?));
        let info = take(&mut rest, n)?;
        let mut pac = Pac {
            pac_type,
            key: SecretBytes::new(key),
            opaque,
            info,
            a_id: Vec::new(),
            i_id: Vec::new(),
            a_id_info: Vec::new(),
            lifetime: None,
        };
        pac.read_info()
            .map_err(|_| PacError::Binary("malformed PAC-Info"))?;
        pac.pac_type = pac_type;
        out.push(pac);
        if out.len() > MAX_PACS {
            return Err(PacError::TooMany);
        }
    }
    Ok(out)
}

fn hex(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
}

/// wpa_supplicant's text format (`eap_fast_save_pac`), byte for byte.
pub fn write_text(pacs: &[Pac]) -> String {
    let mut out = format!("{TEXT_HEADER}\n");
    for pac in pacs {
        let _ = writeln!(out, "START\nPAC-Type={}", pac.pac_type);
        for (name, value, txt) in [
            ("PAC-Key", pac.key.expose(), false),
            ("PAC-Opaque", pac.opaque.as_slice(), false),
            ("PAC-Info", pac.info.as_slice(), false),
            ("A-ID", pac.a_id.as_slice(), false),
            ("I-ID", pac.i_id.as_slice(), true),
            ("A-ID-Info", pac.a_id_info.as_slice(), true),
        ] {
            if value.is_empty() && name != "PAC-Key" {
                continue;
            }
            out.push_str(name);
            out.push('=');
            hex(&mut out, value);
            out.push('\n');
            if txt {
                // A comment line for people; control characters would break the line format.
                let txt: String = String::from_utf8_lossy(value)
                    .chars()
                    .map(|c| if c.is_control() { '?' } else { c })
                    .collect();
                let _ = writeln!(out, "{name}-txt={txt}");
            }
        }
        out.push_str("END\n");
    }
    out
}

/// wpa_supplicant's binary format (`eap_fast_save_pac_bin`).
pub fn write_binary(pacs: &[Pac]) -> Vec<u8> {
    let mut out = BINARY_MAGIC.to_be_bytes().to_vec();
    out.extend_from_slice(&[0, 0]);
    for pac in pacs {
        out.extend_from_slice(&pac.pac_type.to_be_bytes());
        let mut key = [0u8; 32];
        if let Some(k) = pac.key.expose().get(..32) {
            key.copy_from_slice(k);
        }
        out.extend_from_slice(&key);
        for field in [&pac.opaque, &pac.info] {
            out.extend_from_slice(&u16::try_from(field.len()).unwrap_or(0).to_be_bytes());
            out.extend_from_slice(field.get(..usize::from(u16::MAX)).unwrap_or(field));
        }
    }
    out
}

/// Puts `pac` first, replacing any PAC of the same A-ID and type (wpa_supplicant's
/// `eap_fast_add_pac`), and keeps at most `max` PACs.
pub fn store_pac(pacs: &mut Vec<Pac>, pac: Pac, max: usize) {
    pacs.retain(|p| !(p.a_id == pac.a_id && p.pac_type == pac.pac_type));
    pacs.insert(0, pac);
    pacs.truncate(max.max(1));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn tlv(ty: u16, v: &[u8]) -> Vec<u8> {
        let mut o = ty.to_be_bytes().to_vec();
        o.extend_from_slice(&(v.len() as u16).to_be_bytes());
        o.extend_from_slice(v);
        o
    }

    fn sample() -> Vec<u8> {
        let info = [
            tlv(attr::CRED_LIFETIME, &1_900_000_000u32.to_be_bytes()),
            tlv(attr::A_ID, &[0x10, 0x11, 0x12]),
            tlv(attr::I_ID, b"testuser"),
            tlv(attr::A_ID_INFO, b"test server"),
            tlv(attr::PAC_TYPE, &[0, 1]),
        ]
        .concat();
        [
            tlv(attr::PAC_KEY, &[7; 32]),
            tlv(attr::PAC_OPAQUE, &[9; 40]),
            tlv(attr::PAC_INFO, &info),
        ]
        .concat()
    }

    #[test]
    fn pac_tlv_and_both_file_formats_round_trip() {
        let pac = Pac::from_tlv(&sample()).unwrap();
        assert_eq!(pac.a_id, [0x10, 0x11, 0x12]);
        assert_eq!(pac.i_id, b"testuser");
        assert_eq!(pac.lifetime, Some(1_900_000_000));
        assert!(pac.expires_within(1_899_990_000, 86_400));
        assert!(!pac.expires_within(1_800_000_000, 86_400));
        let text = write_text(std::slice::from_ref(&pac));
        assert!(
            text.starts_with("wpa_supplicant EAP-FAST PAC file - version 1\nSTART\nPAC-Type=1\nPAC-Key=0707")
        );
        assert!(text.contains("\nI-ID-txt=testuser\n"));
        assert_eq!(read_pac_file(text.as_bytes()).unwrap(), vec![pac.clone()]);
        let bin = write_binary(std::slice::from_ref(&pac));
        assert_eq!(&bin[..6], &[0x6a, 0xe4, 0x92, 0x0c, 0, 0]);
        assert_eq!(read_pac_file(&bin).unwrap(), vec![pac.clone()]);
        assert_eq!(pac.opaque_tlv()[..4], [0, 2, 0, 40]);
    }

    #[test]
    fn malformed_pacs_are_refused() {
        let mut bad = sample();
        bad[3] = 31; // PAC-Key length 31: the rest no longer lines up
        assert!(Pac::from_tlv(&bad).is_err());
        assert_eq!(
            Pac::from_tlv(&tlv(attr::PAC_KEY, &[1; 32])),
            Err(PacError::Missing("PAC-Opaque"))
        );
        assert!(matches!(
            Pac::from_tlv(&[0, 1, 0, 40, 1]),
            Err(PacError::Overrun { .. })
        ));
        assert!(read_pac_file(b"not a pac file\n").is_err());
        let h = "wpa_supplicant EAP-FAST PAC file - version 1\n";
        assert_eq!(
            read_pac_file(format!("{h}START\nPAC-Key=00\nEND\n").as_bytes()),
            Err(PacError::Text {
                line: 3,
                what: "invalid PAC-Key"
            })
        );
        assert!(read_pac_file(format!("{h}START\n").as_bytes()).is_err());
        assert!(read_pac_file(format!("{h}END\n").as_bytes()).is_err());
        assert!(read_pac_file(&[0x6a, 0xe4, 0x92, 0x0c, 0, 0, 0, 1, 2]).is_err());
        assert!(read_pac_file(&[0x6a, 0xe4, 0x92, 0x0c, 0, 1]).is_err());
    }
}
