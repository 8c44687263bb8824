//! `cargo xtask features`: the per-crate feature matrix, `cargo hack --each-feature`-style.
//! For every workspace crate that declares features: its library checked with the default
//! features, with none, and with each feature alone. Listed before it runs; CI runs it.

use std::path::Path;

use anyhow::{Context, Result};

/// (crate, the `cargo check` arguments of one combination).
fn matrix(root: &Path) -> Result<Vec<(String, Vec<String>)>> {
    let out = crate::cargo(&["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(root)
        .output()
        .context("running cargo metadata")?;
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).context("cargo metadata output")?;
    let mut rows = Vec::new();
    let packages = meta.get("packages").and_then(|p| p.as_array());
    for package in packages.into_iter().flatten() {
        let Some(name) = package.get("name").and_then(|n| n.as_str()) else {
            continue;
        };
        let Some(features) = package.get("features").and_then(|f| f.as_object()) else {
            continue;
        };
        let mut own: Vec<&str> = features
            .keys()
            .map(String::as_str)
            .filter(|f| *f != "default")
            .collect();
        if own.is_empty() || name == "xtask" {
            continue;
        }
        own.sort_unstable();
        rows.push((name.to_owned(), vec![]));
        rows.push((name.to_owned(), vec!["--no-default-features".to_owned()]));
        for f in own {
            rows.push((
                name.to_owned(),
                vec![
                    "--no-default-features".to_owned(),
                    "--features".to_owned(),
                    f.to_owned(),
                ],
            ));
        }
    }
    rows.sort();
    Ok(rows)
}

pub fn features(root: &Path) -> Result<()> {
    let rows = matrix(root)?;
    eprintln!("feature matrix ({} combinations):", rows.len());
    for (name, args) in &rows {
        eprintln!(
            "  {name} {}",
            if args.is_empty() {
                "(default)".to_owned()
            } else {
                args.join(" ")
            }
        );
    }
    for (name, args) in &rows {
        let mut cmd = crate::cargo(&["clippy", "-j2", "--lib", "-p", name]);
        cmd.args(args).args(["--", "-D", "warnings"]);
        crate::run(cmd)?;
    }
    eprintln!("feature matrix: {} combinations clean", rows.len());
    Ok(())
}
