//! `cargo xtask bench pac`: FindProxyForURL calls per CPU second (and per wall-clock
//! second) of our engine (release build, in-process) and of Debian's pacparser
//! (`python3-pacparser`, timed inside python so process start-up is excluded), on generated 100- and 500-rule PAC files and the same URL
//! list, in the same run; the ratio; memory per evaluator; and whether both engines gave
//! the same answer for every URL.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::oracle_ciphers::Rng;

/// CPU seconds each engine loops over the URL list per PAC file.
const SECONDS: &str = "3";
/// Evaluators created to measure resident memory per evaluator.
const EVALUATORS: &str = "200";
/// URLs asked per PAC file.
const URLS: usize = 200;
/// Fixed seed: the same PAC files and URLs every run.
const SEED: u64 = 0x5eed_0007;

/// Loads a PAC into pacparser, records its answers, then times `find_proxy` over the URLs.
const PACPARSER_DRIVER: &str = r#"
import os, sys, time
try:
    import pacparser
except ImportError:
    sys.exit(3)
pac, urls_path, secs, results = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
pairs = [l.rstrip("\n").split("\t") for l in open(urls_path) if l.strip()]
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
before = rss()
pacparser.init()
pacparser.parse_pac_string(open(pac).read())
answers = [pacparser.find_proxy(u, h) for u, h in pairs]
after = rss()
with open(results, "w") as f:
    f.write("".join(a + "\n" for a in answers))
find = pacparser.find_proxy
calls = 0
start, cpu_start = time.perf_counter(), time.thread_time()
while time.thread_time() - cpu_start < secs:
    for u, h in pairs:
        find(u, h)
    calls += len(pairs)
print("calls_per_cpu_sec %.0f" % (calls / (time.thread_time() - cpu_start)))
print("calls_per_sec %.0f" % (calls / (time.perf_counter() - start)))
print("rss_bytes_per_evaluator %d" % (after - before))
pacparser.cleanup()
"#;

/// Runs the benchmark; see the module docs.
pub fn bench(root: &Path) -> Result<()> {
    let python = "/usr/bin/python3";
    let probe = Command::new(python).args(["-c", "import pacparser"]).status();
    if !probe.is_ok_and(|s| s.success()) {
        bail!("{python} cannot import pacparser: install the Debian package python3-pacparser");
    }
    crate::run(crate::cargo(&[
        "build",
        "--release",
        "-j2",
        "-p",
        "proxy-pac",
        "--example",
        "pac_throughput",
    ]))?;
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let ours_exe = target.join("release/examples/pac_throughput");
    let dir = target.join("bench-pac");
    std::fs::create_dir_all(&dir)?;

    let mut summary = Vec::new();
    for rules in [100, 500] {
        let mut rng = Rng(SEED ^ rules as u64);
        let (pac, urls) = generate(&mut rng, rules);
        let pac_path = dir.join(format!("rules-{rules}.pac"));
        let urls_path = dir.join(format!("rules-{rules}.urls"));
        std::fs::write(&pac_path, &pac)?;
        std::fs::write(
            &urls_path,
            urls.iter().fold(String::new(), |mut s, (u, h)| {
                let _ = writeln!(s, "{u}\t{h}");
                s
            }),
        )?;
        let ours_results = dir.join(format!("rules-{rules}.ours"));
        let theirs_results = dir.join(format!("rules-{rules}.pacparser"));

        let mut ours = Command::new(&ours_exe);
        ours.arg(&pac_path)
            .arg(&urls_path)
            .arg(SECONDS)
            .arg(EVALUATORS)
            .arg(&ours_results);
        let ours = measure(ours)?;
        let mut theirs = Command::new(python);
        theirs
            .args(["-c", PACPARSER_DRIVER])
            .arg(&pac_path)
            .arg(&urls_path)
            .arg(SECONDS)
            .arg(&theirs_results);
        let theirs = measure(theirs)?;

        let a = std::fs::read_to_string(&ours_results)?;
        let b = std::fs::read_to_string(&theirs_results)?;
        let same = a.lines().zip(b.lines()).filter(|(x, y)| x == y).count();
        let ours_cps = get(&ours, "calls_per_cpu_sec")?;
        let theirs_cps = get(&theirs, "calls_per_cpu_sec")?;
        #[allow(clippy::cast_precision_loss)]
        let ratio = ours_cps as f64 / theirs_cps.max(1) as f64;
        summary.push(format!(
            "{rules} rules ({} bytes), {} URLs: ours {ours_cps} calls per CPU second, pacparser {theirs_cps}, ratio {ratio:.1}x (wall clock: {} vs {} calls/s); same answer for {same}/{}\n  memory: ours {} bytes QuickJS heap per evaluator, {} bytes RSS per evaluator (over {EVALUATORS}); pacparser {} bytes RSS growth for its one engine",
            pac.len(),
            urls.len(),
            get(&ours, "calls_per_sec")?,
            get(&theirs, "calls_per_sec")?,
            urls.len(),
            get(&ours, "heap_bytes")?,
            get(&ours, "rss_bytes_per_evaluator")?,
            get(&theirs, "rss_bytes_per_evaluator")?,
        ));
        if same != urls.len() {
            bail!(
                "the engines disagree on {} of {} URLs: compare {} and {}",
                urls.len() - same,
                urls.len(),
                ours_results.display(),
                theirs_results.display()
            );
        }
    }
    println!("bench pac (files in {}):", dir.display());
    for line in summary {
        println!("{line}");
    }
    Ok(())
}

/// Runs a measuring program; its `key value` lines.
fn measure(mut cmd: Command) -> Result<BTreeMap<String, u64>> {
    let out = cmd.output().with_context(|| format!("starting {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut values = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some((k, v)) = line.split_once(' ') {
            values.insert(
                k.to_owned(),
                v.trim().parse().with_context(|| format!("value in {line:?}"))?,
            );
        }
    }
    Ok(values)
}

fn get(values: &BTreeMap<String, u64>, key: &str) -> Result<u64> {
    values
        .get(key)
        .copied()
        .with_context(|| format!("no {key} in {values:?}"))
}

/// Words of the generated names.
const WORDS: &[&str] = &[
    "mail", "wiki", "git", "cdn", "crm", "hr", "erp", "build", "voice", "prov",
];

/// A corporate-style PAC of `rules` rules (dnsDomainIs 40 %, shExpMatch on the host 20 %
/// and on the URL 10 %, isInNet on IP-literal hosts 20 %, localHostOrDomainIs 10 %) and
/// `URLS` `(url, host)` pairs: two thirds hit a random rule, the rest miss every rule.
/// Names are never resolved (isInNet only sees IP literals), so pacparser does no DNS.
fn generate(rng: &mut Rng, rules: usize) -> (String, Vec<(String, String)>) {
    let mut pac = String::from(
        "function FindProxyForURL(url, host) {\n  if (isPlainHostName(host)) return \"DIRECT\";\n  var isIp = /^\\d+\\.\\d+\\.\\d+\\.\\d+$/.test(host);\n",
    );
    // For each rule, a URL that it matches.
    let mut hits = Vec::with_capacity(rules);
    for i in 0..rules {
        let w = word(rng);
        let (cond, hit) = match rng.below(10) {
            0..=3 => (
                format!("dnsDomainIs(host, \".{w}{i}.example.com\")"),
                format!("{w}.{w}{i}.example.com"),
            ),
            4..=5 => (
                format!("shExpMatch(host, \"*.{w}{i}.example.org\")"),
                format!("a{i}.{w}{i}.example.org"),
            ),
            6 => (
                format!("shExpMatch(url, \"http://*.{w}{i}.example.net/*\")"),
                format!("www.{w}{i}.example.net"),
            ),
            7..=8 => {
                let (a, b) = (i / 250 + 1, i % 250);
                (
                    format!("isIp && isInNet(host, \"10.{a}.{b}.0\", \"255.255.255.0\")"),
                    format!("10.{a}.{b}.{}", rng.below(254) + 1),
                )
            }
            _ => (
                format!("localHostOrDomainIs(host, \"{w}{i}.corp.example\")"),
                format!("{w}{i}.corp.example"),
            ),
        };
        let k = rng.below(8);
        let ret = if rng.below(5) == 0 {
            "DIRECT".to_owned()
        } else {
            format!("PROXY p{k}.corp.example:3128; PROXY b{k}.corp.example:8080; DIRECT")
        };
        let _ = writeln!(pac, "  if ({cond}) return \"{ret}\";");
        hits.push(hit);
    }
    pac.push_str("  return \"PROXY default.corp.example:3128; DIRECT\";\n}\n");

    let urls = (0..URLS)
        .map(|j| {
            let host = match rng.below(3) {
                0 | 1 => hits.get(rng.below(hits.len())).cloned().unwrap_or_default(),
                _ => match rng.below(3) {
                    0 => format!("www{j}.miss.example"),
                    1 => format!("192.0.2.{}", j % 250 + 1),
                    _ => "intranet".to_owned(),
                },
            };
            let path = word(rng);
            (format!("http://{host}/{path}/{j}?q={j}"), host)
        })
        .collect();
    (pac, urls)
}

fn word(rng: &mut Rng) -> &'static str {
    WORDS.get(rng.below(WORDS.len())).copied().unwrap_or("www")
}
