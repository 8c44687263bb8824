//! The DNS-vs-IP check of HTTPS provisioning (SPEC §6): besides verifying the server's
//! certificate, the phone looks up the name in the certificate and compares the answers with
//! the address it is connected to.
//!
//! Policy (fail closed): the check passes only when the connected address is among the
//! addresses the certificate's name resolves to. No answer, a failed lookup, or answers that
//! do not contain the address all refuse the server — a certificate for a name that points
//! elsewhere is treated like a certificate for another server.

use std::net::IpAddr;

/// The check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsCheckError {
    /// The name resolves, but not to the address connected to.
    #[error(
        "DNS-vs-IP check: the certificate's name `{name}` resolves to {answers:?}, not to {connected} (connected to)"
    )]
    Elsewhere {
        /// The certificate's name.
        name: String,
        /// The connected address.
        connected: IpAddr,
        /// What DNS answered.
        answers: Vec<IpAddr>,
    },
    /// The name does not resolve.
    #[error("DNS-vs-IP check: the certificate's name `{name}` does not resolve ({why})")]
    NoAnswer {
        /// The certificate's name.
        name: String,
        /// The resolver's words.
        why: String,
    },
}

/// Checks `connected` against the `answers` for the certificate's `name`
/// (`Err(why)` from the resolver when the lookup failed).
pub fn check(name: &str, connected: IpAddr, answers: Result<&[IpAddr], &str>) -> Result<(), DnsCheckError> {
    match answers {
        Err(why) => Err(DnsCheckError::NoAnswer {
            name: name.to_owned(),
            why: why.to_owned(),
        }),
        Ok([]) => Err(DnsCheckError::NoAnswer {
            name: name.to_owned(),
            why: "no A/AAAA record".to_owned(),
        }),
        Ok(a) if a.contains(&connected) => Ok(()),
        Ok(a) => Err(DnsCheckError::Elsewhere {
            name: name.to_owned(),
            connected,
            answers: a.to_vec(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_matching_answer_passes() {
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(check("p.example.com", ip, Ok(&[other, ip])).is_ok());
        assert!(matches!(
            check("p.example.com", ip, Ok(&[other])),
            Err(DnsCheckError::Elsewhere { .. })
        ));
        assert!(matches!(
            check("p.example.com", ip, Ok(&[])),
            Err(DnsCheckError::NoAnswer { .. })
        ));
        assert!(matches!(
            check("p.example.com", ip, Err("NXDOMAIN")),
            Err(DnsCheckError::NoAnswer { .. })
        ));
    }
}
