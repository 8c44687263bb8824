//! The TLS 1.3 list: `SSL_CTX_set_ciphersuites` of OpenSSL 1.1.1d (ssl/ssl_ciph.c 1277-1401).

use std::fmt;
use std::str::FromStr;

use crate::data::SuiteData;
use crate::error::Tls13Error;
use crate::suite::Suite;
use crate::table::{SUITES, TLS13};

/// `TLS_DEFAULT_CIPHERSUITES` of 1.1.1d (include/openssl/ssl.h 176).
pub const TLS13_DEFAULT: &str = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";

/// `ssl3_scsvs[]` (ssl/s3_lib.c 3184): `ssl3_get_cipher_by_std_name` finds these too.
static SCSVS: [SuiteData; 2] = [
    scsv(0x0300_00FF, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"),
    scsv(0x0300_5600, "TLS_FALLBACK_SCSV"),
];

const fn scsv(id: u32, name: &'static str) -> SuiteData {
    SuiteData {
        id,
        name,
        iana: name,
        mkey: 0,
        auth: 0,
        enc: 0,
        mac: 0,
        min_tls: 0,
        max_tls: 0,
        algo_strength: 0,
        strength_bits: 0,
        alg_bits: 0,
        enabled: true,
        kx: "any",
        au: "any",
        enc_text: "unknown",
        mac_text: "unknown",
        version: "unknown",
    }
}

/// The TLS 1.3 suites, in preference order, as `SSL_CTX_set_ciphersuites` sets them.
///
/// In OpenSSL 1.1.1 this list is separate from the cipher string: the cipher string never
/// adds or removes TLS 1.3 suites, and these always come first in the offered list.
///
/// ```
/// use cipher_string::Tls13Suites;
/// let list: Tls13Suites = "TLS_AES_128_GCM_SHA256 : TLS_CHACHA20_POLY1305_SHA256".parse()?;
/// assert_eq!(list.suites()[0].iana_name(), "TLS_AES_128_GCM_SHA256");
/// assert!("TLS_AES_128_GCM_SHA256:".parse::<Tls13Suites>().is_err()); // empty element
/// # Ok::<(), cipher_string::Tls13Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls13Suites {
    suites: Vec<Suite>,
}

impl Tls13Suites {
    /// Parses a `:`-separated list of IANA names exactly as 1.1.1d does: white space around
    /// each name is ignored; the empty string is an empty list; an empty element or an
    /// unknown name is an error. Like 1.1.1d it also accepts the IANA name of a TLS <= 1.2
    /// suite or an SCSV (`openssl ciphers -ciphersuites TLS_RSA_WITH_AES_128_CBC_SHA` lists
    /// `AES128-SHA` first); [`Tls13Suites::non_tls13`] lists those.
    pub fn parse(list: &str) -> Result<Self, Tls13Error> {
        let mut suites = Vec::new();
        if list.is_empty() {
            return Ok(Self { suites });
        }
        let mut offset = 0;
        for element in list.split(':') {
            let lead = element.len() - element.trim_start_matches(is_c_space).len();
            let name = element.trim_matches(is_c_space);
            let found = (name.len() <= 79).then(|| by_std_name(name)).flatten();
            match found {
                Some(s) => suites.push(Suite(s)),
                None => {
                    return Err(Tls13Error::UnknownSuite {
                        offset: offset + lead,
                        name: name.to_owned(),
                    });
                }
            }
            offset += element.len() + 1;
        }
        Ok(Self { suites })
    }

    /// The suites in order.
    pub fn suites(&self) -> &[Suite] {
        &self.suites
    }

    /// The suites in the list that are not TLS 1.3 suites (accepted by 1.1.1d, see
    /// [`Tls13Suites::parse`]).
    pub fn non_tls13(&self) -> impl Iterator<Item = Suite> + '_ {
        self.suites.iter().copied().filter(|s| s.0.min_tls != 0x0304)
    }
}

impl Default for Tls13Suites {
    /// 1.1.1d's default: AES-256-GCM, ChaCha20-Poly1305, AES-128-GCM.
    fn default() -> Self {
        Self {
            suites: TLS13_DEFAULT
                .split(':')
                .filter_map(by_std_name)
                .map(Suite)
                .collect(),
        }
    }
}

impl FromStr for Tls13Suites {
    type Err = Tls13Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Tls13Suites {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.suites.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            f.write_str(s.iana_name())?;
        }
        Ok(())
    }
}

/// `isspace` in the C locale.
fn is_c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// `ssl3_get_cipher_by_std_name`: TLS 1.3 table, then the compiled-in `ssl3_ciphers[]`
/// (GOST is compiled in; only its use needs an engine), then the SCSVs.
fn by_std_name(name: &str) -> Option<&'static SuiteData> {
    TLS13
        .iter()
        .chain(SUITES.iter().filter(|s| s.enabled || s.mkey == 0x10))
        .chain(SCSVS.iter())
        .find(|s| !s.iana.is_empty() && s.iana == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_three_suites() {
        let d = Tls13Suites::default();
        let names: Vec<_> = d.suites().iter().map(|s| s.iana_name()).collect();
        assert_eq!(
            names,
            [
                "TLS_AES_256_GCM_SHA384",
                "TLS_CHACHA20_POLY1305_SHA256",
                "TLS_AES_128_GCM_SHA256"
            ]
        );
        assert_eq!(d.to_string(), TLS13_DEFAULT);
    }

    #[test]
    fn errors_point_at_the_element() {
        assert_eq!(
            Tls13Suites::parse("TLS_AES_128_GCM_SHA256: TLS_FOO"),
            Err(Tls13Error::UnknownSuite {
                offset: 24,
                name: "TLS_FOO".into()
            })
        );
        assert!(Tls13Suites::parse("tls_aes_128_gcm_sha256").is_err());
        assert!(Tls13Suites::parse("TLS_AES_128_GCM_SHA256::TLS_AES_128_CCM_SHA256").is_err());
        assert_eq!(Tls13Suites::parse("").map(|l| l.suites().len()), Ok(0));
    }

    #[test]
    fn tls12_names_and_scsvs_are_accepted_like_1_1_1d() {
        let l = Tls13Suites::parse("TLS_RSA_WITH_AES_128_CBC_SHA:TLS_EMPTY_RENEGOTIATION_INFO_SCSV")
            .unwrap_or_default();
        assert_eq!(l.suites().len(), 2);
        assert_eq!(l.non_tls13().count(), 2);
    }
}
