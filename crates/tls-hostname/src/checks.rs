//! RFC 5280 and CA/B Forum checks the `Strict` profile adds on top of rustls-webpki.

use std::fmt;

use rasn::types::ObjectIdentifier;
use rasn_pkix::{
    AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints, Certificate, CertificateList,
    ExtKeyUsageSyntax, Extension, GeneralName, Name, NameConstraints, TbsCertList, Time,
};
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer};

use crate::certificate::{CertificateNames, SanExtension, decode_certificate, extensions};
use crate::reference::ReferenceName;

/// One certificate check beyond rustls-webpki's, each named after the rule it enforces.
///
/// `Strict` applies all of them; `Phone` and `Provisioning` only
/// [`MaxIntermediates`](Self::MaxIntermediates) and
/// [`DirectoryNameConstraints`](Self::DirectoryNameConstraints) (legacy phone PKIs fail the
/// others while being the deployment). Where x509-limbo has two conflicting cases, the choice is noted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChainCheck {
    /// The path has more intermediates than the verifier allows.
    MaxIntermediates,
    /// CA/B Forum BR 7.1.4.3: a subject CN must be one of the SAN values, byte for byte (an
    /// IP address in its canonical text form: dotted-decimal, RFC 5952).
    CommonNameInSan,
    /// RFC 5280 §4.2.1.6: SAN critical exactly when the subject is empty.
    SanCriticality,
    /// RFC 5280 §4.2.1.10: name constraints only in CA certificates, marked critical, with
    /// a non-empty permitted or excluded list; a dNSName constraint is a name, not `.name`.
    /// (x509-limbo `webpki::nc::permitted-dns-match-noncritical` expects a non-critical
    /// constraint to be accepted; this follows `rfc5280::nc::permitted-dns-match-noncritical`.)
    NameConstraints,
    /// RFC 5280 §4.2.1.12 / CA/B BR 7.1.2: the server's EKU is not critical and has no
    /// anyExtendedKeyUsage; a root has no EKU. (A server certificate without EKU is
    /// accepted, as RFC 5280 allows: limbo `rfc5280::eku::ee-without-eku` over
    /// `webpki::eku::ee-without-eku`.)
    ExtendedKeyUsage,
    /// RFC 5280 §4.2.1.3 / §4.2.1.9: keyCertSign only with cA, and a CA with keyUsage has
    /// keyCertSign.
    KeyUsage,
    /// RFC 5280 §4.1.2.2: the serial number is positive and at most 20 octets.
    SerialNumber,
    /// RFC 5280 §4.2.1.1: every certificate but a self-signed one has a non-critical
    /// authorityKeyIdentifier; a root's AKI holds only a keyIdentifier equal to its SKI.
    AuthorityKeyIdentifier,
    /// RFC 5280 §4.2.1.2: every CA certificate has a non-critical subjectKeyIdentifier.
    SubjectKeyIdentifier,
    /// RFC 5280 §4.2.1.9: a root has a critical basicConstraints with cA set.
    BasicConstraints,
    /// RFC 5280 §4.1.2.4 / §4.1.2.6: issuer never empty; a CA's subject never empty.
    NonEmptyNames,
    /// RFC 5280 §4.1.2.5: the root is within its validity period too.
    RootValidity,
    /// RFC 5280 §4.2: the root has no critical extension this verifier does not know.
    RootCriticalExtensions,
    /// RFC 5280 §4.2.1.11: policyConstraints is critical.
    PolicyConstraints,
    /// RFC 5280 §4.2.2.1: authorityInfoAccess decodes and is not critical.
    AuthorityInfoAccess,
    /// CA/B BR 6.1.5 / 7.1.3.1: RSA keys of at least 2048 bits and a multiple of 8; EC keys
    /// on P-256, P-384 or P-521; no DSA.
    PublicKey,
    /// RFC 5280 §4.1.1.2: the outer signatureAlgorithm equals the TBS signature field.
    SignatureAlgorithmMatch,
    /// RFC 5280 §5.2.3: a CRL issued by a CA of the path carries a non-critical cRLNumber,
    /// a non-negative INTEGER of at most 20 octets.
    CrlNumber,
    /// RFC 5280 §4.2.1.10 / §6.1.3 (b)–(c): the subject DN and every SAN directoryName of the
    /// certificates below a trust anchor are within its permitted directoryName subtrees and
    /// outside its excluded ones (prefix match of RDNs, compared as in §7.1). rustls-webpki
    /// does not implement directoryName constraints and refuses every certificate under one,
    /// so the verifier takes them out of the anchors it gives webpki and checks them here,
    /// under every profile. A directoryName constraint in an intermediate is still webpki's
    /// (refused).
    DirectoryNameConstraints,
    /// RFC 5280 §4.2.1.3 / §6.3.3 (f): a CA of the path that issued one of the CRLs has
    /// cRLSign in its keyUsage, when it has a keyUsage (the trust anchor included, which
    /// rustls-webpki does not check).
    CrlSign,
}

impl ChainCheck {
    /// The rule, with its source.
    pub fn rule(self) -> &'static str {
        match self {
            Self::MaxIntermediates => "path length limit set by the verifier",
            Self::CommonNameInSan => "CN must repeat a SAN value (CA/B BR 7.1.4.3)",
            Self::SanCriticality => "SAN critical iff subject empty (RFC 5280 4.2.1.6)",
            Self::NameConstraints => "name constraints (RFC 5280 4.2.1.10)",
            Self::ExtendedKeyUsage => "extended key usage (RFC 5280 4.2.1.12, CA/B BR 7.1.2)",
            Self::KeyUsage => "key usage (RFC 5280 4.2.1.3)",
            Self::SerialNumber => "serial number (RFC 5280 4.1.2.2)",
            Self::AuthorityKeyIdentifier => "authority key identifier (RFC 5280 4.2.1.1)",
            Self::SubjectKeyIdentifier => "subject key identifier (RFC 5280 4.2.1.2)",
            Self::BasicConstraints => "basic constraints (RFC 5280 4.2.1.9)",
            Self::NonEmptyNames => "issuer and CA subject non-empty (RFC 5280 4.1.2.4/6)",
            Self::RootValidity => "root validity period (RFC 5280 4.1.2.5)",
            Self::RootCriticalExtensions => "unknown critical extension in root (RFC 5280 4.2)",
            Self::PolicyConstraints => "policy constraints critical (RFC 5280 4.2.1.11)",
            Self::AuthorityInfoAccess => "authority information access (RFC 5280 4.2.2.1)",
            Self::PublicKey => "public key algorithm and size (CA/B BR 6.1.5)",
            Self::SignatureAlgorithmMatch => "signature algorithm fields agree (RFC 5280 4.1.1.2)",
            Self::CrlNumber => "CRL number (RFC 5280 5.2.3)",
            Self::DirectoryNameConstraints => "directoryName name constraints (RFC 5280 4.2.1.10)",
            Self::CrlSign => "CRL issuer key usage has cRLSign (RFC 5280 4.2.1.3)",
        }
    }
}

/// A failed [`ChainCheck`]: which check, on which certificate, and what was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} ({}): {detail}", .check.rule(), self.position)]
pub struct ChainCheckFailure {
    check: ChainCheck,
    position: Position,
    detail: String,
}

/// Where in the chain a check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// The server's own certificate.
    EndEntity,
    /// Intermediate number `n`, counting from the end-entity's issuer (0).
    Intermediate(usize),
    /// The trust anchor.
    Root,
    /// The path as a whole.
    Path,
    /// CRL number `n` in the list given to the verifier, from 0.
    Crl(usize),
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EndEntity => f.write_str("server certificate"),
            Self::Intermediate(n) => write!(f, "intermediate #{n}"),
            Self::Root => f.write_str("root"),
            Self::Path => f.write_str("path"),
            Self::Crl(n) => write!(f, "CRL #{n}"),
        }
    }
}

impl ChainCheckFailure {
    pub(crate) fn new(check: ChainCheck, detail: String) -> Self {
        Self {
            check,
            position: Position::Path,
            detail,
        }
    }

    /// The check that failed.
    pub fn check(&self) -> ChainCheck {
        self.check
    }

    /// Which certificate failed it.
    pub fn position(&self) -> Position {
        self.position
    }

    /// What was found.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

mod oid {
    pub const SAN: &[u32] = &[2, 5, 29, 17];
    pub const NAME_CONSTRAINTS: &[u32] = &[2, 5, 29, 30];
    pub const EKU: &[u32] = &[2, 5, 29, 37];
    pub const ANY_EKU: &[u32] = &[2, 5, 29, 37, 0];
    pub const KEY_USAGE: &[u32] = &[2, 5, 29, 15];
    pub const AKI: &[u32] = &[2, 5, 29, 35];
    pub const SKI: &[u32] = &[2, 5, 29, 14];
    pub const BASIC_CONSTRAINTS: &[u32] = &[2, 5, 29, 19];
    pub const POLICY_CONSTRAINTS: &[u32] = &[2, 5, 29, 36];
    pub const CERT_POLICIES: &[u32] = &[2, 5, 29, 32];
    pub const POLICY_MAPPINGS: &[u32] = &[2, 5, 29, 33];
    pub const INHIBIT_ANY_POLICY: &[u32] = &[2, 5, 29, 54];
    pub const AIA: &[u32] = &[1, 3, 6, 1, 5, 5, 7, 1, 1];
    pub const CRL_NUMBER: &[u32] = &[2, 5, 29, 20];
    pub const RSA: &[u32] = &[1, 2, 840, 113549, 1, 1, 1];
    pub const EC: &[u32] = &[1, 2, 840, 10045, 2, 1];
    pub const DSA: &[u32] = &[1, 2, 840, 10040, 4, 1];
    pub const P256: &[u32] = &[1, 2, 840, 10045, 3, 1, 7];
    pub const P384: &[u32] = &[1, 3, 132, 0, 34];
    pub const P521: &[u32] = &[1, 3, 132, 0, 35];
}

/// Which role a certificate plays in the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    EndEntity,
    Intermediate,
    Root,
}

fn is(id: &ObjectIdentifier, arcs: &[u32]) -> bool {
    id.iter().copied().eq(arcs.iter().copied())
}

struct Cert {
    inner: Certificate,
    position: Position,
}

impl Cert {
    fn decode(der: &[u8], position: Position) -> Result<Self, ChainCheckFailure> {
        decode_certificate(der)
            .map(|inner| Self { inner, position })
            .map_err(|e| {
                fail(
                    ChainCheck::NonEmptyNames,
                    position,
                    format!("certificate does not decode: {e}"),
                )
            })
    }

    fn ext(&self, arcs: &[u32]) -> Option<&Extension> {
        extensions(&self.inner).iter().find(|e| is(&e.extn_id, arcs))
    }

    fn fail(&self, check: ChainCheck, detail: impl Into<String>) -> ChainCheckFailure {
        fail(check, self.position, detail.into())
    }

    fn decode_ext<T: rasn::Decode>(
        &self,
        ext: &Extension,
        check: ChainCheck,
    ) -> Result<T, ChainCheckFailure> {
        rasn::der::decode::<T>(&ext.extn_value)
            .map_err(|e| self.fail(check, format!("extension does not decode: {e}")))
    }

    /// Issuer and subject are the same name, compared as RFC 5280 §7.1 asks (string type
    /// and case ignored, whitespace collapsed).
    fn self_issued(&self) -> bool {
        name_key(&self.inner.tbs_certificate.issuer) == name_key(&self.inner.tbs_certificate.subject)
    }

    fn basic_constraints(&self) -> Result<Option<(bool, BasicConstraints)>, ChainCheckFailure> {
        match self.ext(oid::BASIC_CONSTRAINTS) {
            None => Ok(None),
            Some(e) => Ok(Some((
                e.critical,
                self.decode_ext(e, ChainCheck::BasicConstraints)?,
            ))),
        }
    }

    fn ski(&self) -> Result<Option<Vec<u8>>, ChainCheckFailure> {
        match self.ext(oid::SKI) {
            None => Ok(None),
            Some(e) => {
                if e.critical {
                    return Err(self.fail(ChainCheck::SubjectKeyIdentifier, "marked critical"));
                }
                let ski: rasn::types::OctetString = self.decode_ext(e, ChainCheck::SubjectKeyIdentifier)?;
                Ok(Some(ski.to_vec()))
            }
        }
    }
}

fn fail(check: ChainCheck, position: Position, detail: String) -> ChainCheckFailure {
    ChainCheckFailure {
        check,
        position,
        detail,
    }
}

/// Checks on the end-entity certificate alone.
pub(crate) fn end_entity(
    der: &CertificateDer<'_>,
    _reference: Option<&ReferenceName>,
) -> Result<(), ChainCheckFailure> {
    let c = Cert::decode(der, Position::EndEntity)?;
    common(&c, Role::EndEntity)?;
    common_name_in_san(&c)?;
    if c.ext(oid::NAME_CONSTRAINTS).is_some() {
        return Err(c.fail(
            ChainCheck::NameConstraints,
            "a server certificate carries nameConstraints",
        ));
    }
    if let Some(e) = c.ext(oid::EKU) {
        if e.critical {
            return Err(c.fail(ChainCheck::ExtendedKeyUsage, "EKU marked critical"));
        }
        let ekus: ExtKeyUsageSyntax = c.decode_ext(e, ChainCheck::ExtendedKeyUsage)?;
        if ekus.iter().any(|k| is(k, oid::ANY_EKU)) {
            return Err(c.fail(ChainCheck::ExtendedKeyUsage, "EKU has anyExtendedKeyUsage"));
        }
    }
    let ca = c.basic_constraints()?.is_some_and(|(_, bc)| bc.ca);
    if !ca && key_cert_sign(&c)? == Some(true) {
        return Err(c.fail(ChainCheck::KeyUsage, "keyCertSign without cA"));
    }
    Ok(())
}

/// Checks on a candidate path's intermediates and root.
pub(crate) fn path(
    intermediates: &[CertificateDer<'_>],
    root: Option<&CertificateDer<'_>>,
    now: u64,
) -> Result<(), ChainCheckFailure> {
    for (i, der) in intermediates.iter().enumerate() {
        let c = Cert::decode(der, Position::Intermediate(i))?;
        common(&c, Role::Intermediate)?;
        ca_common(&c)?;
    }
    let Some(root) = root else {
        return Ok(());
    };
    let c = Cert::decode(root, Position::Root)?;
    common(&c, Role::Root)?;
    ca_common(&c)?;
    match c.basic_constraints()? {
        None => return Err(c.fail(ChainCheck::BasicConstraints, "root has no basicConstraints")),
        Some((false, _)) => {
            return Err(c.fail(ChainCheck::BasicConstraints, "root basicConstraints not critical"));
        }
        Some((true, bc)) if !bc.ca => {
            return Err(c.fail(ChainCheck::BasicConstraints, "root basicConstraints without cA"));
        }
        Some(_) => {}
    }
    if c.ext(oid::EKU).is_some() {
        return Err(c.fail(ChainCheck::ExtendedKeyUsage, "root has an EKU extension"));
    }
    let validity = &c.inner.tbs_certificate.validity;
    let (nb, na) = (seconds(&validity.not_before), seconds(&validity.not_after));
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    if now < nb || now > na {
        return Err(c.fail(
            ChainCheck::RootValidity,
            format!("root valid {nb}..{na} (unix seconds), now {now}"),
        ));
    }
    const KNOWN: &[&[u32]] = &[
        oid::SAN,
        oid::NAME_CONSTRAINTS,
        oid::EKU,
        oid::KEY_USAGE,
        oid::AKI,
        oid::SKI,
        oid::BASIC_CONSTRAINTS,
        oid::POLICY_CONSTRAINTS,
        oid::CERT_POLICIES,
        oid::POLICY_MAPPINGS,
        oid::INHIBIT_ANY_POLICY,
    ];
    for e in extensions(&c.inner) {
        if e.critical && !KNOWN.iter().any(|k| is(&e.extn_id, k)) {
            return Err(c.fail(
                ChainCheck::RootCriticalExtensions,
                format!("critical extension {}", dotted(&e.extn_id)),
            ));
        }
    }
    // A root's AKI, if any, holds only a keyIdentifier, equal to its SKI when self-signed.
    if let Some(e) = c.ext(oid::AKI) {
        let aki: AuthorityKeyIdentifier = c.decode_ext(e, ChainCheck::AuthorityKeyIdentifier)?;
        let Some(kid) = aki.key_identifier else {
            return Err(c.fail(
                ChainCheck::AuthorityKeyIdentifier,
                "root AKI has no keyIdentifier",
            ));
        };
        if aki.authority_cert_issuer.is_some() || aki.authority_cert_serial_number.is_some() {
            return Err(c.fail(
                ChainCheck::AuthorityKeyIdentifier,
                "root AKI has authorityCertIssuer/SerialNumber",
            ));
        }
        if c.self_issued() && c.ski()?.is_some_and(|ski| ski != kid.as_ref()) {
            return Err(c.fail(
                ChainCheck::AuthorityKeyIdentifier,
                "root AKI differs from its SKI",
            ));
        }
    }
    Ok(())
}

/// Checks for every certificate in the path.
fn common(c: &Cert, role: Role) -> Result<(), ChainCheckFailure> {
    let tbs = &c.inner.tbs_certificate;
    if tbs.signature != c.inner.signature_algorithm {
        return Err(c.fail(
            ChainCheck::SignatureAlgorithmMatch,
            "signatureAlgorithm differs from the TBS signature field",
        ));
    }
    let Name::RdnSequence(issuer) = &tbs.issuer;
    if issuer.is_empty() {
        return Err(c.fail(ChainCheck::NonEmptyNames, "empty issuer"));
    }
    // Trust anchors are configured, not issued to this verifier: real roots with serial 0
    // exist (x509-limbo online::fastly.com), so the serial rule applies below the root.
    if role != Role::Root {
        serial(c)?;
    }
    public_key(c)?;
    // AKI: required except on self-signed (self-issued) certificates; never critical.
    match c.ext(oid::AKI) {
        Some(e) if e.critical => {
            return Err(c.fail(ChainCheck::AuthorityKeyIdentifier, "AKI marked critical"));
        }
        Some(_) => {}
        // A trust anchor is configured, not validated: a cross-signed root without AKI is
        // still a root (x509-limbo cve::cve-2024-0567 over the pedantic
        // rfc5280::aki::cross-signed-root-missing-aki).
        None if role == Role::Root => {}
        None => return Err(c.fail(ChainCheck::AuthorityKeyIdentifier, "no AKI")),
    }
    if let Some(e) = c.ext(oid::SAN) {
        let Name::RdnSequence(subject) = &tbs.subject;
        if subject.is_empty() && !e.critical {
            return Err(c.fail(ChainCheck::SanCriticality, "empty subject, SAN not critical"));
        }
        if !subject.is_empty() && e.critical {
            return Err(c.fail(ChainCheck::SanCriticality, "non-empty subject, SAN critical"));
        }
    }
    if let Some(e) = c.ext(oid::POLICY_CONSTRAINTS) {
        if !e.critical {
            return Err(c.fail(ChainCheck::PolicyConstraints, "policyConstraints not critical"));
        }
    }
    if let Some(e) = c.ext(oid::AIA) {
        if e.critical {
            return Err(c.fail(ChainCheck::AuthorityInfoAccess, "AIA marked critical"));
        }
        let _: AuthorityInfoAccessSyntax = c.decode_ext(e, ChainCheck::AuthorityInfoAccess)?;
    }
    Ok(())
}

/// Checks for CA certificates (intermediates and the root).
fn ca_common(c: &Cert) -> Result<(), ChainCheckFailure> {
    let Name::RdnSequence(subject) = &c.inner.tbs_certificate.subject;
    if subject.is_empty() {
        return Err(c.fail(ChainCheck::NonEmptyNames, "CA with an empty subject"));
    }
    if c.ski()?.is_none() {
        return Err(c.fail(ChainCheck::SubjectKeyIdentifier, "CA certificate without SKI"));
    }
    if key_cert_sign(c)? == Some(false) {
        return Err(c.fail(ChainCheck::KeyUsage, "CA keyUsage lacks keyCertSign"));
    }
    if let Some(e) = c.ext(oid::NAME_CONSTRAINTS) {
        if !e.critical {
            return Err(c.fail(ChainCheck::NameConstraints, "nameConstraints not critical"));
        }
        // rustls-webpki parses and enforces the constraints; what rasn cannot decode (an
        // otherName with a NULL value, say) is left to it.
        let Ok(nc) = rasn::der::decode::<NameConstraints>(&e.extn_value) else {
            return Ok(());
        };
        let permitted = nc.permitted_subtrees.unwrap_or_default();
        let excluded = nc.excluded_subtrees.unwrap_or_default();
        if permitted.is_empty() && excluded.is_empty() {
            return Err(c.fail(ChainCheck::NameConstraints, "no permitted or excluded subtree"));
        }
        for subtree in permitted.iter().chain(excluded.iter()) {
            if let GeneralName::DnsName(name) = &subtree.base {
                if name.as_iso646_bytes().starts_with(b".") {
                    return Err(c.fail(ChainCheck::NameConstraints, "dNSName constraint starts with '.'"));
                }
            }
        }
    }
    Ok(())
}

/// A trust anchor's directoryName name constraints (see
/// [`ChainCheck::DirectoryNameConstraints`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DirectoryNameConstraints {
    permitted: Vec<Name>,
    excluded: Vec<Name>,
}

/// Splits the directoryName subtrees off a trust anchor's nameConstraints, given as
/// rustls-webpki keeps them (the NameConstraints SEQUENCE's contents). Returns what is left
/// for webpki, byte for byte (`None` when nothing is), and the directoryName subtrees; `None`
/// when there is no directoryName subtree or the extension does not read, so that webpki
/// keeps refusing what it cannot check.
pub(crate) fn split_directory_name_constraints(
    nc: &[u8],
) -> Option<(Option<Vec<u8>>, DirectoryNameConstraints)> {
    const PERMITTED: u8 = 0xa0;
    const EXCLUDED: u8 = 0xa1;
    const DIRECTORY_NAME: u8 = 0xa4;
    let mut dn = DirectoryNameConstraints::default();
    let mut kept = Vec::new();
    let mut rest = nc;
    while !rest.is_empty() {
        let (tag, _, subtrees, after) = tlv(rest)?;
        rest = after;
        if tag != PERMITTED && tag != EXCLUDED {
            return None;
        }
        let mut keep = Vec::new();
        let mut list = subtrees;
        while !list.is_empty() {
            let (subtree_tag, whole, subtree, after) = tlv(list)?;
            list = after;
            let (base_tag, _, base, _) = tlv(subtree)?;
            if subtree_tag != 0x30 {
                return None;
            }
            if base_tag != DIRECTORY_NAME {
                keep.extend_from_slice(whole);
                continue;
            }
            let name: Name = rasn::der::decode(base).ok()?;
            if tag == PERMITTED {
                dn.permitted.push(name);
            } else {
                dn.excluded.push(name);
            }
        }
        if !keep.is_empty() {
            kept.push(tag);
            der_length(keep.len(), &mut kept);
            kept.extend(keep);
        }
    }
    if dn.permitted.is_empty() && dn.excluded.is_empty() {
        return None;
    }
    Some(((!kept.is_empty()).then_some(kept), dn))
}

/// Checks the end-entity certificate and the intermediates below an anchor against its
/// directoryName constraints: subject DN (when not empty) and SAN directoryNames.
pub(crate) fn directory_name_constraints(
    constraints: &DirectoryNameConstraints,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
) -> Result<(), ChainCheckFailure> {
    let check = ChainCheck::DirectoryNameConstraints;
    let certs = std::iter::once((end_entity, Position::EndEntity)).chain(
        intermediates
            .iter()
            .enumerate()
            .map(|(i, der)| (der, Position::Intermediate(i))),
    );
    for (der, position) in certs {
        let c = Cert::decode(der, position)?;
        let mut names: Vec<(String, Name)> = Vec::new();
        let subject = &c.inner.tbs_certificate.subject;
        let Name::RdnSequence(rdns) = subject;
        if !rdns.is_empty() {
            names.push(("subject".to_owned(), subject.clone()));
        }
        if let Some(e) = c.ext(oid::SAN) {
            let san: rasn_pkix::SubjectAltName = c.decode_ext(e, check)?;
            for (k, general_name) in san.iter().enumerate() {
                if let GeneralName::DirectoryName(name) = general_name {
                    names.push((format!("SAN #{k} (directoryName)"), name.clone()));
                }
            }
        }
        for (what, name) in &names {
            let key = name_key(name);
            let within = |base: &Name| key.starts_with(&name_key(base));
            if !constraints.permitted.is_empty() && !constraints.permitted.iter().any(within) {
                return Err(c.fail(
                    check,
                    format!("{what} is not within the root's permitted directoryName subtrees"),
                ));
            }
            if constraints.excluded.iter().any(within) {
                return Err(c.fail(
                    check,
                    format!("{what} is within an excluded directoryName subtree of the root"),
                ));
            }
        }
    }
    Ok(())
}

/// One DER TLV read from the front of the input: (tag, the whole TLV, its content, what
/// follows).
type Tlv<'a> = (u8, &'a [u8], &'a [u8], &'a [u8]);

/// Reads one DER TLV. Single-octet tags only.
fn tlv(input: &[u8]) -> Option<Tlv<'_>> {
    let (&tag, after) = input.split_first()?;
    let (&len0, after) = after.split_first()?;
    let (len, after) = if len0 < 0x80 {
        (usize::from(len0), after)
    } else {
        let n = usize::from(len0 & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let (len_bytes, after) = (after.get(..n)?, after.get(n..)?);
        let len = len_bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, after)
    };
    let content = after.get(..len)?;
    let rest = after.get(len..)?;
    let whole = input.get(..input.len() - rest.len())?;
    Some((tag, whole, content, rest))
}

/// Appends a DER length.
fn der_length(len: usize, out: &mut Vec<u8>) {
    match u8::try_from(len) {
        Ok(short) if short < 0x80 => out.push(short),
        _ => {
            let bytes = len.to_be_bytes();
            let significant: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
            out.push(0x80 | u8::try_from(significant.len()).unwrap_or(0x7f));
            out.extend(significant);
        }
    }
}

/// keyUsage bits (RFC 5280 §4.2.1.3), numbered from digitalSignature (0).
const KEY_CERT_SIGN: usize = 5;
const CRL_SIGN: usize = 6;

/// `Some(keyCertSign)` if there is a keyUsage extension.
fn key_cert_sign(c: &Cert) -> Result<Option<bool>, ChainCheckFailure> {
    key_usage_bit(c, KEY_CERT_SIGN, ChainCheck::KeyUsage)
}

/// `Some(bit)` if there is a keyUsage extension.
fn key_usage_bit(c: &Cert, bit: usize, check: ChainCheck) -> Result<Option<bool>, ChainCheckFailure> {
    match c.ext(oid::KEY_USAGE) {
        None => Ok(None),
        Some(e) => {
            let ku: rasn::types::BitString = c.decode_ext(e, check)?;
            Ok(Some(ku.get(bit).is_some_and(|b| *b)))
        }
    }
}

/// Checks on the CRLs issued by a CA of the path (intermediates and root; an end-entity
/// certificate issues none). A CRL whose issuer is no CA of the path is not looked at.
pub(crate) fn crls(
    intermediates: &[CertificateDer<'_>],
    root: Option<&CertificateDer<'_>>,
    crls: &[CertificateRevocationListDer<'_>],
) -> Result<(), ChainCheckFailure> {
    if crls.is_empty() {
        return Ok(());
    }
    let mut cas = Vec::new();
    for (i, der) in intermediates.iter().enumerate() {
        cas.push(Cert::decode(der, Position::Intermediate(i))?);
    }
    if let Some(root) = root {
        cas.push(Cert::decode(root, Position::Root)?);
    }
    for (index, der) in crls.iter().enumerate() {
        let position = Position::Crl(index);
        // rustls-webpki parsed it already; rasn reading it differently is still a refusal,
        // as its cRLNumber cannot be checked.
        let list: CertificateList = rasn::der::decode(der.as_ref()).map_err(|e| {
            fail(
                ChainCheck::CrlNumber,
                position,
                format!("CRL does not decode: {e}"),
            )
        })?;
        let issuer = name_key(&list.tbs_cert_list.issuer);
        let issuers: Vec<&Cert> = cas
            .iter()
            .filter(|c| name_key(&c.inner.tbs_certificate.subject) == issuer)
            .collect();
        if issuers.is_empty() {
            continue;
        }
        crl_number(&list.tbs_cert_list, position)?;
        for c in issuers {
            if key_usage_bit(c, CRL_SIGN, ChainCheck::CrlSign)? == Some(false) {
                return Err(c.fail(
                    ChainCheck::CrlSign,
                    format!("issued CRL #{index}, but its keyUsage lacks cRLSign"),
                ));
            }
        }
    }
    Ok(())
}

/// RFC 5280 §5.2.3: cRLNumber present, not critical, an INTEGER in 0..2^159 (at most 20
/// content octets, non-negative).
fn crl_number(tbs: &TbsCertList, position: Position) -> Result<(), ChainCheckFailure> {
    let bad = |detail: &str| fail(ChainCheck::CrlNumber, position, detail.to_owned());
    let Some(ext) = tbs
        .crl_extensions
        .iter()
        .flat_map(|exts| exts.iter())
        .find(|e| is(&e.extn_id, oid::CRL_NUMBER))
    else {
        return Err(bad("CRL has no cRLNumber extension"));
    };
    if ext.critical {
        return Err(bad("cRLNumber marked critical"));
    }
    let value: &[u8] = &ext.extn_value;
    // Decoding and re-encoding gives back the same octets only for one DER INTEGER, alone.
    let reencoded = rasn::der::decode::<rasn::types::Integer>(value)
        .ok()
        .and_then(|n| rasn::der::encode(&n).ok());
    if reencoded.as_deref() != Some(value) {
        return Err(bad("cRLNumber is not a single DER INTEGER"));
    }
    let content = der_content(value).unwrap_or_default();
    match content {
        [] => Err(bad("cRLNumber is empty")),
        [first, ..] if *first >= 0x80 => Err(bad("cRLNumber is negative")),
        long if long.len() > 20 => Err(fail(
            ChainCheck::CrlNumber,
            position,
            format!("cRLNumber of {} octets (at most 20)", long.len()),
        )),
        _ => Ok(()),
    }
}

fn common_name_in_san(c: &Cert) -> Result<(), ChainCheckFailure> {
    let names = CertificateNames::from_certificate(&c.inner)
        .map_err(|e| c.fail(ChainCheck::CommonNameInSan, e.to_string()))?;
    if names.san_extension() == SanExtension::Absent {
        return Ok(());
    }
    for cn in names.common_names() {
        let exact_dns = names.dns_names().iter().any(|d| d == cn);
        let exact_ip = names.ip_addresses().iter().any(|ip| ip.to_string() == *cn);
        if exact_dns || exact_ip {
            continue;
        }
        // A CN that denotes a SAN value in another spelling (case, IP text form, U-label
        // for an A-label) is refused. A CN unrelated to every SAN is tolerated: x509-limbo's
        // own generic certificates carry `CN=example.com` beside unrelated SANs and expect
        // success, so only `webpki::cn::not-in-san` is left unenforced.
        let idn_like = !cn.is_ascii()
            || cn
                .split('.')
                .any(|l| l.len() > 4 && l.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("xn--")));
        let ip_like = cn.bytes().any(|b| b.is_ascii_digit())
            && (cn.contains('.') || cn.contains(':') || cn.starts_with("0x"))
            && cn.bytes().all(|b| b.is_ascii_hexdigit() || b"xX.:".contains(&b));
        let case_variant = names.dns_names().iter().any(|d| d.eq_ignore_ascii_case(cn));
        if idn_like || ip_like || case_variant {
            return Err(c.fail(
                ChainCheck::CommonNameInSan,
                format!("CN={cn} is not a character-for-character copy of a SAN value"),
            ));
        }
    }
    Ok(())
}

fn serial(c: &Cert) -> Result<(), ChainCheckFailure> {
    let der = rasn::der::encode(&c.inner.tbs_certificate.serial_number)
        .map_err(|e| c.fail(ChainCheck::SerialNumber, e.to_string()))?;
    let content = der_content(&der).unwrap_or_default();
    match content {
        [] | [0] => Err(c.fail(ChainCheck::SerialNumber, "serial number is zero")),
        [first, ..] if *first >= 0x80 => Err(c.fail(ChainCheck::SerialNumber, "serial number is negative")),
        long if long.len() > 20 => Err(c.fail(
            ChainCheck::SerialNumber,
            format!("serial number of {} octets (at most 20)", long.len()),
        )),
        _ => Ok(()),
    }
}

fn public_key(c: &Cert) -> Result<(), ChainCheckFailure> {
    let spki = &c.inner.tbs_certificate.subject_public_key_info;
    let alg = &spki.algorithm.algorithm;
    if is(alg, oid::DSA) {
        return Err(c.fail(ChainCheck::PublicKey, "DSA key"));
    }
    if is(alg, oid::EC) {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| rasn::der::decode::<ObjectIdentifier>(p.as_bytes()).ok());
        let ok = curve.is_some_and(|cv| [oid::P256, oid::P384, oid::P521].iter().any(|k| is(&cv, k)));
        if !ok {
            return Err(c.fail(ChainCheck::PublicKey, "EC key not on P-256, P-384 or P-521"));
        }
    }
    if is(alg, oid::RSA) {
        let key: rasn_pkix::algorithms::RsaPublicKey =
            rasn::der::decode(spki.subject_public_key.as_raw_slice())
                .map_err(|e| c.fail(ChainCheck::PublicKey, format!("RSA key: {e}")))?;
        let der =
            rasn::der::encode(&key.modulus).map_err(|e| c.fail(ChainCheck::PublicKey, e.to_string()))?;
        let content = der_content(&der).unwrap_or_default();
        let magnitude = match content {
            [0, rest @ ..] => rest,
            all => all,
        };
        let bits = match magnitude.first() {
            Some(top) => magnitude.len() * 8 - top.leading_zeros() as usize,
            None => 0,
        };
        if bits < 2048 || bits % 8 != 0 {
            return Err(c.fail(
                ChainCheck::PublicKey,
                format!("RSA modulus of {bits} bits (at least 2048, a multiple of 8)"),
            ));
        }
    }
    Ok(())
}

/// The content octets of a DER TLV.
fn der_content(tlv: &[u8]) -> Option<&[u8]> {
    let (&len0, rest) = tlv.get(1..)?.split_first()?;
    if len0 < 0x80 {
        return rest.get(..usize::from(len0));
    }
    let n = usize::from(len0 & 0x7f);
    let (len_bytes, body) = (rest.get(..n)?, rest.get(n..)?);
    let len = len_bytes
        .iter()
        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
    body.get(..len)
}

fn seconds(t: &Time) -> i64 {
    match t {
        Time::Utc(u) => u.timestamp(),
        Time::General(g) => g.timestamp(),
    }
}

fn dotted(id: &ObjectIdentifier) -> String {
    id.iter().map(u32::to_string).collect::<Vec<_>>().join(".")
}

/// A comparable form of a DN: per RDN, (attribute type, case-folded and space-collapsed text
/// or the raw value when it is not a string).
fn name_key(name: &Name) -> Vec<Vec<(Vec<u32>, String)>> {
    let Name::RdnSequence(rdns) = name;
    rdns.iter()
        .map(|rdn| {
            let mut atvs: Vec<(Vec<u32>, String)> = rdn
                .iter()
                .map(|atv| {
                    let text = crate::certificate::directory_string(&atv.value)
                        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase())
                        .unwrap_or_else(|_| format!("{:02x?}", atv.value.as_bytes()));
                    (atv.r#type.to_vec(), text)
                })
                .collect();
            atvs.sort();
            atvs
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use rcgen::{
        BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType, IsCa, KeyIdMethod,
        KeyPair, KeyUsagePurpose, SerialNumber,
    };

    use super::*;

    /// A self-signed CA named `CN=CRL test CA` with these key usages (none: no keyUsage).
    fn ca(key: &KeyPair, usages: &[KeyUsagePurpose]) -> rcgen::Certificate {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, "CRL test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = usages.to_vec();
        params.self_signed(key).unwrap()
    }

    /// A CRL (cRLNumber 7, nothing revoked) from `issuer`, which must have cRLSign or no
    /// keyUsage (rcgen refuses otherwise).
    fn crl(issuer: &rcgen::Certificate, key: &KeyPair) -> CertificateRevocationListDer<'static> {
        let params = CertificateRevocationListParams {
            this_update: rcgen::date_time_ymd(2025, 1, 1),
            next_update: rcgen::date_time_ymd(2035, 1, 1),
            crl_number: SerialNumber::from(7u64),
            issuing_distribution_point: None,
            revoked_certs: Vec::new(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        params.signed_by(issuer, key).unwrap().der().clone()
    }

    fn tbs(der: &CertificateRevocationListDer<'_>) -> TbsCertList {
        rasn::der::decode::<CertificateList>(der.as_ref())
            .unwrap()
            .tbs_cert_list
    }

    fn with_crl_number(mut tbs: TbsCertList, edit: impl Fn(&mut Extension)) -> TbsCertList {
        for e in tbs.crl_extensions.iter_mut().flat_map(|exts| exts.iter_mut()) {
            if is(&e.extn_id, oid::CRL_NUMBER) {
                edit(e);
            }
        }
        tbs
    }

    fn crl_number_failure(tbs: &TbsCertList) -> Option<String> {
        crl_number(tbs, Position::Crl(0)).err().map(|f| {
            assert_eq!(f.check(), ChainCheck::CrlNumber);
            assert_eq!(f.position(), Position::Crl(0));
            f.detail().to_owned()
        })
    }

    #[test]
    fn crl_number_present_non_critical_and_well_formed() {
        let key = KeyPair::generate().unwrap();
        let ca = ca(&key, &[KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign]);
        let good = tbs(&crl(&ca, &key));
        assert_eq!(crl_number_failure(&good), None);

        let mut missing = good.clone();
        if let Some(exts) = missing.crl_extensions.as_mut() {
            exts.retain(|e| !is(&e.extn_id, oid::CRL_NUMBER));
        }
        assert_eq!(
            crl_number_failure(&missing).as_deref(),
            Some("CRL has no cRLNumber extension")
        );
        let mut no_extensions = good.clone();
        no_extensions.crl_extensions = None;
        assert!(crl_number_failure(&no_extensions).is_some());

        let critical = with_crl_number(good.clone(), |e| e.critical = true);
        assert_eq!(
            crl_number_failure(&critical).as_deref(),
            Some("cRLNumber marked critical")
        );

        let set = |bytes: &'static [u8]| {
            with_crl_number(good.clone(), move |e| e.extn_value = bytes.to_vec().into())
        };
        assert_eq!(crl_number_failure(&set(&[0x02, 0x01, 0x00])), None); // 0 is allowed
        assert_eq!(
            crl_number_failure(&set(&[0x02, 0x01, 0xff])).as_deref(),
            Some("cRLNumber is negative")
        );
        let mut long = vec![0x02, 21, 0x01];
        long.extend([0u8; 20]);
        let long: &'static [u8] = long.leak();
        assert_eq!(
            crl_number_failure(&set(long)).as_deref(),
            Some("cRLNumber of 21 octets (at most 20)")
        );
        let mut twenty = vec![0x02, 20, 0x7f];
        twenty.extend([0u8; 19]);
        let twenty: &'static [u8] = twenty.leak();
        assert_eq!(crl_number_failure(&set(twenty)), None);
        // Not an INTEGER, trailing octets, non-minimal encoding.
        for bad in [
            &[0x04u8, 0x01, 0x01][..],
            &[0x02, 0x01, 0x01, 0x00],
            &[0x02, 0x02, 0x00, 0x01],
        ] {
            assert_eq!(
                crl_number_failure(&set(bad)).as_deref(),
                Some("cRLNumber is not a single DER INTEGER"),
                "{bad:02x?}"
            );
        }
    }

    #[test]
    fn crl_issuer_key_usage_has_crl_sign() {
        let key = KeyPair::generate().unwrap();
        let signer = ca(&key, &[KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign]);
        let list = crl(&signer, &key);
        let crls = std::slice::from_ref(&list);
        // The same CA (name and key) reissued with other key usages.
        let both = signer.der().clone();
        let no_key_usage = ca(&key, &[]).der().clone();
        let cert_sign_only = ca(&key, &[KeyUsagePurpose::KeyCertSign]).der().clone();

        assert_eq!(super::crls(&[], Some(&both), crls), Ok(()));
        assert_eq!(super::crls(&[], Some(&no_key_usage), crls), Ok(()));
        let root = super::crls(&[], Some(&cert_sign_only), crls).unwrap_err();
        assert_eq!(root.check(), ChainCheck::CrlSign);
        assert_eq!(root.position(), Position::Root);
        assert_eq!(root.detail(), "issued CRL #0, but its keyUsage lacks cRLSign");
        let intermediate = super::crls(std::slice::from_ref(&cert_sign_only), None, crls).unwrap_err();
        assert_eq!(intermediate.position(), Position::Intermediate(0));

        // A CRL from a CA outside the path is not looked at.
        let other_key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, "another CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        let other = params.self_signed(&other_key).unwrap().der().clone();
        assert_eq!(super::crls(&[], Some(&other), crls), Ok(()));
        assert_eq!(super::crls(&[], Some(&cert_sign_only), &[]), Ok(()));
    }

    /// `SEQUENCE { SET { SEQUENCE { CN, UTF8String value } } }`.
    fn cn_name(value: &str) -> Vec<u8> {
        let mut atv = vec![
            0x06,
            0x03,
            0x55,
            0x04,
            0x03,
            0x0c,
            u8::try_from(value.len()).unwrap(),
        ];
        atv.extend(value.as_bytes());
        let mut set = vec![0x30, u8::try_from(atv.len()).unwrap()];
        set.extend(atv);
        let mut rdn = vec![0x31, u8::try_from(set.len()).unwrap()];
        rdn.extend(set);
        let mut name = vec![0x30, u8::try_from(rdn.len()).unwrap()];
        name.extend(rdn);
        name
    }

    /// `tag { SEQUENCE { base } }` for each base.
    fn subtrees(tag: u8, bases: &[Vec<u8>]) -> Vec<u8> {
        let mut list = Vec::new();
        for base in bases {
            list.push(0x30);
            der_length(base.len(), &mut list);
            list.extend(base);
        }
        let mut out = vec![tag];
        der_length(list.len(), &mut out);
        out.extend(list);
        out
    }

    fn directory_name(name: Vec<u8>) -> Vec<u8> {
        let mut out = vec![0xa4];
        der_length(name.len(), &mut out);
        out.extend(name);
        out
    }

    #[test]
    fn directory_name_subtrees_are_split_off_byte_for_byte() {
        let dns = b"\x82\x0bexample.com".to_vec();
        let dn_foo = directory_name(cn_name("foo"));
        let dn_bar = directory_name(cn_name("bar"));
        // Permitted: dNSName and CN=foo; excluded: CN=bar.
        let mut nc = subtrees(0xa0, &[dns.clone(), dn_foo.clone()]);
        nc.extend(subtrees(0xa1, std::slice::from_ref(&dn_bar)));
        let (rest, dn) = split_directory_name_constraints(&nc).unwrap();
        assert_eq!(rest, Some(subtrees(0xa0, std::slice::from_ref(&dns))));
        assert_eq!(dn.permitted.len(), 1);
        assert_eq!(dn.excluded.len(), 1);
        assert_eq!(
            name_key(&dn.permitted[0]),
            name_key(&rasn::der::decode::<Name>(&cn_name("FOO")).unwrap())
        );

        // Only directoryName subtrees: nothing left for webpki.
        let only_dn = subtrees(0xa0, std::slice::from_ref(&dn_foo));
        assert_eq!(split_directory_name_constraints(&only_dn).unwrap().0, None);
        // No directoryName subtree, or unreadable: webpki keeps the extension as it is.
        assert_eq!(split_directory_name_constraints(&subtrees(0xa0, &[dns])), None);
        assert_eq!(
            split_directory_name_constraints(&only_dn[..only_dn.len() - 1]),
            None
        );
        let bad_name = subtrees(0xa0, &[vec![0xa4, 0x02, 0x05, 0x00]]);
        assert_eq!(split_directory_name_constraints(&bad_name), None);
        // Long lengths survive the rewrite.
        let long: Vec<Vec<u8>> = (0..40)
            .map(|i| {
                let host = format!("host{i:02}.example");
                let mut v = vec![0x82, u8::try_from(host.len()).unwrap()];
                v.extend(host.bytes());
                v
            })
            .collect();
        let mut with_dn = long.clone();
        with_dn.push(dn_foo);
        let (rest, _) = split_directory_name_constraints(&subtrees(0xa0, &with_dn)).unwrap();
        assert_eq!(rest, Some(subtrees(0xa0, &long)));
    }

    #[test]
    fn subject_and_san_directory_names_are_checked_against_the_root() {
        let permitted_foo = DirectoryNameConstraints {
            permitted: vec![rasn::der::decode(&cn_name("foo")).unwrap()],
            excluded: Vec::new(),
        };
        let excluded_foo = DirectoryNameConstraints {
            permitted: Vec::new(),
            excluded: permitted_foo.permitted.clone(),
        };
        let leaf = |cn: &str, san_dn: Option<&str>| {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.distinguished_name = rcgen::DistinguishedName::new();
            params.distinguished_name.push(DnType::CommonName, cn);
            // rcgen 0.13 has no directoryName SAN: GeneralNames by hand.
            let mut names = b"\x82\x0bexample.com".to_vec();
            if let Some(dn) = san_dn {
                names.extend(directory_name(cn_name(dn)));
            }
            let mut san = vec![0x30];
            der_length(names.len(), &mut san);
            san.extend(names);
            params
                .custom_extensions
                .push(rcgen::CustomExtension::from_oid_content(&[2, 5, 29, 17], san));
            params.self_signed(&key).unwrap().der().clone()
        };
        let check = |c: &DirectoryNameConstraints, der: &CertificateDer<'_>| {
            directory_name_constraints(c, der, &[]).map_err(|f| {
                assert_eq!(f.check(), ChainCheck::DirectoryNameConstraints);
                f.detail().to_owned()
            })
        };
        assert_eq!(check(&permitted_foo, &leaf("foo", None)), Ok(()));
        assert_eq!(check(&permitted_foo, &leaf("foo", Some("foo"))), Ok(()));
        assert_eq!(
            check(&permitted_foo, &leaf("bar", None)),
            Err("subject is not within the root's permitted directoryName subtrees".to_owned())
        );
        assert!(check(&permitted_foo, &leaf("foo", Some("bar"))).is_err());
        assert!(check(&excluded_foo, &leaf("foo", None)).is_err());
        assert!(check(&excluded_foo, &leaf("bar", Some("foo"))).is_err());
        assert_eq!(check(&excluded_foo, &leaf("bar", Some("baz"))), Ok(()));
        // An intermediate is checked too, with its position.
        let err =
            directory_name_constraints(&permitted_foo, &leaf("foo", None), &[leaf("bar", None)]).unwrap_err();
        assert_eq!(err.position(), Position::Intermediate(0));
    }
}
