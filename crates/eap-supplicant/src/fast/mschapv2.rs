//! MS-CHAPv2 (RFC 2759) and its MPPE keys (RFC 3079), for the inner EAP-MSCHAPv2 of EAP-FAST.

use des::cipher::{BlockEncrypt, KeyInit, generic_array::GenericArray};
use md4::{Digest, Md4};
use ring::digest;
use zeroize::Zeroizing;

/// RFC 2759 §8.2 ChallengeHash: the first 8 octets of `SHA1(PeerChallenge || AuthenticatorChallenge
/// || UserName)`; the user name without any `DOMAIN\` prefix.
pub fn challenge_hash(peer_challenge: &[u8; 16], auth_challenge: &[u8; 16], user: &str) -> [u8; 8] {
    let user = user.rsplit_once('\\').map_or(user, |(_, u)| u);
    let mut ctx = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(peer_challenge);
    ctx.update(auth_challenge);
    ctx.update(user.as_bytes());
    let d = ctx.finish();
    let mut out = [0u8; 8];
    out.copy_from_slice(d.as_ref().get(..8).unwrap_or(&[0; 8]));
    out
}

/// RFC 2759 §8.3 NtPasswordHash: MD4 of the UTF-16LE password.
pub fn nt_password_hash(password: &str) -> Zeroizing<[u8; 16]> {
    let mut md4 = Md4::new();
    let mut unicode = Zeroizing::new(Vec::with_capacity(password.len() * 2));
    for unit in password.encode_utf16() {
        unicode.extend_from_slice(&unit.to_le_bytes());
    }
    md4.update(&unicode);
    let mut out = Zeroizing::new([0u8; 16]);
    out.copy_from_slice(&md4.finalize());
    out
}

/// MD4 of the password hash (RFC 2759 §8.4 HashNtPasswordHash).
fn hash_nt_password_hash(hash: &[u8; 16]) -> Zeroizing<[u8; 16]> {
    let mut out = Zeroizing::new([0u8; 16]);
    out.copy_from_slice(&Md4::digest(hash));
    out
}

/// RFC 2759 §8.6 DesEncrypt with a 7-octet key expanded to 8 (parity bits unused by DES).
fn des_encrypt(clear: &[u8; 8], key7: &[u8]) -> [u8; 8] {
    let k = |i: usize| u16::from(*key7.get(i).unwrap_or(&0));
    let mut key = [0u8; 8];
    for (i, byte) in key.iter_mut().enumerate() {
        // Bits 7*i .. 7*i+7 of the 56-bit key, left-aligned in the byte.
        let bit = 7 * i;
        let word = (k(bit / 8) << 8) | k(bit / 8 + 1);
        *byte = ((word >> (8 - bit % 8)) as u8) & 0xfe;
    }
    let mut block = GenericArray::clone_from_slice(clear);
    match des::Des::new_from_slice(&key) {
        Ok(cipher) => cipher.encrypt_block(&mut block),
        Err(_) => return [0; 8],
    }
    let mut out = [0u8; 8];
    out.copy_from_slice(&block);
    out
}

/// RFC 2759 §8.5 ChallengeResponse: the 24-octet NT-Response.
fn challenge_response(challenge: &[u8; 8], password_hash: &[u8; 16]) -> [u8; 24] {
    let mut z = [0u8; 21];
    if let Some(head) = z.get_mut(..16) {
        head.copy_from_slice(password_hash);
    }
    let mut out = [0u8; 24];
    for (i, chunk) in out.chunks_exact_mut(8).enumerate() {
        chunk.copy_from_slice(&des_encrypt(
            challenge,
            z.get(7 * i..7 * i + 7).unwrap_or(&[0; 7]),
        ));
    }
    out
}

/// What the peer computes for one MS-CHAPv2 challenge.
pub struct Computed {
    /// The NT-Response to send.
    pub nt_response: [u8; 24],
    /// The `S=` value the server must send back (RFC 2759 §8.7), as 20 bytes.
    pub authenticator_response: [u8; 20],
    /// The RFC 3079 §3.4 MasterKey.
    pub master_key: Zeroizing<[u8; 16]>,
}

/// RFC 2759 §8.1 GenerateNTResponse, §8.7 GenerateAuthenticatorResponse and RFC 3079 §3.4
/// GetMasterKey in one go.
pub fn compute(auth_challenge: &[u8; 16], peer_challenge: &[u8; 16], user: &str, password: &str) -> Computed {
    let ch = challenge_hash(peer_challenge, auth_challenge, user);
    let hash = nt_password_hash(password);
    let nt_response = challenge_response(&ch, &hash);
    let hash_hash = hash_nt_password_hash(&hash);

    const MAGIC1: &[u8] = b"Magic server to client signing constant";
    const MAGIC2: &[u8] = b"Pad to make it do more than one iteration";
    let mut ctx = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(hash_hash.as_slice());
    ctx.update(&nt_response);
    ctx.update(MAGIC1);
    let d = ctx.finish();
    let mut ctx = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(d.as_ref());
    ctx.update(&ch);
    ctx.update(MAGIC2);
    let mut authenticator_response = [0u8; 20];
    authenticator_response.copy_from_slice(ctx.finish().as_ref());

    let mut ctx = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(hash_hash.as_slice());
    ctx.update(&nt_response);
    ctx.update(b"This is the MPPE Master Key");
    let mut master_key = Zeroizing::new([0u8; 16]);
    master_key.copy_from_slice(ctx.finish().as_ref().get(..16).unwrap_or(&[0; 16]));
    Computed {
        nt_response,
        authenticator_response,
        master_key,
    }
}

/// RFC 3079 §3.4 GetAsymmetricStartKey (16 octets).
pub fn asymmetric_start_key(master_key: &[u8; 16], is_send: bool, is_server: bool) -> Zeroizing<[u8; 16]> {
    const MAGIC2: &[u8] =
        b"On the client side, this is the send key; on the server side, it is the receive key.";
    const MAGIC3: &[u8] =
        b"On the client side, this is the receive key; on the server side, it is the send key.";
    let magic = if is_send == is_server { MAGIC3 } else { MAGIC2 };
    let mut ctx = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(master_key);
    ctx.update(&[0u8; 40]);
    ctx.update(magic);
    ctx.update(&[0xf2u8; 40]);
    let mut out = Zeroizing::new([0u8; 16]);
    out.copy_from_slice(ctx.finish().as_ref().get(..16).unwrap_or(&[0; 16]));
    out
}

/// The inner method key EAP-FAST takes from EAP-MSCHAPv2 (RFC 5422 §3.2.3; hostap's
/// `eap_fast_mschapv2`): the peer's receive start key, then its send start key.
pub fn fast_isk(master_key: &[u8; 16]) -> Zeroizing<[u8; 32]> {
    let mut isk = Zeroizing::new([0u8; 32]);
    let (a, b) = isk.split_at_mut(16);
    a.copy_from_slice(asymmetric_start_key(master_key, false, false).as_slice());
    b.copy_from_slice(asymmetric_start_key(master_key, true, false).as_slice());
    isk
}

/// Checks an `S=<40 hex>` authenticator response (RFC 2759 §8.8) in constant time over the bytes.
pub fn verify_authenticator_response(expected: &[u8; 20], message: &[u8]) -> bool {
    let Some(hex) = message.strip_prefix(b"S=").and_then(|m| m.get(..40)) else {
        return false;
    };
    let mut diff = 0u8;
    for (i, want) in expected.iter().enumerate() {
        let pair = hex.get(2 * i..2 * i + 2).unwrap_or(b"zz");
        let got = std::str::from_utf8(pair)
            .ok()
            .and_then(|s| u8::from_str_radix(s, 16).ok());
        match got {
            Some(g) => diff |= g ^ want,
            None => diff |= 0xff,
        }
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 2759 §9.2 and RFC 3079 §3.5.3.
    #[test]
    fn rfc2759_section9_vectors() {
        let auth: [u8; 16] = hex("5B5D7C7D7B3F2F3E3C2C602132262628").try_into().unwrap();
        let peer: [u8; 16] = hex("21402324255E262A28295F2B3A337C7E").try_into().unwrap();
        assert_eq!(
            challenge_hash(&peer, &auth, "User").to_vec(),
            hex("D02E4386BCE91226")
        );
        assert_eq!(
            nt_password_hash("clientPass").to_vec(),
            hex("44EBBA8D5312B8D611474411F56989AE")
        );
        let c = compute(&auth, &peer, "User", "clientPass");
        assert_eq!(
            c.nt_response.to_vec(),
            hex("82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF")
        );
        assert!(verify_authenticator_response(
            &c.authenticator_response,
            b"S=407A5589115FD0D6209F510FE9C04566932CDA56"
        ));
        assert!(!verify_authenticator_response(
            &c.authenticator_response,
            b"S=407A5589115FD0D6209F510FE9C04566932CDA57"
        ));
        assert!(!verify_authenticator_response(
            &c.authenticator_response,
            b"S=407A"
        ));
        assert_eq!(c.master_key.to_vec(), hex("FDECE3717A8C838CB388E527AE3CDD31"));
        assert_eq!(
            asymmetric_start_key(&c.master_key, true, true).to_vec(),
            hex("8B7CDC149B993A1BA118CB153F56DCCB")
        );
    }
}
