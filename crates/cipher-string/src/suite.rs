//! The public [`Suite`] view of the OpenSSL 1.1.1d suite table (its rows in `data.rs`, generated
//! into `table.rs`).

use std::fmt;

use crate::data::{HIGH, M_AEAD, MEDIUM, NOT_DEFAULT, SuiteData};
use crate::table;

/// A cipher suite as OpenSSL 1.1.1d describes it.
///
/// Cheap to copy (a reference into the built-in table). Two `Suite`s are equal when their
/// suite ids are.
#[derive(Clone, Copy)]
pub struct Suite(pub(crate) &'static SuiteData);

impl Suite {
    /// The two-byte TLS cipher suite id (IANA registry), e.g. `0xC02B`.
    pub fn id(self) -> u16 {
        (self.0.id & 0xFFFF) as u16
    }

    /// OpenSSL's name, e.g. `ECDHE-ECDSA-AES128-GCM-SHA256` (`TLS_AES_128_GCM_SHA256` for
    /// TLS 1.3 suites, which OpenSSL names by their IANA name).
    pub fn openssl_name(self) -> &'static str {
        self.0.name
    }

    /// The IANA (RFC) name, e.g. `TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256`.
    pub fn iana_name(self) -> &'static str {
        self.0.iana
    }

    /// The protocol version that introduced the suite, as OpenSSL prints it (`SSLv3`,
    /// `TLSv1`, `TLSv1.2`, `TLSv1.3`).
    pub fn min_version(self) -> &'static str {
        self.0.version
    }

    /// Key exchange as `openssl ciphers -v` prints it (`Kx=`): `ECDH`, `DH`, `RSA`, `PSK`, ...
    pub fn kx(self) -> &'static str {
        self.0.kx
    }

    /// Authentication (`Au=`): `ECDSA`, `RSA`, `DSS`, `None`, `PSK`, ...
    pub fn au(self) -> &'static str {
        self.0.au
    }

    /// Encryption (`Enc=`): `AESGCM(256)`, `CHACHA20/POLY1305(256)`, `AES(128)`, ...
    pub fn enc(self) -> &'static str {
        self.0.enc_text
    }

    /// Message authentication (`Mac=`): `AEAD`, `SHA384`, `SHA256`, `SHA1`, `MD5`.
    pub fn mac(self) -> &'static str {
        self.0.mac_text
    }

    /// The bits of symmetric strength `@STRENGTH` sorts by.
    pub fn strength_bits(self) -> u32 {
        self.0.strength_bits
    }

    /// The key size of the symmetric cipher (`Enc=AES(256)` has 256; 3DES has 168 where its
    /// strength bits are 112).
    pub fn alg_bits(self) -> u32 {
        self.0.alg_bits
    }

    /// In OpenSSL's `HIGH` class.
    pub fn is_high(self) -> bool {
        self.0.algo_strength & HIGH != 0
    }

    /// In OpenSSL's `MEDIUM` class.
    pub fn is_medium(self) -> bool {
        self.0.algo_strength & MEDIUM != 0
    }

    /// Uses an AEAD cipher (GCM, CCM, ChaCha20-Poly1305) rather than CBC plus a MAC.
    pub fn is_aead(self) -> bool {
        self.0.mac == M_AEAD
    }

    /// One line of `openssl ciphers -v` (1.1.1d's `SSL_CIPHER_description` format, without
    /// the newline).
    pub fn description(self) -> String {
        format!(
            "{:<23} {} Kx={:<8} Au={:<4} Enc={:<9} Mac={:<4}",
            self.0.name, self.0.version, self.0.kx, self.0.au, self.0.enc_text, self.0.mac_text
        )
    }

    /// Looks a TLS <= 1.2 suite up by its OpenSSL name (case-sensitive, as OpenSSL is);
    /// includes suites a default 1.1.1d build does not compile in (3DES, RC4, GOST).
    pub fn from_openssl_name(name: &str) -> Option<Suite> {
        table::SUITES.iter().find(|s| s.name == name).map(Suite)
    }

    /// Looks a suite up by its IANA name, TLS 1.3 suites included.
    pub fn from_iana_name(name: &str) -> Option<Suite> {
        table::SUITES
            .iter()
            .chain(table::TLS13.iter())
            .find(|s| s.iana == name)
            .map(Suite)
    }

    /// Every TLS <= 1.2 suite a default OpenSSL 1.1.1d build offers (160), by ascending id.
    pub fn all() -> impl Iterator<Item = Suite> {
        table::SUITES.iter().filter(|s| s.enabled).map(Suite)
    }

    /// Whether a default OpenSSL 1.1.1d build offers this suite.
    pub fn in_default_build(self) -> bool {
        self.0.enabled
    }

    /// Whether the suite is in 1.1.1d's `DEFAULT` (`ALL:!COMPLEMENTOFDEFAULT:!eNULL`)
    /// by its flags: not `NOT_DEFAULT` and not NULL-encrypted.
    pub fn in_default_list(self) -> bool {
        self.0.algo_strength & NOT_DEFAULT == 0 && self.0.enc != 0x20
    }
}

impl PartialEq for Suite {
    fn eq(&self, other: &Self) -> bool {
        self.0.id == other.0.id
    }
}

impl Eq for Suite {}

impl std::hash::Hash for Suite {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.id.hash(state);
    }
}

impl fmt::Debug for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.name)
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name)
    }
}
