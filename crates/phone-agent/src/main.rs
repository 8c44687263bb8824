//! `phone-agent`'s command line: parses it, installs logging and the process's one tokio
//! runtime, and calls into the library (`phone_agent`), where every subcommand lives.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use phone_agent::logging::LogFormat;
use phone_agent::{
    check, ciphers, dot1x, firewall, http, ldap, provision, proxy, run, sip, status, verify_name, vpn,
};

#[derive(Parser)]
#[command(
    name = "phone-agent",
    version,
    about = "A VoIP desk phone's security features: check and show cfg.xml, cipher lists, TLS server names, SIP lines, 802.1X, HTTP proxy, firewall, SSL VPN, LDAP directory"
)]
struct Cli {
    /// Print one JSON document (or one JSON object per event) instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// More diagnostics on stderr: -v info, -vv debug, -vvv trace (default: warnings). Before
    /// the subcommand (`ciphers -v` is its own verbose listing).
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
    /// How diagnostics on stderr are written.
    #[arg(long, value_enum, default_value = "text", global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The daemon: bring the phone up from cfg.xml (802.1X, addressing, firewall, proxy, every
    /// SIP line, VPN), keep it up, reload on SIGHUP, stop gracefully on SIGTERM. Status at
    /// http://127.0.0.1:8480/ (JSON at /api/status).
    Run(Box<run::RunArgs>),
    /// What a running `phone-agent run` reports (its /api/status).
    Status {
        /// The agent's API address.
        #[arg(long, value_name = "ADDR", default_value = http::DEFAULT_ADDR)]
        http: String,
        /// The admin password, when the agent has one.
        #[arg(long)]
        admin_password: Option<String>,
    },
    /// Report malformed, inconsistent or unsafe settings in one or more cfg.xml files.
    Check {
        /// Exit 1 when there are warnings (and no errors).
        #[arg(long)]
        deny_warnings: bool,
        /// The cfg.xml files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the effective settings: the file's values over the phone's defaults, secrets redacted.
    Show {
        /// The cfg.xml file.
        file: PathBuf,
    },
    /// Authenticate the phone with 802.1X (EAP-TLS): raw EAPOL on a wired port (--iface), or
    /// over RADIUS like eapol_test (--radius). Exit 0 when authenticated, 1 when refused.
    Dot1x(Box<dot1x::Dot1xArgs>),
    /// Does a server certificate identify a host? From a file, or over a real TLS handshake.
    VerifyName(verify_name::VerifyNameArgs),
    /// What an OpenSSL 1.1.1 cipher string selects, and what rustls can negotiate of it.
    Ciphers(ciphers::CiphersArgs),
    #[command(flatten)]
    Proxy(proxy::ProxyCommand),
    /// SIP: parse a captured message; register a line (digest, mediasec, Auth INVITE).
    #[command(subcommand)]
    Sip(sip::SipCommand),
    /// The phone's firewall as an nftables table: show, apply (atomically), check, off.
    #[command(subcommand)]
    Firewall(firewall::FirewallCommand),
    /// SSL VPN (AnyConnect/ocserv): connect, status, disconnect.
    #[command(subcommand)]
    Vpn(vpn::VpnCommand),
    /// The corporate directory: search it over LDAPS or StartTLS (LDAP_* settings).
    #[command(subcommand)]
    Ldap(ldap::LdapCommand),
    /// DHCPv4 on an interface: the lease, and which option names the provisioning server.
    Dhcp(provision::dhcp::DhcpArgs),
    /// One resync: Profile_Rule.._D over TFTP/HTTP/HTTPS (client certificate, DNS-vs-IP check,
    /// A-record failover, Restricted_Access_Domains), syslog reports. Exit 0 fetched, 1 not.
    Provision(Box<provision::resync::ProvisionCli>),
    /// Firmware upgrade check: fetch Upgrade_Rule's image with the resync's machinery and
    /// report it (Log_Upgrade_* to syslog); the image is never installed. Exit 0 fetched.
    Upgrade(Box<provision::resync::ProvisionArgs>),
    /// Report_Rule: upload the configuration report (secrets redacted) with HTTP PUT.
    Report(Box<provision::resync::ProvisionArgs>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    phone_agent::logging::init(cli.log_format, cli.verbose);
    // The process's one runtime: the daemon's tasks, DNS, the VPN and LDAP sessions. The
    // one-shot subcommands run on this thread inside its context (`Handle::current()`).
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("phone-agent: starting the tokio runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let _context = runtime.enter();
    let json = cli.json;
    let result = match cli.command {
        // The daemon's subsystems are not all Send (sip-ua's line owns a `dyn Rng`): they run
        // as local tasks on this thread; the HTTP server and blocking work use the workers.
        Command::Run(args) => runtime.block_on(tokio::task::LocalSet::new().run_until(run::run(*args))),
        Command::Status { http, admin_password } => show_status(&http, admin_password.as_deref(), json),
        Command::Check { deny_warnings, files } => check::check(&files, json, deny_warnings),
        Command::Show { file } => check::show(&file, json),
        Command::Dot1x(args) => dot1x::run(&args),
        Command::VerifyName(args) => verify_name::run(&args),
        Command::Ciphers(args) => ciphers::run(&args),
        Command::Proxy(command) => proxy::run(command),
        Command::Sip(command) => sip::run(command),
        Command::Firewall(command) => firewall::run(command),
        Command::Vpn(command) => vpn::run(command),
        Command::Ldap(command) => ldap::run(command),
        Command::Dhcp(args) => provision::dhcp::run(&args, json),
        Command::Provision(args) => provision::resync::run_cli(&args, json),
        Command::Upgrade(args) => {
            provision::resync::run_job_cli(&args, provision::resync::Job::Upgrade, json)
        }
        Command::Report(args) => provision::resync::run_job_cli(&args, provision::resync::Job::Report, json),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("phone-agent: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn show_status(addr: &str, password: Option<&str>, json: bool) -> anyhow::Result<ExitCode> {
    let s = http::fetch_status(addr, password)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        print!("{}", status::render_text(&s));
    }
    Ok(ExitCode::SUCCESS)
}
