//! Per-application defaults of the phone (SPEC §9) and the "blank or invalid -> the
//! application's default, loudly" rule.

use std::fmt;

use crate::{CipherList, Error};

/// The web server's (HTTPS) default list, SPEC §9. `DES-CBC3-SHA` is not in a default
/// OpenSSL 1.1.1d build and is ignored (with a diagnostic) when evaluated.
pub const WEB_SERVER_DEFAULT: &str =
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:AES256-SHA:AES128-SHA:DES-CBC3-SHA";

/// The XMPP client's default cipher string, SPEC §9.
pub const XMPP_DEFAULT: &str = "HIGH:MEDIUM:AES:@STRENGTH";

/// The default of SIP, TR-069 and the other curl-based applications: OpenSSL's `DEFAULT`.
pub const CURL_DEFAULT: &str = "DEFAULT";

/// What the phone's curl-based applications offer on the wire by default, as SPEC §9 lists
/// it: 27 suites and the renegotiation SCSV (IANA names without the `TLS_` prefix). It is a
/// subsequence of what [`CURL_DEFAULT`] selects in a default 1.1.1d build (which also has
/// DSS, CCM, Camellia and ARIA suites the phone's build leaves out).
pub const CURL_DEFAULT_WIRE: [&str; 28] = [
    "ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "DHE_RSA_WITH_AES_256_GCM_SHA384",
    "ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "DHE_RSA_WITH_AES_128_GCM_SHA256",
    "ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
    "ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    "DHE_RSA_WITH_AES_256_CBC_SHA256",
    "ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    "DHE_RSA_WITH_AES_128_CBC_SHA256",
    "ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "DHE_RSA_WITH_AES_256_CBC_SHA",
    "ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "DHE_RSA_WITH_AES_128_CBC_SHA",
    "RSA_WITH_AES_256_GCM_SHA384",
    "RSA_WITH_AES_128_GCM_SHA256",
    "RSA_WITH_AES_256_CBC_SHA256",
    "RSA_WITH_AES_128_CBC_SHA256",
    "RSA_WITH_AES_256_CBC_SHA",
    "RSA_WITH_AES_128_CBC_SHA",
    "EMPTY_RENEGOTIATION_INFO_SCSV",
];

/// A TLS application of the phone, for its default cipher list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Application {
    /// The phone's web server (HTTPS).
    WebServer,
    /// The XMPP client.
    Xmpp,
    /// SIP over TLS, TR-069, provisioning, upgrades, LDAPS and every other curl-based client.
    Curl,
}

impl Application {
    /// The cipher string the application uses when the setting is blank or invalid.
    pub const fn default_cipher_string(self) -> &'static str {
        match self {
            Application::WebServer => WEB_SERVER_DEFAULT,
            Application::Xmpp => XMPP_DEFAULT,
            Application::Curl => CURL_DEFAULT,
        }
    }

    /// A short name for messages.
    pub const fn name(self) -> &'static str {
        match self {
            Application::WebServer => "web server",
            Application::Xmpp => "XMPP",
            Application::Curl => "SIP/TR-069/curl",
        }
    }

    /// The application's default, evaluated.
    pub fn default_list(self) -> CipherList {
        // The three defaults are constants that select suites; `tests` checks it. Should that
        // ever fail, DEFAULT's own expansion is the next best thing, and ALL the last.
        CipherList::parse(self.default_cipher_string())
            .or_else(|_| CipherList::parse(crate::engine::DEFAULT_EXPANSION))
            .or_else(|_| CipherList::parse("ALL"))
            .unwrap_or_else(|_| CipherList::empty())
    }
}

impl fmt::Display for Application {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a configured cipher string was replaced by the application's default.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FallbackReason {
    /// The setting is empty or white space only.
    Blank,
    /// OpenSSL 1.1.1d would refuse the string.
    Invalid(Error),
    /// OpenSSL accepts the string, but none of its suites can be negotiated by the TLS
    /// stack in use (e.g. `RSA:!aNULL:!eNULL` with rustls, which has no static-RSA suites).
    NothingNegotiable {
        /// How many suites OpenSSL would have offered.
        openssl_suites: usize,
    },
}

/// A configured cipher string replaced by the application's default. Its `Display` is the
/// loud diagnostic: it names the setting, the value, the reason and the default used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fallback {
    /// The setting's name, e.g. `TLS_Cipher_List`.
    pub setting: String,
    /// The configured value.
    pub value: String,
    /// The application whose default is used.
    pub application: Application,
    /// Why.
    pub reason: FallbackReason,
}

impl fmt::Display for Fallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.setting)?;
        match &self.reason {
            FallbackReason::Blank => write!(f, "blank")?,
            FallbackReason::Invalid(e) => write!(f, "`{}` is invalid: {e}", self.value)?,
            FallbackReason::NothingNegotiable { openssl_suites } => write!(
                f,
                "`{}` selects {openssl_suites} OpenSSL suites but none that this TLS stack can negotiate",
                self.value
            )?,
        }
        write!(
            f,
            "; the {} uses its default `{}` instead",
            self.application,
            self.application.default_cipher_string()
        )
    }
}

/// The cipher list an application runs with, and whether it is the configured one.
#[derive(Debug, Clone)]
pub struct Effective {
    /// The list in force.
    pub list: CipherList,
    /// `Some` when the configured string was replaced by the default.
    pub fallback: Option<Fallback>,
}

/// "Blank or invalid -> the application's default" for an OpenSSL-based application: a
/// string OpenSSL 1.1.1d refuses, or a blank one, is replaced by the default, and the
/// replacement is reported in [`Effective::fallback`] and logged (`tracing::warn!`; a blank
/// value, the usual way to ask for the default, at `debug`).
pub fn effective_openssl(setting: &str, value: &str, app: Application) -> Effective {
    let reason = if value.trim().is_empty() {
        FallbackReason::Blank
    } else {
        match CipherList::parse(value) {
            Ok(list) => return Effective { list, fallback: None },
            Err(e) => FallbackReason::Invalid(e),
        }
    };
    fall_back(setting, value, app, reason)
}

fn fall_back(setting: &str, value: &str, app: Application, reason: FallbackReason) -> Effective {
    let fallback = Fallback {
        setting: setting.to_owned(),
        value: value.to_owned(),
        application: app,
        reason,
    };
    // A blank setting is how a phone asks for the default (cfg.xml ships it empty): not
    // worth a warning. A string that is there but unusable is.
    if matches!(fallback.reason, FallbackReason::Blank) {
        tracing::debug!(setting, application = app.name(), "{fallback}");
    } else {
        tracing::warn!(setting, value, application = app.name(), "{fallback}");
    }
    Effective {
        list: app.default_list(),
        fallback: Some(fallback),
    }
}

#[cfg(feature = "rustls")]
pub use with_rustls::*;

#[cfg(feature = "rustls")]
mod with_rustls {
    use rustls::crypto::CryptoProvider;

    use super::*;
    use crate::RustlsProjection;

    /// The cipher list and its rustls projection an application runs with.
    #[derive(Debug, Clone)]
    pub struct EffectiveRustls {
        /// The OpenSSL list in force (configured or default).
        pub list: CipherList,
        /// Its projection onto the provider.
        pub rustls: RustlsProjection,
        /// `Some` when the configured string was replaced by the default.
        pub fallback: Option<Fallback>,
    }

    /// "Blank or invalid -> the application's default" for a rustls-based application:
    /// besides a blank string and one OpenSSL refuses, a string whose projection onto
    /// `provider` is empty (`RSA:!aNULL:!eNULL`) is invalid too. Every replacement is
    /// reported in [`EffectiveRustls::fallback`] and logged (`tracing::warn!`; blank at
    /// `debug`), never silent.
    pub fn effective_rustls(
        setting: &str,
        value: &str,
        app: Application,
        provider: &CryptoProvider,
    ) -> EffectiveRustls {
        let openssl = effective_openssl(setting, value, app);
        if openssl.fallback.is_none() {
            let rustls = openssl.list.rustls_suites(provider);
            if !rustls.is_empty() {
                return EffectiveRustls {
                    list: openssl.list,
                    rustls,
                    fallback: None,
                };
            }
            let reason = FallbackReason::NothingNegotiable {
                openssl_suites: openssl.list.suites().len(),
            };
            let e = fall_back(setting, value, app, reason);
            let rustls = e.list.rustls_suites(provider);
            return EffectiveRustls {
                list: e.list,
                rustls,
                fallback: e.fallback,
            };
        }
        let rustls = openssl.list.rustls_suites(provider);
        EffectiveRustls {
            list: openssl.list,
            rustls,
            fallback: openssl.fallback,
        }
    }
}
