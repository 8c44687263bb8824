//! `cargo xtask fuzz --campaign SECS [--runs N] [--sanitizer S] [--export-seeds] [TARGET...]`:
//! long fuzz runs with a persistent corpus outside the repository, minimized after each run,
//! and a table of what each run did.
//!
//! - Each target runs for `SECS` seconds or `N` executions (libFuzzer's `-runs`), whichever
//!   comes first, so a fast target that reaches its goal frees the machine for the next.
//! - Sanitizer (cargo-fuzz `-s`): `none` unless told otherwise. Every workspace crate forbids
//!   `unsafe`, and cargo-fuzz instruments only Rust code (not the C of QuickJS or ring), so
//!   AddressSanitizer finds little here while it costs about half the executions; overflow
//!   checks and debug assertions stay on either way. `--sanitizer address` for a run with it.
//!
//! - Corpus: `$FUZZ_CAMPAIGN_DIR/TARGET` (default `/var/tmp/phone-security-fuzz/TARGET`),
//!   kept from one campaign to the next; the committed seeds (`fuzz/seeds/TARGET`) are read
//!   too. Crash inputs land in `$FUZZ_CAMPAIGN_DIR/artifacts/TARGET/`.
//! - Inputs up to 64 KiB (`-max_len`), so deep nesting and long lines are reachable (libFuzzer's
//!   default is 4096 bytes).
//! - After the run, `cargo fuzz cmin` minimizes the corpus (libFuzzer's set-cover merge).
//! - With `--export-seeds` (or alone: `cargo xtask fuzz --export-seeds [TARGET...]`), the
//!   committed seeds are rebuilt from themselves and the campaign corpus: hand-written seeds
//!   kept, the rest libFuzzer's set-cover merge, within 1 MB per target ([`export_seeds`]);
//!   the fuzz smoke fails on a seed directory over that budget.
//! - The table (target, executions, seconds, coverage edges, features, corpus files, crashes)
//!   goes to stdout and is appended to `$FUZZ_CAMPAIGN_DIR/campaigns.md`.
//!
//! A crash does not stop the campaign: the other targets still run, and the command fails at
//! the end naming the crash files.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// Longest input libFuzzer generates in a campaign.
const MAX_LEN: u32 = 65_536;
/// Committed seed corpora stay within this (bytes per target); the fuzz smoke checks it.
pub const SEED_BUDGET: u64 = 1_000_000;

/// How a campaign runs each target.
struct Settings {
    secs: u64,
    runs: Option<u64>,
    sanitizer: String,
}

impl Settings {
    /// `cargo +nightly fuzz SUBCOMMAND -s SANITIZER TARGET`.
    fn cargo_fuzz(&self, subcommand: &str, target: &str) -> Command {
        cargo_fuzz(&self.sanitizer, subcommand, target)
    }
}

/// `cargo +nightly fuzz SUBCOMMAND -s SANITIZER TARGET`.
fn cargo_fuzz(sanitizer: &str, subcommand: &str, target: &str) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.args(["+nightly", "fuzz", subcommand, "-s", sanitizer, target]);
    cmd
}

/// One target's run.
struct Row {
    target: String,
    execs: u64,
    secs: f64,
    cov: u64,
    ft: u64,
    corpus_files: usize,
    crashes: Vec<PathBuf>,
}

fn campaign_dir() -> PathBuf {
    std::env::var_os("FUZZ_CAMPAIGN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/phone-security-fuzz"))
}

/// `args`: `SECS [--runs N] [--sanitizer S] [--export-seeds] [TARGET...]` (every target when
/// none is named).
pub fn campaign(root: &Path, all_targets: &[String], args: &[&str]) -> Result<()> {
    const USAGE: &str =
        "usage: cargo xtask fuzz --campaign SECS [--runs N] [--sanitizer S] [--export-seeds] [TARGET...]";
    let Some((secs, rest)) = args.split_first() else {
        bail!(USAGE);
    };
    let mut settings = Settings {
        secs: secs.parse().context("SECS must be a number of seconds")?,
        runs: None,
        sanitizer: "none".to_owned(),
    };
    let mut export = false;
    let mut named: Vec<&str> = Vec::new();
    let mut rest = rest.iter().copied();
    while let Some(arg) = rest.next() {
        match arg {
            "--export-seeds" => export = true,
            "--runs" => {
                let n = rest.next().context(USAGE)?;
                settings.runs = Some(n.parse().with_context(|| format!("--runs {n}: not a number"))?);
            }
            "--sanitizer" => settings.sanitizer = rest.next().context(USAGE)?.to_owned(),
            target => named.push(target),
        }
    }
    for t in &named {
        if !all_targets.iter().any(|a| a == t) {
            bail!("no fuzz target {t:?}; targets: {}", all_targets.join(", "));
        }
    }
    let targets: Vec<&str> = if named.is_empty() {
        all_targets.iter().map(String::as_str).collect()
    } else {
        named
    };
    let dir = campaign_dir();
    let mut rows = Vec::new();
    for target in targets {
        let row = run_target(root, &dir, target, &settings)?;
        eprintln!(
            "{target}: {} execs in {:.0} s, cov {}, {} crash(es)",
            row.execs,
            row.secs,
            row.cov,
            row.crashes.len()
        );
        if row.crashes.is_empty() {
            minimize(root, &dir.join(target), target, &settings)?;
            if export {
                report_export(
                    target,
                    &export_seeds(root, &dir.join(target), target, &settings.sanitizer)?,
                );
            }
        }
        rows.push(Row {
            corpus_files: count_files(&dir.join(target)),
            ..row
        });
    }
    let table = render(&rows, &settings);
    print!("{table}");
    let log = dir.join("campaigns.md");
    let mut old = std::fs::read_to_string(&log).unwrap_or_default();
    old.push_str(&table);
    std::fs::write(&log, old).with_context(|| format!("writing {}", log.display()))?;
    eprintln!("table appended to {}", log.display());
    let crashes: Vec<String> = rows
        .iter()
        .flat_map(|r| r.crashes.iter().map(|c| c.display().to_string()))
        .collect();
    if !crashes.is_empty() {
        bail!("crashes found:\n  {}", crashes.join("\n  "));
    }
    Ok(())
}

fn run_target(root: &Path, dir: &Path, target: &str, settings: &Settings) -> Result<Row> {
    let corpus = dir.join(target);
    let artifacts = dir.join("artifacts").join(target);
    std::fs::create_dir_all(&corpus)?;
    std::fs::create_dir_all(&artifacts)?;
    let before: Vec<PathBuf> = crash_files(&artifacts);
    let mut cmd = settings.cargo_fuzz("run", target);
    cmd.arg(&corpus);
    let seeds = root.join("fuzz/seeds").join(target);
    if seeds.is_dir() {
        cmd.arg(&seeds);
    }
    cmd.arg("--").arg(format!("-max_total_time={}", settings.secs));
    if let Some(runs) = settings.runs {
        cmd.arg(format!("-runs={runs}"));
    }
    cmd.arg(format!("-max_len={MAX_LEN}"))
        .arg("-rss_limit_mb=2048")
        .arg("-timeout=20")
        .arg("-print_final_stats=1")
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .current_dir(root)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // Build first, so the seconds column is fuzzing time only.
    let mut build = settings.cargo_fuzz("build", target);
    build.current_dir(root);
    let status = build
        .status()
        .with_context(|| format!("building fuzz target {target}"))?;
    if !status.success() {
        bail!("cargo fuzz build {target} failed: {status}");
    }
    eprintln!("$ {cmd:?}");
    let started = Instant::now();
    let out = cmd
        .output()
        .with_context(|| format!("starting cargo fuzz for {target}"))?;
    let took = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let crashes: Vec<PathBuf> = crash_files(&artifacts)
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect();
    if !out.status.success() && crashes.is_empty() {
        eprintln!("{stderr}");
        bail!(
            "cargo fuzz run {target} failed without a crash file (build error?): {}",
            out.status
        );
    }
    let stat = |key: &str| {
        stderr
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    // The last status line: "#12345 DONE cov: 678 ft: 910 corp: ..." (or REDUCE/NEW/pulse).
    let last_field = |name: &str| {
        stderr
            .lines()
            .rev()
            .filter(|l| l.starts_with('#'))
            .find_map(|l| field(l, name))
            .unwrap_or(0)
    };
    Ok(Row {
        target: target.to_owned(),
        execs: stat("stat::number_of_executed_units:"),
        secs: took,
        cov: last_field("cov:"),
        ft: last_field("ft:"),
        corpus_files: 0,
        crashes,
    })
}

/// The number after `name` in a libFuzzer status line.
fn field(line: &str, name: &str) -> Option<u64> {
    let mut words = line.split_whitespace();
    words.find(|w| *w == name)?;
    words.next()?.parse().ok()
}

fn crash_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                ["crash-", "oom-", "timeout-", "leak-"]
                    .iter()
                    .any(|k| n.starts_with(k))
            })
        })
        .collect();
    out.sort();
    out
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.filter(|e| e.is_ok()).count())
}

/// `cargo xtask fuzz --export-seeds [TARGET...]`: [`export_seeds`] from the campaign corpus for
/// each named target (every target when none is named), without fuzzing.
pub fn export(root: &Path, all_targets: &[String], named: &[&str]) -> Result<()> {
    for t in named {
        if !all_targets.iter().any(|a| a == t) {
            bail!("no fuzz target {t:?}; targets: {}", all_targets.join(", "));
        }
    }
    let dir = campaign_dir();
    let targets: Vec<&str> = if named.is_empty() {
        all_targets.iter().map(String::as_str).collect()
    } else {
        named.to_vec()
    };
    for target in targets {
        let corpus = dir.join(target);
        if !corpus.is_dir() {
            bail!(
                "no campaign corpus for {target} at {} (set FUZZ_CAMPAIGN_DIR, or run a campaign first)",
                corpus.display()
            );
        }
        report_export(target, &export_seeds(root, &corpus, target, "none")?);
    }
    Ok(())
}

fn report_export(target: &str, e: &SeedExport) {
    eprintln!(
        "{target}: fuzz/seeds/{target}: {} hand-written + {} merged seeds (was {}), {} bytes{}",
        e.hand_written,
        e.after,
        e.before,
        e.bytes,
        if e.left_out > 0 {
            format!(", {} larger inputs left out for the 1 MB budget", e.left_out)
        } else {
            String::new()
        }
    );
}

/// `cargo fuzz cmin`: the smallest subset of the corpus with the same coverage.
fn minimize(root: &Path, corpus: &Path, target: &str, settings: &Settings) -> Result<()> {
    let before = count_files(corpus);
    let mut cmd = settings.cargo_fuzz("cmin", target);
    cmd.arg(corpus)
        .arg("--")
        .arg(format!("-max_len={MAX_LEN}"))
        .arg("-rss_limit_mb=2048")
        .arg("-timeout=20")
        .current_dir(root)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let status = cmd
        .status()
        .with_context(|| format!("starting cargo fuzz cmin for {target}"))?;
    if !status.success() {
        bail!("cargo fuzz cmin {target} failed: {status}");
    }
    eprintln!(
        "{target}: corpus minimized, {before} -> {} files",
        count_files(corpus)
    );
    Ok(())
}

/// Rebuilds the committed seeds `fuzz/seeds/TARGET` from themselves and the campaign corpus,
/// within [`SEED_BUDGET`]:
///
/// - Hand-written seeds (any name that is not libFuzzer's 40-hex SHA-1, e.g. `nested-30000.xml`)
///   are kept as they are: they are the shapes a reviewer asked for.
/// - The SHA-1-named ones are replaced by libFuzzer's set-cover merge (`-merge=1`) of the old
///   seeds and the campaign corpus into an empty directory: the smallest inputs that reach every
///   coverage feature, smaller inputs first.
/// - When that is over the budget, the largest merged inputs are left out until it fits.
pub fn export_seeds(root: &Path, corpus: &Path, target: &str, sanitizer: &str) -> Result<SeedExport> {
    let seeds = root.join("fuzz/seeds").join(target);
    std::fs::create_dir_all(&seeds)?;
    let merged = corpus.with_file_name(format!("{target}.export"));
    if merged.exists() {
        std::fs::remove_dir_all(&merged).with_context(|| format!("clearing {}", merged.display()))?;
    }
    std::fs::create_dir_all(&merged)?;
    let mut cmd = cargo_fuzz(sanitizer, "run", target);
    cmd.arg(&merged)
        .arg(&seeds)
        .arg(corpus)
        .arg("--")
        .arg("-merge=1")
        .arg(format!("-max_len={MAX_LEN}"))
        .arg("-rss_limit_mb=2048")
        .arg("-timeout=20")
        .current_dir(root)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let status = cmd
        .status()
        .with_context(|| format!("merging seeds for {target}"))?;
    if !status.success() {
        bail!(
            "merging {} and {} for {target} failed: {status}",
            seeds.display(),
            corpus.display()
        );
    }

    let (named, old_hashed) = seed_files(&seeds)?;
    let named_bytes: u64 = named.iter().map(|(_, len)| len).sum();
    if named_bytes > SEED_BUDGET {
        bail!(
            "{}: the hand-written seeds alone are {named_bytes} bytes, over the {SEED_BUDGET}-byte budget",
            seeds.display()
        );
    }
    let named_contents: Vec<Vec<u8>> = named
        .iter()
        .map(|(p, _)| std::fs::read(p).with_context(|| format!("reading {}", p.display())))
        .collect::<Result<_>>()?;
    // Smallest first, so the budget keeps as many inputs as it can.
    let mut picked = list_files(&merged)?;
    picked.sort_by_key(|(p, len)| (*len, p.clone()));
    let mut kept = Vec::new();
    let mut left_out = 0;
    let mut bytes = named_bytes;
    for (path, len) in picked {
        let content = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        if named_contents.contains(&content) {
            continue;
        }
        if bytes + len > SEED_BUDGET {
            left_out += 1;
            continue;
        }
        bytes += len;
        kept.push(path);
    }
    for (path, _) in &old_hashed {
        std::fs::remove_file(path).with_context(|| format!("removing {}", path.display()))?;
    }
    for path in &kept {
        let name = path.file_name().context("a merged input without a name")?;
        std::fs::copy(path, seeds.join(name))
            .with_context(|| format!("copying {} into {}", path.display(), seeds.display()))?;
    }
    std::fs::remove_dir_all(&merged).with_context(|| format!("removing {}", merged.display()))?;
    Ok(SeedExport {
        hand_written: named.len(),
        before: old_hashed.len(),
        after: kept.len(),
        left_out,
        bytes,
    })
}

/// What [`export_seeds`] did to one target's seeds.
pub struct SeedExport {
    /// Hand-written seeds, kept as they were.
    pub hand_written: usize,
    /// Merged (SHA-1-named) seeds before.
    pub before: usize,
    /// Merged seeds after.
    pub after: usize,
    /// Merged inputs left out to stay within the budget.
    pub left_out: usize,
    /// Bytes of the seed directory after.
    pub bytes: u64,
}

/// `(hand-written, SHA-1-named)` files of a seed directory, with their sizes.
type SeedFiles = (Vec<(PathBuf, u64)>, Vec<(PathBuf, u64)>);

fn seed_files(dir: &Path) -> Result<SeedFiles> {
    Ok(list_files(dir)?.into_iter().partition(|(p, _)| {
        !p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(is_libfuzzer_name)
    }))
}

/// libFuzzer names the inputs it writes by their SHA-1: 40 lowercase hex digits.
fn is_libfuzzer_name(name: &str) -> bool {
    name.len() == 40 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn list_files(dir: &Path) -> Result<Vec<(PathBuf, u64)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let meta = entry.metadata()?;
        if meta.is_file() {
            out.push((entry.path(), meta.len()));
        }
    }
    Ok(out)
}

/// Fails when a committed seed directory is over [`SEED_BUDGET`] (the fuzz smoke's check).
pub fn check_seed_budget(root: &Path, target: &str) -> Result<()> {
    let dir = root.join("fuzz/seeds").join(target);
    if !dir.is_dir() {
        return Ok(());
    }
    let bytes: u64 = list_files(&dir)?.iter().map(|(_, len)| len).sum();
    if bytes > SEED_BUDGET {
        bail!(
            "{} is {bytes} bytes, over the {SEED_BUDGET}-byte seed budget: \
             `cargo xtask fuzz --export-seeds {target}` rebuilds it within the budget",
            dir.display()
        );
    }
    Ok(())
}

fn render(rows: &[Row], settings: &Settings) -> String {
    let mut t = String::new();
    let runs = settings
        .runs
        .map(|n| format!(" or {n} executions"))
        .unwrap_or_default();
    let _ = writeln!(
        t,
        "\n## Fuzz campaign, {} s{runs} per target (max_len {MAX_LEN}, sanitizer {})\n",
        settings.secs, settings.sanitizer
    );
    let _ = writeln!(
        t,
        "| target | executions | seconds | execs/s | coverage (edges) | features | corpus files | crashes |"
    );
    let _ = writeln!(t, "|---|---:|---:|---:|---:|---:|---:|---|");
    for r in rows {
        let rate = if r.secs > 0.0 {
            r.execs as f64 / r.secs
        } else {
            0.0
        };
        let crashes = if r.crashes.is_empty() {
            "0".to_owned()
        } else {
            r.crashes
                .iter()
                .map(|c| c.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            t,
            "| {} | {} | {:.0} | {:.0} | {} | {} | {} | {} |",
            r.target, r.execs, r.secs, rate, r.cov, r.ft, r.corpus_files, crashes
        );
    }
    t
}
