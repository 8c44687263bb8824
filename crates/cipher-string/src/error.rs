//! The errors OpenSSL 1.1.1d's `SSL_CTX_set_cipher_list` and `SSL_CTX_set_ciphersuites` raise.

use crate::diagnostic::Diagnostic;

/// Why OpenSSL 1.1.1d refuses a cipher string (`SSL_CTX_set_cipher_list` returns 0).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A character where a keyword, suite name or `@` command was expected (`RSA:*`,
    /// `RSA:!`, `RSA+:AES`); OpenSSL's `SSL_R_INVALID_COMMAND`. A NUL byte is reported
    /// here too (OpenSSL, reading a C string, would stop at it).
    #[error("byte {offset}: {} where a cipher keyword, suite name or @command was expected", found_text(*.found))]
    UnexpectedChar {
        /// Byte offset in the string.
        offset: usize,
        /// The character found, `None` at the end of the string.
        found: Option<char>,
    },
    /// An `@` command other than `@STRENGTH` and `@SECLEVEL=0`..`5`; also
    /// `SSL_R_INVALID_COMMAND`.
    #[error("byte {offset}: unknown command `@{command}` (expected @STRENGTH or @SECLEVEL=0 to 5)")]
    BadCommand {
        /// Byte offset of the `@`.
        offset: usize,
        /// The command word after `@`.
        command: String,
    },
    /// The string selects no TLS <= 1.2 suite (`SSL_R_NO_CIPHER_MATCH`); the diagnostics
    /// usually say why.
    #[error(
        "the cipher string selects no TLS 1.2-or-earlier cipher suite{}",
        diagnostics_text(diagnostics)
    )]
    NoCipherMatch {
        /// What was ignored along the way.
        diagnostics: Vec<Diagnostic>,
    },
}

impl Error {
    /// The reason string OpenSSL 1.1.1d prints for this error (`invalid command` or
    /// `no cipher match`).
    pub fn openssl_reason(&self) -> &'static str {
        match self {
            Error::UnexpectedChar { .. } | Error::BadCommand { .. } => "invalid command",
            Error::NoCipherMatch { .. } => "no cipher match",
        }
    }

    /// The byte offset the error points at, if it points at one.
    pub fn offset(&self) -> Option<usize> {
        match self {
            Error::UnexpectedChar { offset, .. } | Error::BadCommand { offset, .. } => Some(*offset),
            Error::NoCipherMatch { .. } => None,
        }
    }
}

fn found_text(found: Option<char>) -> String {
    match found {
        None => "end of string".to_owned(),
        Some(c) if c.is_ascii_graphic() => format!("`{c}`"),
        Some(c) => format!("{:?}", c),
    }
}

fn diagnostics_text(d: &[Diagnostic]) -> String {
    let warnings: Vec<String> = d
        .iter()
        .filter(|d| d.is_warning())
        .map(|d| d.kind.to_string())
        .collect();
    if warnings.is_empty() {
        String::new()
    } else {
        format!(" ({})", warnings.join("; "))
    }
}

/// Why OpenSSL 1.1.1d refuses a TLS 1.3 `ciphersuites` list (`SSL_CTX_set_ciphersuites`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Tls13Error {
    /// An element that names no suite by its IANA name (an empty element, as in `A::B` or
    /// a trailing `:`, included); OpenSSL's `ciphersuite_cb: no cipher match`.
    #[error("byte {offset}: `{name}` is not a cipher suite name (expected e.g. TLS_AES_256_GCM_SHA384)")]
    UnknownSuite {
        /// Byte offset of the element (after leading white space).
        offset: usize,
        /// The element, white space trimmed.
        name: String,
    },
}
