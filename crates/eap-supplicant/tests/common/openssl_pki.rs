//! Test certificates from the openssl CLI (Debian package `openssl`, installed by `.ci/run`):
//! RSA-2048 keys, which rcgen cannot make and the EAP-FAST TLS 1.2 suites (DHE_RSA, RSA key
//! exchange) need; a CA and leaves it signs; the RFC 7919 ffdhe2048 group for DHE servers.
//!
//! One module for eap-supplicant's `tls12_openssl` test, phone-agent's EAP-FAST tests and
//! `cargo xtask bench eap`, which include it by path. Standard library only; errors are
//! strings naming the openssl command and what it said.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// Runs `openssl ARGS` in `dir`.
pub fn openssl(dir: &Path, args: &[&str]) -> Result<(), String> {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .map_err(|e| format!("running openssl (Debian package `openssl`): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A self-signed RSA-2048 CA valid for two days: `dir/ca.pem`, `dir/ca.key`.
pub fn ca(dir: &Path, cn: &str) -> Result<(), String> {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            &format!("/CN={cn}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    )
}

/// An RSA-2048 leaf signed by `dir/ca.pem`: `dir/NAME.pem`, `dir/NAME.key`, with the subject
/// `CN=cn` and the extension lines `ext` (e.g. `subjectAltName=DNS:x\nextendedKeyUsage=serverAuth\n`)
/// after `basicConstraints=CA:FALSE` and `keyUsage=digitalSignature,keyEncipherment`.
pub fn leaf(dir: &Path, name: &str, cn: &str, ext: &str) -> Result<(), String> {
    let ext_file = format!("{name}.ext");
    std::fs::write(
        dir.join(&ext_file),
        format!("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n{ext}"),
    )
    .map_err(|e| format!("writing {ext_file}: {e}"))?;
    let (key, csr, pem) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
    );
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            &format!("/CN={cn}"),
        ],
    )?;
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &ext_file,
            "-out",
            &pem,
        ],
    )
}

/// The usual EAP server set: a CA (`ca.pem`) and `server.pem`/`server.key` for
/// radius.example.org (SAN dNSName, serverAuth).
pub fn eap_server(dir: &Path) -> Result<(), String> {
    ca(dir, "EAP Test CA")?;
    leaf(
        dir,
        "server",
        "radius.example.org",
        "subjectAltName=DNS:radius.example.org\nextendedKeyUsage=serverAuth\n",
    )
}

/// The RFC 7919 ffdhe2048 group as DH parameters (`dir/FILE`), for hostapd's `dh_file` and
/// `openssl s_server -dhparam`.
pub fn ffdhe2048(dir: &Path, file: &str) -> Result<(), String> {
    openssl(
        dir,
        &[
            "genpkey",
            "-genparam",
            "-algorithm",
            "DH",
            "-pkeyopt",
            "group:ffdhe2048",
            "-out",
            file,
        ],
    )
}
