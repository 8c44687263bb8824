//! A bounded reader over DER framing (ITU-T X.690 §8.1): identifier and length octets, and
//! the contents they delimit, without decoding the contents.
//!
//! [`CertificateNames::from_der`](crate::CertificateNames::from_der) walks the certificate
//! with it to find the few fields a name check needs (version, subject, subjectAltName) and
//! hands only those to rasn. The walk has a fixed depth (certificate → tbsCertificate →
//! extensions → extension), never recurses, and every length is checked against the octets
//! that are left, so no input can make it overflow, loop or read out of bounds.

/// Identifier octets (X.690 §8.1.2) of the values the certificate walk expects.
pub(crate) mod id {
    /// UNIVERSAL 1, primitive.
    pub(crate) const BOOLEAN: u8 = 0x01;
    /// UNIVERSAL 2, primitive.
    pub(crate) const INTEGER: u8 = 0x02;
    /// UNIVERSAL 3, primitive (DER forbids the constructed form).
    pub(crate) const BIT_STRING: u8 = 0x03;
    /// UNIVERSAL 4, primitive (DER forbids the constructed form).
    pub(crate) const OCTET_STRING: u8 = 0x04;
    /// UNIVERSAL 6, primitive.
    pub(crate) const OBJECT_IDENTIFIER: u8 = 0x06;
    /// UNIVERSAL 16, constructed.
    pub(crate) const SEQUENCE: u8 = 0x30;
    /// UNIVERSAL 17, constructed.
    pub(crate) const SET: u8 = 0x31;
    /// GeneralName `[1] IMPLICIT IA5String`, primitive.
    pub(crate) const RFC822_NAME: u8 = 0x81;
    /// GeneralName `[2] IMPLICIT IA5String`, primitive.
    pub(crate) const DNS_NAME: u8 = 0x82;
    /// GeneralName `[7] IMPLICIT OCTET STRING`, primitive.
    pub(crate) const IP_ADDRESS: u8 = 0x87;
    /// `[0]` EXPLICIT, constructed: tbsCertificate.version.
    pub(crate) const CONTEXT_0: u8 = 0xA0;
    /// `[1]` IMPLICIT BIT STRING, primitive: issuerUniqueID.
    pub(crate) const CONTEXT_1_PRIMITIVE: u8 = 0x81;
    /// `[2]` IMPLICIT BIT STRING, primitive: subjectUniqueID.
    pub(crate) const CONTEXT_2_PRIMITIVE: u8 = 0x82;
    /// `[3]` EXPLICIT, constructed: tbsCertificate.extensions.
    pub(crate) const CONTEXT_3: u8 = 0xA3;
}

/// Bit 6 of the identifier octet: the encoding is constructed (X.690 §8.1.2.5).
const CONSTRUCTED: u8 = 0x20;
/// Bits 8 and 7 of the identifier octet: the class (X.690 §8.1.2.2).
const CLASS: u8 = 0xC0;
/// Bits 5 to 1 of the identifier octet: the tag number, or all ones for the high form.
const NUMBER: u8 = 0x1F;

/// One encoded value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    /// Its contents octets.
    pub(crate) contents: &'a [u8],
    /// Its whole encoding: identifier, length and contents octets.
    pub(crate) encoding: &'a [u8],
}

/// A cursor over a run of DER values that reads one value's framing at a time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    input: &'a [u8],
}

impl<'a> Reader<'a> {
    #[inline]
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Self { input }
    }

    /// Reads the next value, which must have the class and tag number of the (low tag
    /// number form) identifier octet `identifier`; `what` names the field in the error.
    /// Like rasn, the constructed bit is not compared, and the tag number may come in the
    /// high tag number form.
    #[inline]
    pub(crate) fn expect(&mut self, identifier: u8, what: &str) -> Result<Tlv<'a>, String> {
        let Some(&initial) = self.input.first() else {
            return Err(format!(
                "{what}: missing (expected identifier 0x{identifier:02x})"
            ));
        };
        // The common case: the same identifier octet, or it with the constructed bit flipped.
        if initial & !CONSTRUCTED == identifier & !CONSTRUCTED {
            return self.value(1, what);
        }
        let (class, number, identifier_len) = self.identifier(what)?;
        if class != identifier & CLASS || number != u32::from(identifier & NUMBER) {
            return Err(format!(
                "{what}: expected identifier 0x{identifier:02x}, found 0x{initial:02x}"
            ));
        }
        self.value(identifier_len, what)
    }

    /// Whether the next value has the class and number of `identifier` (constructed or
    /// not, either tag number form, like [`Reader::expect`]).
    #[inline]
    pub(crate) fn next_is(&self, identifier: u8) -> bool {
        match self.input.first() {
            None => false,
            Some(&initial) if initial & !CONSTRUCTED == identifier & !CONSTRUCTED => true,
            Some(_) => self.identifier("").is_ok_and(|(class, number, _)| {
                class == identifier & CLASS && number == u32::from(identifier & NUMBER)
            }),
        }
    }

    /// Reads the next value whatever its identifier (an ANY), returning its first
    /// identifier octet too.
    #[inline]
    pub(crate) fn any(&mut self, what: &str) -> Result<(u8, Tlv<'a>), String> {
        let Some(&initial) = self.input.first() else {
            return Err(format!("{what}: missing"));
        };
        let (_, _, identifier_len) = self.identifier(what)?;
        Ok((initial, self.value(identifier_len, what)?))
    }

    /// Parses the identifier octets (X.690 §8.1.2) at the cursor, without advancing: the
    /// class bits, the tag number (the high form in base 128, at most 32 bits like rasn)
    /// and how many octets they take. End-of-contents octets are not a value.
    #[inline]
    fn identifier(&self, what: &str) -> Result<(u8, u32, usize), String> {
        let Some(&initial) = self.input.first() else {
            return Err(format!("{what}: missing"));
        };
        let mut len = 1;
        let number = if initial & NUMBER == NUMBER {
            let mut number = 0u32;
            loop {
                let Some(&octet) = self.input.get(len) else {
                    return Err(format!("{what}: identifier octets run past the end"));
                };
                len += 1;
                if number > u32::MAX >> 7 {
                    return Err(format!("{what}: tag number does not fit 32 bits"));
                }
                number = (number << 7) | u32::from(octet & 0x7F);
                if octet & 0x80 == 0 {
                    break number;
                }
            }
        } else {
            u32::from(initial & NUMBER)
        };
        if initial & CLASS == 0 && number == 0 {
            return Err(format!(
                "{what}: end-of-contents octets where a value was expected"
            ));
        }
        Ok((initial & CLASS, number, len))
    }

    /// Reads the length and contents of the value whose identifier takes the first
    /// `identifier_len` octets.
    #[inline]
    fn value(&mut self, identifier_len: usize, what: &str) -> Result<Tlv<'a>, String> {
        let after_identifier = self.input.get(identifier_len..).unwrap_or_default();
        let (header_len, contents_len) = length(after_identifier).map_err(|e| format!("{what}: {e}"))?;
        let (header, rest) = self
            .input
            .split_at_checked(identifier_len + header_len)
            .unwrap_or_default();
        let Some((contents, after)) = rest.split_at_checked(contents_len) else {
            return Err(format!(
                "{what}: length {contents_len} runs past the end ({} octets left)",
                rest.len()
            ));
        };
        let encoding = self
            .input
            .get(..header.len() + contents.len())
            .unwrap_or_default();
        self.input = after;
        Ok(Tlv { contents, encoding })
    }

    /// Checks that every value has been read.
    #[inline]
    pub(crate) fn finish(&self, what: &str) -> Result<(), String> {
        if self.input.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{what}: {} unexpected octets after the last field",
                self.input.len()
            ))
        }
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.input.is_empty()
    }
}

/// Parses length octets (X.690 §8.1.3) at the start of `input`: how many octets they take
/// and the contents length they give. The definite form only (DER, §10.1); like rasn's DER
/// decoder, a long form with leading zero octets is accepted.
#[inline]
fn length(input: &[u8]) -> Result<(usize, usize), String> {
    let Some((&initial, rest)) = input.split_first() else {
        return Err("length octets missing".into());
    };
    match initial {
        0..=0x7F => Ok((1, usize::from(initial))),
        0x80 => Err("indefinite length, which DER forbids".into()),
        0xFF => Err("reserved length octet 0xff".into()),
        _ => {
            let count = usize::from(initial & 0x7F);
            let octets = rest
                .get(..count)
                .ok_or_else(|| format!("{count} length octets announced, {} left", rest.len()))?;
            let mut len = 0usize;
            for &octet in octets {
                len = len
                    .checked_mul(256)
                    .ok_or_else(|| format!("a length of {count} octets does not fit this platform"))?
                    | usize::from(octet);
            }
            Ok((1 + count, len))
        }
    }
}

/// Checks the contents of an OBJECT IDENTIFIER (X.690 §8.19) the way rasn's decoder does:
/// at least one subidentifier, each in base 128 fitting 32 bits, the last one complete.
pub(crate) fn check_object_identifier(contents: &[u8]) -> Result<(), String> {
    if contents.is_empty() {
        return Err("empty OBJECT IDENTIFIER".into());
    }
    let mut arc = 0u32;
    for &octet in contents {
        if arc > u32::MAX >> 7 {
            return Err("OBJECT IDENTIFIER arc does not fit 32 bits".into());
        }
        arc = (arc << 7) | u32::from(octet & 0x7F);
        if octet & 0x80 == 0 {
            arc = 0;
        }
    }
    if contents.last().is_some_and(|&last| last & 0x80 != 0) {
        return Err("OBJECT IDENTIFIER ends inside an arc".into());
    }
    Ok(())
}

/// Decodes the contents of a DER BOOLEAN (X.690 §11.1: 0x00 or 0xff).
pub(crate) fn boolean(contents: &[u8]) -> Result<bool, String> {
    match contents {
        [0x00] => Ok(false),
        [0xFF] => Ok(true),
        [other] => Err(format!("BOOLEAN 0x{other:02x}, DER requires 0x00 or 0xff")),
        _ => Err(format!("BOOLEAN of {} octets, expected 1", contents.len())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths() {
        let mut r = Reader::new(&[0x04, 0x01, 0xAA, 0x30, 0x81, 0x01, 0x05]);
        assert_eq!(r.expect(id::OCTET_STRING, "a").unwrap().contents, [0xAA]);
        let t = r.expect(id::SEQUENCE, "b").unwrap();
        assert_eq!(t.contents, [0x05]);
        assert_eq!(t.encoding, [0x30, 0x81, 0x01, 0x05]);
        assert!(r.finish("c").is_ok());
    }

    #[test]
    fn refuses_bad_framing() {
        for (input, want) in [
            (&[][..], "missing"),
            (&[0x31, 0x00], "found 0x31"),
            (&[0x30], "length octets missing"),
            (&[0x30, 0x80, 0x00, 0x00], "indefinite"),
            (&[0x30, 0xFF], "reserved"),
            (&[0x30, 0x82, 0x01], "2 length octets announced, 1 left"),
            (&[0x30, 0x02, 0x00], "runs past the end"),
            (
                &[0x30, 0x88, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
                "runs past the end",
            ),
            (&[0x30, 0x89, 1, 0, 0, 0, 0, 0, 0, 0, 0], "does not fit"),
        ] {
            let e = Reader::new(input).expect(id::SEQUENCE, "x").unwrap_err();
            assert!(e.contains(want), "{input:02x?}: {e}");
        }
        assert!(Reader::new(&[0x05, 0x00, 0x05, 0x00]).finish("x").is_err());
    }

    #[test]
    fn object_identifiers_and_booleans() {
        assert!(check_object_identifier(&[0x55, 0x1D, 0x11]).is_ok());
        assert!(check_object_identifier(&[]).is_err());
        assert!(check_object_identifier(&[0x55, 0x81]).is_err());
        assert!(check_object_identifier(&[0x8F, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]).is_err());
        assert_eq!(boolean(&[0xFF]), Ok(true));
        assert_eq!(boolean(&[0x00]), Ok(false));
        assert!(boolean(&[0x01]).is_err());
        assert!(boolean(&[]).is_err());
    }
}
