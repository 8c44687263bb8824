//! The two LDAP exchanges that set a session up and that general LDAP client crates do not
//! expose: the StartTLS extended operation (RFC 4511 §4.14) and a SASL DIGEST-MD5 bind
//! (RFC 4513 §5.2, RFC 2831), as sans-IO state machines over a small BER codec of their own.
//! The caller owns the connection (and the TLS layer), in the workspace's driving shape: it
//! drains `poll_output()` — [`Output::Transmit`] bytes to send, [`Output::Timeout`] the
//! exchange's deadline, [`Output::Event`]`(`[`Event::Finished`]`(result))` at the end — feeds
//! what it receives to `handle_input(now, bytes)` and calls `handle_timeout(now)` at the
//! deadline. Time is an input; the DIGEST-MD5 client nonce is supplied by the caller.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use ldap_bind::{DigestMd5Bind, DigestMd5Config, Output};
//!
//! let now = Instant::now();
//! let config = DigestMd5Config {
//!     user: "alice".into(),
//!     password: String::from("alicepw").into(),
//!     host: "ldap.example.org".into(),
//!     timeout: Duration::from_secs(10),
//! };
//! let mut bind = DigestMd5Bind::new(now, config, [7; 16], 1);
//! // First step: a BindRequest naming the mechanism, and the deadline of the whole exchange.
//! let Some(Output::Transmit(request)) = bind.poll_output() else { panic!("nothing to send") };
//! assert_eq!(ldap_bind::ber::frame_len(&request)?, Some(request.len()));
//! assert_eq!(bind.poll_output(), Some(Output::Timeout(now + Duration::from_secs(10))));
//!
//! // The server's challenge (saslBindInProgress, 14) arrives...
//! let challenge = b"realm=\"example.org\",nonce=\"abc\",qop=\"auth\",charset=utf-8,algorithm=md5-sess";
//! let mut op = vec![0x0a, 1, 14, 0x04, 0, 0x04, 0, 0x87, challenge.len() as u8];
//! op.extend_from_slice(challenge);
//! let mut msg = vec![0x02, 1, 1, 0x61, op.len() as u8];
//! msg.extend(op);
//! let mut bytes = vec![0x30, msg.len() as u8];
//! bytes.extend(msg);
//! bind.handle_input(now, &bytes);
//! // ...and the digest-response goes out, waiting for the server's rspauth.
//! let Some(Output::Transmit(response)) = bind.poll_output() else { panic!("no response") };
//! assert!(response.windows(9).any(|w| w == b"response="));
//! assert_eq!(bind.poll_output(), None); // not finished: no Event::Finished yet
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Not supported: other SASL mechanisms, DIGEST-MD5's integrity and confidentiality layers
//! (`qop=auth-int`/`auth-conf`: run the session inside TLS instead), subsequent
//! authentication (RFC 2831 §2.2), and any LDAP operation other than these two (use a full
//! LDAP client once the session is set up).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub use phone_secret::SecretString;
use zeroize::Zeroizing;

pub mod ber;
pub mod digest_md5;

use ber::{Response, ResponseKind};

/// LDAP result codes this crate names (RFC 4511 Appendix A).
pub mod result_code {
    /// success
    pub const SUCCESS: u32 = 0;
    /// saslBindInProgress
    pub const SASL_BIND_IN_PROGRESS: u32 = 14;
}

/// Why an exchange failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not the BER this crate expects.
    #[error("malformed LDAP message at byte {offset}: expected {what}")]
    Ber {
        /// Byte offset in the message.
        offset: usize,
        /// What was expected there.
        what: &'static str,
    },
    /// Constructed elements nested deeper than the limit ([`ber::check_depth`]).
    #[error("LDAP message at byte {offset}: elements are nested more than {max} levels deep")]
    TooDeep {
        /// Byte offset of the first element past the limit.
        offset: usize,
        /// The limit.
        max: usize,
    },
    /// A message or challenge larger than the limit.
    #[error("{len} bytes is more than an LDAP bind or StartTLS exchange needs")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// The DIGEST-MD5 challenge does not parse.
    #[error("malformed DIGEST-MD5 challenge at byte {offset}: expected {what}")]
    Challenge {
        /// Byte offset in the challenge.
        offset: usize,
        /// What was expected there.
        what: &'static str,
    },
    /// The caller's client nonce is shorter than 8 bytes.
    #[error("the client nonce needs at least 8 random bytes")]
    Randomness,
    /// The server does not offer `qop=auth`.
    #[error(
        "the server offers qop `{offered}` but not `auth` (no security layer is implemented; TLS protects the session)"
    )]
    NoAuthQop {
        /// What it offers.
        offered: String,
    },
    /// The server accepted the bind without proving it knows the password.
    #[error("the server's final DIGEST-MD5 message has no rspauth: it did not prove it knows the password")]
    NoRspauth,
    /// The server's proof is wrong.
    #[error("the server's DIGEST-MD5 rspauth is wrong: it does not know the password (or is not the server)")]
    BadRspauth,
    /// The server refused the bind.
    #[error("bind refused: result code {code}{}", quoted(.message))]
    BindRefused {
        /// resultCode.
        code: u32,
        /// diagnosticMessage.
        message: String,
    },
    /// The server refused StartTLS.
    #[error("StartTLS refused: result code {code}{}", quoted(.message))]
    StartTlsRefused {
        /// resultCode.
        code: u32,
        /// diagnosticMessage.
        message: String,
    },
    /// The server sent bytes after the StartTLS response, before the TLS handshake: they
    /// would be read as if they had come through TLS (CVE-2011-0411's class of bug).
    #[error("the server sent {len} bytes after the StartTLS response, before TLS")]
    DataBeforeTls {
        /// How many.
        len: usize,
    },
    /// A response to another request, or another operation.
    #[error("unexpected response: {0}")]
    Unexpected(String),
    /// The server ended the session (Notice of Disconnection, RFC 4511 §4.4.1).
    #[error("the server ended the session: result code {code}{}", quoted(.message))]
    Disconnected {
        /// resultCode.
        code: u32,
        /// diagnosticMessage.
        message: String,
    },
    /// No answer in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

fn quoted(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(" (\"{}\")", message.escape_debug())
    }
}

/// What the host does next, from [`StartTls::poll_output`] or [`DigestMd5Bind::poll_output`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send these bytes on the connection.
    Transmit(Vec<u8>),
    /// The exchange is over (or, for StartTLS, was found to be broken after all).
    Event(Event),
    /// Call `handle_timeout` at this instant: the deadline of the whole exchange, reported
    /// once at the start; [`Event::Finished`] disarms it.
    Timeout(Instant),
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The exchange ended. StartTLS: `Ok` = start the TLS handshake on the connection now.
    /// DIGEST-MD5: `Ok` = bound, and the server proved it knows the password (`rspauth`).
    /// `Err`: why not. StartTLS only: bytes fed after `Finished(Ok)` (the server sent them
    /// before the host started TLS) are reported as a second `Finished(Err(DataBeforeTls))`.
    Finished(Result<(), Error>),
}

/// Collects received bytes and cuts whole LDAPMessages off the front.
#[derive(Debug, Default)]
struct Framer {
    buf: Vec<u8>,
}

impl Framer {
    fn push(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if self.buf.len() + bytes.len() > ber::MAX_MESSAGE_LEN * 2 {
            return Err(Error::TooLong {
                len: self.buf.len() + bytes.len(),
            });
        }
        self.buf.extend_from_slice(bytes);
        Ok(())
    }

    fn next(&mut self) -> Result<Option<Response>, Error> {
        match ber::frame_len(&self.buf)? {
            None => Ok(None),
            Some(n) => {
                let msg: Vec<u8> = self.buf.drain(..n).collect();
                ber::parse_response(&msg).map(Some)
            }
        }
    }
}

/// A response must answer `id` with `kind`; a Notice of Disconnection ends everything.
fn check_response(r: &Response, id: i32, kind: ResponseKind) -> Result<(), Error> {
    if r.message_id == 0 {
        return Err(Error::Disconnected {
            code: r.result_code,
            message: r.diagnostic_message.clone(),
        });
    }
    if r.message_id != id {
        return Err(Error::Unexpected(format!(
            "a response to message {} while waiting for {id}",
            r.message_id
        )));
    }
    if r.kind != kind {
        return Err(Error::Unexpected(format!(
            "{:?}Response to a {kind:?}Request",
            r.kind
        )));
    }
    Ok(())
}

/// The StartTLS extended operation: one request, one response. On success the caller starts
/// the TLS handshake on the same connection.
#[derive(Debug)]
pub struct StartTls {
    id: i32,
    out: VecDeque<Output>,
    framer: Framer,
    deadline: Instant,
    timeout: Duration,
    result: Option<Result<(), Error>>,
}

impl StartTls {
    /// Queues the request with message ID `id`; the exchange must end within `timeout`.
    pub fn new(now: Instant, id: i32, timeout: Duration) -> StartTls {
        let deadline = now + timeout;
        StartTls {
            id,
            out: VecDeque::from([
                Output::Transmit(ber::start_tls_request(id)),
                Output::Timeout(deadline),
            ]),
            framer: Framer::default(),
            deadline,
            timeout,
            result: None,
        }
    }

    /// The next thing to do: the request, the deadline, then [`Event::Finished`].
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    fn finish(&mut self, result: Result<(), Error>) {
        self.out.push_back(Output::Event(Event::Finished(result.clone())));
        self.result = Some(result);
    }

    /// Bytes received from the server.
    pub fn handle_input(&mut self, _now: Instant, bytes: &[u8]) {
        if self.result.is_some() {
            if !bytes.is_empty() && matches!(self.result, Some(Ok(()))) {
                self.finish(Err(Error::DataBeforeTls { len: bytes.len() }));
            }
            return;
        }
        let step = self.framer.push(bytes).and_then(|()| self.framer.next());
        let result = match step {
            Ok(None) => None,
            Ok(Some(r)) => Some(match check_response(&r, self.id, ResponseKind::Extended) {
                Err(e) => Err(e),
                Ok(()) if r.result_code != result_code::SUCCESS => Err(Error::StartTlsRefused {
                    code: r.result_code,
                    message: r.diagnostic_message,
                }),
                Ok(()) if !self.framer.buf.is_empty() => Err(Error::DataBeforeTls {
                    len: self.framer.buf.len(),
                }),
                Ok(()) => Ok(()),
            }),
            Err(e) => Some(Err(e)),
        };
        if let Some(result) = result {
            self.finish(result);
        }
    }

    /// Time has passed: at the deadline, the exchange fails with [`Error::Timeout`].
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.result.is_none() && now >= self.deadline {
            self.finish(Err(Error::Timeout(self.timeout)));
        }
    }
}

/// What a DIGEST-MD5 bind needs.
pub struct DigestMd5Config {
    /// `LDAP_User_Name`: the authentication identity.
    pub user: String,
    /// The password.
    pub password: SecretString,
    /// The server's host name, for the digest-uri `ldap/<host>`.
    pub host: String,
    /// How long the whole exchange may take.
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BindState {
    /// Waiting for the challenge to message `id`.
    Challenge,
    /// Waiting for the answer to the digest-response.
    Rspauth,
    /// rspauth checked in a saslBindInProgress; waiting for the final success.
    Final,
    Done,
}

/// A SASL DIGEST-MD5 bind (RFC 4513 §5.2.1.2 over RFC 2831): BindRequest without
/// credentials, the server's challenge, the digest-response, the server's `rspauth` (in the
/// final success, or in one more saslBindInProgress answered by an empty BindRequest).
pub struct DigestMd5Bind {
    config: DigestMd5Config,
    cnonce: Zeroizing<[u8; 16]>,
    id: i32,
    state: BindState,
    expected_rspauth: String,
    out: VecDeque<Output>,
    framer: Framer,
    deadline: Instant,
    result: Option<Result<(), Error>>,
}

impl std::fmt::Debug for DigestMd5Bind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestMd5Bind")
            .field("user", &self.config.user)
            .field("host", &self.config.host)
            .field("state", &self.state)
            .field("result", &self.result)
            .finish_non_exhaustive()
    }
}

const MECHANISM: &str = "DIGEST-MD5";

impl DigestMd5Bind {
    /// Starts the bind with message ID `first_id` (the next steps use the following IDs);
    /// `cnonce` are 16 random bytes from the caller.
    pub fn new(now: Instant, config: DigestMd5Config, cnonce: [u8; 16], first_id: i32) -> DigestMd5Bind {
        let id = first_id.max(1);
        let deadline = now + config.timeout;
        let out = VecDeque::from([
            Output::Transmit(ber::sasl_bind_request(id, "", MECHANISM, None)),
            Output::Timeout(deadline),
        ]);
        DigestMd5Bind {
            config,
            cnonce: Zeroizing::new(cnonce),
            id,
            state: BindState::Challenge,
            expected_rspauth: String::new(),
            out,
            framer: Framer::default(),
            deadline,
            result: None,
        }
    }

    /// The next thing to do: requests and the deadline, then [`Event::Finished`].
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The message ID the next LDAP request on this connection may use.
    pub fn next_message_id(&self) -> i32 {
        self.id.checked_add(1).unwrap_or(1)
    }

    fn fail(&mut self, e: Error) {
        self.finish(Err(e));
    }

    fn finish(&mut self, result: Result<(), Error>) {
        self.state = BindState::Done;
        self.out.push_back(Output::Event(Event::Finished(result.clone())));
        self.result = Some(result);
    }

    /// Bytes received from the server.
    pub fn handle_input(&mut self, _now: Instant, bytes: &[u8]) {
        if self.state == BindState::Done {
            return;
        }
        if let Err(e) = self.framer.push(bytes) {
            return self.fail(e);
        }
        loop {
            match self.framer.next() {
                Ok(None) => return,
                Ok(Some(r)) => {
                    if let Err(e) = self.step(&r) {
                        return self.fail(e);
                    }
                    if self.state == BindState::Done {
                        return;
                    }
                }
                Err(e) => return self.fail(e),
            }
        }
    }

    fn step(&mut self, r: &Response) -> Result<(), Error> {
        check_response(r, self.id, ResponseKind::Bind)?;
        let creds = r.server_sasl_creds.as_deref();
        match (self.state, r.result_code) {
            (BindState::Challenge, result_code::SASL_BIND_IN_PROGRESS) => {
                let challenge = digest_md5::Challenge::parse(creds.unwrap_or_default())?;
                let answer = digest_md5::respond(
                    &challenge,
                    &digest_md5::Credentials {
                        user: &self.config.user,
                        password: self.config.password.expose(),
                        host: &self.config.host,
                    },
                    self.cnonce.as_slice(),
                )?;
                self.expected_rspauth = answer.expected_rspauth;
                self.id = self.next_message_id();
                self.out.push_back(Output::Transmit(ber::sasl_bind_request(
                    self.id,
                    "",
                    MECHANISM,
                    Some(&answer.response),
                )));
                self.state = BindState::Rspauth;
            }
            (BindState::Rspauth, result_code::SUCCESS) => {
                digest_md5::check_rspauth(creds.ok_or(Error::NoRspauth)?, &self.expected_rspauth)?;
                self.finish(Ok(()));
            }
            (BindState::Rspauth, result_code::SASL_BIND_IN_PROGRESS) => {
                digest_md5::check_rspauth(creds.ok_or(Error::NoRspauth)?, &self.expected_rspauth)?;
                self.id = self.next_message_id();
                self.out.push_back(Output::Transmit(ber::sasl_bind_request(
                    self.id, "", MECHANISM, None,
                )));
                self.state = BindState::Final;
            }
            (BindState::Final, result_code::SUCCESS) => self.finish(Ok(())),
            (_, code) => {
                return Err(Error::BindRefused {
                    code,
                    message: r.diagnostic_message.clone(),
                });
            }
        }
        Ok(())
    }

    /// Time has passed: at the deadline, the bind fails with [`Error::Timeout`].
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state != BindState::Done && now >= self.deadline {
            self.fail(Error::Timeout(self.config.timeout));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test's view of either machine: what it sent and how it finished.
    trait Drive {
        fn poll(&mut self) -> Option<Output>;

        /// The next bytes to send (skipping the deadline), `None` when there are none.
        fn sent(&mut self) -> Option<Vec<u8>> {
            while let Some(o) = self.poll() {
                match o {
                    Output::Transmit(b) => return Some(b),
                    Output::Timeout(_) => {}
                    Output::Event(e) => panic!("expected bytes to send, got {e:?}"),
                }
            }
            None
        }

        /// Drains the outputs: the result of the last `Event::Finished`, if any.
        fn finished(&mut self) -> Option<Result<(), Error>> {
            std::iter::from_fn(|| self.poll())
                .filter_map(|o| match o {
                    Output::Event(Event::Finished(r)) => Some(r),
                    _ => None,
                })
                .last()
        }
    }

    impl Drive for DigestMd5Bind {
        fn poll(&mut self) -> Option<Output> {
            self.poll_output()
        }
    }

    impl Drive for StartTls {
        fn poll(&mut self) -> Option<Output> {
            self.poll_output()
        }
    }

    #[test]
    fn outputs_come_in_order_request_deadline_then_one_finished_event() {
        let now = Instant::now();
        let mut s = StartTls::new(now, 3, Duration::from_secs(5));
        assert_eq!(s.poll_output(), Some(Output::Transmit(ber::start_tls_request(3))));
        assert_eq!(
            s.poll_output(),
            Some(Output::Timeout(now + Duration::from_secs(5)))
        );
        assert_eq!(s.poll_output(), None);
        s.handle_timeout(now + Duration::from_secs(4));
        assert_eq!(s.poll_output(), None, "an early timeout does nothing");
        s.handle_timeout(now + Duration::from_secs(5));
        assert_eq!(
            s.poll_output(),
            Some(Output::Event(Event::Finished(Err(Error::Timeout(
                Duration::from_secs(5)
            )))))
        );
        s.handle_timeout(now + Duration::from_secs(6));
        s.handle_input(now, &response(3, 0x78, 0, "", None));
        assert_eq!(s.poll_output(), None, "finished once");

        let mut b = DigestMd5Bind::new(now, config(), [1; 16], 1);
        assert!(matches!(b.poll_output(), Some(Output::Transmit(_))));
        assert_eq!(
            b.poll_output(),
            Some(Output::Timeout(now + Duration::from_secs(5)))
        );
        assert_eq!(b.poll_output(), None);
    }

    fn response(id: u8, tag: u8, rc: u8, diag: &str, creds: Option<&[u8]>) -> Vec<u8> {
        let mut op = vec![0x0a, 1, rc, 0x04, 0, 0x04, diag.len() as u8];
        op.extend_from_slice(diag.as_bytes());
        if let Some(c) = creds {
            op.push(0x87);
            op.push(c.len() as u8);
            op.extend_from_slice(c);
        }
        let mut m = vec![0x02, 1, id, tag, op.len() as u8];
        m.extend(op);
        let mut out = vec![0x30, m.len() as u8];
        out.extend(m);
        out
    }

    fn config() -> DigestMd5Config {
        DigestMd5Config {
            user: "alice".into(),
            password: SecretString::new("alicepw"),
            host: "localhost".into(),
            timeout: Duration::from_secs(5),
        }
    }

    const CHALLENGE: &[u8] =
        b"realm=\"example.org\",nonce=\"n0\",qop=\"auth\",charset=utf-8,algorithm=md5-sess";

    /// The server side of the exchange: the rspauth for our response.
    fn rspauth(bind: &DigestMd5Bind) -> Vec<u8> {
        format!("rspauth={}", bind.expected_rspauth).into_bytes()
    }

    #[test]
    fn success_with_rspauth_in_the_final_response() {
        let now = Instant::now();
        let mut b = DigestMd5Bind::new(now, config(), [1; 16], 1);
        assert!(b.sent().is_some());
        b.handle_input(now, &response(1, 0x61, 14, "", Some(CHALLENGE)));
        assert!(b.sent().is_some());
        let ok = response(2, 0x61, 0, "", Some(&rspauth(&b)));
        // Byte by byte: framing holds partial input.
        for byte in ok {
            b.handle_input(now, &[byte]);
        }
        assert_eq!(b.finished(), Some(Ok(())));
        assert_eq!(b.next_message_id(), 3);
    }

    #[test]
    fn success_with_rspauth_in_a_third_step() {
        let now = Instant::now();
        let mut b = DigestMd5Bind::new(now, config(), [1; 16], 5);
        b.sent();
        b.handle_input(now, &response(5, 0x61, 14, "", Some(CHALLENGE)));
        b.sent();
        b.handle_input(now, &response(6, 0x61, 14, "", Some(&rspauth(&b))));
        let empty = b.sent().unwrap();
        assert_eq!(empty, ber::sasl_bind_request(7, "", "DIGEST-MD5", None));
        b.handle_input(now, &response(7, 0x61, 0, "", None));
        assert_eq!(b.finished(), Some(Ok(())));
    }

    #[test]
    fn refusals_and_lies() {
        let now = Instant::now();
        let mut b = DigestMd5Bind::new(now, config(), [1; 16], 1);
        b.handle_input(now, &response(1, 0x61, 14, "", Some(CHALLENGE)));
        b.handle_input(
            now,
            &response(2, 0x61, 49, "SASL(-13): authentication failure", None),
        );
        assert!(matches!(
            b.finished(),
            Some(Err(Error::BindRefused { code: 49, .. }))
        ));

        let mut b = DigestMd5Bind::new(now, config(), [1; 16], 1);
        b.handle_input(now, &response(1, 0x61, 14, "", Some(CHALLENGE)));
        b.handle_input(
            now,
            &response(2, 0x61, 0, "", Some(b"rspauth=0123456789abcdef0123456789abcdef")),
        );
        assert_eq!(b.finished(), Some(Err(Error::BadRspauth)));

        let mut b = DigestMd5Bind::new(now, config(), [1; 16], 1);
        b.handle_input(now, &response(1, 0x61, 0, "", None));
        assert!(
            matches!(b.finished(), Some(Err(Error::BindRefused { code: 0, .. }))),
            "success without a challenge is not accepted"
        );

        let mut b = DigestMd5Bind::new(now, config(), [1; 16], 1);
        b.handle_input(now, &response(0, 0x78, 52, "shutting down", None));
        assert!(matches!(
            b.finished(),
            Some(Err(Error::Disconnected { code: 52, .. }))
        ));

        let mut b = DigestMd5Bind::new(now, config(), [1; 16], 1);
        b.handle_timeout(now + Duration::from_secs(4));
        assert!(b.finished().is_none());
        b.handle_timeout(now + Duration::from_secs(5));
        assert_eq!(b.finished(), Some(Err(Error::Timeout(Duration::from_secs(5)))));
    }

    #[test]
    fn start_tls() {
        let now = Instant::now();
        let mut s = StartTls::new(now, 1, Duration::from_secs(5));
        assert_eq!(s.sent(), Some(ber::start_tls_request(1)));
        s.handle_input(now, &response(1, 0x78, 0, "", None));
        assert_eq!(s.finished(), Some(Ok(())));

        let mut s = StartTls::new(now, 1, Duration::from_secs(5));
        s.handle_input(now, &response(1, 0x78, 2, "unsupported extended operation", None));
        assert!(matches!(
            s.finished(),
            Some(Err(Error::StartTlsRefused { code: 2, .. }))
        ));

        let mut s = StartTls::new(now, 1, Duration::from_secs(5));
        let mut injected = response(1, 0x78, 0, "", None);
        injected.extend_from_slice(b"\x30\x03\x02\x01\x02");
        s.handle_input(now, &injected);
        assert_eq!(s.finished(), Some(Err(Error::DataBeforeTls { len: 5 })));

        // Bytes fed after Finished(Ok), before the host started TLS: a second, failing event.
        let mut s = StartTls::new(now, 1, Duration::from_secs(5));
        s.handle_input(now, &response(1, 0x78, 0, "", None));
        assert_eq!(s.finished(), Some(Ok(())));
        s.handle_input(now, b"\x30\x03");
        assert_eq!(s.finished(), Some(Err(Error::DataBeforeTls { len: 2 })));
        s.handle_input(now, b"\x02");
        assert_eq!(s.finished(), None, "reported once");
    }
}
