//! `Restricted_Access_Domains` (SPEC §1): registration, provisioning, upgrade and report servers
//! must be inside the list. Checked before every connection and every redirect; a refusal is an
//! error that names the setting and the parameter that asked for the host.
//!
//! A host is inside when it equals an entry or is a subdomain of one, label by label,
//! case-insensitively, ignoring a trailing dot (phone-config's reading, see its `DomainList`).
//! An IP-literal host is never inside a list of names.

use std::fmt;
use std::net::IpAddr;

/// The parsed list; empty means no restriction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestrictedDomains(Vec<String>);

/// A host refused by `Restricted_Access_Domains`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Restricted_Access_Domains: `{host}` (from {source_name}) is not inside {list}")]
pub struct Refused {
    /// The host refused.
    pub host: String,
    /// Which parameter or step asked for it (`Profile_Rule_B`, `redirect from https://…`).
    pub source_name: String,
    /// The list, comma-separated.
    pub list: String,
}

impl RestrictedDomains {
    /// From the setting's value (comma- or space-separated domains).
    pub fn parse(value: &str) -> RestrictedDomains {
        RestrictedDomains(
            value
                .split([',', ' ', ';'])
                .map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase())
                .filter(|d| !d.is_empty())
                .collect(),
        )
    }

    /// From already normalised entries (phone-config's `DomainList::domains`).
    pub fn from_domains(domains: &[String]) -> RestrictedDomains {
        RestrictedDomains(
            domains
                .iter()
                .map(|d| d.trim_end_matches('.').to_ascii_lowercase())
                .collect(),
        )
    }

    /// Whether the list restricts anything.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Allows `host` or refuses it, naming `source_name` in the error.
    pub fn check(&self, host: &str, source_name: &str) -> Result<(), Refused> {
        if self.0.is_empty() {
            return Ok(());
        }
        let h = host.trim_end_matches('.').to_ascii_lowercase();
        let h = h.trim_start_matches('[').trim_end_matches(']');
        let inside = h.parse::<IpAddr>().is_err()
            && self
                .0
                .iter()
                .any(|d| h == d || h.strip_suffix(d.as_str()).is_some_and(|p| p.ends_with('.')));
        if inside {
            Ok(())
        } else {
            Err(Refused {
                host: host.to_owned(),
                source_name: source_name.to_owned(),
                list: self.to_string(),
            })
        }
    }
}

impl fmt::Display for RestrictedDomains {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomains_inside_lookalikes_and_addresses_outside() {
        let d = RestrictedDomains::parse("voiceip.com, voiceipl.com");
        assert!(d.check("prov.voiceip.com", "Profile_Rule").is_ok());
        assert!(d.check("VOICEIPL.COM.", "Profile_Rule").is_ok());
        let e = d.check("evilvoiceip.com", "Profile_Rule_B").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Restricted_Access_Domains: `evilvoiceip.com` (from Profile_Rule_B) is not inside voiceip.com, voiceipl.com"
        );
        assert!(d.check("10.0.0.1", "Profile_Rule").is_err());
        assert!(RestrictedDomains::parse("").check("anything", "x").is_ok());
    }
}
