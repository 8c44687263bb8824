//! An AF_PACKET socket on one interface (via `pnet_datalink`, no unsafe code here), and the
//! EAPOL link the phone's supplicant is driven over: what the wired `dot1x --iface`, the
//! daemon's 802.1X and the PC-port pass-through all open, in a module of their own so none
//! imports another for it.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use eap_supplicant::Supplicant;
use eap_supplicant::eapol::{MacAddress, PAE_GROUP_ADDRESS, ethernet_frame, parse_ethernet};
use pnet_datalink::{Channel, DataLinkReceiver, DataLinkSender, NetworkInterface};
use tokio::sync::mpsc;

use crate::driver::{Link, blocking_receiver};

/// An AF_PACKET socket on one interface.
pub(crate) struct Port {
    /// The interface's MAC address.
    pub(crate) mac: MacAddress,
    pub(crate) tx: Box<dyn DataLinkSender>,
    pub(crate) rx: Box<dyn DataLinkReceiver>,
}

/// Opens a promiscuous AF_PACKET socket on `name` with a 20 ms read timeout.
pub(crate) fn open(name: &str) -> Result<Port> {
    let iface: NetworkInterface = pnet_datalink::interfaces()
        .into_iter()
        .find(|i| i.name == name)
        .ok_or_else(|| anyhow!("no network interface named {name}"))?;
    let mac = iface
        .mac
        .map(|m| MacAddress(m.octets()))
        .ok_or_else(|| anyhow!("{name} has no MAC address"))?;
    let config = pnet_datalink::Config {
        read_timeout: Some(Duration::from_millis(20)),
        ..pnet_datalink::Config::default()
    };
    match pnet_datalink::channel(&iface, config)
        .with_context(|| format!("opening an AF_PACKET socket on {name} (needs CAP_NET_RAW)"))?
    {
        Channel::Ethernet(tx, rx) => Ok(Port { mac, tx, rx }),
        _ => bail!("{name}: not an Ethernet channel"),
    }
}

pub(crate) fn send(port: &mut Port, frame: &[u8]) -> Result<()> {
    send_frame(port.tx.as_mut(), frame)
}

fn send_frame(tx: &mut dyn DataLinkSender, frame: &[u8]) -> Result<()> {
    match tx.send_to(frame, None) {
        Some(r) => r.context("sending an EAPOL frame"),
        None => bail!("sending an EAPOL frame: the socket refused"),
    }
}

/// A port with its receiver on a thread ([`blocking_receiver`]): EAPOL frames (whole Ethernet
/// frames; everything else is dropped on the thread) arrive on a channel.
pub(crate) struct AsyncPort {
    pub(crate) mac: MacAddress,
    pub(crate) tx: Box<dyn DataLinkSender>,
    pub(crate) rx: mpsc::Receiver<std::io::Result<Vec<u8>>>,
}

impl AsyncPort {
    /// Opens `name` (blocking: call from a blocking context or accept a short stall).
    pub(crate) fn open(name: &str) -> Result<AsyncPort> {
        let Port { mac, tx, mut rx } = open(name)?;
        let rx = blocking_receiver(&format!("eapol-{name}"), move || {
            rx.next()
                .map(|frame| parse_ethernet(frame).is_ok().then(|| frame.to_vec()))
        })?;
        Ok(AsyncPort { mac, tx, rx })
    }

    /// Sends one Ethernet frame.
    pub(crate) fn send(&mut self, frame: &[u8]) -> Result<()> {
        send_frame(self.tx.as_mut(), frame)
    }

    /// The next EAPOL frame; pending for ever once the receiving thread ended after its error.
    /// Cancel-safe.
    pub(crate) async fn recv(&mut self) -> std::io::Result<Vec<u8>> {
        match self.rx.recv().await {
            Some(frame) => frame,
            None => std::future::pending().await,
        }
    }
}

/// The PC addresses the PC-port pass-through has learned. Their frames on the network port are
/// the pass-through's outgoing copies, not the phone's: its supplicant ignores them.
#[derive(Clone, Default)]
pub(crate) struct PcAddresses(Arc<Mutex<BTreeSet<MacAddress>>>);

impl PcAddresses {
    pub(crate) fn insert(&self, mac: MacAddress) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).insert(mac);
    }

    pub(crate) fn contains(&self, mac: MacAddress) -> bool {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&mac)
    }
}

/// The phone's supplicant's link: EAPOL PDUs to the PAE group address from the port's MAC;
/// received, those addressed to the phone or the group, not sent by the phone or a PC behind it.
pub(crate) struct EapolLink {
    port: AsyncPort,
    pcs: PcAddresses,
    /// EAPOL frames sent.
    pub(crate) sent: usize,
    /// EAPOL frames received for the phone.
    pub(crate) received: usize,
}

impl EapolLink {
    pub(crate) fn new(port: AsyncPort, pcs: PcAddresses) -> EapolLink {
        EapolLink {
            port,
            pcs,
            sent: 0,
            received: 0,
        }
    }
}

impl Link<Supplicant> for EapolLink {
    async fn transmit(&mut self, pdu: Vec<u8>) -> Option<std::io::Result<Vec<u8>>> {
        let frame = ethernet_frame(PAE_GROUP_ADDRESS, self.port.mac, &pdu);
        match self.port.send(&frame) {
            Ok(()) => {
                self.sent += 1;
                None
            }
            Err(e) => Some(Err(std::io::Error::other(format!("{e:#}")))),
        }
    }

    async fn recv(&mut self) -> std::io::Result<Vec<u8>> {
        loop {
            let frame = self.port.recv().await?;
            let Ok(eth) = parse_ethernet(&frame) else {
                continue;
            };
            let mac = self.port.mac;
            if eth.source == mac
                || (eth.destination != mac && eth.destination != PAE_GROUP_ADDRESS)
                || self.pcs.contains(eth.source)
            {
                continue;
            }
            self.received += 1;
            return Ok(eth.payload.to_vec());
        }
    }
}
