//! `phone-agent provision`: one resync (SPEC §1, §2, §6, §7). For each of `Profile_Rule`,
//! `_B`, `_C`, `_D`, phone-provisioning picks the URL; the host is checked against
//! `Restricted_Access_Domains` before every connection and every redirect; a name is resolved
//! to its A records and each address is tried in order (A-record failover); HTTPS presents the
//! client certificate, checks the server's identity with tls-hostname's Provisioning profile
//! (`CN=host/anything`) and then the DNS-vs-IP check; TFTP goes through tftp-proto. Syslog
//! lines (`Log_Request_Msg`, `Log_Success_Msg`, `Log_Failure_Msg`) go to `Syslog_Server` over
//! UDP. The fetched profile goes through phone-config.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use phone_provisioning::{
    Macros, PROFILE_RULES, ProfileRule, RequestUrl, RestrictedDomains, Scheme, Severity, SyslogFormat,
    SyslogMessage,
};
use proxy_pac::{ProxyEntry, ProxyServer};

use super::http_auth;
use super::via_proxy::{self, ProxySetup};
use serde_json::{Value as Json, json};

/// The largest profile accepted (phone-config reads it whole).
const MAX_PROFILE: usize = 4 << 20;
/// Redirects followed per rule (the 8831 guide: 301/302 retried at once at the new location).
const MAX_REDIRECTS: usize = 5;
/// Time for one connection attempt (TCP connect, or the whole TFTP transfer).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time for one HTTP exchange once connected.
const IO_TIMEOUT: Duration = Duration::from_secs(15);

/// `phone-agent provision`.
#[derive(Args, Clone)]
pub struct ProvisionArgs {
    /// The phone's cfg.xml: Profile_Rule*, Restricted_Access_Domains, Syslog_Server, Log_*_Msg,
    /// TLS_Cipher_List, DHCP_Option_To_Use.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// One resync, then exit (the only mode so far; periodic resync is the daemon's).
    #[arg(long)]
    pub once: bool,
    /// A lease from `phone-agent dhcp --json` (the server for rules that name none).
    #[arg(long, value_name = "FILE")]
    pub dhcp_lease: Option<PathBuf>,
    /// The DNS server (IP:PORT) for A records; default the system's resolver.
    #[arg(long, value_name = "IP:PORT")]
    pub dns: Option<SocketAddr>,
    /// CA certificates (PEM) for HTTPS servers; default the system's CA bundle
    /// (`SSL_CERT_FILE`, else /etc/ssl/certs/ca-certificates.crt and the other usual places).
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// The phone's client certificate chain (PEM) for HTTPS.
    #[arg(long, value_name = "FILE", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
    /// Write the fetched profile here (the last rule's when several fetch).
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// The MAC address for $MA/$MAU/$MAC (default 00:00:00:00:00:00).
    #[arg(long, value_name = "MAC")]
    pub mac: Option<String>,
    /// $PN.
    #[arg(long, default_value = "CP-7832-3PCC", value_name = "NAME")]
    pub product: String,
    /// $PSN.
    #[arg(long, default_value = "7832", value_name = "NAME")]
    pub series: String,
    /// $SN.
    #[arg(long, default_value = "", value_name = "SERIAL")]
    pub serial: String,
    /// Syslog framing for Syslog_Server.
    #[arg(long, value_enum, default_value = "rfc5424")]
    pub syslog_format: SyslogFormatArg,
    /// Send loopback destinations through the HTTP proxy too (by default 127.0.0.0/8,
    /// `localhost` and link-local go direct whatever Proxy_Mode says, as in Chromium).
    #[arg(long)]
    pub proxy_loopback: bool,
    /// `$PRVST` (the daemon's schedule: 0 power-up, 1 periodic, 2 retry); -1 (explicit) here.
    #[arg(skip)]
    pub prvst: Option<i8>,
}

/// `phone-agent provision`: the resync's options, and where the lease comes from.
#[derive(Args)]
pub struct ProvisionCli {
    /// The resync.
    #[command(flatten)]
    pub args: ProvisionArgs,
    /// Get a DHCP lease on this interface first (applied over rtnetlink unless `--no-apply`);
    /// the option `DHCP_Option_To_Use` (`DHCPv6_Option_To_Use` with `--ipv6`) chooses names the
    /// server for rules without one.
    #[arg(long, value_name = "IF", conflicts_with = "dhcp_lease")]
    pub iface: Option<String>,
    /// With `--iface`: DHCPv6 instead of DHCPv4.
    #[arg(long, requires = "iface")]
    pub ipv6: bool,
    /// With `--iface`: do not configure the interface with the lease.
    #[arg(long, requires = "iface")]
    pub no_apply: bool,
    /// With `--iface`: give up when no lease comes within this many seconds.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub dhcp_timeout: u64,
}

/// Runs `phone-agent provision`: with `--iface`, DHCP on the interface first (the lease, as
/// `phone-agent dhcp --json` prints it, feeds the resync like `--dhcp-lease`), then one resync.
pub fn run_cli(cli: &ProvisionCli, as_json: bool) -> Result<ExitCode> {
    let Some(iface) = &cli.iface else {
        return run(&cli.args, as_json);
    };
    let bytes =
        std::fs::read(&cli.args.config).with_context(|| format!("reading {}", cli.args.config.display()))?;
    let parsed = phone_config::parse(&bytes)
        .map_err(|e| anyhow!("{}: {}", cli.args.config.display(), e.diagnostic()))?;
    let (order_v4, order_v6) = super::dhcp::LeaseRequest::orders(Some(&parsed.settings));
    let request = super::dhcp::LeaseRequest {
        iface: iface.clone(),
        ipv6: cli.ipv6,
        apply: !cli.no_apply,
        resolv_conf: None,
        order_v4,
        order_v6,
        vendor_class: None,
        timeout: Duration::from_secs(cli.dhcp_timeout),
        hold: None,
    };
    let Some(lease) = super::dhcp::acquire(&request, |_, _| Ok(()))? else {
        eprintln!(
            "phone-agent provision: no DHCP lease on {iface} within {} s",
            cli.dhcp_timeout
        );
        return Ok(ExitCode::from(1));
    };
    let source = lease
        .pointer("/provisioning/text")
        .and_then(Json::as_str)
        .map(|t| {
            let option = lease.pointer("/provisioning/option").cloned().unwrap_or_default();
            format!("option {option}: {t}")
        });
    let address = lease.get("address").cloned().unwrap_or_default();
    match (&source, as_json) {
        (Some(s), false) => println!("DHCP on {iface}: {address} ({s})"),
        (None, false) => println!("DHCP on {iface}: {address} (no provisioning option)"),
        _ => {}
    }
    let path = std::env::temp_dir().join(format!("phone-agent-provision-lease-{}.json", std::process::id()));
    std::fs::write(&path, lease.to_string()).with_context(|| format!("writing {}", path.display()))?;
    let mut args = cli.args.clone();
    args.dhcp_lease = Some(path.clone());
    let result = run(&args, as_json);
    let _ = std::fs::remove_file(&path);
    result
}

/// `--syslog-format`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum SyslogFormatArg {
    /// RFC 5424.
    Rfc5424,
    /// RFC 3164 (BSD).
    Rfc3164,
}

/// What one rule did.
struct RuleReport {
    rule: &'static str,
    url: Option<String>,
    result: Result<Fetched, String>,
    attempts: Vec<String>,
    /// The rule's `( … )!` assignments of parameters other than GPP_*, in order.
    assigned: Vec<(String, String)>,
}

struct Fetched {
    body: Vec<u8>,
    /// Who answered (`10.0.0.1:443`, `… via HTTP proxy …`).
    from: String,
}

/// What one rule did, as `provision --json` reports it.
pub struct RuleResult {
    /// `Profile_Rule`, `Profile_Rule_B`...
    pub rule: &'static str,
    /// The URL asked for, macros expanded.
    pub url: Option<String>,
    /// `fetched` | `rejected` | `failed` | `skipped` | `not-found` (a 404 with
    /// `Resync_Fails_On_FNF` No).
    pub status: &'static str,
    /// Bytes and server, or what went wrong.
    pub detail: String,
    /// Each address tried and what it answered.
    pub attempts: Vec<String>,
    /// Of a fetched profile: its error and warning counts (`null` otherwise).
    pub diagnostics: Json,
}

/// What one resync did.
pub struct Resync {
    /// Every rule that asked for a URL fetched a profile phone-config accepts (and one did).
    pub ok: bool,
    /// Each rule, in order.
    pub rules: Vec<RuleResult>,
    /// The last rule's fetched profile, when one fetched.
    pub profile: Option<Vec<u8>>,
}

/// Runs one resync: exit 0 when every rule that asked for a URL fetched a profile phone-config
/// accepts (and at least one did), 1 otherwise.
pub fn run(args: &ProvisionArgs, as_json: bool) -> Result<ExitCode> {
    run_job_cli(args, Job::Resync, as_json)
}

/// `phone-agent provision` (without `--iface`), `upgrade`, `report`: one job, printed; exit 0
/// when it did what it asks (`--save` writes the profile or the image).
pub fn run_job_cli(args: &ProvisionArgs, job: Job, as_json: bool) -> Result<ExitCode> {
    let outcome = run_job(args, job)?;
    let mut docs = Vec::new();
    for r in &outcome.rules {
        if !as_json {
            println!(
                "{}: {}: {}{}",
                r.rule,
                r.status,
                r.url.as_deref().map(|u| format!("{u}: ")).unwrap_or_default(),
                r.detail
            );
            for a in &r.attempts {
                println!("  {a}");
            }
        }
        docs.push(json!({ "rule": r.rule, "url": r.url, "status": r.status, "detail": r.detail, "attempts": r.attempts, "diagnostics": r.diagnostics }));
    }
    if let (Some(path), Some(body)) = (&args.save, &outcome.profile) {
        std::fs::write(path, body).with_context(|| format!("writing {}", path.display()))?;
    }
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "ok": outcome.ok, "rules": docs }))?
        );
    }
    Ok(if outcome.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// One resync (blocking: run it off the async threads): every `Profile_Rule*` of `args.config`,
/// nothing printed. `Err` only when the resync cannot start (the cfg.xml unreadable, a bad
/// option); a rule's failure is in its [`RuleResult`].
pub fn resync(args: &ProvisionArgs) -> Result<Resync> {
    run_job(args, Job::Resync)
}

/// One job of [`Job`]: the rules it evaluates, fetched (or uploaded) with the resync's
/// machinery (macros, Restricted_Access_Domains, A-record failover, TLS, the HTTP proxy,
/// syslog). A resync's profiles go through phone-config; an upgrade's image is only reported
/// (size, SHA-256); a report's PUT succeeds on any 2xx.
pub fn run_job(args: &ProvisionArgs, job: Job) -> Result<Resync> {
    let bytes = std::fs::read(&args.config).with_context(|| format!("reading {}", args.config.display()))?;
    let parsed =
        phone_config::parse(&bytes).map_err(|e| anyhow!("{}: {}", args.config.display(), e.diagnostic()))?;
    // A value with an error reads as its default (an invalid Profile_Rule as `/$PSN.xml`, an
    // invalid Restricted_Access_Domains as no restriction): never resync from that. The file is
    // refused whole, as `phone-agent run` refuses it. The one exception is the lint that a rule's
    // host lies outside Restricted_Access_Domains: the fetch itself refuses that host, names the
    // setting and reports it to syslog, as the phone does.
    let errors: Vec<String> = parsed
        .diagnostics
        .iter()
        .filter(|d| {
            d.severity == phone_config::Severity::Error && d.kind != phone_config::Kind::RestrictedDomain
        })
        .map(|d| d.to_string())
        .collect();
    if !errors.is_empty() {
        bail!(
            "{}: refused, it has {} error(s) (see phone-agent check):\n{}",
            args.config.display(),
            errors.len(),
            errors.join("\n")
        );
    }
    let settings = &parsed.settings;
    let p = &settings.provisioning;
    let domains = RestrictedDomains::from_domains(
        settings
            .restricted_access
            .restricted_access_domains
            .get()
            .domains(),
    );
    let mac = parse_mac(args.mac.as_deref().unwrap_or("00:00:00:00:00:00"))?;
    let mut macros = Macros::for_device(
        mac,
        &args.product,
        &args.series,
        &args.serial,
        args.client_cert.is_some(),
    );
    let lease = match &args.dhcp_lease {
        Some(path) => Some(lease_doc(path)?),
        None => None,
    };
    macros.set("PRVST", &args.prvst.unwrap_or(-1).to_string());
    let dhcp_server = lease.as_ref().and_then(dhcp_server_from);
    let resolver = Resolver::new(args.dns);
    let tls = TlsSetup::new(args, settings.tls.tls_cipher_list.get())?;
    let syslog = Syslog::new(p.syslog_server.get().as_ref(), &resolver, args.syslog_format)?;
    let proxy = ProxySetup::new(
        settings,
        lease.as_ref(),
        args.ca.as_deref(),
        args.dns,
        args.proxy_loopback,
    )?;
    let report_xml = (job == Job::Report).then(|| configuration_report(settings));
    let op = match job {
        Job::Resync => Operation {
            msg_id: "resync",
            request_msg: p.log_request_msg.get(),
            success_msg: p.log_success_msg.get(),
            failure_msg: p.log_failure_msg.get(),
            max_bytes: MAX_PROFILE,
            upload: None,
        },
        Job::Upgrade => Operation {
            msg_id: "upgrade",
            request_msg: p.log_upgrade_request_msg.get(),
            success_msg: p.log_upgrade_success_msg.get(),
            failure_msg: p.log_upgrade_failure_msg.get(),
            max_bytes: MAX_IMAGE,
            upload: None,
        },
        // The guide gives a report no messages of its own: the resync's.
        Job::Report => Operation {
            msg_id: "report",
            request_msg: p.log_request_msg.get(),
            success_msg: p.log_success_msg.get(),
            failure_msg: p.log_failure_msg.get(),
            max_bytes: MAX_PROFILE,
            upload: report_xml.as_deref(),
        },
    };
    let cx = FetchContext {
        domains: &domains,
        resolver: &resolver,
        tls: tls.as_ref(),
        syslog: &syslog,
        proxy: &proxy,
        op,
    };
    let rules: Vec<(&'static str, Option<&phone_config::ProvisioningRule>)> = match job {
        Job::Resync => PROFILE_RULES
            .iter()
            .copied()
            .zip([
                p.profile_rule.get().as_ref(),
                p.profile_rule_b.get().as_ref(),
                p.profile_rule_c.get().as_ref(),
                p.profile_rule_d.get().as_ref(),
            ])
            .collect(),
        Job::Upgrade => {
            if !settings.firewall.upgrade_enable.get().0 {
                bail!("Upgrade_Enable is No: no firmware upgrade");
            }
            vec![("Upgrade_Rule", p.upgrade_rule.get().as_ref())]
        }
        Job::Report => vec![("Report_Rule", p.report_rule.get().as_ref())],
    };
    if job != Job::Resync && rules.iter().all(|(_, r)| r.is_none()) {
        bail!("{} is empty: nothing to do", rules.first().map_or("", |(n, _)| n));
    }
    // Upgrade and report URLs name their server: DHCP's is for profiles only.
    let dhcp_server = dhcp_server.filter(|_| job == Job::Resync);
    let mut reports = Vec::new();
    for (name, rule) in rules {
        let Some(rule) = rule else { continue };
        let report = resync_rule(name, rule.as_str(), &mut macros, dhcp_server.as_deref(), &cx);
        reports.push(report);
    }
    // Resync_Fails_On_FNF No: a rule whose file is not there (HTTP 404, TFTP error 1) is done.
    let fnf_is_done = job == Job::Resync && !p.resync_fails_on_fnf.get().0;
    let not_found = |r: &RuleReport| fnf_is_done && r.result.as_ref().is_err_and(|e| is_file_not_found(e));
    let fetched: Vec<&RuleReport> = reports.iter().filter(|r| r.url.is_some()).collect();
    let mut ok = !fetched.is_empty() && fetched.iter().all(|r| r.result.is_ok() || not_found(r));
    let mut results = Vec::new();
    for r in &reports {
        let (status, detail, diagnostics) = match &r.result {
            Ok(f) if job == Job::Upgrade => (
                "fetched",
                format!(
                    "firmware image {} bytes, SHA-256 {}, from {} (checked, not installed: this agent flashes nothing)",
                    f.body.len(),
                    sha256_hex(&f.body),
                    f.from
                ),
                json!({ "bytes": f.body.len(), "sha256": sha256_hex(&f.body) }),
            ),
            Ok(f) if job == Job::Report => (
                "uploaded",
                format!(
                    "configuration report of {} bytes accepted by {}",
                    report_xml.as_ref().map_or(0, Vec::len),
                    f.from
                ),
                Json::Null,
            ),
            Ok(f) => {
                let (errors, warnings, msg) = match phone_config::parse(&f.body) {
                    Ok(parsed) => {
                        let e = parsed
                            .diagnostics
                            .iter()
                            .filter(|d| d.severity == phone_config::Severity::Error)
                            .count();
                        let w = parsed
                            .diagnostics
                            .iter()
                            .filter(|d| d.severity == phone_config::Severity::Warning)
                            .count();
                        (e, w, None)
                    }
                    Err(e) => (1, 0, Some(e.to_string())),
                };
                if msg.is_some() {
                    ok = false;
                }
                (
                    if msg.is_some() { "rejected" } else { "fetched" },
                    msg.unwrap_or_else(|| format!("{} bytes from {}", f.body.len(), f.from)),
                    json!({ "errors": errors, "warnings": warnings }),
                )
            }
            Err(e) if r.url.is_none() => ("skipped", e.clone(), Json::Null),
            Err(e) if not_found(r) => (
                "not-found",
                format!("{e} (Resync_Fails_On_FNF is No: counted as done)"),
                Json::Null,
            ),
            Err(e) => ("failed", e.clone(), Json::Null),
        };
        results.push(RuleResult {
            rule: r.rule,
            url: r.url.clone(),
            status,
            detail,
            attempts: r.attempts.clone(),
            diagnostics,
        });
    }
    let profile = reports
        .iter()
        .rev()
        .find_map(|r| r.result.as_ref().ok())
        .map(|f| f.body.clone());
    // The rules' assignments go into the profile the resync produces (a resync's only).
    let assigned: Vec<(String, String)> = reports.iter().flat_map(|r| r.assigned.clone()).collect();
    let profile = match profile {
        Some(body) if job == Job::Resync && !assigned.is_empty() => Some(with_assignments(&body, &assigned)?),
        other => other,
    };
    Ok(Resync {
        ok,
        rules: results,
        profile,
    })
}

fn resync_rule(
    name: &'static str,
    text: &str,
    macros: &mut Macros,
    dhcp_server: Option<&str>,
    cx: &FetchContext<'_>,
) -> RuleReport {
    let mut report = RuleReport {
        rule: name,
        url: None,
        result: Err(String::new()),
        attempts: Vec::new(),
        assigned: Vec::new(),
    };
    let selected = match ProfileRule::parse(text).and_then(|r| r.evaluate(macros)) {
        Ok(Some(s)) => s,
        Ok(None) => {
            report.result = Err("no alternative's condition holds".into());
            return report;
        }
        Err(e) => {
            report.url = Some(text.to_owned());
            report.result = Err(format!("{name}: {e}"));
            return report;
        }
    };
    // `( … )!`: GPP_* feed the macros of the rules after this one; other parameters go into
    // the profile this resync produces ([`with_assignments`]).
    report.assigned = macros.apply_assignments(&selected.assignments);
    for (param, value) in &report.assigned {
        report.attempts.push(format!("assigns {param} = \"{value}\""));
    }
    for (param, value) in &selected.assignments {
        tracing::info!("{name} assigns {param} = {value:?}");
    }
    // `[--key SECRET]`: the profile is `openssl enc -aes-256-cbc` output.
    let key = selected
        .options
        .iter()
        .find(|o| o.name == "key")
        .and_then(|o| o.value.clone());
    // `[--uid U --pwd P]`: HTTP credentials, sent only when the server asks (401).
    let option = |n: &str| {
        selected
            .options
            .iter()
            .find(|o| o.name == n)
            .and_then(|o| o.value.clone())
    };
    let credentials = option("uid").map(|u| (u, option("pwd").unwrap_or_default()));
    let Some(mut url) = selected.url else {
        report.result = Err("the rule only assigns".into());
        return report;
    };
    if url.host.is_none() {
        url.host = dhcp_server.map(str::to_owned);
    }
    if url.host.is_none() {
        // Nothing to ask: skipped, not failed (a phone without DHCP's server waits for one).
        report.result = Err(format!(
            "{name} `{url}` names no server and DHCP gave none (--dhcp-lease)"
        ));
        return report;
    }
    report.url = Some(url.to_string());
    let result: Result<Fetched, String> =
        fetch_following(name, url, macros, cx, credentials.as_ref(), &mut report.attempts).and_then(
            |mut f| {
                if let Some(k) = &key {
                    f.body =
                        phone_provisioning::decrypt_profile(&f.body, k).map_err(|e| format!("--key: {e}"))?;
                }
                Ok(f)
            },
        );
    if let Err(e) = &result {
        macros.set("ERR", e);
        cx.syslog
            .send(Severity::Error, cx.op.failure_msg, cx.op.msg_id, macros);
    }
    report.result = result;
    report
}

/// What a resync's fetches share: the rule's settings, the network, the reports.
struct FetchContext<'a> {
    domains: &'a RestrictedDomains,
    resolver: &'a Resolver,
    tls: Option<&'a TlsSetup>,
    syslog: &'a Syslog,
    proxy: &'a ProxySetup,
    op: Operation<'a>,
}

/// What the fetches of a job do and report: a resync's profile GETs, an upgrade's image GET,
/// or a report's PUT.
#[derive(Clone, Copy)]
struct Operation<'a> {
    /// The syslog MSGID: `resync`, `upgrade`, `report`.
    msg_id: &'static str,
    /// `Log_Request_Msg` (or `Log_Upgrade_Request_Msg`).
    request_msg: &'a str,
    /// `Log_Success_Msg` (or `Log_Upgrade_Success_Msg`).
    success_msg: &'a str,
    /// `Log_Failure_Msg` (or `Log_Upgrade_Failure_Msg`).
    failure_msg: &'a str,
    /// The largest body read.
    max_bytes: usize,
    /// The report to PUT (Report_Rule).
    upload: Option<&'a [u8]>,
}

/// Which rules a job evaluates.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Job {
    /// `Profile_Rule`, `_B`, `_C`, `_D`: profiles for phone-config.
    Resync,
    /// `Upgrade_Rule`: the firmware image, fetched and checked, never installed.
    Upgrade,
    /// `Report_Rule`: the phone's configuration report, uploaded with HTTP PUT.
    Report,
}

/// The largest firmware image an upgrade fetches (held in memory).
const MAX_IMAGE: usize = 64 << 20;

/// Why one way (DIRECT or one proxy) did not give an answer.
enum WayError {
    /// Nothing answered: try the next way.
    Unreachable(String),
    /// An answer that ends the fetch (TLS refused, DNS-vs-IP failed, a proxy's refusal…).
    Final(String),
}

fn way_error(e: &anyhow::Error) -> WayError {
    let text = format!("{e:#}");
    if text.starts_with("unreachable") {
        WayError::Unreachable(text)
    } else {
        WayError::Final(text)
    }
}

/// The headers a request carries besides the fixed ones.
#[derive(Default, Clone)]
struct Auth {
    /// `Authorization` (the rule's `--uid/--pwd`, after a 401).
    origin: Option<String>,
    /// `Proxy-Authorization` for this proxy (after a 407).
    proxy: Option<(ProxyServer, String)>,
}

impl Auth {
    fn proxy_for(&self, server: &ProxyServer) -> Option<&str> {
        self.proxy
            .as_ref()
            .filter(|(s, _)| s == server)
            .map(|(_, v)| v.as_str())
    }
}

fn fetch_following(
    name: &str,
    mut url: RequestUrl,
    macros: &mut Macros,
    cx: &FetchContext<'_>,
    credentials: Option<&(String, String)>,
    attempts: &mut Vec<String>,
) -> Result<Fetched, String> {
    let mut source = name.to_owned();
    let mut auth = Auth::default();
    // 401 and 407: each retried with credentials at most twice (the 8831 guide).
    let mut auth_retries = 0;
    let mut proxy_auth_retries = 0;
    for _ in 0..=MAX_REDIRECTS + 2 * MAX_AUTH_RETRIES {
        let host = url
            .host
            .clone()
            .ok_or_else(|| format!("{name} names no server and DHCP gave none (--dhcp-lease)"))?;
        // Restricted_Access_Domains before every connection, redirects included; through a
        // proxy too (the origin's host is what the rule names).
        cx.domains.check(&host, &source).map_err(|e| e.to_string())?;
        let ways = cx.proxy.ways(&url, &host)?;
        let single = ways.len() == 1;
        let mut unreachable = Vec::new();
        let mut outcome = None;
        for way in &ways {
            let r = match way {
                ProxyEntry::Direct => fetch_direct(&url, &host, macros, cx, &auth, attempts),
                ProxyEntry::Proxy(server) => {
                    fetch_via_proxy(&url, &host, server, macros, cx, &auth, attempts)
                }
            };
            match r {
                Ok(answer) => {
                    outcome = Some(answer);
                    break;
                }
                Err(WayError::Unreachable(e)) if single => return Err(e),
                Err(WayError::Unreachable(e)) => {
                    attempts.push(format!("{way}: {e}"));
                    unreachable.push(format!("{way}: {e}"));
                }
                Err(WayError::Final(e)) => return Err(e),
            }
        }
        let Some((resp, from)) = outcome else {
            return Err(format!(
                "no way to reach {url} worked ({})",
                unreachable.join("; ")
            ));
        };
        match resp {
            Response::Body(body) => {
                macros.set("ERR", "");
                cx.syslog
                    .send(Severity::Notice, cx.op.success_msg, cx.op.msg_id, macros);
                return Ok(Fetched {
                    body,
                    from: from.label,
                });
            }
            Response::Unauthorized(challenges) => {
                let Some((user, password)) = credentials else {
                    return Err(format!(
                        "HTTP 401: {url} wants credentials ({}); the rule has no [--uid … --pwd …]",
                        challenges.join(", ")
                    ));
                };
                if auth_retries >= MAX_AUTH_RETRIES {
                    return Err(format!(
                        "HTTP 401: {url} refused user `{user}` ({MAX_AUTH_RETRIES} tries)"
                    ));
                }
                auth_retries += 1;
                let target = http_auth::Target {
                    method: if cx.op.upload.is_some() { "PUT" } else { "GET" },
                    uri: &from.request_target,
                };
                let answer = http_auth::answer(&challenges, user, password, &target)
                    .map_err(|e| format!("HTTP 401: {url}: {e}"))?;
                attempts.push(format!(
                    "{}: 401, retrying as `{user}` ({})",
                    from.label, answer.scheme
                ));
                auth.origin = Some(answer.value);
            }
            Response::ProxyAuth(challenges) => {
                let Some(server) = from.proxy.clone() else {
                    return Err(format!(
                        "HTTP 407 from {}, which is no proxy of this phone",
                        from.label
                    ));
                };
                let label = server.authority();
                let Some(c) = cx.proxy.credentials_for(&server) else {
                    return Err(format!(
                        "HTTP proxy {label} requires authentication (407: {}): set Proxy_Server_Requires_Authentication, Proxy_Username and Proxy_Password",
                        challenges.join(", ")
                    ));
                };
                if proxy_auth_retries >= MAX_AUTH_RETRIES {
                    return Err(format!(
                        "HTTP proxy {label} refused Proxy_Username `{}` with the configured Proxy_Password (407, {MAX_AUTH_RETRIES} tries)",
                        c.username
                    ));
                }
                proxy_auth_retries += 1;
                let target = http_auth::Target {
                    method: from.proxy_method,
                    uri: &from.proxy_target,
                };
                let answer = http_auth::answer(&challenges, &c.username, c.password.expose(), &target)
                    .map_err(|e| format!("HTTP proxy {label}: 407: {e}"))?;
                attempts.push(format!(
                    "HTTP proxy {label}: 407, retrying as `{}` ({})",
                    c.username, answer.scheme
                ));
                auth.proxy = Some((server, answer.value));
            }
            Response::Redirect(location) => {
                let next = resolve_location(&url, &location)
                    .map_err(|e| format!("redirect to `{location}`: {e}"))?;
                source = format!("{name}, redirect from {url}");
                url = next;
            }
        }
    }
    Err(format!("more than {MAX_REDIRECTS} redirects"))
}

/// Who answered a request, and what the request was (for an authentication retry).
struct AnsweredBy {
    /// `10.0.0.1:443`, or `10.0.0.1:443 via HTTP proxy 10.0.0.9:3128`.
    label: String,
    /// The origin's request-target for its Digest `uri` (origin-form: `/p.xml`).
    request_target: String,
    /// The proxy it went through.
    proxy: Option<ProxyServer>,
    /// What the proxy was asked: `CONNECT` (https) or `GET` (http).
    proxy_method: &'static str,
    /// The proxy's request-target (`10.0.0.1:443`, or the absolute URL).
    proxy_target: String,
}

/// A request to the origin (origin-form, no proxy credentials): what DIRECT and a CONNECT
/// tunnel send.
fn origin_request<'a>(
    url: &'a RequestUrl,
    host: &'a str,
    auth: &'a Auth,
    cx: &FetchContext<'a>,
) -> HttpRequest<'a> {
    HttpRequest {
        url,
        host,
        target: url.path.clone(),
        authorization: auth.origin.as_deref(),
        proxy_authorization: None,
        max_bytes: cx.op.max_bytes,
        upload: cx.op.upload,
    }
}

/// The A-record failover shared by DIRECT and CONNECT: `try_one` for each address of `host`
/// in order (each after its `Log_Request_Msg` line) until one answers. An `unreachable` error
/// goes on to the next address, any other ends the fetch; `Err` from `try_one` itself (the
/// proxy unreachable) ends this way at once. `via` is appended to the attempt lines.
fn each_address(
    url: &RequestUrl,
    host: &str,
    via: &str,
    macros: &mut Macros,
    cx: &FetchContext<'_>,
    attempts: &mut Vec<String>,
    mut try_one: impl FnMut(SocketAddr) -> Result<Result<Response>, WayError>,
) -> Result<(Response, SocketAddr), WayError> {
    let addrs = origin_addresses(host, cx.resolver).map_err(WayError::Final)?;
    let mut last_err = String::new();
    for ip in &addrs {
        let to = SocketAddr::new(*ip, url.port);
        macros.set_request(url.scheme.as_str(), host, &ip.to_string(), url.port, &url.path);
        cx.syslog
            .send(Severity::Notice, cx.op.request_msg, cx.op.msg_id, macros);
        match try_one(to)? {
            Ok(resp) => {
                attempts.push(format!("{to}{via}: answered"));
                return Ok((resp, to));
            }
            Err(e) => {
                attempts.push(format!("{to}{via}: {e:#}"));
                last_err = format!("{to}{via}: {e:#}");
                if let WayError::Final(_) = way_error(&e) {
                    // The server answered (TLS refused, DNS-vs-IP failed, …): no failover.
                    return Err(WayError::Final(last_err));
                }
            }
        }
    }
    Err(WayError::Unreachable(format!(
        "no address of {host} answers{via} ({} tried; last: {last_err})",
        addrs.len()
    )))
}

/// DIRECT: the host's A records in order until one answers (A-record failover).
fn fetch_direct(
    url: &RequestUrl,
    host: &str,
    macros: &mut Macros,
    cx: &FetchContext<'_>,
    auth: &Auth,
    attempts: &mut Vec<String>,
) -> Result<(Response, AnsweredBy), WayError> {
    let (resp, to) = each_address(url, host, "", macros, cx, attempts, |to| {
        Ok(match url.scheme {
            Scheme::Tftp if cx.op.upload.is_some() => Err(anyhow!(
                "tftp: uploading a report over TFTP is not supported (use an http or https Report_Rule)"
            )),
            Scheme::Tftp => tftp_get(to, &url.path, cx.op.max_bytes).map(Response::Body),
            Scheme::Http | Scheme::Https => TcpStream::connect_timeout(&to, CONNECT_TIMEOUT)
                .map_err(|e| anyhow!("unreachable: {e}"))
                .and_then(|tcp| {
                    let request = origin_request(url, host, auth, cx);
                    http_exchange(tcp, &request, to.ip(), cx.tls, cx.resolver)
                }),
        })
    })?;
    Ok((
        resp,
        AnsweredBy {
            label: to.to_string(),
            request_target: url.path.clone(),
            proxy: None,
            proxy_method: "GET",
            proxy_target: String::new(),
        },
    ))
}

/// Through an HTTP proxy: http as an absolute-form GET (the proxy resolves the name); https
/// through `CONNECT` to each of the origin's A records in turn (the phone resolves, so the
/// DNS-vs-IP check and the failover hold).
fn fetch_via_proxy(
    url: &RequestUrl,
    host: &str,
    server: &ProxyServer,
    macros: &mut Macros,
    cx: &FetchContext<'_>,
    auth: &Auth,
    attempts: &mut Vec<String>,
) -> Result<(Response, AnsweredBy), WayError> {
    let proxy_addrs = origin_addresses(server.host(), cx.resolver)
        .map_err(|e| WayError::Unreachable(format!("HTTP proxy {}: {e}", server.authority())))?;
    let proxy_auth = auth.proxy_for(server);
    let via = format!(" via HTTP proxy {}", server.authority());
    let method = if cx.op.upload.is_some() { "PUT" } else { "GET" };
    if url.scheme == Scheme::Http {
        let absolute = url.absolute_with_host(host);
        macros.set_request(url.scheme.as_str(), host, host, url.port, &url.path);
        cx.syslog
            .send(Severity::Notice, cx.op.request_msg, cx.op.msg_id, macros);
        let tcp = via_proxy::connect(server, &proxy_addrs, CONNECT_TIMEOUT).map_err(|e| way_error(&e))?;
        let request = HttpRequest {
            target: absolute.clone(),
            proxy_authorization: proxy_auth,
            ..origin_request(url, host, auth, cx)
        };
        let proxy_ip = tcp.peer_addr().map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
        let resp = http_exchange(tcp, &request, proxy_ip, cx.tls, cx.resolver)
            .map_err(|e| WayError::Final(format!("{absolute}{via}: {e:#}")))?;
        attempts.push(format!("{absolute}{via}: answered"));
        return Ok((
            resp,
            AnsweredBy {
                label: format!("{host}:{}{via}", url.port),
                // The origin sees origin-form (the proxy rewrites the request line): its
                // Digest `uri` is the path, as curl sends it.
                request_target: url.path.clone(),
                proxy: Some(server.clone()),
                proxy_method: method,
                proxy_target: absolute,
            },
        ));
    }
    let (resp, to) = each_address(url, host, &via, macros, cx, attempts, |to| {
        // The proxy itself unreachable: the next way, not the next address.
        let mut tcp = via_proxy::connect(server, &proxy_addrs, CONNECT_TIMEOUT).map_err(|e| way_error(&e))?;
        Ok(
            via_proxy::open_tunnel(&mut tcp, server, to, proxy_auth).and_then(|tunnel| match tunnel {
                via_proxy::Tunnel::Challenged(c) => Ok(Response::ProxyAuth(c)),
                via_proxy::Tunnel::Open => {
                    let request = origin_request(url, host, auth, cx);
                    http_exchange(tcp, &request, to.ip(), cx.tls, cx.resolver)
                }
            }),
        )
    })?;
    Ok((
        resp,
        AnsweredBy {
            label: format!("{to}{via}"),
            request_target: url.path.clone(),
            proxy: Some(server.clone()),
            proxy_method: "CONNECT",
            proxy_target: to.to_string(),
        },
    ))
}

/// The addresses of `host`: itself when an IP literal, else its A records (none is an error).
fn origin_addresses(host: &str, resolver: &Resolver) -> Result<Vec<IpAddr>, String> {
    if let Ok(ip) = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return Ok(vec![ip]);
    }
    let addrs = resolver
        .a_records(host)
        .map_err(|e| format!("resolving {host}: {e}"))?;
    if addrs.is_empty() {
        return Err(format!("{host} has no A record"));
    }
    Ok(addrs)
}

enum Response {
    Body(Vec<u8>),
    Redirect(String),
    /// 401 with its `WWW-Authenticate` challenges.
    Unauthorized(Vec<String>),
    /// 407 from the proxy with its `Proxy-Authenticate` challenges.
    ProxyAuth(Vec<String>),
}

/// Retries of a 401 with the rule's credentials.
const MAX_AUTH_RETRIES: usize = 2;

/// The fetched profile with a rule's `( … )!` assignments applied: the guide applies an
/// assignment when the rule is evaluated, before its URL is fetched, so a parameter the profile
/// sets keeps the profile's value, and one it does not set takes the assigned value (added as
/// an element before `</flat-profile>`; the last assignment of a parameter wins).
fn with_assignments(profile: &[u8], assigned: &[(String, String)]) -> Result<Vec<u8>> {
    let parsed = phone_config::parse(profile).map_err(|e| anyhow!("the fetched profile: {e}"))?;
    let in_profile: std::collections::HashSet<String> = parsed
        .settings
        .entries()
        .into_iter()
        .filter(|e| {
            matches!(
                e.origin,
                phone_config::Origin::File(_) | phone_config::Origin::Rejected { .. }
            )
        })
        .map(|e| e.name)
        .chain(parsed.settings.unknown.iter().map(|u| u.name.clone()))
        .collect();
    let mut last: Vec<(&str, &str)> = Vec::new();
    for (name, value) in assigned {
        last.retain(|(n, _)| *n != name.as_str());
        last.push((name, value));
    }
    let text = std::str::from_utf8(profile).map_err(|_| anyhow!("the fetched profile is not UTF-8"))?;
    let close = text
        .rfind("</flat-profile>")
        .ok_or_else(|| anyhow!("the fetched profile has no </flat-profile> to add assignments before"))?;
    let mut out = String::from(text.get(..close).unwrap_or_default());
    for (name, value) in last.into_iter().filter(|(n, _)| !in_profile.contains(*n)) {
        let value = value
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        out.push_str(&format!("<{name}>{value}</{name}>\n"));
    }
    out.push_str(text.get(close..).unwrap_or_default());
    Ok(out.into_bytes())
}

/// Lower-case hex SHA-256.
fn sha256_hex(data: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, data)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The phone's configuration report: every effective setting as a flat-profile, secrets
/// `<redacted>` (a report leaves the phone; the guide does not say it carries passwords, so it
/// does not).
fn configuration_report(settings: &phone_config::Settings) -> Vec<u8> {
    let escape = |v: &str| v.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<flat-profile>\n");
    for e in settings.entries() {
        xml.push_str(&format!("  <{0}>{1}</{0}>\n", e.name, escape(&e.value)));
    }
    xml.push_str("</flat-profile>\n");
    xml.into_bytes()
}

/// Whether a rule's error says the file is not on the server (HTTP 404, TFTP error 1).
fn is_file_not_found(error: &str) -> bool {
    error.contains("HTTP 404: file not found") || error.contains("answered error file not found")
}

fn resolve_location(base: &RequestUrl, location: &str) -> Result<RequestUrl, String> {
    if location.starts_with('/') {
        let mut u = base.clone();
        u.path = location.to_owned();
        return Ok(u);
    }
    RequestUrl::parse(location).map_err(|e| e.to_string())
}

fn parse_mac(text: &str) -> Result<[u8; 6]> {
    let hex: String = text.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    if hex.len() != 12
        || text
            .chars()
            .any(|c| !c.is_ascii_hexdigit() && !matches!(c, ':' | '-' | '.'))
    {
        bail!("--mac `{text}` is not a MAC address (12 hex digits)");
    }
    let mut mac = [0u8; 6];
    for (i, b) in mac.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2).unwrap_or("00"), 16)?;
    }
    Ok(mac)
}

/// A lease file of `phone-agent dhcp --json` (its first line).
fn lease_doc(path: &Path) -> Result<Json> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let line = text.lines().next().unwrap_or_default();
    serde_json::from_str(line)
        .with_context(|| format!("{}: not a lease from phone-agent dhcp --json", path.display()))
}

/// The server host a `phone-agent dhcp --json` lease names (the winning option's first server).
fn dhcp_server_from(lease: &Json) -> Option<String> {
    let source = lease.pointer("/provisioning/source").cloned().unwrap_or_default();
    match source.get("kind").and_then(Json::as_str) {
        Some("tftp-server-name") => source.get("server").and_then(Json::as_str).map(str::to_owned),
        Some("tftp-servers" | "servers") => source
            .pointer("/servers/0")
            .and_then(Json::as_str)
            .map(str::to_owned),
        Some("url" | "acs-url" | "vendor-class-url") => source
            .get("url")
            .and_then(Json::as_str)
            .and_then(|u| RequestUrl::parse(u).ok())
            .and_then(|u| u.host),
        _ => None,
    }
}

/// A records (IPv4 only: the guide's A-record failover), from `--dns` or the system resolver.
struct Resolver {
    dns: Option<SocketAddr>,
}

impl Resolver {
    fn new(dns: Option<SocketAddr>) -> Resolver {
        Resolver { dns }
    }

    fn a_records(&self, host: &str) -> Result<Vec<IpAddr>> {
        use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
        use hickory_resolver::name_server::TokioConnectionProvider;
        use hickory_resolver::proto::xfer::Protocol;
        let mut opts = ResolverOpts::default();
        opts.timeout = Duration::from_secs(2);
        opts.attempts = 2;
        let builder = match self.dns {
            Some(server) => {
                let mut config = ResolverConfig::new();
                config.add_name_server(NameServerConfig::new(server, Protocol::Udp));
                hickory_resolver::TokioResolver::builder_with_config(
                    config,
                    TokioConnectionProvider::default(),
                )
            }
            None => {
                hickory_resolver::TokioResolver::builder_tokio().context("the system's DNS configuration")?
            }
        };
        let resolver = builder.with_options(opts).build();
        let rt = tokio::runtime::Handle::try_current().context("no tokio runtime for DNS")?;
        let mut name = hickory_resolver::Name::from_ascii(host)
            .map_err(|e| anyhow!("`{host}` is not a DNS name: {e}"))?;
        name.set_fqdn(true);
        match rt.block_on(resolver.ipv4_lookup(name)) {
            Ok(l) => Ok(l.iter().map(|a| IpAddr::V4(a.0)).collect()),
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => Ok(Vec::new()),
            Err(e) => Err(anyhow!("{e}")),
        }
    }
}

/// TFTP read of `path` from `server` (tftp-proto on the driver, [`crate::proxy::tftp::read`]),
/// bounded; nothing answering is `unreachable` (A-record failover goes on).
fn tftp_get(server: SocketAddr, path: &str, max_bytes: usize) -> Result<Vec<u8>> {
    use crate::proxy::tftp::{TftpFailure, read};
    let filename = path.strip_prefix('/').unwrap_or(path);
    let limits = tftp_proto::Limits {
        max_bytes,
        ..tftp_proto::Limits::default()
    };
    read(server, filename, limits, CONNECT_TIMEOUT).map_err(|e| match e {
        TftpFailure::Unreachable(why) => anyhow!("unreachable: {why}"),
        TftpFailure::Failed(e) => anyhow!("tftp: {e:#}"),
    })
}

/// The rustls configurations: one that checks the name (host URLs), one that checks only the
/// chain (IP URLs, whose certificate name is then checked by the DNS-vs-IP check).
struct TlsSetup {
    by_name: Arc<rustls::ClientConfig>,
    by_chain: Arc<rustls::ClientConfig>,
}

impl TlsSetup {
    /// The roots of `--ca`, else the system's bundle ([`system_roots`]); `None` when neither
    /// exists: HTTPS rules then fail, naming both.
    fn new(args: &ProvisionArgs, cipher_list: &str) -> Result<Option<TlsSetup>> {
        let roots = match &args.ca {
            Some(path) => crate::tls::read_roots(path)?,
            None => match system_roots()? {
                Some(r) => r,
                None => return Ok(None),
            },
        };
        let ring = rustls::crypto::ring::default_provider();
        let ciphers = cipher_string::effective_rustls(
            "TLS_Cipher_List",
            cipher_list,
            cipher_string::Application::Curl,
            &ring,
        );
        if ciphers.rustls.is_empty() {
            bail!("TLS_Cipher_List: `{cipher_list}` leaves no cipher suite rustls can negotiate");
        }
        let provider = Arc::new(ciphers.rustls.apply_to(&ring, None));
        let client_auth = match (&args.client_cert, &args.client_key) {
            (Some(cert), Some(key)) => {
                use rustls_pki_types::pem::PemObject;
                let chain = rustls_pki_types::CertificateDer::pem_file_iter(cert)
                    .with_context(|| format!("reading {}", cert.display()))?
                    .collect::<Result<Vec<_>, _>>()
                    .with_context(|| format!("a certificate in {}", cert.display()))?;
                let key = rustls_pki_types::PrivateKeyDer::from_pem_file(key)
                    .with_context(|| format!("the private key in {}", key.display()))?;
                Some((chain, key))
            }
            _ => None,
        };
        let make = |check_name: bool| -> Result<Arc<rustls::ClientConfig>> {
            let mut verifier =
                tls_hostname::ServerIdentityVerifier::new(roots.clone(), tls_hostname::Profile::Provisioning)
                    .context("the CA certificates")?;
            if !check_name {
                // Only for IP URLs: the certificate's own name is checked against DNS next.
                verifier = verifier.dangerous_disable_name_check("the DNS-vs-IP check (IP URL)");
            }
            let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier));
            let config = match &client_auth {
                Some((chain, key)) => builder
                    .with_client_auth_cert(chain.clone(), key.clone_key())
                    .context("the client certificate and key")?,
                None => builder.with_no_client_auth(),
            };
            Ok(Arc::new(config))
        };
        Ok(Some(TlsSetup {
            by_name: make(true)?,
            by_chain: make(false)?,
        }))
    }
}

/// Where Linux distributions keep the CA bundle (Debian, Fedora/RHEL, openSUSE, Alpine).
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// The system's trust anchors: `SSL_CERT_FILE` when set (an error when unreadable: the host
/// asked for it), else the first bundle of [`SYSTEM_BUNDLES`] that exists; `None` when there is
/// none. Certificates webpki cannot take as anchors are skipped with a debug line (a
/// distribution bundle carries a few old ones); none usable is an error.
fn system_roots() -> Result<Option<Vec<rustls_pki_types::CertificateDer<'static>>>> {
    let path = match std::env::var_os("SSL_CERT_FILE") {
        Some(p) => PathBuf::from(p),
        None => match SYSTEM_BUNDLES.iter().map(Path::new).find(|p| p.is_file()) {
            Some(p) => p.to_owned(),
            None => return Ok(None),
        },
    };
    let all =
        crate::tls::read_roots(&path).with_context(|| format!("the system CA bundle {}", path.display()))?;
    let usable: Vec<_> = all
        .into_iter()
        .filter(|c| {
            let ok =
                tls_hostname::ServerIdentityVerifier::new([c.clone()], tls_hostname::Profile::Provisioning)
                    .is_ok();
            if !ok {
                tracing::debug!(
                    "{}: a certificate that is no usable trust anchor skipped",
                    path.display()
                );
            }
            ok
        })
        .collect();
    if usable.is_empty() {
        bail!(
            "the system CA bundle {} has no usable CA certificate",
            path.display()
        );
    }
    tracing::debug!(
        "HTTPS provisioning trusts {} CAs of {}",
        usable.len(),
        path.display()
    );
    Ok(Some(usable))
}

/// One request: the target as written on the request line and the credentials it carries.
struct HttpRequest<'a> {
    url: &'a RequestUrl,
    host: &'a str,
    /// `/path`, or `http://host:port/path` to a proxy.
    target: String,
    /// `Authorization`.
    authorization: Option<&'a str>,
    /// `Proxy-Authorization` (plain http through a proxy only: never inside a tunnel).
    proxy_authorization: Option<&'a str>,
    /// The largest answer body read.
    max_bytes: usize,
    /// A PUT with this body (a report) instead of a GET.
    upload: Option<&'a [u8]>,
}

/// One HTTP/1.0 GET (no keep-alive, so no chunked bodies) on `tcp`, over TLS for https
/// (`connected` is the origin's address the DNS-vs-IP check compares with).
fn http_exchange(
    tcp: TcpStream,
    request: &HttpRequest<'_>,
    connected: IpAddr,
    tls: Option<&TlsSetup>,
    resolver: &Resolver,
) -> Result<Response> {
    let (url, host) = (request.url, request.host);
    tcp.set_read_timeout(Some(IO_TIMEOUT))?;
    tcp.set_write_timeout(Some(IO_TIMEOUT))?;
    let host_header = if url.port == url.scheme.default_port() {
        host.to_owned()
    } else {
        format!("{host}:{}", url.port)
    };
    let authorization = request
        .authorization
        .map_or(String::new(), |a| format!("Authorization: {a}\r\n"));
    let proxy_authorization = request
        .proxy_authorization
        .map_or(String::new(), |a| format!("Proxy-Authorization: {a}\r\n"));
    let (method, content) = match request.upload {
        Some(body) => (
            "PUT",
            format!("Content-Type: text/xml\r\nContent-Length: {}\r\n", body.len()),
        ),
        None => ("GET", String::new()),
    };
    let mut text = format!(
        "{method} {} HTTP/1.0\r\nHost: {host_header}\r\nUser-Agent: phone-agent/{}\r\nAccept: */*\r\n{authorization}{proxy_authorization}{content}Connection: close\r\n\r\n",
        request.target,
        env!("CARGO_PKG_VERSION")
    )
    .into_bytes();
    text.extend_from_slice(request.upload.unwrap_or_default());
    let raw = if url.scheme == Scheme::Https {
        let tls =
            tls.ok_or_else(|| anyhow!("https needs the CA that signs provisioning servers: pass --ca FILE (no system CA bundle found, SSL_CERT_FILE unset)"))?;
        let ip_url = host.parse::<IpAddr>().is_ok();
        let name =
            rustls_pki_types::ServerName::try_from(host.to_owned()).map_err(|e| anyhow!("`{host}`: {e}"))?;
        let config = if ip_url {
            tls.by_chain.clone()
        } else {
            tls.by_name.clone()
        };
        let conn = rustls::ClientConnection::new(config, name)?;
        let mut stream = rustls::StreamOwned::new(conn, tcp);
        stream.write_all(&text).map_err(crate::tls::handshake_error)?;
        // DNS-vs-IP (SPEC §6): the certificate's name must resolve to the address connected to.
        let cert = stream
            .conn
            .peer_certificates()
            .and_then(|c| c.first())
            .ok_or_else(|| anyhow!("the server sent no certificate"))?;
        let names = tls_hostname::CertificateNames::from_der(cert.as_ref())
            .map_err(|e| anyhow!("the server's certificate: {e}"))?;
        let cert_name = tls_hostname::provisioning_host(&names)
            .ok_or_else(|| anyhow!("DNS-vs-IP check: the certificate names no host"))?
            .to_owned();
        let resolved = resolver.a_records(&cert_name).unwrap_or_default();
        let check = tls_hostname::DnsCrossCheck {
            certificate_name: &cert_name,
            resolved: &resolved,
            connected,
        };
        let outcome = check.evaluate();
        if !outcome.agrees() {
            bail!("DNS-vs-IP check refused `{cert_name}`: {outcome}");
        }
        read_all(&mut stream, request.max_bytes)?
    } else {
        let mut tcp = tcp;
        tcp.write_all(&text)?;
        read_all(&mut tcp, request.max_bytes)?
    };
    parse_response(&raw, request.max_bytes, request.upload.is_some())
}

fn read_all(r: &mut impl Read, max_bytes: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut limited = r.take((max_bytes + 65_536) as u64);
    match limited.read_to_end(&mut out) {
        Ok(_) => {}
        // Servers that close without close_notify (openssl s_server -WWW): what came is the body.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !out.is_empty() => {}
        Err(e) => return Err(crate::tls::handshake_error(e)),
    }
    Ok(out)
}

fn parse_response(raw: &[u8], max_bytes: usize, upload: bool) -> Result<Response> {
    let head = phone_provisioning::ResponseHead::parse_complete(raw).map_err(|e| anyhow!("{e}"))?;
    let body = raw.get(head.len..).unwrap_or_default();
    let all = |name: &str| head.fields(name).map(str::to_owned).collect::<Vec<_>>();
    match head.status {
        // An upload (a report's PUT) is taken by any 2xx; its body is not kept.
        200..=299 if upload => Ok(Response::Body(Vec::new())),
        200 => {
            if body.len() > max_bytes {
                bail!("the file is larger than {max_bytes} bytes");
            }
            if let Some(len) = head.content_length() {
                if body.len() < len {
                    bail!("the body ended after {} of {len} bytes", body.len());
                }
                return Ok(Response::Body(body.get(..len).unwrap_or(body).to_vec()));
            }
            Ok(Response::Body(body.to_vec()))
        }
        401 => Ok(Response::Unauthorized(all("www-authenticate"))),
        407 => Ok(Response::ProxyAuth(all("proxy-authenticate"))),
        301 | 302 | 303 | 307 | 308 => head
            .field("location")
            .map(|l| Response::Redirect(l.to_owned()))
            .ok_or_else(|| anyhow!("HTTP {} without a Location", head.status)),
        404 => bail!("HTTP 404: file not found"),
        code => bail!("HTTP {code}: {}", head.reason),
    }
}

/// UDP syslog to `Syslog_Server` (port 514 by default); nothing when it is not set.
struct Syslog {
    socket: Option<(UdpSocket, SocketAddr)>,
    format: SyslogFormat,
}

impl Syslog {
    fn new(
        server: Option<&phone_config::HostPort>,
        resolver: &Resolver,
        format: SyslogFormatArg,
    ) -> Result<Syslog> {
        let format = match format {
            SyslogFormatArg::Rfc5424 => SyslogFormat::Rfc5424,
            SyslogFormatArg::Rfc3164 => SyslogFormat::Rfc3164,
        };
        let Some(server) = server else {
            return Ok(Syslog { socket: None, format });
        };
        let host = server.host.to_string();
        let port = server.port.map_or(514, |p| p.get());
        let ip = match host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            Ok(ip) => ip,
            Err(_) => *resolver
                .a_records(&host)?
                .first()
                .ok_or_else(|| anyhow!("Syslog_Server: {host} has no A record"))?,
        };
        let to = SocketAddr::new(ip, port);
        let socket = UdpSocket::bind(if to.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" })?;
        Ok(Syslog {
            socket: Some((socket, to)),
            format,
        })
    }

    fn send(&self, severity: Severity, template: &str, msg_id: &str, macros: &Macros) {
        let Some((socket, to)) = &self.socket else { return };
        // An empty message setting means: do not send this message.
        if template.trim().is_empty() {
            return;
        }
        let text = macros
            .expand(template)
            .unwrap_or_else(|e| format!("{template} ({e})"));
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let hostname = socket
            .connect(to)
            .ok()
            .and_then(|()| socket.local_addr().ok())
            .map(|a| a.ip().to_string())
            .unwrap_or_default();
        let line = SyslogMessage {
            facility: phone_provisioning::FACILITY_USER,
            severity,
            unix_secs: now.as_secs(),
            micros: now.subsec_micros(),
            hostname: &hostname,
            app_name: "phone-agent",
            msg_id,
            text: &text,
        }
        .format(self.format);
        if let Err(e) = socket.send(line.as_bytes()) {
            tracing::warn!("syslog to {to}: {e}");
        }
    }
}

#[cfg(test)]
mod assignment_tests {
    use super::with_assignments;

    #[test]
    fn assignments_fill_what_the_profile_does_not_set_and_the_last_wins() {
        let profile = b"<flat-profile>\n<Proxy_Port>3128</Proxy_Port>\n</flat-profile>\n";
        let assigned = [
            ("Proxy_Port".to_owned(), "8080".to_owned()),
            ("Proxy_Host".to_owned(), "a&b".to_owned()),
            ("Proxy_Host".to_owned(), "proxy.example.com".to_owned()),
        ];
        let out = String::from_utf8(with_assignments(profile, &assigned).unwrap()).unwrap();
        assert_eq!(
            out,
            "<flat-profile>\n<Proxy_Port>3128</Proxy_Port>\n<Proxy_Host>proxy.example.com</Proxy_Host>\n</flat-profile>\n"
        );
        let parsed = phone_config::parse(out.as_bytes()).unwrap();
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        assert!(with_assignments(b"not xml", &assigned).is_err());
    }
}
