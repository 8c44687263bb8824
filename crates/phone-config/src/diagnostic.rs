//! Diagnostics: everything `parse` has to say about a file, in one list.

use std::fmt;

/// How serious a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth knowing; never changes the exit status of `phone-agent check`.
    Note,
    /// The file is valid, but the phone will behave in a way the administrator may not expect
    /// (a security feature off, a setting that has no effect, an unknown parameter close to a
    /// known one).
    Warning,
    /// The phone would refuse or ignore the setting: a value outside its domain, malformed XML,
    /// a server outside the restricted access domains.
    Error,
}

impl Severity {
    /// The lower-case word compilers use: `note`, `warning`, `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a [`Diagnostic`] is about, for tools that filter or count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// The file is not well-formed XML.
    Xml,
    /// The file is not UTF-8, or is larger than [`crate::MAX_INPUT_LEN`].
    Input,
    /// An element the settings model does not know (kept in `Settings::unknown`).
    UnknownParameter,
    /// The same parameter is set more than once.
    Duplicate,
    /// A per-line parameter names a line outside 1..=16.
    LineNumber,
    /// A `ua` attribute other than `na`, `ro` or `rw`, or another attribute.
    Attribute,
    /// A value outside its parameter's domain.
    Value,
    /// A server outside `Restricted_Access_Domains`.
    RestrictedDomain,
    /// A `Firewall_Config` problem.
    Firewall,
    /// A `DHCP_Option_To_Use` / `DHCPv6_Option_To_Use` problem.
    DhcpOptions,
    /// An `LDAP_Server` / `LDAP_StartTLS_Enable` / `LDAP_Auth_Method` problem.
    Ldap,
    /// An HTTP proxy setting that contradicts another.
    HttpProxy,
    /// `MediaSec_Over_TLS_Only_n_` on a line whose transport is not TLS.
    MediaSec,
    /// `TLS_Name_Validate_n_` turned off.
    TlsNameValidation,
    /// A provisioning rule (`Profile_Rule`, `Upgrade_Rule`, ...) that does not parse.
    Rule,
    /// A `TLS_Cipher_List` OpenSSL 1.1.1d refuses, parts of it OpenSSL ignores, or a list no
    /// suite of which rustls can negotiate.
    CipherList,
}

impl Kind {
    /// A short stable code, printed as `error[code]` and in JSON.
    pub fn code(self) -> &'static str {
        match self {
            Kind::Xml => "xml",
            Kind::Input => "input",
            Kind::UnknownParameter => "unknown-parameter",
            Kind::Duplicate => "duplicate",
            Kind::LineNumber => "line-number",
            Kind::Attribute => "attribute",
            Kind::Value => "value",
            Kind::RestrictedDomain => "restricted-domain",
            Kind::Firewall => "firewall",
            Kind::DhcpOptions => "dhcp-options",
            Kind::Ldap => "ldap",
            Kind::HttpProxy => "http-proxy",
            Kind::MediaSec => "mediasec",
            Kind::TlsNameValidation => "tls-name-validation",
            Kind::Rule => "rule",
            Kind::CipherList => "cipher-list",
        }
    }
}

/// A position in the input: 1-based line, and 1-based column counted in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One finding about a `cfg.xml`: what is wrong, where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// How serious it is.
    pub severity: Severity,
    /// What it is about.
    pub kind: Kind,
    /// The parameter (element name as written in the file), when there is one.
    pub parameter: Option<String>,
    /// Where in the file; `None` for findings about the file as a whole.
    pub location: Option<Location>,
    /// What is wrong.
    pub message: String,
    /// What to write instead, or why it matters.
    pub hint: Option<String>,
}

impl Diagnostic {
    pub(crate) fn new(severity: Severity, kind: Kind, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            kind,
            parameter: None,
            location: None,
            message: message.into(),
            hint: None,
        }
    }

    pub(crate) fn at(mut self, location: Option<Location>) -> Self {
        self.location = location;
        self
    }

    pub(crate) fn param(mut self, name: impl Into<String>) -> Self {
        self.parameter = Some(name.into());
        self
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The 1-based line, if the diagnostic has a location.
    pub fn line(&self) -> Option<u32> {
        self.location.map(|l| l.line)
    }

    /// The 1-based column, if the diagnostic has a location.
    pub fn column(&self) -> Option<u32> {
        self.location.map(|l| l.column)
    }
}

/// `error[value]: SIP_Transport_1_: ...` (without the file name, which the caller knows).
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(loc) = self.location {
            write!(f, "{loc}: ")?;
        }
        write!(f, "{}[{}]: ", self.severity, self.kind.code())?;
        if let Some(p) = &self.parameter {
            write!(f, "{p}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " (hint: {h})")?;
        }
        Ok(())
    }
}
