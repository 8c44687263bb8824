//! Matching profiles: which presented names count, and how.
//!
//! See [`Profile`] for the decision tables.

use std::fmt;
use std::net::IpAddr;

use crate::certificate::{CertificateError, CertificateNames, CertificateVersion};
use crate::matching::{CouldMatch, DnsRules, parse_presented};
use crate::reference::ReferenceName;

/// A server-identity policy. Each variant's documentation is its decision table.
///
/// Shared by all three: the reference name is normalised first (lower case, trailing dot
/// dropped, U-labels to A-labels; see [`ReferenceName`]); comparison is ASCII
/// case-insensitive; a wildcard is only a whole left-most `*` label, matches exactly one
/// label, and never stands over a single-label parent or a public suffix (Public Suffix
/// List, ICANN and private sections); an iPAddress SAN matches an IP reference by value, so
/// every textual form of the same address matches; rfc822Name and other SAN types never
/// identify a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Profile {
    /// RFC 9525 server identity: subjectAltName only. The safe default.
    ///
    /// | Question | Decision | Why |
    /// |---|---|---|
    /// | Which presented names count? | SAN dNSName for a DNS reference, SAN iPAddress for an IP reference | RFC 9525 §6.3–6.4 |
    /// | Subject CN? | never consulted | RFC 9525 removed CN-ID (§1.5, Appendix A) |
    /// | Wildcard `*.example.com` | matches one label: `a.example.com`, not `example.com` or `a.b.example.com` | RFC 9525 §6.3 |
    /// | Partial wildcard `f*.example.com`, `*o.example.com` | never matches | RFC 9525 §6.3 drops RFC 6125's partial form |
    /// | `*.com`, `*.co.uk`, `*.s3.amazonaws.com`, `*` | never matches | single-label parent or public suffix (CA/B BR 3.2.2.6) |
    /// | `_` in a presented name | never matches | RFC 5280 §4.2.1.6 requires the preferred name syntax |
    /// | Presented name ending in `.` | never matches | presented identifiers are relative |
    /// | Reference ending in `.` | dot dropped, then compared | RFC 9525 §6.3 (absolute and relative name the same host) |
    /// | Raw UTF-8 (a U-label) in a dNSName | never matches | dNSName is IA5String: A-labels only (RFC 5280 §7.2) |
    /// | IP reference vs a dNSName `192.0.2.1` | never matches | RFC 9525 §6.4: IP-ID only from iPAddress |
    ///
    /// When used by [`ServerIdentityVerifier`](crate::ServerIdentityVerifier), `Strict` also
    /// applies the RFC 5280 / CA/B Forum certificate checks listed in
    /// [`ChainCheck`](crate::ChainCheck).
    #[default]
    Strict,
    /// The phone's rule (SPEC §10, "SAN and CN"): `Strict` plus OpenSSL's CN fallback.
    ///
    /// | Question | Decision | Why |
    /// |---|---|---|
    /// | Everything not below | as `Strict` | |
    /// | When is the subject CN consulted? | only when the certificate has **no SAN of the reference's type** (no dNSName for a DNS reference, no iPAddress for an IP reference) | OpenSSL `X509_check_host`, which the phones this crate replaces use; see below |
    /// | Which CN? | every CN in the subject; any may match | OpenSSL tries every CN |
    /// | How is a CN compared? | as a presented dNSName (same wildcard rules); for an IP reference, a CN that parses as an IP address compared by value | one rule set; a CN `192.168.001.001` never matches |
    /// | `_` in a presented name | allowed | OpenSSL accepts it; private PKIs use it |
    /// | CA/B Forum CN-consistency lints, RFC 5280 issuance checks (AKI/SKI, EKU) | not applied | legacy phone PKIs fail them while being the deployment |
    ///
    /// **OpenSSL's rule versus curl's.** OpenSSL consults the CN when there is no SAN of the
    /// reference's type, and tries every CN. curl (`ossl_verifyhost`) consults the CN only
    /// when there is no dNSName *and* no iPAddress SAN, and then only the last CN. They
    /// differ on a certificate with an IP SAN and `CN=host` (OpenSSL matches `host`, curl
    /// does not) and on multi-CN subjects. This crate takes OpenSSL's rule because the
    /// phones whose behaviour it reproduces are OpenSSL-based: an administrator's existing
    /// certificates keep working exactly as before, no more and no less. The CN fallback is
    /// confined to certificates without a SAN of the reference's type, so a SAN always wins.
    Phone,
    /// The HTTPS-provisioning rule (SPEC §6): `Phone` plus the CN form `host/anything`.
    ///
    /// | Question | Decision | Why |
    /// |---|---|---|
    /// | Everything not below | as `Phone` | |
    /// | CN `pv.telco.net/mailto:admin@telco.net` | matched on the part before the first `/` (`pv.telco.net`), as a presented dNSName | the provisioning guide's documented form |
    /// | When? | whenever `Phone` would consult the CN (no dNSName SAN) and the reference is a DNS name | a SAN always wins |
    /// | Nothing before `/`, or an invalid host | never matches | |
    ///
    /// The phone also looks the certificate's name up in DNS and compares the addresses with
    /// the one it connected to: see [`DnsCrossCheck`](crate::DnsCrossCheck).
    Provisioning,
}

impl Profile {
    /// All profiles, strictest first.
    pub const ALL: [Profile; 3] = [Profile::Strict, Profile::Phone, Profile::Provisioning];

    /// The profile's name as used on command lines: `strict`, `phone`, `provisioning`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Strict => "strict",
            Self::Phone => "phone",
            Self::Provisioning => "provisioning",
        }
    }

    /// Looks a profile up by [`name`](Self::name).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    fn dns_rules(self) -> DnsRules {
        DnsRules {
            allow_underscore: !matches!(self, Self::Strict),
        }
    }

    /// Checks whether a certificate's names identify `reference` under this profile.
    ///
    /// ```
    /// use tls_hostname::{CertificateNames, Profile, ReferenceName, PresentedName};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let der = include_bytes!("../tests/data/provisioning-cn.der");
    /// let names = CertificateNames::from_der(der)?; // CN=pv.telco.net/mailto:admin@telco.net
    /// let host = ReferenceName::parse("pv.telco.net")?;
    /// assert!(Profile::Strict.check(&names, &host).is_err());
    /// assert!(Profile::Phone.check(&names, &host).is_err());
    /// let m = Profile::Provisioning.check(&names, &host)?;
    /// assert!(matches!(m.presented(), PresentedName::ProvisioningCommonName { .. }));
    /// # Ok(()) }
    /// ```
    pub fn check(
        self,
        names: &CertificateNames,
        reference: &ReferenceName,
    ) -> Result<NameMatch, NameMismatch> {
        let rules = self.dns_rules();
        if let ReferenceName::Dns(dns) = reference {
            // The common case first: a dNSName that matches. Only names that could match
            // are validated; when none does, the full pass below also says why each name
            // was ignored. The first match is the same either way.
            let could_match = CouldMatch::new(dns);
            for presented in names.dns_names() {
                if could_match.test(presented)
                    && parse_presented(presented, rules).is_ok_and(|p| p.matches(dns))
                {
                    return Ok(NameMatch::new(PresentedName::DnsSan(presented.clone())));
                }
            }
        }
        let mut notes = Vec::new();
        match reference {
            ReferenceName::Dns(dns) => {
                for presented in names.dns_names() {
                    match parse_presented(presented, rules) {
                        Ok(p) if p.matches(dns) => {
                            return Ok(NameMatch::new(PresentedName::DnsSan(presented.clone())));
                        }
                        Ok(_) => {}
                        Err(why) => notes.push(format!("DNS:{presented} ignored: it {why}")),
                    }
                }
                let cn_reason = self.cn_consulted(!names.dns_names().is_empty(), "dNSName");
                match cn_reason {
                    Err(reason) => {
                        if !names.common_names().is_empty() {
                            notes.push(reason);
                        }
                    }
                    Ok(()) => {
                        for cn in names.common_names() {
                            match parse_presented(cn, rules) {
                                Ok(p) if p.matches(dns) => {
                                    return Ok(NameMatch::new(PresentedName::CommonName(cn.clone())));
                                }
                                Ok(_) => {}
                                Err(why) => {
                                    if self != Self::Provisioning || !cn.contains('/') {
                                        notes.push(format!("CN={cn} ignored: it {why}"));
                                    }
                                }
                            }
                            if self == Self::Provisioning {
                                if let Some(found) = provisioning_cn_match(cn, dns, rules, &mut notes) {
                                    return Ok(NameMatch::new(found));
                                }
                            }
                        }
                    }
                }
            }
            ReferenceName::Ip(ip) => {
                if let Some(found) = names.ip_addresses().iter().find(|a| *a == ip) {
                    return Ok(NameMatch::new(PresentedName::IpSan(*found)));
                }
                for presented in names.dns_names() {
                    if presented.parse::<IpAddr>().is_ok() {
                        notes.push(format!(
                            "DNS:{presented} ignored: an IP address is only matched by an iPAddress SAN"
                        ));
                    }
                }
                match self.cn_consulted(!names.ip_addresses().is_empty(), "iPAddress") {
                    Err(reason) => {
                        if !names.common_names().is_empty() {
                            notes.push(reason);
                        }
                    }
                    Ok(()) => {
                        for cn in names.common_names() {
                            if cn.parse::<IpAddr>().is_ok_and(|a| a == *ip) {
                                return Ok(NameMatch::new(PresentedName::CommonName(cn.clone())));
                            }
                        }
                    }
                }
            }
        }
        Err(NameMismatch {
            reference: reference.clone(),
            profile: self,
            presented: names.describe(),
            notes,
        })
    }

    /// [`check`](Self::check) straight from a DER certificate: the same result as
    /// [`CertificateNames::from_der`] followed by `check`, without building the name lists
    /// when a SAN dNSName matches (no allocation but the returned name). The other cases
    /// (no match, an IP reference, an unusual encoding) take the full path and give its
    /// error or match.
    ///
    /// ```
    /// use tls_hostname::{NameCheckError, Profile, ReferenceName};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let der = include_bytes!("../tests/data/provisioning-cn.der");
    /// let host = ReferenceName::parse("pv.telco.net")?;
    /// assert!(matches!(Profile::Strict.check_der(der, &host), Err(NameCheckError::Mismatch(_))));
    /// assert!(Profile::Provisioning.check_der(der, &host).is_ok());
    /// assert!(matches!(
    ///     Profile::Strict.check_der(b"not DER", &host),
    ///     Err(NameCheckError::Certificate(_))
    /// ));
    /// # Ok(()) }
    /// ```
    pub fn check_der(self, der: &[u8], reference: &ReferenceName) -> Result<NameMatch, NameCheckError> {
        if let ReferenceName::Dns(dns) = reference {
            if let Some((_, found)) = self.dns_san_match_der(der, dns) {
                return Ok(found);
            }
        }
        let names = CertificateNames::from_der(der)?;
        Ok(self.check(&names, reference)?)
    }

    /// The fast half of [`check_der`](Self::check_der): `Some` only when
    /// [`CertificateNames::from_der`] succeeds on `der` and `check` would match a SAN dNSName
    /// (this match), with the certificate's version. `None` says nothing either way.
    pub(crate) fn dns_san_match_der(
        self,
        der: &[u8],
        dns: &crate::reference::DnsReference,
    ) -> Option<(CertificateVersion, NameMatch)> {
        let rules = self.dns_rules();
        let could_match = CouldMatch::new(dns);
        let accept = |presented: &str| {
            could_match.test(presented) && parse_presented(presented, rules).is_ok_and(|p| p.matches(dns))
        };
        let (version, found) = crate::certificate::first_dns_name(der, accept)?;
        Some((version, NameMatch::new(PresentedName::DnsSan(found.to_owned()))))
    }

    /// Whether the CN is consulted, or why not.
    fn cn_consulted(self, has_san_of_type: bool, kind: &str) -> Result<(), String> {
        match self {
            Self::Strict => Err("CN not consulted: the strict profile (RFC 9525) uses SANs only".into()),
            Self::Phone | Self::Provisioning if has_san_of_type => Err(format!(
                "CN not consulted: the certificate has {kind} SANs, which take precedence"
            )),
            Self::Phone | Self::Provisioning => Ok(()),
        }
    }
}

fn provisioning_cn_match(
    cn: &str,
    dns: &crate::reference::DnsReference,
    rules: DnsRules,
    notes: &mut Vec<String>,
) -> Option<PresentedName> {
    let (host, _extra) = cn.split_once('/')?;
    match parse_presented(host, rules) {
        Ok(p) if p.matches(dns) => Some(PresentedName::ProvisioningCommonName {
            common_name: cn.to_owned(),
            host: host.to_owned(),
        }),
        Ok(_) => None,
        Err(why) => {
            notes.push(format!("CN={cn}: host part {host:?} ignored: it {why}"));
            None
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The presented name that identified the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresentedName {
    /// A SAN dNSName (as presented, possibly a wildcard).
    DnsSan(String),
    /// A SAN iPAddress.
    IpSan(IpAddr),
    /// A subject CN, by the CN fallback of [`Profile::Phone`].
    CommonName(String),
    /// A subject CN of the form `host/anything`, by [`Profile::Provisioning`].
    ProvisioningCommonName {
        /// The whole CN.
        common_name: String,
        /// The part before the first `/`, which matched.
        host: String,
    },
}

impl fmt::Display for PresentedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DnsSan(n) => write!(f, "DNS:{n}"),
            Self::IpSan(ip) => write!(f, "IP:{ip}"),
            Self::CommonName(cn) => write!(f, "CN={cn}"),
            Self::ProvisioningCommonName { common_name, .. } => write!(f, "CN={common_name}"),
        }
    }
}

/// A successful name check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameMatch {
    presented: PresentedName,
}

impl NameMatch {
    fn new(presented: PresentedName) -> Self {
        Self { presented }
    }

    /// Which presented name matched.
    pub fn presented(&self) -> &PresentedName {
        &self.presented
    }
}

/// Why [`Profile::check_der`] found no match.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameCheckError {
    /// The certificate's names could not be read.
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    /// The names were read and none identifies the reference.
    #[error(transparent)]
    Mismatch(#[from] NameMismatch),
}

/// A failed name check: what was expected, what the certificate had, and why nothing matched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct NameMismatch {
    reference: ReferenceName,
    profile: Profile,
    presented: Vec<String>,
    notes: Vec<String>,
}

impl NameMismatch {
    /// The name that was expected.
    pub fn reference(&self) -> &ReferenceName {
        &self.reference
    }

    /// The profile that was applied.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// Every name the certificate had (`DNS:…`, `IP:…`, `email:…`, `CN=…`).
    pub fn presented(&self) -> &[String] {
        &self.presented
    }

    /// Why particular names were ignored (invalid patterns, CN not consulted, …).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    fn render(&self) -> String {
        let mut s = format!(
            "certificate is not valid for {} under the {} profile; ",
            self.reference, self.profile
        );
        if self.presented.is_empty() {
            s.push_str("it has no names");
        } else {
            s.push_str("it has ");
            s.push_str(&self.presented.join(", "));
        }
        for n in &self.notes {
            s.push_str("; ");
            s.push_str(n);
        }
        s
    }
}
