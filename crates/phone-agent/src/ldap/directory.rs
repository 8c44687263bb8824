//! The phone's corporate directory client (SPEC §5, §9, §10): one search, from connection to
//! entries, as a function with a typed result, for `phone-agent ldap search` and the daemon.
//!
//! - `ldaps://`: TLS from the first byte; `ldap://` with `LDAP_StartTLS_Enable` Yes: the StartTLS
//!   extended operation (ldap-bind), then TLS on the same connection. Both through the agent's
//!   one TLS client path ([`crate::tls`]): `TLS_Cipher_List` via cipher-string, the server's
//!   name always checked via tls-hostname; tokio-rustls does the handshake.
//! - A server that refuses StartTLS is an error naming `LDAP_StartTLS_Enable`; only with
//!   `Agent_LDAP_Allow_Clear_Text` Yes does the client continue in clear text on the same
//!   connection, with a warning every time. A `Simple` or `DIGEST-MD5` bind over a clear
//!   connection is refused under the same rule.
//! - `DIGEST-MD5` (RFC 2831) is ldap-bind's exchange on the connection; then ldap3 (which has no
//!   generic SASL bind and cannot take a TLS stream it did not open) gets the bound session over
//!   a socket pair and does the `Simple` bind and the search.
//! - Results are bounded: `Max_Display_Records` is the size limit, and a time limit applies on
//!   the server (searchRequest timeLimit) and on the client (connect, StartTLS, handshake, bind,
//!   search each). sizeLimitExceeded (4) and timeLimitExceeded (3) give the entries received,
//!   marked partial.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ldap3::{LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchOptions, StdStream};
use phone_config::{DisplayAttr, LdapAuthMethod, LdapFilter, SecretString, Settings};
use tokio::net::TcpStream;

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
        password: SecretString,
    },
    /// `DIGEST-MD5` (RFC 2831): `LDAP_User_Name` and `LDAP_Password`.
    DigestMd5 {
        /// The user name.
        user: String,
        /// The password.
        password: SecretString,
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
    /// The TLS version and suite, when it was TLS.
    pub tls: Option<TlsInfo>,
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
                "refusing a {method} bind over the clear-text connection to {url}: {} \
                 (use ldaps:// or LDAP_StartTLS_Enable Yes; Agent_LDAP_Allow_Clear_Text Yes allows \
                 it, with a warning)",
                if *method == "DIGEST-MD5" {
                    "whoever reads the exchange can guess the password offline"
                } else {
                    "the password would travel unencrypted"
                }
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

/// A rustls failure during the handshake, classified.
fn tls_failure(config: &DirectoryConfig, e: &rustls::Error) -> DirectoryError {
    use rustls::{AlertDescription, Error as E, PeerIncompatible};
    let url = config.url();
    let reason = crate::tls::describe(e);
    match e {
        E::InvalidCertificate(rustls::CertificateError::UnknownIssuer) => DirectoryError::Certificate {
            url,
            reason:
                "certificate refused: it does not chain to a CA certificate given with --ca (unknown issuer)"
                    .into(),
        },
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

/// An I/O error of the TLS handshake, classified.
fn handshake_error(config: &DirectoryConfig, e: &std::io::Error) -> DirectoryError {
    match crate::tls::rustls_error(e) {
        Some(tls) => tls_failure(config, tls),
        // GnuTLS (slapd) closes without an alert when no suite is shared.
        None if e.kind() == std::io::ErrorKind::UnexpectedEof => DirectoryError::NoCommonCipher {
            url: config.url(),
            cipher_list: config.cipher_list.clone(),
            offered: config.tls12_suites.clone(),
            reason: "the server closed the connection during the TLS handshake".into(),
            certain: false,
        },
        None => DirectoryError::Tls {
            url: config.url(),
            reason: e.to_string(),
        },
    }
}

fn op_error(what: &'static str, after: Duration, e: LdapError) -> DirectoryError {
    match e {
        LdapError::Timeout { .. } => DirectoryError::Timeout { what, after },
        LdapError::FilterParsing => DirectoryError::Filter(String::new()),
        other => DirectoryError::Protocol(format!("{what}: {other}")),
    }
}

/// The negotiated TLS parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// `TLSv1_3`, `TLSv1_2`.
    pub version: String,
    /// The IANA name of the cipher suite.
    pub cipher_suite: String,
}

/// The connection under the LDAP session.
enum Transport {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

async fn within<T>(
    config: &DirectoryConfig,
    what: &'static str,
    f: impl std::future::Future<Output = Result<T, DirectoryError>>,
) -> Result<T, DirectoryError> {
    tokio::time::timeout(config.time_limit, f)
        .await
        .map_err(|_| DirectoryError::Timeout {
            what,
            after: config.time_limit,
        })?
}

/// ldap-bind's two exchanges, driven the same way.
trait Exchange {
    fn poll_output(&mut self) -> Option<ldap_bind::Output>;
    fn handle_input(&mut self, now: std::time::Instant, bytes: &[u8]);
    fn handle_timeout(&mut self, now: std::time::Instant);
}

impl Exchange for ldap_bind::StartTls {
    fn poll_output(&mut self) -> Option<ldap_bind::Output> {
        ldap_bind::StartTls::poll_output(self)
    }
    fn handle_input(&mut self, now: std::time::Instant, bytes: &[u8]) {
        ldap_bind::StartTls::handle_input(self, now, bytes);
    }
    fn handle_timeout(&mut self, now: std::time::Instant) {
        ldap_bind::StartTls::handle_timeout(self, now);
    }
}

impl Exchange for ldap_bind::DigestMd5Bind {
    fn poll_output(&mut self) -> Option<ldap_bind::Output> {
        ldap_bind::DigestMd5Bind::poll_output(self)
    }
    fn handle_input(&mut self, now: std::time::Instant, bytes: &[u8]) {
        ldap_bind::DigestMd5Bind::handle_input(self, now, bytes);
    }
    fn handle_timeout(&mut self, now: std::time::Instant) {
        ldap_bind::DigestMd5Bind::handle_timeout(self, now);
    }
}

/// Drives one of ldap-bind's exchanges (StartTLS, DIGEST-MD5) over `stream` until it reports
/// `Event::Finished`: its transmits written, received bytes fed, its deadline kept.
async fn exchange<S>(
    stream: &mut S,
    op: &mut impl Exchange,
) -> Result<Result<(), ldap_bind::Error>, DirectoryError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use ldap_bind::{Event, Output};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let io = |e: std::io::Error| DirectoryError::Protocol(format!("the connection broke: {e}"));
    let mut buf = [0u8; 4096];
    let mut deadline = None;
    loop {
        let mut finished = None;
        while let Some(out) = op.poll_output() {
            match out {
                Output::Transmit(bytes) => stream.write_all(&bytes).await.map_err(io)?,
                Output::Timeout(at) => deadline = Some(at),
                Output::Event(Event::Finished(result)) => finished = Some(result),
            }
        }
        stream.flush().await.map_err(io)?;
        if let Some(result) = finished {
            return Ok(result);
        }
        let read = stream.read(&mut buf);
        let n = match deadline {
            Some(at) => match tokio::time::timeout_at(tokio::time::Instant::from_std(at), read).await {
                Ok(n) => n.map_err(io)?,
                Err(_) => {
                    op.handle_timeout(std::time::Instant::now());
                    continue;
                }
            },
            None => read.await.map_err(io)?,
        };
        if n == 0 {
            return Err(DirectoryError::Protocol(
                "the server closed the connection in the middle of the exchange".into(),
            ));
        }
        op.handle_input(std::time::Instant::now(), buf.get(..n).unwrap_or_default());
    }
}

/// The StartTLS extended operation on the clear connection. `Ok(false)`: refused.
async fn start_tls(
    config: &DirectoryConfig,
    tcp: &mut TcpStream,
) -> Result<Result<(), (u32, String)>, DirectoryError> {
    let mut op = ldap_bind::StartTls::new(std::time::Instant::now(), 1, config.time_limit);
    match exchange(tcp, &mut op).await? {
        Ok(()) => Ok(Ok(())),
        Err(ldap_bind::Error::StartTlsRefused { code, message }) => Ok(Err((code, message))),
        Err(ldap_bind::Error::Timeout(after)) => Err(DirectoryError::Timeout {
            what: "StartTLS",
            after,
        }),
        Err(e) => Err(DirectoryError::Protocol(format!("StartTLS: {e}"))),
    }
}

/// Opens the connection: TLS as configured (LDAPS, or StartTLS then TLS), or clear text where
/// that is allowed.
async fn open(
    config: &DirectoryConfig,
    warnings: &mut Vec<String>,
) -> Result<(Channel, Transport, Option<TlsInfo>), DirectoryError> {
    let url = config.url();
    let host = config
        .host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let mut tcp = within(config, "connecting", async {
        TcpStream::connect((host.as_str(), config.port))
            .await
            .map_err(|e| DirectoryError::Connect {
                url: url.clone(),
                reason: e.to_string(),
            })
    })
    .await?;
    let _ = tcp.set_nodelay(true);
    if !config.wants_tls() {
        return Ok((Channel::Clear, Transport::Plain(tcp), None));
    }
    let tls = config.tls.clone().ok_or(DirectoryError::NoCa)?;
    let channel = if config.scheme == "ldap" {
        let answer = within(config, "StartTLS", start_tls(config, &mut tcp)).await?;
        if let Err((rc, text)) = answer {
            if !config.allow_clear_text {
                return Err(DirectoryError::StartTlsRefused { url, rc, text });
            }
            let warning = format!(
                "{url} refused StartTLS ({rc} {}{}); continuing in CLEAR TEXT because \
                 Agent_LDAP_Allow_Clear_Text is Yes: the search and its results can be read \
                 and changed on the network",
                result_code_name(rc),
                server_text(&text)
            );
            tracing::warn!("{warning}");
            warnings.push(warning);
            return Ok((Channel::ClearAfterStartTlsRefused, Transport::Plain(tcp), None));
        }
        Channel::StartTls
    } else {
        Channel::Ldaps
    };
    let name = rustls_pki_types::ServerName::try_from(host.clone()).map_err(|e| {
        DirectoryError::Config(format!(
            "LDAP_Server: `{}` is not usable as a TLS server name: {e}",
            config.host
        ))
    })?;
    let stream = within(config, "the TLS handshake", async {
        tokio_rustls::TlsConnector::from(tls)
            .connect(name, tcp)
            .await
            .map_err(|e| handshake_error(config, &e))
    })
    .await?;
    let (_, session) = stream.get_ref();
    let info = TlsInfo {
        version: session
            .protocol_version()
            .map(|v| format!("{v:?}"))
            .unwrap_or_default(),
        cipher_suite: session
            .negotiated_cipher_suite()
            .and_then(|s| s.suite().as_str())
            .unwrap_or_default()
            .to_owned(),
    };
    Ok((channel, Transport::Tls(Box::new(stream)), Some(info)))
}

/// A SASL DIGEST-MD5 bind (ldap-bind) on the connection, before ldap3 takes it over.
async fn digest_md5_bind<S>(
    config: &DirectoryConfig,
    stream: &mut S,
    user: &str,
    password: &SecretString,
) -> Result<(), DirectoryError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut cnonce = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut cnonce)
        .map_err(|_| DirectoryError::Protocol("no randomness for the DIGEST-MD5 client nonce".into()))?;
    let host = config
        .host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let mut bind = ldap_bind::DigestMd5Bind::new(
        std::time::Instant::now(),
        ldap_bind::DigestMd5Config {
            user: user.to_owned(),
            password: password.clone(),
            host,
            timeout: config.time_limit,
        },
        cnonce,
        1,
    );
    match exchange(stream, &mut bind).await? {
        Ok(()) => Ok(()),
        Err(ldap_bind::Error::BindRefused { code, message }) => Err(DirectoryError::Bind {
            method: LdapAuthMethod::DigestMd5.as_str(),
            rc: code,
            text: message,
        }),
        Err(ldap_bind::Error::Timeout(after)) => Err(DirectoryError::Timeout {
            what: "the DIGEST-MD5 bind",
            after,
        }),
        Err(e) => Err(DirectoryError::Protocol(format!("DIGEST-MD5 bind: {e}"))),
    }
}

/// The largest LDAPMessage the agent passes on to ldap3 (a search result entry with the
/// configured display attributes is a few kB).
const MAX_SERVER_MESSAGE: usize = 4 << 20;

/// Why the pump stopped passing the server's messages to ldap3, when it refused one.
type Refusal = Arc<std::sync::Mutex<Option<ldap_bind::Error>>>;

/// The error to report for a failed ldap3 operation: the pump's refusal when there is one
/// (ldap3 then only saw the connection close), else `e`.
fn refused_or(refusal: &Refusal, e: DirectoryError) -> DirectoryError {
    match refusal.lock().ok().and_then(|mut r| r.take()) {
        Some(why) => DirectoryError::Protocol(format!("the server's answer was refused: {why}")),
        None => e,
    }
}

/// Hands the connection to ldap3 through a socket pair (ldap3 cannot take a TLS stream it did
/// not open): a task copies bytes both ways until either side closes. The server's bytes go
/// over one whole LDAPMessage at a time, each checked first (`ldap_bind::ber::check_depth`):
/// ldap3's BER reader recurses once per nesting level, so a deeply nested message (20,000
/// levels, 60 kB) would overflow its stack and abort the agent.
async fn ldap3_over(transport: Transport) -> Result<(ldap3::Ldap, Refusal), DirectoryError> {
    let broken = |e: std::io::Error| DirectoryError::Protocol(format!("setting up the session: {e}"));
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().map_err(broken)?;
    ours.set_nonblocking(true).map_err(broken)?;
    let ours = tokio::net::UnixStream::from_std(ours).map_err(broken)?;
    let refusal = Refusal::default();
    let pump_refusal = refusal.clone();
    tokio::spawn(async move {
        let copied = match transport {
            Transport::Plain(tcp) => pump(ours, tcp, &pump_refusal).await,
            Transport::Tls(tls) => pump(ours, *tls, &pump_refusal).await,
        };
        if let Err(e) = copied {
            tracing::debug!("LDAP connection ended: {e}");
        }
    });
    let settings = LdapConnSettings::new().set_std_stream(StdStream::Unix(theirs));
    let (conn, ldap) = LdapConnAsync::with_settings(settings, "ldapi://phone-agent")
        .await
        .map_err(|e| DirectoryError::Protocol(format!("setting up the session: {e}")))?;
    ldap3::drive!(conn);
    Ok((ldap, refusal))
}

/// Copies ldap3's bytes to the server as they come, and the server's to ldap3 one checked
/// LDAPMessage at a time, until either side closes or a message is refused.
async fn pump<S>(ours: tokio::net::UnixStream, server: S, refusal: &Refusal) -> std::io::Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite,
{
    let (mut from_ldap3, mut to_ldap3) = ours.into_split();
    let (mut from_server, mut to_server) = tokio::io::split(server);
    let up = tokio::io::copy(&mut from_ldap3, &mut to_server);
    let down = checked_copy(&mut from_server, &mut to_ldap3, refusal);
    tokio::select! {
        r = up => r.map(drop),
        r = down => r,
    }
}

/// The server-to-ldap3 half of [`pump`].
async fn checked_copy<R, W>(from: &mut R, to: &mut W, refusal: &Refusal) -> std::io::Result<()>
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        loop {
            let whole = ldap_bind::ber::message_len(&buf, MAX_SERVER_MESSAGE).and_then(|n| {
                let Some(n) = n else { return Ok(None) };
                ldap_bind::ber::check_depth(buf.get(..n).unwrap_or_default(), ldap_bind::ber::MAX_DEPTH)
                    .map(|()| Some(n))
            });
            match whole {
                Ok(Some(n)) => {
                    to.write_all(buf.get(..n).unwrap_or_default()).await?;
                    buf.drain(..n);
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!("LDAP: the server's message refused: {e}");
                    if let Ok(mut r) = refusal.lock() {
                        *r = Some(e);
                    }
                    return Ok(());
                }
            }
        }
        let n = from.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}

/// Connects and binds as configured; refuses to send a password in clear text unless allowed.
async fn connect_and_bind(
    config: &DirectoryConfig,
    warnings: &mut Vec<String>,
) -> Result<(Channel, Option<TlsInfo>, ldap3::Ldap, Refusal), DirectoryError> {
    let url = config.url();
    let (channel, mut transport, info) = open(config, warnings).await?;
    if channel == Channel::Clear {
        let warning = format!(
            "{url} is clear text (ldap:// without StartTLS): the search and its results can be read on the network"
        );
        tracing::warn!("{warning}");
        warnings.push(warning);
    }
    let password_in_clear = match &config.auth {
        Auth::Anonymous => false,
        Auth::Simple { password, .. } => !password.is_empty(),
        // The DIGEST-MD5 password itself never travels, but the exchange can be attacked
        // offline by whoever reads it: the same rule.
        Auth::DigestMd5 { .. } => true,
    };
    if !channel.is_tls() && password_in_clear {
        if !config.allow_clear_text {
            return Err(DirectoryError::ClearTextRefused {
                url,
                method: config.auth.method(),
            });
        }
        let warning = format!(
            "binding with {} to {url} over CLEAR TEXT because Agent_LDAP_Allow_Clear_Text is Yes",
            config.auth.method()
        );
        tracing::warn!("{warning}");
        warnings.push(warning);
    }
    if let Auth::DigestMd5 { user, password } = &config.auth {
        let what = "the DIGEST-MD5 bind";
        match &mut transport {
            Transport::Plain(tcp) => {
                within(config, what, digest_md5_bind(config, tcp, user, password)).await?
            }
            Transport::Tls(tls) => {
                within(
                    config,
                    what,
                    digest_md5_bind(config, tls.as_mut(), user, password),
                )
                .await?
            }
        }
    }
    let (mut ldap, refusal) = ldap3_over(transport).await?;
    if let Auth::Simple { dn, password } = &config.auth {
        let result = ldap
            .with_timeout(config.time_limit)
            .simple_bind(dn, password.expose())
            .await
            .map_err(|e| refused_or(&refusal, op_error("the Simple bind", config.time_limit, e)))?;
        if result.rc != 0 {
            return Err(DirectoryError::Bind {
                method: config.auth.method(),
                rc: result.rc,
                text: result.text,
            });
        }
    }
    Ok((channel, info, ldap, refusal))
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
    let (channel, tls, mut ldap, refusal) = connect_and_bind(config, &mut warnings).await?;
    let attrs = config.attributes();
    let seconds = i32::try_from(config.time_limit.as_secs().max(1)).unwrap_or(i32::MAX);
    // The server's time limit plus a margin for the answer to arrive.
    let client_limit = config.time_limit + Duration::from_secs(2);
    let result = ldap
        .with_search_options(
            SearchOptions::new()
                .sizelimit(i32::from(config.size_limit))
                .timelimit(seconds),
        )
        .with_timeout(client_limit)
        .search(&config.search_base, Scope::Subtree, &filter, attrs)
        .await
        .map_err(|e| match op_error("the search", client_limit, e) {
            DirectoryError::Filter(_) => DirectoryError::Filter(filter.clone()),
            e => refused_or(&refusal, e),
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
        tls,
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

    /// `depth` SEQUENCEs around an INTEGER, with long-form lengths where needed.
    fn nested(depth: usize) -> Vec<u8> {
        let mut v = vec![0x02, 0x01, 0x05];
        for _ in 0..depth {
            let n = v.len();
            let mut outer = vec![0x30];
            match n {
                0..0x80 => outer.push(n as u8),
                0x80..0x100 => outer.extend([0x81, n as u8]),
                0x100..0x10000 => outer.extend([0x82, (n >> 8) as u8, n as u8]),
                _ => outer.extend([0x83, (n >> 16) as u8, (n >> 8) as u8, n as u8]),
            }
            outer.extend_from_slice(&v);
            v = outer;
        }
        v
    }

    /// The server's messages reach ldap3 whole and checked: a normal one passes, one nested
    /// 20,000 deep (which overflows ldap3's recursive BER reader) is refused with its reason.
    #[tokio::test]
    async fn the_pump_refuses_deeply_nested_server_messages() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut server, mut from_server) = tokio::io::duplex(1 << 20);
        let (mut to_ldap3, mut ldap3) = tokio::io::duplex(1 << 20);
        let ok = nested(3);
        let mut sent = ok.clone();
        sent.extend(nested(20_000));
        sent.extend(nested(1));
        server.write_all(&sent).await.unwrap();
        drop(server);
        let refusal = Refusal::default();
        checked_copy(&mut from_server, &mut to_ldap3, &refusal)
            .await
            .unwrap();
        drop(to_ldap3);
        let mut got = Vec::new();
        ldap3.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, ok, "only the message before the refused one");
        let e = refused_or(&refusal, DirectoryError::Protocol("closed".into()));
        assert_eq!(
            e.to_string(),
            format!(
                "the server's answer was refused: LDAP message at byte {}: elements are nested more than 32 levels deep",
                nested(20_000).len() - nested(20_000 - 32).len()
            )
        );
    }

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
