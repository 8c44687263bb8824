//! Drives a [`radius_client::Client`] over a UDP socket: the agent's side of
//! `dot1x --radius`, the way `eapol_test` talks to an authentication server.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use radius_client::{Client, Config, Event, Output, RandomError, Reply, SharedSecret};
use ring::rand::{SecureRandom, SystemRandom};

/// The system CSPRNG as the client's randomness source.
fn system_random() -> impl FnMut(&mut [u8]) -> Result<(), RandomError> {
    let rng = SystemRandom::new();
    move |buf: &mut [u8]| rng.fill(buf).map_err(|_| RandomError)
}

/// A RADIUS client bound to one server over UDP.
pub struct RadiusLink {
    socket: UdpSocket,
    client: Client,
    timeout: Duration,
    tries: u32,
}

impl RadiusLink {
    /// Connects a UDP socket to `server`.
    pub fn new(server: SocketAddr, secret: &[u8], timeout: Duration, tries: u32) -> Result<RadiusLink> {
        let bind: SocketAddr = if server.is_ipv4() {
            "0.0.0.0:0".parse()?
        } else {
            "[::]:0".parse()?
        };
        let socket = UdpSocket::bind(bind).context("binding the RADIUS client socket")?;
        socket
            .connect(server)
            .with_context(|| format!("connecting to {server}"))?;
        let config = Config {
            timeout,
            max_tries: tries.max(1),
            nas_identifier: "phone-agent".into(),
            ..Config::default()
        };
        let client = Client::new(config, SharedSecret::from(secret.to_vec()), &mut system_random())
            .map_err(|e| anyhow!("RADIUS client: {e}"))?;
        Ok(RadiusLink {
            socket,
            client,
            timeout,
            tries: tries.max(1),
        })
    }

    /// Sends one EAP response in an Access-Request and waits for the authenticated reply
    /// (the client retransmits on timeout; forged or stray datagrams are logged and ignored).
    pub fn exchange(&mut self, user_name: &str, eap: &[u8]) -> Result<Reply> {
        self.client
            .send_eap(Instant::now(), user_name, eap, &mut system_random())
            .context("building the Access-Request")?;
        let mut deadline = None;
        let mut buf = vec![0u8; radius_client::MAX_PACKET];
        loop {
            while let Some(out) = self.client.poll_output() {
                match out {
                    Output::Transmit(d) => {
                        self.socket.send(&d).context("sending Access-Request")?;
                    }
                    Output::Timeout(at) => deadline = at,
                    Output::Event(Event::Reply(reply)) => return Ok(reply),
                    Output::Event(Event::Dropped(why)) => tracing::warn!("RADIUS: dropped a datagram: {why}"),
                    Output::Event(Event::GaveUp { tries }) => bail!(
                        "no answer from the RADIUS server after {tries} tries of {:?} (of {})",
                        self.timeout,
                        self.tries
                    ),
                }
            }
            let now = Instant::now();
            let Some(at) = deadline else {
                bail!("RADIUS client stopped without a reply or a timer");
            };
            let wait = at.saturating_duration_since(now);
            if wait.is_zero() {
                self.client.handle_timeout(now);
                continue;
            }
            self.socket.set_read_timeout(Some(wait))?;
            match self.socket.recv(&mut buf) {
                Ok(n) => self
                    .client
                    .handle_datagram(Instant::now(), buf.get(..n).unwrap_or_default()),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    self.client.handle_timeout(Instant::now());
                }
                Err(e) => return Err(e).context("receiving the RADIUS reply"),
            }
        }
    }

    /// Access-Request/reply exchanges so far.
    pub fn round_trips(&self) -> usize {
        self.client.round_trips()
    }
}
