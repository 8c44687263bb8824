//! `openssl-oracle --bin-path`: the path of the OpenSSL 1.1.1d `openssl` app built by build.rs.
//! `openssl-oracle --source-dir`: the 1.1.1d source tree it was built from (inside the
//! `openssl-src` package). `openssl-oracle --version`: the `openssl-src` package version.
//! `openssl-oracle ARGS...`: runs that `openssl` with ARGS and `OPENSSL_CONF=/dev/null`.

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--bin-path") => println!("{}", env!("OPENSSL_ORACLE_BIN")),
        Some("--source-dir") => println!("{}", env!("OPENSSL_ORACLE_SOURCE")),
        Some("--version") => println!("openssl-src {}", env!("OPENSSL_ORACLE_VERSION")),
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
