//! `cargo xtask oracle-ciphers`: regenerates the `cipher-string` crate's committed data from
//! real OpenSSL 1.1.1d.
//!
//! 1. Builds `xtask/openssl-oracle` (its build script compiles OpenSSL 1.1.1d from the
//!    crates.io package `openssl-src = "=111.6.0+1.1.1d"`; takes minutes; never part of CI).
//! 2. Generates `crates/cipher-string/src/table.rs` from that source tree: the suite table
//!    `ssl3_ciphers[]` and `tls13_ciphers[]` (`ssl/s3_lib.c`) and the alias table
//!    `cipher_aliases[]` (`ssl/ssl_ciph.c`), with every macro resolved from the headers.
//! 3. Writes the corpus (fixed seed) and runs `openssl ciphers -V -ciphersuites '' -- STRING`
//!    with `OPENSSL_CONF=/dev/null` for every string; the ordered suite ids, or the error
//!    reason, become `crates/cipher-string/tests/data/openssl-1.1.1d.golden`.
//! 4. Records `openssl ciphers -v` for every suite (`ALL:COMPLEMENTOFALL`) as
//!    `crates/cipher-string/tests/data/openssl-1.1.1d-describe.txt`, to check the table's
//!    Kx/Au/Enc/Mac/version texts.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Runs the whole regeneration; see the module docs.
pub fn oracle_ciphers(root: &Path) -> Result<()> {
    let tool = build_oracle(root)?;
    let bin = PathBuf::from(tool_output(&tool, "--bin-path")?);
    let source = PathBuf::from(tool_output(&tool, "--source-dir")?);
    let version = tool_output(&tool, "--version")?;
    eprintln!("oracle: {} ({version})", bin.display());

    let table = SourceTable::read(&source)?;
    let crate_dir = root.join("crates/cipher-string");
    let table_rs = table.render(&version);
    let table_path = crate_dir.join("src/table.rs");
    std::fs::write(&table_path, table_rs)?;
    // Formatted as `cargo fmt` would, so that regenerating leaves no diff.
    let fmt = Command::new("rustfmt")
        .args(["--edition", "2024"])
        .arg(&table_path)
        .status()
        .context("running rustfmt")?;
    if !fmt.success() {
        bail!("rustfmt failed on {}", table_path.display());
    }
    eprintln!(
        "table: {} TLS<=1.2 suites ({} enabled in this build), {} TLS 1.3, {} aliases",
        table.suites.len(),
        table.suites.iter().filter(|s| s.enabled()).count(),
        table.tls13.len(),
        table.aliases.len()
    );

    let data = crate_dir.join("tests/data");
    std::fs::create_dir_all(&data)?;

    // Every suite's description line, in the oracle's own words.
    let all = run_openssl(
        &bin,
        &["ciphers", "-v", "-ciphersuites", "", "--", "ALL:COMPLEMENTOFALL"],
    )?;
    let Verdict::List(lines) = all else {
        bail!("oracle refused ALL:COMPLEMENTOFALL: {all:?}")
    };
    let enabled: BTreeSet<&str> = table
        .suites
        .iter()
        .filter(|s| s.enabled())
        .map(|s| s.name.as_str())
        .collect();
    let listed: BTreeSet<&str> = lines.iter().filter_map(|l| l.split_whitespace().next()).collect();
    if enabled != listed {
        bail!(
            "the table's enabled suites differ from the oracle's ALL:COMPLEMENTOFALL\n  only in table: {:?}\n  only in oracle: {:?}",
            enabled.difference(&listed).collect::<Vec<_>>(),
            listed.difference(&enabled).collect::<Vec<_>>()
        );
    }
    let mut describe = header(
        &version,
        "openssl ciphers -v -ciphersuites '' -- ALL:COMPLEMENTOFALL",
    );
    for l in &lines {
        describe.push_str(l);
        describe.push('\n');
    }
    std::fs::write(data.join("openssl-1.1.1d-describe.txt"), describe)?;

    // The corpus and its verdicts.
    let corpus = corpus(&table);
    let mut golden = header(
        &version,
        "openssl ciphers -V -ciphersuites '' -- STRING   (OPENSSL_CONF=/dev/null)",
    );
    golden.push_str(
        "# One record per line: ESCAPED-STRING <TAB> VERDICT. The string escapes \\\\ \\t \\n and\n\
         # bytes outside printable ASCII as \\xNN. VERDICT is `=` followed by the suite ids (low\n\
         # 16 bits, hex, `:`-separated) in OpenSSL's order, or `error: REASON` with OpenSSL's\n\
         # first error reason (`no cipher match`, `invalid command`).\n",
    );
    let started = std::time::Instant::now();
    let (mut lists, mut errors) = (0usize, 0usize);
    for s in &corpus {
        let verdict = run_openssl(&bin, &["ciphers", "-V", "-ciphersuites", "", "--", s])?;
        golden.push_str(&escape(s));
        golden.push('\t');
        match verdict {
            Verdict::List(lines) => {
                lists += 1;
                golden.push('=');
                let ids: Vec<String> = lines.iter().map(|l| id_of_v_line(l)).collect::<Result<_>>()?;
                golden.push_str(&ids.join(":"));
            }
            Verdict::Error(reason) => {
                errors += 1;
                let _ = write!(golden, "error: {reason}");
            }
        }
        golden.push('\n');
    }
    std::fs::write(data.join("openssl-1.1.1d.golden"), golden)?;

    // The TLS 1.3 list (`-ciphersuites`), followed by the one suite NULL-MD5.
    let mut golden13 = header(
        &version,
        "openssl ciphers -V -ciphersuites LIST -- NULL-MD5   (OPENSSL_CONF=/dev/null)",
    );
    golden13.push_str(
        "# Same record format; the ids are the whole output: the TLS 1.3 list, then 0001 (NULL-MD5).\n\
         # An error is OpenSSL's first error reason.\n",
    );
    let corpus13 = tls13_corpus(&table);
    for s in &corpus13 {
        let out = Command::new(&bin)
            .args(["ciphers", "-V", "-ciphersuites", s, "--", "NULL-MD5"])
            .env("OPENSSL_CONF", "/dev/null")
            .output()?;
        golden13.push_str(&escape(s));
        golden13.push('\t');
        if out.status.success() {
            let stdout = String::from_utf8(out.stdout)?;
            let ids: Vec<String> = stdout.lines().map(id_of_v_line).collect::<Result<_>>()?;
            golden13.push('=');
            golden13.push_str(&ids.join(":"));
        } else {
            let stderr = String::from_utf8_lossy(&out.stderr);
            if !stderr.contains("Error setting TLSv1.3 ciphersuites") {
                bail!("oracle failed in an unexpected way for -ciphersuites {s:?}: {stderr}");
            }
            let reason = stderr
                .lines()
                .find(|l| l.contains(":error:"))
                .and_then(|l| l.split(':').nth(5))
                .unwrap_or("unknown");
            let _ = write!(golden13, "error: {reason}");
        }
        golden13.push('\n');
    }
    std::fs::write(data.join("openssl-1.1.1d-ciphersuites.golden"), golden13)?;
    eprintln!("golden (TLS 1.3 lists): {} strings", corpus13.len());
    eprintln!(
        "golden: {} strings ({lists} lists, {errors} errors) in {:.1?}",
        corpus.len(),
        started.elapsed()
    );
    Ok(())
}

fn header(version: &str, command: &str) -> String {
    format!(
        "# GENERATED by `cargo xtask oracle-ciphers`; do not edit.\n\
         # Oracle: OpenSSL 1.1.1d (`openssl` app built from the crates.io package {version},\n\
         #   configured by openssl-src: no-dso no-ssl3 no-unit-test no-comp no-zlib no-engine\n\
         #   no-async no-shared; weak SSL ciphers off, as in every default 1.1.1 build).\n\
         # Command: {command}\n"
    )
}

fn build_oracle(root: &Path) -> Result<PathBuf> {
    let target = root.join("target/openssl-oracle");
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(["build", "--release", "-j2", "--manifest-path"])
        .arg(root.join("xtask/openssl-oracle/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target);
    eprintln!("$ {cmd:?}   (builds OpenSSL 1.1.1d the first time: several minutes)");
    let status = cmd.status().context("starting cargo build for openssl-oracle")?;
    if !status.success() {
        bail!("building xtask/openssl-oracle failed: {status}");
    }
    Ok(target.join("release/openssl-oracle"))
}

fn tool_output(tool: &Path, arg: &str) -> Result<String> {
    let out = Command::new(tool)
        .arg(arg)
        .output()
        .with_context(|| format!("running {}", tool.display()))?;
    if !out.status.success() {
        bail!("{} {arg} failed", tool.display());
    }
    Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}

#[derive(Debug)]
enum Verdict {
    List(Vec<String>),
    Error(String),
}

fn run_openssl(bin: &Path, args: &[&str]) -> Result<Verdict> {
    let out = Command::new(bin)
        .args(args)
        .env("OPENSSL_CONF", "/dev/null")
        .output()
        .with_context(|| format!("running {}", bin.display()))?;
    let stdout = String::from_utf8(out.stdout).context("oracle stdout is not UTF-8")?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        return Ok(Verdict::List(stdout.lines().map(str::to_owned).collect()));
    }
    if !stderr.contains("Error in cipher list") {
        bail!("oracle failed in an unexpected way for {args:?}: {stderr}");
    }
    // "140...:error:1410D0B9:SSL routines:SSL_CTX_set_cipher_list:no cipher match:ssl/..."
    let reason = stderr
        .lines()
        .find(|l| l.contains(":error:"))
        .and_then(|l| l.split(':').nth(5))
        .unwrap_or("unknown")
        .to_owned();
    Ok(Verdict::Error(reason))
}

/// `          0xC0,0x2B - ECDHE-ECDSA-AES128-GCM-SHA256 TLSv1.2 ...` -> `C02B`.
fn id_of_v_line(line: &str) -> Result<String> {
    let first = line.split_whitespace().next().unwrap_or("");
    let mut parts = first.split(',');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(a), Some(b), None) => Ok(format!(
            "{}{}",
            a.trim_start_matches("0x"),
            b.trim_start_matches("0x")
        )),
        _ => bail!("unexpected -V line: {line:?}"),
    }
}

/// Escapes a corpus string for one line of the golden file.
fn escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02X}");
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The suite and alias tables, read from the 1.1.1d source.

#[derive(Debug, Clone)]
struct Entry {
    name: String,
    stdname: String,
    id: u32,
    mkey: u32,
    auth: u32,
    enc: u32,
    mac: u32,
    min_tls: u32,
    max_tls: u32,
    algo_strength: u32,
    strength_bits: u32,
    alg_bits: u32,
    guards: Vec<String>,
}

// Masks of algorithms that a 1.1.1d build without a GOST engine disables at run time
// (`ssl_load_ciphers`, ssl/ssl_ciph.c: no EVP implementation or pkey method for them).
const DISABLED_MKEY: u32 = 0x10; // SSL_kGOST
const DISABLED_AUTH: u32 = 0x20 | 0x80; // SSL_aGOST01 | SSL_aGOST12
const DISABLED_ENC: u32 = 0x400 | 0x40000; // SSL_eGOST2814789CNT | SSL_eGOST2814789CNT12
const DISABLED_MAC: u32 = 0x4 | 0x8 | 0x80 | 0x100 | 0x200; // GOST94, GOST89MAC, GOST12_256, GOST89MAC12, GOST12_512

impl Entry {
    fn weak(&self) -> bool {
        self.guards
            .iter()
            .any(|g| g.contains("OPENSSL_NO_WEAK_SSL_CIPHERS"))
    }
    fn runtime_disabled(&self) -> bool {
        self.mkey & DISABLED_MKEY != 0
            || self.auth & DISABLED_AUTH != 0
            || self.enc & DISABLED_ENC != 0
            || self.mac & DISABLED_MAC != 0
    }
    fn enabled(&self) -> bool {
        !self.weak() && !self.runtime_disabled()
    }
    /// `ssl_cipher_collect_aliases`: an alias is offered only if each of its non-zero masks
    /// intersects what is enabled.
    fn alias_enabled(&self) -> bool {
        (self.mkey == 0 || self.mkey & !DISABLED_MKEY != 0)
            && (self.auth == 0 || self.auth & !DISABLED_AUTH != 0)
            && (self.enc == 0 || self.enc & !DISABLED_ENC != 0)
            && (self.mac == 0 || self.mac & !DISABLED_MAC != 0)
    }
}

struct SourceTable {
    suites: Vec<Entry>,
    tls13: Vec<Entry>,
    aliases: Vec<Entry>,
    s3_lib_sha256: String,
    ssl_ciph_sha256: String,
}

impl SourceTable {
    fn read(source: &Path) -> Result<Self> {
        let mut defines = HashMap::new();
        for h in [
            "include/openssl/ssl.h",
            "include/openssl/ssl3.h",
            "include/openssl/tls1.h",
            "include/openssl/dtls1.h",
            "ssl/ssl_locl.h",
        ] {
            let text = std::fs::read_to_string(source.join(h)).with_context(|| format!("reading {h}"))?;
            collect_defines(&strip_comments(&text), &mut defines);
        }
        let s3 = std::fs::read_to_string(source.join("ssl/s3_lib.c"))?;
        let ciph = std::fs::read_to_string(source.join("ssl/ssl_ciph.c"))?;
        let mut suites = entries(&s3, "static SSL_CIPHER ssl3_ciphers[] = {", &defines)?;
        suites.sort_by_key(|e| e.id);
        let mut tls13 = entries(&s3, "static SSL_CIPHER tls13_ciphers[] = {", &defines)?;
        tls13.sort_by_key(|e| e.id);
        let aliases = entries(&ciph, "static const SSL_CIPHER cipher_aliases[] = {", &defines)?;
        Ok(Self {
            suites,
            tls13,
            aliases,
            s3_lib_sha256: sha256_hex(&source.join("ssl/s3_lib.c"))?,
            ssl_ciph_sha256: sha256_hex(&source.join("ssl/ssl_ciph.c"))?,
        })
    }

    fn render(&self, version: &str) -> String {
        let mut o = String::new();
        let _ = write!(
            o,
            "// GENERATED by `cargo xtask oracle-ciphers`; do not edit.\n\
             //\n\
             // Source: OpenSSL 1.1.1d as shipped in the crates.io package {version}\n\
             // (include/openssl/opensslv.h: \"OpenSSL 1.1.1d  10 Sep 2019\"); upstream\n\
             // https://github.com/openssl/openssl/tree/OpenSSL_1_1_1d.\n\
             //   SUITES: ssl3_ciphers[] in ssl/s3_lib.c (sha256 {}), sorted by id as\n\
             //           ssl_sort_cipher_list() does; `enabled` is false for the suites a default\n\
             //           build lacks: #ifndef OPENSSL_NO_WEAK_SSL_CIPHERS (3DES, RC4) and GOST\n\
             //           (needs an engine; disabled by ssl_load_ciphers()).\n\
             //   TLS13:  tls13_ciphers[] in ssl/s3_lib.c, sorted by id.\n\
             //   ALIASES: cipher_aliases[] in ssl/ssl_ciph.c (sha256 {}), in source order;\n\
             //           `enabled` mirrors ssl_cipher_collect_aliases() for that build.\n\
             // Macros are resolved from include/openssl/{{ssl,ssl3,tls1,dtls1}}.h and ssl/ssl_locl.h.\n\
             // Kx/Au/Enc/Mac/version texts are those of SSL_CIPHER_description().\n\n\
             use crate::data::{{AliasData, SuiteData}};\n\n",
            self.s3_lib_sha256, self.ssl_ciph_sha256
        );
        let suite = |o: &mut String, e: &Entry, enabled: bool| {
            let _ = writeln!(
                o,
                "    SuiteData {{ id: 0x{:08X}, name: {:?}, iana: {:?}, mkey: 0x{:X}, auth: 0x{:X}, enc: 0x{:X}, mac: 0x{:X}, min_tls: 0x{:04X}, max_tls: 0x{:04X}, algo_strength: 0x{:X}, strength_bits: {}, alg_bits: {}, enabled: {enabled}, kx: {:?}, au: {:?}, enc_text: {:?}, mac_text: {:?}, version: {:?} }},",
                e.id,
                e.name,
                e.stdname,
                e.mkey,
                e.auth,
                e.enc,
                e.mac,
                e.min_tls,
                e.max_tls,
                e.algo_strength,
                e.strength_bits,
                e.alg_bits,
                kx_text(e.mkey),
                au_text(e.auth),
                enc_text(e.enc),
                mac_text(e.mac),
                version_text(e.min_tls),
            );
        };
        let _ = writeln!(
            o,
            "/// `ssl3_ciphers[]`: every TLS <= 1.2 suite 1.1.1d knows, by ascending id."
        );
        let _ = writeln!(
            o,
            "pub(crate) static SUITES: [SuiteData; {}] = [",
            self.suites.len()
        );
        for e in &self.suites {
            suite(&mut o, e, e.enabled());
        }
        let _ = writeln!(o, "];\n");
        let _ = writeln!(
            o,
            "/// `tls13_ciphers[]`: the TLS 1.3 suites 1.1.1d knows, by ascending id."
        );
        let _ = writeln!(
            o,
            "pub(crate) static TLS13: [SuiteData; {}] = [",
            self.tls13.len()
        );
        for e in &self.tls13 {
            suite(&mut o, e, true);
        }
        let _ = writeln!(o, "];\n");
        let _ = writeln!(
            o,
            "/// `cipher_aliases[]`: the keywords of the cipher-string language, in source order."
        );
        let _ = writeln!(
            o,
            "pub(crate) static ALIASES: [AliasData; {}] = [",
            self.aliases.len()
        );
        for e in &self.aliases {
            let _ = writeln!(
                o,
                "    AliasData {{ name: {:?}, mkey: 0x{:X}, auth: 0x{:X}, enc: 0x{:X}, mac: 0x{:X}, min_tls: 0x{:04X}, algo_strength: 0x{:X}, enabled: {} }},",
                e.name,
                e.mkey,
                e.auth,
                e.enc,
                e.mac,
                e.min_tls,
                e.algo_strength,
                e.alias_enabled()
            );
        }
        let _ = writeln!(o, "];");
        o
    }
}

fn sha256_hex(path: &Path) -> Result<String> {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .context("running sha256sum")?;
    Ok(String::from_utf8(out.stdout)?
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .to_owned())
}

fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        match rest[start..].find("*/") {
            Some(end) => rest = &rest[start + end + 2..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn collect_defines(text: &str, defines: &mut HashMap<String, String>) {
    let joined = text.replace("\\\n", " ");
    for line in joined.lines() {
        let t = line.trim_start();
        let Some(rest) = t.strip_prefix('#') else { continue };
        let Some(rest) = rest.trim_start().strip_prefix("define") else {
            continue;
        };
        let rest = rest.trim_start();
        let name_end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let (name, value) = rest.split_at(name_end);
        if name.is_empty() || value.starts_with('(') {
            continue; // function-like macro
        }
        defines
            .entry(name.to_owned())
            .or_insert_with(|| value.trim().to_owned());
    }
}

/// The brace-delimited entries of the array that starts at `opening`, each with the
/// preprocessor conditions it sits under.
fn entries(text: &str, opening: &str, defines: &HashMap<String, String>) -> Result<Vec<Entry>> {
    let start = text
        .find(opening)
        .with_context(|| format!("{opening} not found"))?
        + opening.len();
    let body = strip_comments(&text[start..]);
    let mut guards: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for line in body.lines() {
        let t = line.trim();
        if depth == 0 && t.starts_with("};") {
            break;
        }
        if let Some(directive) = t.strip_prefix('#') {
            let d = directive.trim_start();
            if d.starts_with("if") {
                guards.push(d.to_owned());
            } else if d.starts_with("endif") {
                guards.pop();
            } else if d.starts_with("else") {
                bail!("#else inside a table is not handled: {t}");
            }
            continue;
        }
        for c in line.chars() {
            match c {
                '{' => {
                    depth += 1;
                    if depth == 1 {
                        current.clear();
                        continue;
                    }
                }
                '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        out.push(entry(&current, &guards, defines)?);
                        continue;
                    }
                }
                _ => {}
            }
            if depth >= 1 {
                current.push(c);
            }
        }
        if depth >= 1 {
            current.push(' ');
        }
    }
    Ok(out)
}

fn entry(fields: &str, guards: &[String], defines: &HashMap<String, String>) -> Result<Entry> {
    let parts: Vec<&str> = fields
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let field = |i: usize| parts.get(i).copied().unwrap_or("0");
    let num = |i: usize| -> Result<u32> { eval(field(i), defines, 0) };
    let string = |i: usize| -> Result<String> { resolve_string(field(i), defines) };
    Ok(Entry {
        name: string(1)?,
        stdname: if field(2) == "NULL" {
            String::new()
        } else {
            string(2)?
        },
        id: num(3)?,
        mkey: num(4)?,
        auth: num(5)?,
        enc: num(6)?,
        mac: num(7)?,
        min_tls: num(8)?,
        max_tls: num(9)?,
        algo_strength: num(12)?,
        strength_bits: num(14)?,
        alg_bits: num(15)?,
        guards: guards.to_vec(),
    })
}

fn resolve_string(expr: &str, defines: &HashMap<String, String>) -> Result<String> {
    let e = expr.trim();
    if let Some(s) = e.strip_prefix('"') {
        // adjacent literals: "a" "b"
        return Ok(s.split('"').step_by(2).collect::<String>());
    }
    match defines.get(e) {
        Some(v) => resolve_string(v, defines),
        None => bail!("unknown string macro {e}"),
    }
}

/// Evaluates `A | B`, `~A`, `(A)`, numbers and macros.
fn eval(expr: &str, defines: &HashMap<String, String>, depth: usize) -> Result<u32> {
    if depth > 20 {
        bail!("macro recursion too deep at {expr}");
    }
    let tokens = tokenize(expr);
    let mut pos = 0;
    let v = eval_or(&tokens, &mut pos, defines, depth)?;
    if pos != tokens.len() {
        bail!("cannot evaluate {expr:?}");
    }
    Ok(v)
}

fn tokenize(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in expr.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            cur.push(c);
        } else {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            if !c.is_whitespace() {
                out.push(c.to_string());
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn eval_or(t: &[String], pos: &mut usize, d: &HashMap<String, String>, depth: usize) -> Result<u32> {
    let mut v = eval_unary(t, pos, d, depth)?;
    while t.get(*pos).is_some_and(|s| s == "|") {
        *pos += 1;
        v |= eval_unary(t, pos, d, depth)?;
    }
    Ok(v)
}

fn eval_unary(t: &[String], pos: &mut usize, d: &HashMap<String, String>, depth: usize) -> Result<u32> {
    let tok = t.get(*pos).context("expression ends early")?.clone();
    *pos += 1;
    if tok == "~" {
        return Ok(!eval_unary(t, pos, d, depth)?);
    }
    if tok == "(" {
        let v = eval_or(t, pos, d, depth)?;
        if t.get(*pos).is_none_or(|s| s != ")") {
            bail!("missing )");
        }
        *pos += 1;
        return Ok(v);
    }
    let lit = tok.trim_end_matches(['U', 'L', 'u', 'l']);
    if let Some(hex) = lit.strip_prefix("0x").or_else(|| lit.strip_prefix("0X")) {
        return Ok(u32::from_str_radix(hex, 16)?);
    }
    if lit.chars().all(|c| c.is_ascii_digit()) && !lit.is_empty() {
        return Ok(lit.parse()?);
    }
    match d.get(&tok) {
        Some(v) => eval(v, d, depth + 1),
        None => bail!("unknown macro {tok}"),
    }
}

// SSL_CIPHER_description() texts (ssl/ssl_ciph.c).
fn kx_text(m: u32) -> &'static str {
    match m {
        0x1 => "RSA",
        0x2 => "DH",
        0x4 => "ECDH",
        0x8 => "PSK",
        0x40 => "RSAPSK",
        0x80 => "ECDHEPSK",
        0x100 => "DHEPSK",
        0x20 => "SRP",
        0x10 => "GOST",
        0 => "any",
        _ => "unknown",
    }
}
fn au_text(m: u32) -> &'static str {
    match m {
        0x1 => "RSA",
        0x2 => "DSS",
        0x4 => "None",
        0x8 => "ECDSA",
        0x10 => "PSK",
        0x40 => "SRP",
        0x20 => "GOST01",
        0xA0 => "GOST12",
        0 => "any",
        _ => "unknown",
    }
}
fn enc_text(m: u32) -> &'static str {
    match m {
        0x1 => "DES(56)",
        0x2 => "3DES(168)",
        0x4 => "RC4(128)",
        0x8 => "RC2(128)",
        0x10 => "IDEA(128)",
        0x20 => "None",
        0x40 => "AES(128)",
        0x80 => "AES(256)",
        0x1000 => "AESGCM(128)",
        0x2000 => "AESGCM(256)",
        0x4000 => "AESCCM(128)",
        0x8000 => "AESCCM(256)",
        0x10000 => "AESCCM8(128)",
        0x20000 => "AESCCM8(256)",
        0x100 => "Camellia(128)",
        0x200 => "Camellia(256)",
        0x100000 => "ARIAGCM(128)",
        0x200000 => "ARIAGCM(256)",
        0x800 => "SEED(128)",
        0x400 | 0x40000 => "GOST89(256)",
        0x80000 => "CHACHA20/POLY1305(256)",
        _ => "unknown",
    }
}
fn mac_text(m: u32) -> &'static str {
    match m {
        0x1 => "MD5",
        0x2 => "SHA1",
        0x10 => "SHA256",
        0x20 => "SHA384",
        0x40 => "AEAD",
        0x8 | 0x100 => "GOST89",
        0x4 => "GOST94",
        0x80 | 0x200 => "GOST2012",
        _ => "unknown",
    }
}
fn version_text(v: u32) -> &'static str {
    match v {
        0x0304 => "TLSv1.3",
        0x0303 => "TLSv1.2",
        0x0302 => "TLSv1.1",
        0x0301 => "TLSv1",
        0x0300 => "SSLv3",
        _ => "unknown",
    }
}

// ---------------------------------------------------------------------------------------------
// The corpus.

/// splitmix64: a fixed-seed generator, so the corpus is the same on every run (also used by
/// `bench pac`).
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a>(&mut self, items: &'a [String]) -> &'a str {
        items.get(self.below(items.len())).map_or("", String::as_str)
    }
}

/// The strings of SPEC §9, the research's quirks (§A.2, §A.4) and Tomcat-style specs.
const HAND_PICKED: &[&str] = &[
    "RSA:!aNULL:!eNULL",
    "HIGH:MEDIUM:AES:@STRENGTH",
    "DEFAULT",
    "ECDHE+AESGCM:-SHA1:@SECLEVEL=2",
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:AES256-SHA:AES128-SHA:DES-CBC3-SHA",
    "ALL:COMPLEMENTOFALL",
    "ALL",
    "COMPLEMENTOFALL",
    "COMPLEMENTOFDEFAULT",
    "ALL:!COMPLEMENTOFDEFAULT:!eNULL",
    "HIGH:!aNULL:!MD5",
    "HIGH:!aNULL:!MD5:!RC4",
    "EECDH+AESGCM:EDH+AESGCM",
    "ECDHE:DHE:!aNULL",
    "RSA::AES",
    ":RSA",
    "RSA:",
    "RSA,AES;CHACHA20 ARIA",
    "AES:-RSA:RSA",
    "AES:!RSA:RSA",
    "AES:+RSA",
    "+RSA",
    "RSA:*",
    "RSA:_x",
    "RSA:!",
    "RSA:-",
    "RSA:+",
    "RSA:@",
    "RSA+",
    "RSA+:AES",
    "RSA++AES",
    "RSA*",
    "FOO*",
    "FOO+*",
    "RSA+FOO+*",
    "RSA+ECDHE+*",
    "RSA!AES",
    "RSA@STRENGTH",
    "RSA:@STRENGTH!AES",
    "RSA:@STRENGTH+AES",
    "RSA+ECDHE",
    "SHA1+SHA256",
    "HIGH+MEDIUM",
    "TLSv1+TLSv1.2",
    "kRSA+aECDSA",
    "RSA+FOO",
    "AES128-SHA+RSA",
    "ECDHE-RSA-AES128-GCM-SHA256+AES256",
    "rsa",
    "Rsa",
    "3DES",
    "RC4",
    "TLS_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "RSA:TLS_AES_128_GCM_SHA256",
    "ALL:@STRENGTH",
    "ALL:@SECLEVEL=0",
    "ALL:@SECLEVEL=5",
    "ALL:@SECLEVEL=6",
    "ALL:@SECLEVEL=10",
    "ALL:@SECLEVEL=a",
    "ALL:@SECLEVEL=",
    "ALL:@SECLEVEL=-1",
    "ALL:@FOO",
    "ALL:@STRENGTHX",
    "ALL:@STRENGT",
    "ALL:@strength",
    "DEFAULT!RSA",
    "DEFAULT:!RSA",
    "DEFAULT@STRENGTH",
    "DEFAULT:@STRENGTH",
    "RSA:DEFAULT",
    "!RSA:DEFAULT",
    "DEFAULT:RSA",
    "DEFAULTRSA",
    "DEFAULT::RSA",
    "DEFAULT:",
    "DEFAULT ",
    "DEFAULT-RSA",
    "DEFAULT+RSA",
    "DEFAULTS",
    " DEFAULT",
    "default",
    "SUITEB128",
    "SUITEB128:RSA",
    "RSA:SUITEB128",
    "SUITEB128ONLY",
    "SUITEB128C2",
    "SUITEB192",
    "SUITEB1280",
    "SUITEB128ONLYX",
    "SUITEB192:!ECDSA",
    "SUITEB12",
    "LOW",
    "EXP",
    "EXPORT",
    "TLSv1.0",
    "TLSv1.1",
    "FIPS",
    "MEDIUM",
    "SEED",
    "IDEA",
    "!-RSA",
    "--RSA",
    "-+RSA",
    "+-RSA",
    "!!RSA",
    "-:RSA",
    "",
    " ",
    ":",
    "::",
    "ALL\tRSA",
    "ALL:\u{e9}",
    "\u{e9}:ALL",
    "FOO\u{e9}:ALL",
    "ALL:RSA\u{e9}",
    "ALL:-AES:+CHACHA20:!SHA1:@STRENGTH:@SECLEVEL=3",
    "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL:!MD5:!DSS",
    "kEECDH+ECDSA+AES128:kEECDH+ECDSA+AES256:kEECDH+AES128:kEECDH:+kEDH:+kRSA:@STRENGTH",
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305",
    "ALL:!EXPORT:!EXPORT40:!EXPORT56:!aNULL:!LOW:!RC4:@STRENGTH",
    "ALL:-ECDHE:ECDHE",
    "ALL:-kRSA:kRSA",
    "ALL:+aRSA",
    "ALL:+AES128:+SHA1",
    "ALL:!ECDHE:ECDHE",
    "DHE:+AES:@STRENGTH",
    "aNULL",
    "eNULL",
    "NULL",
    "ALL:eNULL",
    "eNULL:ALL",
    "MD5",
    "PSK",
    "PSK:@STRENGTH",
    "SRP",
    "SRP:!aSRP",
    "CAMELLIA:ARIA:SEED:IDEA:CHACHA20",
    "AESCCM8:AESCCM",
    "ARIAGCM",
    "TLSv1.2:-AESGCM",
    "SSLv3",
    "TLSv1",
    "EDH-RSA-DES-CBC3-SHA",
    "EDH-DSS-DES-CBC3-SHA",
    "kGOST",
    "GOST94*",
    "GOST89MAC+RSA",
    "aGOST:RSA",
];

/// Every keyword alone and with each operator, pairs and triples, hand-picked strings and
/// seeded random strings.
fn corpus(table: &SourceTable) -> Vec<String> {
    let mut words: Vec<String> = table.aliases.iter().map(|a| a.name.clone()).collect();
    for extra in [
        "DEFAULT",
        "SUITEB128",
        "SUITEB128ONLY",
        "SUITEB128C2",
        "SUITEB192",
        "EXP",
        "EXPORT",
        "TLSv1.1",
        "rsa",
        "FOO",
    ] {
        words.push(extra.to_owned());
    }
    let suite_names: Vec<String> = table.suites.iter().map(|s| s.name.clone()).collect();
    let tls13_names: Vec<String> = table.tls13.iter().map(|s| s.name.clone()).collect();
    let iana: Vec<String> = table
        .suites
        .iter()
        .filter(|s| !s.stdname.is_empty())
        .map(|s| s.stdname.clone())
        .collect();
    let commands: Vec<String> = ["@STRENGTH", "@SECLEVEL=1", "@SECLEVEL=3", "@SECLEVEL=9", "@BAD"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();

    let mut out: Vec<String> = HAND_PICKED.iter().map(|s| (*s).to_owned()).collect();
    // Keywords alone and with each operator, at the start and after ALL.
    for w in &words {
        for form in [
            w.clone(),
            format!("!{w}"),
            format!("-{w}"),
            format!("+{w}"),
            format!("ALL:!{w}"),
            format!("ALL:-{w}"),
            format!("ALL:+{w}"),
            format!("ALL:-{w}:{w}"),
            format!("{w}:@STRENGTH"),
        ] {
            out.push(form);
        }
    }
    // Every suite name, known or not to this build.
    for w in suite_names.iter().chain(&tls13_names) {
        out.push(w.clone());
        out.push(format!("ALL:!{w}"));
        out.push(format!("ALL:+{w}"));
        out.push(format!("ALL:-{w}:{w}"));
    }
    let mut rng = Rng(0x5EED_C1F8_E125_7121);
    let ops = ["", "", "", "!", "-", "+"];
    let seps = [":", ":", ":", ",", ";", " "];
    let op = |rng: &mut Rng| ops.get(rng.below(ops.len())).copied().unwrap_or("");
    let sep = |rng: &mut Rng| seps.get(rng.below(seps.len())).copied().unwrap_or(":");
    // Pairs with operators, and AND-words.
    for _ in 0..1500 {
        let (a, b) = (rng.pick(&words).to_owned(), rng.pick(&words).to_owned());
        let s = format!("{}{a}{}{}{b}", op(&mut rng), sep(&mut rng), op(&mut rng));
        out.push(s);
    }
    for _ in 0..1200 {
        let a = rng.pick(&words).to_owned();
        let b = if rng.below(4) == 0 {
            rng.pick(&suite_names).to_owned()
        } else {
            rng.pick(&words).to_owned()
        };
        let lead = ["", "ALL:-", "ALL:!", "ALL:+", "AES:"];
        let l = lead.get(rng.below(lead.len())).copied().unwrap_or("");
        out.push(format!("{l}{a}+{b}"));
    }
    // Triples, with an occasional AND-word or command.
    for _ in 0..1500 {
        let mut s = String::new();
        for i in 0..3 {
            if i > 0 {
                s.push_str(sep(&mut rng));
            }
            match rng.below(10) {
                0 => s.push_str(rng.pick(&commands)),
                1 => {
                    let _ = write!(s, "{}{}+{}", op(&mut rng), rng.pick(&words), rng.pick(&words));
                }
                2 => {
                    let _ = write!(s, "{}{}", op(&mut rng), rng.pick(&suite_names));
                }
                _ => {
                    let _ = write!(s, "{}{}", op(&mut rng), rng.pick(&words));
                }
            }
        }
        out.push(s);
    }
    // Random strings: keywords, names, operators, separators, commands and junk bytes.
    let junk = [
        "*", "_", "#", "\t", "/", "(", "\"", "'", "\u{e9}", "!", "@", "+", "-", "=", ".",
    ];
    for _ in 0..2500 {
        let mut s = String::new();
        let len = 1 + rng.below(8);
        for _ in 0..len {
            match rng.below(16) {
                0..=5 => s.push_str(rng.pick(&words)),
                6 => s.push_str(rng.pick(&suite_names)),
                7 => s.push_str(rng.pick(&tls13_names)),
                8 => s.push_str(rng.pick(&iana)),
                9 => s.push_str(rng.pick(&commands)),
                10 | 11 => s.push_str(sep(&mut rng)),
                12 | 13 => s.push_str(op(&mut rng)),
                14 => s.push_str(junk.get(rng.below(junk.len())).copied().unwrap_or("*")),
                _ => {
                    // a mutated keyword: cut, lower-cased or extended
                    let w = rng.pick(&words);
                    let cut = w.len().saturating_sub(rng.below(3));
                    let w = w.get(..cut).unwrap_or(w);
                    if rng.below(2) == 0 {
                        s.push_str(&w.to_ascii_lowercase());
                    } else {
                        s.push_str(w);
                        s.push('X');
                    }
                }
            }
        }
        out.push(s);
    }
    // No duplicates, no newline (one record per line), no NUL (argv cannot carry one).
    let mut seen = std::collections::HashSet::new();
    out.retain(|s| !s.contains('\n') && !s.contains('\0') && seen.insert(s.clone()));
    out
}

/// `SSL_CTX_set_ciphersuites` inputs: each name alone, pairs, white space, empty elements,
/// case, unknown names, TLS <= 1.2 IANA names and SCSVs (which 1.1.1d accepts).
fn tls13_corpus(table: &SourceTable) -> Vec<String> {
    let names: Vec<String> = table.tls13.iter().map(|s| s.name.clone()).collect();
    let mut out: Vec<String> = vec![
        String::new(),
        " ".into(),
        ":".into(),
        "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256".into(),
        "TLS_AES_128_GCM_SHA256:".into(),
        ":TLS_AES_128_GCM_SHA256".into(),
        "TLS_AES_128_GCM_SHA256::TLS_AES_256_GCM_SHA384".into(),
        " TLS_AES_128_GCM_SHA256 : TLS_AES_256_GCM_SHA384 ".into(),
        "\tTLS_AES_128_GCM_SHA256\t".into(),
        "TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384".into(),
        "TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384".into(),
        "tls_aes_128_gcm_sha256".into(),
        "TLS_FOO:TLS_AES_128_GCM_SHA256".into(),
        "TLS_AES_128_GCM_SHA256:TLS_FOO".into(),
        "AES128-SHA".into(),
        "TLS_RSA_WITH_AES_128_CBC_SHA".into(),
        "TLS_AES_128_GCM_SHA256:TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".into(),
        "TLS_EMPTY_RENEGOTIATION_INFO_SCSV".into(),
        "TLS_FALLBACK_SCSV:TLS_AES_128_GCM_SHA256".into(),
        "TLS_RSA_WITH_3DES_EDE_CBC_SHA".into(),
        "TLS_AES_128_GCM_SHA256:TLS_AES_128_GCM_SHA256".into(),
        format!("TLS_{}", "A".repeat(76)),
        format!("TLS_{}", "A".repeat(75)),
        "DEFAULT".into(),
        "ALL".into(),
    ];
    for a in &names {
        out.push(a.clone());
        for b in &names {
            if a != b {
                out.push(format!("{a}:{b}"));
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|s| seen.insert(s.clone()));
    out
}

/// `cargo xtask bench ciphers`: OpenSSL 1.1.1d's `SSL_CTX_set_cipher_list`, in-process in the
/// oracle tool, against `cipher_string::CipherList::parse` on the same strings in the same
/// run; prints both times and the ratio.
pub fn bench(root: &Path) -> Result<()> {
    let tool = build_oracle(root)?;
    let status = Command::new(&tool)
        .arg("bench")
        .env("OPENSSL_CONF", "/dev/null")
        .status()
        .with_context(|| format!("running {}", tool.display()))?;
    if !status.success() {
        bail!("{} bench failed: {status}", tool.display());
    }
    Ok(())
}
