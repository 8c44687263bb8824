//! The wired driver: raw EAPOL on an AF_PACKET socket ([`super::port`]), frames to the PAE group
//! address, the supplicant's timers on the real clock.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use eap_supplicant::eapol::{
    EapolVersion, MacAddress, PAE_GROUP_ADDRESS, ethernet_frame, parse_ethernet, proxy_logoff,
};
use eap_supplicant::{Authenticated, Config, Event, Output, Supplicant};

use super::passthrough::{PassThrough, PassThroughReport};
use super::port::{Port, open, send};

/// What happened on the port.
pub struct WiredOutcome {
    /// The keys, when the port was authorized.
    pub authenticated: Option<Box<Authenticated>>,
    /// Why not, otherwise.
    pub failure: Option<String>,
    /// EAPOL frames sent and received.
    pub frames_sent: usize,
    /// EAPOL frames received.
    pub frames_received: usize,
    /// From link-up (EAPOL-Start) to the outcome.
    pub elapsed: Duration,
    /// Whether an EAPOL-Logoff was sent after authenticating.
    pub logged_off: bool,
    /// Successful authentications (more than one when the port stayed up and the authenticator
    /// re-authenticated).
    pub authentications: usize,
    /// With a PC port: what the pass-through did.
    pub pass_through: Option<PassThroughReport>,
    /// EAP methods the authenticator proposed and the phone declined (shown as `declined_methods`).
    pub declined: Vec<String>,
    /// EAP-FAST PACs the server provisioned, for the PAC file.
    pub pacs: Vec<eap_supplicant::fast::Pac>,
}

/// Sends the proxy EAPOL-Logoff for the PC with address `pc` (SPEC §12).
pub fn send_proxy_logoff(iface: &str, pc: MacAddress) -> Result<()> {
    let mut port = open(iface)?;
    send(&mut port, &proxy_logoff(pc, EapolVersion::V2))
}

/// Runs one authentication on `iface`; with `logoff`, sends EAPOL-Logoff once authorized; with
/// `stay`, keeps the port up that long after the first success, answering re-authentications.
/// With `pc_port`, passes the PC's EAPOL through for as long as this runs (see
/// [`PassThrough`]); the phone's own supplicant ignores the PC's frames.
pub fn authenticate(
    iface: &str,
    config: Config,
    limit: Duration,
    logoff: bool,
    stay: Option<Duration>,
    pc_port: Option<&str>,
) -> Result<WiredOutcome> {
    let mut port = open(iface)?;
    let pass_through = pc_port.map(|pc| PassThrough::start(pc, iface)).transpose()?;
    let mut outcome = run(&mut port, config, limit, logoff, stay, pass_through.as_ref())?;
    outcome.pass_through = pass_through.map(PassThrough::stop);
    Ok(outcome)
}

fn run(
    port: &mut Port,
    config: Config,
    limit: Duration,
    logoff: bool,
    stay: Option<Duration>,
    pass_through: Option<&PassThrough>,
) -> Result<WiredOutcome> {
    let mut supplicant = Supplicant::new(config);
    let started = Instant::now();
    let mut outcome = WiredOutcome {
        authenticated: None,
        failure: None,
        frames_sent: 0,
        frames_received: 0,
        elapsed: Duration::ZERO,
        logged_off: false,
        authentications: 0,
        pass_through: None,
        declined: Vec::new(),
        pacs: Vec::new(),
    };
    let mut stay_until: Option<Option<Instant>> = None;
    let mut timer: Option<Instant> = None;
    supplicant.link_up(started);
    loop {
        while let Some(out) = supplicant.poll_output() {
            match out {
                Output::Transmit(pdu) => {
                    let frame = ethernet_frame(PAE_GROUP_ADDRESS, port.mac, &pdu);
                    send(port, &frame)?;
                    outcome.frames_sent += 1;
                }
                Output::Timeout(at) => timer = at,
                Output::Event(Event::Authenticated(a)) => {
                    if outcome.authentications == 0 {
                        outcome.elapsed = started.elapsed();
                        // `None` inside: longer than the clock can count, i.e. until killed.
                        stay_until = stay.map(|d| Instant::now().checked_add(d));
                    }
                    outcome.authentications += 1;
                    outcome.authenticated = Some(a);
                }
                Output::Event(Event::Failed { reason }) => {
                    outcome.elapsed = started.elapsed();
                    outcome.failure = Some(reason.to_string());
                }
                Output::Event(Event::NoAuthenticator) => {
                    outcome.failure = Some("no authenticator answered EAPOL-Start".into());
                }
                Output::Event(Event::MethodDeclined { requested, reason }) => {
                    outcome.declined.push(super::declined(requested, reason));
                }
                Output::Event(Event::PacProvisioned(pac)) => outcome.pacs.push(*pac),
                Output::Event(event) => tracing::debug!("802.1X: {event:?}"),
            }
        }
        if outcome.authenticated.is_some() && logoff && !outcome.logged_off {
            supplicant.logoff();
            outcome.logged_off = true;
            continue;
        }
        let now = Instant::now();
        let staying = stay_until.is_some_and(|t| t.is_none_or(|t| now < t));
        if outcome.failure.is_some() || (outcome.authenticated.is_some() && !staying) {
            if outcome.failure.is_some() {
                outcome.authenticated = None;
            }
            return Ok(outcome);
        }
        if outcome.authenticated.is_none() && now.duration_since(started) > limit {
            outcome.elapsed = started.elapsed();
            outcome.failure = Some(format!("no outcome within {limit:?}"));
            return Ok(outcome);
        }
        if timer.is_some_and(|t| t <= now) {
            timer = None;
            supplicant.handle_timeout(now);
            continue;
        }
        match port.rx.next() {
            Ok(frame) => {
                let Ok(eth) = parse_ethernet(frame) else {
                    continue;
                };
                if eth.source == port.mac
                    || (eth.destination != port.mac && eth.destination != PAE_GROUP_ADDRESS)
                    || pass_through.is_some_and(|p| p.is_pc(eth.source))
                {
                    continue;
                }
                outcome.frames_received += 1;
                if let Err(e) = supplicant.handle_frame(Instant::now(), eth.payload) {
                    tracing::warn!("802.1X: frame from {} dropped: {e}", eth.source);
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
                ) => {}
            Err(e) => return Err(e).context("receiving on the AF_PACKET socket"),
        }
    }
}
