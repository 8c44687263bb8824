//! The VPN status model (the seed's VPN Status page plus since-when and the server), its
//! state file, and `vpn status` / `vpn disconnect`.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use serde_json::{Value as Json, json};

/// What the status page shows, plus what the agent knows about the session.
#[derive(Debug, Clone, Default)]
pub struct VpnStatus {
    /// "Enable VPN connection": on while the session runs; back to off on failure (SPEC §14).
    pub enabled: bool,
    /// connecting / connected / reconnecting / disconnected.
    pub state: &'static str,
    /// The VPN IP address.
    pub ip: Option<String>,
    /// The VPN subnet mask.
    pub netmask: Option<String>,
    /// Bytes sent through the tunnel.
    pub bytes_sent: u64,
    /// Bytes received through the tunnel.
    pub bytes_received: u64,
    /// Since when the tunnel is up (RFC 3339, UTC).
    pub since: Option<String>,
    /// VPN_Server.
    pub server: String,
    /// VPN_Tunnel_Group.
    pub group: Option<String>,
    /// The TUN device.
    pub device: Option<String>,
    /// The tunnel MTU.
    pub mtu: Option<u16>,
    /// DNS servers the VPN pushed (reported, not applied).
    pub dns: Vec<String>,
    /// Routes through the tunnel.
    pub routes: Vec<String>,
    /// The last failure or the reason for the state.
    pub reason: Option<String>,
    /// Reconnects so far.
    pub reconnects: u64,
    /// The agent's pid.
    pub pid: u32,
}

impl VpnStatus {
    /// The JSON form (the state file and `--json`).
    pub fn to_json(&self) -> Json {
        json!({
            "enabled": self.enabled,
            "connected": self.state == "connected",
            "state": self.state,
            "ip": self.ip,
            "netmask": self.netmask,
            "bytes_sent": self.bytes_sent,
            "bytes_received": self.bytes_received,
            "since": self.since,
            "server": self.server,
            "group": self.group,
            "device": self.device,
            "mtu": self.mtu,
            "dns": self.dns,
            "routes": self.routes,
            "reason": self.reason,
            "reconnects": self.reconnects,
            "pid": self.pid,
        })
    }

    /// Writes the state file atomically (write then rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(&self.to_json())?)
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
        Ok(())
    }
}

/// `SystemTime` as RFC 3339 UTC (`2026-11-27T15:20:01Z`).
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn read(path: &Path) -> Result<serde_json::Map<String, Json>> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("reading {} (is a VPN session running?)", path.display()))?;
    match serde_json::from_slice(&bytes) {
        Ok(Json::Object(map)) => Ok(map),
        _ => bail!("{} is not a VPN state file", path.display()),
    }
}

/// Whether `pid` runs (a zombie, exited but not yet reaped by its parent, does not).
fn alive(pid: u64) -> bool {
    if pid == 0 {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // `pid (comm) S ...`: the state follows the last `)`.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// `vpn status`: the state file, corrected when its session is gone. Exit 0 when connected.
pub fn show(path: &Path, json_out: bool) -> Result<ExitCode> {
    let mut doc = read(path)?;
    let pid = doc.get("pid").and_then(Json::as_u64).unwrap_or(0);
    let state = doc
        .get("state")
        .and_then(Json::as_str)
        .unwrap_or("disconnected")
        .to_owned();
    if state != "disconnected" && !alive(pid) {
        doc.insert("state".into(), json!("disconnected"));
        doc.insert("connected".into(), json!(false));
        doc.insert("enabled".into(), json!(false));
        doc.insert("reason".into(), json!(format!("the agent (pid {pid}) is gone")));
    }
    let connected = doc.get("connected") == Some(&json!(true));
    if json_out {
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        let s = |k: &str| match doc.get(k) {
            Some(Json::String(v)) => v.clone(),
            Some(Json::Number(n)) => n.to_string(),
            _ => "-".to_owned(),
        };
        let enabled = doc.get("enabled") == Some(&json!(true));
        println!("VPN:            {}", if enabled { "enabled" } else { "disabled" });
        println!("Status:         {}", s("state"));
        println!("VPN IP address: {}", s("ip"));
        println!("Subnet mask:    {}", s("netmask"));
        println!("Bytes sent:     {}", s("bytes_sent"));
        println!("Bytes received: {}", s("bytes_received"));
        println!("Since:          {}", s("since"));
        println!("Server:         {}", s("server"));
        if doc.get("reason").is_some_and(Json::is_string) {
            println!("Reason:         {}", s("reason"));
        }
    }
    Ok(if connected {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `vpn disconnect`: SIGTERM to the session, then wait (10 s at most) for it to log out.
pub fn disconnect(path: &Path) -> Result<ExitCode> {
    let doc = read(path)?;
    let pid = doc.get("pid").and_then(Json::as_u64).unwrap_or(0);
    if !alive(pid) {
        println!("vpn: no session running (state file {})", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let raw = i32::try_from(pid).context("pid out of range")?;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), nix::sys::signal::Signal::SIGTERM)
        .with_context(|| format!("signalling pid {pid}"))?;
    let start = Instant::now();
    while alive(pid) {
        if start.elapsed() > Duration::from_secs(10) {
            bail!("the VPN session (pid {pid}) did not exit within 10 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    println!("vpn: disconnected (pid {pid})");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_798_385_401)),
            "2026-12-27T15:30:01Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
    }
}
