//! The admin page in a real browser: headless Chromium (Debian package `chromium`), as root
//! without its sandbox, a fresh profile per call, optionally inside a network namespace (the
//! agent's API is on that namespace's loopback). `--dump-dom` gives the DOM after the page's
//! script ran; `--screenshot` a PNG at a window size.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn chromium() -> PathBuf {
    for dir in ["/usr/bin", "/usr/sbin"] {
        let p = Path::new(dir).join("chromium");
        if p.exists() {
            return p;
        }
    }
    panic!("chromium not found: install the Debian package `chromium` (.ci/run installs it)");
}

fn command(netns: Option<&str>, profile: &Path) -> Command {
    let mut c = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).arg(chromium());
            c
        }
        None => Command::new(chromium()),
    };
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .stdin(Stdio::null());
    c
}

/// The page's DOM after its script ran.
pub fn dump_dom(url: &str, netns: Option<&str>, scratch: &Path) -> String {
    let profile = scratch.join("chromium-profile");
    let out = command(netns, &profile)
        .arg("--dump-dom")
        .arg(url)
        .stderr(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "chromium --dump-dom {url}: {}", out.status);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A screenshot of the page at `width`x`height` into `png`.
pub fn screenshot(url: &str, netns: Option<&str>, scratch: &Path, (width, height): (u32, u32), png: &Path) {
    let profile = scratch.join("chromium-profile");
    let out = command(netns, &profile)
        .arg(format!("--window-size={width},{height}"))
        .arg(format!("--screenshot={}", png.display()))
        .arg(url)
        .stderr(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success() && png.exists(),
        "chromium --screenshot {url}: {}",
        out.status
    );
}

/// The text of the element with `id` in a dumped DOM.
pub fn text_of(dom: &str, id: &str) -> Option<String> {
    let at = dom.find(&format!("id=\"{id}\""))?;
    let rest = dom.get(at..)?;
    let open = rest.find('>')?;
    let text = rest.get(open + 1..)?;
    Some(text.get(..text.find('<')?)?.to_owned())
}
