//! PAC download over TFTP (Cisco's `PAC_URL` accepts `tftp://`): a UDP socket driving
//! [`tftp_proto::ReadTransfer`], with an overall deadline on top of its retransmissions.

use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use tftp_proto::{Event, Limits, Output, ReadTransfer};

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
    let socket = UdpSocket::bind(local).context("binding a UDP socket")?;
    let limits = Limits {
        max_bytes,
        ..Limits::default()
    };
    let started = Instant::now();
    let deadline = started + timeout;
    let mut transfer = ReadTransfer::new(server, &filename, limits, started);
    let mut buf = [0u8; tftp_proto::MAX_PACKET + 1];
    let mut next = None;
    loop {
        while let Some(out) = transfer.poll_output() {
            match out {
                Output::Transmit(t) => {
                    socket
                        .send_to(&t.payload, t.to)
                        .with_context(|| format!("sending to {}", t.to))?;
                }
                Output::Timeout(at) => next = Some(at),
                // The ACK of the last block (or our ERROR) is out; the result is final.
                Output::Event(Event::Finished(result)) => return result.map_err(|e| anyhow!(e)),
            }
        }
        let Some(next) = next else {
            bail!("{url}: the TFTP transfer has no deadline and no result");
        };
        let now = Instant::now();
        if now >= deadline {
            bail!("{url}: the TFTP transfer took longer than {timeout:?}");
        }
        let wait = next.min(deadline).saturating_duration_since(now);
        if wait.is_zero() {
            transfer.handle_timeout(now);
            continue;
        }
        socket.set_read_timeout(Some(wait))?;
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => transfer.handle_datagram(Instant::now(), from, buf.get(..n).unwrap_or_default()),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                transfer.handle_timeout(Instant::now())
            }
            // An ICMP port unreachable from an earlier send surfaces here on Linux.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                bail!("{url}: nothing answers TFTP at {server} ({e})")
            }
            Err(e) => return Err(e).context("receiving"),
        }
    }
}
