//! Project automation. `cargo xtask help` lists the commands.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

mod bench_agent;
mod bench_eap;
mod bench_eap_fast;
mod bench_firewall;
mod bench_pac;
mod bench_sip;
mod bench_vpn;
mod features;
mod fuzz_campaign;
mod lab;
mod limbo;
mod oracle_ciphers;
mod psl_data;
mod size;

const HELP: &str = "\
cargo xtask <command>

  ci               set up what is missing, then fmt check, clippy -D warnings, tests, the lab
                   (up until all green, then down), docs,
                   publish dry-runs and the fuzz smoke (when the nightly toolchain is present)
  setup            install the cargo tools the tests need (cargo-fuzz)
  fuzz --smoke     run every fuzz target briefly (default 30 s each, at most 60); fail on a crash
  fuzz TARGET [S]  run one fuzz target for S seconds (default 300)
  fuzz --campaign SECS [--runs N] [--sanitizer S] [--export-seeds] [TARGET...]
                   long runs (every target unless named; SECS or N executions each, whichever
                   first; sanitizer none unless told) with a persistent corpus in
                   $FUZZ_CAMPAIGN_DIR (/var/tmp/phone-security-fuzz), inputs up to 64 KiB,
                   cmin afterwards; table of executions, time, coverage, crashes (also appended
                   to campaigns.md there); --export-seeds rebuilds fuzz/seeds from it
  fuzz --export-seeds [TARGET...]
                   rebuild fuzz/seeds/TARGET from itself and the campaign corpus: hand-written
                   seeds kept, the rest libFuzzer's set-cover merge, within 1 MB per target
  features         the per-crate feature matrix (default, none, each feature alone), clippy'd
  firmware [--no-default-features [--features LIST]]
                   phone-agent's firmware image (the documented firmware build): release-firmware
                   profile, the firmware RUSTFLAGS (no PIE relocations),
                   no unwind tables; target/firmware/FEATURES/phone-agent (+ .full with symbols)
  size [--release] [--s]
                   the firmware image's bytes with every feature, without eap-fast and without
                   the default ones
                   (--release: also the release profile; --s: also opt-level s), its sections,
                   and the largest contributors by crate
  limbo            run x509-limbo through tls-hostname (strict, phone, provisioning); results in
                   limbo's format in target/limbo/, scores on stderr
  bench ciphers    cipher-string against OpenSSL 1.1.1d's SSL_CTX_set_cipher_list in-process,
                   same strings, same run; prints the ratio (builds OpenSSL the first time)
  bench pac        FindProxyForURL calls/s of proxy-pac (release) and pacparser (python3-pacparser)
                   on generated 100- and 500-rule PAC files, same URLs, same run; ratio, memory
  bench sip        sip-message against the rsip crate on the criterion bench's REGISTER and
                   INVITE with SDP, release build, same process; prints messages/s and the ratio
  bench agent      phone-agent run (release) with 16 SIP lines against one Kamailio: start to all
                   registered with 802.1X first (root: hostapd wired in netns, EAP-TLS;
                   BENCH_AGENT_DOT1X_RUNS (5) runs, median) and without, idle RSS and CPU after
                   BENCH_AGENT_IDLE (60) s, RSS after BENCH_AGENT_RELOADS (1,000) reloads
  bench eap        phone-agent dot1x vs wpa_supplicant -D wired against one hostapd on veth in
                   netns (root), TLS 1.2 and 1.3, BENCH_EAP_RUNS (25) runs each; medians, ratio;
                   then EAP-FAST (with a PAC, anonymous and server-authenticated provisioning)
                   over RADIUS vs eapol_test on one hostapd, wall and CPU; BENCH_EAP_ONLY=tls|fast
  bench firewall   root: the maximal firewall config; phone-agent firewall apply vs nft -f of the
                   same script (medians, ratio) and, with counters in the kernel, which rule
                   decides each packet class (rules evaluated) next to Ruleset::evaluate
  bench vpn        phone-agent vpn connect (release) vs openconnect --no-dtls on one ocserv in netns
                   (root): time to tunnel-up, TCP echo throughput, client CPU per GB; ratio
  lab up|down|status|check
                   root: the lab in network namespaces (hostapd wired for 802.1X, dnsmasq DHCP +
                   TFTP profile, Kamailio, squid, ocserv) and
                   phone-agent run on examples/cfg/lab.xml; up waits until all is green and
                   prints the status and the admin page's address; down stops exactly what up
                   started (PIDs in target/lab/lab.json); check = up then down (ci runs it)
  psl-data         regenerate crates/psl-lite/data/rules.txt from the psl crate's rules
  oracle-ciphers   build OpenSSL 1.1.1d (openssl-src, minutes) and regenerate cipher-string's
                   suite table and golden file from it; not part of ci
";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["ci"] => ci(),
        ["setup"] => setup(),
        ["limbo"] => limbo::limbo(&root()),
        ["oracle-ciphers"] => oracle_ciphers::oracle_ciphers(&root()),
        ["bench", "ciphers"] => oracle_ciphers::bench(&root()),
        ["bench", "pac"] => bench_pac::bench(&root()),
        ["bench", "sip"] => bench_sip::bench(&root()),
        ["bench", "agent"] => bench_agent::bench(&root()),
        ["bench", "eap"] => bench_eap::bench(&root()),
        ["bench", "firewall"] => bench_firewall::bench(&root()),
        ["bench", "vpn"] => bench_vpn::bench(&root()),
        ["fuzz", "--smoke"] => fuzz_smoke(smoke_seconds()?),
        ["fuzz", "--campaign", rest @ ..] => fuzz_campaign::campaign(&root(), &fuzz_targets()?, rest),
        ["fuzz", "--export-seeds", rest @ ..] => fuzz_campaign::export(&root(), &fuzz_targets()?, rest),
        ["features"] => features::features(&root()),
        ["lab", "up"] => lab::up(&root()),
        ["lab", "down"] => lab::down(&root()),
        ["lab", "status"] => lab::status(&root()),
        ["lab", "check"] => lab::check(&root()),
        ["psl-data"] => psl_data::psl_data(&root()),
        ["firmware"] => size::firmware(&root(), size::Features::All, None).map(drop),
        ["firmware", "--no-default-features"] => {
            size::firmware(&root(), size::Features::NoDefault, None).map(drop)
        }
        ["firmware", "--no-default-features", "--features", list] => {
            size::firmware(&root(), size::Features::Only((*list).to_owned()), None).map(drop)
        }
        ["size", flags @ ..] if flags.iter().all(|f| ["--release", "--s"].contains(f)) => {
            size::size(&root(), flags.contains(&"--release"), flags.contains(&"--s"))
        }
        ["fuzz", target] => fuzz_run(target, 300),
        ["fuzz", target, secs] => fuzz_run(target, secs.parse().context("seconds must be a number")?),
        [] | ["help"] | ["--help"] | ["-h"] => {
            print!("{HELP}");
            Ok(())
        }
        other => bail!("unknown command {other:?}\n\n{HELP}"),
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn run(mut cmd: Command) -> Result<()> {
    eprintln!("$ {cmd:?}");
    let status = cmd
        .current_dir(root())
        .status()
        .with_context(|| format!("starting {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(())
}

fn cargo(args: &[&str]) -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.args(args);
    c
}

fn has_nightly() -> bool {
    Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn has_cargo_fuzz() -> bool {
    Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Installs what a fresh machine lacks for the tests. Idempotent.
fn setup() -> Result<()> {
    if has_nightly() && !has_cargo_fuzz() {
        run(cargo(&["install", "--locked", "cargo-fuzz"]))?;
    }
    Ok(())
}

fn ci() -> Result<()> {
    let started = Instant::now();
    setup()?;
    run(cargo(&["fmt", "--all", "--", "--check"]))?;
    run(cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "-j2",
        "--",
        "-D",
        "warnings",
    ]))?;
    if Command::new("cargo")
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        run(cargo(&["nextest", "run", "--workspace", "-j2", "--no-fail-fast"]))?;
    } else {
        run(cargo(&["test", "--workspace", "-j2", "--no-fail-fast"]))?;
    }
    run(cargo(&["test", "--workspace", "--doc", "-j2"]))?;
    // The lab on the phone-agent the tests just built: up until all green, then down.
    lab::check_with(&root(), &root().join("target/debug/phone-agent"))?;
    features::features(&root())?;
    let mut doc = cargo(&["doc", "--workspace", "--no-deps", "-j2"]);
    doc.env("RUSTDOCFLAGS", "-D warnings");
    run(doc)?;
    publish_dry_run()?;
    if has_nightly() && has_cargo_fuzz() {
        fuzz_smoke(smoke_seconds()?)?;
    } else {
        eprintln!("xtask: no nightly toolchain or cargo-fuzz: fuzz smoke skipped");
    }
    eprintln!("xtask ci: green in {:.0?}", started.elapsed());
    Ok(())
}

/// `cargo publish --dry-run` for every publishable crate of the workspace at once, so that a
/// crate depending on another workspace crate not yet on crates.io is verified against it.
fn publish_dry_run() -> Result<()> {
    forget_unpacked_workspace_crates()?;
    run(cargo(&[
        "publish",
        "--workspace",
        "--dry-run",
        "--allow-dirty",
        "-j2",
    ]))
}

/// `cargo publish --workspace --dry-run` verifies each crate against the others through a
/// temporary local registry, and unpacks them under `$CARGO_HOME/registry/src/-<hash>/`, the hash
/// taken from the checkout's path. Cargo never unpacks a `name-version` directory twice, so a
/// second run from the same path (CI always clones to the same place) would verify against the
/// crates as they were at the *first* run: a dependency removed since then reappears as an error
/// (`psl` after it became `psl-lite`). The workspace's own crates are removed from these local
/// registries first; crates.io's own directories are never touched.
fn forget_unpacked_workspace_crates() -> Result<()> {
    let home = match std::env::var_os("CARGO_HOME") {
        Some(h) => PathBuf::from(h),
        None => match std::env::var_os("HOME") {
            Some(h) => PathBuf::from(h).join(".cargo"),
            None => return Ok(()),
        },
    };
    let out = cargo(&["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(root())
        .output()
        .context("running cargo metadata")?;
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).context("cargo metadata output")?;
    let target = meta
        .get("target_directory")
        .and_then(|t| t.as_str())
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let ours: Vec<String> = meta
        .get("packages")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let name = p.get("name")?.as_str()?;
            let version = p.get("version")?.as_str()?;
            Some(format!("{name}-{version}"))
        })
        .collect();
    forget_compiled_registry_copies(&target.join("debug"), &ours)?;
    for kind in ["src", "cache"] {
        let Ok(registries) = std::fs::read_dir(home.join("registry").join(kind)) else {
            continue;
        };
        for registry in registries.flatten() {
            // Local (path) registries have no name: their directory starts with '-'.
            if !registry.file_name().to_string_lossy().starts_with('-') {
                continue;
            }
            for name in &ours {
                let dir = registry.path().join(name);
                if dir.is_dir() {
                    std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
                }
                let file = registry.path().join(format!("{name}.crate"));
                if file.is_file() {
                    std::fs::remove_file(&file).with_context(|| format!("removing {}", file.display()))?;
                }
            }
        }
    }
    Ok(())
}

/// The same staleness for compiled copies: cargo takes a registry crate's build for fresh
/// without looking at its sources, and the temporary registry's path (so the build's hash) is
/// the same at every run. A warm `target/` would verify against the workspace crates as they
/// were built by an earlier dry run. Their fingerprints are removed, so cargo builds them again;
/// a build from the workspace itself (not from `/registry/src/-…`) is left alone.
fn forget_compiled_registry_copies(profile_dir: &Path, ours: &[String]) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(profile_dir.join("deps")) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "d") {
            continue;
        }
        let Ok(depinfo) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Some(first) = depinfo.lines().next() else {
            continue;
        };
        let from_local_registry = ours.iter().any(|name_version| {
            first.contains("/registry/src/-") && first.contains(&format!("/{name_version}/"))
        });
        if !from_local_registry {
            continue;
        }
        // `phone_config-<hash>.d` -> `.fingerprint/phone-config-<hash>`.
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let fingerprint = profile_dir.join(".fingerprint").join(stem.replace('_', "-"));
        if fingerprint.is_dir() {
            std::fs::remove_dir_all(&fingerprint)
                .with_context(|| format!("removing {}", fingerprint.display()))?;
        }
    }
    Ok(())
}

fn smoke_seconds() -> Result<u64> {
    let secs = match std::env::var("FUZZ_SMOKE_SECONDS") {
        Ok(s) => s.parse().context("FUZZ_SMOKE_SECONDS must be a number")?,
        Err(_) => 30,
    };
    Ok(secs.min(60))
}

/// Directories of the repository that double as seed corpora for a fuzz target.
const EXTRA_SEEDS: &[(&str, &str)] = &[("phone_config_parse", "examples/cfg")];

fn fuzz_targets() -> Result<Vec<String>> {
    let dir = root().join("fuzz/fuzz_targets");
    let mut targets = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "rs") {
            if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                targets.push(stem.to_owned());
            }
        }
    }
    targets.sort();
    Ok(targets)
}

fn fuzz_smoke(secs: u64) -> Result<()> {
    let targets = fuzz_targets()?;
    for target in &targets {
        fuzz_campaign::check_seed_budget(&root(), target)?;
    }
    let mut report = Vec::new();
    for target in targets {
        let started = Instant::now();
        let execs = fuzz(&target, secs)?;
        report.push((target, execs, started.elapsed()));
    }
    eprintln!("fuzz smoke: no crash");
    for (target, execs, took) in report {
        eprintln!("  {target}: {execs} runs in {:.1?} (incl. build)", took);
    }
    Ok(())
}

fn fuzz_run(target: &str, secs: u64) -> Result<()> {
    let execs = fuzz(target, secs)?;
    eprintln!("{target}: {execs} runs, no crash");
    Ok(())
}

/// Runs one target from its seed corpus for `secs` seconds; returns libFuzzer's run count.
fn fuzz(target: &str, secs: u64) -> Result<String> {
    let corpus = root().join("fuzz/corpus").join(target);
    std::fs::create_dir_all(&corpus)?;
    let mut cmd = Command::new("cargo");
    cmd.args(["+nightly", "fuzz", "run", target]).arg(&corpus);
    // Read-only seed directories: fuzz/seeds/TARGET, plus the project's own examples.
    let seeds = [root().join("fuzz/seeds").join(target)].into_iter().chain(
        EXTRA_SEEDS
            .iter()
            .filter(|(t, _)| *t == target)
            .map(|(_, dir)| root().join(dir)),
    );
    cmd.args(seeds.filter(|d| d.is_dir()));
    cmd.arg("--")
        .arg(format!("-max_total_time={secs}"))
        .arg("-rss_limit_mb=2048")
        .arg("-print_final_stats=1")
        .current_dir(root()); // cargo-fuzz finds fuzz/ from the project root
    eprintln!("$ {cmd:?}");
    let out = cmd
        .stderr(std::process::Stdio::piped())
        .output()
        .with_context(|| format!("starting cargo fuzz for {target}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        eprintln!("{stderr}");
        bail!(
            "fuzz target {target} failed (crash or build error): {}",
            out.status
        );
    }
    let runs = stderr
        .lines()
        .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "?".into());
    Ok(runs)
}
