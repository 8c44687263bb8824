//! Client certificates and keys from bytes: PEM and DER; PKCS#8, PKCS#1 RSA and SEC1 EC keys;
//! typed errors for everything else; the key never printed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use eap_supplicant::{ConfigError, EapTlsConfig};

const RSA_PEM: &[u8] = include_bytes!("data/rsa.pem");
const RSA_PKCS1: &[u8] = include_bytes!("data/rsa-pkcs1.key");
const EC_PEM: &[u8] = include_bytes!("data/ec.pem");
const EC_SEC1: &[u8] = include_bytes!("data/ec-sec1.key");
const EC_DER: &[u8] = include_bytes!("data/ec.der");
const EC_PKCS8_DER: &[u8] = include_bytes!("data/ec-pkcs8.der");

fn ca() -> String {
    common::pki().ca_pem
}

#[test]
fn accepts_rsa_pkcs1_ec_sec1_and_der_pkcs8() {
    let ca = ca();
    for (name, cert, key) in [
        ("RSA PEM + PKCS#1", RSA_PEM, RSA_PKCS1),
        ("EC PEM + SEC1", EC_PEM, EC_SEC1),
        ("EC DER + PKCS#8 DER", EC_DER, EC_PKCS8_DER),
    ] {
        let built = EapTlsConfig::builder(
            ca.as_bytes(),
            std::sync::Arc::new(eap_supplicant::DefaultTimeProvider),
        )
        .client_certificate(cert, key)
        .build();
        assert!(built.is_ok(), "{name}: {built:?}");
    }
    let pki = common::pki();
    assert!(
        EapTlsConfig::builder(
            ca.as_bytes(),
            std::sync::Arc::new(eap_supplicant::DefaultTimeProvider)
        )
        .client_certificate(pki.client_pem.as_bytes(), pki.client_key_pem.as_bytes())
        .build()
        .is_ok(),
        "rcgen PKCS#8 PEM"
    );
}

#[test]
fn refuses_bad_inputs_with_typed_errors() {
    let ca = ca();
    let err = |b: eap_supplicant::EapTlsConfigBuilder| b.build().err();
    assert!(matches!(
        err(EapTlsConfig::builder(
            b"not a certificate",
            std::sync::Arc::new(eap_supplicant::DefaultTimeProvider)
        )),
        Some(ConfigError::NoCertificate { what: "CA" })
    ));
    assert!(matches!(
        err(EapTlsConfig::builder(
            ca.as_bytes(),
            std::sync::Arc::new(eap_supplicant::DefaultTimeProvider)
        )
        .client_certificate(EC_PEM, b"garbage")),
        Some(ConfigError::NoPrivateKey)
    ));
    assert!(matches!(
        err(EapTlsConfig::builder(
            ca.as_bytes(),
            std::sync::Arc::new(eap_supplicant::DefaultTimeProvider)
        )
        .client_certificate(b"", EC_SEC1)),
        Some(ConfigError::NoCertificate {
            what: "client certificate"
        })
    ));
    assert!(matches!(
        err(EapTlsConfig::builder(
            ca.as_bytes(),
            std::sync::Arc::new(eap_supplicant::DefaultTimeProvider)
        )
        .fragment_size(10)),
        Some(ConfigError::FragmentSize(10))
    ));
    assert!(matches!(
        err(EapTlsConfig::builder(
            b"\x30\x03\x02\x01\x00",
            std::sync::Arc::new(eap_supplicant::DefaultTimeProvider)
        )),
        Some(ConfigError::InvalidCa { index: 0, .. })
    ));
    // A key that does not belong to the certificate.
    assert!(matches!(
        err(EapTlsConfig::builder(
            ca.as_bytes(),
            std::sync::Arc::new(eap_supplicant::DefaultTimeProvider)
        )
        .client_certificate(RSA_PEM, EC_SEC1)),
        Some(ConfigError::Tls(_))
    ));
}

#[test]
fn the_builder_never_prints_the_key() {
    let ca = ca();
    let builder = EapTlsConfig::builder(
        ca.as_bytes(),
        std::sync::Arc::new(eap_supplicant::DefaultTimeProvider),
    )
    .client_certificate(EC_PEM, EC_SEC1);
    let shown = format!("{builder:?}");
    assert!(shown.contains("<redacted>"), "{shown}");
    let key_text = std::str::from_utf8(EC_SEC1).unwrap();
    let body_line = key_text.lines().nth(1).unwrap();
    assert!(!shown.contains(body_line));
    // Debug prints Vec<u8> as numbers: check a distinctive run of the key's bytes is absent.
    let bytes: Vec<String> = EC_SEC1.iter().take(40).map(|b| b.to_string()).collect();
    assert!(!shown.contains(&bytes.join(", ")));
}
