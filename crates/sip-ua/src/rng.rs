//! Randomness, injected: Via branches, tags, Call-IDs, digest cnonces and the nonces of
//! incoming-INVITE challenges come from an [`Rng`] the host gives the line. A source that
//! fails is an error the line reports and acts on by sending nothing; it never falls back to
//! zeros or to a weaker source.

use thiserror::Error;

/// The random source could not deliver bytes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("the random source failed: {0}")]
pub struct RngError(pub String);

/// A source of random bytes.
pub trait Rng {
    /// Fills `buf` completely, or fails.
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), RngError>;
}

/// The operating system's CSPRNG (through `ring`): what a phone uses.
#[derive(Debug)]
pub struct SystemRng(ring::rand::SystemRandom);

impl Default for SystemRng {
    fn default() -> SystemRng {
        SystemRng::new()
    }
}

impl SystemRng {
    /// The system source.
    pub fn new() -> SystemRng {
        SystemRng(ring::rand::SystemRandom::new())
    }
}

impl Rng for SystemRng {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), RngError> {
        ring::rand::SecureRandom::fill(&self.0, buf)
            .map_err(|_| RngError("the operating system's random source refused".into()))
    }
}

/// A deterministic generator from a seed (SplitMix64), for reproducible tests and fuzzing.
/// **Not** for production: anyone who knows the seed predicts every branch, tag and cnonce.
#[derive(Debug, Clone)]
pub struct SeededRng(u64);

impl SeededRng {
    /// A generator that always yields the same bytes for the same seed.
    pub fn new(seed: u64) -> SeededRng {
        SeededRng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl Rng for SeededRng {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), RngError> {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            for (d, s) in chunk.iter_mut().zip(bytes) {
                *d = s;
            }
        }
        Ok(())
    }
}

/// `n` random bytes as lower-case hex.
pub(crate) fn hex(rng: &mut dyn Rng, n: usize) -> Result<String, RngError> {
    let mut buf = vec![0u8; n];
    rng.fill(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn seeded_is_reproducible_and_not_constant() {
        let (mut a, mut b) = (SeededRng::new(1), SeededRng::new(1));
        assert_eq!(hex(&mut a, 13).unwrap(), hex(&mut b, 13).unwrap());
        let x = hex(&mut a, 8).unwrap();
        assert_ne!(x, hex(&mut a, 8).unwrap());
        assert_ne!(x, "0000000000000000");
    }

    #[test]
    fn system_fills() {
        let mut r = SystemRng::new();
        assert_eq!(hex(&mut r, 16).unwrap().len(), 32);
    }
}
