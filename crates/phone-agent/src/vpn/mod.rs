//! `phone-agent vpn connect|status|disconnect`: the phone's SSL VPN (SPEC §14) through
//! cstp-client, with TLS (rustls, `TLS_Cipher_List`, the server certificate checked by
//! tls-hostname), a TUN device (tokio-tun) and the routes applied with iproute2.
//!
//! The running session writes its status to a JSON state file (default
//! `/run/phone-agent/vpn.json`); `vpn status` reads it, `vpn disconnect` signals the pid in it.

mod session;
mod status;

pub use session::{SessionOptions, run_in_daemon};
pub use status::VpnStatus;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

/// Where the state file lives unless `--state` says otherwise.
pub const DEFAULT_STATE: &str = "/run/phone-agent/vpn.json";

/// `phone-agent vpn ...`.
#[derive(Subcommand)]
pub enum VpnCommand {
    /// Connect to VPN_Server with VPN_User_Name/VPN_Password/VPN_Tunnel_Group and keep the
    /// tunnel up (reconnecting after a drop) until SIGTERM/SIGINT, `vpn disconnect` or
    /// --duration. Exit 0 when the tunnel came up (and was held), 1 when refused or failed.
    Connect(session::ConnectArgs),
    /// The VPN status of the running (or last) session: connected, IP, mask, bytes sent and
    /// received, since when, the server.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// The state file written by `vpn connect`.
        #[arg(long, default_value = DEFAULT_STATE)]
        state: PathBuf,
    },
    /// Ask the running session to log out and exit (SIGTERM to its pid), and wait for it.
    Disconnect {
        /// The state file written by `vpn connect`.
        #[arg(long, default_value = DEFAULT_STATE)]
        state: PathBuf,
    },
}

/// Runs a `vpn` subcommand.
pub fn run(command: VpnCommand) -> Result<ExitCode> {
    match command {
        VpnCommand::Connect(args) => session::run(&args),
        VpnCommand::Status { json, state } => status::show(&state, json),
        VpnCommand::Disconnect { state } => status::disconnect(&state),
    }
}
