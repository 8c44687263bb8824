//! The row types of the OpenSSL 1.1.1d suite table and the masks that classify them: data only.
//! `table.rs` (generated) instantiates the rows, `suite.rs` gives the public view, the engine
//! and the projection match on the masks; none of them depends back on another.

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
