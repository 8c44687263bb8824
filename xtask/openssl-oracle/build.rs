//! Builds OpenSSL 1.1.1d (static, `openssl-src`'s configuration: no-dso no-ssl3 no-unit-test
//! no-comp no-zlib no-engine no-async no-shared) and tells the binary where the `openssl` app
//! and the source tree are.

fn main() {
    let artifacts = openssl_src::Build::new().build();
    let install = artifacts
        .lib_dir()
        .parent()
        .map(std::path::Path::to_path_buf)
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
    println!("cargo:rerun-if-changed=build.rs");
}
