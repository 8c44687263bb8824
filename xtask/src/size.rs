//! `cargo xtask firmware [--no-default-features [--features LIST]]`: phone-agent's firmware image, the one
//! documented firmware build. `cargo xtask size [--release] [--s]`: that image's size per
//! feature set, and the largest contributors by crate.
//!
//! The firmware image is built in three steps, each printed as it runs:
//!
//! 1. `cargo rustc -p phone-agent --bin phone-agent --profile release-firmware --target
//!    x86_64-unknown-linux-gnu` (opt-level z, fat LTO, one codegen unit, panic abort) with
//!    `RUSTFLAGS="-C force-unwind-tables=no -C relocation-model=static"` (no position-independent
//!    relocations; the flag on unwind tables is kept although it does not remove them, see 3)
//!    and, for the final link only, `-C link-arg=-Wl,--no-eh-frame-hdr`. Symbols are kept in
//!    `phone-agent.full`, for the contributors table.
//! 2. `objcopy --strip-all --remove-section=.eh_frame --remove-section=.gcc_except_table`: the
//!    image, `target/firmware/FEATURES/phone-agent`.
//! 3. A check that the image has no `.eh_frame` and no `PT_GNU_EH_FRAME` program header.
//!
//! Why the unwind tables can go: with `panic = "abort"` nothing in the image unwinds (a panic
//! prints its message and aborts; no thread is cancelled or `pthread_exit`s). Yet stable rustc
//! still writes an unwind entry for nearly every function (each one that calls the
//! precompiled, unwinding `std` gets an abort-on-unwind landing pad, hence a personality
//! routine, hence an FDE), 0.8 MB in all. Their only remaining reader is a backtrace
//! (`RUST_BACKTRACE`, `std::backtrace`), which in a stripped image would show bare addresses.
//! Without them the backtrace after a panic message is empty: with no `PT_GNU_EH_FRAME` the
//! unwinder finds no entry for the image's code and stops (`_URC_END_OF_STACK`); it never
//! reads a dangling table.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The firmware target: `--target` keeps the RUSTFLAGS off build scripts and proc macros.
const TARGET: &str = "x86_64-unknown-linux-gnu";
/// Every crate of the firmware image: no PIE relocations (`.rela.dyn`, 0.35 MB). The unwind
/// flag is kept for the image's own code, see the module documentation.
const FIRMWARE_RUSTFLAGS: &str = "-C force-unwind-tables=no -C relocation-model=static";
/// The final link only: no `.eh_frame_hdr` and no `PT_GNU_EH_FRAME`, so the unwinder never
/// looks for the tables removed afterwards.
const FINAL_LINK_ARG: &str = "link-arg=-Wl,--no-eh-frame-hdr";
/// The sections removed from the image besides symbols: the unwind tables and the landing-pad
/// tables only they point to.
const REMOVED_SECTIONS: [&str; 2] = [".eh_frame", ".gcc_except_table"];

/// A built firmware image.
pub struct Image {
    /// The image as shipped: stripped, without unwind tables.
    pub image: PathBuf,
    /// The same link with symbols (and unwind tables), for `nm`.
    pub full: PathBuf,
}

/// Which features of phone-agent an image has.
#[derive(Clone)]
pub enum Features {
    /// `--all-features`.
    All,
    /// `--no-default-features`: no admin page (`web`), no PAC engine (`pac`, QuickJS), no
    /// EAP-FAST (`eap-fast`).
    NoDefault,
    /// `--no-default-features --features LIST`.
    Only(String),
}

/// Every feature of phone-agent but `eap-fast`: the image a firmware without EAP-FAST ships.
const ALL_BUT_EAP_FAST: &str = "web,pac";

impl Features {
    /// The directory under `target/firmware/`.
    fn dir(&self) -> String {
        match self {
            Features::All => "all-features".into(),
            Features::NoDefault => "no-default-features".into(),
            Features::Only(list) => format!("features-{}", list.replace(',', "+")),
        }
    }

    fn cargo_args(&self) -> Vec<String> {
        match self {
            Features::All => vec!["--all-features".into()],
            Features::NoDefault => vec!["--no-default-features".into()],
            Features::Only(list) => vec!["--no-default-features".into(), "--features".into(), list.clone()],
        }
    }
}

/// Builds the firmware image with `features` (module documentation: the steps).
pub fn firmware(root: &Path, features: Features, opt_level: Option<&str>) -> Result<Image> {
    let target_dir = match opt_level {
        None => root.join("target"),
        Some(level) => root.join("target").join(format!("firmware-opt-{level}")),
    };
    let mut cmd = crate::cargo(&[
        "rustc",
        "-j2",
        "-p",
        "phone-agent",
        "--bin",
        "phone-agent",
        "--profile",
        "release-firmware",
        "--target",
        TARGET,
    ]);
    cmd.args(features.cargo_args())
        .arg("--target-dir")
        .arg(&target_dir)
        .args(["--", "-C", FINAL_LINK_ARG])
        .env("RUSTFLAGS", FIRMWARE_RUSTFLAGS)
        // Symbols kept for the contributors table; the image is stripped by objcopy.
        .env("CARGO_PROFILE_RELEASE_FIRMWARE_STRIP", "false")
        .env("CARGO_INCREMENTAL", "0");
    if let Some(level) = opt_level {
        cmd.env("CARGO_PROFILE_RELEASE_FIRMWARE_OPT_LEVEL", level);
    }
    crate::run(cmd)?;
    let built = target_dir
        .join(TARGET)
        .join("release-firmware")
        .join("phone-agent");
    let out = target_dir.join("firmware").join(features.dir());
    std::fs::create_dir_all(&out)?;
    let full = out.join("phone-agent.full");
    let image = out.join("phone-agent");
    std::fs::copy(&built, &full).with_context(|| format!("copying {}", built.display()))?;
    let mut objcopy = Command::new("objcopy");
    objcopy.arg("--strip-all");
    for section in REMOVED_SECTIONS {
        objcopy.arg(format!("--remove-section={section}"));
    }
    objcopy.arg(&full).arg(&image);
    crate::run(objcopy)?;
    check_no_unwind_tables(&image)?;
    eprintln!("firmware image: {}", image.display());
    Ok(Image { image, full })
}

/// The image has neither the unwind tables nor a program header pointing at them.
fn check_no_unwind_tables(image: &Path) -> Result<()> {
    let out = Command::new("readelf")
        .args(["-lSW"])
        .arg(image)
        .output()
        .context("running readelf")?;
    if !out.status.success() {
        bail!("readelf {} failed", image.display());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["GNU_EH_FRAME", ".eh_frame", ".gcc_except_table"] {
        if text.split_whitespace().any(|w| w == word) {
            bail!("{} still has {word}", image.display());
        }
    }
    Ok(())
}

/// The size of a file.
fn bytes(path: &Path) -> Result<u64> {
    Ok(std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len())
}

/// The size after `strip` (a copy is stripped; the build stays as it is).
fn stripped_bytes(binary: &Path) -> Result<u64> {
    let copy = binary.with_extension("stripped");
    let status = Command::new("strip")
        .arg("-o")
        .arg(&copy)
        .arg(binary)
        .status()
        .context("running strip")?;
    if !status.success() {
        bail!("strip {} failed", binary.display());
    }
    bytes(&copy)
}

/// Which crate (or C library) a demangled symbol belongs to.
fn owner(symbol: &str) -> String {
    let s = symbol.trim_start_matches('<').trim_start_matches("impl ");
    if let Some((head, _)) = s.split_once("::") {
        let head = head.trim_start_matches('&').trim_start_matches("mut ");
        let head = head.trim_start_matches("dyn ");
        // `<T as core::...>`: the trait's crate.
        if let Some((_, tr)) = head.split_once(" as ") {
            return tr.to_owned();
        }
        return head.to_owned();
    }
    let lower = s.to_ascii_lowercase();
    let quickjs = [
        "js_", "__js_", "lre_", "unicode_", "dbuf_", "utf8_", "cr_", "free_", "mark_",
    ];
    if quickjs.iter().any(|p| lower.starts_with(p)) {
        "quickjs (C)".into()
    } else if lower.starts_with("ring_core")
        || lower.starts_with("ecp_nistz256")
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

/// The section sizes of `binary` that matter for the image (`size -A`), largest first.
fn sections(binary: &Path) -> Result<Vec<(String, u64)>> {
    let out = Command::new("size")
        .arg("-A")
        .arg(binary)
        .output()
        .context("running size")?;
    let mut v: Vec<(String, u64)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let (name, size) = (w.next()?, w.next()?.parse().ok()?);
            // Debug information is never part of the image.
            (name.starts_with('.') && !name.starts_with(".debug")).then(|| (name.to_owned(), size))
        })
        .collect();
    v.sort_by_key(|&(_, bytes)| std::cmp::Reverse(bytes));
    Ok(v)
}

/// `cargo xtask size`: the firmware image with every feature and without the default ones;
/// with `release`, also the `release` profile as committed (a second full build); with `s`,
/// the firmware image at opt-level "s" (a third).
pub fn size(root: &Path, release: bool, with_s: bool) -> Result<()> {
    let mut rows = Vec::new();
    let all = firmware(root, Features::All, None)?;
    rows.push((
        "release-firmware image (`cargo xtask firmware`), every feature".to_owned(),
        bytes(&all.image)?,
    ));
    rows.push((
        "  the same link, stripped but with its unwind tables".to_owned(),
        stripped_bytes(&all.full)?,
    ));
    let no_fast = firmware(root, Features::Only(ALL_BUT_EAP_FAST.into()), None)?;
    rows.push((
        format!("release-firmware image, every feature but eap-fast (`--features {ALL_BUT_EAP_FAST}`)"),
        bytes(&no_fast.image)?,
    ));
    let minimal = firmware(root, Features::NoDefault, None)?;
    rows.push((
        "release-firmware image, no default features (no admin page, no PAC engine/QuickJS, no EAP-FAST)"
            .to_owned(),
        bytes(&minimal.image)?,
    ));
    if with_s {
        let s = firmware(root, Features::All, Some("s"))?;
        rows.push((
            "release-firmware image at opt-level s, every feature".to_owned(),
            bytes(&s.image)?,
        ));
    }
    if release {
        let mut cmd = crate::cargo(&["build", "-j2", "-p", "phone-agent", "--all-features", "--release"]);
        cmd.env("CARGO_INCREMENTAL", "0");
        crate::run(cmd)?;
        let binary = root.join("target/release/phone-agent");
        rows.push((
            "release (as committed), every feature, stripped".to_owned(),
            stripped_bytes(&binary)?,
        ));
    }
    println!("phone-agent:");
    println!("| build | bytes | MB |");
    println!("|---|---:|---:|");
    for (name, bytes) in &rows {
        println!("| {name} | {bytes} | {:.2} |", *bytes as f64 / 1e6);
    }
    println!("\nsections of the every-feature link (with symbols and unwind tables):");
    println!("| section | bytes |");
    println!("|---|---:|");
    for (name, bytes) in sections(&all.full)?.into_iter().take(8) {
        println!("| {name} | {bytes} |");
    }
    println!("\nlargest contributors (every-feature firmware link, symbol sizes by crate):");
    println!("| crate / library | bytes |");
    println!("|---|---:|");
    for (name, bytes) in contributors(&all.full)?.into_iter().take(40) {
        println!("| {name} | {bytes} |");
    }
    Ok(())
}
