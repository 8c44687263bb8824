//! tls-hostname: arbitrary DER into the certificate-name reader; arbitrary reference and
//! presented names into the matcher, under every profile. Nothing may panic.
//!
//! Input layout: byte 0 selects the mode. Mode even: the rest is certificate DER, checked
//! against a fixed set of reference names. Mode odd: the rest is `reference\0presented`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tls_hostname::{CertificateNames, Profile, ReferenceName, presented_dns_matches};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        if let Ok(names) = CertificateNames::from_der(rest) {
            let _ = names.describe();
            let _ = tls_hostname::provisioning_host(&names);
            for host in ["example.com", "pv.telco.net", "192.0.2.1", "::1", "a.b.example.co.uk"] {
                if let Ok(r) = ReferenceName::parse(host) {
                    for p in Profile::ALL {
                        let _ = p.check(&names, &r).map_err(|e| e.to_string());
                    }
                }
            }
        }
    } else {
        let text = String::from_utf8_lossy(rest);
        let (reference, presented) = text.split_once('\0').unwrap_or((&text, ""));
        if let Ok(r) = ReferenceName::parse(reference) {
            let _ = r.to_string();
            if let Some(dns) = r.as_dns() {
                let _ = presented_dns_matches(presented, dns);
            }
        }
    }
});
