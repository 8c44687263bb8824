//! Profiles encrypted for a rule's `[--key SECRET]` option: `openssl enc -aes-256-cbc -k SECRET`
//! output (the MPP guides' "Open Profile Encryption"): `Salted__`, an 8-byte salt, then
//! AES-256-CBC with PKCS#7 padding, key and IV from OpenSSL's `EVP_BytesToKey` (one round)
//! over the secret and the salt.
//!
//! The digest of `EVP_BytesToKey` is MD5 in the OpenSSL the vendor's guides used and SHA-256
//! since OpenSSL 1.1.0 (`-md` chooses); both are tried, MD5 first, and a result is only taken
//! when its padding is valid and it is a profile (XML `<`, or gzip). A wrong secret or a
//! tampered file is an error, never garbage handed on.
//!
//! ```
//! use phone_provisioning::decrypt_profile;
//! // `printf '<flat-profile/>' | openssl enc -aes-256-cbc -k secret -md md5 -S 0102030405060708`
//! // (OpenSSL 3 leaves out the `Salted__` header when -S is given; it is put back here).
//! let file = [
//!     b"Salted__".as_slice(), &[1, 2, 3, 4, 5, 6, 7, 8],
//!     &[0xf3, 0xa8, 0xd5, 0xe1, 0x57, 0xd5, 0x62, 0x0d, 0xca, 0xb6, 0xa3, 0xca, 0x1b, 0x47, 0x23, 0x10],
//! ].concat();
//! assert_eq!(decrypt_profile(&file, "secret")?, b"<flat-profile/>");
//! assert!(decrypt_profile(&file, "wrong").is_err());
//! # Ok::<(), phone_provisioning::DecryptError>(())
//! ```

use aes::cipher::{BlockDecrypt, KeyInit, generic_array::GenericArray};

/// Why an encrypted profile could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    /// No `Salted__` header: not `openssl enc` output with a salt.
    #[error(
        "the profile is not `openssl enc` output (no `Salted__` header); --key expects an encrypted profile"
    )]
    NotEncrypted,
    /// The ciphertext is empty or not whole AES blocks.
    #[error("the encrypted profile is {len} bytes after the header, not a positive multiple of 16")]
    BadLength {
        /// Ciphertext length.
        len: usize,
    },
    /// Neither digest gives valid padding and a profile: wrong secret or damaged file.
    #[error("the profile does not decrypt with the --key secret (wrong secret, or the file is damaged)")]
    WrongKey,
}

/// Decrypts an `openssl enc -aes-256-cbc -k SECRET` profile.
pub fn decrypt_profile(file: &[u8], secret: &str) -> Result<Vec<u8>, DecryptError> {
    let rest = file.strip_prefix(b"Salted__").ok_or(DecryptError::NotEncrypted)?;
    let (Some(salt), Some(body)) = (rest.get(..8), rest.get(8..)) else {
        return Err(DecryptError::NotEncrypted);
    };
    if body.is_empty() || body.len() % 16 != 0 {
        return Err(DecryptError::BadLength { len: body.len() });
    }
    for digest in [Digest::Md5, Digest::Sha256] {
        let kiv = bytes_to_key(digest, secret.as_bytes(), salt);
        if let Some(plain) = cbc_decrypt(&kiv, body).filter(|p| looks_like_profile(p)) {
            return Ok(plain);
        }
    }
    Err(DecryptError::WrongKey)
}

#[derive(Clone, Copy)]
enum Digest {
    Md5,
    Sha256,
}

fn hash(d: Digest, parts: &[&[u8]]) -> Vec<u8> {
    match d {
        Digest::Md5 => {
            use md5::Digest as _;
            let mut h = md5::Md5::new();
            for p in parts {
                h.update(p);
            }
            h.finalize().to_vec()
        }
        Digest::Sha256 => {
            let mut h = ring::digest::Context::new(&ring::digest::SHA256);
            for p in parts {
                h.update(p);
            }
            h.finish().as_ref().to_vec()
        }
    }
}

/// `EVP_BytesToKey` with one round: D_i = H(D_{i-1} ‖ secret ‖ salt), until key + IV (48 bytes).
fn bytes_to_key(d: Digest, secret: &[u8], salt: &[u8]) -> [u8; 48] {
    let mut out = Vec::with_capacity(64);
    let mut prev: Vec<u8> = Vec::new();
    while out.len() < 48 {
        prev = hash(d, &[&prev, secret, salt]);
        out.extend_from_slice(&prev);
    }
    let mut kiv = [0u8; 48];
    for (k, o) in kiv.iter_mut().zip(out) {
        *k = o;
    }
    kiv
}

fn cbc_decrypt(kiv: &[u8; 48], body: &[u8]) -> Option<Vec<u8>> {
    let (key, iv) = kiv.split_at(32);
    let cipher = aes::Aes256::new(GenericArray::from_slice(key));
    let mut prev: [u8; 16] = iv.try_into().ok()?;
    let mut out = Vec::with_capacity(body.len());
    for chunk in body.chunks_exact(16) {
        let mut block = GenericArray::clone_from_slice(chunk);
        cipher.decrypt_block(&mut block);
        for (b, p) in block.iter_mut().zip(prev) {
            *b ^= p;
        }
        out.extend_from_slice(&block);
        prev = chunk.try_into().ok()?;
    }
    // PKCS#7: 1..=16 bytes, all equal to their count.
    let pad = *out.last()?;
    if pad == 0 || pad > 16 || out.len() < usize::from(pad) {
        return None;
    }
    let keep = out.len() - usize::from(pad);
    if out.get(keep..)?.iter().any(|&b| b != pad) {
        return None;
    }
    out.truncate(keep);
    Some(out)
}

fn looks_like_profile(plain: &[u8]) -> bool {
    plain.starts_with(&[0x1f, 0x8b])
        || plain
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|&b| b == b'<' || b == 0xef)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::{Command, Stdio};

    /// `openssl enc` as the oracle: the same profile encrypted with each digest decrypts.
    #[test]
    fn decrypts_what_openssl_enc_writes_with_md5_and_sha256() {
        let profile = b"<flat-profile>\n<Proxy_1_>sip.voiceip.com</Proxy_1_>\n</flat-profile>\n";
        for md in ["md5", "sha256"] {
            let mut child = Command::new("openssl")
                .args(["enc", "-aes-256-cbc", "-k", "My Own Secret", "-md", md])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("openssl (Debian `openssl`) not runnable: {e}"));
            child.stdin.take().unwrap().write_all(profile).unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            assert_eq!(
                decrypt_profile(&out.stdout, "My Own Secret").unwrap(),
                profile,
                "-md {md}"
            );
            assert_eq!(
                decrypt_profile(&out.stdout, "my own secret"),
                Err(DecryptError::WrongKey)
            );
            let mut tampered = out.stdout.clone();
            let last = tampered.len() - 1;
            tampered[last] ^= 1;
            assert_eq!(
                decrypt_profile(&tampered, "My Own Secret"),
                Err(DecryptError::WrongKey)
            );
        }
        assert_eq!(decrypt_profile(profile, "x"), Err(DecryptError::NotEncrypted));
        assert_eq!(
            decrypt_profile(b"Salted__12345678abc", "x"),
            Err(DecryptError::BadLength { len: 3 })
        );
    }
}
