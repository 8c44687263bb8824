//! Provisioning fetches through the HTTP proxy (the seed's "HTTP 프록시 설정": the proxy applies
//! to every HTTP-using application, provisioning and firmware upgrade included). Which proxy a
//! URL takes comes from proxy-pac as for the rest of the agent: `Proxy_Mode` Off, Manual
//! (`Proxy_Host`, `Proxy_Port`, `Proxy_Server_Requires_Authentication`, `Proxy_Username`,
//! `Proxy_Password`) or Auto (WPAD from the lease's option 252 / DNS domain, or `PAC_URL`),
//! falling back along the PAC's list past proxies that cannot be reached.
//!
//! `http://` goes to the proxy as an absolute-form request (the proxy resolves the name);
//! `https://` opens a `CONNECT` tunnel **to the address the phone resolved** for the origin, so
//! A-record failover, the DNS-vs-IP check and the TLS identity check (against the origin's
//! name, never the proxy's) stay exactly as for a direct fetch. Restricted_Access_Domains is
//! checked on the origin host before any of this. TFTP never goes through the proxy.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use anyhow::{Result, anyhow};
use phone_provisioning::{RequestUrl, ResponseHead};
use proxy_pac::{Credentials, ProxyConfig, ProxyEntry, ProxyScheme, ProxyServer};
use serde_json::Value as Json;

use crate::proxy::client::HttpClient;
use crate::proxy::wpad::Discovery;

/// The proxy settings of a resync and the client that downloads a PAC file (Auto mode).
pub struct ProxySetup {
    config: ProxyConfig,
    client: HttpClient,
}

impl ProxySetup {
    /// From the cfg.xml's HTTP proxy settings; `lease` (a `phone-agent dhcp --json` document)
    /// gives WPAD its option 252 and DNS domain; `ca` the roots for an HTTPS PAC URL.
    pub fn new(
        settings: &phone_config::Settings,
        lease: Option<&Json>,
        ca: Option<&Path>,
        dns: Option<SocketAddr>,
        proxy_loopback: bool,
    ) -> Result<ProxySetup> {
        let config = crate::proxy::config_from_settings(settings)
            .map_err(|e| anyhow!("HTTP proxy settings: {e:#}"))?
            .with_bypass_loopback(!proxy_loopback);
        let text = |k: &str| {
            lease
                .and_then(|l| l.get(k))
                .and_then(Json::as_str)
                .map(str::to_owned)
        };
        let client = HttpClient::new(
            ca,
            Discovery {
                dhcp_wpad: text("wpad"),
                domain: text("domain_name"),
                dns,
            },
        )?;
        Ok(ProxySetup { config, client })
    }

    /// The ways to try for `url` (whose host is `host`), in order: DIRECT for TFTP and when the
    /// proxy is Off; the manual proxy; or the PAC's answer.
    pub fn ways(&self, url: &RequestUrl, host: &str) -> Result<Vec<ProxyEntry>, String> {
        if !crate::proxy::client::http_proxy_carries(url.scheme.as_str())
            || matches!(self.config.mode, proxy_pac::ProxyMode::Off)
        {
            return Ok(vec![ProxyEntry::Direct]);
        }
        let text = url.absolute_with_host(host);
        let list = self
            .client
            .proxy_list(&self.config, &text)
            .map_err(|e| format!("choosing the HTTP proxy for {text}: {e:#}"))?;
        if list.entries().is_empty() {
            return Err(format!(
                "the proxy configuration leaves no way to reach {text} ({})",
                list.diagnostics()
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
        Ok(list.entries().to_vec())
    }

    /// The credentials configured for `server` (Manual mode's, when it is that proxy).
    pub fn credentials_for(&self, server: &ProxyServer) -> Option<&Credentials> {
        self.config.credentials_for(server)
    }
}

/// Opens TCP to the proxy: its address (an IP, or the first of `addresses` that answers).
pub fn connect(server: &ProxyServer, addresses: &[IpAddr], timeout: Duration) -> Result<TcpStream> {
    if server.scheme() != ProxyScheme::Http {
        return Err(anyhow!(
            "unreachable: {server}: {} proxies are not supported for provisioning",
            server.scheme().pac_keyword()
        ));
    }
    let mut last = String::from("no address");
    for ip in addresses {
        let to = SocketAddr::new(*ip, server.port());
        match TcpStream::connect_timeout(&to, timeout) {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = format!("{to}: {e}"),
        }
    }
    Err(anyhow!("unreachable: HTTP proxy {}: {last}", server.authority()))
}

/// What the proxy answered to `CONNECT`.
pub enum Tunnel {
    /// 2xx: the stream now carries the origin's bytes.
    Open,
    /// 407: the `Proxy-Authenticate` challenges.
    Challenged(Vec<String>),
}

/// `CONNECT target` on `tcp` (with `Proxy-Authorization` when given). A 502/503/504 (the proxy
/// could not reach the origin's address) is `unreachable` for the A-record failover; any other
/// refusal is final and names the proxy.
pub fn open_tunnel(
    tcp: &mut TcpStream,
    server: &ProxyServer,
    target: SocketAddr,
    authorization: Option<&str>,
) -> Result<Tunnel> {
    let auth = authorization.map_or(String::new(), |a| format!("Proxy-Authorization: {a}\r\n"));
    let request = format!(
        "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nUser-Agent: phone-agent/{}\r\n{auth}\r\n",
        env!("CARGO_PKG_VERSION")
    );
    let label = server.authority();
    tcp.write_all(request.as_bytes())
        .map_err(|e| anyhow!("unreachable: HTTP proxy {label}: {e}"))?;
    // Byte by byte up to the empty line: nothing of the tunnel may be read here.
    let mut head = Vec::new();
    let parsed = loop {
        let mut byte = [0u8; 1];
        match tcp.read(&mut byte) {
            Ok(0) => {
                return Err(anyhow!(
                    "HTTP proxy {label} closed the connection during CONNECT {target}"
                ));
            }
            Ok(_) => head.extend_from_slice(&byte),
            Err(e) => return Err(anyhow!("HTTP proxy {label}: CONNECT {target}: {e}")),
        }
        if head.ends_with(b"\r\n\r\n")
            || head.ends_with(b"\n\n")
            || head.len() >= phone_provisioning::MAX_HEAD
        {
            break ResponseHead::parse_complete(&head)
                .map_err(|e| anyhow!("HTTP proxy {label}: CONNECT {target}: {e}"))?;
        }
    };
    match parsed.status {
        200..=299 => Ok(Tunnel::Open),
        407 => Ok(Tunnel::Challenged(
            parsed.fields("proxy-authenticate").map(str::to_owned).collect(),
        )),
        502..=504 => Err(anyhow!(
            "unreachable: HTTP proxy {label} could not reach {target}: {} {}",
            parsed.status,
            parsed.reason
        )),
        s => Err(anyhow!(
            "HTTP proxy {label} refused CONNECT {target}: {s} {}",
            parsed.reason
        )),
    }
}
