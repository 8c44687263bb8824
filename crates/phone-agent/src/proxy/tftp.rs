//! PAC download over TFTP (Cisco's `PAC_URL` accepts `tftp://`): [`tftp_proto::ReadTransfer`]
//! pumped by the generic [`Driver`] over a UDP socket, with an overall deadline (the driver's
//! stop) on top of its retransmissions.

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
    let local: SocketAddr = if server.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    let limits = Limits {
        max_bytes,
        ..Limits::default()
    };
    let transfer = ReadTransfer::new(server, &filename, limits, Instant::now());
    let runtime = tokio::runtime::Handle::try_current().context("no tokio runtime")?;
    // Callers are synchronous (the PAC fetch); outside a task this just blocks the thread.
    tokio::task::block_in_place(|| {
        runtime.block_on(async {
            let socket = tokio::net::UdpSocket::bind(local)
                .await
                .context("binding a UDP socket")?;
            let mut driver = Driver::new(transfer, UdpLink { socket });
            let finished = driver.run(tokio::time::sleep(timeout), |_, Event::Finished(result)| {
                ControlFlow::Break(result)
            });
            match finished.await {
                // The ACK of the last block (or our ERROR) is out; the result is final.
                Ok(Ended::Done(result)) => result.map_err(|e| anyhow!(e)),
                Ok(Ended::Stopped) => bail!("{url}: the TFTP transfer took longer than {timeout:?}"),
                Err(e) => Err(e.context(format!("{url}: TFTP from {server}"))),
            }
        })
    })
}

/// The transfer's UDP socket.
struct UdpLink {
    socket: tokio::net::UdpSocket,
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
                bail!("nothing answers TFTP ({e})")
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
        buf.truncate(n);
        Ok((from, buf))
    }
}
