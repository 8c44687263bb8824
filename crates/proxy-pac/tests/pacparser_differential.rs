//! Differential run against Debian's pacparser 1.3.6 (`python3-pacparser`, SpiderMonkey
//! with its fork of Netscape's helper library), in the same run: every case below is
//! evaluated by our engine and by pacparser, and the two answers must be equal, or equal
//! to the two documented answers of a deliberate difference (Chromium's semantics, with
//! the reason). The date/time ranges are left out (pacparser's do not wrap; see the
//! Chromium conformance table). pacparser resolves names with the system resolver, so
//! every case uses IP literals or `localhost` only; our engine gets the same answers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Command, Stdio};
use std::time::Instant;

use proxy_pac::{Limits, PacEngine, PacTime, Request};

/// The address `myIpAddress()` reports, on both sides.
const MY_IP: &str = "192.0.2.7";

/// Evaluates one case per input line (`script`, `url`, `host` hex-encoded UTF-8, tab
/// separated) in a fresh pacparser engine; prints `OK <hex result>` or `ERR <hex message>`.
const DRIVER: &str = r#"
import sys
try:
    import pacparser
except ImportError:
    sys.stderr.write("pacparser python module missing\n")
    sys.exit(3)

def unhex(s):
    return bytes.fromhex(s).decode("utf-8")

def hexed(s):
    return s.encode("utf-8").hex()

my_ip = sys.argv[1]
for line in sys.stdin:
    script, url, host = (unhex(f) for f in line.rstrip("\n").split("\t"))
    try:
        pacparser.init()
        pacparser.setmyip(my_ip)
        pacparser.parse_pac_string(script)
        print("OK " + hexed(pacparser.find_proxy(url, host)))
    except Exception as e:
        print("ERR " + hexed(str(e)))
    finally:
        pacparser.cleanup()
    sys.stdout.flush()
"#;

/// What the two engines are expected to answer.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// pacparser is right: both give the same answer.
    Agree,
    /// We follow Chromium on purpose.
    Differ {
        ours: &'static str,
        pacparser: &'static str,
        why: &'static str,
    },
}
use Expect::{Agree, Differ};

struct Case {
    /// What the failure message and the log name.
    label: String,
    script: String,
    url: &'static str,
    expect: Expect,
}

/// A script whose answer is the value of `expr` as a string (or the name of what it threw).
fn helper(expr: &str, expect: Expect) -> Case {
    Case {
        label: expr.to_owned(),
        script: format!(
            "function FindProxyForURL(url, host) {{\n  try {{ return String({expr}); }}\n  catch (e) {{ return 'THROW ' + e.name; }}\n}}\n"
        ),
        url: "http://diff.test/",
        expect,
    }
}

fn script(name: &str, script: &str, url: &'static str, expect: Expect) -> Case {
    Case {
        label: format!("{name} {url}"),
        script: script.to_owned(),
        url,
        expect,
    }
}

const ISPLAIN_V6: &str = "Chromium: an IPv6 literal is not a plain host name; pacparser only looks for a dot";
const ISINNET_MASK: &str = "Chromium/Mozilla: isInNet is false unless pattern and mask are dotted quads; pacparser does not validate them";
const NOT_A_STRING: &str = "Chromium: FindProxyForURL must return a string; pacparser converts any value";
const URL_SANITISED: &str =
    "Chromium: the script never sees credentials or the fragment, nor an https URL's path and query";

fn helper_cases() -> Vec<Case> {
    vec![
        // isPlainHostName
        helper("isPlainHostName('www')", Agree),
        helper("isPlainHostName('www.example.com')", Agree),
        helper("isPlainHostName('192.168.1.1')", Agree),
        helper("isPlainHostName('')", Agree),
        // The research's open case: Chromium and pacparser both say true (Mozilla: false).
        helper("isPlainHostName('foo:112')", Agree),
        helper("isPlainHostName('[::1]')", Agree),
        helper(
            "isPlainHostName('::1')",
            Differ {
                ours: "false",
                pacparser: "true",
                why: ISPLAIN_V6,
            },
        ),
        helper(
            "isPlainHostName('fe80::1')",
            Differ {
                ours: "false",
                pacparser: "true",
                why: ISPLAIN_V6,
            },
        ),
        helper("isPlainHostName()", Agree),
        // dnsDomainIs: a plain, case-sensitive suffix test.
        helper("dnsDomainIs('www.example.com', '.example.com')", Agree),
        helper("dnsDomainIs('www', '.example.com')", Agree),
        helper("dnsDomainIs('evilexample.com', 'example.com')", Agree),
        helper("dnsDomainIs('WWW.EXAMPLE.COM', '.example.com')", Agree),
        helper("dnsDomainIs('example.com', 'example.com')", Agree),
        helper("dnsDomainIs('example.com', '.example.com')", Agree),
        helper("dnsDomainIs('a.b', '')", Agree),
        helper("dnsDomainIs('', '')", Agree),
        helper("dnsDomainIs('google.co.uk', '.co.uk')", Agree),
        helper("dnsDomainIs('www.adobe.com', '.ad')", Agree),
        // localHostOrDomainIs
        helper("localHostOrDomainIs('www', 'www.example.com')", Agree),
        helper("localHostOrDomainIs('www.example.com', 'www.example.com')", Agree),
        helper(
            "localHostOrDomainIs('maps.example.com', 'www.example.com')",
            Agree,
        ),
        helper("localHostOrDomainIs('www.mcom.com', 'www')", Agree),
        helper("localHostOrDomainIs('ww', 'www.example.com')", Agree),
        helper("localHostOrDomainIs('', 'www')", Agree),
        // isInNet with IP literals (and localhost, from /etc/hosts).
        helper(
            "isInNet('198.95.249.79', '198.95.249.79', '255.255.255.255')",
            Agree,
        ),
        helper("isInNet('198.95.249.79', '198.95.0.0', '255.255.0.0')", Agree),
        helper("isInNet('198.94.249.79', '198.95.0.0', '255.255.0.0')", Agree),
        helper("isInNet('10.1.1.1', '10.0.0.0', '255.0.0.0')", Agree),
        helper("isInNet('11.1.1.1', '10.0.0.0', '255.0.0.0')", Agree),
        helper("isInNet('10.1.1.1', '99.0.0.0', '0.0.0.0')", Agree),
        helper("isInNet('127.0.0.1', '127.0.0.0', '255.0.0.0')", Agree),
        helper(
            "isInNet('192.168.1.200', '192.168.1.128', '255.255.255.128')",
            Agree,
        ),
        helper(
            "isInNet('192.168.1.100', '192.168.1.128', '255.255.255.128')",
            Agree,
        ),
        helper(
            "isInNet('255.255.255.255', '255.255.255.255', '255.255.255.255')",
            Agree,
        ),
        helper("isInNet('0.0.0.0', '0.0.0.0', '255.255.255.255')", Agree),
        helper("isInNet('localhost', '127.0.0.0', '255.0.0.0')", Agree),
        helper(
            "isInNet('10.1.1.1', '10.0.0.0', '255.0.0')",
            Differ {
                ours: "false",
                pacparser: "true",
                why: ISINNET_MASK,
            },
        ),
        helper(
            "isInNet('10.1.1.1', '10.0.0', '255.0.0.0')",
            Differ {
                ours: "false",
                pacparser: "true",
                why: ISINNET_MASK,
            },
        ),
        helper(
            "isInNet('10.1.1.1', '10.0.0.0', 'x.0.0.0')",
            Differ {
                ours: "false",
                pacparser: "true",
                why: ISINNET_MASK,
            },
        ),
        // shExpMatch: `*` and `?` only; the rest of RegExp stays live as in every browser.
        helper(
            "shExpMatch('http://home.netscape.com/people/ari/index.html', '*/ari/*')",
            Agree,
        ),
        helper(
            "shExpMatch('http://home.netscape.com/people/montulli/index.html', '*/ari/*')",
            Agree,
        ),
        helper("shExpMatch('foo.jpg', '*.jpg')", Agree),
        helper("shExpMatch('foo5.jpg', '*o?.jpg')", Agree),
        helper("shExpMatch('foo.jpg', '.jpg')", Agree),
        helper("shExpMatch('foo.jpg', 'foo')", Agree),
        helper("shExpMatch('', '*')", Agree),
        helper("shExpMatch('', '?')", Agree),
        helper("shExpMatch('', '')", Agree),
        helper("shExpMatch('abc', 'a**c')", Agree),
        helper("shExpMatch('abc', 'a*b*c*')", Agree),
        helper("shExpMatch('aXb', 'a.b')", Agree),
        helper("shExpMatch('a.b', 'a?b')", Agree),
        helper("shExpMatch('www.example.com', '*.example.com')", Agree),
        helper("shExpMatch('example.com', '*.example.com')", Agree),
        helper("shExpMatch('ABC', 'abc')", Agree),
        helper("shExpMatch('abcabd', '*abd')", Agree),
        helper("shExpMatch('aaaaaaaaaaaaaaaaaaab', '*a*a*a*a*b')", Agree),
        helper("shExpMatch('10.1.2.3', '10.*')", Agree),
        helper("shExpMatch('10.1.2.3', '10.?.*.3')", Agree),
        helper("shExpMatch('b.com', '[a-c].com')", Agree),
        helper("shExpMatch('d.com', '[a-c].com')", Agree),
        helper("shExpMatch('a+b', 'a+b')", Agree),
        helper("shExpMatch('aab', 'a+b')", Agree),
        helper("shExpMatch('x(y', 'x(y')", Agree),
        helper("shExpMatch('a', 'a|b')", Agree),
        // dnsDomainLevels
        helper("dnsDomainLevels('www')", Agree),
        helper("dnsDomainLevels('www.example.com')", Agree),
        helper("dnsDomainLevels('192.168.1.1')", Agree),
        helper("dnsDomainLevels('')", Agree),
        helper("dnsDomainLevels('a..b.')", Agree),
        // isResolvable / dnsResolve of IP literals and localhost.
        helper("isResolvable('127.0.0.1')", Agree),
        helper("isResolvable('192.0.2.1')", Agree),
        helper("isResolvable('localhost')", Agree),
        helper("dnsResolve('127.0.0.1')", Agree),
        helper("dnsResolve('198.51.100.23')", Agree),
        helper("dnsResolve('localhost')", Agree),
        // myIpAddress and the library's convert_addr (scripts call it).
        helper("myIpAddress()", Agree),
        helper("isInNet(myIpAddress(), '192.0.2.0', '255.255.255.0')", Agree),
        helper("convert_addr('10.0.0.1')", Agree),
        helper("convert_addr('192.168.1.1')", Agree),
    ]
}

const CLASSIC: &str = r#"function FindProxyForURL(url, host) {
  if (isPlainHostName(host) || dnsDomainIs(host, ".intranet.example"))
    return "DIRECT";
  if (localHostOrDomainIs(host, "www.example.org"))
    return "PROXY web.example.org:8080";
  if (shExpMatch(host, "*.example.com"))
    return "PROXY proxy.example.com:8080; DIRECT";
  if (url.substring(0, 6) == "https:")
    return "HTTPS secure.example.com:443; PROXY fallback.example.com:3128";
  return "PROXY fallback.example.com:3128; SOCKS socks.example.com:1080";
}"#;

const NETS: &str = r#"function FindProxyForURL(url, host) {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) {
    if (isInNet(host, "10.0.0.0", "255.0.0.0") ||
        isInNet(host, "172.16.0.0", "255.240.0.0") ||
        isInNet(host, "192.168.0.0", "255.255.0.0"))
      return "DIRECT";
    if (isInNet(host, "203.0.113.0", "255.255.255.0"))
      return "PROXY dmz.example:3128";
    return "PROXY public.example:3128";
  }
  return "PROXY names.example:3128";
}"#;

const PATHS: &str = r#"function FindProxyForURL(url, host) {
  if (dnsDomainLevels(host) == 0) return "DIRECT";
  if (shExpMatch(url, "http://*/download/*")) return "PROXY dl.example:3128";
  if (shExpMatch(url, "*.pdf")) return "PROXY pdf.example:3128";
  if (shExpMatch(url, "*:8080/*")) return "SOCKS5 alt.example:1080";
  return "DIRECT";
}"#;

const RESOLVING: &str = r#"function FindProxyForURL(url, host) {
  var ip = dnsResolve(host);
  if (ip == null) return "PROXY unresolved.example:3128";
  if (isInNet(ip, "127.0.0.0", "255.0.0.0")) return "DIRECT";
  if (isResolvable(host) && isInNet(myIpAddress(), "192.0.2.0", "255.255.255.0"))
    return "PROXY lab.example:3128; DIRECT";
  return "PROXY other.example:3128";
}"#;

const ECHO: &str = r#"function FindProxyForURL(url, host) { return url + " " + host; }"#;

fn script_cases() -> Vec<Case> {
    vec![
        script("classic", CLASSIC, "http://printer/", Agree),
        script("classic", CLASSIC, "http://wiki.intranet.example/start", Agree),
        script("classic", CLASSIC, "http://www.example.org/", Agree),
        script("classic", CLASSIC, "http://www/", Agree),
        script("classic", CLASSIC, "http://cdn.example.com/a.js", Agree),
        script("classic", CLASSIC, "https://bank.example.net/login", Agree),
        script("classic", CLASSIC, "ftp://files.example.net/pub/", Agree),
        script("classic", CLASSIC, "http://10.1.2.3/", Agree),
        script("nets", NETS, "http://10.1.2.3/", Agree),
        script("nets", NETS, "http://172.31.255.255:8080/x", Agree),
        script("nets", NETS, "http://172.32.0.1/", Agree),
        script("nets", NETS, "http://192.168.5.5/", Agree),
        script("nets", NETS, "http://203.0.113.9/", Agree),
        script("nets", NETS, "http://198.51.100.1/", Agree),
        script("nets", NETS, "http://www.example.com/", Agree),
        script("paths", PATHS, "http://intranet/download/x", Agree),
        script("paths", PATHS, "http://www.example.com/download/fw.bin", Agree),
        script("paths", PATHS, "http://www.example.com/docs/guide.pdf", Agree),
        script("paths", PATHS, "http://www.example.com:8080/status", Agree),
        script("paths", PATHS, "http://www.example.com/index.html", Agree),
        script("resolving", RESOLVING, "http://localhost/", Agree),
        script("resolving", RESOLVING, "http://127.0.0.1:8080/", Agree),
        script("resolving", RESOLVING, "http://203.0.113.9/", Agree),
        script("echo", ECHO, "http://www.example.com/a/b?c=d", Agree),
        script("echo", ECHO, "http://www.example.com:8080/", Agree),
        script("echo", ECHO, "http://192.0.2.1/", Agree),
        script(
            "echo",
            ECHO,
            "https://bank.example.net/account?id=42",
            Differ {
                ours: "https://bank.example.net/ bank.example.net",
                pacparser: "https://bank.example.net/account?id=42 bank.example.net",
                why: URL_SANITISED,
            },
        ),
        script(
            "echo",
            ECHO,
            "http://user:secret@www.example.com/p#frag",
            Differ {
                ours: "http://www.example.com/p www.example.com",
                pacparser: "http://user:secret@www.example.com/p#frag www.example.com",
                why: URL_SANITISED,
            },
        ),
        script(
            "returns-empty",
            "function FindProxyForURL(url, host) { return ''; }",
            "http://a.example/",
            Agree,
        ),
        script(
            "throws",
            "function FindProxyForURL(url, host) { throw new Error('no'); }",
            "http://a.example/",
            Agree,
        ),
        script(
            "syntax-error",
            "function FindProxyForURL(url, host) { return 'DIRECT'",
            "http://a.example/",
            Agree,
        ),
        script(
            "returns-42",
            "function FindProxyForURL(url, host) { return 42; }",
            "http://a.example/",
            Differ {
                ours: "ERROR",
                pacparser: "42",
                why: NOT_A_STRING,
            },
        ),
        script(
            "returns-null",
            "function FindProxyForURL(url, host) { return null; }",
            "http://a.example/",
            Differ {
                ours: "ERROR",
                pacparser: "null",
                why: NOT_A_STRING,
            },
        ),
    ]
}

/// The answers our resolver gives: what the system resolver gives pacparser for the only
/// names the table uses (IP literals and `localhost`).
fn resolve(name: &str) -> Option<Vec<IpAddr>> {
    if name == "localhost" {
        return Some(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]);
    }
    name.parse::<IpAddr>().ok().map(|ip| vec![ip])
}

/// Our answer: the script's result, or `ERROR` when loading or calling failed.
fn ours(case: &Case) -> (String, String) {
    let time = PacTime::from_unix_millis(1_236_074_400_000, 0);
    let mut req = Request::new(case.url, time)
        .unwrap()
        .with_my_addresses(vec![MY_IP.parse().unwrap()]);
    let host = req.host().to_owned();
    let t0 = Instant::now();
    let answer = PacEngine::new(&case.script, Limits::default(), Box::new(move || t0.elapsed()))
        .and_then(|mut e| e.find_proxy_with(&mut req, &mut resolve))
        .map_or_else(|_| "ERROR".to_owned(), |o| o.result);
    (answer, host)
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> String {
    let bytes: Vec<u8> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect();
    String::from_utf8(bytes).unwrap()
}

/// pacparser's answers for `(script, url, host)`, in order, from one python process.
fn pacparser(inputs: &[(&str, &str, &str)]) -> Vec<String> {
    let python = "/usr/bin/python3";
    let mut child = Command::new(python)
        .args(["-c", DRIVER, MY_IP])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{python} (Debian package python3) could not start: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    for (script, url, host) in inputs {
        writeln!(stdin, "{}\t{}\t{}", hex(script), hex(url), hex(host)).unwrap();
    }
    drop(stdin);
    // The driver ends at the end of its input; pacparser evaluates no network name.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(
        out.status.code(),
        Some(3),
        "the Debian package python3-pacparser is required (apt-get install python3-pacparser)"
    );
    assert!(out.status.success(), "pacparser driver failed: {stderr}");
    let answers: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| match line.split_once(' ') {
            Some(("OK", h)) => unhex(h),
            _ => "ERROR".to_owned(),
        })
        .collect();
    assert_eq!(
        answers.len(),
        inputs.len(),
        "pacparser answered too few cases: {stderr}"
    );
    answers
}

#[test]
fn our_engine_agrees_with_pacparser_except_where_chromium_differs() {
    let cases: Vec<Case> = helper_cases().into_iter().chain(script_cases()).collect();
    let ours: Vec<(String, String)> = cases.iter().map(ours).collect();
    let inputs: Vec<(&str, &str, &str)> = cases
        .iter()
        .zip(&ours)
        .map(|(c, (_, host))| (c.script.as_str(), c.url, host.as_str()))
        .collect();
    let theirs = pacparser(&inputs);

    let mut failures = Vec::new();
    let (mut agreed, mut differed) = (0, 0);
    for ((case, (our, _)), their) in cases.iter().zip(&ours).zip(&theirs) {
        let what = &case.label;
        match case.expect {
            Agree if our == their => agreed += 1,
            Differ {
                ours: o,
                pacparser: p,
                why,
            } if our == o && their == p => {
                differed += 1;
                eprintln!("deliberate difference: {what}: ours {our:?}, pacparser {their:?}: {why}");
            }
            expect => failures.push(format!(
                "{what}\n    ours {our:?}, pacparser {their:?}, expected {expect:?}"
            )),
        }
    }
    eprintln!(
        "pacparser differential: {} cases, {agreed} agree, {differed} deliberate differences",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
