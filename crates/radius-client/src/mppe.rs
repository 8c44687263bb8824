//! MS-MPPE-Send-Key / MS-MPPE-Recv-Key (RFC 2548 §2.4.2–§2.4.3): the MSK halves an
//! authenticator gets from the server, encrypted with the shared secret.

use zeroize::Zeroizing;

use crate::SharedSecret;
use crate::packet::md5_of;

/// Microsoft's vendor id (311).
pub const VENDOR_MICROSOFT: u32 = 311;
/// MS-MPPE-Send-Key vendor type.
pub const MS_MPPE_SEND_KEY: u8 = 16;
/// MS-MPPE-Recv-Key vendor type.
pub const MS_MPPE_RECV_KEY: u8 = 17;

/// Decrypts one Vendor-Specific value holding an MS-MPPE key; `None` when it is another
/// vendor's attribute or malformed. Returns the vendor type and the key.
pub(crate) fn decrypt(
    vsa: &[u8],
    secret: &SharedSecret,
    request_authenticator: &[u8; 16],
) -> Option<(u8, Zeroizing<Vec<u8>>)> {
    let (vendor, rest) = vsa.split_first_chunk::<4>()?;
    if u32::from_be_bytes(*vendor) != VENDOR_MICROSOFT {
        return None;
    }
    let [vtype, vlen, rest @ ..] = rest else {
        return None;
    };
    let value = rest.get(..usize::from(*vlen).checked_sub(2)?)?;
    let (salt, cipher) = value.split_first_chunk::<2>()?;
    if cipher.is_empty() || cipher.len() % 16 != 0 {
        return None;
    }
    let mut plain = Zeroizing::new(Vec::with_capacity(cipher.len()));
    let mut b = Zeroizing::new(md5_of(&[secret.expose(), request_authenticator, salt]));
    for block in cipher.chunks(16) {
        plain.extend(block.iter().zip(b.iter()).map(|(c, k)| c ^ k));
        *b = md5_of(&[secret.expose(), block]);
    }
    let (&key_len, key) = plain.split_first()?;
    let key = key.get(..usize::from(key_len))?;
    Some((*vtype, Zeroizing::new(key.to_vec())))
}

/// Encrypts a key into a Vendor-Specific value, as a server does (for test servers).
pub fn encrypt(
    vendor_type: u8,
    key: &[u8],
    salt: [u8; 2],
    secret: &SharedSecret,
    request_authenticator: &[u8; 16],
) -> Option<Vec<u8>> {
    let mut plain = Zeroizing::new(vec![u8::try_from(key.len()).ok()?]);
    plain.extend_from_slice(key);
    let padded = plain.len().div_ceil(16) * 16;
    plain.resize(padded, 0);
    let mut cipher = Vec::with_capacity(padded);
    let mut b = md5_of(&[secret.expose(), request_authenticator, &salt]);
    for block in plain.chunks(16) {
        let c: Vec<u8> = block.iter().zip(b.iter()).map(|(p, k)| p ^ k).collect();
        b = md5_of(&[secret.expose(), &c]);
        cipher.extend_from_slice(&c);
    }
    let mut vsa = VENDOR_MICROSOFT.to_be_bytes().to_vec();
    vsa.push(vendor_type);
    vsa.push(u8::try_from(cipher.len() + 4).ok()?);
    vsa.extend_from_slice(&salt);
    vsa.extend_from_slice(&cipher);
    Some(vsa)
}
