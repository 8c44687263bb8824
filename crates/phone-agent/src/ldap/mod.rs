//! `phone-agent ldap search`: the corporate directory look-up of SPEC §5, printed.
//! The work is [`directory::search`]; this module reads the settings and prints.

pub mod directory;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::json;

use directory::{DirectoryConfig, DirectoryResult, Partial};

/// `phone-agent ldap ...`.
#[derive(clap::Subcommand)]
pub enum LdapCommand {
    /// Search the corporate directory (LDAP_Server, LDAPS or StartTLS, TLS_Cipher_List, the
    /// server's name always checked) for a name. Exit 0 with the entries found (possibly
    /// none), 1 when refused or failed, with the reason.
    Search(SearchArgs),
}

/// Arguments of `phone-agent ldap search`.
#[derive(clap::Args)]
pub struct SearchArgs {
    /// The cfg.xml with the LDAP_* settings.
    #[arg(long)]
    config: PathBuf,
    /// PEM file with the CA certificates that may sign the directory server's certificate
    /// (needed for ldaps:// and StartTLS).
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
    /// Time limit, in seconds, for connecting and for the search (sent to the server too).
    #[arg(long, default_value_t = 10)]
    time_limit: u64,
    /// What the user typed: substituted for $VALUE in the LDAP_*_Filter settings.
    name: String,
}

/// Runs `phone-agent ldap ...`.
pub fn run(command: LdapCommand) -> Result<ExitCode> {
    match command {
        LdapCommand::Search(args) => search(&args),
    }
}

fn search(args: &SearchArgs) -> Result<ExitCode> {
    let bytes = std::fs::read(&args.config).with_context(|| format!("reading {}", args.config.display()))?;
    let parsed =
        phone_config::parse(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", args.config.display()))?;
    let settings = &parsed.settings;
    let time_limit = Duration::from_secs(args.time_limit.clamp(1, 3600));
    let tls = match &args.ca {
        Some(ca) => Some(crate::tls::client_config(
            ca,
            settings.tls.tls_cipher_list.get(),
            crate::tls::NameCheck::Enabled,
        )?),
        None => None,
    };
    let mut warnings: Vec<String> = tls.iter().flat_map(|t| t.warnings.clone()).collect();
    let outcome = DirectoryConfig::from_settings(settings, tls.as_ref(), time_limit).and_then(|config| {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| directory::DirectoryError::Protocol(format!("no tokio runtime: {e}")))?;
        runtime.block_on(directory::search(&config, &args.name))
    });
    match outcome {
        Ok(result) => {
            warnings.extend(result.warnings.iter().cloned());
            if args.json {
                println!("{}", serde_json::to_string_pretty(&to_json(&result, &warnings))?);
            } else {
                for w in &warnings {
                    tracing::warn!("ldap: {w}");
                }
                print_text(&result);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if args.json {
                let doc = json!({ "ok": false, "error": e.to_string(), "warnings": warnings });
                println!("{}", serde_json::to_string_pretty(&doc)?);
            } else {
                for w in &warnings {
                    tracing::warn!("ldap: {w}");
                }
                eprintln!("phone-agent: ldap: {e}");
            }
            Ok(ExitCode::from(1))
        }
    }
}

fn partial_text(p: Partial) -> String {
    match p {
        Partial::SizeLimit(n) => format!("size limit: more than {n} entries matched (Max_Display_Records)"),
        Partial::TimeLimit(d) => format!("time limit: the server stopped after {} s", d.as_secs()),
    }
}

fn print_text(r: &DirectoryResult) {
    let tls = r
        .tls
        .as_ref()
        .map(|t| format!(", {} {}", t.version, t.cipher_suite))
        .unwrap_or_default();
    println!(
        "{} ({}{tls}, bind {}), filter {}",
        r.url,
        r.channel.as_str(),
        r.auth,
        r.filter
    );
    for e in &r.entries {
        println!("{}", e.name);
        println!("  dn: {}", e.dn);
        for f in &e.fields {
            println!(
                "  {}{}: {}",
                f.label,
                if f.dialable { " (dial)" } else { "" },
                f.values.join(", ")
            );
        }
    }
    let n = r.entries.len();
    match r.partial {
        Some(p) => println!("{n} entries (partial: {})", partial_text(p)),
        None => println!("{n} {}", if n == 1 { "entry" } else { "entries" }),
    }
}

fn to_json(r: &DirectoryResult, warnings: &[String]) -> serde_json::Value {
    json!({
        "ok": true,
        "url": r.url,
        "channel": r.channel.as_str(),
        "tls": r.tls.as_ref().map(|t| json!({ "version": t.version, "cipher_suite": t.cipher_suite })),
        "auth": r.auth,
        "filter": r.filter,
        "partial": r.partial.map(partial_text),
        "warnings": warnings,
        "entries": r.entries.iter().map(|e| json!({
            "dn": e.dn,
            "name": e.name,
            "fields": e.fields.iter().map(|f| json!({
                "label": f.label,
                "attribute": f.attribute,
                "values": f.values,
                "dialable": f.dialable,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}
