//! TFTP reads (Cisco's `PAC_URL` and `Profile_Rule` accept `tftp://`): [`tftp_proto::ReadTransfer`]
//! pumped by the generic [`Driver`] over a UDP socket, with an overall deadline (the driver's
//! stop) on top of its retransmissions. Used by the PAC download and the provisioning resync.
//!
//! The transfer's socket is bound to one of the phone's TFTP client ports, 53240-53245 (SPEC
//! §8), which the phone's firewall opens: the server sends its DATA from a new port (RFC 1350
//! §4), which conntrack does not count as return traffic of the request to port 69, so from an
//! ephemeral port the firewall answers it with port unreachable and the transfer fails.

use std::net::{SocketAddr, ToSocketAddrs};
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use tftp_proto::{Event, Limits, Output, ReadTransfer};

use crate::driver::{Core, Driver, Ended, Link, Output as DriverOutput};

/// Downloads `url` (`tftp://host[:port]/path`, port 69 by default): at most `max_bytes`,
/// within `timeout`.
pub fn download(url: &url::Url, max_bytes: usize, timeout: Duration) -> Result<Vec<u8>> {
    let host = url.host_str().context("a tftp:// URL needs a host")?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = url.port().unwrap_or(69);
    let server: SocketAddr = (host, port)
        .to_socket_addrs()
        .with_context(|| format!("resolving {host}"))?
        .next()
        .with_context(|| format!("{host} has no address"))?;
    // The path without its leading slash is the file name, as curl and tftp-hpa's client do.
    let path = url.path();
    let filename = path.strip_prefix('/').unwrap_or(path);
    let filename = percent_encoding::percent_decode_str(filename).decode_utf8_lossy();
    if filename.is_empty() {
        bail!("{url}: no file name");
    }
    let limits = Limits {
        max_bytes,
        ..Limits::default()
    };
    read(server, &filename, limits, timeout).map_err(|e| match e {
        TftpFailure::Unreachable(why) => anyhow!("{url}: {why}"),
        TftpFailure::Failed(e) => e.context(format!("{url}: TFTP from {server}")),
    })
}

/// Why a TFTP read failed.
#[derive(Debug)]
pub enum TftpFailure {
    /// Nothing answered: no datagram within the time, or ICMP port unreachable (A-record
    /// failover moves on to the next address).
    Unreachable(String),
    /// The server answered, and the transfer failed (its ERROR, a limit, too slow, a socket
    /// error).
    Failed(anyhow::Error),
}

/// Reads `filename` from `server` within `timeout`: [`ReadTransfer`] on the [`Driver`] over a
/// UDP socket. Callers are synchronous (the PAC fetch, a provisioning resync on a blocking
/// thread); on a runtime worker this blocks in place.
pub fn read(
    server: SocketAddr,
    filename: &str,
    limits: Limits,
    timeout: Duration,
) -> Result<Vec<u8>, TftpFailure> {
    let transfer = ReadTransfer::new(server, filename, limits, Instant::now());
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|e| TftpFailure::Failed(anyhow!("no tokio runtime: {e}")))?;
    tokio::task::block_in_place(|| {
        runtime.block_on(async {
            let socket = bind_client_port(server.is_ipv4())
                .await
                .map_err(|e| TftpFailure::Failed(anyhow!("binding a UDP socket: {e}")))?;
            let mut driver = Driver::new(transfer, UdpLink { socket, received: 0 });
            let finished = driver
                .run(tokio::time::sleep(timeout), |_, Event::Finished(result)| {
                    ControlFlow::Break(result)
                })
                .await;
            let answered = driver.link.received > 0;
            match finished {
                // The ACK of the last block (or our ERROR) is out; the result is final.
                Ok(Ended::Done(result)) => result.map_err(|e| TftpFailure::Failed(anyhow!(e))),
                Ok(Ended::Stopped) if !answered => Err(TftpFailure::Unreachable(format!(
                    "no TFTP answer within {timeout:?}"
                ))),
                Ok(Ended::Stopped) => Err(TftpFailure::Failed(anyhow!(
                    "the TFTP transfer took longer than {timeout:?}"
                ))),
                Err(e) if !answered && refused(&e) => Err(TftpFailure::Unreachable(format!("{e:#}"))),
                Err(e) => Err(TftpFailure::Failed(e)),
            }
        })
    })
}

/// A UDP socket on the first free port of [`phone_firewall::TFTP_CLIENT_PORTS`]; an ephemeral port (with a warning:
/// the phone's firewall drops DATA sent to it) when all six are taken.
async fn bind_client_port(ipv4: bool) -> std::io::Result<tokio::net::UdpSocket> {
    let any: std::net::IpAddr = if ipv4 {
        std::net::Ipv4Addr::UNSPECIFIED.into()
    } else {
        std::net::Ipv6Addr::UNSPECIFIED.into()
    };
    for port in phone_firewall::TFTP_CLIENT_PORTS {
        match tokio::net::UdpSocket::bind((any, port)).await {
            Ok(socket) => return Ok(socket),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {}
            Err(e) => return Err(e),
        }
    }
    tracing::warn!(
        "the TFTP client ports {}-{} are all in use: this transfer uses an ephemeral port, whose DATA the \
         phone's firewall (when Enabled) drops",
        phone_firewall::TFTP_CLIENT_PORTS.start(),
        phone_firewall::TFTP_CLIENT_PORTS.end()
    );
    tokio::net::UdpSocket::bind((any, 0)).await
}

/// ICMP port unreachable, as the socket reported it.
fn refused(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
    })
}

/// The transfer's UDP socket.
struct UdpLink {
    socket: tokio::net::UdpSocket,
    /// Datagrams received.
    received: usize,
}

impl Core for ReadTransfer {
    /// A datagram, or why receiving failed.
    type Input = std::io::Result<(SocketAddr, Vec<u8>)>;
    type Transmit = tftp_proto::Transmit;
    type Event = Event;

    fn handle_input(&mut self, now: Instant, input: Self::Input) -> Result<()> {
        match input {
            Ok((from, bytes)) => self.handle_datagram(now, from, &bytes),
            // An ICMP port unreachable from an earlier send surfaces here on Linux.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                return Err(anyhow::Error::new(e).context("nothing answers TFTP"));
            }
            Err(e) => return Err(anyhow!(e).context("receiving")),
        }
        Ok(())
    }

    fn handle_timeout(&mut self, now: Instant) -> Result<()> {
        ReadTransfer::handle_timeout(self, now);
        Ok(())
    }

    fn poll_output(&mut self) -> Option<DriverOutput<tftp_proto::Transmit, Event>> {
        Some(match ReadTransfer::poll_output(self)? {
            Output::Transmit(t) => DriverOutput::Transmit(t),
            Output::Event(e) => DriverOutput::Event(e),
            Output::Timeout(at) => DriverOutput::Timeout(Some(at)),
        })
    }
}

impl Link<ReadTransfer> for UdpLink {
    async fn transmit(&mut self, t: tftp_proto::Transmit) -> Option<std::io::Result<(SocketAddr, Vec<u8>)>> {
        self.socket.send_to(&t.payload, t.to).await.err().map(Err)
    }

    async fn recv(&mut self) -> std::io::Result<(SocketAddr, Vec<u8>)> {
        let mut buf = vec![0u8; tftp_proto::MAX_PACKET + 1];
        let (n, from) = self.socket.recv_from(&mut buf).await?;
        self.received += 1;
        buf.truncate(n);
        Ok((from, buf))
    }
}
