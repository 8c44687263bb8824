//! EAP-FAST key derivations (RFC 4851 §5): T-PRF, the PAC-Key to master secret step, the
//! S-IMCK / CMK chain and the MSK / EMSK.

use ring::hmac;
use zeroize::Zeroizing;

/// `T-PRF(key, label, seed, len)` (RFC 4851 §5.5):
/// `T1 = HMAC-SHA1(key, S || len || 0x01)`, `Tn = HMAC-SHA1(key, Tn-1 || S || len || n)` with
/// `S = label || 0x00 || seed` and `len` the 2-byte output length.
pub fn t_prf(key: &[u8], label: &str, seed: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key);
    let olen = u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes();
    let mut out = Zeroizing::new(Vec::with_capacity(len + 20));
    let mut prev: Option<hmac::Tag> = None;
    let mut n: u8 = 0;
    while out.len() < len {
        n = n.wrapping_add(1);
        let mut ctx = hmac::Context::with_key(&key);
        if let Some(t) = &prev {
            ctx.update(t.as_ref());
        }
        ctx.update(label.as_bytes());
        ctx.update(&[0]);
        ctx.update(seed);
        ctx.update(&olen);
        ctx.update(&[n]);
        let t = ctx.sign();
        out.extend_from_slice(t.as_ref());
        prev = Some(t);
    }
    out.truncate(len);
    out
}

/// RFC 4851 §5.1: `master_secret = T-PRF(PAC-Key, "PAC to master secret label hash",
/// server_random || client_random, 48)`.
pub fn pac_master_secret(
    pac_key: &[u8],
    server_random: &[u8; 32],
    client_random: &[u8; 32],
) -> Zeroizing<Vec<u8>> {
    let mut seed = [0u8; 64];
    let (s, c) = seed.split_at_mut(32);
    s.copy_from_slice(server_random);
    c.copy_from_slice(client_random);
    t_prf(pac_key, "PAC to master secret label hash", &seed, 48)
}

/// One step of the RFC 4851 §5.2 chain: `IMCK[j] = T-PRF(S-IMCK[j-1], "Inner Methods Compound
/// Keys", ISK[j], 60)`; returns `(S-IMCK[j], CMK[j])` (first 40, last 20 octets).
pub fn imck_step(s_imck: &[u8], isk: &[u8; 32]) -> (Zeroizing<Vec<u8>>, Zeroizing<Vec<u8>>) {
    let imck = t_prf(s_imck, "Inner Methods Compound Keys", isk, 60);
    let (s, c) = imck.split_at(40.min(imck.len()));
    (Zeroizing::new(s.to_vec()), Zeroizing::new(c.to_vec()))
}

/// RFC 4851 §5.4: `MSK = T-PRF(S-IMCK[j], "Session Key Generating Function", 64)`.
pub fn msk(s_imck: &[u8]) -> Zeroizing<Vec<u8>> {
    t_prf(s_imck, "Session Key Generating Function", &[], 64)
}

/// RFC 4851 §5.4: `EMSK = T-PRF(S-IMCK[j], "Extended Session Key Generating Function", 64)`.
pub fn emsk(s_imck: &[u8]) -> Zeroizing<Vec<u8>> {
    t_prf(s_imck, "Extended Session Key Generating Function", &[], 64)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 4851 Appendix B.1 ("Key Derivation"): PAC-Key, the two randoms and the master
    /// secret they give.
    #[test]
    fn rfc4851_b1_pac_to_master_secret() {
        let pac_key = hex(
            "0B 97 39 0F 37 51 78 09 81 1E FD 9C 6E 65 94 2B 63 2C E9 53 89 38 08 BA 36 0B 03 7C D1 85 E4 14",
        );
        let server_random = hex(
            "3F FB 11 C4 6C BF A5 7A 54 40 DA E8 22 D3 11 D3 F7 6D E4 1D D9 33 E5 93 70 97 EB A9 B3 66 F4 2A",
        );
        let client_random = hex(
            "00 00 00 02 6A 66 43 2A 8D 14 43 2C EC 58 2D 2F C7 9C 33 64 BA 04 AD 3A 52 54 D6 A5 79 AD 1E 00",
        );
        let want = hex(
            "4A 1A 51 2C 01 60 BC 02 3C CF BC 83 3F 03 BC 64 88 C1 31 2F 0B A9 A2 77 16 A8 D8 E8 BD C9 D2 29 38 4B 7A 85 BE 16 4D 27 33 D5 24 79 87 B1 C5 A2",
        );
        let ms = pac_master_secret(
            &pac_key,
            &server_random.try_into().unwrap(),
            &client_random.try_into().unwrap(),
        );
        assert_eq!(ms.as_slice(), want.as_slice());
    }

    #[test]
    fn t_prf_lengths_are_prefixes_only_for_the_same_length() {
        // The output length is an input: 20 and 40 bytes of the same T-PRF differ.
        let a = t_prf(b"k", "label", b"seed", 20);
        let b = t_prf(b"k", "label", b"seed", 40);
        assert_ne!(a.as_slice(), &b[..20]);
        assert_eq!(t_prf(b"k", "label", b"seed", 60).len(), 60);
    }
}
