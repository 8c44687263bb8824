//! `openssl-oracle --bin-path`: the path of the OpenSSL 1.1.1d `openssl` app built by build.rs.
//! `openssl-oracle --source-dir`: the 1.1.1d source tree it was built from (inside the
//! `openssl-src` package). `openssl-oracle --version`: the `openssl-src` package version.
//! `openssl-oracle bench`: `SSL_CTX_set_cipher_list` of 1.1.1d (in-process, C harness) against
//! `cipher_string::CipherList::parse` for the same strings, and the ratio.
//! `openssl-oracle ARGS...`: runs that `openssl` with ARGS and `OPENSSL_CONF=/dev/null`.

use std::process::{Command, ExitCode};
use std::time::Instant;

/// The strings of the crate's criterion benchmark.
const BENCH_STRINGS: [(&str, &str); 3] = [
    ("DEFAULT", "DEFAULT"),
    ("HIGH:MEDIUM:AES:@STRENGTH", "HIGH:MEDIUM:AES:@STRENGTH"),
    (
        "20 words",
        "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:ECDHE+AES256:ECDHE+AES128:\
DHE+AES256:DHE+AES128:RSA+AESGCM:RSA+AES:!aNULL:!eNULL:!MD5:!DSS:!RC4:!3DES:-SHA1:+SHA1:@STRENGTH:@SECLEVEL=2",
    ),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--bin-path") => println!("{}", env!("OPENSSL_ORACLE_BIN")),
        Some("--source-dir") => println!("{}", env!("OPENSSL_ORACLE_SOURCE")),
        Some("--version") => println!("openssl-src {}", env!("OPENSSL_ORACLE_VERSION")),
        Some("bench") => return bench(),
        _ => {
            let status = Command::new(env!("OPENSSL_ORACLE_BIN"))
                .args(&args)
                .env("OPENSSL_CONF", "/dev/null")
                .status();
            return match status {
                Ok(s) if s.success() => ExitCode::SUCCESS,
                Ok(_) => ExitCode::FAILURE,
                Err(e) => {
                    eprintln!("openssl-oracle: cannot run {}: {e}", env!("OPENSSL_ORACLE_BIN"));
                    ExitCode::from(2)
                }
            };
        }
    }
    ExitCode::SUCCESS
}

fn bench() -> ExitCode {
    const ITERATIONS: u32 = 20_000;
    let out = Command::new(env!("OPENSSL_ORACLE_BENCH"))
        .arg(ITERATIONS.to_string())
        .args(BENCH_STRINGS.iter().map(|(_, s)| *s))
        .env("OPENSSL_CONF", "/dev/null")
        .output();
    let openssl: Vec<f64> = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect(),
        other => {
            eprintln!("openssl-oracle: the C harness failed: {other:?}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "{:<28} {:>14} {:>16} {:>8}",
        "string", "OpenSSL 1.1.1d", "cipher-string", "ratio"
    );
    for ((name, s), openssl_ns) in BENCH_STRINGS.iter().zip(openssl) {
        let mut best = f64::MAX;
        for _ in 0..5 {
            let start = Instant::now();
            for _ in 0..ITERATIONS {
                std::hint::black_box(cipher_string::CipherList::parse(std::hint::black_box(s)).ok());
            }
            best = best.min(start.elapsed().as_nanos() as f64 / f64::from(ITERATIONS));
        }
        println!(
            "{name:<28} {:>11.1} µs {:>13.1} µs {:>7.2}x",
            openssl_ns / 1000.0,
            best / 1000.0,
            best / openssl_ns
        );
    }
    ExitCode::SUCCESS
}
