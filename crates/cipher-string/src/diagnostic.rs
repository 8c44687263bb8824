//! Diagnostics: what OpenSSL silently ignores or keeps without effect, said out loud.

use std::fmt;
use std::ops::Range;

use crate::table::{ALIASES, SUITES, TLS13};

/// A remark about part of a cipher string that OpenSSL accepts without complaint but that
/// probably does not do what its author meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Byte range in the cipher string.
    pub span: Range<usize>,
    /// What was noticed.
    pub kind: DiagnosticKind,
}

impl Diagnostic {
    pub(crate) fn new(span: Range<usize>, kind: DiagnosticKind) -> Self {
        Self { span, kind }
    }

    /// `true` for remarks that mean part of the string is ignored (everything except
    /// [`DiagnosticKind::SecurityLevel`]).
    pub fn is_warning(&self) -> bool {
        !matches!(self.kind, DiagnosticKind::SecurityLevel { .. })
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bytes {}..{}: {}", self.span.start, self.span.end, self.kind)
    }
}

/// The kinds of [`Diagnostic`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiagnosticKind {
    /// A word that is neither a keyword nor a suite name OpenSSL 1.1.1d offers: OpenSSL
    /// ignores it, together with the rest of its item up to the next separator.
    UnknownWord {
        /// The word as written.
        word: String,
        /// Why it is unknown, or what was probably meant.
        hint: UnknownHint,
    },
    /// A keyword or AND-combination that selects no suite in a default OpenSSL 1.1.1d build
    /// (`3DES`, `RC4`, `LOW`, `kRSA+aECDSA`): it has no effect.
    MatchesNothing {
        /// The item's text, operator included.
        text: String,
    },
    /// `A+B` whose parts exclude each other (`RSA+ECDHE`, `SHA1+SHA256`): OpenSSL ignores
    /// the item.
    EmptyCombination {
        /// The AND-chain up to the part that emptied it.
        text: String,
    },
    /// Text that OpenSSL skips because it follows an ignored word or an `@` command in the
    /// same item (`FOO!RSA` never removes RSA).
    SkippedText {
        /// The skipped text.
        text: String,
    },
    /// A `SUITEB128`, `SUITEB128ONLY`, `SUITEB128C2` or `SUITEB192` prefix: OpenSSL replaces
    /// the whole string (the rest of it is ignored) and turns on Suite B certificate checks.
    SuiteBReplacesString {
        /// The recognised prefix.
        keyword: &'static str,
        /// The cipher string used instead.
        replacement: &'static str,
    },
    /// `@SECLEVEL=n`: kept as the security level; it does not remove suites from the list.
    SecurityLevel {
        /// The level, 0 to 5.
        level: u8,
    },
}

/// Why a word is unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnknownHint {
    /// Nothing is known about the word.
    None,
    /// `DEFAULT` is only recognised as the first seven characters of the whole string.
    DefaultNotAtStart,
    /// `SUITEB...` is only recognised at the start of the whole string.
    SuiteBNotAtStart,
    /// Keywords and names are case-sensitive; this one differs only in case.
    Case {
        /// The spelling OpenSSL knows.
        expected: &'static str,
    },
    /// A suite 1.1.1d knows but a default build does not offer (3DES and RC4 need
    /// `enable-weak-ssl-ciphers`; GOST needs an engine), or a GOST keyword.
    NotInBuild,
    /// A TLS 1.3 suite: those are set by the separate `ciphersuites` list.
    Tls13Suite,
    /// An IANA name; the cipher string takes OpenSSL's names.
    IanaName {
        /// OpenSSL's name for the suite.
        openssl_name: &'static str,
    },
}

impl DiagnosticKind {
    pub(crate) fn hint_is_none(&self) -> bool {
        matches!(
            self,
            DiagnosticKind::UnknownWord {
                hint: UnknownHint::None,
                ..
            }
        )
    }

    pub(crate) fn unknown(word: &str, at_start: bool) -> Self {
        let hint = if word == "DEFAULT" && !at_start {
            UnknownHint::DefaultNotAtStart
        } else if word.starts_with("SUITEB") {
            UnknownHint::SuiteBNotAtStart
        } else if SUITES.iter().any(|s| !s.enabled && s.name == word)
            || ALIASES.iter().any(|a| !a.enabled && a.name == word)
        {
            UnknownHint::NotInBuild
        } else if TLS13.iter().any(|s| s.name == word) {
            UnknownHint::Tls13Suite
        } else if let Some(s) = SUITES.iter().find(|s| s.iana == word) {
            UnknownHint::IanaName { openssl_name: s.name }
        } else if let Some(expected) = SUITES
            .iter()
            .filter(|s| s.enabled)
            .map(|s| s.name)
            .chain(ALIASES.iter().filter(|a| a.enabled).map(|a| a.name))
            .chain(["DEFAULT"])
            .find(|n| n.eq_ignore_ascii_case(word))
        {
            UnknownHint::Case { expected }
        } else {
            UnknownHint::None
        };
        DiagnosticKind::UnknownWord {
            word: word.to_owned(),
            hint,
        }
    }
}

impl fmt::Display for DiagnosticKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiagnosticKind::UnknownWord { word, hint } => {
                write!(f, "`{word}` is ignored: ")?;
                match hint {
                    UnknownHint::None => write!(f, "not a cipher keyword or suite name"),
                    UnknownHint::DefaultNotAtStart => {
                        write!(f, "DEFAULT is only recognised at the start of the string")
                    }
                    UnknownHint::SuiteBNotAtStart => {
                        write!(
                            f,
                            "Suite B keywords are only recognised at the start of the string"
                        )
                    }
                    UnknownHint::Case { expected } => {
                        write!(f, "names are case-sensitive; did you mean `{expected}`?")
                    }
                    UnknownHint::NotInBuild => write!(f, "names no suite in this build"),
                    UnknownHint::Tls13Suite => write!(
                        f,
                        "a TLS 1.3 suite; those are set by the separate ciphersuites list"
                    ),
                    UnknownHint::IanaName { openssl_name } => {
                        write!(f, "an IANA name; OpenSSL calls this suite `{openssl_name}`")
                    }
                }
            }
            DiagnosticKind::MatchesNothing { text } => {
                write!(f, "`{text}` names no suite in this build")
            }
            DiagnosticKind::EmptyCombination { text } => {
                write!(f, "`{text}` selects nothing: its parts exclude each other")
            }
            DiagnosticKind::SkippedText { text } => write!(
                f,
                "`{text}` is skipped: it follows an ignored word or a command in the same item"
            ),
            DiagnosticKind::SuiteBReplacesString { keyword, replacement } => write!(
                f,
                "{keyword} replaces the whole string with `{replacement}` and enables Suite B checks"
            ),
            DiagnosticKind::SecurityLevel { level } => write!(
                f,
                "security level {level} is kept; it does not remove suites from this list"
            ),
        }
    }
}
