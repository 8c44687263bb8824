//! One driver for every sans-IO core (the workspace convention in ARCHITECTURE.md): it drains
//! the core's `poll_output()`, carries transmits out through a [`Link`], remembers the
//! deadline the core reported, and feeds back what the link receives and the timer's expiry,
//! until the caller's `stop` future completes or the event handler says it is done.
//!
//! ```text
//! loop {
//!     while let Some(out) = core.poll_output() { Transmit -> link, Event -> on_event, Timeout -> timer }
//!     select! { input = link.recv() => core.handle_input(now, input),
//!               _ = timer => core.handle_timeout(now),
//!               _ = stop => return Stopped }
//! }
//! ```
//! The [`Driver`] keeps the core, the link and the deadline between calls, so the same core
//! can be driven again for its goodbye (an un-REGISTER, an EAPOL-Logoff) with a bounded
//! `stop` (or [`flush`]: just what the core has queued).
//!
//! A socket without an async API (pnet's AF_PACKET receiver) is read on a thread of its own
//! by [`blocking_receiver`], the one place that waits out read timeouts; the link awaits its
//! channel.

use std::future::Future;
use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use tokio::sync::mpsc;

/// What a core gives its host, str0m-style.
#[derive(Debug)]
pub enum Output<T, E> {
    /// Something to send (or, for cores with a connection, to open).
    Transmit(T),
    /// Something that happened.
    Event(E),
    /// Call `handle_timeout` at this instant (`None`: no timer any more).
    Timeout(Option<Instant>),
}

/// A sans-IO core as the driver sees it.
pub trait Core {
    /// What the link delivers.
    type Input;
    /// What the core asks the link to do.
    type Transmit;
    /// What the core reports.
    type Event;
    /// Feeds one input at `now`. An `Err` ends the drive (the supervisor restarts the core).
    fn handle_input(&mut self, now: Instant, input: Self::Input) -> Result<()>;
    /// The deadline passed.
    fn handle_timeout(&mut self, now: Instant) -> Result<()>;
    /// The next thing to do.
    fn poll_output(&mut self) -> Option<Output<Self::Transmit, Self::Event>>;
}

/// The I/O side of a core: a socket (or a connection the link opens on request).
pub trait Link<C: Core> {
    /// Carries one transmit out. What it caused that the core must know (a connection opened
    /// or failed, a send error) comes back as an input.
    fn transmit(&mut self, t: C::Transmit) -> impl Future<Output = Option<C::Input>>;
    /// The next input; pending while there is nothing to receive from. Must be cancel-safe:
    /// the driver drops it when the timer or `stop` wins.
    fn recv(&mut self) -> impl Future<Output = C::Input>;
}

/// Why a drive ended.
#[derive(Debug)]
pub enum Ended<R> {
    /// The `stop` future completed.
    Stopped,
    /// The event handler broke out with this.
    Done(R),
}

/// A core, its link and its timer.
pub struct Driver<C, L> {
    /// The core.
    pub core: C,
    /// Its I/O.
    pub link: L,
    deadline: Option<Instant>,
}

impl<C: Core, L: Link<C>> Driver<C, L> {
    /// A driver for `core` over `link`.
    pub fn new(core: C, link: L) -> Driver<C, L> {
        Driver {
            core,
            link,
            deadline: None,
        }
    }

    /// Puts `core` in place of the current one (a new conversation on the same link) and
    /// forgets the old one's deadline.
    pub fn replace_core(&mut self, core: C) -> C {
        self.deadline = None;
        std::mem::replace(&mut self.core, core)
    }

    /// Drives the core until `stop` completes or `on_event` breaks. Errors of the core end
    /// the drive; the link's errors are inputs the core handles.
    pub async fn run<R>(
        &mut self,
        stop: impl Future<Output = ()>,
        mut on_event: impl FnMut(&mut C, C::Event) -> ControlFlow<R>,
    ) -> Result<Ended<R>> {
        self.run_with_link(stop, |core, _, event| on_event(core, event))
            .await
    }

    /// [`Driver::run`] for a host that acts on the link when an event comes: `on_event` also
    /// gets the link (the VPN creates its TUN device when the tunnel comes up, with the
    /// address, routes and MTU of the event, and reports what it applied).
    pub async fn run_with_link<R>(
        &mut self,
        stop: impl Future<Output = ()>,
        mut on_event: impl FnMut(&mut C, &mut L, C::Event) -> ControlFlow<R>,
    ) -> Result<Ended<R>> {
        let mut stop = std::pin::pin!(stop);
        loop {
            while let Some(out) = self.core.poll_output() {
                match out {
                    Output::Transmit(t) => {
                        if let Some(input) = self.link.transmit(t).await {
                            self.core.handle_input(Instant::now(), input)?;
                        }
                    }
                    Output::Event(e) => {
                        if let ControlFlow::Break(r) = on_event(&mut self.core, &mut self.link, e) {
                            return Ok(Ended::Done(r));
                        }
                    }
                    Output::Timeout(at) => self.deadline = at,
                }
            }
            let timer = async {
                match self.deadline {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = &mut stop => return Ok(Ended::Stopped),
                () = timer => {
                    self.deadline = None;
                    self.core.handle_timeout(Instant::now())?;
                }
                input = self.link.recv() => self.core.handle_input(Instant::now(), input)?,
            }
        }
    }
}

/// A `stop` for [`Driver::run`] that is ready at once: the driver sends what the core has
/// queued (an EAPOL-Logoff) and returns.
pub fn flush() -> std::future::Ready<()> {
    std::future::ready(())
}

/// `stop` after `limit`, or never (`None`).
pub async fn after(limit: Option<std::time::Duration>) {
    match limit {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

/// Reads a blocking receiver on a thread of its own and hands what it yields to the returned
/// channel, for a [`Link`] to await. `next` must return within a short read timeout (a
/// `WouldBlock`/`TimedOut` error, which is skipped): that is when the thread notices the channel
/// was dropped and ends. `Ok(None)` is a frame `next` filtered out. Another error is passed on
/// and ends the thread.
pub fn blocking_receiver<T: Send + 'static>(
    name: &str,
    mut next: impl FnMut() -> std::io::Result<Option<T>> + Send + 'static,
) -> Result<mpsc::Receiver<std::io::Result<T>>> {
    let (tx, rx) = mpsc::channel(64);
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            while !tx.is_closed() {
                match next() {
                    Ok(Some(item)) => {
                        if tx.blocking_send(Ok(item)).is_err() {
                            return;
                        }
                    }
                    Ok(None) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(e) => {
                        // The driver ends its drive on this error; if it is already gone (the
                        // link was dropped), nobody is left to tell, and the thread ends anyway.
                        let _ = tx.blocking_send(Err(e));
                        return;
                    }
                }
            }
        })
        .with_context(|| format!("starting the {name} thread"))?;
    Ok(rx)
}

/// What a SIP line's link delivers.
#[derive(Debug)]
pub enum SipInput {
    /// The flow asked for is up; our address on it.
    Connected(SocketAddr),
    /// The flow failed or closed.
    TransportError(String),
    /// A message arrived.
    Message(SocketAddr, Vec<u8>),
}

/// What a SIP line asks of its link.
#[derive(Debug)]
pub enum SipTransmit {
    /// Open a flow to this target.
    Connect(sip_ua::Target),
    /// Send these bytes.
    Send(sip_ua::Transmit),
}

impl Core for sip_ua::Line {
    type Input = SipInput;
    type Transmit = SipTransmit;
    type Event = sip_ua::Event;

    fn handle_input(&mut self, now: Instant, input: SipInput) -> Result<()> {
        match input {
            SipInput::Connected(local) => self.handle_connected(now, local)?,
            SipInput::TransportError(why) => self.handle_transport_error(now, &why)?,
            SipInput::Message(from, bytes) => self.handle_message(now, from, &bytes)?,
        }
        Ok(())
    }

    fn handle_timeout(&mut self, now: Instant) -> Result<()> {
        Ok(sip_ua::Line::handle_timeout(self, now)?)
    }

    fn poll_output(&mut self) -> Option<Output<SipTransmit, sip_ua::Event>> {
        Some(match sip_ua::Line::poll_output(self)? {
            sip_ua::Output::Connect(t) => Output::Transmit(SipTransmit::Connect(t)),
            sip_ua::Output::Transmit(t) => Output::Transmit(SipTransmit::Send(t)),
            sip_ua::Output::Event(e) => Output::Event(e),
            sip_ua::Output::Timeout(at) => Output::Timeout(at),
        })
    }
}

impl Core for eap_supplicant::Supplicant {
    /// An EAPOL PDU, or why the port failed (which ends the drive).
    type Input = std::io::Result<Vec<u8>>;
    type Transmit = Vec<u8>;
    type Event = eap_supplicant::Event;

    /// An EAPOL PDU; a malformed one is dropped with a warning (the authenticator retries).
    fn handle_input(&mut self, now: Instant, pdu: Self::Input) -> Result<()> {
        let pdu = pdu.context("the AF_PACKET socket")?;
        if let Err(e) = self.handle_frame(now, &pdu) {
            tracing::warn!("802.1X: frame dropped: {e}");
        }
        Ok(())
    }

    fn handle_timeout(&mut self, now: Instant) -> Result<()> {
        eap_supplicant::Supplicant::handle_timeout(self, now);
        Ok(())
    }

    fn poll_output(&mut self) -> Option<Output<Vec<u8>, eap_supplicant::Event>> {
        Some(match eap_supplicant::Supplicant::poll_output(self)? {
            eap_supplicant::Output::Transmit(pdu) => Output::Transmit(pdu),
            eap_supplicant::Output::Event(e) => Output::Event(e),
            eap_supplicant::Output::Timeout(at) => Output::Timeout(at),
        })
    }
}

impl Core for radius_client::Client {
    /// A datagram from the server, or why the socket failed (which ends the drive).
    type Input = std::io::Result<Vec<u8>>;
    type Transmit = Vec<u8>;
    type Event = radius_client::Event;

    fn handle_input(&mut self, now: Instant, input: Self::Input) -> Result<()> {
        match input {
            Ok(datagram) => self.handle_datagram(now, &datagram),
            // An ICMP port unreachable from an earlier send surfaces here on Linux.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                return Err(anyhow!("nothing answers RADIUS ({e})"));
            }
            Err(e) => return Err(anyhow!(e).context("the RADIUS socket")),
        }
        Ok(())
    }

    fn handle_timeout(&mut self, now: Instant) -> Result<()> {
        radius_client::Client::handle_timeout(self, now);
        Ok(())
    }

    fn poll_output(&mut self) -> Option<Output<Vec<u8>, radius_client::Event>> {
        Some(match radius_client::Client::poll_output(self)? {
            radius_client::Output::Transmit(d) => Output::Transmit(d),
            radius_client::Output::Event(e) => Output::Event(e),
            radius_client::Output::Timeout(at) => Output::Timeout(at),
        })
    }
}

impl<R: dhcp_client::Random> Core for dhcp_client::Client<R> {
    /// A datagram on port 68, or why the socket failed (which ends the drive).
    type Input = std::io::Result<Vec<u8>>;
    type Transmit = dhcp_client::Transmit;
    type Event = dhcp_client::Event;

    fn handle_input(&mut self, now: Instant, input: Self::Input) -> Result<()> {
        let datagram = input.context("the DHCP socket")?;
        self.handle_datagram(now, &datagram);
        Ok(())
    }

    fn handle_timeout(&mut self, now: Instant) -> Result<()> {
        dhcp_client::Client::<R>::handle_timeout(self, now);
        Ok(())
    }

    fn poll_output(&mut self) -> Option<Output<dhcp_client::Transmit, dhcp_client::Event>> {
        Some(match dhcp_client::Client::<R>::poll_output(self)? {
            dhcp_client::Output::Transmit(t) => Output::Transmit(t),
            dhcp_client::Output::Event(e) => Output::Event(e),
            dhcp_client::Output::Timeout(at) => Output::Timeout(at),
        })
    }
}

/// What the VPN's link delivers to a [`cstp_client::Client`].
#[derive(Debug)]
pub enum CstpInput {
    /// The TLS connection asked for is up.
    TlsConnected,
    /// The TLS connection could not be opened, or ended.
    TlsClosed(cstp_client::TlsClosed),
    /// Plaintext read from the connection, and why it ended right after, if it did (one read
    /// may bring the server's last bytes and its close).
    TlsData(Vec<u8>, Option<cstp_client::TlsClosed>),
    /// An IP packet from the TUN device, or why reading it failed (which ends the drive).
    TunPacket(std::io::Result<Vec<u8>>),
}

/// What a [`cstp_client::Client`] asks of the VPN's link.
#[derive(Debug)]
pub enum CstpTransmit {
    /// Open, write to or close the TLS connection.
    Tls(cstp_client::TlsAction),
    /// Write this IP packet to the TUN device.
    Tun(Vec<u8>),
}

impl Core for cstp_client::Client {
    type Input = CstpInput;
    type Transmit = CstpTransmit;
    type Event = cstp_client::Event;

    fn handle_input(&mut self, now: Instant, input: CstpInput) -> Result<()> {
        match input {
            CstpInput::TlsConnected => self.handle_tls_connected(now),
            CstpInput::TlsClosed(why) => self.handle_tls_closed(now, why),
            CstpInput::TlsData(plain, closed) => {
                if !plain.is_empty() {
                    self.handle_tls_data(now, &plain);
                }
                if let Some(why) = closed {
                    self.handle_tls_closed(now, why);
                }
            }
            CstpInput::TunPacket(packet) => {
                // A packet the tunnel cannot carry (down, too long) is counted as dropped.
                self.handle_tun_packet(now, &packet.context("TUN read")?);
            }
        }
        Ok(())
    }

    fn handle_timeout(&mut self, now: Instant) -> Result<()> {
        cstp_client::Client::handle_timeout(self, now);
        Ok(())
    }

    fn poll_output(&mut self) -> Option<Output<CstpTransmit, cstp_client::Event>> {
        Some(match cstp_client::Client::poll_output(self)? {
            cstp_client::Output::Tls(action) => Output::Transmit(CstpTransmit::Tls(action)),
            cstp_client::Output::Tun(packet) => Output::Transmit(CstpTransmit::Tun(packet)),
            cstp_client::Output::Event(e) => Output::Event(e),
            cstp_client::Output::Timeout(at) => Output::Timeout(at),
        })
    }
}
