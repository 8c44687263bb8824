//! The PC port (SPEC §12): EAPOL pass-through between the phone's PC port and its network port,
//! and the proxy EAPOL-Logoff when the PC leaves.
//!
//! * PC → network: every EAPOL frame (ethertype 0x888E) received on the PC port is sent unchanged
//!   on the network port, source MAC preserved; its source becomes a known PC address.
//! * Network → PC: every EAPOL frame received on the network port that is addressed to a known PC
//!   address, or to the PAE group address, is sent unchanged on the PC port. Frames from the
//!   phone's own MAC stay on the network side.
//! * Our own transmissions come back to our AF_PACKET sockets as outgoing copies; a frame whose
//!   source was learned on the other side is such a copy and is not forwarded again.
//! * The PC leaves when the PC port's operational state (`/sys/class/net/IF/operstate`, polled
//!   every 100 ms) goes from `up` to anything else (cable pulled, PC off): the phone then sends
//!   a proxy EAPOL-Logoff with each known PC address as source on the network port, so the switch
//!   unauthorizes the PC at once instead of at its next re-authentication or inactivity timeout.
//!   A PC's own EAPOL-Logoff is just passed through (the switch acts on it); no timer is used:
//!   an idle but connected PC stays authorized, as it does on a switch port.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use eap_supplicant::eapol::{EapolVersion, MacAddress, PAE_GROUP_ADDRESS, parse_ethernet, proxy_logoff};

use pnet_datalink::{DataLinkReceiver, DataLinkSender};

use super::port::{Port, open};

/// Addresses learned on each side.
#[derive(Default)]
struct Learned {
    /// Sources of EAPOL frames ever received on the PC port.
    pc: BTreeSet<MacAddress>,
    /// Those seen since the PC port last came up: the proxy Logoff goes to these.
    active: BTreeSet<MacAddress>,
    /// Sources of EAPOL frames received on the network port (the authenticator).
    network: BTreeSet<MacAddress>,
}

/// What the pass-through did.
#[derive(Default, Clone)]
pub struct PassThroughReport {
    /// EAPOL frames forwarded from the PC port to the network port.
    pub to_network: usize,
    /// EAPOL frames forwarded from the network port to the PC port.
    pub to_pc: usize,
    /// PC addresses a proxy EAPOL-Logoff was sent for.
    pub proxy_logoffs: Vec<MacAddress>,
    /// Send or receive errors (the forwarding threads stop on a receive error).
    pub errors: Vec<String>,
}

/// The running pass-through: two forwarding threads. Stopped (and joined) by [`PassThrough::stop`]
/// or on drop.
pub struct PassThrough {
    learned: Arc<Mutex<Learned>>,
    stop: Arc<AtomicBool>,
    report: Arc<Mutex<PassThroughReport>>,
    threads: Vec<JoinHandle<()>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How often the PC port's link state is read.
const LINK_POLL: Duration = Duration::from_millis(100);

fn operstate_up(iface: &str) -> bool {
    std::fs::read_to_string(format!("/sys/class/net/{iface}/operstate")).is_ok_and(|s| s.trim() == "up")
}

impl PassThrough {
    /// Starts forwarding between `pc_port` and `network` (the phone's own port).
    pub fn start(pc_port: &str, network: &str) -> Result<PassThrough> {
        let Port {
            mac: pc_own,
            tx: pc_tx,
            rx: pc_rx,
        } = open(pc_port)?;
        let Port {
            mac: phone,
            tx: net_tx,
            rx: net_rx,
        } = open(network)?;
        let learned = Arc::new(Mutex::new(Learned::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let report = Arc::new(Mutex::new(PassThroughReport::default()));
        let to_network = Forwarder {
            learned: learned.clone(),
            stop: stop.clone(),
            report: report.clone(),
            rx: pc_rx,
            tx: net_tx,
        };
        let to_pc = Forwarder {
            learned: learned.clone(),
            stop: stop.clone(),
            report: report.clone(),
            rx: net_rx,
            tx: pc_tx,
        };
        let pc_name = pc_port.to_owned();
        let threads = vec![
            std::thread::spawn(move || to_network.pc_to_network(&pc_name, pc_own)),
            std::thread::spawn(move || to_pc.network_to_pc(phone)),
        ];
        Ok(PassThrough {
            learned,
            stop,
            report,
            threads,
        })
    }

    /// Whether `mac` is a PC address learned on the PC port: the phone's own supplicant ignores
    /// such frames on the network port (they are the pass-through's outgoing copies).
    pub fn is_pc(&self, mac: MacAddress) -> bool {
        lock(&self.learned).pc.contains(&mac)
    }

    /// Stops both threads and returns what they did.
    pub fn stop(mut self) -> PassThroughReport {
        self.halt();
        lock(&self.report).clone()
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for PassThrough {
    fn drop(&mut self) {
        self.halt();
    }
}

/// One direction of the pass-through.
struct Forwarder {
    learned: Arc<Mutex<Learned>>,
    stop: Arc<AtomicBool>,
    report: Arc<Mutex<PassThroughReport>>,
    rx: Box<dyn DataLinkReceiver>,
    tx: Box<dyn DataLinkSender>,
}

impl Forwarder {
    fn send(&mut self, frame: &[u8]) -> Result<()> {
        match self.tx.send_to(frame, None) {
            Some(r) => Ok(r?),
            None => Err(anyhow!("the socket refused the frame")),
        }
    }

    fn error(&self, e: String) {
        tracing::warn!("802.1X pass-through: {e}");
        lock(&self.report).errors.push(e);
    }

    /// The next EAPOL frame, `None` on a read timeout; `Err` ends the thread.
    fn next(&mut self) -> Result<Option<(MacAddress, MacAddress, Vec<u8>)>, std::io::Error> {
        match self.rx.next() {
            Ok(frame) => Ok(parse_ethernet(frame)
                .ok()
                .map(|eth| (eth.source, eth.destination, frame.to_vec()))),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// PC port → network port, and the PC port's link watch.
    fn pc_to_network(mut self, pc_port: &str, pc_port_mac: MacAddress) {
        let mut up = operstate_up(pc_port);
        let mut checked = Instant::now();
        while !self.stop.load(Ordering::Relaxed) {
            if checked.elapsed() >= LINK_POLL {
                checked = Instant::now();
                let now_up = operstate_up(pc_port);
                if up && !now_up {
                    self.pc_left(pc_port);
                }
                up = now_up;
            }
            let (source, frame) = match self.next() {
                Ok(Some((source, _, frame))) => (source, frame),
                Ok(None) => continue,
                Err(e) => return self.error(format!("receiving on the PC port: {e}")),
            };
            {
                let mut learned = lock(&self.learned);
                if source == pc_port_mac || learned.network.contains(&source) {
                    continue;
                }
                learned.pc.insert(source);
                learned.active.insert(source);
            }
            match self.send(&frame) {
                Ok(()) => lock(&self.report).to_network += 1,
                Err(e) => self.error(format!("sending on the network port: {e}")),
            }
        }
    }

    /// The PC port went down: a proxy EAPOL-Logoff for every PC address seen on it.
    fn pc_left(&mut self, pc_port: &str) {
        let gone = std::mem::take(&mut lock(&self.learned).active);
        for mac in gone {
            match self.send(&proxy_logoff(mac, EapolVersion::V2)) {
                Ok(()) => {
                    eprintln!("phone-agent dot1x: PC port {pc_port} down: proxy EAPOL-Logoff sent for {mac}");
                    lock(&self.report).proxy_logoffs.push(mac);
                }
                Err(e) => self.error(format!("proxy EAPOL-Logoff for {mac}: {e}")),
            }
        }
    }

    /// Network port → PC port: frames to a known PC address or to the PAE group address.
    fn network_to_pc(mut self, phone: MacAddress) {
        while !self.stop.load(Ordering::Relaxed) {
            let (source, destination, frame) = match self.next() {
                Ok(Some(f)) => f,
                Ok(None) => continue,
                Err(e) => return self.error(format!("receiving on the network port: {e}")),
            };
            let forward = {
                let mut learned = lock(&self.learned);
                if source == phone || learned.pc.contains(&source) {
                    false
                } else {
                    learned.network.insert(source);
                    destination == PAE_GROUP_ADDRESS || learned.pc.contains(&destination)
                }
            };
            if forward {
                match self.send(&frame) {
                    Ok(()) => lock(&self.report).to_pc += 1,
                    Err(e) => self.error(format!("sending on the PC port: {e}")),
                }
            }
        }
    }
}
