//! The SSL VPN in the daemon (`Connect_on_Bootup` = Yes): one cstp-client session through
//! [`crate::vpn::run_in_daemon`] (the code of `phone-agent vpn connect`), its state, address,
//! mask and byte counters written into the status; on stop it logs out (un-connects), within
//! the shutdown bound. A refused login or a tunnel lost for good is an error the supervisor
//! retries with backoff; a drop is reconnected inside the session with the cookie.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use phone_config::{ProxyMode, Settings};
use phone_secret::SecretString;

use crate::status::{self, StatusHandle, VpnState};
use crate::vpn::{SessionOptions, VpnStatus};

/// What the VPN needs from cfg.xml: the VPN_* settings, the cipher list and the HTTP proxy it
/// may go through. Equal keys mean an unchanged VPN on reload.
#[derive(Clone, PartialEq, Eq)]
struct VpnKey {
    server: Option<String>,
    user: String,
    password: SecretString,
    group: String,
    cipher_list: String,
    proxy_mode: ProxyMode,
    proxy_host: Option<String>,
    proxy_port: u16,
    proxy_auth: bool,
    proxy_user: String,
    proxy_password: SecretString,
}

/// The daemon's VPN plan: the settings it runs with, compared by what the VPN uses.
#[derive(Clone)]
pub struct VpnPlan {
    key: VpnKey,
    settings: Arc<Settings>,
}

impl PartialEq for VpnPlan {
    fn eq(&self, other: &VpnPlan) -> bool {
        self.key == other.key
    }
}

impl std::fmt::Debug for VpnPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "VPN {}@{}",
            self.key.user,
            self.key.server.as_deref().unwrap_or("?")
        )
    }
}

impl VpnPlan {
    /// The plan when `Connect_on_Bootup` is Yes.
    pub fn from_settings(settings: &Settings) -> Option<VpnPlan> {
        let v = &settings.vpn;
        if !v.connect_on_bootup.get().0 {
            return None;
        }
        let p = &settings.http_proxy;
        Some(VpnPlan {
            key: VpnKey {
                server: v.vpn_server.get().as_ref().map(ToString::to_string),
                user: v.vpn_user_name.get().clone(),
                password: v.vpn_password.get().clone(),
                group: v.vpn_tunnel_group.get().clone(),
                cipher_list: settings.tls.tls_cipher_list.get().clone(),
                proxy_mode: *p.proxy_mode.get(),
                proxy_host: p.proxy_host.get().as_ref().map(ToString::to_string),
                proxy_port: p.proxy_port.get().get(),
                proxy_auth: p.proxy_server_requires_authentication.get().0,
                proxy_user: p.proxy_username.get().clone(),
                proxy_password: p.proxy_password.get().clone(),
            },
            settings: Arc::new(settings.clone()),
        })
    }

    /// `VPN_Server`.
    pub fn server(&self) -> Option<String> {
        self.key.server.clone()
    }
}

/// The agent-wide options the VPN uses.
#[derive(Clone, Debug)]
pub struct VpnOptions {
    /// The CA that signs the VPN server's certificate (`--ca-file`).
    pub ca_file: Option<PathBuf>,
    /// The server's TCP port (`--vpn-port`).
    pub port: u16,
    /// The TUN device (`--vpn-device`).
    pub device: String,
}

/// The session's state as the daemon's status shows it.
fn publish(status: &StatusHandle, v: &VpnStatus) {
    let state = match v.state {
        "connected" => VpnState::Connected,
        "reconnecting" => VpnState::Reconnecting,
        "disconnected" => VpnState::Disabled,
        _ => VpnState::Connecting,
    };
    status.update(|s| {
        let was_up = s.vpn.state == VpnState::Connected;
        s.vpn.state = state;
        s.vpn.server = Some(v.server.clone())
            .filter(|s| !s.is_empty())
            .or(s.vpn.server.take());
        s.vpn.ip = v.ip.clone().filter(|_| state != VpnState::Disabled);
        s.vpn.mask = v.netmask.clone().filter(|_| state != VpnState::Disabled);
        s.vpn.bytes_sent = v.bytes_sent;
        s.vpn.bytes_received = v.bytes_received;
        s.vpn.device = v.device.clone().filter(|_| state != VpnState::Disabled);
        if state == VpnState::Connected {
            s.vpn.last_error = None;
            if !was_up {
                s.vpn.connections += 1;
            }
        } else if state == VpnState::Reconnecting {
            s.vpn.last_error = v.reason.clone();
        }
    });
}

/// Runs the VPN until `stop` (then logs out) or it fails for good (`Err`: retried).
pub async fn run(
    plan: VpnPlan,
    options: VpnOptions,
    status: StatusHandle,
    stop: impl std::future::Future<Output = ()>,
) -> Result<()> {
    let session = SessionOptions {
        ca: options.ca_file,
        port: options.port,
        device: options.device,
        timeout: Duration::from_secs(15),
        reconnect_timeout: Duration::from_secs(300),
        duration: None,
    };
    let sink = status.clone();
    let publish = move |v: &VpnStatus| publish(&sink, v);
    let outcome = crate::vpn::run_in_daemon(&plan.settings, &session, &publish, stop).await;
    if outcome.is_ok() {
        status.update(|s| {
            s.vpn = status::Vpn {
                state: VpnState::Disabled,
                server: s.vpn.server.take(),
                bytes_sent: s.vpn.bytes_sent,
                bytes_received: s.vpn.bytes_received,
                connections: s.vpn.connections,
                ..status::Vpn::default()
            }
        });
    }
    outcome
}
