//! `cargo xtask psl-data`: writes `crates/psl-lite/data/rules.txt` from the rules the `psl`
//! crate in Cargo.lock compiles into code (its `data/rules.txt`), so psl-lite answers exactly
//! as that crate does (checked by psl-lite's differential test, which has `psl` as a
//! dev-dependency). Each rule once, sorted bytewise, one per line; a rule with U-labels also in
//! its A-label form (as psl's code generator adds it).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

fn psl_source(root: &Path) -> Result<PathBuf> {
    let out = crate::cargo(&["metadata", "--format-version", "1", "--locked"])
        .current_dir(root)
        .output()
        .context("running cargo metadata")?;
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).context("cargo metadata output")?;
    let packages = meta.get("packages").and_then(|p| p.as_array());
    for p in packages.into_iter().flatten() {
        if p.get("name").and_then(|n| n.as_str()) == Some("psl") {
            if let Some(manifest) = p.get("manifest_path").and_then(|m| m.as_str()) {
                let dir = Path::new(manifest).parent().unwrap_or(Path::new("."));
                return Ok(dir.join("data/rules.txt"));
            }
        }
    }
    bail!("the psl crate is not in Cargo.lock")
}

pub fn psl_data(root: &Path) -> Result<()> {
    let source = psl_source(root)?;
    let text = std::fs::read_to_string(&source).with_context(|| format!("reading {}", source.display()))?;
    let mut rules: Vec<String> = Vec::new();
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
    {
        rules.push(line.to_owned());
        if !line.is_ascii() {
            let (prefix, body) = if let Some(b) = line.strip_prefix("!") {
                ("!", b)
            } else if let Some(b) = line.strip_prefix("*.") {
                ("*.", b)
            } else {
                ("", line)
            };
            let ascii = idna::domain_to_ascii(body).map_err(|e| anyhow::anyhow!("{line}: {e:?}"))?;
            rules.push(format!("{prefix}{ascii}"));
        }
    }
    rules.sort_unstable();
    rules.dedup();
    let out = root.join("crates/psl-lite/data/rules.txt");
    let mut body = rules.join("\n");
    body.push('\n');
    std::fs::write(&out, body)?;
    eprintln!(
        "{} rules from {} -> {}",
        rules.len(),
        source.display(),
        out.display()
    );
    Ok(())
}
