//! A sans-IO client for AnyConnect-compatible SSL VPNs (the protocol of Cisco AnyConnect,
//! openconnect and ocserv, described in draft-mavrogiannopoulos-openconnect): the
//! aggregate-auth XML login, the `CONNECT /CSCOSSLC/tunnel` request with its `X-CSTP-*`
//! answer, CSTP framing, dead peer detection and keepalive, reconnect with the session cookie
//! and a clean logout.
//!
//! It works on the plaintext of a TLS connection that the host owns: the host opens TLS when
//! asked ([`TlsAction::Open`]), validates the server certificate, writes what it is given (one
//! [`TlsAction::Write`] per TLS write, so that one CSTP frame is one TLS record), and feeds back
//! what it reads, the packets of its TUN device and the time. Nothing here opens a socket or
//! reads a clock.
//!
//! ```
//! use std::time::Instant;
//! use cstp_client::{Client, Config, Event, Output, SecretString, TlsAction};
//!
//! let now = Instant::now();
//! let mut vpn = Client::new(Config::new("vpn.example.com", "alice", SecretString::new("s3cret")), now);
//! assert_eq!(vpn.poll_output(), Some(Output::Tls(TlsAction::Open)));
//! vpn.handle_tls_connected(now);
//! let Some(Output::Tls(TlsAction::Write(init))) = vpn.poll_output() else { return Err("no init".into()) };
//! assert!(init.starts_with(b"POST / HTTP/1.1\r\nHost: vpn.example.com\r\n"));
//!
//! // ocserv accepts (after its group, username and password forms, left out here) and sets
//! // the session cookie,
//! let body = r#"<?xml version="1.0"?><config-auth client="vpn" type="complete"><auth id="success"/></config-auth>"#;
//! let ok = format!("HTTP/1.1 200 OK\r\nSet-Cookie: webvpn=Q09PS0lF; Secure\r\nContent-Length: {}\r\n\r\n{body}", body.len());
//! vpn.handle_tls_data(now, ok.as_bytes());
//! assert_eq!(vpn.poll_output(), Some(Output::Event(Event::Authenticated)));
//! let Some(Output::Tls(TlsAction::Write(connect))) = vpn.poll_output() else { return Err("no CONNECT".into()) };
//! assert!(connect.starts_with(b"CONNECT /CSCOSSLC/tunnel HTTP/1.1\r\n"));
//!
//! // then answers the CONNECT: the tunnel is up and packets travel in CSTP frames.
//! vpn.handle_tls_data(now, b"HTTP/1.1 200 CONNECTED\r\nX-CSTP-Address: 10.79.0.50\r\n\
//!     X-CSTP-Netmask: 255.255.255.0\r\nX-CSTP-MTU: 1400\r\nX-CSTP-DPD: 30\r\n\r\n");
//! let Some(Output::Event(Event::Connected(tunnel))) = vpn.poll_output() else { return Err("not up".into()) };
//! assert_eq!(tunnel.address, Some([10, 79, 0, 50].into()));
//! vpn.handle_tun_packet(now, b"\x45\0\0\x14");
//! assert_eq!(vpn.poll_output(), Some(Output::Tls(TlsAction::Write(b"STF\x01\0\x04\0\0\x45\0\0\x14".to_vec()))));
//! assert!(matches!(vpn.poll_output(), Some(Output::Timeout(_)))); // DPD
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Not supported: DTLS (the UDP channel; every packet goes over CSTP, which ocserv and Cisco
//! servers accept when the client sends no `X-DTLS-*` header; [`TlsAction`] and the data
//! path keep room for a second channel), compression (never offered), IPv6 inside the tunnel
//! (only `IPv4` is requested; IPv6 answers are still read into [`TunnelConfig`]), certificate
//! and SSO logins, HTTP redirects during login, and TLS renegotiation: `X-CSTP-Rekey-Method:
//! ssl` is served by opening a new tunnel with the cookie at the rekey time.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::time::Duration;

pub mod auth;
mod client;
pub mod frame;
pub mod http;
pub mod tunnel;

pub use client::{Client, Error, Event, Output, TlsAction, TlsClosed};
pub use phone_secret::SecretString;
pub use tunnel::{Route, TunnelConfig};

/// Bounds on what the server can make the client hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of an HTTP header section (ocserv's are under 2 KiB).
    pub max_http_header: usize,
    /// Header fields in one response (ocserv's CONNECT answer has about 30).
    pub max_http_headers: usize,
    /// Bytes of an HTTP body (auth forms are under 2 KiB; ASA pages with banners more).
    pub max_http_body: usize,
    /// XML nodes in an auth document.
    pub max_xml_nodes: u32,
    /// Element nesting in an auth document (ocserv's and ASA's pages nest 5 levels). The XML
    /// parser recurses once per level: thousands of levels would overflow the stack.
    pub max_xml_depth: usize,
    /// Forms answered before giving up (ocserv plain: 2, with a second factor 3).
    pub max_auth_rounds: usize,
    /// Payload bytes of one CSTP frame (the largest MTU accepted is 16384).
    pub max_frame_payload: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_http_header: 16 * 1024,
            max_http_headers: 100,
            max_http_body: 64 * 1024,
            max_xml_nodes: 4096,
            max_xml_depth: 32,
            max_auth_rounds: 8,
            max_frame_payload: 16 * 1024,
        }
    }
}

/// When and how often to reconnect after the tunnel went down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconnectPolicy {
    /// Delay before the first attempt; doubled after each failed one.
    pub first_delay: Duration,
    /// The largest delay between attempts.
    pub max_delay: Duration,
    /// Give up when the tunnel has been down this long (openconnect's default: 300 s).
    pub give_up_after: Duration,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            give_up_after: Duration::from_secs(300),
        }
    }
}

/// A session's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The server's host name or IP address (`VPN_Server`), as in its URL.
    pub host: String,
    /// The server's TCP port.
    pub port: u16,
    /// `VPN_User_Name`.
    pub username: String,
    /// `VPN_Password`.
    pub password: SecretString,
    /// `VPN_Tunnel_Group`; `None` lets the server pick its default.
    pub group: Option<String>,
    /// `User-Agent`. ocserv picks its dialect from it: keep the `Open AnyConnect VPN Agent
    /// v<N>` form with N > 3, or it falls back to legacy non-XML forms.
    pub user_agent: String,
    /// `X-CSTP-Hostname`: the device's name.
    pub device_name: String,
    /// `X-CSTP-Base-MTU`: the link MTU under the tunnel.
    pub base_mtu: u16,
    /// How long to wait for a connection or an answer.
    pub response_timeout: Duration,
    /// Reconnect behaviour once the tunnel was up.
    pub reconnect: ReconnectPolicy,
    /// Parsing bounds.
    pub limits: Limits,
}

impl Config {
    /// Settings with the defaults: port 443, no group, 1500-byte link, 30 s answers.
    pub fn new(host: impl Into<String>, username: impl Into<String>, password: SecretString) -> Config {
        Config {
            host: host.into(),
            port: 443,
            username: username.into(),
            password,
            group: None,
            user_agent: format!(
                "Open AnyConnect VPN Agent v9.12 cstp-client/{}",
                env!("CARGO_PKG_VERSION")
            ),
            device_name: "phone".to_owned(),
            base_mtu: 1500,
            response_timeout: Duration::from_secs(30),
            reconnect: ReconnectPolicy::default(),
            limits: Limits::default(),
        }
    }
}

/// Traffic counters: IP packets through the tunnel, as the status page shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bytes of IP packets sent into the tunnel.
    pub bytes_sent: u64,
    /// Bytes of IP packets received from the tunnel.
    pub bytes_received: u64,
    /// Packets sent.
    pub packets_sent: u64,
    /// Packets received.
    pub packets_received: u64,
    /// Packets from the TUN device dropped while the tunnel was down.
    pub dropped: u64,
    /// Times the tunnel came back after going down.
    pub reconnects: u64,
}
