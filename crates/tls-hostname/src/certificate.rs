//! Reading the names a certificate presents (RFC 5280 §4.1.2.6 subject, §4.2.1.6 SAN).
//!
//! The reader decodes the certificate with `rasn-pkix` and keeps only what server-identity
//! checks need: every subject common name (a DN may carry several), the subjectAltName entries
//! of type dNSName, iPAddress and rfc822Name, and the certificate version.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rasn::types::{Any, Class, Constraints, Oid, Tag};
use rasn_pkix::{Certificate, DirectoryString, Extension, GeneralName, Name, SubjectAltName, Version};

use crate::der::{Reader, boolean, check_object_identifier, id};

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
    ///
    /// Only the fields a name check needs are decoded (version, the subject's commonNames,
    /// subjectAltName); the others are checked for DER framing and skipped. Chain
    /// validation parses them.
    pub fn from_der(der: &[u8]) -> Result<Self, CertificateError> {
        let fields = NameFields::find(der).map_err(|detail| CertificateError::Der { detail })?;
        // INTEGER 0, 1 or 2 in its one DER form without rasn, as in `first_dns_name`; any
        // other encoding goes to rasn, for its value or its error.
        let version = match fields.version.map(|v| (v, known_version(v))) {
            None => CertificateVersion::V1,
            Some((_, Some(known))) => known,
            Some((v, None)) => {
                version_of(
                    rasn::der::decode::<Version>(v).map_err(|e| CertificateError::Der {
                        detail: format!("tbsCertificate.version: {e}"),
                    })?,
                )?
            }
        };
        let mut names = Self::new(version);
        names.read_subject(fields.subject)?;
        match fields.subject_alt_name {
            None => {}
            Some((1, critical, value)) => names.read_san(critical, value)?,
            Some((count, _, _)) => return Err(CertificateError::DuplicateSubjectAltName { count }),
        }
        Ok(names)
    }

    fn new(version: CertificateVersion) -> Self {
        Self {
            version,
            subject_is_empty: true,
            common_names: Vec::new(),
            san: SanExtension::Absent,
            dns_names: Vec::new(),
            ip_addresses: Vec::new(),
            rfc822_names: Vec::new(),
            other_san_entries: 0,
        }
    }

    /// Reads the commonNames of the subject Name (RFC 5280 §4.1.2.4): RDNSequence ::=
    /// SEQUENCE OF SET SIZE (1..MAX) OF SEQUENCE { type OID, value ANY }. Every attribute is
    /// framed and its type checked; only commonName values are decoded (as rasn's
    /// DirectoryString).
    fn read_subject(&mut self, subject: &[u8]) -> Result<(), CertificateError> {
        self.subject_is_empty = subject.is_empty();
        walk_subject(subject, |index, value| {
            let text = directory_string_der(value)
                .map_err(|detail| CertificateError::MalformedCommonName { index, detail })?;
            self.common_names.push(text);
            Ok(())
        })
    }

    /// Reads the subjectAltName extension's value, GeneralNames ::= SEQUENCE SIZE (1..MAX)
    /// OF GeneralName (RFC 5280 §4.2.1.6). dNSName, rfc822Name and iPAddress entries are
    /// decoded as their rasn types directly; any other entry as a whole rasn GeneralName.
    fn read_san(&mut self, critical: bool, value: &[u8]) -> Result<(), CertificateError> {
        self.san = SanExtension::Present { critical };
        let bad = |detail: String| CertificateError::MalformedSubjectAltName { detail };
        let mut outer = Reader::new(value);
        let list = outer.expect(id::SEQUENCE, "GeneralNames").map_err(bad)?;
        outer.finish("GeneralNames").map_err(bad)?;
        let mut entries = Reader::new(list.contents);
        if entries.is_empty() {
            return Err(bad(
                "empty GeneralNames (RFC 5280 requires at least one entry)".into()
            ));
        }
        while !entries.is_empty() {
            let (identifier, entry) = entries.any("GeneralName").map_err(bad)?;
            match identifier {
                id::DNS_NAME => self
                    .dns_names
                    .push(ia5_string(entry.encoding, entry.contents, 2).map_err(bad)?),
                id::RFC822_NAME => self
                    .rfc822_names
                    .push(ia5_string(entry.encoding, entry.contents, 1).map_err(bad)?),
                id::IP_ADDRESS => {
                    self.ip_addresses
                        .push(ip_from_octets(entry.contents).ok_or_else(|| {
                            bad(format!(
                                "iPAddress entry of {} octets (expected 4 or 16)",
                                entry.contents.len()
                            ))
                        })?)
                }
                _ => {
                    let name: GeneralName =
                        rasn::der::decode(entry.encoding).map_err(|e| bad(e.to_string()))?;
                    self.push_general_name(name)?;
                }
            }
        }
        Ok(())
    }

    fn push_general_name(&mut self, entry: GeneralName) -> Result<(), CertificateError> {
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
        Ok(())
    }

    /// The names as read from a certificate rasn has decoded whole (for [`ChainCheck`]s,
    /// which need the other fields too).
    ///
    /// [`ChainCheck`]: crate::ChainCheck
    pub(crate) fn from_certificate(cert: &Certificate) -> Result<Self, CertificateError> {
        let tbs = &cert.tbs_certificate;
        let mut names = Self::new(version_of(tbs.version)?);
        let Name::RdnSequence(rdns) = &tbs.subject;
        names.subject_is_empty = rdns.is_empty();
        for rdn in rdns {
            for atv in rdn.iter() {
                if atv.r#type.as_ref() == OID_COMMON_NAME {
                    let index = names.common_names.len();
                    let text = directory_string(&atv.value)
                        .map_err(|detail| CertificateError::MalformedCommonName { index, detail })?;
                    names.common_names.push(text);
                }
            }
        }
        let san_exts: Vec<&Extension> = extensions(cert)
            .iter()
            .filter(|e| e.extn_id.as_ref() == OID_SUBJECT_ALT_NAME)
            .collect();
        match san_exts.as_slice() {
            [] => {}
            [ext] => {
                names.san = SanExtension::Present {
                    critical: ext.critical,
                };
                let entries: SubjectAltName = rasn::der::decode(&ext.extn_value).map_err(|e| {
                    CertificateError::MalformedSubjectAltName {
                        detail: e.to_string(),
                    }
                })?;
                if entries.is_empty() {
                    return Err(CertificateError::MalformedSubjectAltName {
                        detail: "empty GeneralNames (RFC 5280 requires at least one entry)".into(),
                    });
                }
                for entry in entries {
                    names.push_general_name(entry)?;
                }
            }
            more => {
                return Err(CertificateError::DuplicateSubjectAltName { count: more.len() });
            }
        }
        Ok(names)
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

/// Walks the subject Name (RFC 5280 §4.1.2.4): RDNSequence ::= SEQUENCE OF SET SIZE (1..MAX)
/// OF SEQUENCE { type OID, value ANY }. Every attribute is framed and its type checked;
/// `common_name` gets the encoding of each commonName value with its index among them.
fn walk_subject(
    subject: &[u8],
    mut common_name: impl FnMut(usize, &[u8]) -> Result<(), CertificateError>,
) -> Result<(), CertificateError> {
    let der = |e: String| CertificateError::Der {
        detail: format!("tbsCertificate.subject: {e}"),
    };
    let mut rdns = Reader::new(subject);
    let mut index = 0;
    while !rdns.is_empty() {
        let rdn = rdns.expect(id::SET, "RelativeDistinguishedName").map_err(der)?;
        let mut atvs = Reader::new(rdn.contents);
        if atvs.is_empty() {
            return Err(der("empty RelativeDistinguishedName (SIZE (1..MAX))".into()));
        }
        while !atvs.is_empty() {
            let atv = atvs.expect(id::SEQUENCE, "AttributeTypeAndValue").map_err(der)?;
            let mut atv = Reader::new(atv.contents);
            let oid = atv.expect(id::OBJECT_IDENTIFIER, "AttributeType").map_err(der)?;
            check_object_identifier(oid.contents).map_err(|e| der(format!("AttributeType: {e}")))?;
            let (_, value) = atv.any("AttributeValue").map_err(der)?;
            atv.finish("AttributeTypeAndValue").map_err(der)?;
            if is_common_name(oid.contents) {
                common_name(index, value.encoding)?;
                index += 1;
            }
        }
    }
    Ok(())
}

/// The first SAN dNSName that `accept`s, read without allocating, when the certificate
/// takes the common path through [`CertificateNames::from_der`]: `Some` only if `from_der`
/// succeeds on `der` and the name is the first of its [`CertificateNames::dns_names`] that
/// `accept`s. `None` says nothing either way (no such name, an error, or a form this pass
/// leaves to `from_der`: a SAN entry other than an ASCII dNSName/rfc822Name or a well-sized
/// iPAddress, a commonName that is neither UTF8String nor PrintableString, ...). The version
/// returned is [`CertificateNames::version`].
pub(crate) fn first_dns_name(
    der: &[u8],
    accept: impl Fn(&str) -> bool,
) -> Option<(CertificateVersion, &str)> {
    let fields = NameFields::find(der).ok()?;
    let version = match fields.version {
        None => CertificateVersion::V1,
        Some(v) => match known_version(v) {
            Some(known) => known,
            None => version_of(rasn::der::decode::<Version>(v).ok()?).ok()?,
        },
    };
    let (1, _, san) = fields.subject_alt_name? else {
        return None;
    };
    let mut outer = Reader::new(san);
    let list = outer.expect(id::SEQUENCE, "GeneralNames").ok()?;
    outer.finish("GeneralNames").ok()?;
    let mut entries = Reader::new(list.contents);
    if entries.is_empty() {
        return None;
    }
    let mut found = None;
    while !entries.is_empty() {
        let (identifier, entry) = entries.any("GeneralName").ok()?;
        match identifier {
            id::DNS_NAME => {
                let text = std::str::from_utf8(entry.contents)
                    .ok()
                    .filter(|t| t.is_ascii())?;
                if found.is_none() && accept(text) {
                    found = Some(text);
                }
            }
            id::RFC822_NAME if entry.contents.is_ascii() => {}
            id::IP_ADDRESS if matches!(entry.contents.len(), 4 | 16) => {}
            _ => return None,
        }
    }
    let found = found?;
    // The subject last: it is read only when there is a match to confirm.
    walk_subject(fields.subject, |index, value| match utf8_string(value) {
        Some(_) => Ok(()),
        None => directory_string_der(value)
            .map(drop)
            .map_err(|detail| CertificateError::MalformedCommonName { index, detail }),
    })
    .ok()?;
    Some((version, found))
}

/// The encodings of the fields a name check reads, found by walking the certificate's DER
/// framing (RFC 5280 §4.1) without decoding the fields in between.
///
/// Every field of Certificate, TBSCertificate and each Extension must be present, in order,
/// with its DER identifier, and nothing may follow the last one; the extnIDs and critical
/// flags are checked as rasn would. The contents of the fields a name check does not read
/// (serial number, signature algorithms, issuer, validity, public key, signature, the other
/// extensions' values) are not decoded: chain validation (rustls-webpki, [`ChainCheck`]
/// under `Strict`) parses those.
///
/// [`ChainCheck`]: crate::ChainCheck
struct NameFields<'a> {
    /// The contents of `[0] EXPLICIT Version`, when present (an INTEGER encoding).
    version: Option<&'a [u8]>,
    /// The contents of the subject Name (its RDNSequence).
    subject: &'a [u8],
    /// How many subjectAltName extensions there are, and the first one's critical flag and
    /// extnValue contents.
    subject_alt_name: Option<(usize, bool, &'a [u8])>,
}

impl<'a> NameFields<'a> {
    fn find(der: &'a [u8]) -> Result<Self, String> {
        let mut top = Reader::new(der);
        let cert = top.expect(id::SEQUENCE, "Certificate")?;
        top.finish("Certificate")?;
        let mut cert = Reader::new(cert.contents);
        let tbs = cert.expect(id::SEQUENCE, "tbsCertificate")?;
        cert.expect(id::SEQUENCE, "signatureAlgorithm")?;
        cert.expect(id::BIT_STRING, "signatureValue")?;
        cert.finish("Certificate")?;

        let mut tbs = Reader::new(tbs.contents);
        let version = match tbs.next_is(id::CONTEXT_0) {
            true => Some(tbs.expect(id::CONTEXT_0, "tbsCertificate.version")?.contents),
            false => None,
        };
        tbs.expect(id::INTEGER, "tbsCertificate.serialNumber")?;
        tbs.expect(id::SEQUENCE, "tbsCertificate.signature")?;
        tbs.expect(id::SEQUENCE, "tbsCertificate.issuer")?;
        tbs.expect(id::SEQUENCE, "tbsCertificate.validity")?;
        let subject = tbs.expect(id::SEQUENCE, "tbsCertificate.subject")?.contents;
        tbs.expect(id::SEQUENCE, "tbsCertificate.subjectPublicKeyInfo")?;
        if tbs.next_is(id::CONTEXT_1_PRIMITIVE) {
            tbs.expect(id::CONTEXT_1_PRIMITIVE, "tbsCertificate.issuerUniqueID")?;
        }
        if tbs.next_is(id::CONTEXT_2_PRIMITIVE) {
            tbs.expect(id::CONTEXT_2_PRIMITIVE, "tbsCertificate.subjectUniqueID")?;
        }
        let mut subject_alt_name = None;
        if tbs.next_is(id::CONTEXT_3) {
            let explicit = tbs.expect(id::CONTEXT_3, "tbsCertificate.extensions")?;
            let mut explicit = Reader::new(explicit.contents);
            let list = explicit.expect(id::SEQUENCE, "tbsCertificate.extensions")?;
            explicit.finish("tbsCertificate.extensions")?;
            let mut list = Reader::new(list.contents);
            if list.is_empty() {
                return Err("tbsCertificate.extensions: empty (RFC 5280 requires at least one)".into());
            }
            let mut index = 0usize;
            while !list.is_empty() {
                let (extn_id, critical, value) =
                    extension(&mut list).map_err(|e| format!("extension #{index}: {e}"))?;
                if is_subject_alt_name(extn_id) {
                    subject_alt_name = match subject_alt_name {
                        None => Some((1, critical, value)),
                        Some((count, critical, value)) => Some((count + 1, critical, value)),
                    };
                }
                index += 1;
            }
        }
        tbs.finish("tbsCertificate")?;
        Ok(Self {
            version,
            subject,
            subject_alt_name,
        })
    }
}

/// Reads one Extension (RFC 5280 §4.1): the contents of its extnID, its critical flag and the
/// contents of its extnValue.
fn extension<'a>(list: &mut Reader<'a>) -> Result<(&'a [u8], bool, &'a [u8]), String> {
    let ext = list.expect(id::SEQUENCE, "Extension")?;
    let mut ext = Reader::new(ext.contents);
    let extn_id = ext.expect(id::OBJECT_IDENTIFIER, "extnID")?.contents;
    check_object_identifier(extn_id).map_err(|e| format!("extnID: {e}"))?;
    let critical = match ext.next_is(id::BOOLEAN) {
        true => {
            boolean(ext.expect(id::BOOLEAN, "critical")?.contents).map_err(|e| format!("critical: {e}"))?
        }
        false => false,
    };
    let value = ext.expect(id::OCTET_STRING, "extnValue")?.contents;
    ext.finish("Extension")?;
    Ok((extn_id, critical, value))
}

/// Whether OBJECT IDENTIFIER contents are id-ce-subjectAltName (2.5.29.17).
fn is_subject_alt_name(oid: &[u8]) -> bool {
    matches!(oid, [0x55, 0x1D, 0x11])
}

/// Whether OBJECT IDENTIFIER contents are id-at-commonName (2.5.4.3).
fn is_common_name(oid: &[u8]) -> bool {
    matches!(oid, [0x55, 0x04, 0x03])
}

/// Decodes a primitive `[number] IMPLICIT IA5String` GeneralName entry (`encoding`, with
/// `contents`). IA5String's alphabet is ASCII (0x00–0x7f, what rasn's `Ia5String`
/// permits), so ASCII contents are the string as they are; anything else goes through
/// rasn, for its error.
fn ia5_string(encoding: &[u8], contents: &[u8], number: u32) -> Result<String, String> {
    if contents.is_ascii()
        && let Ok(text) = std::str::from_utf8(contents)
    {
        return Ok(text.to_owned());
    }
    use rasn::de::Decoder as _;
    let mut decoder = rasn::der::de::Decoder::new(encoding, rasn::der::de::DecoderOptions::der());
    let s = decoder
        .decode_ia5_string(Tag::new(Class::Context, number), &Constraints::default())
        .map_err(|e| e.to_string())?;
    Ok(ascii_string(s.into_vec()))
}

/// Text of IA5String octets, which rasn has checked are ASCII (lossy all the same, as
/// before, should that ever not hold).
fn ascii_string(octets: Vec<u8>) -> String {
    String::from_utf8(octets).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
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

/// tbsCertificate.version's INTEGER 0, 1 or 2 in its one DER form: what rasn decodes to V1,
/// V2, V3. `None` for any other encoding (rasn then decides).
fn known_version(v: &[u8]) -> Option<CertificateVersion> {
    match v {
        [0x02, 0x01, 0] => Some(CertificateVersion::V1),
        [0x02, 0x01, 1] => Some(CertificateVersion::V2),
        [0x02, 0x01, 2] => Some(CertificateVersion::V3),
        _ => None,
    }
}

/// The text of a UTF8String attribute value (one DER value, tag 0x0C) when it is what rasn's
/// DirectoryString decoder accepts as such: well framed, UTF-8 and SIZE (1..MAX). `None`
/// for anything else (rasn then decides).
fn utf8_string(value: &[u8]) -> Option<&str> {
    if value.first() != Some(&0x0C) {
        return None;
    }
    let mut reader = Reader::new(value);
    let (_, v) = reader.any("").ok()?;
    if !reader.is_empty() || v.contents.is_empty() {
        return None;
    }
    std::str::from_utf8(v.contents).ok()
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
    directory_string_der(value.as_bytes())
}

/// [`directory_string`] of an attribute value's encoding. The two forms CAs use,
/// UTF8String and PrintableString, are decoded as those rasn types directly (saving rasn's
/// CHOICE dispatch); the same values, since the CHOICE decodes them the same way.
fn directory_string_der(value: &[u8]) -> Result<String, String> {
    if let Some(text) = utf8_string(value) {
        return Ok(text.to_owned());
    }
    use rasn::de::Decoder as _;
    let mut decoder = rasn::der::de::Decoder::new(value, rasn::der::de::DecoderOptions::der());
    match value.first() {
        // SIZE (1..MAX), RFC 5280 Appendix A.1: an empty one takes the CHOICE's path to
        // its error.
        Some(0x0C) => {
            if let Ok(s) = decoder.decode_utf8_string(Tag::UTF8_STRING, &Constraints::default())
                && !s.is_empty()
            {
                return Ok(s);
            }
        }
        Some(0x13) => {
            if let Ok(s) = decoder.decode_printable_string(Tag::PRINTABLE_STRING, &Constraints::default())
                && !s.is_empty()
            {
                return Ok(String::from_utf8_lossy(s.as_bytes()).into_owned());
            }
        }
        _ => {}
    }
    directory_string_choice(value)
}

/// [`directory_string_der`] through rasn's DirectoryString CHOICE.
fn directory_string_choice(value: &[u8]) -> Result<String, String> {
    if let Ok(ds) = rasn::der::decode::<DirectoryString>(value) {
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
    match rasn::der::decode::<rasn::types::Ia5String>(value) {
        Ok(s) => Ok(String::from_utf8_lossy(s.as_iso646_bytes()).into_owned()),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    use super::*;

    /// The names as the full rasn decode of the whole certificate reads them.
    fn full_decode(der: &[u8]) -> Result<CertificateNames, CertificateError> {
        CertificateNames::from_certificate(&decode_certificate(der)?)
    }

    /// The test certificates and every certificate of the x509-limbo suite.
    fn corpus() -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = [
            &include_bytes!("../tests/data/multi-cn-ip-san.der")[..],
            include_bytes!("../tests/data/provisioning-cn.der"),
            include_bytes!("../tests/data/v1-cn-sprov.der"),
        ]
        .iter()
        .map(|d| d.to_vec())
        .collect();
        let json =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/limbo.json")).unwrap();
        for part in json.split("-----BEGIN CERTIFICATE-----").skip(1) {
            let end = part.find("-----END CERTIFICATE-----").unwrap();
            let pem = format!(
                "-----BEGIN CERTIFICATE-----{}-----END CERTIFICATE-----\n",
                &part[..end]
            )
            .replace("\\n", "\n");
            out.push(CertificateDer::from_pem_slice(pem.as_bytes()).unwrap().to_vec());
        }
        out.sort();
        out.dedup();
        out
    }

    /// Reading only the name fields gives exactly what the full decode gives on every
    /// certificate it accepts, and accepts nothing else except certificates whose only
    /// fault lies in a field a name check does not read.
    #[test]
    fn same_names_as_the_full_decode() {
        let corpus = corpus();
        assert!(corpus.len() > 300, "{}", corpus.len());
        for der in &corpus {
            match (CertificateNames::from_der(der), full_decode(der)) {
                (Ok(fast), Ok(full)) => assert_eq!(fast, full),
                (Err(fast), Err(full)) => {
                    assert_eq!(
                        std::mem::discriminant(&fast),
                        std::mem::discriminant(&full),
                        "{fast} / {full}"
                    )
                }
                (fast, full) => panic!("{fast:?} / {full:?}"),
            }
        }
    }

    /// References for a certificate: its first dNSNames and the last (and, for a wildcard, a host under
    /// it), one name it does not have, and an IP address.
    fn references(names: Option<&CertificateNames>) -> Vec<crate::ReferenceName> {
        let mut texts = vec!["nothing.example.org".to_owned(), "192.0.2.1".to_owned()];
        // The first few and the last (some limbo certificates carry thousands).
        let dns = names.map(|n| n.dns_names()).unwrap_or_default();
        for n in dns.iter().take(4).chain(dns.iter().skip(4).last()) {
            texts.push(n.replace('*', "host"));
        }
        texts
            .iter()
            .filter_map(|t| crate::ReferenceName::parse(t).ok())
            .collect()
    }

    /// `Profile::check_der` is `from_der` + `check`, on every certificate of the corpus and
    /// on mutants of some, under every profile.
    #[test]
    fn check_der_is_from_der_then_check() {
        use crate::{NameCheckError, Profile};
        let agree = |der: &[u8], references: &[crate::ReferenceName], profiles: &[Profile]| {
            let names = CertificateNames::from_der(der);
            for reference in references {
                for &profile in profiles {
                    let slow = match &names {
                        Ok(n) => profile.check(n, reference).map_err(NameCheckError::from),
                        Err(e) => Err(NameCheckError::from(e.clone())),
                    };
                    assert_eq!(
                        profile.check_der(der, reference),
                        slow,
                        "{profile} {reference} {der:02x?}"
                    );
                }
            }
            references.len() * profiles.len()
        };
        let corpus = corpus();
        let mut cases = 0usize;
        let all = [Profile::Strict, Profile::Phone, Profile::Provisioning];
        for der in &corpus {
            cases += agree(
                der,
                &references(CertificateNames::from_der(der).ok().as_ref()),
                &all,
            );
        }
        // Mutants, checked against the names the original has (the fast path's case).
        let with_dns_names = corpus
            .iter()
            .filter(|d| CertificateNames::from_der(d).is_ok_and(|n| !n.dns_names().is_empty()));
        for der in with_dns_names.step_by(20).take(6) {
            let names = CertificateNames::from_der(der).unwrap();
            let references: Vec<_> = references(Some(&names)).into_iter().skip(2).collect();
            for i in 0..der.len() {
                for b in [0x00, 0xFF, der[i] ^ 0x80, der[i] ^ 0x01] {
                    let mut m = der.clone();
                    m[i] = b;
                    cases += agree(&m, &references, &all[..2]);
                }
            }
        }
        eprintln!("{cases} checks agree");
    }

    /// Mutated certificates (every octet of a sample replaced, every truncation): whatever
    /// the full decode accepts is read the same; what it refuses is refused too, unless the
    /// damage is in a skipped field (counted).
    #[test]
    fn mutations_agree_with_the_full_decode() {
        let corpus = corpus();
        let (mut cases, mut relaxed) = (0usize, 0usize);
        for der in corpus.iter().step_by(corpus.len() / 12) {
            let mut mutants: Vec<Vec<u8>> = (0..der.len()).map(|n| der[..n].to_vec()).collect();
            for i in 0..der.len() {
                for b in [0x00, 0xFF, der[i] ^ 0x80, der[i] ^ 0x01, der[i] ^ 0x20] {
                    let mut m = der.clone();
                    m[i] = b;
                    mutants.push(m);
                }
            }
            for m in &mutants {
                cases += 1;
                match (full_decode(m), CertificateNames::from_der(m)) {
                    (Ok(full), fast) => assert_eq!(fast, Ok(full), "{m:02x?}"),
                    (Err(_), Ok(_)) => relaxed += 1,
                    (Err(_), Err(_)) => {}
                }
            }
        }
        eprintln!("{cases} mutants, {relaxed} refused by the full decode only");
        assert!(relaxed * 5 < cases, "{relaxed} of {cases}");
    }
}
