//! The daemon's one status model: what `GET /api/status` returns, what `/api/events` streams,
//! what the admin page and `phone-agent status` show. Fed by the cores' typed events (sip-ua's
//! `Event`, eap-supplicant's `Event`) and the subsystems' results; secrets never enter it.
//!
//! The JSON schema is versioned by [`SCHEMA_VERSION`] (the `schema` field): a field is only
//! added within a version; renaming or removing one bumps it. States are the phone's words
//! (`Authenticating`, `Authenticated`, `Disabled`; `EAP-TLS`, `EAP-FAST`).
//!
//! ```json
//! { "schema": 1,
//!   "agent": { "version": "0.1.0", "pid": 4242, "config": "cfg.xml", "started_unix": 1764000000, "generation": 2 },
//!   "network": { "iface": "eth0", "addresses": ["192.0.2.10/24"], "last_error": null },
//!   "dot1x": { "transaction_state": "Authenticated", "protocol": "EAP-TLS", "declined_methods": [], "authentications": 1, "last_error": null },
//!   "pc_port": { "state": "Forwarding", "iface": "eth1", "link_up": true, "pcs": ["02:00:00:00:0c:11"], "frames_to_network": 9,
//!                "frames_to_pc": 10, "proxy_logoffs": 0, "last_proxy_logoff": null, "last_error": null },
//!   "lines": [ { "line": 1, "user": "1001", "registrar": "pbx.example.com", "state": "Registered",
//!                "transport": "TLS", "target": "TLS 192.0.2.1:5061", "mediasec": "sdes-srtp",
//!                "expires": 3600, "registrations": 1, "last_error": null } ],
//!   "proxy": { "mode": "Auto", "proxy": null, "pac_source": "WPAD" },
//!   "firewall": { "state": "Applied", "open_ports": ["UDP 5060 (SIP_Port_1_)"], "last_error": null },
//!   "vpn": { "state": "Disabled", "server": null, "ip": null, "mask": null, "bytes_sent": 0, "bytes_received": 0, "last_error": null },
//!   "provisioning": { "last_resync_unix": null, "result": null },
//!   "config": { "file": "cfg.xml", "last_reload": { "at_unix": 1764000100, "accepted": false, "changed": [] },
//!               "diagnostics": [ { "severity": "error", "parameter": "SIP_Port_1_", "line": 4, "column": 12, "message": "...", "hint": null } ] } }
//! ```

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// The version of the JSON schema below.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything the agent reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// [`SCHEMA_VERSION`].
    pub schema: u32,
    /// The process.
    pub agent: Agent,
    /// Addressing.
    pub network: Network,
    /// 802.1X on the network port.
    pub dot1x: Dot1x,
    /// The PC port's EAPOL pass-through (`--pc-port`).
    #[serde(default)]
    pub pc_port: PcPort,
    /// Every enabled SIP line, in line order.
    pub lines: Vec<LineStatus>,
    /// HTTP proxy selection.
    pub proxy: Proxy,
    /// The firewall.
    pub firewall: Firewall,
    /// The SSL VPN.
    pub vpn: Vpn,
    /// Provisioning (filled in when the provisioning client runs in the daemon).
    pub provisioning: Provisioning,
    /// The configuration file and its last reload.
    pub config: ConfigStatus,
}

/// The process.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    /// phone-agent's version.
    pub version: String,
    /// Its process id.
    pub pid: u32,
    /// The cfg.xml it runs.
    pub config: String,
    /// When it started (seconds since 1970).
    pub started_unix: u64,
    /// Configurations accepted so far (1 after start; +1 per accepted reload).
    pub generation: u64,
    /// Set while the agent shuts down.
    pub stopping: bool,
}

/// Addressing: the interface's addresses (a DHCP lease when the DHCP client runs here).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Network {
    /// The network port (`--iface`).
    pub iface: Option<String>,
    /// Its addresses, `IP/prefix`.
    pub addresses: Vec<String>,
    /// Why addressing failed.
    pub last_error: Option<String>,
}

/// 802.1X transaction state, in the phone's words.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransactionState {
    /// `Enable_802.1X_Authentication` is No.
    #[default]
    Disabled,
    /// EAPOL-Start sent or a conversation under way.
    Authenticating,
    /// EAP-Success verified: the port is authorized.
    Authenticated,
    /// The last conversation failed (see `last_error`); it is retried.
    Failed,
}

/// 802.1X.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Dot1x {
    /// `Authenticating` | `Authenticated` | `Disabled` (| `Failed`).
    pub transaction_state: TransactionState,
    /// `EAP-TLS` | `EAP-FAST` once a method runs.
    pub protocol: Option<String>,
    /// Methods the authenticator proposed that the phone declined, with why.
    pub declined_methods: Vec<String>,
    /// Successful authentications (re-authentications included).
    pub authentications: u64,
    /// The last failure.
    pub last_error: Option<String>,
}

/// The PC port (SPEC §12): the PC behind the phone authenticates through it (EAPOL
/// pass-through); when its link goes down the phone sends a proxy EAPOL-Logoff for it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PcPort {
    /// `Disabled` (no `--pc-port`) | `Forwarding` | `Failed`.
    pub state: String,
    /// The PC port's interface.
    pub iface: Option<String>,
    /// Its link state, once read.
    pub link_up: Option<bool>,
    /// MAC addresses of the PCs seen on it.
    pub pcs: Vec<String>,
    /// EAPOL frames forwarded from the PC to the network.
    pub frames_to_network: u64,
    /// EAPOL frames forwarded from the network to the PC.
    pub frames_to_pc: u64,
    /// Proxy EAPOL-Logoffs sent.
    pub proxy_logoffs: u64,
    /// The PC the last one was for.
    pub last_proxy_logoff: Option<String>,
    /// The last failure.
    pub last_error: Option<String>,
}

/// A line's registration state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RegistrationState {
    /// Locating the registrar, connecting, or waiting for the answer.
    #[default]
    Registering,
    /// Bound at the registrar.
    Registered,
    /// Refused or unreachable (see `last_error`); retried with backoff.
    Failed,
    /// Our binding removed (`Expires: 0`) on shutdown or before a changed line re-registers.
    Unregistered,
}

/// One SIP line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LineStatus {
    /// The line number, 1 to 16.
    pub line: usize,
    /// `User_ID_n_`.
    pub user: String,
    /// `Proxy_n_`.
    pub registrar: String,
    /// The registration state.
    pub state: RegistrationState,
    /// `UDP` | `TCP` | `TLS` in use.
    pub transport: Option<String>,
    /// The RFC 3263 target in use.
    pub target: Option<String>,
    /// The media security mechanism agreed (mediasec), if any.
    pub mediasec: Option<String>,
    /// Seconds granted by the registrar.
    pub expires: Option<u32>,
    /// Successful REGISTERs (refreshes included) since the line (re)started.
    pub registrations: u64,
    /// Times this line was started with a new configuration (1 at start).
    pub starts: u64,
    /// The last failure.
    pub last_error: Option<String>,
}

/// HTTP proxy selection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Proxy {
    /// `Off` | `Manual` | `Auto`.
    pub mode: String,
    /// Manual: `host:port`.
    pub proxy: Option<String>,
    /// Auto: `WPAD` or the PAC_URL.
    pub pac_source: Option<String>,
}

/// The firewall.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Firewall {
    /// `Pending` | `Applied` | `Disabled` | `Failed`.
    pub state: String,
    /// The open ports and why.
    pub open_ports: Vec<String>,
    /// Why applying failed.
    pub last_error: Option<String>,
}

/// The SSL VPN.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Vpn {
    /// `Disabled` (Connect_on_Bootup No) | `Connecting` | `Connected` | `Failed`.
    pub state: String,
    /// VPN_Server.
    pub server: Option<String>,
    /// The tunnel address.
    pub ip: Option<String>,
    /// Its netmask.
    pub mask: Option<String>,
    /// Bytes sent through the tunnel.
    pub bytes_sent: u64,
    /// Bytes received through the tunnel.
    pub bytes_received: u64,
    /// The last failure.
    pub last_error: Option<String>,
}

/// Provisioning.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provisioning {
    /// The last resync (seconds since 1970).
    pub last_resync_unix: Option<u64>,
    /// Its result.
    pub result: Option<String>,
}

/// The configuration file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConfigStatus {
    /// Its path.
    pub file: String,
    /// The last reload (SIGHUP or `POST /api/reload`).
    pub last_reload: Option<Reload>,
    /// The diagnostics of the last file read (the refused one after a refused reload).
    pub diagnostics: Vec<Diagnostic>,
}

/// What a reload did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reload {
    /// When (seconds since 1970).
    pub at_unix: u64,
    /// False: the file had errors and the running configuration was kept whole.
    pub accepted: bool,
    /// The subsystems restarted or updated (`line 2`, `firewall`...).
    pub changed: Vec<String>,
}

/// One cfg.xml diagnostic, as `phone-agent check --json` gives it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// `error` | `warning` | `note`.
    pub severity: String,
    /// The parameter it is about.
    pub parameter: Option<String>,
    /// 1-based line.
    pub line: Option<u32>,
    /// 1-based column.
    pub column: Option<u32>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

impl From<&phone_config::Diagnostic> for Diagnostic {
    fn from(d: &phone_config::Diagnostic) -> Diagnostic {
        Diagnostic {
            severity: d.severity.as_str().to_owned(),
            parameter: d.parameter.clone(),
            line: d.line(),
            column: d.column(),
            message: d.message.clone(),
            hint: d.hint.clone(),
        }
    }
}

/// Seconds since 1970.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The shared, observable status: subsystems update it, the HTTP views watch it.
#[derive(Clone)]
pub struct StatusHandle(Arc<watch::Sender<Status>>);

impl StatusHandle {
    /// A handle holding `status`.
    pub fn new(status: Status) -> StatusHandle {
        StatusHandle(Arc::new(watch::Sender::new(status)))
    }

    /// A copy of the current status.
    pub fn snapshot(&self) -> Status {
        self.0.borrow().clone()
    }

    /// Changes the status; watchers are told only when it really changed.
    pub fn update(&self, change: impl FnOnce(&mut Status)) {
        self.0.send_if_modified(|s| {
            let before = s.clone();
            change(s);
            *s != before
        });
    }

    /// Changes line `n`'s entry, if the line is in the status.
    pub fn line(&self, n: usize, change: impl FnOnce(&mut LineStatus)) {
        self.update(|s| {
            if let Some(l) = s.lines.iter_mut().find(|l| l.line == n) {
                change(l);
            }
        });
    }

    /// A receiver told of every change.
    pub fn subscribe(&self) -> watch::Receiver<Status> {
        self.0.subscribe()
    }
}

/// The status as text, for `phone-agent status` without `--json`.
pub fn render_text(s: &Status) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let none = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    let _ = writeln!(
        out,
        "phone-agent {} (pid {}), config {} (generation {}){}",
        s.agent.version,
        s.agent.pid,
        s.agent.config,
        s.agent.generation,
        if s.agent.stopping { ", stopping" } else { "" }
    );
    let _ = writeln!(
        out,
        "Network: {} {}",
        none(&s.network.iface),
        s.network.addresses.join(" ")
    );
    let _ = writeln!(
        out,
        "802.1X: {:?}{}{}",
        s.dot1x.transaction_state,
        s.dot1x
            .protocol
            .as_deref()
            .map(|p| format!(", {p}"))
            .unwrap_or_default(),
        s.dot1x
            .last_error
            .as_deref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default()
    );
    if let Some(pc) = &s.pc_port.iface {
        let p = &s.pc_port;
        let _ = writeln!(
            out,
            "PC port: {} {pc}, link {}, PCs [{}], {} EAPOL frames to the network, {} to the PC, {} proxy Logoff(s){}",
            p.state,
            match p.link_up {
                Some(true) => "up",
                Some(false) => "down",
                None => "-",
            },
            p.pcs.join(" "),
            p.frames_to_network,
            p.frames_to_pc,
            p.proxy_logoffs,
            p.last_error
                .as_deref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        );
    }
    for l in &s.lines {
        let _ = writeln!(
            out,
            "Line {}: {:?} {}@{} via {}{}{}",
            l.line,
            l.state,
            l.user,
            l.registrar,
            none(&l.target),
            l.mediasec
                .as_deref()
                .map(|m| format!(", mediasec {m}"))
                .unwrap_or_default(),
            l.last_error
                .as_deref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        );
    }
    let _ = writeln!(
        out,
        "Proxy: {}{}{}",
        s.proxy.mode,
        s.proxy
            .proxy
            .as_deref()
            .map(|p| format!(" {p}"))
            .unwrap_or_default(),
        s.proxy
            .pac_source
            .as_deref()
            .map(|p| format!(" PAC from {p}"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "Firewall: {}, {} open port rule(s){}",
        s.firewall.state,
        s.firewall.open_ports.len(),
        s.firewall
            .last_error
            .as_deref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "VPN: {}{}",
        s.vpn.state,
        s.vpn
            .last_error
            .as_deref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "Provisioning: {}",
        s.provisioning.result.as_deref().unwrap_or("-")
    );
    let errors = s
        .config
        .diagnostics
        .iter()
        .filter(|d| d.severity == "error")
        .count();
    let _ = writeln!(
        out,
        "Config: {} diagnostic(s), {errors} error(s){}",
        s.config.diagnostics.len(),
        match &s.config.last_reload {
            Some(r) if r.accepted => format!("; last reload accepted ({})", r.changed.join(", ")),
            Some(_) => "; last reload REFUSED, running configuration kept".to_owned(),
            None => String::new(),
        }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Status {
        Status {
            schema: SCHEMA_VERSION,
            lines: vec![LineStatus {
                line: 1,
                user: "1001".into(),
                registrar: "pbx.example.com".into(),
                state: RegistrationState::Registered,
                target: Some("192.0.2.1:5060 over Udp".into()),
                ..LineStatus::default()
            }],
            dot1x: Dot1x {
                transaction_state: TransactionState::Authenticated,
                protocol: Some("EAP-TLS".into()),
                ..Dot1x::default()
            },
            firewall: Firewall {
                state: "Failed".into(),
                last_error: Some("nft refused".into()),
                ..Firewall::default()
            },
            ..Status::default()
        }
    }

    #[test]
    fn json_uses_the_phones_words_and_reads_back() {
        let s = sample();
        let json = serde_json::to_value(&s).unwrap_or_default();
        assert_eq!(json["schema"], 1);
        assert_eq!(json["dot1x"]["transaction_state"], "Authenticated");
        assert_eq!(json["lines"][0]["state"], "Registered");
        let back: Result<Status, _> = serde_json::from_value(json);
        assert_eq!(back.ok(), Some(s));
    }

    #[test]
    fn text_names_each_subsystem_and_its_error() {
        let text = render_text(&sample());
        assert!(text.contains("802.1X: Authenticated, EAP-TLS"), "{text}");
        assert!(
            text.contains("Line 1: Registered 1001@pbx.example.com via 192.0.2.1:5060 over Udp"),
            "{text}"
        );
        assert!(
            text.contains("Firewall: Failed, 0 open port rule(s) (nft refused)"),
            "{text}"
        );
    }

    #[test]
    fn watchers_are_told_only_of_real_changes() {
        let handle = StatusHandle::new(sample());
        let mut rx = handle.subscribe();
        rx.mark_unchanged();
        handle.update(|s| s.schema = SCHEMA_VERSION);
        assert!(!rx.has_changed().unwrap_or(true));
        handle.line(1, |l| l.state = RegistrationState::Failed);
        assert!(rx.has_changed().unwrap_or(false));
    }
}
