//! `phone-agent sip ...`: read captured SIP messages, and run a phone line's registration
//! (UDP, TCP, TLS, or AUTO: RFC 3263 NAPTR/SRV/A) with digest authentication, mediasec and the
//! Auth INVITE challenge. The user agent itself is the `sip-ua` crate; this module is its I/O.
//!
//! Exit codes of every `sip` subcommand, in three classes:
//! - **0**: done: the message is valid (`parse`); registered, and unregistered with
//!   `--unregister` (`register`).
//! - **1**: refused or failed by the peer: the message is rejected (`parse`); the registrar
//!   refused (403, a second 401, 421/494 without agreement...), never answered, or every
//!   RFC 3263 target failed, a **TLS handshake failure included** (the peer's certificate is
//!   not trusted or names another host, no common cipher suite: what the peer presented was
//!   refused, as a 403 would be), and DNS that leads nowhere.
//! - **2**: a local error: a file that cannot be read, a cfg.xml that does not parse or lacks
//!   the line's `Proxy_n_`, a missing or unreadable `--ca-file`, a cipher list leaving nothing,
//!   `SIP_Port_n_` already taken, the random source failing (the UA refuses to send).

mod line;
pub(crate) mod locate;
mod parse;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

/// `phone-agent sip ...`.
#[derive(Subcommand)]
pub enum SipCommand {
    /// Parse and validate a captured SIP message: exit 0 when valid, 1 when rejected (the
    /// reason and byte offset are printed), 2 when the file cannot be read.
    Parse {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Read the file as a TCP/TLS stream (Content-Length mandatory) rather than a datagram.
        #[arg(long)]
        stream: bool,
        /// The file holding the message bytes.
        file: PathBuf,
    },
    /// Register line N of a cfg.xml with its proxy and keep it registered: exit 0 registered,
    /// 1 refused or failed by the peer (TLS handshake failures included), 2 a local error.
    Register(line::RegisterArgs),
}

/// Runs a `sip` subcommand.
pub fn run(command: SipCommand) -> Result<ExitCode> {
    match command {
        SipCommand::Parse { json, stream, file } => parse::run(&file, json, stream),
        SipCommand::Register(args) => line::run(&args),
    }
}
