//! One secret type for passwords and key material: [`SecretString`] (a password from
//! `cfg.xml`) and [`SecretBytes`] (an MSK, a RADIUS shared secret, a private key), both
//! [`Secret`].
//!
//! ```
//! use phone_secret::{SecretBytes, SecretString};
//!
//! let password = SecretString::new("hunter2");
//! assert_eq!(format!("{password:?}"), "<redacted>");
//! assert_eq!(format!("{password}"), "<redacted>");
//! assert_eq!(password.expose(), "hunter2");
//! assert_eq!(password, SecretString::from("hunter2")); // constant time
//!
//! let msk = SecretBytes::new(vec![0xde, 0xad]);
//! assert_eq!(msk.expose(), &[0xde, 0xad]);
//! assert_ne!(msk, SecretBytes::new(vec![0xde, 0xae]));
//! ```
//!
//! What a `Secret` guarantees:
//! - `Debug` prints `<redacted>`, always; `Display` prints `<redacted>`, or nothing when the
//!   secret is empty (so a settings listing shows which passwords are set);
//! - the contents are zeroized when the value is dropped ([`zeroize`]); a copy the caller made
//!   before wrapping is the caller's to wipe, so hand over ownership;
//! - `==` compares the contents in constant time ([`subtle`]): only a difference in length
//!   returns early (the length of a password or key is not treated as secret);
//! - the value is read only through `expose()`, so every use stands out in review.
//!
//! Why a crate of its own rather than `secrecy` directly: `secrecy`'s `SecretBox` has no
//! equality (by design) and no `Display`, so every crate that keeps a password in a
//! comparable settings struct wrapped it again, with its own `Debug` text. One small type on
//! the same two well-kept crates (`zeroize`, `subtle`) gives every crate the same four
//! properties.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroize;

mod sealed {
    pub trait Sealed {}
    impl Sealed for String {}
    impl Sealed for Vec<u8> {}
}

/// What a [`Secret`] can hold: `String` or `Vec<u8>` (sealed).
pub trait SecretValue: sealed::Sealed + Zeroize + AsRef<[u8]> {}
impl SecretValue for String {}
impl SecretValue for Vec<u8> {}

/// A secret: redacted when printed, zeroized on drop, compared in constant time. Use it
/// through [`SecretString`] or [`SecretBytes`].
#[derive(Clone, Default)]
pub struct Secret<T: SecretValue>(T);

/// A password or other secret text.
pub type SecretString = Secret<String>;

/// Secret bytes: keys (MSK, EMSK), a RADIUS shared secret, a private key.
pub type SecretBytes = Secret<Vec<u8>>;

impl<T: SecretValue> Secret<T> {
    /// The number of bytes.
    pub fn len(&self) -> usize {
        self.0.as_ref().len()
    }

    /// Whether the secret is empty (for a setting: not set).
    pub fn is_empty(&self) -> bool {
        self.0.as_ref().is_empty()
    }

    /// The secret as bytes (a password's UTF-8). Named so that every use stands out.
    pub fn expose_bytes(&self) -> &[u8] {
        self.0.as_ref()
    }
}

impl Secret<String> {
    /// Wraps a password; pass ownership so that no copy stays behind.
    pub fn new(secret: impl Into<String>) -> Self {
        Secret(secret.into())
    }

    /// The secret itself, for the code that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Secret<Vec<u8>> {
    /// Wraps secret bytes; pass ownership so that no copy stays behind.
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        Secret(secret.into())
    }

    /// The secret bytes, for the code that must use them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl From<String> for SecretString {
    fn from(secret: String) -> Self {
        Secret(secret)
    }
}

impl From<&str> for SecretString {
    fn from(secret: &str) -> Self {
        Secret(secret.to_owned())
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(secret: Vec<u8>) -> Self {
        Secret(secret)
    }
}

impl From<&[u8]> for SecretBytes {
    fn from(secret: &[u8]) -> Self {
        Secret(secret.to_vec())
    }
}

impl<T: SecretValue> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: SecretValue> ConstantTimeEq for Secret<T> {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        // `subtle`'s slice comparison returns early only on a length difference.
        self.0.as_ref().ct_eq(other.0.as_ref())
    }
}

impl<T: SecretValue> PartialEq for Secret<T> {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.ct_eq(other))
    }
}

impl<T: SecretValue> Eq for Secret<T> {}

impl<T: SecretValue> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// `<redacted>`, or nothing when the secret is empty.
impl<T: SecretValue> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            Ok(())
        } else {
            f.write_str("<redacted>")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{SecretBytes, SecretString};

    #[test]
    fn debug_and_display_are_redacted() {
        let s = SecretString::new("hunter2");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(format!("{s}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(&s)), "Some(<redacted>)");
        let b = SecretBytes::new(vec![0xde, 0xad]);
        assert_eq!(format!("{b:?}"), "<redacted>");
        assert_eq!(format!("{b}"), "<redacted>");
        assert_eq!(b.expose(), &[0xde, 0xad]);
    }

    #[test]
    fn an_empty_secret_displays_as_nothing_but_debugs_redacted() {
        assert_eq!(format!("{}", SecretString::default()), "");
        assert_eq!(format!("{:?}", SecretString::default()), "<redacted>");
        assert!(SecretBytes::default().is_empty());
    }

    #[test]
    fn equality_compares_content_and_length() {
        assert_eq!(SecretBytes::new(vec![1, 2]), SecretBytes::new(vec![1, 2]));
        assert_ne!(SecretBytes::new(vec![1, 2]), SecretBytes::new(vec![1, 3]));
        assert_ne!(SecretBytes::new(vec![1, 2]), SecretBytes::new(vec![1]));
        assert_eq!(SecretString::new("pw"), SecretString::from("pw".to_owned()));
        assert_ne!(SecretString::new("pw"), SecretString::new("pW"));
        assert_ne!(SecretString::new("pw"), SecretString::default());
    }

    #[test]
    fn bytes_of_a_password_are_its_utf8() {
        let s = SecretString::new("é");
        assert_eq!(s.expose_bytes(), "é".as_bytes());
        assert_eq!(s.len(), 2);
    }
}
