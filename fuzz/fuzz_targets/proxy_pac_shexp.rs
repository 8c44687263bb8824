//! `shExpMatch(text, pattern)` on any pattern × text (the input split at its first NUL):
//! the engine's answer (Rust glob fast path, or the RegExp it falls back to) must equal
//! Netscape's definition evaluated as a RegExp in the same QuickJS, and, for patterns with
//! no RegExp metacharacter, a plain reference glob matcher written here. Asked twice, to
//! cover the pattern caches. The time limit runs on a clock that advances per interrupt
//! poll, so a catastrophic RegExp is bounded in work and skipped.
#![no_main]

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::rc::Rc;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use proxy_pac::{Limits, PacEngine, PacTime, Request};

/// Decodes pattern and text (4 hex digits per UTF-16 unit) from the URL's query and answers
/// `<shExpMatch> <shExpMatch again> <Netscape's RegExp>`, each `true`, `false` or `THROW`.
const SCRIPT: &str = r#"
function unhex(h) {
  var s = '';
  for (var i = 0; i < h.length; i += 4) s += String.fromCharCode(parseInt(h.substr(i, 4), 16));
  return s;
}
function FindProxyForURL(url, host) {
  var q = url.substring(url.indexOf('?') + 1).split('.');
  var p = unhex(q[0]), t = unhex(q[1]);
  function ours() { try { return String(shExpMatch(t, p)); } catch (e) { return 'THROW'; } }
  var netscape;
  try {
    var re = '^' + p.replace(/\./g, '\\.').replace(/\*/g, '.*').replace(/\?/g, '.') + '$';
    netscape = String(new RegExp(re).test(t));
  } catch (e) { netscape = 'THROW'; }
  return ours() + ' ' + ours() + ' ' + netscape;
}
"#;

/// Characters that keep a RegExp metacharacter's meaning after Netscape's translation.
const REGEXP_META: &str = "\\^$+()[]{}|";

/// RegExp `.` (no `s` flag) matches any UTF-16 unit but these.
fn is_line_terminator(u: u16) -> bool {
    matches!(u, 0x0a | 0x0d | 0x2028 | 0x2029)
}

/// Reference glob: dynamic programming over (pattern prefix, text prefix).
fn reference_glob(p: &[u16], t: &[u16]) -> bool {
    // m[j]: pattern prefix so far matches text prefix of length j.
    let mut m = vec![false; t.len() + 1];
    m[0] = true;
    for &c in p {
        let mut next = vec![false; t.len() + 1];
        for j in 0..=t.len() {
            next[j] = match c {
                0x2a => m[j] || (j > 0 && next[j - 1] && !is_line_terminator(t[j - 1])),
                0x3f => j > 0 && m[j - 1] && !is_line_terminator(t[j - 1]),
                _ => j > 0 && m[j - 1] && t[j - 1] == c,
            };
        }
        m = next;
    }
    m[t.len()]
}

fn hex(units: &[u16]) -> String {
    units.iter().fold(String::new(), |mut s, u| {
        let _ = write!(s, "{u:04x}");
        s
    })
}

thread_local! {
    static TICKS: Rc<Cell<u64>> = Rc::new(Cell::new(0));
    static ENGINE: RefCell<Option<PacEngine>> = RefCell::new({
        let ticks = TICKS.with(Rc::clone);
        let clock = Box::new(move || {
            ticks.set(ticks.get() + 1);
            Duration::from_millis(ticks.get())
        });
        let limits = Limits {
            max_call_time: Duration::from_millis(2_000),
            ..Limits::default()
        };
        PacEngine::new(SCRIPT, limits, clock).ok()
    });
}

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let (pattern, text) = input.split_once('\0').unwrap_or((&input, ""));
    let p: Vec<u16> = pattern.encode_utf16().take(64).collect();
    let t: Vec<u16> = text.encode_utf16().take(128).collect();
    let url = format!("http://shexp.test/?{}.{}", hex(&p), hex(&t));
    let time = PacTime::from_unix_millis(1_236_074_400_000, 0);
    let Ok(mut request) = Request::new(&url, time) else {
        panic!("hex URL rejected: {url}");
    };
    let outcome = ENGINE.with(|e| {
        let mut e = e.borrow_mut();
        let engine = e.as_mut().expect("the shExpMatch script loads");
        engine.find_proxy_with(&mut request, &mut |_: &str| None)
    });
    // Only the (bounded) time limit may stop it.
    let result = match outcome {
        Ok(out) => out.result,
        Err(proxy_pac::Error::TimeLimit(_)) => return,
        Err(e) => panic!("{e}"),
    };
    let answers: Vec<&str> = result.split(' ').collect();
    let [ours, again, netscape] = answers[..] else {
        panic!("unexpected answer {result:?}");
    };
    assert_eq!(ours, netscape, "pattern {pattern:?} text {text:?}");
    assert_eq!(
        again, ours,
        "cached answer differs: pattern {pattern:?} text {text:?}"
    );
    if !REGEXP_META.encode_utf16().any(|m| p.contains(&m)) {
        let reference = reference_glob(&p, &t).to_string();
        assert_eq!(ours, reference, "pattern {pattern:?} text {text:?}");
    }
});
