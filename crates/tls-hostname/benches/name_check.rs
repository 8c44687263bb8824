//! A name check on a 5-SAN certificate: this crate (`Strict`, `check_der` and the
//! `from_der` + `check` pair) against rustls-webpki's `verify_is_valid_for_subject_name`, in
//! the same run. All include parsing the certificate.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rustls::pki_types::{CertificateDer, ServerName};
use tls_hostname::{CertificateNames, Profile, ReferenceName};

fn five_san_cert() -> CertificateDer<'static> {
    let sans: Vec<String> = [
        "a.example.com",
        "b.example.com",
        "*.c.example.com",
        "192.0.2.1",
        "e.example.com",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let params = rcgen::CertificateParams::new(sans).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    params.self_signed(&key).unwrap().der().clone()
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

criterion_group!(benches, bench);
criterion_main!(benches);
