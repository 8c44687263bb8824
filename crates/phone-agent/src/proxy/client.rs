//! The one HTTP client path: GET through the proxies a [`ProxyConfig`] gives for the URL,
//! in order, demoting the ones that cannot be reached (ureq with rustls/ring: CONNECT tunnels
//! with the origin's certificate checked inside, Basic proxy credentials).
//!
//! FIXME: ureq 3 reaches `http://` origins through a CONNECT tunnel too, not with an
//! absolute-form request; proxies that allow CONNECT only to 443 refuse that (squid's default
//! `http_access deny CONNECT !SSL_ports`). The squid tests allow CONNECT to any port.

use std::fmt;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use proxy_pac::wpad::FetchPolicy;
use proxy_pac::{BadProxies, PacTime, ProxyConfig, ProxyEntry, ProxyScheme, Route};

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
    /// HTTP status of the origin's (or the proxy's) answer.
    pub status: u16,
    /// The entry that answered.
    pub via: ProxyEntry,
    /// The body.
    pub body: Vec<u8>,
    /// Entries tried before, with their errors.
    pub attempts: Vec<Attempt>,
}

/// Largest response body `fetch` reads.
const MAX_BODY: u64 = 64 << 20;

fn agent(via: &ProxyEntry, config: &ProxyConfig, timeout: Duration) -> Result<ureq::Agent> {
    let proxy = match via {
        ProxyEntry::Direct => None,
        ProxyEntry::Proxy(server) => {
            if server.scheme() != ProxyScheme::Http {
                bail!(
                    "{} proxies are not supported by the agent yet",
                    server.scheme().pac_keyword()
                );
            }
            let mut url = url::Url::parse(&server.to_url())?;
            if let Some(c) = config.credentials_for(server) {
                url.set_username(&c.username).ok().context("proxy user name")?;
                url.set_password(Some(c.password.expose()))
                    .ok()
                    .context("proxy password")?;
            }
            Some(ureq::Proxy::new(url.as_str())?)
        }
    };
    let config = ureq::Agent::config_builder()
        .proxy(proxy)
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .user_agent("phone-agent")
        .build();
    Ok(config.into())
}

/// Whether a failure means "this way is unusable, try the next" (connecting to the proxy or
/// origin failed), as opposed to an answer (Chromium: tunnel refusals do not fall back).
fn is_unreachable(e: &ureq::Error) -> bool {
    matches!(
        e,
        ureq::Error::Io(_)
            | ureq::Error::ConnectionFailed
            | ureq::Error::HostNotFound
            | ureq::Error::Timeout(_)
    )
}

fn get(agent: &ureq::Agent, url: &str, limit: u64) -> Result<(u16, Option<String>, Vec<u8>), ureq::Error> {
    let mut response = agent.get(url).call()?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.body_mut().with_config().limit(limit).read_to_vec()?;
    Ok((status, content_type, body))
}

/// Downloads the PAC file of an Auto configuration (never through a proxy); returns its URL
/// and text.
pub fn download_pac(config: &ProxyConfig) -> Result<(String, String)> {
    let url = match &config.mode {
        proxy_pac::ProxyMode::Auto(proxy_pac::config::AutoSource::PacUrl(url)) => url.clone(),
        proxy_pac::ProxyMode::Auto(proxy_pac::config::AutoSource::Wpad) => {
            bail!(
                "WPAD discovery needs the DHCP client's option 252/15 values: not wired into the agent yet; set PAC_URL"
            )
        }
        _ => bail!("not in Auto mode"),
    };
    if url.scheme() == "tftp" {
        bail!("PAC download over TFTP is not implemented in the agent yet ({url})");
    }
    let policy = FetchPolicy::default();
    let agent = agent(&ProxyEntry::Direct, config, policy.timeout)?;
    let limit = u64::try_from(policy.max_bytes).unwrap_or(u64::MAX) + 1;
    let (status, content_type, body) =
        get(&agent, url.as_str(), limit).with_context(|| format!("downloading the PAC file {url}"))?;
    policy
        .check_status(status)
        .with_context(|| format!("PAC file {url}"))?;
    let text = policy
        .decode(&body, content_type.as_deref())
        .with_context(|| format!("PAC file {url}"))?;
    tracing::info!(%url, bytes = body.len(), "PAC file downloaded");
    Ok((url.to_string(), text))
}

/// GET `url` the way `config` says.
pub fn fetch(config: &ProxyConfig, url: &str) -> Result<Fetched> {
    let parsed = url::Url::parse(url).with_context(|| format!("invalid URL `{url}`"))?;
    let list = match config.route(&parsed) {
        Route::Fixed(list) => list,
        Route::Pac => {
            let (pac_url, script) = download_pac(config)?;
            let mut engine = super::pac_engine(&script)?;
            let outcome = super::evaluate(&mut engine, url, PacTime::new(SystemTime::now(), 0), &[])
                .with_context(|| format!("evaluating {pac_url}"))?;
            for d in outcome.list.diagnostics() {
                tracing::warn!(pac = %pac_url, "PAC result: {d}");
            }
            outcome.list
        }
    };
    let bad = BadProxies::default();
    let mut attempts = Vec::new();
    for via in bad.order(&list, Instant::now()) {
        let agent = match agent(&via, config, Duration::from_secs(30)) {
            Ok(a) => a,
            Err(e) => {
                attempts.push(Attempt {
                    via,
                    error: format!("{e:#}"),
                });
                continue;
            }
        };
        match get(&agent, url, MAX_BODY) {
            Ok((407, _, _)) => bail!(
                "{via}: proxy authentication failed (HTTP 407): check Proxy_Username and Proxy_Password"
            ),
            Ok((status, _, body)) => {
                return Ok(Fetched {
                    status,
                    via,
                    body,
                    attempts,
                });
            }
            Err(e) if is_unreachable(&e) => {
                tracing::info!(%via, error = %e, "unreachable, trying the next way");
                attempts.push(Attempt {
                    via,
                    error: e.to_string(),
                });
            }
            // ureq tunnels plain HTTP through CONNECT too: a 407 arrives as a tunnel error.
            Err(e) if e.to_string().contains(" 407") => bail!(
                "{via}: proxy authentication failed (HTTP 407): check Proxy_Username and Proxy_Password"
            ),
            Err(e) => bail!("{via}: {e}"),
        }
    }
    let tried: Vec<String> = attempts
        .iter()
        .map(|a| format!("{}: {}", a.via, a.error))
        .collect();
    bail!("no way to reach {url} worked ({})", tried.join("; "))
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.via, self.error)
    }
}
