//! What the firewall depends on: the settings of SPEC §8, gathered from a phone's `cfg.xml`.

use phone_config::{FirewallConfig, Settings, SipTransport};

use crate::Error;

/// The first and last port the TR-069 connection-request port is chosen from (SPEC §8: "random
/// in 8000-9999").
pub const TR069_PORTS: (u16, u16) = (8000, 9999);

/// The TCP port the phone listens on for TR-069 connection requests, a port in 8000-9999.
///
/// The phone picks it at random when it starts; the caller does (this crate takes no
/// randomness), and keeps it while the phone runs, so re-applying does not move it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tr069Port(u16);

impl Tr069Port {
    /// The port, when it is in 8000-9999.
    pub fn new(port: u16) -> Option<Tr069Port> {
        (TR069_PORTS.0..=TR069_PORTS.1)
            .contains(&port)
            .then_some(Tr069Port(port))
    }

    /// A port in 8000-9999 from random bits (uniform up to a bias of 2000/2^32).
    pub fn from_random(bits: u32) -> Tr069Port {
        let span = u32::from(TR069_PORTS.1 - TR069_PORTS.0) + 1;
        // `bits % span` < 2000, so the sum fits in u16.
        Tr069Port(TR069_PORTS.0 + u16::try_from(bits % span).unwrap_or(0))
    }

    /// The port number.
    pub fn get(self) -> u16 {
        self.0
    }
}

/// A line whose SIP port the firewall opens (line enabled, SIP transport UDP or AUTO).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SipLine {
    /// The line number, 1-based (`_n_` of `SIP_Port_n_`).
    pub line: u16,
    /// Its `SIP_Port_n_`.
    pub port: u16,
}

/// Everything the ruleset depends on, in the guide's terms.
///
/// [`Inputs::from_settings`] gathers it from parsed settings; firmware that keeps its settings
/// elsewhere fills the fields itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    /// `Firewall`: Enabled (true) or Disabled.
    pub enabled: bool,
    /// `Firewall_Config`, parsed.
    pub options: FirewallConfig,
    /// `RTP_Port_Min`.
    pub rtp_port_min: u16,
    /// `RTP_Port_Max`; the firewall opens up to this + 1 (the RTCP port of the last pair).
    pub rtp_port_max: u16,
    /// The lines whose SIP port is open.
    pub sip_lines: Vec<SipLine>,
    /// `Upgrade_Enable` and `Peer_Firmware_Sharing` both Yes: UDP 4051, TCP 4051 and 6970.
    pub peer_firmware_sharing: bool,
    /// `Enable_TR-069` Yes: UDP 7999 and this TCP connection-request port.
    pub tr069: Option<Tr069Port>,
    /// `Enable_Web_Server` Yes: its `Web_Server_Port`.
    pub web_server_port: Option<u16>,
}

impl Inputs {
    /// Gathers the inputs from a phone's settings. `tr069_port` is the connection-request port
    /// the phone chose; it is needed only when `Enable_TR-069` is Yes.
    pub fn from_settings(settings: &Settings, tr069_port: Option<Tr069Port>) -> Result<Inputs, Error> {
        let f = &settings.firewall;
        let sip_lines = settings
            .lines
            .iter()
            .zip(1u16..)
            .filter(|(line, _)| {
                line.line_enable.get().0
                    && matches!(line.sip_transport.get(), SipTransport::Udp | SipTransport::Auto)
            })
            .map(|(line, n)| SipLine {
                line: n,
                port: line.sip_port.get().get(),
            })
            .collect();
        let tr069 = if f.enable_tr_069.get().0 {
            Some(tr069_port.ok_or(Error::Tr069PortMissing)?)
        } else {
            None
        };
        let inputs = Inputs {
            enabled: f.firewall.get().0,
            options: f.firewall_config.get().clone(),
            rtp_port_min: f.rtp_port_min.get().get(),
            rtp_port_max: f.rtp_port_max.get().get(),
            sip_lines,
            peer_firmware_sharing: f.upgrade_enable.get().0 && f.peer_firmware_sharing.get().0,
            tr069,
            web_server_port: f.enable_web_server.get().0.then(|| f.web_server_port.get().get()),
        };
        inputs.validate()?;
        Ok(inputs)
    }

    /// Checks what the types cannot: the RTP range is not empty, no port is 0, the TR-069 port
    /// is in range, at most [`phone_config::MAX_PORT_ENTRIES`] extra ports per protocol.
    pub fn validate(&self) -> Result<(), Error> {
        if self.rtp_port_min == 0 || self.rtp_port_min > self.rtp_port_max {
            return Err(Error::RtpRange {
                min: self.rtp_port_min,
                max: self.rtp_port_max,
            });
        }
        if let Some(l) = self.sip_lines.iter().find(|l| l.port == 0 || l.line == 0) {
            return Err(Error::ZeroPort(format!("SIP_Port_{}_", l.line)));
        }
        if self.web_server_port == Some(0) {
            return Err(Error::ZeroPort("Web_Server_Port".to_owned()));
        }
        if let Some(p) = self.tr069 {
            if Tr069Port::new(p.get()).is_none() {
                return Err(Error::Tr069PortMissing);
            }
        }
        for (list, name) in [(&self.options.udp, "UDP"), (&self.options.tcp, "TCP")] {
            if list.len() > phone_config::MAX_PORT_ENTRIES {
                return Err(Error::TooManyEntries {
                    protocol: name,
                    count: list.len(),
                });
            }
        }
        Ok(())
    }
}
