//! Builds OpenSSL 1.1.1d (static, `openssl-src`'s configuration: no-dso no-ssl3 no-unit-test
//! no-comp no-zlib no-engine no-async no-shared), then the small C timing harness
//! `set_cipher_list_bench` linked against it, and tells the binary where everything is.

use std::path::Path;

fn main() {
    let artifacts = openssl_src::Build::new().build();
    let install = artifacts
        .lib_dir()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let bin = install.join("bin").join("openssl");
    println!("cargo:rustc-env=OPENSSL_ORACLE_BIN={}", bin.display());
    println!(
        "cargo:rustc-env=OPENSSL_ORACLE_SOURCE={}",
        openssl_src::source_dir().display()
    );
    println!(
        "cargo:rustc-env=OPENSSL_ORACLE_VERSION={}",
        openssl_src::version()
    );

    let out = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    let harness = Path::new(&out).join("set_cipher_list_bench");
    let compiler = cc::Build::new().opt_level(2).get_compiler();
    let status = compiler
        .to_command()
        .arg("-o")
        .arg(&harness)
        .arg("src/set_cipher_list_bench.c")
        .arg(format!("-I{}", artifacts.include_dir().display()))
        .arg(artifacts.lib_dir().join("libssl.a"))
        .arg(artifacts.lib_dir().join("libcrypto.a"))
        .args(["-lpthread", "-ldl"])
        .status();
    match status {
        Ok(s) if s.success() => {}
        other => panic!("compiling the set_cipher_list_bench harness failed: {other:?}"),
    }
    println!("cargo:rustc-env=OPENSSL_ORACLE_BENCH={}", harness.display());
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/set_cipher_list_bench.c");
}
