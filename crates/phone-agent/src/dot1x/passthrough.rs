//! The PC port (SPEC §12): EAPOL pass-through between the phone's PC port and its network port,
//! and the proxy EAPOL-Logoff when the PC leaves. A sans-IO core ([`PassThrough`]) decides;
//! the [`Driver`] pumps it over the two ports ([`PcPortLink`]).
//!
//! * PC → network: every EAPOL frame (ethertype 0x888E) received on the PC port is sent unchanged
//!   on the network port, source MAC preserved; its source becomes a known PC address.
//! * Network → PC: every EAPOL frame received on the network port that is addressed to a known PC
//!   address, or to the PAE group address, is sent unchanged on the PC port. Frames from the
//!   phone's own MAC stay on the network side.
//! * Our own transmissions come back to our AF_PACKET sockets as outgoing copies; a frame whose
//!   source was learned on the other side is such a copy and is not forwarded again.
//! * The PC leaves when the PC port's operational state (`/sys/class/net/IF/operstate`, read
//!   by the link every 100 ms) goes from `up` to anything else (cable pulled, PC off): the phone
//!   then sends a proxy EAPOL-Logoff with each PC address seen since the link came up as source
//!   on the network port, so the switch unauthorizes the PC at once instead of at its next
//!   re-authentication or inactivity timeout. A PC's own EAPOL-Logoff is just passed through
//!   (the switch acts on it); no timer is used: an idle but connected PC stays authorized, as
//!   it does on a switch port.

use std::collections::{BTreeSet, VecDeque};
use std::future::Future;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use eap_supplicant::eapol::{EapolVersion, MacAddress, PAE_GROUP_ADDRESS, parse_ethernet, proxy_logoff};

use super::port::{AsyncPort, PcAddresses};
use crate::driver::{Core, Driver, Link, Output};

/// What the pass-through's link delivers.
#[derive(Debug)]
pub enum PassInput {
    /// An EAPOL frame (whole Ethernet frame) received on the PC port.
    FromPc(Vec<u8>),
    /// An EAPOL frame received on the network port.
    FromNetwork(Vec<u8>),
    /// The PC port's link state: reported once at the start, then on every change.
    PcLink(bool),
    /// A send failed (reported, forwarding goes on).
    SendFailed(String),
    /// A port cannot be read any more (ends the pass-through; the supervisor restarts it).
    ReceiveFailed(String),
}

/// Where a frame goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassTransmit {
    /// Out of the network port (towards the switch).
    ToNetwork(Vec<u8>),
    /// Out of the PC port.
    ToPc(Vec<u8>),
}

/// What the pass-through reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassEvent {
    /// A PC address seen on the PC port for the first time.
    PcLearned(MacAddress),
    /// A frame forwarded from the PC port to the network port.
    ToNetwork,
    /// A frame forwarded from the network port to the PC port.
    ToPc,
    /// The PC port's link went up or down.
    PcLink(bool),
    /// A proxy EAPOL-Logoff was sent for this PC (its link went down).
    ProxyLogoff(MacAddress),
    /// A send failed.
    SendFailed(String),
}

/// The pass-through's decisions, sans-IO.
pub struct PassThrough {
    /// The phone's network port MAC.
    phone: MacAddress,
    /// The PC port's own MAC.
    pc_port: MacAddress,
    /// Sources of EAPOL frames ever received on the PC port.
    pcs: BTreeSet<MacAddress>,
    /// Those seen since the PC port last came up: the proxy Logoff goes to these.
    active: BTreeSet<MacAddress>,
    /// Sources of EAPOL frames received on the network port (the authenticator).
    network: BTreeSet<MacAddress>,
    link_up: Option<bool>,
    out: VecDeque<Output<PassTransmit, PassEvent>>,
}

impl PassThrough {
    /// A pass-through between a PC port with MAC `pc_port` and the phone's network port with
    /// MAC `phone`.
    pub fn new(phone: MacAddress, pc_port: MacAddress) -> PassThrough {
        PassThrough {
            phone,
            pc_port,
            pcs: BTreeSet::new(),
            active: BTreeSet::new(),
            network: BTreeSet::new(),
            link_up: None,
            out: VecDeque::new(),
        }
    }

    /// Handles one input (`now` for the convention's shape: the pass-through has no timers).
    /// A port that cannot be read is an error.
    pub fn handle_input(&mut self, _now: Instant, input: PassInput) -> Result<()> {
        match input {
            PassInput::FromPc(frame) => self.pc_frame(frame),
            PassInput::FromNetwork(frame) => self.network_frame(frame),
            PassInput::PcLink(up) => self.pc_link(up),
            PassInput::SendFailed(why) => self.out.push_back(Output::Event(PassEvent::SendFailed(why))),
            PassInput::ReceiveFailed(why) => anyhow::bail!("PC port pass-through: {why}"),
        }
        Ok(())
    }

    /// The next thing to do.
    pub fn poll_output(&mut self) -> Option<Output<PassTransmit, PassEvent>> {
        self.out.pop_front()
    }

    fn pc_frame(&mut self, frame: Vec<u8>) {
        let Ok(eth) = parse_ethernet(&frame) else {
            return;
        };
        let source = eth.source;
        if source == self.pc_port || self.network.contains(&source) {
            return;
        }
        if self.pcs.insert(source) {
            self.out.push_back(Output::Event(PassEvent::PcLearned(source)));
        }
        self.active.insert(source);
        self.out
            .push_back(Output::Transmit(PassTransmit::ToNetwork(frame)));
        self.out.push_back(Output::Event(PassEvent::ToNetwork));
    }

    fn network_frame(&mut self, frame: Vec<u8>) {
        let Ok(eth) = parse_ethernet(&frame) else {
            return;
        };
        let (source, destination) = (eth.source, eth.destination);
        if source == self.phone || self.pcs.contains(&source) {
            return;
        }
        self.network.insert(source);
        if destination == PAE_GROUP_ADDRESS || self.pcs.contains(&destination) {
            self.out.push_back(Output::Transmit(PassTransmit::ToPc(frame)));
            self.out.push_back(Output::Event(PassEvent::ToPc));
        }
    }

    fn pc_link(&mut self, up: bool) {
        let was = self.link_up.replace(up);
        if was == Some(up) {
            return;
        }
        self.out.push_back(Output::Event(PassEvent::PcLink(up)));
        if was == Some(true) && !up {
            for mac in std::mem::take(&mut self.active) {
                self.out
                    .push_back(Output::Transmit(PassTransmit::ToNetwork(proxy_logoff(
                        mac,
                        EapolVersion::V2,
                    ))));
                self.out.push_back(Output::Event(PassEvent::ProxyLogoff(mac)));
            }
        }
    }
}

impl Core for PassThrough {
    type Input = PassInput;
    type Transmit = PassTransmit;
    type Event = PassEvent;

    fn handle_input(&mut self, now: Instant, input: PassInput) -> Result<()> {
        PassThrough::handle_input(self, now, input)
    }

    fn handle_timeout(&mut self, _now: Instant) -> Result<()> {
        Ok(())
    }

    fn poll_output(&mut self) -> Option<Output<PassTransmit, PassEvent>> {
        PassThrough::poll_output(self)
    }
}

/// How often the PC port's link state is read.
const LINK_POLL: Duration = Duration::from_millis(100);

fn operstate_up(iface: &str) -> bool {
    std::fs::read_to_string(format!("/sys/class/net/{iface}/operstate")).is_ok_and(|s| s.trim() == "up")
}

/// The two ports and the PC port's link watch.
pub struct PcPortLink {
    pc_name: String,
    pc: AsyncPort,
    network: AsyncPort,
    watch: tokio::time::Interval,
    up: Option<bool>,
}

impl Link<PassThrough> for PcPortLink {
    async fn transmit(&mut self, t: PassTransmit) -> Option<PassInput> {
        let (port, frame, side) = match &t {
            PassTransmit::ToNetwork(f) => (&mut self.network, f, "network"),
            PassTransmit::ToPc(f) => (&mut self.pc, f, "PC"),
        };
        port.send(frame)
            .err()
            .map(|e| PassInput::SendFailed(format!("sending on the {side} port: {e:#}")))
    }

    async fn recv(&mut self) -> PassInput {
        loop {
            tokio::select! {
                frame = self.pc.recv() => return match frame {
                    Ok(f) => PassInput::FromPc(f),
                    Err(e) => PassInput::ReceiveFailed(format!("receiving on the PC port: {e}")),
                },
                frame = self.network.recv() => return match frame {
                    Ok(f) => PassInput::FromNetwork(f),
                    Err(e) => PassInput::ReceiveFailed(format!("receiving on the network port: {e}")),
                },
                _ = self.watch.tick() => {
                    let up = operstate_up(&self.pc_name);
                    if self.up != Some(up) {
                        self.up = Some(up);
                        return PassInput::PcLink(up);
                    }
                }
            }
        }
    }
}

/// What the pass-through did.
#[derive(Default, Clone, Debug)]
pub struct PassThroughReport {
    /// EAPOL frames forwarded from the PC port to the network port.
    pub to_network: usize,
    /// EAPOL frames forwarded from the network port to the PC port.
    pub to_pc: usize,
    /// PC addresses seen on the PC port.
    pub pcs: Vec<MacAddress>,
    /// PC addresses a proxy EAPOL-Logoff was sent for.
    pub proxy_logoffs: Vec<MacAddress>,
    /// The PC port's link state, once read.
    pub pc_link_up: Option<bool>,
    /// Send or receive errors.
    pub errors: Vec<String>,
}

impl PassThroughReport {
    /// Counts one event.
    pub fn record(&mut self, event: &PassEvent) {
        match event {
            PassEvent::PcLearned(mac) => self.pcs.push(*mac),
            PassEvent::ToNetwork => self.to_network += 1,
            PassEvent::ToPc => self.to_pc += 1,
            PassEvent::PcLink(up) => self.pc_link_up = Some(*up),
            PassEvent::ProxyLogoff(mac) => self.proxy_logoffs.push(*mac),
            PassEvent::SendFailed(why) => self.errors.push(why.clone()),
        }
    }
}

/// Opens the PC port and the network port (AF_PACKET sockets, their receivers on threads).
pub(crate) async fn open(pc_port: &str, network: &str) -> Result<PcPortLink> {
    let (p, n) = (pc_port.to_owned(), network.to_owned());
    let (pc, network) = tokio::task::spawn_blocking(move || {
        Ok::<_, anyhow::Error>((AsyncPort::open(&p)?, AsyncPort::open(&n)?))
    })
    .await
    .context("the AF_PACKET task")??;
    let mut watch = tokio::time::interval(LINK_POLL);
    watch.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    Ok(PcPortLink {
        pc_name: pc_port.to_owned(),
        pc,
        network,
        watch,
        up: None,
    })
}

/// Forwards over `link` until `stop`. PC addresses go into `pcs` as they are learned (the
/// phone's supplicant ignores their frames); every event goes to `on_event` (the status, the
/// CLI's report). A receive error on either port ends the pass-through with an `Err`.
pub(crate) async fn forward(
    link: PcPortLink,
    pcs: PcAddresses,
    stop: impl Future<Output = ()>,
    mut on_event: impl FnMut(&PassEvent),
) -> Result<()> {
    let core = PassThrough::new(link.network.mac, link.pc.mac);
    let mut driver = Driver::new(core, link);
    driver
        .run(stop, |_, event| {
            match &event {
                PassEvent::PcLearned(mac) => pcs.insert(*mac),
                PassEvent::SendFailed(why) => tracing::warn!("802.1X pass-through: {why}"),
                _ => {}
            }
            on_event(&event);
            ControlFlow::<()>::Continue(())
        })
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    const PHONE: MacAddress = MacAddress([2, 0, 0, 0, 0, 1]);
    const PC_PORT: MacAddress = MacAddress([2, 0, 0, 0, 0, 2]);
    const PC: MacAddress = MacAddress([2, 0, 0, 0, 0, 0x0c]);
    const SWITCH: MacAddress = MacAddress([2, 0, 0, 0, 0, 0x5e]);

    fn frame(to: MacAddress, from: MacAddress) -> Vec<u8> {
        eap_supplicant::eapol::ethernet_frame(to, from, &[2, 1, 0, 0])
    }

    fn drain(p: &mut PassThrough) -> Vec<Output<PassTransmit, PassEvent>> {
        std::iter::from_fn(|| p.poll_output()).collect()
    }

    fn sent(outs: &[Output<PassTransmit, PassEvent>]) -> Vec<PassTransmit> {
        outs.iter()
            .filter_map(|o| match o {
                Output::Transmit(t) => Some(t.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn forwards_both_ways_and_not_its_own_copies() {
        let now = Instant::now();
        let mut p = PassThrough::new(PHONE, PC_PORT);
        let start = frame(PAE_GROUP_ADDRESS, PC);
        p.handle_input(now, PassInput::FromPc(start.clone())).unwrap();
        let outs = drain(&mut p);
        assert_eq!(sent(&outs), [PassTransmit::ToNetwork(start.clone())]);
        assert!(matches!(outs[0], Output::Event(PassEvent::PcLearned(PC))));
        // The copy of what we sent on the network port is not sent back.
        p.handle_input(now, PassInput::FromNetwork(start)).unwrap();
        assert!(drain(&mut p).is_empty());
        // The switch answers the PC; the phone's own traffic and other stations' stay out.
        let request = frame(PC, SWITCH);
        p.handle_input(now, PassInput::FromNetwork(request.clone()))
            .unwrap();
        assert_eq!(sent(&drain(&mut p)), [PassTransmit::ToPc(request.clone())]);
        p.handle_input(now, PassInput::FromNetwork(frame(PAE_GROUP_ADDRESS, PHONE)))
            .unwrap();
        p.handle_input(
            now,
            PassInput::FromNetwork(frame(MacAddress([2, 9, 9, 9, 9, 9]), SWITCH)),
        )
        .unwrap();
        assert!(drain(&mut p).is_empty());
        // The switch's frame we sent to the PC comes back on the PC port: not forwarded.
        p.handle_input(now, PassInput::FromPc(request)).unwrap();
        assert!(drain(&mut p).is_empty());
        // Not EAPOL: ignored.
        let mut ip = frame(PAE_GROUP_ADDRESS, PC);
        ip[12..14].copy_from_slice(&[0x08, 0x00]);
        p.handle_input(now, PassInput::FromPc(ip)).unwrap();
        assert!(drain(&mut p).is_empty());
    }

    #[test]
    fn link_down_sends_one_proxy_logoff_per_pc_seen_since_it_came_up() {
        let now = Instant::now();
        let mut p = PassThrough::new(PHONE, PC_PORT);
        p.handle_input(now, PassInput::PcLink(false)).unwrap();
        p.handle_input(now, PassInput::PcLink(true)).unwrap();
        p.handle_input(now, PassInput::FromPc(frame(PAE_GROUP_ADDRESS, PC)))
            .unwrap();
        drain(&mut p);
        p.handle_input(now, PassInput::PcLink(false)).unwrap();
        let outs = drain(&mut p);
        assert_eq!(
            sent(&outs),
            [PassTransmit::ToNetwork(proxy_logoff(PC, EapolVersion::V2))]
        );
        assert!(
            outs.iter()
                .any(|o| matches!(o, Output::Event(PassEvent::ProxyLogoff(PC))))
        );
        // Down again (no change) and up/down without a PC: nothing more.
        p.handle_input(now, PassInput::PcLink(false)).unwrap();
        p.handle_input(now, PassInput::PcLink(true)).unwrap();
        p.handle_input(now, PassInput::PcLink(false)).unwrap();
        assert!(sent(&drain(&mut p)).is_empty());
    }
}
