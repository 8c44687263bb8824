//! The one HTTP client path: GET through the proxies a [`ProxyConfig`] gives for the URL, in
//! order, demoting the ones that cannot be reached. reqwest (blocking, HTTP/1.1 only) on
//! rustls with the ring provider: `http://` URLs go to an HTTP proxy as absolute-form requests
//! (`GET http://host/path HTTP/1.1`), `https://` URLs through a `CONNECT` tunnel with the
//! TLS handshake — and the certificate check — against the origin inside it; Basic proxy
//! credentials go with every request to the proxy (`Proxy-Authorization`).

use std::fmt;
use std::io::Read;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, anyhow, bail};
use proxy_pac::wpad::FetchPolicy;
use proxy_pac::{BadProxies, Credentials, PacTime, ProxyConfig, ProxyEntry, ProxyList, ProxyScheme, Route};

use super::tftp;
use super::wpad::Discovery;

/// One way tried that did not work.
#[derive(Debug)]
pub struct Attempt {
    /// The entry tried.
    pub via: ProxyEntry,
    /// Why it failed.
    pub error: String,
}

/// A response and how it was reached.
#[derive(Debug)]
pub struct Fetched {
    /// HTTP status of the origin's (or the proxy's) answer; `None` for a TFTP transfer, which
    /// has none.
    pub status: Option<u16>,
    /// The entry that answered.
    pub via: ProxyEntry,
    /// The body.
    pub body: Vec<u8>,
    /// Entries tried before, with their errors.
    pub attempts: Vec<Attempt>,
}

/// Whether an HTTP proxy carries URLs of `scheme`: `http` and `https` only. Everything else
/// (`tftp://`) goes direct, in `fetch`, the PAC download and the provisioning resync alike.
pub fn http_proxy_carries(scheme: &str) -> bool {
    matches!(scheme, "http" | "https")
}

/// Largest response body `fetch` reads.
const MAX_BODY: usize = 64 << 20;

/// Time allowed for one `fetch` attempt.
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// Why one GET did not produce a response.
#[derive(Debug)]
enum GetError {
    /// The proxy (or, for DIRECT, the origin) could not be reached: try the next entry.
    Unreachable(String),
    /// The proxy wants (other) credentials: HTTP 407, to a request or to the CONNECT.
    ProxyAuthentication,
    /// The proxy refused the CONNECT tunnel with another status.
    TunnelRefused,
    /// The origin's certificate did not verify against the trust anchors.
    OriginCertificate(String),
    /// Anything else (TLS alerts, protocol errors, a body over the limit).
    Other(String),
}

impl fmt::Display for GetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetError::Unreachable(e) => write!(f, "unreachable: {e}"),
            GetError::ProxyAuthentication => f.write_str("proxy authentication failed (HTTP 407)"),
            GetError::TunnelRefused => {
                f.write_str("the proxy refused the CONNECT tunnel (answered neither 200 nor 407)")
            }
            GetError::OriginCertificate(e) => {
                write!(f, "the origin's TLS certificate failed verification: {e}")
            }
            GetError::Other(e) => f.write_str(e),
        }
    }
}

/// A response read whole.
struct Response {
    status: u16,
    content_type: Option<String>,
    body: Vec<u8>,
}

/// The agent's HTTP client: trust anchors for origins, and the DHCP/DNS facts WPAD needs.
pub struct HttpClient {
    tls: Arc<rustls::ClientConfig>,
    discovery: Discovery,
}

impl HttpClient {
    /// A client trusting the CA certificates in `ca` (PEM), or the Mozilla root set
    /// (webpki-roots) when `None`.
    pub fn new(ca: Option<&Path>, discovery: Discovery) -> Result<Self> {
        let mut roots = rustls::RootCertStore::empty();
        match ca {
            Some(path) => {
                use rustls_pki_types::pem::PemObject;
                for cert in rustls_pki_types::CertificateDer::pem_file_iter(path)
                    .with_context(|| format!("reading {}", path.display()))?
                {
                    roots.add(cert.with_context(|| format!("a certificate in {}", path.display()))?)?;
                }
                if roots.is_empty() {
                    bail!("{}: no CA certificate in it", path.display());
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(HttpClient {
            tls: Arc::new(tls),
            discovery,
        })
    }

    fn client(
        &self,
        via: &ProxyEntry,
        credentials: Option<&Credentials>,
        timeout: Duration,
        resolved: Option<&(String, SocketAddr)>,
    ) -> Result<reqwest::blocking::Client> {
        // `no_proxy` first: no proxy from the environment, only the one chosen here.
        let mut builder = reqwest::blocking::Client::builder()
            .no_proxy()
            .use_preconfigured_tls((*self.tls).clone())
            .user_agent("phone-agent")
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)));
        if let Some((host, addr)) = resolved {
            builder = builder.resolve(host, *addr);
        }
        if let ProxyEntry::Proxy(server) = via {
            if server.scheme() != ProxyScheme::Http {
                bail!(
                    "{} proxies are not supported by the agent yet",
                    server.scheme().pac_keyword()
                );
            }
            let mut proxy = reqwest::Proxy::all(server.to_url())?;
            if let Some(c) = credentials {
                proxy = proxy.basic_auth(&c.username, c.password.expose());
            }
            builder = builder.proxy(proxy);
        }
        Ok(builder.build()?)
    }

    fn get(
        &self,
        url: &str,
        via: &ProxyEntry,
        credentials: Option<&Credentials>,
        limit: usize,
        timeout: Duration,
        resolved: Option<&(String, SocketAddr)>,
    ) -> Result<Response, GetError> {
        let client = self
            .client(via, credentials, timeout, resolved)
            .map_err(|e| GetError::Other(format!("{e:#}")))?;
        let response = client.get(url).send().map_err(|e| classify(&e))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body = Vec::new();
        let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
        response
            .take(cap)
            .read_to_end(&mut body)
            .map_err(|e| GetError::Other(format!("reading the body: {e}")))?;
        if body.len() > limit {
            return Err(GetError::Other(format!("the body is larger than {limit} bytes")));
        }
        Ok(Response {
            status,
            content_type,
            body,
        })
    }

    /// Downloads the PAC file of an Auto configuration (never through a proxy): the
    /// `PAC_URL` over HTTP, HTTPS or TFTP, or the WPAD candidates in order. Returns the URL
    /// that worked and the script.
    pub fn download_pac(&self, config: &ProxyConfig) -> Result<(String, String)> {
        let candidates = match &config.mode {
            proxy_pac::ProxyMode::Auto(proxy_pac::config::AutoSource::PacUrl(url)) => vec![url.clone()],
            proxy_pac::ProxyMode::Auto(proxy_pac::config::AutoSource::Wpad) => self.discovery.candidates()?,
            _ => bail!("not in Auto mode"),
        };
        let mut failures = Vec::new();
        for url in candidates {
            match self.download_pac_from(&url) {
                Ok(script) => return Ok((url.to_string(), script)),
                Err(e) => {
                    tracing::info!(%url, error = %format!("{e:#}"), "PAC candidate failed");
                    failures.push(format!("{e:#}"));
                }
            }
        }
        bail!("no PAC file could be downloaded: {}", failures.join("; "))
    }

    fn download_pac_from(&self, url: &url::Url) -> Result<String> {
        let policy = FetchPolicy::default();
        let (body, content_type) = if url.scheme() == "tftp" {
            let body = tftp::download(url, policy.max_bytes, policy.timeout)
                .with_context(|| format!("downloading the PAC file {url}"))?;
            (body, None)
        } else {
            let resolved = self.discovery.resolve(url)?;
            let r = self
                .get(
                    url.as_str(),
                    &ProxyEntry::Direct,
                    None,
                    policy.max_bytes,
                    policy.timeout,
                    resolved.as_ref(),
                )
                .map_err(|e| anyhow!("downloading the PAC file {url}: {e}"))?;
            policy
                .check_status(r.status)
                .with_context(|| format!("PAC file {url}"))?;
            (r.body, r.content_type)
        };
        let text = policy
            .decode(&body, content_type.as_deref())
            .with_context(|| format!("PAC file {url}"))?;
        tracing::info!(%url, bytes = body.len(), "PAC file downloaded");
        Ok(text)
    }

    /// The ways `config` gives for `url`, in order: fixed (Off, Manual, the loopback bypass),
    /// or what the PAC file answers (downloaded and evaluated now; Auto mode).
    pub fn proxy_list(&self, config: &ProxyConfig, url: &str) -> Result<ProxyList> {
        let parsed = url::Url::parse(url).with_context(|| format!("invalid URL `{url}`"))?;
        if !http_proxy_carries(parsed.scheme()) {
            return Ok(ProxyList::direct());
        }
        Ok(match config.route(&parsed) {
            Route::Fixed(list) => list,
            Route::Pac => {
                let (pac_url, script) = self.download_pac(config)?;
                let mut engine = super::pac_engine(&script)?;
                let outcome = super::evaluate(&mut engine, url, PacTime::new(SystemTime::now(), 0), &[])
                    .with_context(|| format!("evaluating {pac_url}"))?;
                for d in outcome.list.diagnostics() {
                    tracing::warn!(pac = %pac_url, "PAC result: {d}");
                }
                outcome.list
            }
        })
    }

    /// GET `url` the way `config` says, falling back along the list past entries that cannot
    /// be reached (not past refusals: a 407, a refused tunnel or a bad certificate is an
    /// answer, as in Chromium). A `tftp://` URL is read over TFTP, always DIRECT.
    pub fn fetch(&self, config: &ProxyConfig, url: &str) -> Result<Fetched> {
        let list = self.proxy_list(config, url)?;
        let parsed = url::Url::parse(url).with_context(|| format!("invalid URL `{url}`"))?;
        if parsed.scheme() == "tftp" {
            let body = tftp::download(&parsed, MAX_BODY, FETCH_TIMEOUT)?;
            return Ok(Fetched {
                status: None,
                via: ProxyEntry::Direct,
                body,
                attempts: Vec::new(),
            });
        }
        let bad = BadProxies::default();
        let mut attempts = Vec::new();
        for via in bad.order(&list, Instant::now()) {
            let credentials = match &via {
                ProxyEntry::Proxy(server) => config.credentials_for(server),
                ProxyEntry::Direct => None,
            };
            match self.get(url, &via, credentials, MAX_BODY, FETCH_TIMEOUT, None) {
                Ok(r) if r.status == 407 && matches!(via, ProxyEntry::Proxy(_)) => {
                    bail!(auth_error(&via, credentials))
                }
                Ok(r) => {
                    if r.status == 401 && credentials.is_some() {
                        // tinyproxy 1.11 answers a wrong password with its own 401 (and
                        // WWW-Authenticate), indistinguishable here from an origin's 401.
                        tracing::warn!(%via, "HTTP 401 with proxy credentials set: if the proxy sent it, check Proxy_Username and Proxy_Password");
                        eprintln!(
                            "phone-agent fetch: HTTP 401 through {via}: if the proxy sent it (tinyproxy does for a wrong password), check Proxy_Username and Proxy_Password"
                        );
                    }
                    return Ok(Fetched {
                        status: Some(r.status),
                        via,
                        body: r.body,
                        attempts,
                    });
                }
                Err(GetError::ProxyAuthentication) => bail!(auth_error(&via, credentials)),
                Err(GetError::Unreachable(e)) => {
                    tracing::info!(%via, error = %e, "unreachable, trying the next way");
                    attempts.push(Attempt { via, error: e });
                }
                Err(GetError::TunnelRefused) if credentials.is_some() => bail!(
                    "{via}: {url}: {}: if its answer was 401 (tinyproxy's for a wrong password), check Proxy_Username and Proxy_Password",
                    GetError::TunnelRefused
                ),
                Err(e) => bail!("{via}: {url}: {e}"),
            }
        }
        let tried: Vec<String> = attempts
            .iter()
            .map(|a| format!("{}: {}", a.via, a.error))
            .collect();
        bail!("no way to reach {url} worked ({})", tried.join("; "))
    }
}

fn auth_error(via: &ProxyEntry, credentials: Option<&Credentials>) -> String {
    match credentials {
        Some(c) => format!(
            "{via}: proxy authentication failed (HTTP 407): the proxy refused Proxy_Username `{}` with the configured Proxy_Password",
            c.username
        ),
        None => format!(
            "{via}: the proxy requires authentication (HTTP 407): set Proxy_Server_Requires_Authentication, Proxy_Username and Proxy_Password"
        ),
    }
}

/// Sorts a reqwest error by what the caller does next, looking through its causes: rustls
/// errors hide inside `io::Error`s, whose `source()` skips them.
fn classify(e: &reqwest::Error) -> GetError {
    let mut text = e.to_string();
    let mut unreachable = e.is_timeout();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        let tls = c.downcast_ref::<rustls::Error>().or_else(|| {
            c.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(rustls::Error::InvalidCertificate(reason)) = tls {
            return GetError::OriginCertificate(format!("{reason:?}"));
        }
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            unreachable |= matches!(
                io.kind(),
                ConnectionRefused
                    | ConnectionReset
                    | ConnectionAborted
                    | TimedOut
                    | HostUnreachable
                    | NetworkUnreachable
                    | AddrNotAvailable
            );
        }
        let s = c.to_string();
        // Some layers box the rustls error where no downcast reaches it: its Display then.
        if let Some(reason) = s.strip_prefix("invalid peer certificate: ") {
            return GetError::OriginCertificate(reason.to_owned());
        }
        if s.contains("proxy authorization required") {
            return GetError::ProxyAuthentication;
        }
        if s.contains("tunnel error: unsuccessful") {
            return GetError::TunnelRefused;
        }
        unreachable |= s.starts_with("dns error");
        cause = c.source();
    }
    if unreachable {
        GetError::Unreachable(text)
    } else {
        GetError::Other(text)
    }
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.via, self.error)
    }
}
