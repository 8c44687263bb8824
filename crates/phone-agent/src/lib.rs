//! `phone-agent`: the administrator's tool for a VoIP desk phone's security features, and the
//! only crate of the workspace that does I/O. The binary (`src/main.rs`) only parses the
//! command line, sets up logging and the one tokio runtime, and calls into this library, as
//! hickory-dns's `bin/` does.
//!
//! ```text
//! phone-agent run --config cfg.xml [--http ADDR]         the daemon: every subsystem cfg.xml enables
//! phone-agent status [--http ADDR]                       what a running daemon reports
//! phone-agent check [--deny-warnings] FILE...            cfg.xml diagnostics, like a compiler
//! phone-agent show FILE                                  effective settings, secrets redacted
//! phone-agent ciphers [-v] [--app sip|web|xmpp] STRING   an OpenSSL 1.1.1 cipher string, and rustls
//! phone-agent verify-name ...                            a server certificate against a host name
//! phone-agent sip parse|register ...                     SIP captures; a line's registration
//! phone-agent dot1x ...                                  802.1X EAP-TLS on a port or over RADIUS
//! phone-agent proxy-for|fetch ...                        the HTTP proxy a URL goes through
//! phone-agent firewall show|apply|check|off ...          the firewall as an nftables table
//! phone-agent vpn connect|status|disconnect ...          the SSL VPN (AnyConnect/ocserv)
//! phone-agent ldap search --config cfg.xml [--ca F] NAME the corporate directory (LDAPS/StartTLS)
//! phone-agent dhcp --iface IF --no-apply                 a DHCPv4 lease and its provisioning option
//! ```
//! Every subcommand takes the global `--json` (one JSON document on stdout), `-v`/`-vv` and
//! `--log-format text|json` (diagnostics through `tracing` on stderr).
//!
//! The library is usable on its own: the cfg.xml checks, for instance.
//!
//! ```
//! let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/cfg/full.xml"));
//! let (_bytes, diagnostics, parsed) = phone_agent::check::load(path)?;
//! assert!(parsed.is_some());
//! assert!(diagnostics.iter().all(|d| d.severity != phone_config::Severity::Error));
//! # Ok::<(), anyhow::Error>(())
//! ```

pub mod check;
pub mod ciphers;
pub mod dot1x;
pub mod driver;
pub mod firewall;
pub mod http;
pub mod ldap;
pub mod logging;
pub mod provision;
pub mod proxy;
pub mod run;
pub mod sip;
pub mod status;
pub mod tls;
pub mod verify_name;
pub mod vpn;
