//! The supplicant PAE state machine (IEEE 802.1X-2004 §8.2.11) over EAPOL, driving the EAP
//! [`Peer`]. Time is an input: every method that depends on it takes `now`.

use std::collections::VecDeque;
use std::time::Instant;

use thiserror::Error;

use crate::config::Config;
use crate::eapol::{EapolError, EapolFrame, PacketType};
use crate::event::{Event, FailureReason};
use crate::peer::{Discarded, Peer, PeerOutput};

/// What the host should do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send this EAPOL PDU to the PAE group address (wrap it with
    /// [`ethernet_frame`](crate::eapol::ethernet_frame)).
    Transmit(Vec<u8>),
    /// Report this event.
    Event(Event),
    /// The timer to arm, replacing any earlier one: `Some(at)` = call
    /// [`Supplicant::handle_timeout`] at `at`; `None` = disarm it, nothing is timed any more
    /// (authenticated, no authenticator, link down, logged off). Reported only when it changes,
    /// after the transmits and events of the same step.
    Timeout(Option<Instant>),
}

/// The supplicant PAE states (IEEE 802.1X-2004 Figure 8-17), as this crate reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaeState {
    /// Link down, or not started.
    Disconnected,
    /// 802.1X turned off: EAPOL-Logoff sent.
    Logoff,
    /// EAPOL-Start sent, waiting for the authenticator.
    Connecting,
    /// An EAP conversation is running.
    Authenticating,
    /// After a failure, quiet for heldPeriod.
    Held,
    /// The port is authorized.
    Authenticated,
    /// maxStart EAPOL-Starts went unanswered.
    NoAuthenticator,
}

/// Why a received EAPOL frame was dropped.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    /// Not an EAPOL frame.
    #[error("EAPOL: {0}")]
    Eapol(#[from] EapolError),
    /// The EAP packet inside was discarded.
    #[error("{0}")]
    Eap(#[from] Discarded),
}

/// What [`Supplicant::handle_frame`] did with a well-formed frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameHandled {
    /// The EAP packet was processed.
    Eap,
    /// EAPOL-Key, Start, Logoff from another station, announcements: nothing for a wired
    /// supplicant to do.
    Ignored(PacketType),
    /// EAP while the port is down or logged off.
    NotListening,
}

/// A wired 802.1X supplicant: the PAE state machine plus the EAP peer.
///
/// Feed it link changes, received EAPOL PDUs and timeouts; drain [`Supplicant::poll_output`]
/// after each call.
#[derive(Debug)]
pub struct Supplicant {
    config: Config,
    peer: Peer,
    state: PaeState,
    start_count: u32,
    start_when: Option<Instant>,
    held_while: Option<Instant>,
    auth_while: Option<Instant>,
    out: VecDeque<Output>,
    reported_timeout: Option<Instant>,
}

impl Supplicant {
    /// A supplicant on a port whose link is down.
    pub fn new(config: Config) -> Supplicant {
        Supplicant {
            peer: Peer::new(config.clone()),
            config,
            state: PaeState::Disconnected,
            start_count: 0,
            start_when: None,
            held_while: None,
            auth_while: None,
            out: VecDeque::new(),
            reported_timeout: None,
        }
    }

    /// The PAE state.
    pub fn state(&self) -> PaeState {
        self.state
    }

    /// The EAP peer (for its request count and conversation state).
    pub fn peer(&self) -> &Peer {
        &self.peer
    }

    /// The link came up: send EAPOL-Start at once (a wired phone does not wait startWhen first:
    /// hostapd's wired driver only learns stations from their EAPOL).
    pub fn link_up(&mut self, now: Instant) {
        self.start_count = 0;
        self.connecting(now);
    }

    /// The link went down: forget the conversation.
    pub fn link_down(&mut self) {
        self.peer.restart();
        self.clear_timers();
        self.state = PaeState::Disconnected;
    }

    /// 802.1X turned off, or the user logs off: send EAPOL-Logoff and report `Disabled`.
    pub fn logoff(&mut self) {
        self.transmit(PacketType::Logoff, &[]);
        self.peer.restart();
        self.clear_timers();
        self.state = PaeState::Logoff;
        self.out.push_back(Output::Event(Event::Disabled));
    }

    /// Processes one received EAPOL PDU (the Ethernet payload).
    pub fn handle_frame(&mut self, now: Instant, eapol: &[u8]) -> Result<FrameHandled, FrameError> {
        let frame = EapolFrame::parse(eapol)?;
        match frame.packet_type() {
            PacketType::EapPacket => {}
            other => return Ok(FrameHandled::Ignored(other)),
        }
        if matches!(self.state, PaeState::Disconnected | PaeState::Logoff) {
            return Ok(FrameHandled::NotListening);
        }
        self.peer.handle_packet(now, frame.body())?;
        while let Some(out) = self.peer.poll_output() {
            match out {
                PeerOutput::Response(eap) => {
                    self.transmit(PacketType::EapPacket, &eap);
                    // IEEE 802.1X-2004: an EAP request leaves CONNECTING, HELD and
                    // AUTHENTICATED (re-authentication) for AUTHENTICATING.
                    self.state = PaeState::Authenticating;
                    self.start_when = None;
                    self.held_while = None;
                    self.auth_while = Some(now + self.config.timers.auth_period);
                }
                PeerOutput::Event(event) => {
                    match &event {
                        Event::Authenticated(_) => {
                            self.clear_timers();
                            self.state = PaeState::Authenticated;
                        }
                        Event::Failed { .. } => self.held(now),
                        Event::Authenticating => {
                            self.state = PaeState::Authenticating;
                            self.start_when = None;
                            self.held_while = None;
                        }
                        _ => {}
                    }
                    self.out.push_back(Output::Event(event));
                }
            }
        }
        Ok(FrameHandled::Eap)
    }

    /// Advances the timers to `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due = |t: Option<Instant>| t.is_some_and(|t| t <= now);
        match self.state {
            PaeState::Connecting if due(self.start_when) => {
                if self.start_count < self.config.timers.max_start {
                    self.connecting(now);
                } else {
                    self.clear_timers();
                    self.state = PaeState::NoAuthenticator;
                    self.out.push_back(Output::Event(Event::NoAuthenticator));
                }
            }
            PaeState::Authenticating if due(self.auth_while) => {
                self.out.push_back(Output::Event(Event::Failed {
                    reason: FailureReason::Timeout,
                }));
                self.start_count = 0;
                self.connecting(now);
            }
            PaeState::Held if due(self.held_while) => {
                self.start_count = 0;
                self.connecting(now);
            }
            _ => {}
        }
    }

    /// The next instant at which [`Supplicant::handle_timeout`] has work.
    fn deadline(&self) -> Option<Instant> {
        [self.start_when, self.held_while, self.auth_while]
            .into_iter()
            .flatten()
            .min()
    }

    /// The next thing to do, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        if let Some(out) = self.out.pop_front() {
            return Some(out);
        }
        let next = self.deadline();
        if next != self.reported_timeout {
            self.reported_timeout = next;
            return Some(Output::Timeout(next));
        }
        None
    }

    fn connecting(&mut self, now: Instant) {
        self.peer.restart();
        self.clear_timers();
        self.state = PaeState::Connecting;
        self.start_count += 1;
        self.start_when = Some(now + self.config.timers.start_period);
        self.transmit(PacketType::Start, &[]);
    }

    fn held(&mut self, now: Instant) {
        self.clear_timers();
        self.state = PaeState::Held;
        self.held_while = Some(now + self.config.timers.held_period);
    }

    fn clear_timers(&mut self) {
        self.start_when = None;
        self.held_while = None;
        self.auth_while = None;
    }

    fn transmit(&mut self, packet_type: PacketType, body: &[u8]) {
        let frame = EapolFrame::new(self.config.eapol_version, packet_type, body).to_bytes();
        self.out.push_back(Output::Transmit(frame));
    }
}
