//! Proxy selection as the phone does it (SPEC §13): Off, Manual (host, port, optional Basic
//! credentials) or Auto (WPAD or a PAC URL); Chromium's implicit loopback bypass as a
//! setting; and the bad-proxy list that moves failed proxies to the end for a while.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

pub use phone_secret::SecretString;
use url::Url;

use crate::result::{ProxyEntry, ProxyList, ProxyScheme, ProxyServer, ResultError};
use crate::wpad::{self, WpadError};

/// User name and password for a manual proxy (HTTP Basic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `Proxy_Username`.
    pub username: String,
    /// `Proxy_Password`.
    pub password: SecretString,
}

/// A manually configured HTTP proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualProxy {
    /// The proxy (scheme HTTP).
    pub server: ProxyServer,
    /// Credentials when `Proxy_Server_Requires_Authentication` is Yes.
    pub credentials: Option<Credentials>,
}

/// Where Auto mode gets its PAC file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutoSource {
    /// WPAD: DHCP option 252, then DNS (see [`crate::wpad::discovery_candidates`]).
    Wpad,
    /// The configured `PAC_URL` (http, https or tftp).
    PacUrl(Url),
}

/// `Proxy_Mode` with what each mode needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyMode {
    /// No proxy.
    Off,
    /// One proxy for everything.
    Manual(ManualProxy),
    /// A PAC file decides per URL.
    Auto(AutoSource),
}

/// Why the settings do not make a proxy configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Manual mode without `Proxy_Host`.
    #[error("Proxy_Host is required in Manual mode")]
    MissingHost,
    /// `Proxy_Host` is not a host name or IP (a scheme or path is not allowed).
    #[error("Proxy_Host: {0}")]
    InvalidHost(ResultError),
    /// Authentication required but no user name.
    #[error("Proxy_Username is required when Proxy_Server_Requires_Authentication is Yes")]
    MissingUsername,
    /// Auto mode without WPAD and without `PAC_URL`.
    #[error("PAC_URL is required in Auto mode when Use_Auto_Discovery__WPAD_ is No")]
    MissingPacUrl,
    /// `PAC_URL` is unusable.
    #[error("PAC_URL: {0}")]
    InvalidPacUrl(WpadError),
}

/// The proxy configuration of the phone's HTTP stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    /// Off, Manual or Auto.
    pub mode: ProxyMode,
    /// Chromium's implicit bypass: `localhost`, `*.localhost`, 127.0.0.0/8, `::1`,
    /// 169.254.0.0/16 and fe80::/10 always go DIRECT, whatever the mode says. On by default;
    /// off makes loopback proxiable (tests, local relays).
    pub bypass_loopback: bool,
}

/// What to do for one URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// These ways, in order (Off, Manual, or the implicit bypass).
    Fixed(ProxyList),
    /// Ask the PAC (Auto mode): run a [`crate::PacEngine`] for the URL.
    Pac,
}

impl ProxyConfig {
    /// No proxy.
    pub fn off() -> Self {
        ProxyConfig {
            mode: ProxyMode::Off,
            bypass_loopback: true,
        }
    }

    /// Manual mode: `Proxy_Host` (no scheme), `Proxy_Port`, and the credentials when
    /// authentication is required.
    pub fn manual(host: &str, port: u16, credentials: Option<Credentials>) -> Result<Self, ConfigError> {
        let host = host.trim();
        if host.is_empty() {
            return Err(ConfigError::MissingHost);
        }
        let server = ProxyServer::new(ProxyScheme::Http, host, port).map_err(ConfigError::InvalidHost)?;
        if credentials.as_ref().is_some_and(|c| c.username.is_empty()) {
            return Err(ConfigError::MissingUsername);
        }
        Ok(ProxyConfig {
            mode: ProxyMode::Manual(ManualProxy { server, credentials }),
            bypass_loopback: true,
        })
    }

    /// Auto mode: WPAD when `use_wpad` (the `PAC_URL`, if any, is then not used, as the
    /// phone's guide says), else the PAC URL, which is then required.
    pub fn auto(use_wpad: bool, pac_url: Option<&str>) -> Result<Self, ConfigError> {
        let source = if use_wpad {
            AutoSource::Wpad
        } else {
            let url = pac_url
                .filter(|u| !u.trim().is_empty())
                .ok_or(ConfigError::MissingPacUrl)?;
            AutoSource::PacUrl(wpad::pac_url(url).map_err(ConfigError::InvalidPacUrl)?)
        };
        Ok(ProxyConfig {
            mode: ProxyMode::Auto(source),
            bypass_loopback: true,
        })
    }

    /// The same configuration with the loopback bypass on or off.
    pub fn with_bypass_loopback(mut self, bypass: bool) -> Self {
        self.bypass_loopback = bypass;
        self
    }

    /// The ways to reach `url`, or [`Route::Pac`] when the PAC must be asked.
    pub fn route(&self, url: &Url) -> Route {
        if self.bypass_loopback && url.host().is_some_and(|h| is_implicit_bypass(&h)) {
            return Route::Fixed(ProxyList::direct());
        }
        match &self.mode {
            ProxyMode::Off => Route::Fixed(ProxyList::direct()),
            ProxyMode::Manual(m) => {
                Route::Fixed(ProxyList::from_entries(vec![ProxyEntry::Proxy(m.server.clone())]))
            }
            ProxyMode::Auto(_) => Route::Pac,
        }
    }

    /// The credentials for `server`: those of the manual proxy when it is that server.
    pub fn credentials_for(&self, server: &ProxyServer) -> Option<&Credentials> {
        match &self.mode {
            ProxyMode::Manual(m) if &m.server == server => m.credentials.as_ref(),
            _ => None,
        }
    }
}

/// Chromium's implicit bypass rules (M71+).
fn is_implicit_bypass(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        url::Host::Ipv4(a) => a.is_loopback() || a.is_link_local(),
        url::Host::Ipv6(a) => {
            a.is_loopback()
                || (a.segments()[0] & 0xffc0) == 0xfe80
                || a.to_ipv4_mapped().is_some_and(|v4| IpAddr::V4(v4).is_loopback())
        }
    }
}

/// Proxies that failed recently: tried after the others until `retry_after` has passed
/// (Chromium: 5 minutes). DIRECT is never bad. Time is an input.
#[derive(Debug, Clone)]
pub struct BadProxies {
    retry_after: Duration,
    bad: HashMap<ProxyServer, Instant>,
}

impl Default for BadProxies {
    fn default() -> Self {
        BadProxies::new(Duration::from_secs(300))
    }
}

impl BadProxies {
    /// An empty list; failed proxies are demoted for `retry_after`.
    pub fn new(retry_after: Duration) -> Self {
        BadProxies {
            retry_after,
            bad: HashMap::new(),
        }
    }

    /// `server` failed (could not be reached, or refused) at `now`.
    pub fn mark_bad(&mut self, server: &ProxyServer, now: Instant) {
        tracing::info!(proxy = %server, "proxy marked bad");
        self.bad.insert(server.clone(), now + self.retry_after);
    }

    /// `server` worked: forget its failure.
    pub fn mark_good(&mut self, server: &ProxyServer) {
        self.bad.remove(server);
    }

    /// Whether `server` is still demoted at `now`.
    pub fn is_bad(&self, server: &ProxyServer, now: Instant) -> bool {
        self.bad.get(server).is_some_and(|until| now < *until)
    }

    /// `list` in the order to try at `now`: entries not demoted first, then the demoted
    /// ones (still tried: a bad proxy beats none), each group in PAC order.
    pub fn order(&self, list: &ProxyList, now: Instant) -> Vec<ProxyEntry> {
        let bad = |e: &ProxyEntry| matches!(e, ProxyEntry::Proxy(p) if self.is_bad(p, now));
        let (mut good, demoted): (Vec<_>, Vec<_>) = list.entries().iter().cloned().partition(|e| !bad(e));
        good.extend(demoted);
        good
    }

    /// When the earliest demotion ends, if any is in force at `now`.
    pub fn next_retry(&self, now: Instant) -> Option<Instant> {
        self.bad.values().filter(|u| **u > now).min().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[test]
    fn modes() {
        assert_eq!(
            ProxyConfig::off().route(&url("http://example.com/")),
            Route::Fixed(ProxyList::direct())
        );
        let manual = ProxyConfig::manual("proxy.example.com", 3128, None);
        let Ok(manual) = manual else { unreachable!() };
        let Route::Fixed(list) = manual.route(&url("https://example.com/")) else {
            unreachable!()
        };
        assert_eq!(list.to_pac_string(), "PROXY proxy.example.com:3128");
        assert_eq!(
            ProxyConfig::auto(true, Some("http://ignored/")).map(|c| c.mode),
            Ok(ProxyMode::Auto(AutoSource::Wpad))
        );
        assert_eq!(
            ProxyConfig::auto(true, None).map(|c| c.route(&url("http://e.com/"))),
            Ok(Route::Pac)
        );
    }

    #[test]
    fn settings_errors() {
        assert_eq!(
            ProxyConfig::manual(" ", 3128, None),
            Err(ConfigError::MissingHost)
        );
        assert!(matches!(
            ProxyConfig::manual("http://proxy", 3128, None),
            Err(ConfigError::InvalidHost(_))
        ));
        let anon = Credentials {
            username: String::new(),
            password: SecretString::new("pw"),
        };
        assert_eq!(
            ProxyConfig::manual("p", 1, Some(anon)),
            Err(ConfigError::MissingUsername)
        );
        assert_eq!(ProxyConfig::auto(false, None), Err(ConfigError::MissingPacUrl));
        assert_eq!(
            ProxyConfig::auto(false, Some("  ")),
            Err(ConfigError::MissingPacUrl)
        );
        assert_eq!(
            ProxyConfig::auto(false, Some("ftp://x/p.pac")),
            Err(ConfigError::InvalidPacUrl(WpadError::UnsupportedScheme(
                "ftp".into()
            )))
        );
        assert!(ProxyConfig::auto(false, Some("tftp://10.0.0.1/p.pac")).is_ok());
    }

    #[test]
    fn loopback_bypass_is_a_setting() {
        let Ok(manual) = ProxyConfig::manual("proxy", 3128, None) else {
            unreachable!()
        };
        for u in [
            "http://localhost/",
            "http://a.localhost:8080/",
            "http://127.0.0.2/",
            "http://[::1]/",
            "http://169.254.1.1/",
            "http://[fe80::1]/",
        ] {
            assert_eq!(manual.route(&url(u)), Route::Fixed(ProxyList::direct()), "{u}");
        }
        let proxied = manual.clone().with_bypass_loopback(false);
        assert_ne!(
            proxied.route(&url("http://127.0.0.1/")),
            Route::Fixed(ProxyList::direct())
        );
        assert_ne!(
            manual.route(&url("http://10.0.0.1/")),
            Route::Fixed(ProxyList::direct())
        );
    }

    #[test]
    fn secret_is_redacted() {
        let c = Credentials {
            username: "phone".into(),
            password: SecretString::new("s3cret"),
        };
        let shown = format!("{c:?} {}", c.password);
        assert!(!shown.contains("s3cret"), "{shown}");
        assert_eq!(c.password.expose(), "s3cret");
    }

    #[test]
    fn bad_proxy_is_tried_last_until_its_delay_ends() {
        let t0 = Instant::now();
        let list = ProxyList::parse_pac_result("PROXY a:1; PROXY b:2; DIRECT");
        let mut bad = BadProxies::default();
        let a = match &list.entries()[0] {
            ProxyEntry::Proxy(p) => p.clone(),
            ProxyEntry::Direct => unreachable!(),
        };
        bad.mark_bad(&a, t0);
        let order = |bad: &BadProxies, now| {
            bad.order(&list, now)
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(order(&bad, t0), ["PROXY b:2", "DIRECT", "PROXY a:1"]);
        assert_eq!(
            order(&bad, t0 + Duration::from_secs(299)),
            ["PROXY b:2", "DIRECT", "PROXY a:1"]
        );
        assert_eq!(bad.next_retry(t0), Some(t0 + Duration::from_secs(300)));
        assert_eq!(
            order(&bad, t0 + Duration::from_secs(300)),
            ["PROXY a:1", "PROXY b:2", "DIRECT"]
        );
        bad.mark_bad(&a, t0);
        bad.mark_good(&a);
        assert_eq!(order(&bad, t0), ["PROXY a:1", "PROXY b:2", "DIRECT"]);
    }
}
