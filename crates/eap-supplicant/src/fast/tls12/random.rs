//! Randomness for the TLS client: the system generator, or a seeded one for tests.

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use thiserror::Error;
use zeroize::Zeroizing;

/// The system random generator failed; nothing is sent without randomness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("the system random number generator failed")]
pub struct RandomError;

/// Where the TLS client (and the EAP-FAST method) get random bytes.
#[derive(Clone, PartialEq, Eq)]
pub enum RandomSource {
    /// The operating system's generator (ring's `SystemRandom`).
    System,
    /// A deterministic generator (HMAC-SHA256 in counter mode over the seed). For tests and
    /// reproducible traces only: every run with the same seed sends the same randoms and keys.
    Seeded([u8; 32]),
}

impl std::fmt::Debug for RandomSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RandomSource::System => f.write_str("System"),
            RandomSource::Seeded(_) => f.write_str("Seeded(<redacted>)"),
        }
    }
}

/// A running generator made from a [`RandomSource`].
pub(crate) enum Rng {
    System(SystemRandom),
    Seeded {
        key: Box<hmac::Key>,
        counter: u64,
        pool: Zeroizing<Vec<u8>>,
    },
}

impl Rng {
    pub(crate) fn new(source: &RandomSource) -> Rng {
        match source {
            RandomSource::System => Rng::System(SystemRandom::new()),
            RandomSource::Seeded(seed) => Rng::Seeded {
                key: Box::new(hmac::Key::new(hmac::HMAC_SHA256, seed)),
                counter: 0,
                pool: Zeroizing::new(Vec::new()),
            },
        }
    }

    pub(crate) fn fill(&mut self, dest: &mut [u8]) -> Result<(), RandomError> {
        match self {
            Rng::System(rng) => rng.fill(dest).map_err(|_| RandomError),
            Rng::Seeded { key, counter, pool } => {
                for byte in dest.iter_mut() {
                    if pool.is_empty() {
                        *counter += 1;
                        pool.extend_from_slice(hmac::sign(key, &counter.to_be_bytes()).as_ref());
                    }
                    *byte = pool.pop().unwrap_or(0);
                }
                Ok(())
            }
        }
    }
}

impl std::fmt::Debug for Rng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rng")
    }
}
