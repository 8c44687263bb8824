//! A small RADIUS client for EAP (RFC 2865, RFC 3579): Access-Request with EAP-Message and
//! Message-Authenticator, reply authentication, MS-MPPE key decryption (RFC 2548), the way
//! `eapol_test` talks to an authentication server.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use md5::{Digest, Md5};
use ring::rand::{SecureRandom, SystemRandom};

const ACCESS_REQUEST: u8 = 1;
const ACCESS_ACCEPT: u8 = 2;
const ACCESS_REJECT: u8 = 3;
const ACCESS_CHALLENGE: u8 = 11;

const USER_NAME: u8 = 1;
const SERVICE_TYPE: u8 = 6;
const FRAMED_MTU: u8 = 12;
const STATE: u8 = 24;
const VENDOR_SPECIFIC: u8 = 26;
const NAS_IDENTIFIER: u8 = 32;
const NAS_PORT_TYPE: u8 = 61;
const EAP_MESSAGE: u8 = 79;
const MESSAGE_AUTHENTICATOR: u8 = 80;

const VENDOR_MICROSOFT: u32 = 311;
const MS_MPPE_SEND_KEY: u8 = 16;
const MS_MPPE_RECV_KEY: u8 = 17;

/// What the server answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyCode {
    /// Access-Accept.
    Accept,
    /// Access-Reject.
    Reject,
    /// Access-Challenge.
    Challenge,
}

/// An authenticated reply.
#[derive(Debug)]
pub struct Reply {
    /// Accept, Reject or Challenge.
    pub code: ReplyCode,
    /// The EAP-Message attributes, concatenated.
    pub eap: Vec<u8>,
    /// MS-MPPE-Recv-Key || MS-MPPE-Send-Key, decrypted, when both were present.
    pub mppe: Option<zeroize::Zeroizing<Vec<u8>>>,
}

/// A RADIUS client bound to one server.
pub struct Client {
    socket: UdpSocket,
    secret: Vec<u8>,
    next_id: u8,
    state: Option<Vec<u8>>,
    rng: SystemRandom,
    timeout: Duration,
    tries: u32,
    /// Access-Request/reply exchanges so far.
    pub round_trips: usize,
}

impl Client {
    /// Connects a UDP socket to `server`.
    pub fn new(server: SocketAddr, secret: &[u8], timeout: Duration, tries: u32) -> Result<Client> {
        let bind: SocketAddr = if server.is_ipv4() {
            "0.0.0.0:0".parse()?
        } else {
            "[::]:0".parse()?
        };
        let socket = UdpSocket::bind(bind).context("binding the RADIUS client socket")?;
        socket
            .connect(server)
            .with_context(|| format!("connecting to {server}"))?;
        socket.set_read_timeout(Some(timeout))?;
        let rng = SystemRandom::new();
        let mut id = [0u8];
        rng.fill(&mut id).map_err(|_| anyhow!("no system randomness"))?;
        Ok(Client {
            socket,
            secret: secret.to_vec(),
            next_id: id[0],
            state: None,
            rng,
            timeout,
            tries: tries.max(1),
            round_trips: 0,
        })
    }

    /// Sends one EAP response in an Access-Request and waits for the authenticated reply,
    /// retransmitting the same request on timeout.
    pub fn exchange(&mut self, user_name: &str, eap: &[u8]) -> Result<Reply> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let mut authenticator = [0u8; 16];
        self.rng
            .fill(&mut authenticator)
            .map_err(|_| anyhow!("no system randomness"))?;
        let request = self.access_request(id, &authenticator, user_name, eap)?;
        let mut buf = vec![0u8; 4096];
        for attempt in 1..=self.tries {
            self.socket.send(&request).context("sending Access-Request")?;
            loop {
                let n = match self.socket.recv(&mut buf) {
                    Ok(n) => n,
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                    {
                        tracing::debug!("RADIUS: no reply to id {id} (attempt {attempt})");
                        break;
                    }
                    Err(e) => return Err(e).context("receiving the RADIUS reply"),
                };
                let packet = buf.get(..n).unwrap_or(&[]);
                match self.parse_reply(packet, id, &authenticator) {
                    Ok(reply) => {
                        self.round_trips += 1;
                        return Ok(reply);
                    }
                    // A stray or forged datagram: keep waiting for the real one.
                    Err(e) => tracing::warn!("RADIUS: dropped a reply: {e:#}"),
                }
            }
        }
        bail!(
            "no answer from the RADIUS server after {} tries of {:?}",
            self.tries,
            self.timeout
        )
    }

    fn access_request(
        &self,
        id: u8,
        authenticator: &[u8; 16],
        user_name: &str,
        eap: &[u8],
    ) -> Result<Vec<u8>> {
        let mut attrs = Vec::new();
        push_attr(&mut attrs, USER_NAME, user_name.as_bytes())?;
        push_attr(&mut attrs, NAS_IDENTIFIER, b"phone-agent")?;
        push_attr(&mut attrs, SERVICE_TYPE, &2u32.to_be_bytes())?; // Framed
        push_attr(&mut attrs, NAS_PORT_TYPE, &15u32.to_be_bytes())?; // Ethernet
        push_attr(&mut attrs, FRAMED_MTU, &1400u32.to_be_bytes())?;
        if let Some(state) = &self.state {
            push_attr(&mut attrs, STATE, state)?;
        }
        for chunk in eap.chunks(253) {
            push_attr(&mut attrs, EAP_MESSAGE, chunk)?;
        }
        let ma_offset = 20 + attrs.len() + 2;
        push_attr(&mut attrs, MESSAGE_AUTHENTICATOR, &[0u8; 16])?;
        let len = u16::try_from(20 + attrs.len()).context("Access-Request over 65535 bytes")?;
        if len > 4096 {
            bail!("Access-Request of {len} bytes exceeds RADIUS' 4096");
        }
        let mut packet = vec![ACCESS_REQUEST, id];
        packet.extend_from_slice(&len.to_be_bytes());
        packet.extend_from_slice(authenticator);
        packet.extend_from_slice(&attrs);
        let mac = hmac_md5(&self.secret, &[&packet]);
        if let Some(slot) = packet.get_mut(ma_offset..ma_offset + 16) {
            slot.copy_from_slice(&mac);
        }
        Ok(packet)
    }

    fn parse_reply(&mut self, packet: &[u8], id: u8, request_auth: &[u8; 16]) -> Result<Reply> {
        let [code, rid, lh, ll, rest @ ..] = packet else {
            bail!("reply of {} bytes", packet.len());
        };
        if *rid != id {
            bail!("reply id {rid}, expected {id}");
        }
        let len = usize::from(u16::from_be_bytes([*lh, *ll]));
        let packet = packet
            .get(..len)
            .filter(|_| len >= 20)
            .ok_or_else(|| anyhow!("reply Length {len} invalid for {} bytes", packet.len()))?;
        let response_auth = rest.get(..16).ok_or_else(|| anyhow!("truncated"))?;
        let attrs = packet.get(20..).unwrap_or(&[]);
        let header = packet.get(..4).unwrap_or(&[]);
        let expected = md5_of(&[header, request_auth, attrs, &self.secret]);
        if expected.as_slice() != response_auth {
            bail!("Response Authenticator mismatch (wrong shared secret?)");
        }
        let code = match *code {
            ACCESS_ACCEPT => ReplyCode::Accept,
            ACCESS_REJECT => ReplyCode::Reject,
            ACCESS_CHALLENGE => ReplyCode::Challenge,
            other => bail!("unexpected RADIUS code {other}"),
        };
        let mut eap = Vec::new();
        let mut state = None;
        let mut message_auth = None;
        let (mut send, mut recv) = (None, None);
        let mut offset = 20;
        let mut rest = attrs;
        while !rest.is_empty() {
            let [t, l, ..] = rest else {
                bail!("truncated attribute header")
            };
            let l = usize::from(*l);
            let value = rest
                .get(2..l)
                .filter(|_| l >= 2)
                .ok_or_else(|| anyhow!("attribute {t} length {l} invalid"))?;
            match *t {
                EAP_MESSAGE => eap.extend_from_slice(value),
                STATE => state = Some(value.to_vec()),
                MESSAGE_AUTHENTICATOR if value.len() == 16 => message_auth = Some(offset + 2),
                VENDOR_SPECIFIC => {
                    if let Some((vtype, key)) = self.mppe(value, request_auth) {
                        match vtype {
                            MS_MPPE_SEND_KEY => send = Some(key),
                            MS_MPPE_RECV_KEY => recv = Some(key),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
            offset += l;
            rest = rest.get(l..).unwrap_or(&[]);
        }
        let ma = message_auth
            .ok_or_else(|| anyhow!("reply without Message-Authenticator (RFC 3579 requires it)"))?;
        let mut zeroed = packet.to_vec();
        if let Some(a) = zeroed.get_mut(4..20) {
            a.copy_from_slice(request_auth);
        }
        let received = packet.get(ma..ma + 16).unwrap_or(&[]).to_vec();
        if let Some(m) = zeroed.get_mut(ma..ma + 16) {
            m.fill(0);
        }
        if hmac_md5(&self.secret, &[&zeroed]).as_slice() != received.as_slice() {
            bail!("Message-Authenticator mismatch");
        }
        self.state = state;
        let mppe = match (recv, send) {
            (Some(r), Some(s)) => {
                let mut both = zeroize::Zeroizing::new(r.to_vec());
                both.extend_from_slice(&s);
                Some(both)
            }
            _ => None,
        };
        Ok(Reply { code, eap, mppe })
    }

    /// Decrypts an MS-MPPE-Send/Recv-Key (RFC 2548 §2.4.2/§2.4.3).
    fn mppe(&self, vsa: &[u8], request_auth: &[u8; 16]) -> Option<(u8, zeroize::Zeroizing<Vec<u8>>)> {
        let (vendor, rest) = vsa.split_first_chunk::<4>()?;
        if u32::from_be_bytes(*vendor) != VENDOR_MICROSOFT {
            return None;
        }
        let [vtype, vlen, rest @ ..] = rest else {
            return None;
        };
        let value = rest.get(..usize::from(*vlen).checked_sub(2)?)?;
        let (salt, cipher) = value.split_first_chunk::<2>()?;
        if cipher.is_empty() || cipher.len() % 16 != 0 {
            return None;
        }
        let mut plain = zeroize::Zeroizing::new(Vec::with_capacity(cipher.len()));
        let mut b = md5_of(&[&self.secret, request_auth, salt]);
        for block in cipher.chunks(16) {
            plain.extend(block.iter().zip(b.iter()).map(|(c, k)| c ^ k));
            b = md5_of(&[&self.secret, block]);
        }
        let (&key_len, key) = plain.split_first()?;
        let key = key.get(..usize::from(key_len))?;
        Some((*vtype, zeroize::Zeroizing::new(key.to_vec())))
    }
}

fn push_attr(out: &mut Vec<u8>, t: u8, value: &[u8]) -> Result<()> {
    let len = u8::try_from(value.len() + 2).context("RADIUS attribute over 255 bytes")?;
    out.push(t);
    out.push(len);
    out.extend_from_slice(value);
    Ok(())
}

fn md5_of(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// HMAC-MD5 (RFC 2104), for Message-Authenticator.
fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        let digest = md5_of(&[key]);
        k.iter_mut().zip(digest).for_each(|(d, s)| *d = s);
    } else {
        k.iter_mut().zip(key).for_each(|(d, s)| *d = *s);
    }
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let mut inner_parts: Vec<&[u8]> = vec![&ipad];
    inner_parts.extend_from_slice(parts);
    let inner = md5_of(&inner_parts);
    md5_of(&[&opad, &inner])
}

#[cfg(test)]
mod tests {
    use super::hmac_md5;

    #[test]
    fn hmac_md5_matches_rfc_2202() {
        // RFC 2202 test case 2.
        let mac = hmac_md5(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "750c783e6ab0b503eaa86e310a5db738");
    }
}
