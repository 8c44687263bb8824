//! A name check on a 5-SAN certificate: this crate (`Strict`, `check_der` and the
//! `from_der` + `check` pair) against rustls-webpki's `verify_is_valid_for_subject_name`, in
//! the same run. All include parsing the certificate.
//!
//! And the whole server-certificate verification a handshake makes (chain to a root, then
//! the name), `ServerIdentityVerifier::verify_server_cert` against rustls' own
//! `WebPkiServerVerifier` on the same CA-signed 5-SAN certificate.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use rustls::client::danger::ServerCertVerifier as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tls_hostname::{CertificateNames, Profile, ReferenceName, ServerIdentityVerifier};

const SANS: [&str; 5] = [
    "a.example.com",
    "b.example.com",
    "*.c.example.com",
    "192.0.2.1",
    "e.example.com",
];

fn five_san_cert() -> CertificateDer<'static> {
    let sans: Vec<String> = SANS.iter().map(|s| s.to_string()).collect();
    let params = rcgen::CertificateParams::new(sans).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    params.self_signed(&key).unwrap().der().clone()
}

/// A root and a 5-SAN server certificate it signed (ECDSA P-256, what rcgen makes).
fn chain() -> (CertificateDer<'static>, CertificateDer<'static>) {
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "bench root");
    ca.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = ca.self_signed(&ca_key).unwrap();
    let sans: Vec<String> = SANS.iter().map(|s| s.to_string()).collect();
    let mut leaf = rcgen::CertificateParams::new(sans).unwrap();
    leaf.distinguished_name
        .push(rcgen::DnType::CommonName, "e.example.com");
    leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = leaf.signed_by(&leaf_key, &ca, &ca_key).unwrap();
    (ca.der().clone(), leaf.der().clone())
}

fn bench_verifier(c: &mut Criterion) {
    let (root, leaf) = chain();
    let server_name = ServerName::try_from("e.example.com").unwrap();
    let reference = ReferenceName::parse("e.example.com").unwrap();
    let now = UnixTime::now();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root.clone()).unwrap();
    let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .unwrap();
    let mut g = c.benchmark_group("verify_server_cert_5_san");
    for profile in [Profile::Phone, Profile::Strict] {
        let ours = ServerIdentityVerifier::new([root.clone()], profile).unwrap();
        ours.verify_server_cert(&leaf, &[], &server_name, &[], now)
            .unwrap();
        g.bench_function(format!("tls-hostname {profile} verify_server_cert"), |b| {
            b.iter(|| {
                ours.verify_server_cert(black_box(&leaf), &[], black_box(&server_name), &[], now)
                    .unwrap()
            })
        });
        g.bench_function(
            format!("tls-hostname {profile} verify_identity (names kept)"),
            |b| {
                b.iter(|| {
                    ours.verify_identity(black_box(&leaf), &[], Some(black_box(&reference)), now)
                        .unwrap()
                })
            },
        );
    }
    webpki
        .verify_server_cert(&leaf, &[], &server_name, &[], now)
        .unwrap();
    g.bench_function("rustls WebPkiServerVerifier verify_server_cert", |b| {
        b.iter(|| {
            webpki
                .verify_server_cert(black_box(&leaf), &[], black_box(&server_name), &[], now)
                .unwrap()
        })
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    let der = five_san_cert();
    // The last dNSName matches: every entry is looked at.
    let host = "e.example.com";
    let reference = ReferenceName::parse(host).unwrap();
    let server_name = ServerName::try_from(host).unwrap();
    let mut g = c.benchmark_group("name_check_5_san");
    g.bench_function("tls-hostname Strict check_der (parse + match)", |b| {
        b.iter(|| {
            Profile::Strict
                .check_der(black_box(&der), black_box(&reference))
                .unwrap()
        })
    });
    g.bench_function("tls-hostname Strict from_der + check", |b| {
        b.iter(|| {
            let names = CertificateNames::from_der(black_box(&der)).unwrap();
            Profile::Strict.check(&names, black_box(&reference)).unwrap();
        })
    });
    g.bench_function("rustls-webpki (parse + match)", |b| {
        b.iter(|| {
            let ee = webpki::EndEntityCert::try_from(black_box(&der)).unwrap();
            ee.verify_is_valid_for_subject_name(black_box(&server_name))
                .unwrap();
        })
    });
    let names = CertificateNames::from_der(&der).unwrap();
    g.bench_function("tls-hostname Strict (match only)", |b| {
        b.iter(|| {
            Profile::Strict
                .check(black_box(&names), black_box(&reference))
                .unwrap()
        })
    });
    g.bench_function("tls-hostname reference parse", |b| {
        b.iter(|| ReferenceName::parse(black_box(host)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench, bench_verifier);
criterion_main!(benches);
