//! The OpenSSL 1.1.1d suite table (generated into `table.rs`) and the public [`Suite`] view.

use std::fmt;

use crate::table;

// Masks from ssl/ssl_locl.h (1.1.1d). Only those the engine and the projection name.
pub(crate) const K_RSA: u32 = 0x1;
pub(crate) const K_DHE: u32 = 0x2;
pub(crate) const K_ECDHE: u32 = 0x4;
pub(crate) const K_PSK: u32 = 0x8;
pub(crate) const A_NULL: u32 = 0x4;
#[cfg_attr(not(feature = "rustls"), allow(dead_code))]
pub(crate) const A_RSA: u32 = 0x1;
pub(crate) const A_ECDSA: u32 = 0x8;
pub(crate) const E_RC4: u32 = 0x4;
pub(crate) const E_AES128: u32 = 0x40;
pub(crate) const E_AES256: u32 = 0x80;
pub(crate) const E_AES128GCM: u32 = 0x1000;
pub(crate) const E_AES256GCM: u32 = 0x2000;
pub(crate) const E_AESGCM: u32 = E_AES128GCM | E_AES256GCM;
pub(crate) const E_AESCCM: u32 = 0x4000 | 0x8000 | 0x10000 | 0x20000;
pub(crate) const E_AES: u32 = E_AES128 | E_AES256 | E_AESGCM | E_AESCCM;
pub(crate) const E_CHACHA20: u32 = 0x80000;
pub(crate) const M_MD5: u32 = 0x1;
pub(crate) const M_AEAD: u32 = 0x40;
pub(crate) const STRONG_MASK: u32 = 0x1F;
pub(crate) const DEFAULT_MASK: u32 = 0x20;
pub(crate) const MEDIUM: u32 = 0x4;
pub(crate) const HIGH: u32 = 0x8;
pub(crate) const NOT_DEFAULT: u32 = 0x20;
pub(crate) const TLS1_2_VERSION: u32 = 0x0303;

/// One row of `ssl3_ciphers[]` / `tls13_ciphers[]` (the fields of `SSL_CIPHER` that matter
/// for cipher strings, plus the texts of `SSL_CIPHER_description`).
#[derive(Debug)]
pub(crate) struct SuiteData {
    pub(crate) id: u32,
    pub(crate) name: &'static str,
    pub(crate) iana: &'static str,
    pub(crate) mkey: u32,
    pub(crate) auth: u32,
    pub(crate) enc: u32,
    pub(crate) mac: u32,
    pub(crate) min_tls: u32,
    #[allow(dead_code)] // table data: the newest version the suite is defined for
    pub(crate) max_tls: u32,
    pub(crate) algo_strength: u32,
    pub(crate) strength_bits: u32,
    pub(crate) alg_bits: u32,
    /// Compiled in and not disabled at run time in a default 1.1.1d build.
    pub(crate) enabled: bool,
    pub(crate) kx: &'static str,
    pub(crate) au: &'static str,
    pub(crate) enc_text: &'static str,
    pub(crate) mac_text: &'static str,
    pub(crate) version: &'static str,
}

/// One row of `cipher_aliases[]`.
#[derive(Debug)]
pub(crate) struct AliasData {
    pub(crate) name: &'static str,
    pub(crate) mkey: u32,
    pub(crate) auth: u32,
    pub(crate) enc: u32,
    pub(crate) mac: u32,
    pub(crate) min_tls: u32,
    pub(crate) algo_strength: u32,
    /// Offered by `ssl_cipher_collect_aliases` in a default build (GOST aliases are not).
    pub(crate) enabled: bool,
}

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
