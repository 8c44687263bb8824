//! `cargo xtask size [--s]`: phone-agent's stripped size under the `release` and
//! `release-firmware` profiles, the latter also with the firmware RUSTFLAGS (no unwind
//! tables, no PIE relocations) and, with `--s`, at opt-level "s"; every feature; and the
//! largest contributors by crate from the symbol sizes of the `release` binary
//! (`nm --size-sort -S`, demangled).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The RUSTFLAGS of the smallest firmware image: no unwind tables (panics abort anyway), no
/// position-independent relocations. Only for the target (`--target`), not build scripts.
const FIRMWARE_RUSTFLAGS: &str = "-C force-unwind-tables=no -C relocation-model=static";
const TARGET: &str = "x86_64-unknown-linux-gnu";

/// Builds phone-agent with `profile` into `target_dir` and returns the binary's path.
fn build(profile: &str, target_dir: &Path, opt_level: Option<&str>, firmware_flags: bool) -> Result<PathBuf> {
    let mut cmd = crate::cargo(&[
        "build",
        "-j2",
        "-p",
        "phone-agent",
        "--all-features",
        "--profile",
        profile,
    ]);
    cmd.arg("--target-dir")
        .arg(target_dir)
        .env("CARGO_INCREMENTAL", "0");
    if let Some(level) = opt_level {
        cmd.env("CARGO_PROFILE_RELEASE_FIRMWARE_OPT_LEVEL", level);
    }
    if firmware_flags {
        cmd.args(["--target", TARGET])
            .env("RUSTFLAGS", FIRMWARE_RUSTFLAGS);
        crate::run(cmd)?;
        return Ok(target_dir.join(TARGET).join(profile).join("phone-agent"));
    }
    crate::run(cmd)?;
    Ok(target_dir.join(profile).join("phone-agent"))
}

/// The size after `strip` (a copy is stripped; the build stays as it is).
fn stripped_bytes(binary: &Path) -> Result<u64> {
    let copy = binary.with_extension("stripped");
    std::fs::copy(binary, &copy).with_context(|| format!("copying {}", binary.display()))?;
    let status = Command::new("strip")
        .arg(&copy)
        .status()
        .context("running strip")?;
    if !status.success() {
        bail!("strip {} failed", copy.display());
    }
    Ok(std::fs::metadata(&copy)?.len())
}

/// Which crate (or C library) a demangled symbol belongs to.
fn owner(symbol: &str) -> String {
    let s = symbol.trim_start_matches('<').trim_start_matches("impl ");
    if let Some((head, _)) = s.split_once("::") {
        return head.trim_start_matches('&').trim_start_matches("dyn ").to_owned();
    }
    let lower = s.to_ascii_lowercase();
    if lower.starts_with("js_") || lower.starts_with("lre_") || lower.starts_with("lre") {
        "quickjs (C)".into()
    } else if lower.starts_with("ring_core")
        || lower.contains("gfp_")
        || lower.contains("p256")
        || lower.contains("p384")
    {
        "ring (C/asm)".into()
    } else {
        "other C / runtime".into()
    }
}

/// The biggest owners of code and data in `binary` (not stripped), largest first.
fn contributors(binary: &Path) -> Result<Vec<(String, u64)>> {
    let out = Command::new("nm")
        .args(["--size-sort", "-S", "-C"])
        .arg(binary)
        .output()
        .context("running nm")?;
    if !out.status.success() {
        bail!("nm {} failed", binary.display());
    }
    let mut by_owner: HashMap<String, u64> = HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        // "0000000000123456 0000000000000abc T name"
        let mut parts = line.splitn(4, ' ');
        let (Some(_addr), Some(size), Some(_kind), Some(name)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let Ok(size) = u64::from_str_radix(size, 16) else {
            continue;
        };
        *by_owner.entry(owner(name)).or_default() += size;
    }
    let mut v: Vec<_> = by_owner.into_iter().collect();
    v.sort_by_key(|&(_, bytes)| std::cmp::Reverse(bytes));
    Ok(v)
}

pub fn size(root: &Path, with_s: bool) -> Result<()> {
    let target = root.join("target");
    let mut rows = Vec::new();
    let release = build("release", &target, None, false)?;
    rows.push(("release (as committed)", stripped_bytes(&release)?));
    let firmware = build("release-firmware", &target, None, false)?;
    rows.push(("release-firmware (opt-level z)", stripped_bytes(&firmware)?));
    let flags = build("release-firmware", &target.join("size-flags"), None, true)?;
    rows.push(("release-firmware + firmware RUSTFLAGS", stripped_bytes(&flags)?));
    if with_s {
        let s = build("release-firmware", &target.join("size-s"), Some("s"), false)?;
        rows.push(("release-firmware at opt-level s", stripped_bytes(&s)?));
    }
    println!("phone-agent, every feature, stripped:");
    println!("| profile | bytes | MB |");
    println!("|---|---:|---:|");
    for (name, bytes) in &rows {
        println!("| {name} | {bytes} | {:.2} |", *bytes as f64 / 1e6);
    }
    println!("\nlargest contributors (release, symbol sizes):");
    println!("| crate / library | bytes |");
    println!("|---|---:|");
    for (name, bytes) in contributors(&release)?.into_iter().take(25) {
        println!("| {name} | {bytes} |");
    }
    Ok(())
}
