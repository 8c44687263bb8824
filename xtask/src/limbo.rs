//! `cargo xtask limbo`: runs x509-limbo through tls-hostname's verifier under each profile.
//!
//! The harness is tls-hostname's `limbo` example, which speaks limbo's harness protocol
//! (limbo.json on stdin, a `LimboResult` on stdout). Results go to `target/limbo/`.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

pub fn limbo(root: &Path) -> Result<()> {
    let input = root.join("crates/tls-hostname/tests/data/limbo.json");
    let out_dir = root.join("target/limbo");
    std::fs::create_dir_all(&out_dir)?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for profile in ["strict", "phone", "provisioning"] {
        let out_path = out_dir.join(format!("tls-hostname-{profile}.json"));
        let stdin = std::fs::File::open(&input).with_context(|| format!("{}", input.display()))?;
        let stdout = std::fs::File::create(&out_path)?;
        let mut cmd = Command::new(&cargo);
        cmd.args([
            "run",
            "-q",
            "-j2",
            "-p",
            "tls-hostname",
            "--example",
            "limbo",
            "--",
            profile,
        ])
        .current_dir(root)
        .stdin(Stdio::from(stdin))
        .stdout(Stdio::from(stdout));
        eprintln!("$ {cmd:?} > {}", out_path.display());
        let status = cmd.status().context("starting cargo run --example limbo")?;
        if !status.success() {
            bail!("limbo harness ({profile}) failed: {status}");
        }
    }
    eprintln!(
        "anchors on the same 208 cases: rustls-webpki 0.103 131 pass / 60 fail / 17 skip; OpenSSL 3.0 145 pass"
    );
    Ok(())
}
