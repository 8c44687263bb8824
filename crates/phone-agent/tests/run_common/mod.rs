//! What the daemon's tests (run_*.rs) share: `phone-agent run` started as the test's child,
//! directly or inside a network namespace, its output in a log file; its status read with
//! `phone-agent status --json` (where the daemon runs) in bounded polls; signals sent to its
//! PID; SIGKILL when dropped while still running, so a failed assertion leaves no daemon.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // each test file uses a part

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The agent binary under test.
pub const AGENT: &str = env!("CARGO_BIN_EXE_phone-agent");

/// A running `phone-agent run`.
pub struct Daemon {
    child: Child,
    ns: Option<String>,
    http: String,
    log: PathBuf,
}

impl Daemon {
    /// `phone-agent ARGS --http HTTP` (ARGS: global options, `run` and its options), inside
    /// network namespace `ns` when given; stdout and stderr to `log`.
    pub fn start<S: AsRef<OsStr>>(
        ns: Option<&str>,
        http: &str,
        log: &Path,
        args: impl IntoIterator<Item = S>,
    ) -> Daemon {
        let out = std::fs::File::create(log).unwrap();
        let mut cmd = match ns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, AGENT]);
                c
            }
            None => Command::new(AGENT),
        };
        let child = cmd
            .args(args)
            .args(["--http", http])
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        Daemon {
            child,
            ns: ns.map(str::to_owned),
            http: http.to_owned(),
            log: log.to_owned(),
        }
    }

    /// Where its admin API listens.
    pub fn http(&self) -> &str {
        &self.http
    }

    /// Its output so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Its status (`phone-agent status --json`, in its namespace); `None` while it does not
    /// answer.
    pub fn status(&self) -> Option<Value> {
        let mut cmd = match &self.ns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, AGENT]);
                c
            }
            None => Command::new(AGENT),
        };
        let out = cmd
            .args(["status", "--json", "--http", &self.http])
            .output()
            .ok()?;
        serde_json::from_slice(&out.stdout).ok()
    }

    /// Polls the status every 50 ms until `pred` holds, at most `limit`.
    pub fn poll_status(&self, limit: Duration, pred: impl Fn(&Value) -> bool) -> Option<Value> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(s) = self.status().filter(|s| pred(s)) {
                return Some(s);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// [`Daemon::poll_status`], panicking after `limit` with the last status and the log.
    pub fn wait_for(&self, limit: Duration, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.poll_status(limit, pred).unwrap_or_else(|| {
            panic!(
                "timed out waiting for {what}; status:\n{:#}\nagent log:\n{}",
                self.status().unwrap_or_default(),
                self.log()
            )
        })
    }

    /// `kill -NAME` to its PID (`ip netns exec` execs the agent, so the PID is the agent's).
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name}");
    }

    /// Its exit code, once it has exited within `limit`; panics with the log otherwise.
    pub fn exit_code(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "still running after {limit:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then its exit code (within 10 s).
    pub fn terminate(&mut self) -> Option<i32> {
        self.signal("TERM");
        self.exit_code(Duration::from_secs(10))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
