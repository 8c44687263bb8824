//! `phone-agent firewall show|apply|check|off`: the phone's firewall (SPEC §8) as our own
//! nftables table, `inet phone_fw`.
//!
//! The ruleset comes from `phone-firewall` as nftables text; it is applied by piping it to
//! `nft -f -`, which the kernel commits as one transaction (replace our table, or nothing at all
//! when anything in it is refused). Why `nft` and not a netlink crate: `rustables` is GPL-3.0
//! (the workspace is MIT OR Apache-2.0); `nftnl` links the C libraries libnftnl and libmnl through
//! unsafe FFI and builds rules expression by expression; the `nftables` crate is MIT/Apache but
//! drives the very same `nft` binary (`nft -j -f -`) through a serde model of the whole JSON
//! schema. Text is what `nft list ruleset` shows an administrator, and it is what `check`
//! compares against, so we hand `nft` the text directly.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use phone_config::{Protocol, Severity};
use phone_firewall::{Inputs, Ruleset, TABLE, Tr069Port, Verdict};
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::json;

/// `phone-agent firewall ...`.
#[derive(Subcommand)]
#[allow(missing_docs)] // the flattened argument groups carry their own help
pub enum FirewallCommand {
    /// Print the ruleset cfg.xml calls for and a table of the open ports and why.
    Show {
        #[command(flatten)]
        config: ConfigArgs,
        /// Print JSON instead of the table and the nftables text.
        #[arg(long)]
        json: bool,
    },
    /// Replace our nftables table with the ruleset cfg.xml calls for, in one transaction.
    /// Exit 0 applied, 1 refused (the reason is printed; the previous ruleset stays).
    Apply {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        nft: NftArgs,
    },
    /// Compare the kernel's table with the ruleset cfg.xml calls for. Exit 0 when they are the
    /// same, 1 with the difference.
    Check {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        nft: NftArgs,
    },
    /// Remove our table (and nothing else): the firewall is off.
    Off {
        #[command(flatten)]
        nft: NftArgs,
    },
}

/// Where the settings come from.
#[derive(Args)]
pub struct ConfigArgs {
    /// The phone's cfg.xml.
    #[arg(long)]
    config: PathBuf,
    /// The TR-069 connection-request port (8000-9999) when Enable_TR-069 is Yes; by default the
    /// one already applied, else one chosen at random.
    #[arg(long, value_name = "PORT")]
    tr069_port: Option<u16>,
}

/// How to reach the kernel.
#[derive(Args)]
pub struct NftArgs {
    /// The nft binary (Debian package `nftables`).
    #[arg(long, value_name = "PATH", default_value = "nft")]
    nft: PathBuf,
}

/// Runs a `firewall` subcommand.
pub fn run(command: FirewallCommand) -> Result<ExitCode> {
    match command {
        FirewallCommand::Show { config, json } => show(&config, json),
        FirewallCommand::Apply { config, nft } => apply(&config, &nft.nft),
        FirewallCommand::Check { config, nft } => check(&config, &nft.nft),
        FirewallCommand::Off { nft } => {
            let script = format!("table inet {TABLE}\ndelete table inet {TABLE}\n");
            match nft_apply(&nft.nft, &script)? {
                Ok(()) => {
                    println!("firewall off: table inet {TABLE} removed");
                    Ok(ExitCode::SUCCESS)
                }
                Err(reason) => {
                    eprintln!("phone-agent firewall off: refused by nft:\n{reason}");
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

/// True for the parameters the ruleset depends on (`SIP_Port_3_` -> `SIP_Port`).
fn firewall_parameter(name: &str) -> bool {
    let base = name
        .strip_suffix('_')
        .and_then(|s| s.rsplit_once('_'))
        .filter(|(_, n)| n.parse::<u16>().is_ok())
        .map_or(name, |(base, _)| base);
    phone_config::Firewall::NAMES.contains(&base)
        || ["Line_Enable", "SIP_Port", "SIP_Transport"].contains(&base)
}

/// The settings' inputs, or why the firewall cannot be built from them (errors in the
/// parameters it depends on are never papered over with defaults).
fn inputs(config: &ConfigArgs, kernel_tr069: Option<Tr069Port>) -> Result<Result<(Inputs, bool), String>> {
    let bytes =
        std::fs::read(&config.config).with_context(|| format!("reading {}", config.config.display()))?;
    let parsed = match phone_config::parse(&bytes) {
        Ok(p) => p,
        Err(e) => return Ok(Err(format!("{}: {}", config.config.display(), e.diagnostic()))),
    };
    let errors: Vec<String> = parsed
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error && d.parameter.as_deref().is_some_and(firewall_parameter))
        .map(|d| {
            let at = d.line().map(|l| format!(":{l}")).unwrap_or_default();
            let hint = d
                .hint
                .as_deref()
                .map(|h| format!(" (hint: {h})"))
                .unwrap_or_default();
            format!(
                "{}{at}: {}: {}{hint}",
                config.config.display(),
                d.parameter.as_deref().unwrap_or(""),
                d.message
            )
        })
        .collect();
    if !errors.is_empty() {
        return Ok(Err(errors.join("\n")));
    }
    let mut random = false;
    let tr069 = match config.tr069_port {
        Some(p) => match Tr069Port::new(p) {
            Some(p) => Some(p),
            None => {
                return Ok(Err(format!(
                    "--tr069-port {p}: expected a port from 8000 to 9999"
                )));
            }
        },
        None if parsed.settings.firewall.enable_tr_069.get().0 => match kernel_tr069 {
            Some(p) => Some(p),
            None => {
                let mut bits = [0u8; 4];
                SystemRandom::new()
                    .fill(&mut bits)
                    .map_err(|_| anyhow::anyhow!("no randomness for the TR-069 port"))?;
                random = true;
                Some(Tr069Port::from_random(u32::from_le_bytes(bits)))
            }
        },
        None => None,
    };
    Ok(Inputs::from_settings(&parsed.settings, tr069)
        .map(|i| (i, random))
        .map_err(|e| format!("{}: {e}", config.config.display())))
}

fn ruleset(config: &ConfigArgs, kernel_tr069: Option<Tr069Port>) -> Result<Result<(Ruleset, bool), String>> {
    Ok(inputs(config, kernel_tr069)?.and_then(|(i, random)| {
        Ruleset::new(&i)
            .map(|r| (r, random))
            .map_err(|e| format!("{}: {e}", config.config.display()))
    }))
}

fn ports_text(ports: &[phone_config::PortRange]) -> String {
    ports
        .iter()
        .map(|r| {
            let (a, b) = (*r.ports().start(), *r.ports().end());
            if a == b { a.to_string() } else { format!("{a}-{b}") }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn proto(p: Protocol) -> &'static str {
    match p {
        Protocol::Udp => "UDP",
        Protocol::Tcp => "TCP",
    }
}

fn show(config: &ConfigArgs, as_json: bool) -> Result<ExitCode> {
    let (ruleset, random) = match ruleset(config, None)? {
        Ok(r) => r,
        Err(reason) => {
            eprintln!("phone-agent firewall show: {reason}");
            return Ok(ExitCode::from(1));
        }
    };
    let closed_udp = ruleset.rules().last().map(|r| r.verdict());
    let ping = ruleset
        .rules()
        .iter()
        .any(|r| matches!(r.matcher(), phone_firewall::Match::IcmpEcho));
    if as_json {
        let open: Vec<_> = ruleset
            .open_ports()
            .map(|(p, ports, why)| json!({ "protocol": proto(p), "ports": ports_text(ports), "why": why }))
            .collect();
        let rules: Vec<_> = ruleset
            .rules()
            .iter()
            .map(|r| json!({ "nft": r.to_string(), "comment": r.comment() }))
            .collect();
        let doc = json!({
            "enabled": ruleset.is_enabled(),
            "table": format!("inet {TABLE}"),
            "tr069_port": ruleset.tr069_port().map(Tr069Port::get),
            "tr069_port_random": random,
            "open_ports": open,
            "ping_answered": !ruleset.is_enabled() || ping,
            "closed_udp": if !ruleset.is_enabled() || closed_udp == Some(Verdict::Reject) { "unreachable" } else { "silent" },
            "rules": rules,
            "script": ruleset.script(),
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = std::io::stdout().lock();
    if !ruleset.is_enabled() {
        writeln!(
            out,
            "Firewall Disabled: no table of ours; everything is reachable"
        )?;
        writeln!(out, "\nnftables transaction (nft -f -):\n{}", ruleset.script())?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "Firewall Enabled: table inet {TABLE}, inbound dropped unless opened below; outbound allowed; return traffic of the phone's own flows allowed while conntrack keeps them"
    )?;
    writeln!(out, "\n{:<5}  {:<20}  why", "proto", "ports")?;
    for (p, ports, why) in ruleset.open_ports() {
        writeln!(out, "{:<5}  {:<20}  {why}", proto(p), ports_text(ports))?;
    }
    writeln!(
        out,
        "\nping (ICMP/ICMPv6 echo): {}",
        if ping {
            "answered"
        } else {
            "dropped (NO_ICMP_PING); IPv6 multicast ping still answered"
        }
    )?;
    writeln!(
        out,
        "closed UDP ports: {}",
        if closed_udp == Some(Verdict::Reject) {
            "ICMP/ICMPv6 port unreachable"
        } else {
            "silent (NO_ICMP_UNREACHABLE); the RTP range still answers"
        }
    )?;
    writeln!(out, "closed TCP ports: silent (dropped)")?;
    if random {
        writeln!(
            out,
            "TR-069 connection-request port: chosen at random for this listing (apply keeps the applied one)"
        )?;
    }
    writeln!(out, "\nnftables transaction (nft -f -):\n{}", ruleset.script())?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `nft -f -` with `script` on stdin: `Ok(Err(stderr))` when nft refused it.
fn nft_apply(nft: &Path, script: &str) -> Result<Result<(), String>> {
    let mut child = Command::new(nft)
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {} (Debian package nftables)", nft.display()))?;
    child
        .stdin
        .take()
        .context("nft stdin")?
        .write_all(script.as_bytes())
        .context("writing the ruleset to nft")?;
    let out = child.wait_with_output().context("waiting for nft")?;
    if out.status.success() {
        Ok(Ok(()))
    } else {
        Ok(Err(format!(
            "{} ({})",
            String::from_utf8_lossy(&out.stderr).trim_end(),
            out.status
        )))
    }
}

/// `nft list table inet phone_fw`: `None` when there is no such table.
fn kernel_listing(nft: &Path) -> Result<Option<String>> {
    let out = Command::new(nft)
        .args(["list", "table", "inet", TABLE])
        .output()
        .with_context(|| format!("running {} (Debian package nftables)", nft.display()))?;
    if out.status.success() {
        return Ok(Some(String::from_utf8_lossy(&out.stdout).into_owned()));
    }
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("No such file or directory") {
        return Ok(None);
    }
    bail!("nft list table inet {TABLE}: {}", err.trim_end())
}

fn apply(config: &ConfigArgs, nft: &Path) -> Result<ExitCode> {
    let kernel = kernel_listing(nft)?;
    let kernel_tr069 = kernel.as_deref().and_then(Ruleset::tr069_port_in);
    let (ruleset, _) = match ruleset(config, kernel_tr069)? {
        Ok(r) => r,
        Err(reason) => {
            eprintln!("phone-agent firewall apply: refused, previous ruleset kept:\n{reason}");
            return Ok(ExitCode::from(1));
        }
    };
    match nft_apply(nft, &ruleset.script())? {
        Ok(()) if ruleset.is_enabled() => {
            let ports = ruleset.open_ports().count();
            println!(
                "firewall applied: table inet {TABLE}, {} rules, {ports} open port rules",
                ruleset.rules().len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Ok(()) => {
            println!("firewall applied: Firewall Disabled, table inet {TABLE} removed");
            Ok(ExitCode::SUCCESS)
        }
        Err(reason) => {
            eprintln!("phone-agent firewall apply: refused by nft, previous ruleset kept:\n{reason}");
            Ok(ExitCode::from(1))
        }
    }
}

fn check(config: &ConfigArgs, nft: &Path) -> Result<ExitCode> {
    let kernel = kernel_listing(nft)?;
    let kernel_tr069 = kernel.as_deref().and_then(Ruleset::tr069_port_in);
    let (ruleset, _) = match ruleset(config, kernel_tr069)? {
        Ok(r) => r,
        Err(reason) => {
            eprintln!("phone-agent firewall check: {reason}");
            return Ok(ExitCode::from(1));
        }
    };
    let differences = ruleset.compare(kernel.as_deref());
    if differences.is_empty() {
        println!(
            "firewall check: the kernel's ruleset is what {} says",
            config.config.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "firewall check: the kernel's table inet {TABLE} differs from what {} says (- expected, + in the kernel):",
        config.config.display()
    );
    for d in differences {
        println!("{d}");
    }
    Ok(ExitCode::from(1))
}

/// What the daemon's firewall step did: the table applied (or removed when the firewall is
/// Disabled) and the open ports, `UDP 5060 (SIP_Port_1_)`.
#[derive(Debug, Clone)]
pub struct Applied {
    /// `Firewall` is Enabled.
    pub enabled: bool,
    /// The open ports and why, one entry per rule.
    pub open_ports: Vec<String>,
}

/// The ruleset `settings` call for (the TR-069 port kept from the kernel's table, else drawn),
/// without applying it; `Err` says why it cannot be built.
pub fn ruleset_for(settings: &phone_config::Settings, nft: &Path) -> Result<Ruleset, String> {
    let tr069 = if settings.firewall.enable_tr_069.get().0 {
        let kernel = kernel_listing(nft).ok().flatten();
        match kernel.as_deref().and_then(Ruleset::tr069_port_in) {
            Some(p) => Some(p),
            None => {
                let mut bits = [0u8; 4];
                SystemRandom::new()
                    .fill(&mut bits)
                    .map_err(|_| "no randomness for the TR-069 port".to_owned())?;
                Some(Tr069Port::from_random(u32::from_le_bytes(bits)))
            }
        }
    } else {
        None
    };
    let inputs = Inputs::from_settings(settings, tr069).map_err(|e| e.to_string())?;
    Ruleset::new(&inputs).map_err(|e| e.to_string())
}

/// The open ports of `ruleset` as the status shows them.
pub fn open_ports(ruleset: &Ruleset) -> Vec<String> {
    ruleset
        .open_ports()
        .map(|(p, ports, why)| format!("{} {} ({why})", proto(p), ports_text(ports)))
        .collect()
}

/// Applies `ruleset` with `nft -f -` (blocking: the daemon calls it from `spawn_blocking`);
/// `Err` carries nft's refusal (the previous table stays, nft commits all or nothing).
pub fn apply_ruleset(ruleset: &Ruleset, nft: &Path) -> Result<Applied, String> {
    nft_apply(nft, &ruleset.script())
        .map_err(|e| format!("{e:#}"))?
        .map_err(|refused| format!("refused by nft, previous ruleset kept: {refused}"))?;
    Ok(Applied {
        enabled: ruleset.is_enabled(),
        open_ports: open_ports(ruleset),
    })
}
