//! The transport a SIP message travels over, as the Via header names it (RFC 3261 §18, §20.42).

use std::fmt;

/// The transport of a SIP flow: the one type every SIP crate of the workspace uses (sip-mediasec's
/// policy, sip-ua's targets, the agent's sockets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
}

impl Transport {
    /// The Via transport token: `UDP`, `TCP` or `TLS` (RFC 3261 §20.42).
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        }
    }

    /// The transport a Via token or a URI `transport=` parameter names (case-insensitive);
    /// `None` for SCTP, WS and other tokens.
    pub fn from_token(token: &str) -> Option<Transport> {
        [Transport::Udp, Transport::Tcp, Transport::Tls]
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(token))
    }

    /// Whether the transport is a byte stream (TCP, TLS): Content-Length is required and the
    /// transaction layer does not retransmit (RFC 3261 §17.1.1.2, §18.3).
    pub fn is_stream(self) -> bool {
        !matches!(self, Transport::Udp)
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Transport;

    #[test]
    fn tokens_round_trip_case_insensitively() {
        for t in [Transport::Udp, Transport::Tcp, Transport::Tls] {
            assert_eq!(Transport::from_token(t.as_str()), Some(t));
            assert_eq!(Transport::from_token(&t.as_str().to_ascii_lowercase()), Some(t));
        }
        assert_eq!(Transport::from_token("SCTP"), None);
        assert_eq!(Transport::Tls.to_string(), "TLS");
        assert!(Transport::Tcp.is_stream() && !Transport::Udp.is_stream());
    }
}
