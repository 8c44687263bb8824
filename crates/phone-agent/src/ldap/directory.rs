//! The phone's corporate directory client (SPEC §5, §9, §10): one search, from connection to
//! entries, as a function with a typed result, for `phone-agent ldap search` and the daemon.
//!
//! - `ldaps://`: TLS from the first byte; `ldap://` with `LDAP_StartTLS_Enable` Yes: the StartTLS
//!   extended operation, then TLS on the same connection. Both through the agent's one TLS
//!   client path ([`crate::tls`]): `TLS_Cipher_List` via cipher-string, the server's name
//!   always checked via tls-hostname.
//! - A server that refuses StartTLS is an error naming `LDAP_StartTLS_Enable`; only with
//!   `Agent_LDAP_Allow_Clear_Text` Yes does the client reconnect in clear text, with a warning
//!   every time. `Simple` bind over a clear connection is refused under the same rule.
//! - Results are bounded: `Max_Display_Records` is the size limit, and a time limit applies on
//!   the server (searchRequest timeLimit) and on the client. sizeLimitExceeded (4) and
//!   timeLimitExceeded (3) give the entries received, marked partial.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ldap3::{LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchOptions};
use phone_config::{DisplayAttr, LdapAuthMethod, LdapFilter, Secret, Settings};

use crate::tls::ClientTls;

/// The attributes asked for when `LDAP_Display_Attrs` is empty.
const DEFAULT_NAME_ATTRS: &[&str] = &["displayName", "cn"];
const DEFAULT_NUMBER_ATTRS: &[&str] = &["telephoneNumber", "mobile", "homePhone"];

/// The filter used when no `LDAP_*_Filter` is set: the typed text against the common name
/// and the surname.
pub const DEFAULT_FILTER: &str = "(|(cn=$VALUE*)(sn=$VALUE*))";

/// The most bytes of typed text a search accepts (a phone's keypad entry is a few characters).
pub const MAX_QUERY_LEN: usize = 256;

/// How the client authenticates (`LDAP_Auth_Method`).
#[derive(Debug, Clone)]
pub enum Auth {
    /// `None`: no bind (anonymous).
    Anonymous,
    /// `Simple`: bind DN (`LDAP_Client_DN`) and password (`LDAP_Password`).
    Simple {
        /// The bind DN.
        dn: String,
        /// The password.
        password: Secret,
    },
    /// `DIGEST-MD5` (RFC 2831): `LDAP_User_Name` and `LDAP_Password`.
    DigestMd5 {
        /// The user name.
        user: String,
        /// The password.
        password: Secret,
    },
}

impl Auth {
    /// The method as the phone spells it.
    pub fn method(&self) -> &'static str {
        match self {
            Auth::Anonymous => LdapAuthMethod::None.as_str(),
            Auth::Simple { .. } => LdapAuthMethod::Simple.as_str(),
            Auth::DigestMd5 { .. } => LdapAuthMethod::DigestMd5.as_str(),
        }
    }
}

/// Everything one search needs, built from the settings.
#[derive(Clone)]
pub struct DirectoryConfig {
    /// `ldap` or `ldaps`.
    pub scheme: &'static str,
    /// The host as the URL writes it (the name checked against the certificate).
    pub host: String,
    /// The TCP port.
    pub port: u16,
    /// `LDAP_StartTLS_Enable` (only meaningful for `ldap://`).
    pub starttls: bool,
    /// `Agent_LDAP_Allow_Clear_Text`.
    pub allow_clear_text: bool,
    /// How to bind.
    pub auth: Auth,
    /// `LDAP_Search_Base`.
    pub search_base: String,
    /// The configured filters, combined with `|` (empty: [`DEFAULT_FILTER`]).
    pub filters: Vec<LdapFilter>,
    /// The fields to show (`LDAP_Display_Attrs`; empty: name and the usual number attributes).
    pub display: Vec<DisplayAttr>,
    /// `Max_Display_Records`: the size limit.
    pub size_limit: u16,
    /// Time limit of the search (server and client side), and of connecting.
    pub time_limit: Duration,
    /// The TLS client: `None` when no CA was given (then only a clear connection is possible,
    /// and TLS is refused with an error saying so).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// `TLS_Cipher_List` as written, for error messages.
    pub cipher_list: String,
    /// The TLS 1.2 suites offered, for error messages.
    pub tls12_suites: Vec<&'static str>,
}

impl fmt::Debug for DirectoryConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirectoryConfig")
            .field("url", &self.url())
            .field("starttls", &self.starttls)
            .field("auth", &self.auth.method())
            .field("search_base", &self.search_base)
            .field("size_limit", &self.size_limit)
            .finish_non_exhaustive()
    }
}

impl DirectoryConfig {
    /// The directory settings of a parsed `cfg.xml`, with the CA certificates that may sign the
    /// server's certificate (`tls`, built by [`crate::tls::client_config`] from
    /// `TLS_Cipher_List`; warnings about it are the caller's to show).
    pub fn from_settings(
        settings: &Settings,
        tls: Option<&ClientTls>,
        time_limit: Duration,
    ) -> Result<DirectoryConfig, DirectoryError> {
        let l = &settings.ldap;
        let server = l
            .ldap_server
            .get()
            .as_ref()
            .ok_or_else(|| DirectoryError::Config("LDAP_Server is not set".into()))?;
        let host = match &server.0.host {
            phone_config::Host::Name(n) => n.clone(),
            phone_config::Host::Ipv4(a) => a.to_string(),
            phone_config::Host::Ipv6(a) => format!("[{a}]"),
            phone_config::Host::Macro(m) => {
                return Err(DirectoryError::Config(format!(
                    "LDAP_Server: the host `{m}` is a macro the agent cannot expand"
                )));
            }
        };
        let auth = match l.ldap_auth_method.get() {
            LdapAuthMethod::None => Auth::Anonymous,
            LdapAuthMethod::Simple => Auth::Simple {
                dn: l.ldap_client_dn.get().clone(),
                password: l.ldap_password.get().clone(),
            },
            LdapAuthMethod::DigestMd5 => Auth::DigestMd5 {
                user: l.ldap_user_name.get().clone(),
                password: l.ldap_password.get().clone(),
            },
        };
        let filters = [
            &l.ldap_last_name_filter,
            &l.ldap_first_name_filter,
            &l.ldap_item_3_filter,
            &l.ldap_item_4_filter,
        ]
        .into_iter()
        .filter_map(|v| v.get().clone())
        .collect();
        Ok(DirectoryConfig {
            scheme: if server.is_ldaps() { "ldaps" } else { "ldap" },
            host,
            port: server.port(),
            starttls: l.ldap_starttls_enable.get().0,
            allow_clear_text: l.agent_ldap_allow_clear_text.get().0,
            auth,
            search_base: l.ldap_search_base.get().clone(),
            filters,
            display: l.ldap_display_attrs.get().0.clone(),
            size_limit: l.max_display_records.get().get(),
            time_limit,
            tls: tls.map(|t| t.config.clone()),
            cipher_list: settings.tls.tls_cipher_list.get().clone(),
            tls12_suites: tls.map(|t| t.tls12_suites.clone()).unwrap_or_default(),
        })
    }

    /// `scheme://host:port`.
    pub fn url(&self) -> String {
        format!("{}://{}:{}", self.scheme, self.host, self.port)
    }

    /// Whether the connection is meant to be TLS (LDAPS, or StartTLS on `ldap://`).
    pub fn wants_tls(&self) -> bool {
        self.scheme == "ldaps" || self.starttls
    }

    /// The search filter for what the user typed: the configured filters with `$VALUE`
    /// substituted (escaped), or'ed together.
    pub fn filter_for(&self, typed: &str) -> String {
        match self.filters.as_slice() {
            [] => DEFAULT_FILTER.replace(phone_config::VALUE_MACRO, &ldap3::ldap_escape(typed)),
            [one] => one.substitute(typed),
            many => {
                let parts: String = many.iter().map(|f| f.substitute(typed)).collect();
                format!("(|{parts})")
            }
        }
    }

    /// The attributes the search asks for.
    pub fn attributes(&self) -> Vec<String> {
        if self.display.is_empty() {
            DEFAULT_NAME_ATTRS
                .iter()
                .chain(DEFAULT_NUMBER_ATTRS)
                .map(|s| (*s).to_owned())
                .collect()
        } else {
            let mut a: Vec<String> = DEFAULT_NAME_ATTRS.iter().map(|s| (*s).to_owned()).collect();
            for d in &self.display {
                if !a.iter().any(|x| x.eq_ignore_ascii_case(&d.attribute)) {
                    a.push(d.attribute.clone());
                }
            }
            a
        }
    }
}

/// How the session was protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// `ldaps://`: TLS from the first byte.
    Ldaps,
    /// `ldap://` upgraded with StartTLS.
    StartTls,
    /// `ldap://` in clear text, as configured (StartTLS off).
    Clear,
    /// `ldap://` in clear text because the server refused StartTLS and
    /// `Agent_LDAP_Allow_Clear_Text` is Yes.
    ClearAfterStartTlsRefused,
}

impl Channel {
    /// A short name: `ldaps`, `starttls`, `clear`, `clear-after-starttls-refused`.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Ldaps => "ldaps",
            Channel::StartTls => "starttls",
            Channel::Clear => "clear",
            Channel::ClearAfterStartTlsRefused => "clear-after-starttls-refused",
        }
    }

    /// Whether the session is TLS-protected.
    pub fn is_tls(self) -> bool {
        matches!(self, Channel::Ldaps | Channel::StartTls)
    }
}

/// One field of an entry, as `LDAP_Display_Attrs` asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The label (`n=`, else the attribute).
    pub label: String,
    /// The LDAP attribute.
    pub attribute: String,
    /// Its values.
    pub values: Vec<String>,
    /// A number the phone can dial (`t=p`).
    pub dialable: bool,
}

/// One directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    /// Its DN.
    pub dn: String,
    /// The name shown: `displayName`, else `cn`, else the DN.
    pub name: String,
    /// The fields, in `LDAP_Display_Attrs` order; fields the entry lacks are left out.
    pub fields: Vec<Field>,
}

/// Why a result holds fewer entries than matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partial {
    /// sizeLimitExceeded (4): more entries matched than `Max_Display_Records`.
    SizeLimit(u16),
    /// timeLimitExceeded (3): the server stopped at the time limit.
    TimeLimit(Duration),
}

/// A search's result.
#[derive(Debug, Clone)]
pub struct DirectoryResult {
    /// `scheme://host:port`.
    pub url: String,
    /// How the session was protected.
    pub channel: Channel,
    /// The bind method used.
    pub auth: &'static str,
    /// The filter sent.
    pub filter: String,
    /// The entries, in the server's order.
    pub entries: Vec<DirectoryEntry>,
    /// `Some` when the server stopped early.
    pub partial: Option<Partial>,
    /// What the user must be told (clear text, ...); each one is also logged.
    pub warnings: Vec<String>,
}

/// Why a search failed or was refused.
#[derive(Debug)]
#[non_exhaustive]
pub enum DirectoryError {
    /// The settings do not allow a search.
    Config(String),
    /// The typed text is longer than [`MAX_QUERY_LEN`].
    QueryTooLong(usize),
    /// TLS is configured but no CA certificates were given.
    NoCa,
    /// TCP connect failed.
    Connect {
        /// `scheme://host:port`.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// Connecting, or an operation, took longer than the time limit.
    Timeout {
        /// What was being done.
        what: &'static str,
        /// The limit.
        after: Duration,
    },
    /// The server answered the StartTLS request with an error (it does not support StartTLS).
    StartTlsRefused {
        /// `scheme://host:port`.
        url: String,
        /// The result code.
        rc: u32,
        /// The server's diagnostic message.
        text: String,
    },
    /// The server's certificate was refused (chain or name); `reason` is the verifier's, with
    /// the certificate's names when the name did not match.
    Certificate {
        /// `scheme://host:port`.
        url: String,
        /// The verifier's reason.
        reason: String,
    },
    /// The handshake failed for want of a common cipher suite.
    NoCommonCipher {
        /// `scheme://host:port`.
        url: String,
        /// `TLS_Cipher_List` as written.
        cipher_list: String,
        /// The TLS 1.2 suites offered.
        offered: Vec<&'static str>,
        /// The TLS error.
        reason: String,
        /// The server said so (a handshake_failure alert); otherwise it closed the connection
        /// without saying why, which GnuTLS servers do when no suite is shared.
        certain: bool,
    },
    /// Another TLS failure.
    Tls {
        /// `scheme://host:port`.
        url: String,
        /// The TLS error.
        reason: String,
    },
    /// A password would have been sent over a clear connection.
    ClearTextRefused {
        /// `scheme://host:port`.
        url: String,
        /// The bind method.
        method: &'static str,
    },
    /// The bind failed.
    Bind {
        /// The bind method.
        method: &'static str,
        /// The result code.
        rc: u32,
        /// The server's diagnostic message.
        text: String,
    },
    /// The search failed.
    Search {
        /// The result code.
        rc: u32,
        /// The server's diagnostic message.
        text: String,
    },
    /// The filter does not parse (RFC 4515).
    Filter(String),
    /// The connection broke or the server sent something unusable.
    Protocol(String),
}

/// RFC 4511 Appendix A result code names, for messages.
pub fn result_code_name(rc: u32) -> &'static str {
    match rc {
        0 => "success",
        1 => "operationsError",
        2 => "protocolError",
        3 => "timeLimitExceeded",
        4 => "sizeLimitExceeded",
        7 => "authMethodNotSupported",
        8 => "strongerAuthRequired",
        11 => "adminLimitExceeded",
        12 => "unavailableCriticalExtension",
        13 => "confidentialityRequired",
        14 => "saslBindInProgress",
        32 => "noSuchObject",
        34 => "invalidDNSyntax",
        48 => "inappropriateAuthentication",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        80 => "other",
        _ => "unknown result code",
    }
}

fn server_text(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!(": \"{}\"", text.escape_debug())
    }
}

impl fmt::Display for DirectoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DirectoryError::Config(m) => f.write_str(m),
            DirectoryError::QueryTooLong(n) => {
                write!(f, "the search text has {n} bytes; the limit is {MAX_QUERY_LEN}")
            }
            DirectoryError::NoCa => f.write_str(
                "the directory connection is TLS (ldaps://, or LDAP_StartTLS_Enable Yes) but no CA \
                 certificate was given to check the server with (--ca FILE)",
            ),
            DirectoryError::Connect { url, reason } => write!(f, "connecting to {url}: {reason}"),
            DirectoryError::Timeout { what, after } => {
                write!(f, "{what} took longer than {} s", after.as_secs_f32())
            }
            DirectoryError::StartTlsRefused { url, rc, text } => write!(
                f,
                "{url} refused StartTLS ({rc} {}{}): LDAP_StartTLS_Enable is Yes, so the directory \
                 client does not continue in clear text (Agent_LDAP_Allow_Clear_Text Yes would, \
                 with a warning; ldaps:// avoids the question)",
                result_code_name(*rc),
                server_text(text)
            ),
            DirectoryError::Certificate { url, reason } => {
                write!(
                    f,
                    "TLS with {url}: {reason} (the server's identity is always checked for LDAP, SPEC §10)"
                )
            }
            DirectoryError::NoCommonCipher {
                url,
                cipher_list,
                offered,
                reason,
                certain,
            } => write!(
                f,
                "TLS handshake with {url} failed ({reason}): {}the server accepts none of the cipher \
                 suites TLS_Cipher_List `{cipher_list}` offers ({} and the TLS 1.3 suites)",
                if *certain { "" } else { "most likely " },
                if offered.is_empty() {
                    "no TLS 1.2 suite".to_owned()
                } else {
                    offered.join(", ")
                }
            ),
            DirectoryError::Tls { url, reason } => write!(f, "TLS with {url}: {reason}"),
            DirectoryError::ClearTextRefused { url, method } => write!(
                f,
                "refusing a {method} bind over the clear-text connection to {url}: the password would \
                 travel unencrypted (use ldaps:// or LDAP_StartTLS_Enable Yes; \
                 Agent_LDAP_Allow_Clear_Text Yes allows it, with a warning)"
            ),
            DirectoryError::Bind { method, rc, text } => write!(
                f,
                "{method} bind refused: {rc} {}{}",
                result_code_name(*rc),
                server_text(text)
            ),
            DirectoryError::Search { rc, text } => write!(
                f,
                "search failed: {rc} {}{}",
                result_code_name(*rc),
                server_text(text)
            ),
            DirectoryError::Filter(filter) => {
                write!(f, "the search filter `{filter}` is not an RFC 4515 filter")
            }
            DirectoryError::Protocol(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for DirectoryError {}

/// A TLS failure in a connect error, classified.
fn tls_failure(config: &DirectoryConfig, e: &rustls::Error) -> DirectoryError {
    use rustls::{AlertDescription, Error as E, PeerIncompatible};
    let url = config.url();
    let reason = crate::tls::describe(e);
    match e {
        E::InvalidCertificate(_) => DirectoryError::Certificate { url, reason },
        E::AlertReceived(AlertDescription::HandshakeFailure | AlertDescription::InsufficientSecurity)
        | E::PeerIncompatible(PeerIncompatible::NoCipherSuitesInCommon) => DirectoryError::NoCommonCipher {
            url,
            cipher_list: config.cipher_list.clone(),
            offered: config.tls12_suites.clone(),
            reason,
            certain: true,
        },
        _ => DirectoryError::Tls { url, reason },
    }
}

/// An ldap3 error while connecting, classified.
fn connect_error(config: &DirectoryConfig, e: LdapError) -> DirectoryError {
    match e {
        LdapError::LdapResult { result } => DirectoryError::StartTlsRefused {
            url: config.url(),
            rc: result.rc,
            text: result.text,
        },
        LdapError::Rustls { source } => tls_failure(config, &source),
        LdapError::Io { source } => match crate::tls::rustls_error(&source) {
            Some(tls) => tls_failure(config, tls),
            None if source.kind() == std::io::ErrorKind::UnexpectedEof && config.wants_tls() => {
                DirectoryError::NoCommonCipher {
                    url: config.url(),
                    cipher_list: config.cipher_list.clone(),
                    offered: config.tls12_suites.clone(),
                    reason: "the server closed the connection during the TLS handshake".into(),
                    certain: false,
                }
            }
            None => DirectoryError::Connect {
                url: config.url(),
                reason: source.to_string(),
            },
        },
        LdapError::Timeout { .. } => DirectoryError::Timeout {
            what: "connecting (TCP, StartTLS and TLS handshake)",
            after: config.time_limit,
        },
        LdapError::DNSName { source } => DirectoryError::Config(format!(
            "LDAP_Server: `{}` is not usable as a TLS server name: {source}",
            config.host
        )),
        other => DirectoryError::Protocol(format!("connecting to {}: {other}", config.url())),
    }
}

fn op_error(what: &'static str, config: &DirectoryConfig, e: LdapError) -> DirectoryError {
    match e {
        LdapError::Timeout { .. } => DirectoryError::Timeout {
            what,
            after: config.time_limit,
        },
        LdapError::FilterParsing => DirectoryError::Filter(String::new()),
        other => DirectoryError::Protocol(format!("{what}: {other}")),
    }
}

/// Opens the session: TLS as configured, or clear text where that is allowed.
async fn connect(
    config: &DirectoryConfig,
    warnings: &mut Vec<String>,
) -> Result<(Channel, ldap3::Ldap), DirectoryError> {
    let url = config.url();
    let base = LdapConnSettings::new().set_conn_timeout(config.time_limit);
    let (settings, channel) = if config.wants_tls() {
        let tls = config.tls.clone().ok_or(DirectoryError::NoCa)?;
        let starttls = config.scheme == "ldap";
        let channel = if starttls {
            Channel::StartTls
        } else {
            Channel::Ldaps
        };
        (base.set_config(tls).set_starttls(starttls), channel)
    } else {
        (base, Channel::Clear)
    };
    match LdapConnAsync::with_settings(settings, &url).await {
        Ok((conn, ldap)) => {
            ldap3::drive!(conn);
            Ok((channel, ldap))
        }
        Err(e) => {
            let e = connect_error(config, e);
            match e {
                DirectoryError::StartTlsRefused { rc, ref text, .. } if config.allow_clear_text => {
                    let warning = format!(
                        "{url} refused StartTLS ({rc} {}{}); continuing in CLEAR TEXT because \
                         Agent_LDAP_Allow_Clear_Text is Yes: the search and its results can be read \
                         and changed on the network",
                        result_code_name(rc),
                        server_text(text)
                    );
                    tracing::warn!("{warning}");
                    warnings.push(warning);
                    let plain = LdapConnSettings::new().set_conn_timeout(config.time_limit);
                    let (conn, ldap) = LdapConnAsync::with_settings(plain, &url)
                        .await
                        .map_err(|e| connect_error(config, e))?;
                    ldap3::drive!(conn);
                    Ok((Channel::ClearAfterStartTlsRefused, ldap))
                }
                e => Err(e),
            }
        }
    }
}

/// Binds as configured; refuses to send a password in clear text unless allowed.
async fn bind(
    config: &DirectoryConfig,
    channel: Channel,
    ldap: &mut ldap3::Ldap,
    warnings: &mut Vec<String>,
) -> Result<(), DirectoryError> {
    let url = config.url();
    match &config.auth {
        Auth::Anonymous => Ok(()),
        Auth::Simple { dn, password } => {
            if !channel.is_tls() && !password.is_empty() {
                if !config.allow_clear_text {
                    return Err(DirectoryError::ClearTextRefused {
                        url,
                        method: config.auth.method(),
                    });
                }
                let warning = format!(
                    "sending the Simple bind password for `{dn}` to {url} in CLEAR TEXT because \
                     Agent_LDAP_Allow_Clear_Text is Yes"
                );
                tracing::warn!("{warning}");
                warnings.push(warning);
            }
            let result = ldap
                .with_timeout(config.time_limit)
                .simple_bind(dn, password.expose())
                .await
                .map_err(|e| op_error("the Simple bind", config, e))?;
            if result.rc != 0 {
                return Err(DirectoryError::Bind {
                    method: config.auth.method(),
                    rc: result.rc,
                    text: result.text,
                });
            }
            Ok(())
        }
        Auth::DigestMd5 { user, password } => Err(DirectoryError::Config(format!(
            "LDAP_Auth_Method DIGEST-MD5 (user `{user}`, password {}) is not supported by the directory client yet",
            if password.is_empty() { "empty" } else { "set" }
        ))),
    }
}

/// One search: connect, bind, search for `typed` with the configured filters, unbind.
pub async fn search(config: &DirectoryConfig, typed: &str) -> Result<DirectoryResult, DirectoryError> {
    if typed.len() > MAX_QUERY_LEN {
        return Err(DirectoryError::QueryTooLong(typed.len()));
    }
    let filter = config.filter_for(typed);
    if ldap3::parse_filter(&filter).is_err() {
        return Err(DirectoryError::Filter(filter));
    }
    let mut warnings = Vec::new();
    let (channel, mut ldap) = connect(config, &mut warnings).await?;
    if channel == Channel::Clear {
        let warning = format!(
            "{} is clear text (ldap:// without StartTLS): the search and its results can be read on the network",
            config.url()
        );
        tracing::warn!("{warning}");
        warnings.push(warning);
    }
    bind(config, channel, &mut ldap, &mut warnings).await?;
    let attrs = config.attributes();
    let seconds = i32::try_from(config.time_limit.as_secs().max(1)).unwrap_or(i32::MAX);
    let result = ldap
        .with_search_options(
            SearchOptions::new()
                .sizelimit(i32::from(config.size_limit))
                .timelimit(seconds),
        )
        // The server's time limit plus a margin for the answer to arrive.
        .with_timeout(config.time_limit + Duration::from_secs(2))
        .search(&config.search_base, Scope::Subtree, &filter, attrs)
        .await
        .map_err(|e| match op_error("the search", config, e) {
            DirectoryError::Filter(_) => DirectoryError::Filter(filter.clone()),
            e => e,
        })?;
    let ldap3::SearchResult(raw, res) = result;
    let partial = match res.rc {
        0 => None,
        3 => Some(Partial::TimeLimit(config.time_limit)),
        4 => Some(Partial::SizeLimit(config.size_limit)),
        rc => {
            return Err(DirectoryError::Search { rc, text: res.text });
        }
    };
    let mut entries = Vec::with_capacity(raw.len());
    for r in raw {
        if r.is_ref() || r.is_intermediate() {
            continue;
        }
        entries.push(entry(config, r)?);
    }
    let _ = ldap.unbind().await;
    Ok(DirectoryResult {
        url: config.url(),
        channel,
        auth: config.auth.method(),
        filter,
        entries,
        partial,
        warnings,
    })
}

/// A searchResultEntry (RFC 4511 §4.5.2) read without trusting its shape.
fn entry(config: &DirectoryConfig, r: ldap3::ResultEntry) -> Result<DirectoryEntry, DirectoryError> {
    let bad = || DirectoryError::Protocol("the server sent a malformed searchResultEntry".into());
    let mut parts =
        r.0.match_id(4)
            .and_then(|t| t.expect_constructed())
            .ok_or_else(bad)?
            .into_iter();
    let dn = parts.next().and_then(|t| t.expect_primitive()).ok_or_else(bad)?;
    let dn = String::from_utf8_lossy(&dn).into_owned();
    let mut attrs: Vec<(String, Vec<String>)> = Vec::new();
    for pa in parts
        .next()
        .and_then(|t| t.expect_constructed())
        .ok_or_else(bad)?
    {
        let mut pa = pa.expect_constructed().ok_or_else(bad)?.into_iter();
        let name = pa.next().and_then(|t| t.expect_primitive()).ok_or_else(bad)?;
        let values = pa.next().and_then(|t| t.expect_constructed()).ok_or_else(bad)?;
        let values = values
            .into_iter()
            .filter_map(|v| v.expect_primitive())
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .collect();
        attrs.push((String::from_utf8_lossy(&name).into_owned(), values));
    }
    let get = |name: &str| {
        attrs
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let name = DEFAULT_NAME_ATTRS
        .iter()
        .find_map(|a| get(a))
        .and_then(|v| v.into_iter().next())
        .unwrap_or_else(|| dn.clone());
    let fields = if config.display.is_empty() {
        DEFAULT_NUMBER_ATTRS
            .iter()
            .filter_map(|a| {
                get(a).map(|values| Field {
                    label: (*a).to_owned(),
                    attribute: (*a).to_owned(),
                    values,
                    dialable: true,
                })
            })
            .collect()
    } else {
        config
            .display
            .iter()
            .filter_map(|d| {
                get(&d.attribute).map(|values| Field {
                    label: d.label.clone().unwrap_or_else(|| d.attribute.clone()),
                    attribute: d.attribute.clone(),
                    values,
                    dialable: d.dialable,
                })
            })
            .collect()
    };
    Ok(DirectoryEntry { dn, name, fields })
}

/// A config for tests of the pure parts.
#[cfg(test)]
mod tests {
    use super::*;

    fn config(xml: &str) -> DirectoryConfig {
        let parsed = phone_config::parse(xml.as_bytes()).unwrap();
        DirectoryConfig::from_settings(&parsed.settings, None, Duration::from_secs(5)).unwrap()
    }

    #[test]
    fn filters_are_substituted_escaped_and_ored() {
        let c = config(
            "<flat-profile><LDAP_Server>ldaps://dir.example.org</LDAP_Server>\
             <LDAP_Last_Name_Filter>sn:(sn=$VALUE*)</LDAP_Last_Name_Filter>\
             <LDAP_First_Name_Filter>cn:(cn=$VALUE*)</LDAP_First_Name_Filter></flat-profile>",
        );
        assert_eq!(c.url(), "ldaps://dir.example.org:636");
        assert_eq!(c.filter_for("Sm*th"), "(|(sn=Sm\\2ath*)(cn=Sm\\2ath*))");
        let c = config("<flat-profile><LDAP_Server>ldap://10.0.0.1</LDAP_Server></flat-profile>");
        assert_eq!(c.url(), "ldap://10.0.0.1:389");
        assert_eq!(c.filter_for("a)"), "(|(cn=a\\29*)(sn=a\\29*))");
        assert!(ldap3::parse_filter(c.filter_for("x(y)*\\")).is_ok());
    }

    #[test]
    fn no_server_is_a_config_error() {
        let parsed = phone_config::parse(b"<flat-profile/>").unwrap();
        let e = DirectoryConfig::from_settings(&parsed.settings, None, Duration::from_secs(5)).unwrap_err();
        assert_eq!(e.to_string(), "LDAP_Server is not set");
    }
}
