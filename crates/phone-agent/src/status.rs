//! The daemon's one status model: what `GET /api/status` returns, what `/api/events` streams,
//! what the admin page and `phone-agent status` show. Fed by the cores' typed events (sip-ua's
//! `Event`, eap-supplicant's `Event`) and the subsystems' results; secrets never enter it.
//!
//! The JSON schema is versioned by [`SCHEMA_VERSION`] (the `schema` field): a field is only
//! added within a version; renaming or removing one bumps it. States are the phone's words
//! (`Authenticating`, `Authenticated`, `Disabled`; `EAP-TLS`, `EAP-FAST`). Every state is a
//! Rust enum ([`TransactionState`], [`RegistrationState`], [`ProxyMode`], [`FirewallState`],
//! [`VpnState`], [`PcPortState`], [`ProvisioningResult`], [`Severity`]) serialized as the word the schema
//! documents, so the words cannot drift from the code.
//!
//! ```json
//! { "schema": 1,
//!   "agent": { "version": "0.1.0", "pid": 4242, "config": "cfg.xml", "started_unix": 1764000000, "generation": 2 },
//!   "network": { "iface": "eth0", "addresses": ["192.0.2.10/24"], "last_error": null,
//!                "dhcp": { "address": "192.0.2.10", "prefix_len": 24, "server": "192.0.2.1", "routers": ["192.0.2.1"],
//!                          "dns_servers": [], "lease_seconds": 3600, "bound_unix": 1764000000, "renewals": 0,
//!                          "provisioning_option": 66, "provisioning_source": "tftp://192.0.2.1", "passed_over": [],
//!                          "wpad": null, "applied": false, "hand_off": "/var/lib/phone-agent/dhcp-lease.json" } },
//!   "dot1x": { "transaction_state": "Authenticated", "protocol": "EAP-TLS", "declined_methods": [], "authentications": 1, "last_error": null },
//!   "pc_port": { "state": "Forwarding", "iface": "eth1", "link_up": true, "pcs": ["02:00:00:00:0c:11"], "frames_to_network": 9,
//!                "frames_to_pc": 10, "proxy_logoffs": 0, "last_proxy_logoff": null, "last_error": null },
//!   "lines": [ { "line": 1, "user": "1001", "registrar": "pbx.example.com", "state": "Registered",
//!                "transport": "TLS", "target": "TLS 192.0.2.1:5061", "mediasec": "sdes-srtp",
//!                "expires": 3600, "registrations": 1, "last_error": null } ],
//!   "proxy": { "mode": "Auto", "proxy": null, "pac_source": "WPAD" },
//!   "firewall": { "state": "Applied", "open_ports": ["UDP 5060 (SIP_Port_1_)"], "last_error": null },
//!   "vpn": { "state": "Disabled", "server": null, "ip": null, "mask": null, "bytes_sent": 0, "bytes_received": 0, "last_error": null },
//!   "provisioning": { "last_resync_unix": 1764000010, "result": "Applied", "detail": "...", "source": "DHCP option 66",
//!                     "rules": [ { "rule": "Profile_Rule", "url": "tftp://192.0.2.1/7832.xml", "status": "fetched", "detail": "..." } ],
//!                     "profile": "/var/lib/phone-agent/profile.xml", "resyncs": 1,
//!                     "next_resync_unix": 1764003610, "last_reason": "PowerUp" },
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
    /// The DHCPv4 lease (`run --dhcp`), once bound.
    #[serde(default)]
    pub dhcp: Option<DhcpLease>,
}

impl Network {
    /// Sets the DHCPv4 lease (`None`: none bound) and, with it, `addresses`: the leased
    /// `IP/prefix` (`/32` without option 1), or none. Under `run --dhcp` the lease is the
    /// interface's address the phone uses, as the schema's example shows.
    pub fn set_dhcp(&mut self, lease: Option<DhcpLease>) {
        self.addresses = lease
            .iter()
            .map(|l| format!("{}/{}", l.address, l.prefix_len.unwrap_or(32)))
            .collect();
        self.dhcp = lease;
    }
}

/// A DHCPv4 lease as the daemon holds it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DhcpLease {
    /// The address leased.
    pub address: String,
    /// Its prefix length (option 1).
    pub prefix_len: Option<u8>,
    /// The DHCP server that granted it.
    pub server: String,
    /// Option 3.
    pub routers: Vec<String>,
    /// Option 6.
    pub dns_servers: Vec<String>,
    /// The lease time granted, in seconds (`None`: infinite).
    pub lease_seconds: Option<u64>,
    /// When it was bound or last renewed (seconds since 1970).
    pub bound_unix: u64,
    /// Renewals (T1) and rebinds (T2) so far.
    pub renewals: u64,
    /// The option of `DHCP_Option_To_Use` that chose the provisioning source (66, 160, 159,
    /// 150...), if any did.
    pub provisioning_option: Option<u16>,
    /// The provisioning source that option names.
    pub provisioning_source: Option<String>,
    /// Options passed over before it, with why (`160: not a URL ...`).
    pub passed_over: Vec<String>,
    /// Option 252 (WPAD).
    pub wpad: Option<String>,
    /// Whether the agent configured the interface itself (not yet: the lease is handed off).
    pub applied: bool,
    /// Where the lease was written for the host to apply (`STATE_DIR/dhcp-lease.json`).
    pub hand_off: Option<String>,
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

/// The PC port's state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PcPortState {
    /// No `--pc-port`.
    #[default]
    Disabled,
    /// Opening the ports.
    Starting,
    /// The PC's EAPOL passes through.
    Forwarding,
    /// The pass-through failed (see `last_error`); retried.
    Failed,
}

/// The PC port (SPEC §12): the PC behind the phone authenticates through it (EAPOL
/// pass-through); when its link goes down the phone sends a proxy EAPOL-Logoff for it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PcPort {
    /// `Disabled` (no `--pc-port`) | `Starting` | `Forwarding` | `Failed`.
    pub state: PcPortState,
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

/// `Proxy_Mode`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProxyMode {
    /// No proxy.
    #[default]
    Off,
    /// `Proxy_Host:Proxy_Port`.
    Manual,
    /// PAC (WPAD or `PAC_URL`).
    Auto,
}

impl From<phone_config::ProxyMode> for ProxyMode {
    fn from(m: phone_config::ProxyMode) -> ProxyMode {
        match m {
            phone_config::ProxyMode::Off => ProxyMode::Off,
            phone_config::ProxyMode::Manual => ProxyMode::Manual,
            phone_config::ProxyMode::Auto => ProxyMode::Auto,
        }
    }
}

/// HTTP proxy selection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Proxy {
    /// `Off` | `Manual` | `Auto`.
    pub mode: ProxyMode,
    /// Manual: `host:port`.
    pub proxy: Option<String>,
    /// Auto: `WPAD` or the PAC_URL.
    pub pac_source: Option<String>,
}

/// The firewall's state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum FirewallState {
    /// Not applied yet.
    #[default]
    Pending,
    /// The nftables table is in place.
    Applied,
    /// `Firewall` is Disabled: the table was removed.
    Disabled,
    /// Applying failed (see `last_error`); retried.
    Failed,
}

/// The firewall.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Firewall {
    /// `Pending` | `Applied` | `Disabled` | `Failed`.
    pub state: FirewallState,
    /// The open ports and why.
    pub open_ports: Vec<String>,
    /// Why applying failed.
    pub last_error: Option<String>,
}

/// The SSL VPN's state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum VpnState {
    /// `Connect_on_Bootup` is No.
    #[default]
    Disabled,
    /// TCP, TLS, the login or the CONNECT under way.
    Connecting,
    /// The tunnel is up.
    Connected,
    /// The tunnel dropped; cstp-client reconnects with its cookie.
    Reconnecting,
    /// Refused or lost for good (see `last_error`); retried with backoff.
    Failed,
}

/// The SSL VPN.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Vpn {
    /// `Disabled` (Connect_on_Bootup No) | `Connecting` | `Connected` | `Reconnecting` |
    /// `Failed`.
    pub state: VpnState,
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
    /// The TUN device.
    #[serde(default)]
    pub device: Option<String>,
    /// Tunnel-ups since the daemon started it (reconnections included).
    #[serde(default)]
    pub connections: u64,
    /// The last failure.
    pub last_error: Option<String>,
}

/// The outcome of the last resync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProvisioningResult {
    /// A profile was fetched and the daemon now runs it.
    Applied,
    /// A profile was fetched, but it has errors: refused whole, the running configuration kept
    /// (its diagnostics are in `config.diagnostics`).
    Refused,
    /// A profile was fetched and is the configuration already running.
    Unchanged,
    /// No rule names a server (and DHCP gave none): nothing to fetch.
    Skipped,
    /// A rule's fetch failed (see `detail` and `rules`); retried with backoff.
    Failed,
}

/// What one `Profile_Rule*` did in the last resync.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleOutcome {
    /// `Profile_Rule`, `Profile_Rule_B`...
    pub rule: String,
    /// The URL it asked for, macros expanded.
    pub url: Option<String>,
    /// `fetched` | `rejected` | `failed` | `skipped`.
    pub status: String,
    /// What happened (bytes and server, or the error).
    pub detail: String,
}

/// Provisioning.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provisioning {
    /// The last resync (seconds since 1970).
    pub last_resync_unix: Option<u64>,
    /// Its result.
    pub result: Option<ProvisioningResult>,
    /// The result in words.
    #[serde(default)]
    pub detail: Option<String>,
    /// Where the server came from when a rule names none (`DHCP option 66`).
    #[serde(default)]
    pub source: Option<String>,
    /// Each rule of the last resync.
    #[serde(default)]
    pub rules: Vec<RuleOutcome>,
    /// The last profile fetched (`STATE_DIR/profile.xml`), once one was.
    #[serde(default)]
    pub profile: Option<String>,
    /// Resyncs done since start.
    #[serde(default)]
    pub resyncs: u64,
    /// When the next scheduled resync is due (seconds since 1970); `None`: none scheduled
    /// (one is running, or the schedule is off).
    #[serde(default)]
    pub next_resync_unix: Option<u64>,
    /// Why the last resync ran: `PowerUp`, `Periodic` or `Retry` (`$PRVST` 0, 1, 2).
    #[serde(default)]
    pub last_reason: Option<String>,
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

/// A diagnostic's severity, as `phone-agent check --json` writes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    #[default]
    Note,
    /// Probably a mistake, or security switched off.
    Warning,
    /// The file cannot be used: a reload with one is refused.
    Error,
}

impl From<phone_config::Severity> for Severity {
    fn from(s: phone_config::Severity) -> Severity {
        match s {
            phone_config::Severity::Note => Severity::Note,
            phone_config::Severity::Warning => Severity::Warning,
            phone_config::Severity::Error => Severity::Error,
        }
    }
}

/// One cfg.xml diagnostic, as `phone-agent check --json` gives it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// `error` | `warning` | `note`.
    pub severity: Severity,
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
            severity: d.severity.into(),
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
        "Network: {}{}{}",
        none(&s.network.iface),
        s.network
            .addresses
            .iter()
            .fold(String::new(), |line, a| line + " " + a),
        s.network
            .dhcp
            .as_ref()
            .map(|d| format!(
                ", DHCP lease {}/{} from {}{}",
                d.address,
                d.prefix_len.map_or("?".into(), |p| p.to_string()),
                d.server,
                d.provisioning_option
                    .map(|o| format!(", provisioning from option {o}"))
                    .unwrap_or_default()
            ))
            .unwrap_or_default()
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
            "PC port: {:?} {pc}, link {}, PCs [{}], {} EAPOL frames to the network, {} to the PC, {} proxy Logoff(s){}",
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
        "Proxy: {:?}{}{}",
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
        "Firewall: {:?}, {} open port rule(s){}",
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
        "VPN: {:?}{}{}",
        s.vpn.state,
        s.vpn
            .ip
            .as_deref()
            .map(|ip| format!(
                " {ip}/{} via {}, {} bytes sent, {} received",
                s.vpn.mask.as_deref().unwrap_or("?"),
                s.vpn.server.as_deref().unwrap_or("?"),
                s.vpn.bytes_sent,
                s.vpn.bytes_received
            ))
            .unwrap_or_default(),
        s.vpn
            .last_error
            .as_deref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "Provisioning: {}{}",
        s.provisioning
            .result
            .map_or_else(|| "-".to_owned(), |r| format!("{r:?}")),
        s.provisioning
            .detail
            .as_deref()
            .map(|d| format!(" ({d})"))
            .unwrap_or_default()
    );
    let errors = s
        .config
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let _ = writeln!(
        out,
        "Config: {} diagnostic(s), {errors} error(s){}",
        s.config.diagnostics.len(),
        match &s.config.last_reload {
            Some(r) if r.accepted && r.changed.is_empty() => {
                "; last reload accepted, nothing changed".to_owned()
            }
            Some(r) if r.accepted => format!("; last reload accepted, restarted: {}", r.changed.join(", ")),
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
                state: FirewallState::Failed,
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
        assert_eq!(json["firewall"]["state"], "Failed");
        assert_eq!(json["vpn"]["state"], "Disabled");
        assert_eq!(json["proxy"]["mode"], "Off");
        let d = serde_json::to_value(Diagnostic {
            severity: Severity::Error,
            ..Diagnostic::default()
        })
        .unwrap_or_default();
        assert_eq!(d["severity"], "error");
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
    fn text_leaves_out_what_is_empty() {
        let mut s = sample();
        s.network.iface = Some("eth0".into());
        s.network.dhcp = Some(DhcpLease {
            address: "192.0.2.10".into(),
            prefix_len: Some(24),
            server: "192.0.2.1".into(),
            ..DhcpLease::default()
        });
        s.config.last_reload = Some(Reload {
            at_unix: 1,
            accepted: true,
            changed: Vec::new(),
        });
        let text = render_text(&s);
        assert!(
            text.contains("Network: eth0, DHCP lease 192.0.2.10/24 from 192.0.2.1\n"),
            "{text}"
        );
        assert!(
            text.contains("; last reload accepted, nothing changed\n"),
            "{text}"
        );
        s.network.addresses = vec!["192.0.2.10/24".into(), "2001:db8::10/64".into()];
        s.config.last_reload = Some(Reload {
            at_unix: 2,
            accepted: true,
            changed: vec!["line 2".into(), "VPN".into()],
        });
        let text = render_text(&s);
        assert!(
            text.contains("Network: eth0 192.0.2.10/24 2001:db8::10/64, DHCP lease"),
            "{text}"
        );
        assert!(
            text.contains("; last reload accepted, restarted: line 2, VPN\n"),
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
