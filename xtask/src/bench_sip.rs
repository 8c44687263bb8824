//! `cargo xtask bench sip`: sip-message against the `rsip` crate, same messages, same process
//! (`xtask/sip-bench`, built in release outside the workspace so rsip never enters it).

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Builds `xtask/sip-bench` in release and runs it: messages/s for both parsers and the ratio.
pub fn bench(root: &Path) -> Result<()> {
    let target = root.join("target/sip-bench");
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(["build", "--release", "-j2", "--manifest-path"])
        .arg(root.join("xtask/sip-bench/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target);
    eprintln!("$ {cmd:?}");
    let status = cmd.status().context("starting cargo build for sip-bench")?;
    if !status.success() {
        bail!("building xtask/sip-bench failed: {status}");
    }
    let tool = target.join("release/sip-bench");
    let status = Command::new(&tool)
        .status()
        .with_context(|| format!("running {}", tool.display()))?;
    if !status.success() {
        bail!("{} failed: {status}", tool.display());
    }
    Ok(())
}
