//! `phone-agent sip ...`: read captured SIP messages, and run a phone line's registration
//! (UDP, TCP, TLS, or AUTO: RFC 3263 NAPTR/SRV/A) with digest authentication, mediasec and the Auth INVITE challenge.

mod line;
pub(crate) mod locate;
mod parse;
mod ua;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

/// `phone-agent sip ...`.
#[derive(Subcommand)]
pub enum SipCommand {
    /// Parse and validate a captured SIP message: exit 0 when valid, 1 when rejected (the
    /// reason and byte offset are printed).
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
    /// Register line N of a cfg.xml with its proxy and keep it registered.
    Register(line::RegisterArgs),
}

/// Runs a `sip` subcommand.
pub fn run(command: SipCommand) -> Result<ExitCode> {
    match command {
        SipCommand::Parse { json, stream, file } => parse::run(&file, json, stream),
        SipCommand::Register(args) => line::run(&args),
    }
}
