//! Reading the names a certificate presents (RFC 5280 §4.1.2.6 subject, §4.2.1.6 SAN).
//!
//! The reader decodes the certificate with `rasn-pkix` and keeps only what server-identity
//! checks need: every subject common name (a DN may carry several), the subjectAltName entries
//! of type dNSName, iPAddress and rfc822Name, and the certificate version.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rasn::types::{Any, Oid};
use rasn_pkix::{Certificate, DirectoryString, Extension, GeneralName, Name, SubjectAltName, Version};

/// id-at-commonName, RFC 5280 Appendix A.1.
pub(crate) const OID_COMMON_NAME: &Oid = Oid::JOINT_ISO_ITU_T_DS_ATTRIBUTE_TYPE_COMMON_NAME;
/// id-ce-subjectAltName, RFC 5280 §4.2.1.6.
pub(crate) const OID_SUBJECT_ALT_NAME: &Oid = Oid::JOINT_ISO_ITU_T_DS_CERTIFICATE_EXTENSION_SUBJECT_ALT_NAME;

/// The X.509 version field (RFC 5280 §4.1.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateVersion {
    /// Version 1: no extensions, so no subjectAltName. Still common among self-made
    /// provisioning certificates (`openssl x509 -req` without `-extfile`). rustls-webpki
    /// refuses v1 certificates during chain validation.
    V1,
    /// Version 2: unique identifiers, no extensions.
    V2,
    /// Version 3: extensions.
    V3,
}

impl fmt::Display for CertificateVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::V1 => "v1",
            Self::V2 => "v2",
            Self::V3 => "v3",
        })
    }
}

/// Why a certificate's names could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// The bytes are not a DER-encoded X.509 certificate.
    #[error("not a DER X.509 certificate: {detail}")]
    Der {
        /// The decoder's message.
        detail: String,
    },
    /// The version field holds a value RFC 5280 does not define.
    #[error("certificate version field is {raw}, expected 0 (v1), 1 (v2) or 2 (v3)")]
    UnknownVersion {
        /// The raw (zero-based) version value.
        raw: u64,
    },
    /// The subjectAltName extension appears more than once (RFC 5280 §4.2).
    #[error("the certificate has {count} subjectAltName extensions; RFC 5280 §4.2 allows one")]
    DuplicateSubjectAltName {
        /// How many there are.
        count: usize,
    },
    /// The subjectAltName extension's value does not decode as GeneralNames.
    #[error("malformed subjectAltName extension: {detail}")]
    MalformedSubjectAltName {
        /// What was wrong.
        detail: String,
    },
    /// A subject common name is not a DirectoryString.
    #[error("subject commonName #{index} is not a DirectoryString: {detail}")]
    MalformedCommonName {
        /// Position among the subject's CNs, counting from 0.
        index: usize,
        /// What was wrong.
        detail: String,
    },
}

/// Whether the certificate has a subjectAltName extension, and how it is marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SanExtension {
    /// No subjectAltName extension.
    Absent,
    /// The extension is present.
    Present {
        /// Its critical flag (RFC 5280 §4.2.1.6: critical iff the subject is empty).
        critical: bool,
    },
}

/// The names a certificate presents, as read from its DER encoding.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let der = include_bytes!("../tests/data/provisioning-cn.der");
/// let names = tls_hostname::CertificateNames::from_der(der)?;
/// assert_eq!(names.common_names(), ["pv.telco.net/mailto:admin@telco.net"]);
/// assert!(names.dns_names().is_empty());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateNames {
    version: CertificateVersion,
    subject_is_empty: bool,
    common_names: Vec<String>,
    san: SanExtension,
    dns_names: Vec<String>,
    ip_addresses: Vec<IpAddr>,
    rfc822_names: Vec<String>,
    other_san_entries: usize,
}

impl CertificateNames {
    /// Reads the names from a DER-encoded certificate.
    ///
    /// dNSName and rfc822Name entries are IA5String, so they are ASCII; they are returned
    /// as found, without validation (matching decides what a usable name is). An iPAddress
    /// entry must be 4 or 16 octets.
    pub fn from_der(der: &[u8]) -> Result<Self, CertificateError> {
        let cert = decode_certificate(der)?;
        Self::from_certificate(&cert)
    }

    pub(crate) fn from_certificate(cert: &Certificate) -> Result<Self, CertificateError> {
        let tbs = &cert.tbs_certificate;
        let version = version_of(tbs.version)?;
        let Name::RdnSequence(rdns) = &tbs.subject;
        let mut common_names = Vec::new();
        for rdn in rdns {
            for atv in rdn.iter() {
                if atv.r#type.as_ref() == OID_COMMON_NAME {
                    let index = common_names.len();
                    let text = directory_string(&atv.value)
                        .map_err(|detail| CertificateError::MalformedCommonName { index, detail })?;
                    common_names.push(text);
                }
            }
        }
        let mut names = Self {
            version,
            subject_is_empty: rdns.is_empty(),
            common_names,
            san: SanExtension::Absent,
            dns_names: Vec::new(),
            ip_addresses: Vec::new(),
            rfc822_names: Vec::new(),
            other_san_entries: 0,
        };
        let san_exts: Vec<&Extension> = extensions(cert)
            .iter()
            .filter(|e| e.extn_id.as_ref() == OID_SUBJECT_ALT_NAME)
            .collect();
        match san_exts.as_slice() {
            [] => {}
            [ext] => names.read_san(ext)?,
            more => {
                return Err(CertificateError::DuplicateSubjectAltName { count: more.len() });
            }
        }
        Ok(names)
    }

    fn read_san(&mut self, ext: &Extension) -> Result<(), CertificateError> {
        self.san = SanExtension::Present {
            critical: ext.critical,
        };
        let entries: SubjectAltName =
            rasn::der::decode(&ext.extn_value).map_err(|e| CertificateError::MalformedSubjectAltName {
                detail: e.to_string(),
            })?;
        if entries.is_empty() {
            return Err(CertificateError::MalformedSubjectAltName {
                detail: "empty GeneralNames (RFC 5280 requires at least one entry)".into(),
            });
        }
        for entry in entries {
            match entry {
                GeneralName::DnsName(s) => self
                    .dns_names
                    .push(String::from_utf8_lossy(s.as_iso646_bytes()).into_owned()),
                GeneralName::Rfc822Name(s) => self
                    .rfc822_names
                    .push(String::from_utf8_lossy(s.as_iso646_bytes()).into_owned()),
                GeneralName::IpAddress(octets) => {
                    self.ip_addresses.push(ip_from_octets(&octets).ok_or_else(|| {
                        CertificateError::MalformedSubjectAltName {
                            detail: format!("iPAddress entry of {} octets (expected 4 or 16)", octets.len()),
                        }
                    })?)
                }
                _ => self.other_san_entries += 1,
            }
        }
        Ok(())
    }

    /// The certificate's version.
    pub fn version(&self) -> CertificateVersion {
        self.version
    }

    /// Every commonName attribute of the subject, in DN order (most significant first).
    pub fn common_names(&self) -> &[String] {
        &self.common_names
    }

    /// Whether the subject DN is empty.
    pub fn subject_is_empty(&self) -> bool {
        self.subject_is_empty
    }

    /// Whether there is a subjectAltName extension and its critical flag.
    pub fn san_extension(&self) -> SanExtension {
        self.san
    }

    /// The SAN dNSName entries, as presented.
    pub fn dns_names(&self) -> &[String] {
        &self.dns_names
    }

    /// The SAN iPAddress entries.
    pub fn ip_addresses(&self) -> &[IpAddr] {
        &self.ip_addresses
    }

    /// The SAN rfc822Name (e-mail) entries. Never used for server identity; reported so an
    /// error can say what the certificate had.
    pub fn rfc822_names(&self) -> &[String] {
        &self.rfc822_names
    }

    /// How many SAN entries are of other types (URI, otherName, directoryName, …).
    pub fn other_san_entries(&self) -> usize {
        self.other_san_entries
    }

    /// Every name, for diagnostics: `DNS:…`, `IP:…`, `email:…`, `CN=…`.
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        out.extend(self.dns_names.iter().map(|n| format!("DNS:{n}")));
        out.extend(self.ip_addresses.iter().map(|n| format!("IP:{n}")));
        out.extend(self.rfc822_names.iter().map(|n| format!("email:{n}")));
        out.extend(self.common_names.iter().map(|n| format!("CN={n}")));
        out
    }
}

pub(crate) fn decode_certificate(der: &[u8]) -> Result<Certificate, CertificateError> {
    rasn::der::decode::<Certificate>(der).map_err(|e| CertificateError::Der {
        detail: e.to_string(),
    })
}

pub(crate) fn extensions(cert: &Certificate) -> &[Extension] {
    match &cert.tbs_certificate.extensions {
        Some(exts) => exts,
        None => &[],
    }
}

pub(crate) fn version_of(v: Version) -> Result<CertificateVersion, CertificateError> {
    match v {
        Version::V1 => Ok(CertificateVersion::V1),
        Version::V2 => Ok(CertificateVersion::V2),
        Version::V3 => Ok(CertificateVersion::V3),
        other => Err(CertificateError::UnknownVersion {
            raw: other.raw_value(),
        }),
    }
}

pub(crate) fn ip_from_octets(octets: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(octets) {
        return Some(IpAddr::V4(Ipv4Addr::from(v4)));
    }
    if let Ok(v6) = <[u8; 16]>::try_from(octets) {
        return Some(IpAddr::V6(Ipv6Addr::from(v6)));
    }
    None
}

/// Decodes an attribute value as an X.520 DirectoryString (or the IA5String some old
/// certificates use) into text.
pub(crate) fn directory_string(value: &Any) -> Result<String, String> {
    if let Ok(ds) = rasn::der::decode::<DirectoryString>(value.as_bytes()) {
        return Ok(match ds {
            DirectoryString::Utf8(s) => s,
            DirectoryString::Printable(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
            // T.61 in theory; in practice Latin-1, which is what OpenSSL assumes too.
            DirectoryString::Teletex(s) => s.to_bytes().iter().map(|&b| char::from(b)).collect(),
            DirectoryString::Bmp(s) => char::decode_utf16(s.into_vec())
                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect(),
            DirectoryString::Universal(s) => s.value,
        });
    }
    match rasn::der::decode::<rasn::types::Ia5String>(value.as_bytes()) {
        Ok(s) => Ok(String::from_utf8_lossy(s.as_iso646_bytes()).into_owned()),
        Err(e) => Err(e.to_string()),
    }
}
