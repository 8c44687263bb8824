//! An AF_PACKET socket on one interface (via `pnet_datalink`, no unsafe code here): what the
//! wired driver and the PC-port pass-through both open, in a module of its own so neither
//! imports the other for it.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use eap_supplicant::eapol::MacAddress;
use pnet_datalink::{Channel, DataLinkReceiver, DataLinkSender, NetworkInterface};

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
    match port.tx.send_to(frame, None) {
        Some(r) => r.context("sending an EAPOL frame"),
        None => bail!("sending an EAPOL frame: the socket refused"),
    }
}
