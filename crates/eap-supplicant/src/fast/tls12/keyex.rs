//! The key exchanges: finite-field Diffie-Hellman with server-chosen parameters (DHE_RSA,
//! DH_anon) and RSA encryption of the pre-master secret (RSA suites, RFC 5246 §7.4.7.1).

use num_bigint::BigUint;
use zeroize::Zeroizing;

use super::TlsError;
use super::codec::Reader;
use super::random::Rng;

/// The smallest DH prime accepted (bits): hostapd's default dh_file is 2048 bits; 1024 is the
/// floor deployed EAP-FAST servers still use for anonymous provisioning.
pub(crate) const MIN_DH_BITS: u64 = 1024;
/// The largest DH prime accepted (bits): bounds the client's work.
pub(crate) const MAX_DH_BITS: u64 = 8192;
/// Client exponent size in bytes (512 bits: above twice the strength of an 8192-bit group).
const DH_EXPONENT_BYTES: usize = 64;

/// Server DH parameters from a ServerKeyExchange.
pub(crate) struct DhParams {
    p: BigUint,
    g: BigUint,
    ys: BigUint,
    p_len: usize,
}

impl DhParams {
    /// Reads `dh_p`, `dh_g`, `dh_Ys` (RFC 5246 §7.4.3) and checks them: p odd with
    /// 1024..=8192 bits, 1 < g < p−1, 1 < Ys < p−1.
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<DhParams, TlsError> {
        let p = r.vec16()?;
        let g = r.vec16()?;
        let ys = r.vec16()?;
        let p_len = p.iter().skip_while(|b| **b == 0).count();
        let p = BigUint::from_bytes_be(p);
        let g = BigUint::from_bytes_be(g);
        let ys = BigUint::from_bytes_be(ys);
        let bits = p.bits();
        if bits < MIN_DH_BITS {
            return Err(TlsError::DhParameters(format!(
                "prime of {bits} bits, at least {MIN_DH_BITS} needed"
            )));
        }
        if bits > MAX_DH_BITS {
            return Err(TlsError::DhParameters(format!(
                "prime of {bits} bits, at most {MAX_DH_BITS} accepted"
            )));
        }
        if !p.bit(0) {
            return Err(TlsError::DhParameters("even prime".into()));
        }
        let one = BigUint::from(1u8);
        let p_minus_1 = &p - &one;
        if g <= one || g >= p_minus_1 {
            return Err(TlsError::DhParameters("generator outside 1 < g < p-1".into()));
        }
        if ys <= one || ys >= p_minus_1 {
            return Err(TlsError::DhParameters(
                "server public value outside 1 < Ys < p-1".into(),
            ));
        }
        Ok(DhParams { p, g, ys, p_len })
    }

    /// The client's public value Yc and the pre-master secret Z (leading zeros stripped,
    /// RFC 5246 §8.1.2).
    pub(crate) fn agree(&self, rng: &mut Rng) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>), TlsError> {
        let mut x = Zeroizing::new(vec![0u8; DH_EXPONENT_BYTES.min(self.p_len)]);
        rng.fill(&mut x).map_err(|_| TlsError::Random)?;
        if let Some(first) = x.first_mut() {
            *first |= 0x80;
        }
        let x = BigUint::from_bytes_be(&x);
        let yc = self.g.modpow(&x, &self.p);
        let z = self.ys.modpow(&x, &self.p);
        let one = BigUint::from(1u8);
        if z <= one || z >= &self.p - &one {
            return Err(TlsError::DhParameters("shared secret is degenerate".into()));
        }
        Ok((yc.to_bytes_be(), Zeroizing::new(z.to_bytes_be())))
    }
}

/// An RSA public key taken from the server certificate.
pub(crate) struct RsaPublicKey {
    n: BigUint,
    e: BigUint,
    k: usize,
}

impl RsaPublicKey {
    /// The RSA key of an X.509 certificate (its SubjectPublicKeyInfo with rsaEncryption).
    pub(crate) fn from_certificate(der: &[u8]) -> Result<RsaPublicKey, TlsError> {
        let bad = || TlsError::Certificate("the server certificate has no RSA public key".into());
        let cert = der_seq(der).ok_or_else(bad)?;
        let (tbs, _) = der_next(cert).ok_or_else(bad)?;
        let mut tbs = der_seq(tbs).ok_or_else(bad)?;
        // [0] version (optional), serial, signature, issuer, validity, subject, spki
        if tbs.first() == Some(&0xa0) {
            tbs = der_next(tbs).ok_or_else(bad)?.1;
        }
        for _ in 0..5 {
            tbs = der_next(tbs).ok_or_else(bad)?.1;
        }
        let (spki, _) = der_next(tbs).ok_or_else(bad)?;
        let spki = der_seq(spki).ok_or_else(bad)?;
        let (alg, rest) = der_next(spki).ok_or_else(bad)?;
        // rsaEncryption 1.2.840.113549.1.1.1
        const RSA_OID: &[u8] = &[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
        if !der_seq(alg).ok_or_else(bad)?.starts_with(RSA_OID) {
            return Err(bad());
        }
        let (bits, _) = der_next(rest).ok_or_else(bad)?;
        let bits = der_body(bits, 0x03).ok_or_else(bad)?;
        let key = bits.strip_prefix(&[0]).ok_or_else(bad)?;
        let key = der_seq(key).ok_or_else(bad)?;
        let (n, rest) = der_next(key).ok_or_else(bad)?;
        let (e, _) = der_next(rest).ok_or_else(bad)?;
        let n = BigUint::from_bytes_be(der_body(n, 0x02).ok_or_else(bad)?);
        let e = BigUint::from_bytes_be(der_body(e, 0x02).ok_or_else(bad)?);
        let bits = n.bits();
        if !(2048..=8192).contains(&bits) {
            return Err(TlsError::Certificate(format!(
                "RSA key of {bits} bits (2048..=8192 accepted)"
            )));
        }
        let k = usize::try_from(bits.div_ceil(8)).map_err(|_| bad())?;
        Ok(RsaPublicKey { n, e, k })
    }

    /// RSAES-PKCS1-v1_5 encryption (RFC 8017 §7.2.1) of `message`.
    pub(crate) fn encrypt(&self, rng: &mut Rng, message: &[u8]) -> Result<Vec<u8>, TlsError> {
        let ps_len = self
            .k
            .checked_sub(message.len() + 3)
            .filter(|l| *l >= 8)
            .ok_or(TlsError::Internal("RSA key too small for the pre-master secret"))?;
        let mut em = Zeroizing::new(Vec::with_capacity(self.k));
        em.extend_from_slice(&[0, 2]);
        let mut ps = vec![0u8; ps_len];
        for b in ps.iter_mut() {
            while *b == 0 {
                let mut one = [0u8; 1];
                rng.fill(&mut one).map_err(|_| TlsError::Random)?;
                let [x] = one;
                *b = x;
            }
        }
        em.extend_from_slice(&ps);
        em.push(0);
        em.extend_from_slice(message);
        let m = BigUint::from_bytes_be(&em);
        let c = m.modpow(&self.e, &self.n).to_bytes_be();
        let mut out = vec![0u8; self.k.saturating_sub(c.len())];
        out.extend_from_slice(&c);
        Ok(out)
    }
}

/// Splits one DER TLV off the front: (whole element, rest).
fn der_next(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let len_byte = *input.get(1)?;
    let (hdr, len) = if len_byte < 0x80 {
        (2, usize::from(len_byte))
    } else {
        let n = usize::from(len_byte & 0x7f);
        if n == 0 || n > 3 {
            return None;
        }
        let len = input
            .get(2..2 + n)?
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (2 + n, len)
    };
    let end = hdr.checked_add(len)?;
    Some((input.get(..end)?, input.get(end..)?))
}

/// The contents of an element with tag `tag`.
fn der_body(element: &[u8], tag: u8) -> Option<&[u8]> {
    if *element.first()? != tag {
        return None;
    }
    let len_byte = *element.get(1)?;
    let hdr = if len_byte < 0x80 {
        2
    } else {
        2 + usize::from(len_byte & 0x7f)
    };
    element.get(hdr..)
}

/// The contents of a SEQUENCE.
fn der_seq(input: &[u8]) -> Option<&[u8]> {
    let (el, _) = der_next(input)?;
    der_body(el, 0x30)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn params(p: &[u8], g: &[u8], ys: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        for x in [p, g, ys] {
            v.extend_from_slice(&(x.len() as u16).to_be_bytes());
            v.extend_from_slice(x);
        }
        v
    }

    #[test]
    fn dh_parameter_checks() {
        let mut p = vec![0xffu8; 128]; // 1024-bit odd
        let g = [2u8];
        let ok = [5u8];
        assert!(DhParams::read(&mut Reader::new(&params(&p, &g, &ok), "t")).is_ok());
        // Ys = 1 and Ys = p-1
        assert!(DhParams::read(&mut Reader::new(&params(&p, &g, &[1]), "t")).is_err());
        let mut pm1 = p.clone();
        pm1[127] = 0xfe;
        assert!(DhParams::read(&mut Reader::new(&params(&p, &g, &pm1), "t")).is_err());
        // g = 1
        assert!(DhParams::read(&mut Reader::new(&params(&p, &[1], &ok), "t")).is_err());
        // 1016-bit prime
        assert!(DhParams::read(&mut Reader::new(&params(&p[1..], &g, &ok), "t")).is_err());
        // even p
        p[127] = 0xfe;
        assert!(DhParams::read(&mut Reader::new(&params(&p, &g, &ok), "t")).is_err());
        // truncated
        assert!(DhParams::read(&mut Reader::new(&[0, 5, 1], "t")).is_err());
    }
}
