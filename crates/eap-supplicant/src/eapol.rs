//! EAPOL (IEEE 802.1X-2010 §11): the frames that carry EAP between a port's supplicant and its
//! authenticator, and the Ethernet framing around them.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// The EAPOL Ethertype (IEEE 802.1X-2010 §11.1).
pub const ETHERTYPE_EAPOL: u16 = 0x888E;

/// The Port Access Entity group address 01-80-C2-00-00-03 (IEEE 802.1X-2010 §11.1.1), to which a
/// wired supplicant sends every EAPOL frame.
pub const PAE_GROUP_ADDRESS: MacAddress = MacAddress([0x01, 0x80, 0xC2, 0x00, 0x00, 0x03]);

/// The shortest Ethernet frame without its FCS; shorter frames are padded with zeros.
pub const MIN_ETHERNET_FRAME: usize = 60;

const HEADER_LEN: usize = 4;
const ETHERNET_HEADER_LEN: usize = 14;
const VLAN_TPID: u16 = 0x8100;

/// The EAPOL protocol version a frame carries: 1 (802.1X-2001), 2 (-2004) or 3 (-2010).
///
/// Received frames with a higher version are still parsed (§11.5: a receiver processes the fields
/// it knows); version 0 does not exist and is rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EapolVersion(u8);

impl EapolVersion {
    /// IEEE 802.1X-2001.
    pub const V1: EapolVersion = EapolVersion(1);
    /// IEEE 802.1X-2004.
    pub const V2: EapolVersion = EapolVersion(2);
    /// IEEE 802.1X-2010.
    pub const V3: EapolVersion = EapolVersion(3);

    /// A version to transmit: only 1, 2 and 3 are defined.
    pub fn new(version: u8) -> Option<EapolVersion> {
        (1..=3).contains(&version).then_some(EapolVersion(version))
    }

    /// The version number.
    pub fn get(self) -> u8 {
        self.0
    }
}

/// The EAPOL Packet Type field (IEEE 802.1X-2010 Table 11-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// 0: an EAP packet.
    EapPacket,
    /// 1: EAPOL-Start.
    Start,
    /// 2: EAPOL-Logoff.
    Logoff,
    /// 3: EAPOL-Key (parsed, ignored on a wired port).
    Key,
    /// 4: EAPOL-Encapsulated-ASF-Alert.
    EncapsulatedAsfAlert,
    /// 5: EAPOL-MKA.
    Mka,
    /// 6: EAPOL-Announcement (Generic).
    AnnouncementGeneric,
    /// 7: EAPOL-Announcement (Specific).
    AnnouncementSpecific,
    /// 8: EAPOL-Announcement-Req.
    AnnouncementReq,
    /// Any other value.
    Other(u8),
}

impl PacketType {
    /// The numeric value.
    pub fn value(self) -> u8 {
        match self {
            PacketType::EapPacket => 0,
            PacketType::Start => 1,
            PacketType::Logoff => 2,
            PacketType::Key => 3,
            PacketType::EncapsulatedAsfAlert => 4,
            PacketType::Mka => 5,
            PacketType::AnnouncementGeneric => 6,
            PacketType::AnnouncementSpecific => 7,
            PacketType::AnnouncementReq => 8,
            PacketType::Other(v) => v,
        }
    }

    /// The type for a numeric value.
    pub fn from_value(v: u8) -> PacketType {
        match v {
            0 => PacketType::EapPacket,
            1 => PacketType::Start,
            2 => PacketType::Logoff,
            3 => PacketType::Key,
            4 => PacketType::EncapsulatedAsfAlert,
            5 => PacketType::Mka,
            6 => PacketType::AnnouncementGeneric,
            7 => PacketType::AnnouncementSpecific,
            8 => PacketType::AnnouncementReq,
            v => PacketType::Other(v),
        }
    }
}

/// Why bytes are not an EAPOL frame (or an Ethernet frame carrying one).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EapolError {
    /// Fewer bytes than the 4-byte EAPOL header.
    #[error("EAPOL frame of {len} bytes is shorter than the 4-byte header")]
    TooShort {
        /// The number of bytes received.
        len: usize,
    },
    /// Protocol Version 0.
    #[error("EAPOL protocol version 0 is not defined (expected 1, 2 or 3)")]
    VersionZero,
    /// The Packet Body Length field points past the end of the frame.
    #[error("EAPOL packet body length {declared} exceeds the {available} bytes after the header")]
    Truncated {
        /// The Packet Body Length field.
        declared: usize,
        /// The bytes that follow the header.
        available: usize,
    },
    /// An Ethernet frame shorter than its header.
    #[error("Ethernet frame of {len} bytes is shorter than its {needed}-byte header")]
    EthernetTooShort {
        /// The number of bytes received.
        len: usize,
        /// The header length needed (14, or 18 with a VLAN tag).
        needed: usize,
    },
    /// The Ethernet frame carries another protocol.
    #[error("Ethertype {0:#06x} is not EAPOL (0x888e)")]
    NotEapol(u16),
}

/// One EAPOL frame, borrowed from the bytes it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EapolFrame<'a> {
    version: u8,
    packet_type: PacketType,
    body: &'a [u8],
}

impl<'a> EapolFrame<'a> {
    /// Parses an EAPOL PDU (the Ethernet payload). Bytes after the declared body (Ethernet
    /// padding) are ignored.
    pub fn parse(bytes: &'a [u8]) -> Result<EapolFrame<'a>, EapolError> {
        let [version, packet_type, len_hi, len_lo, rest @ ..] = bytes else {
            return Err(EapolError::TooShort { len: bytes.len() });
        };
        if *version == 0 {
            return Err(EapolError::VersionZero);
        }
        let declared = usize::from(u16::from_be_bytes([*len_hi, *len_lo]));
        let body = rest.get(..declared).ok_or(EapolError::Truncated {
            declared,
            available: rest.len(),
        })?;
        Ok(EapolFrame {
            version: *version,
            packet_type: PacketType::from_value(*packet_type),
            body,
        })
    }

    /// A frame to encode.
    pub fn new(version: EapolVersion, packet_type: PacketType, body: &'a [u8]) -> Self {
        EapolFrame {
            version: version.get(),
            packet_type,
            body,
        }
    }

    /// The Protocol Version field as received.
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The Packet Type.
    pub fn packet_type(&self) -> PacketType {
        self.packet_type
    }

    /// The Packet Body (an EAP packet for [`PacketType::EapPacket`]).
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// Encodes the frame. Bodies longer than 65,535 bytes are cut at that length (an EAP packet
    /// never is: its own length field is 16 bits).
    pub fn to_bytes(&self) -> Vec<u8> {
        let body = self.body.get(..usize::from(u16::MAX)).unwrap_or(self.body);
        let len = u16::try_from(body.len()).unwrap_or(u16::MAX);
        let mut out = Vec::with_capacity(HEADER_LEN + body.len());
        out.push(self.version);
        out.push(self.packet_type.value());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(body);
        out
    }
}

/// A 48-bit IEEE MAC address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddress(pub [u8; 6]);

impl fmt::Display for MacAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl fmt::Debug for MacAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A MAC address that is not six hexadecimal octets separated by `:` or `-`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0:?} is not a MAC address (expected six hex octets such as 02:00:00:00:0c:01)")]
pub struct InvalidMacAddress(pub String);

impl FromStr for MacAddress {
    type Err = InvalidMacAddress;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidMacAddress(s.to_owned());
        let mut out = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for slot in &mut out {
            let part = parts.next().ok_or_else(bad)?;
            if part.len() != 2 {
                return Err(bad());
            }
            *slot = u8::from_str_radix(part, 16).map_err(|_| bad())?;
        }
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(MacAddress(out))
    }
}

/// An Ethernet frame carrying EAPOL, borrowed from the received bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetEapol<'a> {
    /// The destination address.
    pub destination: MacAddress,
    /// The source address.
    pub source: MacAddress,
    /// The EAPOL PDU (may include Ethernet padding; [`EapolFrame::parse`] ignores it).
    pub payload: &'a [u8],
}

/// Splits an Ethernet II frame (optionally 802.1Q-tagged) into addresses and EAPOL payload.
pub fn parse_ethernet(frame: &[u8]) -> Result<EthernetEapol<'_>, EapolError> {
    let header = frame
        .get(..ETHERNET_HEADER_LEN)
        .ok_or(EapolError::EthernetTooShort {
            len: frame.len(),
            needed: ETHERNET_HEADER_LEN,
        })?;
    let mut destination = [0u8; 6];
    let mut source = [0u8; 6];
    destination.copy_from_slice(header.get(..6).unwrap_or(&[0; 6]));
    source.copy_from_slice(header.get(6..12).unwrap_or(&[0; 6]));
    let mut ethertype = u16::from_be_bytes([
        header.get(12).copied().unwrap_or(0),
        header.get(13).copied().unwrap_or(0),
    ]);
    let mut offset = ETHERNET_HEADER_LEN;
    if ethertype == VLAN_TPID {
        let tagged = frame
            .get(..ETHERNET_HEADER_LEN + 4)
            .ok_or(EapolError::EthernetTooShort {
                len: frame.len(),
                needed: ETHERNET_HEADER_LEN + 4,
            })?;
        ethertype = u16::from_be_bytes([
            tagged.get(16).copied().unwrap_or(0),
            tagged.get(17).copied().unwrap_or(0),
        ]);
        offset += 4;
    }
    if ethertype != ETHERTYPE_EAPOL {
        return Err(EapolError::NotEapol(ethertype));
    }
    Ok(EthernetEapol {
        destination: MacAddress(destination),
        source: MacAddress(source),
        payload: frame.get(offset..).unwrap_or(&[]),
    })
}

/// Wraps an EAPOL PDU in an Ethernet II header, padded to the 60-byte minimum.
pub fn ethernet_frame(destination: MacAddress, source: MacAddress, eapol: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(MIN_ETHERNET_FRAME.max(ETHERNET_HEADER_LEN + eapol.len()));
    out.extend_from_slice(&destination.0);
    out.extend_from_slice(&source.0);
    out.extend_from_slice(&ETHERTYPE_EAPOL.to_be_bytes());
    out.extend_from_slice(eapol);
    if out.len() < MIN_ETHERNET_FRAME {
        out.resize(MIN_ETHERNET_FRAME, 0);
    }
    out
}

/// The proxy EAPOL-Logoff (SPEC §12): the Ethernet frame a phone sends to the switch, with the
/// source address of the PC behind it, when that PC disconnects, so that the switch clears the
/// PC's authentication. Addressed to the PAE group address, 60 bytes with padding.
///
/// ```
/// use eap_supplicant::eapol::{proxy_logoff, EapolVersion, PAE_GROUP_ADDRESS};
/// let pc = "02:00:00:00:0c:01".parse()?;
/// let frame = proxy_logoff(pc, EapolVersion::V2);
/// assert_eq!(frame.len(), 60);
/// assert_eq!(&frame[..6], &PAE_GROUP_ADDRESS.0);
/// assert_eq!(&frame[6..12], &pc.0);
/// assert_eq!(&frame[12..18], &[0x88, 0x8e, 2, 2, 0, 0]);
/// # Ok::<(), eap_supplicant::eapol::InvalidMacAddress>(())
/// ```
pub fn proxy_logoff(pc: MacAddress, version: EapolVersion) -> Vec<u8> {
    let logoff = EapolFrame::new(version, PacketType::Logoff, &[]).to_bytes();
    ethernet_frame(PAE_GROUP_ADDRESS, pc, &logoff)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_start_logoff_eap_and_key() {
        let f = EapolFrame::parse(&[3, 1, 0, 0]).unwrap();
        assert_eq!(
            (f.version(), f.packet_type(), f.body()),
            (3, PacketType::Start, &[][..])
        );
        let f = EapolFrame::parse(&[1, 2, 0, 0, 0xff, 0xff]).unwrap();
        assert_eq!(f.packet_type(), PacketType::Logoff);
        let f = EapolFrame::parse(&[2, 0, 0, 4, 3, 7, 0, 4, 0, 0]).unwrap();
        assert_eq!(f.body(), &[3, 7, 0, 4]);
        let f = EapolFrame::parse(&[2, 3, 0, 1, 0xfe]).unwrap();
        assert_eq!(f.packet_type(), PacketType::Key);
        let f = EapolFrame::parse(&[4, 42, 0, 0]).unwrap();
        assert_eq!(f.packet_type(), PacketType::Other(42));
    }

    #[test]
    fn rejects_malformed_frames() {
        assert_eq!(EapolFrame::parse(&[]), Err(EapolError::TooShort { len: 0 }));
        assert_eq!(
            EapolFrame::parse(&[2, 0, 0]),
            Err(EapolError::TooShort { len: 3 })
        );
        assert_eq!(EapolFrame::parse(&[0, 1, 0, 0]), Err(EapolError::VersionZero));
        assert_eq!(
            EapolFrame::parse(&[2, 0, 0, 5, 1, 2]),
            Err(EapolError::Truncated {
                declared: 5,
                available: 2
            })
        );
    }

    #[test]
    fn encodes_round_trip() {
        let body = [1, 9, 0, 5, 1];
        let bytes = EapolFrame::new(EapolVersion::V3, PacketType::EapPacket, &body).to_bytes();
        assert_eq!(bytes, [3, 0, 0, 5, 1, 9, 0, 5, 1]);
        let parsed = EapolFrame::parse(&bytes).unwrap();
        assert_eq!(parsed.body(), &body);
    }

    #[test]
    fn ethernet_round_trip_with_and_without_vlan() {
        let src: MacAddress = "02:00:00:00:00:01".parse().unwrap();
        let frame = ethernet_frame(PAE_GROUP_ADDRESS, src, &[2, 1, 0, 0]);
        assert_eq!(frame.len(), 60);
        let e = parse_ethernet(&frame).unwrap();
        assert_eq!((e.destination, e.source), (PAE_GROUP_ADDRESS, src));
        assert_eq!(
            EapolFrame::parse(e.payload).unwrap().packet_type(),
            PacketType::Start
        );

        let mut tagged = frame[..12].to_vec();
        tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x64, 0x88, 0x8e, 2, 1, 0, 0]);
        let e = parse_ethernet(&tagged).unwrap();
        assert_eq!(e.payload, &[2, 1, 0, 0]);
        assert_eq!(
            parse_ethernet(&tagged[..15]),
            Err(EapolError::EthernetTooShort { len: 15, needed: 18 })
        );
        let mut ip = frame.clone();
        ip[12] = 0x08;
        ip[13] = 0x00;
        assert_eq!(parse_ethernet(&ip), Err(EapolError::NotEapol(0x0800)));
    }

    #[test]
    fn mac_addresses_parse_strictly() {
        assert_eq!(
            "02-00-00-00-0C-01".parse::<MacAddress>().unwrap().to_string(),
            "02:00:00:00:0c:01"
        );
        for bad in [
            "",
            "02:00:00:00:0c",
            "02:00:00:00:0c:01:02",
            "2:00:00:00:0c:01",
            "zz:00:00:00:0c:01",
        ] {
            assert!(bad.parse::<MacAddress>().is_err(), "{bad}");
        }
    }
}
