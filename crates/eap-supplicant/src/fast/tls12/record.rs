//! The TLS 1.2 record layer (RFC 5246 §6) for AES-CBC with HMAC-SHA1: framing, explicit IVs,
//! sequence numbers, and a padding/MAC check that takes the same path whatever the padding
//! (Lucky13, AlFardan & Paterson 2013).

use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit, generic_array::GenericArray};
use ring::{digest, hmac};
use zeroize::Zeroizing;

use super::TlsError;
use super::random::Rng;

/// Content types (RFC 5246 §6.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ContentType {
    ChangeCipherSpec,
    Alert,
    Handshake,
    ApplicationData,
}

impl ContentType {
    pub(crate) fn value(self) -> u8 {
        match self {
            ContentType::ChangeCipherSpec => 20,
            ContentType::Alert => 21,
            ContentType::Handshake => 22,
            ContentType::ApplicationData => 23,
        }
    }

    fn from_value(v: u8) -> Option<ContentType> {
        Some(match v {
            20 => ContentType::ChangeCipherSpec,
            21 => ContentType::Alert,
            22 => ContentType::Handshake,
            23 => ContentType::ApplicationData,
            _ => return None,
        })
    }
}

/// Largest plaintext fragment (RFC 5246 §6.2.1).
pub(crate) const MAX_PLAINTEXT: usize = 1 << 14;
/// Largest ciphertext fragment accepted (RFC 5246 §6.2.3: 2^14 + 2048).
pub(crate) const MAX_CIPHERTEXT: usize = MAX_PLAINTEXT + 2048;
const MAC_LEN: usize = 20;
const BLOCK: usize = 16;
const HEADER: usize = 5;
const VERSION: [u8; 2] = [3, 3];

/// AES-128 or AES-256, the only ciphers the EAP-FAST suites use.
pub(crate) enum BlockCipher {
    Aes128(Box<aes::Aes128>),
    Aes256(Box<aes::Aes256>),
}

impl BlockCipher {
    pub(crate) fn new(key: &[u8]) -> Result<BlockCipher, TlsError> {
        match key.len() {
            16 => aes::Aes128::new_from_slice(key).map(|c| BlockCipher::Aes128(Box::new(c))),
            32 => aes::Aes256::new_from_slice(key).map(|c| BlockCipher::Aes256(Box::new(c))),
            _ => return Err(TlsError::Internal("AES key of unsupported length")),
        }
        .map_err(|_| TlsError::Internal("AES key of unsupported length"))
    }

    fn encrypt(&self, block: &mut [u8]) {
        let block = GenericArray::from_mut_slice(block);
        match self {
            BlockCipher::Aes128(c) => c.encrypt_block(block),
            BlockCipher::Aes256(c) => c.encrypt_block(block),
        }
    }

    fn decrypt(&self, block: &mut [u8]) {
        let block = GenericArray::from_mut_slice(block);
        match self {
            BlockCipher::Aes128(c) => c.decrypt_block(block),
            BlockCipher::Aes256(c) => c.decrypt_block(block),
        }
    }
}

/// One direction's keys and sequence number.
pub(crate) struct CipherState {
    mac: hmac::Key,
    cipher: BlockCipher,
    seq: u64,
}

impl CipherState {
    pub(crate) fn new(mac_key: &[u8], enc_key: &[u8]) -> Result<CipherState, TlsError> {
        Ok(CipherState {
            mac: hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, mac_key),
            cipher: BlockCipher::new(enc_key)?,
            seq: 0,
        })
    }

    fn next_seq(&mut self) -> Result<u64, TlsError> {
        let seq = self.seq;
        // RFC 5246 §6.1: sequence numbers never wrap; renegotiation is refused, so close.
        self.seq = seq.checked_add(1).ok_or(TlsError::SequenceExhausted)?;
        Ok(seq)
    }

    fn mac_header(seq: u64, ty: u8, len: usize) -> [u8; 13] {
        let mut h = [0u8; 13];
        let (s, rest) = h.split_at_mut(8);
        s.copy_from_slice(&seq.to_be_bytes());
        let len = u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes();
        rest.copy_from_slice(&[ty, VERSION[0], VERSION[1], len[0], len[1]]);
        h
    }

    /// GenericBlockCipher: IV || E(data || MAC || padding).
    fn seal(&mut self, rng: &mut Rng, ty: u8, data: &[u8]) -> Result<Vec<u8>, TlsError> {
        let seq = self.next_seq()?;
        let mut ctx = hmac::Context::with_key(&self.mac);
        ctx.update(&Self::mac_header(seq, ty, data.len()));
        ctx.update(data);
        let tag = ctx.sign();
        let body = data.len() + MAC_LEN + 1;
        let pad = (BLOCK - body % BLOCK) % BLOCK;
        let mut out = vec![0u8; BLOCK];
        rng.fill(&mut out).map_err(|_| TlsError::Random)?;
        let mut plain = Zeroizing::new(Vec::with_capacity(body + pad));
        plain.extend_from_slice(data);
        plain.extend_from_slice(tag.as_ref());
        plain.resize(body + pad, u8::try_from(pad).unwrap_or(0));
        let mut prev = [0u8; BLOCK];
        prev.copy_from_slice(out.get(..BLOCK).ok_or(TlsError::Internal("IV"))?);
        for chunk in plain.chunks_exact_mut(BLOCK) {
            for (b, p) in chunk.iter_mut().zip(prev.iter()) {
                *b ^= p;
            }
            self.cipher.encrypt(chunk);
            prev.copy_from_slice(chunk);
            out.extend_from_slice(chunk);
        }
        Ok(out)
    }

    /// Decrypts and authenticates one record's fragment. Every failure is the same
    /// `bad_record_mac`, decided after the same work whatever the padding said.
    fn open(&mut self, ty: u8, fragment: &[u8]) -> Result<Zeroizing<Vec<u8>>, TlsError> {
        let seq = self.next_seq()?;
        // IV + at least one block holding MAC and padding length.
        if fragment.len() % BLOCK != 0 || fragment.len() < BLOCK + 2 * BLOCK {
            return Err(TlsError::BadRecordMac);
        }
        let (iv, ct) = fragment.split_at(BLOCK);
        let mut plain = Zeroizing::new(ct.to_vec());
        let mut prev = [0u8; BLOCK];
        prev.copy_from_slice(iv);
        for chunk in plain.chunks_exact_mut(BLOCK) {
            let mut this = [0u8; BLOCK];
            this.copy_from_slice(chunk);
            self.cipher.decrypt(chunk);
            for (b, p) in chunk.iter_mut().zip(prev.iter()) {
                *b ^= p;
            }
            prev = this;
        }
        let n = plain.len(); // ≥ 32
        let pad = usize::from(*plain.last().unwrap_or(&0));
        // Padding valid iff pad + 1 + MAC_LEN <= n and the last pad+1 bytes all equal pad.
        let mut good = ct_le(pad + 1 + MAC_LEN, n);
        let check = n.min(256);
        for i in 0..check {
            let byte = usize::from(*plain.get(n - 1 - i).unwrap_or(&0));
            let in_pad = ct_le(i, pad);
            good &= !in_pad | ct_eq(byte, pad);
        }
        // On bad padding, pretend there was none: the MAC check then fails in the same time.
        let pad_len = select(good, pad + 1, 0);
        let data_len = n - MAC_LEN - pad_len;
        let max_data = n - MAC_LEN;

        let mut ctx = hmac::Context::with_key(&self.mac);
        ctx.update(&Self::mac_header(seq, ty, data_len));
        ctx.update(plain.get(..data_len).unwrap_or(&[]));
        let tag = ctx.sign();
        // Equalize the SHA-1 compression calls: hash as many dummy blocks as the longest
        // possible data would have needed beyond this one.
        let blocks = |len: usize| (13 + len + 9).div_ceil(64);
        let extra = blocks(max_data) - blocks(data_len);
        let mut dummy = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
        dummy.update(plain.get(..(extra * 64).min(n)).unwrap_or(&[]));
        if extra * 64 > n {
            dummy.update(&vec![0u8; extra * 64 - n]);
        }
        let _ = dummy.finish();

        // Read the received MAC from its secret-dependent offset without branching on it.
        let mut received = [0u8; MAC_LEN];
        let lowest = n.saturating_sub(MAC_LEN + 256);
        for start in lowest..=max_data {
            let hit = ct_eq(start, data_len);
            for (j, r) in received.iter_mut().enumerate() {
                let b = *plain.get(start + j).unwrap_or(&0);
                *r |= b & (hit as u8);
            }
        }
        let mac_ok = subtle::ConstantTimeEq::ct_eq(tag.as_ref(), &received[..]);
        // Choice 1 -> all ones, 0 -> 0, without a branch.
        let ok = good & usize::from(mac_ok.unwrap_u8()).wrapping_neg();
        if ok == 0 {
            return Err(TlsError::BadRecordMac);
        }
        plain.truncate(data_len);
        Ok(plain)
    }
}

/// All ones (usize::MAX as a mask reduced to 0xff..) when `a <= b`, else 0; no branch.
fn ct_le(a: usize, b: usize) -> usize {
    // (b - a) underflows iff a > b; the borrow lands in the top bit of the wide difference.
    let d = (b as u128).wrapping_sub(a as u128);
    let borrow = (d >> 127) as usize; // 1 if a > b
    borrow.wrapping_sub(1) // 0 - 1 = all ones when a <= b
}

fn ct_eq(a: usize, b: usize) -> usize {
    let x = (a ^ b) as u128;
    let nonzero = ((x | x.wrapping_neg()) >> 127) as usize;
    nonzero.wrapping_sub(1)
}

fn select(mask: usize, a: usize, b: usize) -> usize {
    (a & mask) | (b & !mask)
}

/// One received record, decrypted.
pub(crate) struct Record {
    pub(crate) ty: ContentType,
    pub(crate) data: Zeroizing<Vec<u8>>,
}

/// Framing and protection of both directions.
pub(crate) struct RecordLayer {
    inbuf: Vec<u8>,
    read: Option<CipherState>,
    write: Option<CipherState>,
}

impl RecordLayer {
    pub(crate) fn new() -> RecordLayer {
        RecordLayer {
            inbuf: Vec::new(),
            read: None,
            write: None,
        }
    }

    pub(crate) fn set_read(&mut self, state: CipherState) {
        self.read = Some(state);
    }

    pub(crate) fn set_write(&mut self, state: CipherState) {
        self.write = Some(state);
    }

    /// Buffers received bytes; records come out of [`RecordLayer::next_record`].
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Result<(), TlsError> {
        // At most one full record and a header beyond what is being parsed.
        if self.inbuf.len() + bytes.len() > 4 * (HEADER + MAX_CIPHERTEXT) {
            return Err(TlsError::RecordOverflow(self.inbuf.len() + bytes.len()));
        }
        self.inbuf.extend_from_slice(bytes);
        Ok(())
    }

    /// The next whole record, if one is buffered.
    pub(crate) fn next_record(&mut self) -> Result<Option<Record>, TlsError> {
        let Some(header) = self.inbuf.get(..HEADER) else {
            return Ok(None);
        };
        let (ty, major, len) = match header {
            [ty, major, _minor, hi, lo] => (*ty, *major, usize::from(u16::from_be_bytes([*hi, *lo]))),
            _ => return Ok(None),
        };
        let ty = ContentType::from_value(ty).ok_or(TlsError::UnexpectedContentType(ty))?;
        if major != 3 {
            return Err(TlsError::Decode("record version major is not 3"));
        }
        let limit = if self.read.is_some() {
            MAX_CIPHERTEXT
        } else {
            MAX_PLAINTEXT
        };
        if len > limit {
            return Err(TlsError::RecordOverflow(len));
        }
        let Some(fragment) = self.inbuf.get(HEADER..HEADER + len) else {
            return Ok(None);
        };
        let data = match self.read.as_mut() {
            Some(state) => state.open(ty.value(), fragment)?,
            None => Zeroizing::new(fragment.to_vec()),
        };
        if data.len() > MAX_PLAINTEXT {
            return Err(TlsError::RecordOverflow(data.len()));
        }
        if data.is_empty() && ty != ContentType::ApplicationData {
            // RFC 5246 §6.2.1: zero-length fragments only for application data.
            return Err(TlsError::Decode(
                "empty handshake, alert or change_cipher_spec record",
            ));
        }
        self.inbuf.drain(..HEADER + len);
        Ok(Some(Record { ty, data }))
    }

    /// Encodes (and protects, once keys are on) `data` as records of `ty`.
    pub(crate) fn seal(
        &mut self,
        rng: &mut Rng,
        ty: ContentType,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), TlsError> {
        let chunks: Vec<&[u8]> = if data.is_empty() {
            vec![&[]]
        } else {
            data.chunks(MAX_PLAINTEXT).collect()
        };
        for chunk in chunks {
            let body = match self.write.as_mut() {
                Some(state) => state.seal(rng, ty.value(), chunk)?,
                None => chunk.to_vec(),
            };
            out.push(ty.value());
            out.extend_from_slice(&VERSION);
            out.extend_from_slice(&u16::try_from(body.len()).unwrap_or(u16::MAX).to_be_bytes());
            out.extend_from_slice(&body);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::fast::tls12::RandomSource;

    fn pair() -> (CipherState, CipherState) {
        let mac = [7u8; 20];
        let key = [9u8; 16];
        (
            CipherState::new(&mac, &key).unwrap(),
            CipherState::new(&mac, &key).unwrap(),
        )
    }

    #[test]
    fn constant_time_helpers() {
        assert_eq!(ct_le(3, 3), usize::MAX);
        assert_eq!(ct_le(4, 3), 0);
        assert_eq!(ct_le(0, usize::MAX), usize::MAX);
        assert_eq!(ct_eq(5, 5), usize::MAX);
        assert_eq!(ct_eq(5, 6), 0);
        assert_eq!(select(usize::MAX, 1, 2), 1);
        assert_eq!(select(0, 1, 2), 2);
    }

    #[test]
    fn seal_then_open_round_trips_every_length() {
        let mut rng = Rng::new(&RandomSource::Seeded([1; 32]));
        for len in [0usize, 1, 11, 12, 15, 16, 31, 100, 1000] {
            let (mut w, mut r) = pair();
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let sealed = w.seal(&mut rng, 23, &data).unwrap();
            assert_eq!(sealed.len() % 16, 0);
            assert_eq!(r.open(23, &sealed).unwrap().as_slice(), data.as_slice());
        }
    }

    #[test]
    fn any_flipped_bit_is_bad_record_mac() {
        let mut rng = Rng::new(&RandomSource::Seeded([2; 32]));
        let (mut w, _) = pair();
        let sealed = w.seal(&mut rng, 23, b"phase 2 TLVs").unwrap();
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            let (_, mut r) = pair();
            assert!(
                matches!(r.open(23, &bad), Err(TlsError::BadRecordMac)),
                "byte {i}"
            );
        }
        // Wrong content type or sequence number: the MAC covers both.
        let (_, mut r) = pair();
        assert!(matches!(r.open(22, &sealed), Err(TlsError::BadRecordMac)));
        let (_, mut r) = pair();
        r.seq = 1;
        assert!(matches!(r.open(23, &sealed), Err(TlsError::BadRecordMac)));
        // Truncated or not a whole number of blocks.
        let (_, mut r) = pair();
        assert!(matches!(
            r.open(23, &sealed[..sealed.len() - 1]),
            Err(TlsError::BadRecordMac)
        ));
        let (_, mut r) = pair();
        assert!(matches!(r.open(23, &sealed[..32]), Err(TlsError::BadRecordMac)));
    }

    #[test]
    fn record_framing_bounds() {
        let mut layer = RecordLayer::new();
        layer.push(&[22, 3, 3, 0x40, 0x01]).unwrap(); // 16385 > 2^14 plaintext
        assert!(matches!(
            layer.next_record(),
            Err(TlsError::RecordOverflow(16385))
        ));
        let mut layer = RecordLayer::new();
        layer.push(&[99, 3, 3, 0, 1, 0]).unwrap();
        assert!(matches!(
            layer.next_record(),
            Err(TlsError::UnexpectedContentType(99))
        ));
        let mut layer = RecordLayer::new();
        layer.push(&[22, 3, 3, 0, 2, 1]).unwrap();
        assert!(matches!(layer.next_record(), Ok(None)));
        layer.push(&[2]).unwrap();
        assert_eq!(layer.next_record().unwrap().unwrap().data.as_slice(), &[1, 2]);
    }
}
