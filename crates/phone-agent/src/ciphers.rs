//! `phone-agent ciphers`: what an OpenSSL 1.1.1 cipher string (`TLS_Cipher_List`) means, in
//! OpenSSL 1.1.1d's terms and for the rustls clients of this agent.
//!
//! Exit 0 when the string gives rustls at least one suite, 1 when the application falls back
//! to its default (blank, refused by OpenSSL, or nothing rustls can negotiate), 2 on an error.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use cipher_string::{Application, CipherList, TLS13_DEFAULT, Tls13Suites, effective_rustls};
use clap::{Args, ValueEnum};
use serde_json::json;

/// Arguments of `ciphers`.
#[derive(Args, Debug)]
pub struct CiphersArgs {
    /// Print one line per suite as `openssl ciphers -v` does.
    #[arg(short = 'v')]
    verbose: bool,
    /// Whose default applies when the string is blank or unusable.
    #[arg(long, value_enum, default_value = "sip")]
    app: App,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// The cipher string, e.g. `HIGH:MEDIUM:@STRENGTH` (empty: the application's default).
    string: String,
}

/// The applications of SPEC §9 with their own defaults.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum App {
    /// SIP over TLS, TR-069, provisioning and every curl-based client (OpenSSL DEFAULT).
    Sip,
    /// The phone's HTTPS web server.
    Web,
    /// The XMPP client (`HIGH:MEDIUM:AES:@STRENGTH`).
    Xmpp,
}

impl App {
    fn application(self) -> Application {
        match self {
            App::Sip => Application::Curl,
            App::Web => Application::WebServer,
            App::Xmpp => Application::Xmpp,
        }
    }
}

/// Runs `ciphers`.
pub fn run(args: &CiphersArgs) -> Result<ExitCode> {
    let app = args.app.application();
    let provider = rustls::crypto::ring::default_provider();
    let parsed = CipherList::parse(&args.string);
    let effective = effective_rustls("TLS_Cipher_List", &args.string, app, &provider);
    let tls13 = Tls13Suites::parse(TLS13_DEFAULT).ok();
    let tls13_names: Vec<&str> = tls13
        .iter()
        .flat_map(|t| t.suites().iter().map(|s| s.iana_name()))
        .collect();
    let mut out = std::io::stdout().lock();
    if args.json {
        let diagnostics: Vec<serde_json::Value> = parsed
            .as_ref()
            .map(|l| {
                l.diagnostics()
                    .iter()
                    .map(|d| json!({ "start": d.span.start, "end": d.span.end, "message": d.kind.to_string(), "warning": d.is_warning() }))
                    .collect()
            })
            .unwrap_or_default();
        let mut doc = json!({
            "tls13": tls13_names,
            "rustls": effective.rustls.iana_names(),
            "dropped": effective.rustls.dropped().iter().map(ToString::to_string).collect::<Vec<_>>(),
            "diagnostics": diagnostics,
            "fallback": effective.fallback.as_ref().map(ToString::to_string),
        });
        let (key, value) = match &parsed {
            Ok(list) => (
                "openssl",
                json!(list.suites().iter().map(|s| s.openssl_name()).collect::<Vec<_>>()),
            ),
            Err(e) => (
                "error",
                json!({ "message": e.to_string(), "offset": e.offset(), "openssl": e.openssl_reason() }),
            ),
        };
        if let Some(object) = doc.as_object_mut() {
            object.insert(key.to_owned(), value);
        }
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    } else {
        match &parsed {
            Ok(list) if args.verbose => {
                for s in list.suites() {
                    writeln!(out, "{}", s.description())?;
                }
            }
            Ok(list) => writeln!(out, "{list}")?,
            Err(e) => writeln!(out, "OpenSSL 1.1.1d refuses this string: {e}")?,
        }
        if let Ok(list) = &parsed {
            for d in list.diagnostics() {
                writeln!(out, "note: {d}")?;
            }
        }
        writeln!(
            out,
            "rustls (TLS 1.2, in order): {}",
            effective.rustls.iana_names().join(", ")
        )?;
        writeln!(out, "rustls (TLS 1.3): {}", tls13_names.join(", "))?;
        if args.verbose {
            for d in effective.rustls.dropped() {
                writeln!(out, "  not offered by rustls: {d}")?;
            }
        }
        if let Some(f) = &effective.fallback {
            writeln!(out, "warning: {f}")?;
        }
    }
    Ok(if effective.fallback.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
