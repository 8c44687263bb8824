//! The proxy subsystem of the agent (SPEC §13): `cfg.xml` settings to a
//! [`proxy_pac::ProxyConfig`], the PAC download, and the one HTTP client path every
//! HTTP-using feature goes through (`fetch`), plus the `proxy-for` and `fetch` subcommands.

pub(crate) mod client;
pub(crate) mod tftp;
mod time;
pub(crate) mod wpad;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use proxy_pac::{Credentials, PacTime, ProxyConfig, ProxyList, Route};
#[cfg(feature = "pac")]
use proxy_pac::{Limits, PacEngine, PacOutcome, Request};
use serde_json::json;

/// How the agent's HTTP client reaches origins and PAC files: trust anchors and the WPAD
/// inputs the phone's DHCP client would provide.
#[derive(Args, Clone, Default)]
pub struct ClientArgs {
    /// Proxy loopback destinations too (Chromium never does; off by default).
    #[arg(long)]
    proxy_loopback: bool,
    /// Trust these CA certificates (PEM) for HTTPS origins and PAC URLs instead of the
    /// built-in Mozilla root set.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// WPAD: the value of DHCP option 252 (the PAC URL the DHCP server announced).
    #[arg(long = "dhcp-wpad", value_name = "URL")]
    dhcp_wpad: Option<String>,
    /// WPAD: the phone's DNS domain (DHCP option 15), devolved to `wpad.<domain>` names.
    #[arg(long, value_name = "DOMAIN")]
    domain: Option<String>,
    /// The DNS server (IP:PORT) for the PAC file's host, e.g. `wpad.<domain>`; default the
    /// system's resolver.
    #[arg(long, value_name = "IP:PORT")]
    dns: Option<std::net::SocketAddr>,
}

impl ClientArgs {
    fn client(&self) -> Result<client::HttpClient> {
        client::HttpClient::new(
            self.ca.as_deref(),
            wpad::Discovery {
                dhcp_wpad: self.dhcp_wpad.clone(),
                domain: self.domain.clone(),
                dns: self.dns,
            },
        )
    }
}

/// `phone-agent proxy-for`.
#[derive(Args)]
pub struct ProxyForArgs {
    /// Take the proxy settings from this cfg.xml.
    #[arg(long, conflicts_with = "pac", required_unless_present = "pac")]
    config: Option<PathBuf>,
    /// Evaluate this PAC file.
    #[arg(long)]
    pac: Option<PathBuf>,
    /// The phone's own address(es) for myIpAddress()/myIpAddressEx().
    #[arg(long = "my-ip")]
    my_ip: Vec<IpAddr>,
    /// The time the date helpers see, RFC 3339 (`2009-03-03T10:00:00+01:00`); default now, UTC.
    #[arg(long)]
    now: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    client: ClientArgs,
    /// The URL.
    url: String,
}

/// The proxy subcommands, flattened into the agent's command line.
#[derive(Subcommand)]
pub enum ProxyCommand {
    /// Which proxies a URL goes through: from a cfg.xml, or from a PAC file like pactester.
    ProxyFor(ProxyForArgs),
    /// GET a URL through the configured proxy, falling back along the PAC list (tftp://: TFTP, direct).
    Fetch {
        /// The cfg.xml with the proxy settings.
        #[arg(long)]
        config: PathBuf,
        /// Print JSON (status, route, attempts; status null for TFTP) instead of the body.
        #[arg(long)]
        json: bool,
        /// How to reach the origin (its CA, loopback proxies).
        #[command(flatten)]
        client: ClientArgs,
        /// The URL.
        url: String,
    },
}

/// Runs a proxy subcommand.
pub fn run(command: ProxyCommand) -> Result<ExitCode> {
    match command {
        ProxyCommand::ProxyFor(args) => proxy_for(&args),
        ProxyCommand::Fetch {
            config,
            json,
            client,
            url,
        } => fetch_command(&config, json, &client, &url),
    }
}

/// The proxy configuration a cfg.xml describes.
pub fn config_from_settings(settings: &phone_config::Settings) -> Result<ProxyConfig> {
    let p = &settings.http_proxy;
    let config = match p.proxy_mode.get() {
        phone_config::ProxyMode::Off => ProxyConfig::off(),
        phone_config::ProxyMode::Manual => {
            let host = p
                .proxy_host
                .get()
                .as_ref()
                .map(|h| h.to_string())
                .unwrap_or_default();
            let credentials = p
                .proxy_server_requires_authentication
                .get()
                .0
                .then(|| Credentials {
                    username: p.proxy_username.get().clone(),
                    password: p.proxy_password.get().clone(),
                });
            ProxyConfig::manual(&host, p.proxy_port.get().get(), credentials)?
        }
        phone_config::ProxyMode::Auto => {
            let url = p.pac_url.get().as_ref().map(|u| u.0.to_string());
            ProxyConfig::auto(p.use_auto_discovery_wpad.get().0, url.as_deref())?
        }
    };
    Ok(config)
}

fn load_config(path: &Path) -> Result<ProxyConfig> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let parsed = phone_config::parse(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    config_from_settings(&parsed.settings).with_context(|| format!("{}: HTTP proxy settings", path.display()))
}

/// A PAC engine for a script, with the agent's monotonic clock.
#[cfg(feature = "pac")]
pub fn pac_engine(script: &str) -> Result<PacEngine> {
    let t0 = std::time::Instant::now();
    Ok(PacEngine::new(
        script,
        Limits::default(),
        Box::new(move || t0.elapsed()),
    )?)
}

/// The system resolver, for the PAC's DNS helpers. Blocking: the agent evaluates PACs off
/// the async path.
#[cfg(feature = "pac")]
fn system_resolve(name: &str) -> Option<Vec<IpAddr>> {
    let addrs: Vec<IpAddr> = std::net::ToSocketAddrs::to_socket_addrs(&(name, 0))
        .ok()?
        .map(|a| a.ip())
        .collect();
    (!addrs.is_empty()).then_some(addrs)
}

/// Evaluates `engine` for `url`.
#[cfg(feature = "pac")]
pub fn evaluate(engine: &mut PacEngine, url: &str, time: PacTime, my_ip: &[IpAddr]) -> Result<PacOutcome> {
    let mut request = Request::new(url, time)?.with_my_addresses(my_ip.to_vec());
    Ok(engine.find_proxy_with(&mut request, &mut system_resolve)?)
}

/// A build without the `pac` feature (no QuickJS) evaluates no PAC script: every PAC route
/// is an error naming the missing feature, never a silent fallback to DIRECT.
#[cfg(not(feature = "pac"))]
pub enum PacEngine {}

/// The shape of `proxy_pac::PacOutcome`, never built without the `pac` feature.
#[cfg(not(feature = "pac"))]
pub struct PacOutcome {
    /// The string `FindProxyForURL` returned.
    pub result: String,
    /// That string parsed.
    pub list: ProxyList,
    /// Alerts and DNS notes.
    pub notes: Vec<String>,
}

/// Without the `pac` feature: the error that says so.
#[cfg(not(feature = "pac"))]
pub fn pac_engine(_script: &str) -> Result<PacEngine> {
    bail!(
        "this phone-agent was built without PAC support (cargo feature `pac`, QuickJS): \
         a PAC script cannot be evaluated; use Proxy_Mode Manual or a build with the feature"
    )
}

/// Without the `pac` feature there is no engine to evaluate.
#[cfg(not(feature = "pac"))]
pub fn evaluate(engine: &mut PacEngine, _url: &str, _time: PacTime, _my_ip: &[IpAddr]) -> Result<PacOutcome> {
    match *engine {}
}

fn proxy_for(args: &ProxyForArgs) -> Result<ExitCode> {
    let (config, pac, my_ip, now, url) = (
        args.config.as_deref(),
        args.pac.as_deref(),
        args.my_ip.as_slice(),
        args.now.as_deref(),
        args.url.as_str(),
    );
    let time = match now {
        Some(t) => time::parse_rfc3339(t)?,
        None => PacTime::new(SystemTime::now(), 0),
    };
    let (source, result, list, notes) = if let Some(pac) = pac {
        let script = std::fs::read_to_string(pac).with_context(|| format!("reading {}", pac.display()))?;
        let mut engine = pac_engine(&script)?;
        let out = evaluate(&mut engine, url, time, my_ip)?;
        (
            format!("PAC {}", pac.display()),
            Some(out.result),
            out.list,
            out.notes,
        )
    } else if let Some(config) = config {
        let proxy = load_config(config)?.with_bypass_loopback(!args.client.proxy_loopback);
        let parsed = url::Url::parse(url).with_context(|| format!("invalid URL `{url}`"))?;
        match proxy.route(&parsed) {
            Route::Fixed(list) => (describe_mode(&proxy), None, list, Vec::new()),
            Route::Pac => {
                let (pac_url, script) = args.client.client()?.download_pac(&proxy)?;
                let mut engine = pac_engine(&script)?;
                let out = evaluate(&mut engine, url, time, my_ip)?;
                (format!("PAC {pac_url}"), Some(out.result), out.list, out.notes)
            }
        }
    } else {
        bail!("give --config or --pac");
    };
    if args.json {
        let doc = json!({
            "url": url,
            "source": source,
            "result": result,
            "proxies": list.entries().iter().map(ToString::to_string).collect::<Vec<_>>(),
            "diagnostics": list.diagnostics().iter().map(ToString::to_string).collect::<Vec<_>>(),
            "notes": notes.iter().map(ToString::to_string).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        if let Some(r) = &result {
            println!("{r}");
        }
        print_list(&source, &list);
        for n in &notes {
            println!("  note: {n}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn describe_mode(config: &ProxyConfig) -> String {
    match &config.mode {
        proxy_pac::ProxyMode::Off => "Proxy_Mode Off".into(),
        proxy_pac::ProxyMode::Manual(m) => format!("Proxy_Mode Manual ({})", m.server.authority()),
        proxy_pac::ProxyMode::Auto(_) => "Proxy_Mode Auto".into(),
    }
}

fn print_list(source: &str, list: &ProxyList) {
    println!("from {source}:");
    for (i, e) in list.entries().iter().enumerate() {
        println!("  {}. {e}", i + 1);
    }
    for d in list.diagnostics() {
        println!("  dropped: {d}");
    }
}

fn fetch_command(config: &Path, json: bool, client: &ClientArgs, url: &str) -> Result<ExitCode> {
    let proxy = load_config(config)?.with_bypass_loopback(!client.proxy_loopback);
    let fetched = client.client()?.fetch(&proxy, url)?;
    if json {
        let doc = json!({
            "url": url,
            "status": fetched.status,
            "via": fetched.via.to_string(),
            "bytes": fetched.body.len(),
            "attempts": fetched.attempts.iter().map(|a| json!({
                "via": a.via.to_string(),
                "error": a.error,
            })).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        for a in &fetched.attempts {
            eprintln!("phone-agent fetch: {} failed: {}", a.via, a.error);
        }
        match fetched.status {
            Some(status) => eprintln!("phone-agent fetch: HTTP {status} via {}", fetched.via),
            None => eprintln!(
                "phone-agent fetch: TFTP, {} bytes via {}",
                fetched.body.len(),
                fetched.via
            ),
        }
        use std::io::Write;
        std::io::stdout().write_all(&fetched.body)?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With the `pac` feature a script is evaluated; without it, the error names the feature
    /// (no silent DIRECT).
    #[test]
    fn pac_scripts_follow_the_pac_feature() {
        let script = r#"function FindProxyForURL(url, host) { return "PROXY p.example:3128"; }"#;
        let result = pac_engine(script)
            .and_then(|mut engine| {
                evaluate(
                    &mut engine,
                    "http://a.example/",
                    PacTime::from_unix_millis(0, 0),
                    &[],
                )
            })
            .map(|out| out.result)
            .map_err(|e| e.to_string());
        #[cfg(feature = "pac")]
        assert_eq!(result, Ok("PROXY p.example:3128".to_owned()));
        #[cfg(not(feature = "pac"))]
        assert!(
            result.as_ref().is_err_and(|e| e.contains("cargo feature `pac`")),
            "{result:?}"
        );
    }
}
