//! Resolve time of `CipherList::parse` for the strings the issue names: `DEFAULT`, the XMPP
//! default and a 20-word string. Run with `cargo bench -p cipher-string`.

#![allow(missing_docs)] // criterion_group! defines an undocumented pub fn

use std::hint::black_box;

use cipher_string::CipherList;
use criterion::{Criterion, criterion_group, criterion_main};

const TWENTY_WORDS: &str = "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:ECDHE+AES256:ECDHE+AES128:\
DHE+AES256:DHE+AES128:RSA+AESGCM:RSA+AES:!aNULL:!eNULL:!MD5:!DSS:!RC4:!3DES:-SHA1:+SHA1:@STRENGTH:@SECLEVEL=2";

fn resolve(c: &mut Criterion) {
    assert_eq!(TWENTY_WORDS.split(':').count(), 20);
    for (name, s) in [
        ("DEFAULT", "DEFAULT"),
        ("HIGH:MEDIUM:AES:@STRENGTH", "HIGH:MEDIUM:AES:@STRENGTH"),
        ("20 words", TWENTY_WORDS),
    ] {
        c.bench_function(name, |b| b.iter(|| CipherList::parse(black_box(s))));
    }
    #[cfg(feature = "rustls")]
    {
        let provider = rustls::crypto::ring::default_provider();
        let list = CipherList::parse("DEFAULT").unwrap_or_else(|e| panic!("{e}"));
        c.bench_function("DEFAULT rustls projection", |b| {
            b.iter(|| black_box(&list).rustls_suites(&provider))
        });
    }
}

criterion_group!(benches, resolve);
criterion_main!(benches);
