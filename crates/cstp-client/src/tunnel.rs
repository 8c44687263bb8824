//! `CONNECT /CSCOSSLC/tunnel` and the server's `X-CSTP-*` answer: the tunnel's address, routes,
//! MTU and timers.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use thiserror::Error;

use crate::http::Response;

/// A route pushed by the server (`X-CSTP-Split-Include` / `-Exclude`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The network address.
    pub addr: IpAddr,
    /// The prefix length.
    pub prefix: u8,
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// How the server wants the session rekeyed (`X-CSTP-Rekey-Method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RekeyMethod {
    /// `ssl`: TLS renegotiation, which rustls does not do; this client opens a new tunnel.
    Ssl,
    /// `new-tunnel`: reconnect with the cookie.
    NewTunnel,
}

/// What the server assigned in its `200 CONNECTED` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelConfig {
    /// `X-CSTP-Address` (IPv4).
    pub address: Option<Ipv4Addr>,
    /// `X-CSTP-Netmask`.
    pub netmask: Option<Ipv4Addr>,
    /// `X-CSTP-Address-IP6` (or an IPv6 `X-CSTP-Address`) with its prefix.
    pub address_v6: Option<(Ipv6Addr, u8)>,
    /// `X-CSTP-DNS` and `X-CSTP-DNS-IP6`.
    pub dns: Vec<IpAddr>,
    /// `X-CSTP-Default-Domain`.
    pub default_domain: Option<String>,
    /// `X-CSTP-Split-Include[-IP6]`; empty means everything goes through the tunnel.
    pub split_include: Vec<Route>,
    /// `X-CSTP-Split-Exclude[-IP6]`.
    pub split_exclude: Vec<Route>,
    /// `X-CSTP-MTU`: the tunnel MTU.
    pub mtu: u16,
    /// `X-CSTP-DPD`.
    pub dpd: Option<Duration>,
    /// `X-CSTP-Keepalive`.
    pub keepalive: Option<Duration>,
    /// `X-CSTP-Rekey-Time` and `-Method`.
    pub rekey: Option<(Duration, RekeyMethod)>,
    /// `X-CSTP-Server-Name`.
    pub server_name: Option<String>,
}

/// What was wrong with the server's tunnel answer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TunnelError {
    /// A header needed to bring the tunnel up is missing.
    #[error("the server's CONNECT answer has no {name}")]
    Missing {
        /// The header.
        name: &'static str,
    },
    /// A header value that does not parse.
    #[error("the server's {name}: `{value}` is not {expected}")]
    BadValue {
        /// The header.
        name: &'static str,
        /// Its value (cut to 80 characters).
        value: String,
        /// What was expected.
        expected: &'static str,
    },
}

fn bad(name: &'static str, value: &str, expected: &'static str) -> TunnelError {
    TunnelError::BadValue {
        name,
        value: value.chars().take(80).collect(),
        expected,
    }
}

fn seconds(r: &Response, name: &'static str) -> Result<Option<Duration>, TunnelError> {
    match r.header(name) {
        None => Ok(None),
        Some(v) if v.eq_ignore_ascii_case("none") => Ok(None),
        Some(v) => {
            let s: u64 = v.parse().map_err(|_| bad(name, v, "a number of seconds"))?;
            Ok((s > 0).then(|| Duration::from_secs(s)))
        }
    }
}

fn mask_prefix(mask: Ipv4Addr) -> Option<u8> {
    let bits = u32::from(mask);
    let prefix = bits.leading_ones();
    (bits.checked_shl(prefix).unwrap_or(0) == 0).then_some(prefix as u8)
}

/// `a.b.c.d/255.255.255.0`, `a.b.c.d/24` or `x::/64`.
fn route(name: &'static str, v: &str) -> Result<Route, TunnelError> {
    let err = || bad(name, v, "an address/netmask or address/prefix");
    let (a, m) = v.split_once('/').ok_or_else(err)?;
    let addr: IpAddr = a.trim().parse().map_err(|_| err())?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match m.trim().parse::<u8>() {
        Ok(p) if p <= max => p,
        Ok(_) => return Err(err()),
        Err(_) => match (addr, m.trim().parse::<Ipv4Addr>()) {
            (IpAddr::V4(_), Ok(mask)) => mask_prefix(mask).ok_or_else(err)?,
            _ => return Err(err()),
        },
    };
    Ok(Route { addr, prefix })
}

impl TunnelConfig {
    /// Reads the `X-CSTP-*` fields of a `200 CONNECTED` answer. An address and an MTU are
    /// required (openconnect refuses without them too).
    pub fn from_response(r: &Response) -> Result<TunnelConfig, TunnelError> {
        let mut cfg = TunnelConfig {
            address: None,
            netmask: None,
            address_v6: None,
            dns: Vec::new(),
            default_domain: r.header("X-CSTP-Default-Domain").map(str::to_owned),
            split_include: Vec::new(),
            split_exclude: Vec::new(),
            mtu: 0,
            dpd: seconds(r, "X-CSTP-DPD")?,
            keepalive: seconds(r, "X-CSTP-Keepalive")?,
            rekey: None,
            server_name: r.header("X-CSTP-Server-Name").map(str::to_owned),
        };
        if let Some(v) = r.header("X-CSTP-Address") {
            match v
                .parse::<IpAddr>()
                .map_err(|_| bad("X-CSTP-Address", v, "an IP address"))?
            {
                IpAddr::V4(a) => cfg.address = Some(a),
                IpAddr::V6(a) => cfg.address_v6 = Some((a, 128)),
            }
        }
        if let Some(v) = r.header("X-CSTP-Netmask") {
            match v.parse::<Ipv4Addr>() {
                Ok(m) if mask_prefix(m).is_some() => cfg.netmask = Some(m),
                _ if v.contains(':') => {
                    let rt = route("X-CSTP-Netmask", v)?;
                    if let (Some((a, _)), IpAddr::V6(_)) = (cfg.address_v6, rt.addr) {
                        cfg.address_v6 = Some((a, rt.prefix));
                    }
                }
                _ => return Err(bad("X-CSTP-Netmask", v, "a contiguous IPv4 netmask")),
            }
        }
        if let Some(v) = r.header("X-CSTP-Address-IP6") {
            let rt = route("X-CSTP-Address-IP6", v)?;
            if let IpAddr::V6(a) = rt.addr {
                cfg.address_v6 = Some((a, rt.prefix));
            }
        }
        for name in ["X-CSTP-DNS", "X-CSTP-DNS-IP6"] {
            for v in r.headers_named(name) {
                cfg.dns
                    .push(v.parse().map_err(|_| bad("X-CSTP-DNS", v, "an IP address"))?);
            }
        }
        for name in ["X-CSTP-Split-Include", "X-CSTP-Split-Include-IP6"] {
            for v in r.headers_named(name) {
                cfg.split_include.push(route("X-CSTP-Split-Include", v)?);
            }
        }
        for name in ["X-CSTP-Split-Exclude", "X-CSTP-Split-Exclude-IP6"] {
            for v in r.headers_named(name) {
                cfg.split_exclude.push(route("X-CSTP-Split-Exclude", v)?);
            }
        }
        let mtu = r
            .header("X-CSTP-MTU")
            .ok_or(TunnelError::Missing { name: "X-CSTP-MTU" })?;
        cfg.mtu = mtu
            .parse::<u16>()
            .ok()
            .filter(|m| (576..=16384).contains(m))
            .ok_or_else(|| bad("X-CSTP-MTU", mtu, "an MTU from 576 to 16384"))?;
        if cfg.address.is_none() && cfg.address_v6.is_none() {
            return Err(TunnelError::Missing {
                name: "X-CSTP-Address",
            });
        }
        if cfg.address.is_some() && cfg.netmask.is_none() {
            return Err(TunnelError::Missing {
                name: "X-CSTP-Netmask",
            });
        }
        if let Some(t) = seconds(r, "X-CSTP-Rekey-Time")? {
            match r.header("X-CSTP-Rekey-Method") {
                Some(m) if m.eq_ignore_ascii_case("ssl") => cfg.rekey = Some((t, RekeyMethod::Ssl)),
                Some(m) if m.eq_ignore_ascii_case("new-tunnel") => {
                    cfg.rekey = Some((t, RekeyMethod::NewTunnel))
                }
                _ => {}
            }
        }
        Ok(cfg)
    }

    /// The prefix length of [`netmask`](Self::netmask).
    pub fn prefix_len(&self) -> Option<u8> {
        self.netmask.and_then(mask_prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Limits, http::parse_response};

    const OCSERV_CONNECTED: &[u8] = b"HTTP/1.1 200 CONNECTED\r\nX-CSTP-Version: 1\r\n\
X-CSTP-Server-Name: ocserv 1.1.6\r\nX-CSTP-DPD: 60\r\nX-CSTP-Address: 10.79.0.50\r\n\
X-CSTP-Netmask: 255.255.255.0\r\nX-CSTP-DNS: 10.78.0.53\r\nX-CSTP-Split-Include: 10.78.0.0/255.255.255.0\r\n\
X-CSTP-Keepalive: 300\r\nX-CSTP-Idle-Timeout: none\r\nX-CSTP-Rekey-Time: 172800\r\nX-CSTP-Rekey-Method: ssl\r\n\
X-CSTP-Base-MTU: 1500\r\nX-CSTP-MTU: 1472\r\n\r\nSTF\x01";

    #[test]
    fn ocserv_answer() -> Result<(), Box<dyn std::error::Error>> {
        let (r, used) = parse_response(OCSERV_CONNECTED, &Limits::default(), true)?.ok_or("incomplete")?;
        assert_eq!(OCSERV_CONNECTED.get(used..), Some(&b"STF\x01"[..]));
        let t = TunnelConfig::from_response(&r)?;
        assert_eq!(t.address, Some(Ipv4Addr::new(10, 79, 0, 50)));
        assert_eq!(t.prefix_len(), Some(24));
        assert_eq!(
            t.split_include
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["10.78.0.0/24"]
        );
        assert_eq!(
            (t.mtu, t.dpd, t.keepalive),
            (
                1472,
                Some(Duration::from_secs(60)),
                Some(Duration::from_secs(300))
            )
        );
        assert_eq!(t.rekey, Some((Duration::from_secs(172_800), RekeyMethod::Ssl)));
        Ok(())
    }

    #[test]
    fn missing_mtu_or_bad_mask_refused() -> Result<(), Box<dyn std::error::Error>> {
        let wire = b"HTTP/1.1 200 CONNECTED\r\nX-CSTP-Address: 10.0.0.2\r\nX-CSTP-Netmask: 255.0.255.0\r\nX-CSTP-MTU: 1400\r\n\r\n";
        let (r, _) = parse_response(wire, &Limits::default(), true)?.ok_or("incomplete")?;
        assert!(matches!(
            TunnelConfig::from_response(&r),
            Err(TunnelError::BadValue {
                name: "X-CSTP-Netmask",
                ..
            })
        ));
        let wire =
            b"HTTP/1.1 200 CONNECTED\r\nX-CSTP-Address: 10.0.0.2\r\nX-CSTP-Netmask: 255.255.0.0\r\n\r\n";
        let (r, _) = parse_response(wire, &Limits::default(), true)?.ok_or("incomplete")?;
        assert_eq!(
            TunnelConfig::from_response(&r),
            Err(TunnelError::Missing { name: "X-CSTP-MTU" })
        );
        Ok(())
    }
}
