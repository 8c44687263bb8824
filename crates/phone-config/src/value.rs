//! Typed values: what every parameter holds, where it came from, and who may change it.

use std::fmt;

pub use phone_secret::SecretString;

use crate::diagnostic::{Kind, Location, Severity};

/// The `ua` attribute: what the phone's user (not the administrator) may do with a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// `na`: the user can neither see nor change the value.
    NoAccess,
    /// `ro`: the user can see the value but not change it.
    ReadOnly,
    /// `rw`: the user can see and change the value.
    ReadWrite,
}

impl Access {
    /// Parses `na`, `ro` or `rw` (case-insensitive).
    pub fn parse(text: &str) -> Option<Access> {
        match text.trim().to_ascii_lowercase().as_str() {
            "na" => Some(Access::NoAccess),
            "ro" => Some(Access::ReadOnly),
            "rw" => Some(Access::ReadWrite),
            _ => None,
        }
    }

    /// The attribute value as written in `cfg.xml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::NoAccess => "na",
            Access::ReadOnly => "ro",
            Access::ReadWrite => "rw",
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Not in the file: the phone's default.
    Default,
    /// Read from the file at this location.
    File(Location),
    /// The file set it at `location` to `text`, which was rejected (see the diagnostics); the
    /// value is the default, as on the phone, which ignores an invalid value.
    Rejected {
        /// Where the rejected value is.
        location: Location,
        /// The rejected text, as written (secrets are never kept here).
        text: String,
    },
}

/// One parameter's value with its `ua` attribute and origin.
#[derive(Debug, Clone)]
pub struct Value<T> {
    value: T,
    access: Option<Access>,
    origin: Origin,
    /// Byte offset of the value's text in the input, when the file spells it literally.
    span: Option<usize>,
}

impl<T> Value<T> {
    pub(crate) fn default_value(value: T) -> Self {
        Value {
            value,
            access: None,
            origin: Origin::Default,
            span: None,
        }
    }

    pub(crate) fn set(&mut self, value: T, access: Option<Access>, location: Location, span: Option<usize>) {
        self.value = value;
        self.access = access;
        self.origin = Origin::File(location);
        self.span = span;
    }

    pub(crate) fn span(&self) -> Option<usize> {
        self.span
    }

    pub(crate) fn reject(&mut self, access: Option<Access>, location: Location, text: String) {
        self.access = access;
        self.origin = Origin::Rejected { location, text };
    }

    /// The effective value (the default when the file does not set it or sets it wrongly).
    pub fn get(&self) -> &T {
        &self.value
    }

    /// The `ua` attribute, when the file gave one.
    pub fn access(&self) -> Option<Access> {
        self.access
    }

    /// Where the value came from.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Where the file sets this parameter, whether the value was accepted or not.
    pub fn location(&self) -> Option<Location> {
        match &self.origin {
            Origin::Default => None,
            Origin::File(l) | Origin::Rejected { location: l, .. } => Some(*l),
        }
    }
}

/// A problem found while parsing one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub severity: Severity,
    pub message: String,
    pub hint: Option<String>,
    /// Byte offset of the problem inside the (trimmed) value text, when it is more precise
    /// than the start of the value.
    pub offset: Option<usize>,
}

impl Problem {
    pub fn error(message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Error,
            message: message.into(),
            hint: None,
            offset: None,
        }
    }

    pub fn warning(message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Warning,
            ..Problem::error(message)
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn offset(mut self, offset: usize) -> Self {
        self.offset = Some(offset);
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// A type a parameter's text parses into.
pub(crate) trait Param: Sized {
    /// The kind of diagnostic problems with this type are reported as.
    const KIND: Kind = Kind::Value;
    /// Whether the raw text may be kept in diagnostics and [`Origin::Rejected`].
    const SECRET: bool = false;

    /// Parses trimmed text. Pushes errors and warnings to `problems`; returns `None` when the
    /// value must be rejected (then at least one error was pushed).
    fn parse_param(text: &str, problems: &mut Vec<Problem>) -> Option<Self>;

    /// The value as `phone-agent show` prints it.
    fn show(&self) -> String;
}

impl Param for String {
    fn show(&self) -> String {
        self.to_string()
    }
    fn parse_param(text: &str, _: &mut Vec<Problem>) -> Option<Self> {
        Some(text.to_owned())
    }
}

impl Param for SecretString {
    fn show(&self) -> String {
        self.to_string()
    }
    const SECRET: bool = true;
    fn parse_param(text: &str, _: &mut Vec<Problem>) -> Option<Self> {
        Some(SecretString::new(text))
    }
}

/// An optional value: empty text means "not set".
impl<T: Param> Param for Option<T> {
    const KIND: Kind = T::KIND;
    fn parse_param(text: &str, problems: &mut Vec<Problem>) -> Option<Self> {
        if text.is_empty() {
            Some(None)
        } else {
            T::parse_param(text, problems).map(Some)
        }
    }

    fn show(&self) -> String {
        self.as_ref().map(T::show).unwrap_or_default()
    }
}

/// A `Yes`/`No` parameter. `Enabled`/`Disabled` are accepted too, case-insensitively.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct YesNo(pub bool);

/// An `Enabled`/`Disabled` parameter (`Firewall`). `Yes`/`No` are accepted too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Enabled(pub bool);

fn parse_bool(text: &str, expected: &str, problems: &mut Vec<Problem>) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "yes" | "enabled" => return Some(true),
        "no" | "disabled" => return Some(false),
        _ => {}
    }
    let localized = match text {
        "예" | "활성화" | "사용" => Some(true),
        "아니요" | "아니오" | "비활성화" | "사용 안 함" => Some(false),
        _ => None,
    };
    let mut problem = Problem::error(format!("`{text}` is not a value this parameter takes"));
    problem = match localized {
        Some(yes) => problem.hint(format!(
            "expected {expected}; the phone reads only the English words, so write `{}` \
             (`{text}` is the web page's translation)",
            if yes {
                expected_yes(expected)
            } else {
                expected_no(expected)
            }
        )),
        None => problem.hint(format!("expected {expected} (case-insensitive)")),
    };
    problems.push(problem);
    None
}

fn expected_yes(expected: &str) -> &'static str {
    if expected.starts_with("Enabled") {
        "Enabled"
    } else {
        "Yes"
    }
}

fn expected_no(expected: &str) -> &'static str {
    if expected.starts_with("Enabled") {
        "Disabled"
    } else {
        "No"
    }
}

impl Param for YesNo {
    fn show(&self) -> String {
        self.to_string()
    }
    fn parse_param(text: &str, problems: &mut Vec<Problem>) -> Option<Self> {
        parse_bool(text, "Yes or No", problems).map(YesNo)
    }
}

impl fmt::Display for YesNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0 { "Yes" } else { "No" })
    }
}

impl Param for Enabled {
    fn show(&self) -> String {
        self.to_string()
    }
    fn parse_param(text: &str, problems: &mut Vec<Problem>) -> Option<Self> {
        parse_bool(text, "Enabled or Disabled", problems).map(Enabled)
    }
}

impl fmt::Display for Enabled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0 { "Enabled" } else { "Disabled" })
    }
}

/// Parses a decimal number of at most `max` (no sign, no spaces inside).
pub(crate) fn parse_number(text: &str, max: u32) -> Option<u32> {
    if text.is_empty() || text.len() > 10 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u64>()
        .ok()
        .filter(|n| *n <= u64::from(max))
        .and_then(|n| u32::try_from(n).ok())
}

/// A TCP or UDP port, 1 to 65535.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Port(u16);

impl Port {
    /// A port; `None` for 0.
    pub const fn new(port: u16) -> Option<Port> {
        if port == 0 { None } else { Some(Port(port)) }
    }

    pub(crate) const fn from_default(port: u16) -> Port {
        Port(port)
    }

    /// The port number.
    pub const fn get(self) -> u16 {
        self.0
    }

    pub(crate) fn parse_text(text: &str) -> Result<Port, Problem> {
        match parse_number(text, 65535).and_then(|n| u16::try_from(n).ok()) {
            Some(n) if n > 0 => Ok(Port(n)),
            _ => Err(Problem::error(format!("`{text}` is not a port number"))
                .hint("expected a number from 1 to 65535")),
        }
    }
}

impl Param for Port {
    fn show(&self) -> String {
        self.to_string()
    }
    fn parse_param(text: &str, problems: &mut Vec<Problem>) -> Option<Self> {
        Port::parse_text(text).map_err(|p| problems.push(p)).ok()
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Declares an enum of keywords, parsed case-insensitively and printed as the phone spells them.
macro_rules! keyword_enum {
    ($(#[$m:meta])* pub enum $name:ident { $( $(#[$vm:meta])* $variant:ident = $text:literal, )+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $( $(#[$vm])* $variant, )+ }

        impl $name {
            /// Every value, in the order the phone's web page lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as the phone spells it.
            pub fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $text, )+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Param for $name {
            fn show(&self) -> String {
                self.to_string()
            }
            fn parse_param(text: &str, problems: &mut Vec<Problem>) -> Option<Self> {
                $( if text.eq_ignore_ascii_case($text) { return Some($name::$variant); } )+
                let expected = [$($text),+].join(", ");
                problems.push(
                    Problem::error(format!("`{text}` is not one of the values this parameter takes"))
                        .hint(format!("expected one of {expected}")),
                );
                None
            }
        }
    };
}

keyword_enum! {
    /// `SIP_Transport_n_`: how a line carries SIP.
    pub enum SipTransport {
        /// SIP over UDP (the default).
        Udp = "UDP",
        /// SIP over TCP.
        Tcp = "TCP",
        /// SIP over TLS.
        Tls = "TLS",
        /// Chosen from DNS NAPTR/SRV records.
        Auto = "AUTO",
    }
}

impl SipTransport {
    /// The transport this setting fixes, in the SIP crates' own type; `None` for AUTO, where
    /// RFC 3263 (NAPTR, SRV) picks one per target.
    pub fn fixed(self) -> Option<sip_message::Transport> {
        match self {
            SipTransport::Udp => Some(sip_message::Transport::Udp),
            SipTransport::Tcp => Some(sip_message::Transport::Tcp),
            SipTransport::Tls => Some(sip_message::Transport::Tls),
            SipTransport::Auto => None,
        }
    }
}

keyword_enum! {
    /// `Proxy_Mode`: how HTTP traffic reaches the network.
    pub enum ProxyMode {
        /// Find a PAC file (WPAD or `PAC_URL`).
        Auto = "Auto",
        /// `Proxy_Host`:`Proxy_Port`.
        Manual = "Manual",
        /// No proxy (the default).
        Off = "Off",
    }
}

keyword_enum! {
    /// `LDAP_Auth_Method`: how the phone binds to the directory.
    pub enum LdapAuthMethod {
        /// Anonymous bind (the default, and the guide's recommendation).
        None = "None",
        /// Simple bind: the password travels as it is.
        Simple = "Simple",
        /// SASL DIGEST-MD5.
        DigestMd5 = "DIGEST-MD5",
    }
}

keyword_enum! {
    /// `Agent_802.1X_Method`: the EAP method the supplicant answers with (SPEC §12 names
    /// EAP-FAST and EAP-TLS; the guide gives no parameter for the choice).
    pub enum Dot1xMethod {
        /// EAP-TLS with the phone's certificate (the default).
        EapTls = "EAP-TLS",
        /// EAP-FAST with a PAC and an inner password method.
        EapFast = "EAP-FAST",
    }
}

keyword_enum! {
    /// `Agent_EAP_FAST_Inner_Method`: the method inside the EAP-FAST tunnel.
    pub enum FastInnerMethod {
        /// EAP-MSCHAPv2 (the default; the only one anonymous provisioning allows).
        MsChapV2 = "MSCHAPv2",
        /// EAP-GTC.
        Gtc = "GTC",
    }
}

keyword_enum! {
    /// `Agent_EAP_FAST_Provisioning`: which PAC provisioning the phone accepts, as
    /// wpa_supplicant's `fast_provisioning`.
    pub enum FastProvisioning {
        /// None: only a PAC on file is used.
        Off = "0",
        /// Anonymous Diffie-Hellman (RFC 5422 §3.2.2; the default).
        Anonymous = "1",
        /// Server-authenticated (the server's certificate checked against the CA).
        Authenticated = "2",
        /// Either.
        Both = "3",
    }
}

impl FastProvisioning {
    /// wpa_supplicant's `fast_provisioning` number.
    pub fn level(self) -> u8 {
        match self {
            FastProvisioning::Off => 0,
            FastProvisioning::Anonymous => 1,
            FastProvisioning::Authenticated => 2,
            FastProvisioning::Both => 3,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<T: Param>(text: &str) -> (Option<T>, Vec<Problem>) {
        let mut p = Vec::new();
        (T::parse_param(text, &mut p), p)
    }

    #[test]
    fn yes_no_spellings() {
        for t in ["Yes", "yes", "YES", "Enabled", "enabled"] {
            assert_eq!(parse::<YesNo>(t).0, Some(YesNo(true)), "{t}");
        }
        for t in ["No", "no", "Disabled"] {
            assert_eq!(parse::<YesNo>(t).0, Some(YesNo(false)), "{t}");
        }
        let (v, p) = parse::<YesNo>("On");
        assert_eq!(v, None);
        assert_eq!(
            p[0].hint.as_deref(),
            Some("expected Yes or No (case-insensitive)")
        );
    }

    #[test]
    fn korean_yes_is_rejected_with_the_word_to_write() {
        let (v, p) = parse::<YesNo>("예");
        assert_eq!(v, None);
        assert!(p[0].hint.as_deref().unwrap().contains("write `Yes`"), "{p:?}");
        let (v, p) = parse::<Enabled>("비활성화");
        assert_eq!(v, None);
        assert!(
            p[0].hint.as_deref().unwrap().contains("write `Disabled`"),
            "{p:?}"
        );
    }

    #[test]
    fn ports() {
        assert_eq!(parse::<Port>("3128").0, Port::new(3128));
        for bad in [
            "0",
            "65536",
            "99999",
            "-1",
            "+80",
            "8 0",
            "",
            "99999999999999999999",
        ] {
            let (v, p) = parse::<Port>(bad);
            assert_eq!(v, None, "{bad}");
            assert_eq!(p[0].hint.as_deref(), Some("expected a number from 1 to 65535"));
        }
    }

    #[test]
    fn keywords_are_case_insensitive_and_list_what_is_expected() {
        assert_eq!(parse::<SipTransport>("tls").0, Some(SipTransport::Tls));
        let (v, p) = parse::<SipTransport>("SCTP");
        assert_eq!(v, None);
        assert_eq!(p[0].hint.as_deref(), Some("expected one of UDP, TCP, TLS, AUTO"));
    }

    #[test]
    fn secrets_never_print() {
        let s = SecretString::new("hunter2");
        assert_eq!(format!("{s}"), "<redacted>");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(s.expose(), "hunter2");
        assert_eq!(format!("{}", SecretString::default()), "");
    }
}
