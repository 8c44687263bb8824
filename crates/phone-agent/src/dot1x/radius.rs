//! `dot1x --radius`: a [`radius_client::Client`] pumped by the [`Driver`] over a UDP socket
//! ([`UdpLink`]), the way `eapol_test` talks to an authentication server. The EAP [`Peer`]
//! answers each reply's EAP packet from the event handler, which hands its response to the
//! client as the next Access-Request.
//!
//! [`Peer`]: eap_supplicant::Peer

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use radius_client::{Client, Config, RandomError, SharedSecret};
use ring::rand::{SecureRandom, SystemRandom};

use crate::driver::{Driver, Link};

/// The system CSPRNG as the client's randomness source.
pub(crate) fn system_random() -> impl FnMut(&mut [u8]) -> Result<(), RandomError> {
    let rng = SystemRandom::new();
    move |buf: &mut [u8]| rng.fill(buf).map_err(|_| RandomError)
}

/// The client's UDP socket, connected to the server.
pub(crate) struct UdpLink {
    socket: tokio::net::UdpSocket,
}

impl Link<Client> for UdpLink {
    async fn transmit(&mut self, datagram: Vec<u8>) -> Option<std::io::Result<Vec<u8>>> {
        self.socket.send(&datagram).await.err().map(Err)
    }

    async fn recv(&mut self) -> std::io::Result<Vec<u8>> {
        let mut buf = vec![0u8; radius_client::MAX_PACKET];
        let n = self.socket.recv(&mut buf).await?;
        buf.truncate(n);
        Ok(buf)
    }
}

/// A RADIUS client for `server` over a connected UDP socket: `timeout` per try, `tries` tries.
pub(crate) async fn connect(
    server: SocketAddr,
    secret: &[u8],
    timeout: Duration,
    tries: u32,
) -> Result<Driver<Client, UdpLink>> {
    let bind: SocketAddr = if server.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    let socket = tokio::net::UdpSocket::bind(bind)
        .await
        .context("binding the RADIUS client socket")?;
    socket
        .connect(server)
        .await
        .with_context(|| format!("connecting to {server}"))?;
    let config = Config {
        timeout,
        max_tries: tries.max(1),
        nas_identifier: "phone-agent".into(),
        ..Config::default()
    };
    let client = Client::new(config, SharedSecret::from(secret.to_vec()), &mut system_random())
        .map_err(|e| anyhow!("RADIUS client: {e}"))?;
    Ok(Driver::new(client, UdpLink { socket }))
}
