//! A sans-IO TFTP (RFC 1350) client that reads one file: the packet codec and a transfer
//! state machine. It never touches a socket or a clock: the caller feeds received datagrams
//! and the current time first (`handle_datagram(now, from, bytes)`, `handle_timeout(now)`), and
//! does what [`ReadTransfer::poll_output`] hands out: datagrams to send, the end of the transfer,
//! the next deadline.
//!
//! ```
//! use std::net::SocketAddr;
//! use std::time::{Duration, Instant};
//! use tftp_proto::{Event, Limits, Output, Packet, ReadTransfer, Transmit};
//!
//! let server: SocketAddr = "192.0.2.1:69".parse()?;
//! let now = Instant::now();
//! let mut t = ReadTransfer::new(server, "proxy.pac", Limits::default(), now);
//! let rrq = b"\0\x01proxy.pac\0octet\0".to_vec();
//! assert_eq!(t.poll_output(), Some(Output::Transmit(Transmit { to: server, payload: rrq })));
//! // Wake up in a second to send the request again if nothing came.
//! assert_eq!(t.poll_output(), Some(Output::Timeout(now + Duration::from_secs(1))));
//! assert_eq!(t.poll_output(), None);
//!
//! // The server answers from its own port (its transfer ID) with the last, short block.
//! let tid: SocketAddr = "192.0.2.1:40000".parse()?;
//! let pac = b"function FindProxyForURL(){}".to_vec();
//! let data = Packet::Data { block: 1, data: pac.clone() };
//! t.handle_datagram(now, tid, &data.encode());
//! let Some(Output::Transmit(ack)) = t.poll_output() else { return Err("no ACK".into()) };
//! assert_eq!((ack.to, Packet::parse(&ack.payload)), (tid, Ok(Packet::Ack { block: 1 })));
//! assert_eq!(t.poll_output(), Some(Output::Event(Event::Finished(Ok(pac)))));
//! assert_eq!(t.poll_output(), None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Not supported: writing, `netascii` mode, RFC 2347 options (`blksize`, `tsize`).
#![forbid(unsafe_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Data bytes in a full block (RFC 1350 §2): a shorter block ends the transfer.
pub const BLOCK_SIZE: usize = 512;

/// Largest packet the codec accepts: a DATA packet with a full block.
pub const MAX_PACKET: usize = 4 + BLOCK_SIZE;

/// The error codes of RFC 1350 §5 (Appendix, "Error Codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// 0: not defined, see the message.
    NotDefined,
    /// 1: file not found.
    FileNotFound,
    /// 2: access violation.
    AccessViolation,
    /// 3: disk full or allocation exceeded.
    DiskFull,
    /// 4: illegal TFTP operation.
    IllegalOperation,
    /// 5: unknown transfer ID.
    UnknownTransferId,
    /// 6: file already exists.
    FileExists,
    /// 7: no such user.
    NoSuchUser,
    /// A code RFC 1350 does not define.
    Other(u16),
}

impl ErrorCode {
    /// The code on the wire.
    pub fn code(self) -> u16 {
        match self {
            ErrorCode::NotDefined => 0,
            ErrorCode::FileNotFound => 1,
            ErrorCode::AccessViolation => 2,
            ErrorCode::DiskFull => 3,
            ErrorCode::IllegalOperation => 4,
            ErrorCode::UnknownTransferId => 5,
            ErrorCode::FileExists => 6,
            ErrorCode::NoSuchUser => 7,
            ErrorCode::Other(c) => c,
        }
    }

    /// The code for a number on the wire.
    pub fn from_code(code: u16) -> Self {
        match code {
            0 => ErrorCode::NotDefined,
            1 => ErrorCode::FileNotFound,
            2 => ErrorCode::AccessViolation,
            3 => ErrorCode::DiskFull,
            4 => ErrorCode::IllegalOperation,
            5 => ErrorCode::UnknownTransferId,
            6 => ErrorCode::FileExists,
            7 => ErrorCode::NoSuchUser,
            c => ErrorCode::Other(c),
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            ErrorCode::NotDefined => "not defined",
            ErrorCode::FileNotFound => "file not found",
            ErrorCode::AccessViolation => "access violation",
            ErrorCode::DiskFull => "disk full or allocation exceeded",
            ErrorCode::IllegalOperation => "illegal TFTP operation",
            ErrorCode::UnknownTransferId => "unknown transfer ID",
            ErrorCode::FileExists => "file already exists",
            ErrorCode::NoSuchUser => "no such user",
            ErrorCode::Other(_) => "unknown error code",
        };
        write!(f, "{} ({text})", self.code())
    }
}

/// A TFTP packet (RFC 1350 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// Opcode 1: read request.
    Rrq {
        /// The file name (no NUL).
        filename: String,
        /// The transfer mode (`octet`, `netascii`, `mail`), as sent.
        mode: String,
    },
    /// Opcode 2: write request.
    Wrq {
        /// The file name (no NUL).
        filename: String,
        /// The transfer mode, as sent.
        mode: String,
    },
    /// Opcode 3: a block of data.
    Data {
        /// The block number (1, 2, ..., wrapping after 65535).
        block: u16,
        /// At most [`BLOCK_SIZE`] bytes.
        data: Vec<u8>,
    },
    /// Opcode 4: acknowledgement.
    Ack {
        /// The block acknowledged.
        block: u16,
    },
    /// Opcode 5: error; ends the transfer.
    Error {
        /// The error code.
        code: ErrorCode,
        /// The message (no NUL).
        message: String,
    },
}

/// Why bytes are not a TFTP packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    /// Fewer bytes than the opcode and fixed fields need.
    #[error("packet too short ({0} bytes)")]
    TooShort(usize),
    /// More than a full DATA packet.
    #[error("packet too long ({0} bytes, at most {MAX_PACKET})")]
    TooLong(usize),
    /// An opcode other than 1 to 5.
    #[error("unknown opcode {0}")]
    UnknownOpcode(u16),
    /// A string field without its terminating NUL.
    #[error("{0} is not NUL-terminated")]
    Unterminated(&'static str),
    /// A string field that is not valid text (netascii is a subset of ASCII; this codec
    /// accepts UTF-8).
    #[error("{0} is not valid text")]
    InvalidText(&'static str),
    /// Bytes after the last field of a request or error.
    #[error("{0} trailing bytes")]
    Trailing(usize),
    /// A string to encode contains NUL.
    #[error("{0} contains NUL")]
    Nul(&'static str),
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
}

/// Splits a NUL-terminated string off the front of `bytes`.
fn take_string<'a>(bytes: &'a [u8], what: &'static str) -> Result<(String, &'a [u8]), PacketError> {
    let end = bytes
        .iter()
        .position(|&b| b == 0)
        .ok_or(PacketError::Unterminated(what))?;
    let (text, rest) = bytes.split_at(end);
    let text = std::str::from_utf8(text).map_err(|_| PacketError::InvalidText(what))?;
    Ok((text.to_owned(), rest.get(1..).unwrap_or_default()))
}

impl Packet {
    /// Parses one datagram.
    pub fn parse(bytes: &[u8]) -> Result<Packet, PacketError> {
        if bytes.len() > MAX_PACKET {
            return Err(PacketError::TooLong(bytes.len()));
        }
        let opcode = be16(bytes, 0).ok_or(PacketError::TooShort(bytes.len()))?;
        let body = bytes.get(2..).unwrap_or_default();
        let request = |body: &[u8]| -> Result<(String, String), PacketError> {
            let (filename, rest) = take_string(body, "file name")?;
            let (mode, rest) = take_string(rest, "mode")?;
            // RFC 2347 options would follow here; an RFC 1350 peer sends none.
            if !rest.is_empty() {
                return Err(PacketError::Trailing(rest.len()));
            }
            Ok((filename, mode))
        };
        match opcode {
            1 => request(body).map(|(filename, mode)| Packet::Rrq { filename, mode }),
            2 => request(body).map(|(filename, mode)| Packet::Wrq { filename, mode }),
            3 => {
                let block = be16(bytes, 2).ok_or(PacketError::TooShort(bytes.len()))?;
                Ok(Packet::Data {
                    block,
                    data: bytes.get(4..).unwrap_or_default().to_vec(),
                })
            }
            4 => {
                let block = be16(bytes, 2).ok_or(PacketError::TooShort(bytes.len()))?;
                if bytes.len() > 4 {
                    return Err(PacketError::Trailing(bytes.len() - 4));
                }
                Ok(Packet::Ack { block })
            }
            5 => {
                let code = be16(bytes, 2).ok_or(PacketError::TooShort(bytes.len()))?;
                let (message, rest) = take_string(bytes.get(4..).unwrap_or_default(), "error message")?;
                if !rest.is_empty() {
                    return Err(PacketError::Trailing(rest.len()));
                }
                Ok(Packet::Error {
                    code: ErrorCode::from_code(code),
                    message,
                })
            }
            other => Err(PacketError::UnknownOpcode(other)),
        }
    }

    /// The datagram for this packet. Strings with NUL and DATA over [`BLOCK_SIZE`] bytes
    /// cannot be sent: see [`Packet::try_encode`]; this cuts strings at the first NUL and data
    /// at a block.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + BLOCK_SIZE);
        let string = |out: &mut Vec<u8>, s: &str| {
            out.extend(s.bytes().take_while(|&b| b != 0));
            out.push(0);
        };
        match self {
            Packet::Rrq { filename, mode } | Packet::Wrq { filename, mode } => {
                let op: u16 = if matches!(self, Packet::Rrq { .. }) { 1 } else { 2 };
                out.extend(op.to_be_bytes());
                string(&mut out, filename);
                string(&mut out, mode);
            }
            Packet::Data { block, data } => {
                out.extend(3u16.to_be_bytes());
                out.extend(block.to_be_bytes());
                out.extend(data.iter().take(BLOCK_SIZE));
            }
            Packet::Ack { block } => {
                out.extend(4u16.to_be_bytes());
                out.extend(block.to_be_bytes());
            }
            Packet::Error { code, message } => {
                out.extend(5u16.to_be_bytes());
                out.extend(code.code().to_be_bytes());
                string(&mut out, message);
            }
        }
        out
    }

    /// [`Packet::encode`], refusing what would not parse back the same.
    pub fn try_encode(&self) -> Result<Vec<u8>, PacketError> {
        match self {
            Packet::Rrq { filename, mode } | Packet::Wrq { filename, mode } => {
                if filename.contains('\0') {
                    return Err(PacketError::Nul("file name"));
                }
                if mode.contains('\0') {
                    return Err(PacketError::Nul("mode"));
                }
            }
            Packet::Data { data, .. } if data.len() > BLOCK_SIZE => {
                return Err(PacketError::TooLong(data.len() + 4));
            }
            Packet::Error { message, .. } if message.contains('\0') => {
                return Err(PacketError::Nul("error message"));
            }
            _ => {}
        }
        Ok(self.encode())
    }
}

/// Bounds of one transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest file accepted; past it the transfer ends with [`TransferError::TooLarge`].
    pub max_bytes: usize,
    /// Wait for the next packet before sending the last one again.
    pub retransmit_after: Duration,
    /// Retransmissions of one packet before giving up.
    pub max_retransmits: u32,
}

impl Default for Limits {
    /// 1 MiB (Chromium's PAC cap), 1 s, 5 retransmissions.
    fn default() -> Self {
        Limits {
            max_bytes: 1 << 20,
            retransmit_after: Duration::from_secs(1),
            max_retransmits: 5,
        }
    }
}

/// Why a transfer failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    /// The server sent an ERROR packet.
    #[error("the TFTP server answered error {code}: {message}")]
    Server {
        /// Its code.
        code: ErrorCode,
        /// Its message.
        message: String,
    },
    /// No answer after the last retransmission.
    #[error("no answer from the TFTP server after {retransmits} retransmissions (block {block})")]
    TimedOut {
        /// Retransmissions sent.
        retransmits: u32,
        /// The last block received (0 before the first).
        block: u16,
    },
    /// The file is larger than [`Limits::max_bytes`].
    #[error("the file is larger than {0} bytes")]
    TooLarge(usize),
    /// The server's transfer ID sent something that is not a TFTP packet.
    #[error("the TFTP server sent a malformed packet: {0}")]
    Malformed(PacketError),
    /// The server's transfer ID sent a packet a read transfer does not expect.
    #[error("the TFTP server sent an unexpected {0} packet")]
    Unexpected(&'static str),
}

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to.
    pub to: SocketAddr,
    /// The packet.
    pub payload: Vec<u8>,
}

/// What happened to the transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The transfer ended: the whole file, or why it failed. Comes once, after the last
    /// datagram of the transfer (the final ACK or our ERROR).
    Finished(Result<Vec<u8>, TransferError>),
}

/// What the host does next, from [`ReadTransfer::poll_output`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send this datagram.
    Transmit(Transmit),
    /// Report this.
    Event(Event),
    /// Call [`ReadTransfer::handle_timeout`] at this instant (reported when it changes; none
    /// is due once the transfer has finished).
    Timeout(Instant),
}

/// Downloading one file (RFC 1350 §4, read request in `octet` mode).
///
/// Driving shape (the workspace convention): inputs
/// [`handle_datagram`](ReadTransfer::handle_datagram) and
/// [`handle_timeout`](ReadTransfer::handle_timeout), each taking `now` first; outputs from
/// [`poll_output`](ReadTransfer::poll_output) until `None`.
#[derive(Debug)]
pub struct ReadTransfer {
    server: SocketAddr,
    /// The server's transfer ID, fixed by its first answer.
    tid: Option<SocketAddr>,
    limits: Limits,
    data: Vec<u8>,
    /// The last block received and acknowledged.
    block: u16,
    /// The packet to send again on timeout, and where.
    last: Transmit,
    retransmits: u32,
    deadline: Instant,
    queue: VecDeque<Transmit>,
    outcome: Option<Result<(), TransferError>>,
    /// Whether [`Event::Finished`] has been handed out.
    finished_reported: bool,
    reported_timeout: Option<Instant>,
}

impl ReadTransfer {
    /// Starts reading `filename` from `server` (port 69 usually); the read request is the
    /// first [`Output::Transmit`].
    pub fn new(server: SocketAddr, filename: &str, limits: Limits, now: Instant) -> Self {
        let rrq = Transmit {
            to: server,
            payload: Packet::Rrq {
                filename: filename.to_owned(),
                mode: "octet".to_owned(),
            }
            .encode(),
        };
        ReadTransfer {
            server,
            tid: None,
            deadline: now + limits.retransmit_after,
            limits,
            data: Vec::new(),
            block: 0,
            last: rrq.clone(),
            retransmits: 0,
            queue: VecDeque::from([rrq]),
            outcome: None,
            finished_reported: false,
            reported_timeout: None,
        }
    }

    /// The next thing to do: datagrams in order, then [`Event::Finished`] once the transfer
    /// has ended, then the deadline when it changed; `None` when there is nothing new.
    pub fn poll_output(&mut self) -> Option<Output> {
        if let Some(t) = self.queue.pop_front() {
            return Some(Output::Transmit(t));
        }
        if let Some(outcome) = &self.outcome {
            if !self.finished_reported {
                self.finished_reported = true;
                self.reported_timeout = None;
                let result = outcome.clone().map(|()| self.data.clone());
                return Some(Output::Event(Event::Finished(result)));
            }
            return None;
        }
        if self.reported_timeout == Some(self.deadline) {
            return None;
        }
        self.reported_timeout = Some(self.deadline);
        Some(Output::Timeout(self.deadline))
    }

    /// The file once complete, or why the transfer failed; `None` while running (the same as
    /// [`Event::Finished`], without copying the file).
    pub fn result(&self) -> Option<Result<&[u8], &TransferError>> {
        self.outcome
            .as_ref()
            .map(|o| o.as_ref().map(|()| self.data.as_slice()))
    }

    /// The file, when the transfer completed.
    pub fn into_result(self) -> Option<Result<Vec<u8>, TransferError>> {
        let data = self.data;
        self.outcome.map(|o| o.map(|()| data))
    }

    /// Time passed: send the last packet again, or give up.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.outcome.is_some() || now < self.deadline {
            return;
        }
        if self.retransmits >= self.limits.max_retransmits {
            self.outcome = Some(Err(TransferError::TimedOut {
                retransmits: self.retransmits,
                block: self.block,
            }));
            return;
        }
        self.retransmits += 1;
        self.deadline = now + self.limits.retransmit_after;
        self.queue.push_back(self.last.clone());
    }

    fn fail(&mut self, to: SocketAddr, code: ErrorCode, message: &str, error: TransferError) {
        self.queue.push_back(Transmit {
            to,
            payload: Packet::Error {
                code,
                message: message.to_owned(),
            }
            .encode(),
        });
        self.outcome = Some(Err(error));
    }

    /// A datagram arrived from `from`.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) {
        if self.outcome.is_some() {
            return;
        }
        match self.tid {
            // RFC 1350 §4: a packet from another port is answered with error 5 and
            // otherwise ignored; the transfer goes on.
            Some(tid) if tid != from => {
                self.queue.push_back(Transmit {
                    to: from,
                    payload: Packet::Error {
                        code: ErrorCode::UnknownTransferId,
                        message: "unknown transfer ID".to_owned(),
                    }
                    .encode(),
                });
                return;
            }
            // The first answer must come from the server's host (another port is its TID).
            None if from.ip() != self.server.ip() => return,
            _ => {}
        }
        let packet = match Packet::parse(bytes) {
            Ok(p) => p,
            Err(e) => {
                self.tid.get_or_insert(from);
                self.fail(
                    from,
                    ErrorCode::IllegalOperation,
                    "malformed packet",
                    TransferError::Malformed(e),
                );
                return;
            }
        };
        match packet {
            Packet::Data { block, data } => {
                let expected = self.block.wrapping_add(1);
                if block == expected {
                    self.tid.get_or_insert(from);
                    if self.data.len() + data.len() > self.limits.max_bytes {
                        self.fail(
                            from,
                            ErrorCode::DiskFull,
                            "file too large",
                            TransferError::TooLarge(self.limits.max_bytes),
                        );
                        return;
                    }
                    self.data.extend_from_slice(&data);
                    self.block = block;
                    let ack = Transmit {
                        to: from,
                        payload: Packet::Ack { block }.encode(),
                    };
                    self.queue.push_back(ack.clone());
                    self.last = ack;
                    self.retransmits = 0;
                    self.deadline = now + self.limits.retransmit_after;
                    if data.len() < BLOCK_SIZE {
                        self.outcome = Some(Ok(()));
                    }
                } else if self.tid.is_some() && block == self.block {
                    // Our ACK was lost: acknowledge the duplicate again (RFC 1123 §4.2.3.1:
                    // never resend DATA on a duplicate ACK; a client re-ACKs duplicates).
                    self.queue.push_back(self.last.clone());
                }
                // Anything else is an old duplicate: ignored.
            }
            Packet::Error { code, message } => {
                self.outcome = Some(Err(TransferError::Server { code, message }));
            }
            Packet::Rrq { .. } | Packet::Wrq { .. } | Packet::Ack { .. } => {
                let what = match bytes.get(1) {
                    Some(1) => "RRQ",
                    Some(2) => "WRQ",
                    _ => "ACK",
                };
                self.tid.get_or_insert(from);
                self.fail(
                    from,
                    ErrorCode::IllegalOperation,
                    "unexpected packet",
                    TransferError::Unexpected(what),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap_or_else(|e| unreachable!("{e}"))
    }

    fn data(block: u16, len: usize) -> Vec<u8> {
        Packet::Data {
            block,
            data: vec![b'x'; len],
        }
        .encode()
    }

    /// The datagrams `t` wants sent now (deadlines and events are left in `outputs`).
    fn drain(t: &mut ReadTransfer) -> Vec<(SocketAddr, Packet)> {
        outputs(t)
            .into_iter()
            .filter_map(|o| match o {
                Output::Transmit(x) => Some((
                    x.to,
                    Packet::parse(&x.payload).unwrap_or_else(|e| unreachable!("{e}")),
                )),
                _ => None,
            })
            .collect()
    }

    fn outputs(t: &mut ReadTransfer) -> Vec<Output> {
        std::iter::from_fn(|| t.poll_output()).collect()
    }

    /// The deadline among `outputs`.
    fn timeout(outputs: &[Output]) -> Option<Instant> {
        outputs.iter().find_map(|o| match o {
            Output::Timeout(at) => Some(*at),
            _ => None,
        })
    }

    #[test]
    fn codec_round_trips_rfc_1350_examples() {
        let cases = [
            (
                Packet::Rrq {
                    filename: "proxy.pac".into(),
                    mode: "octet".into(),
                },
                &b"\0\x01proxy.pac\0octet\0"[..],
            ),
            (Packet::Ack { block: 258 }, &b"\0\x04\x01\x02"[..]),
            (
                Packet::Error {
                    code: ErrorCode::FileNotFound,
                    message: "File not found".into(),
                },
                &b"\0\x05\0\x01File not found\0"[..],
            ),
            (
                Packet::Data {
                    block: 1,
                    data: b"ab".to_vec(),
                },
                &b"\0\x03\0\x01ab"[..],
            ),
        ];
        for (packet, wire) in cases {
            assert_eq!(packet.try_encode().as_deref(), Ok(wire));
            assert_eq!(Packet::parse(wire), Ok(packet));
        }
        assert_eq!(Packet::parse(b"\0"), Err(PacketError::TooShort(1)));
        assert_eq!(Packet::parse(b"\0\x09"), Err(PacketError::UnknownOpcode(9)));
        assert_eq!(
            Packet::parse(b"\0\x01name"),
            Err(PacketError::Unterminated("file name"))
        );
        assert_eq!(Packet::parse(b"\0\x04\0\x01\0"), Err(PacketError::Trailing(1)));
        assert_eq!(
            Packet::parse(&[0u8; MAX_PACKET + 1]),
            Err(PacketError::TooLong(MAX_PACKET + 1))
        );
        let nul = Packet::Error {
            code: ErrorCode::NotDefined,
            message: "a\0b".into(),
        };
        assert_eq!(nul.try_encode(), Err(PacketError::Nul("error message")));
    }

    #[test]
    fn multi_block_transfer_with_lost_ack_and_stray_port() {
        let server = addr("127.0.0.1:69");
        let tid = addr("127.0.0.1:5000");
        let t0 = Instant::now();
        let mut t = ReadTransfer::new(server, "f", Limits::default(), t0);
        drain(&mut t);
        t.handle_datagram(t0, tid, &data(1, BLOCK_SIZE));
        assert_eq!(drain(&mut t), [(tid, Packet::Ack { block: 1 })]);
        // Our ACK 1 was lost: the server sends block 1 again, we acknowledge it again.
        t.handle_datagram(t0, tid, &data(1, BLOCK_SIZE));
        assert_eq!(drain(&mut t), [(tid, Packet::Ack { block: 1 })]);
        // Another port is not the server's transfer: error 5 there, the transfer goes on.
        let stray = addr("127.0.0.1:5001");
        t.handle_datagram(t0, stray, &data(2, 3));
        assert!(matches!(
            drain(&mut t).as_slice(),
            [(to, Packet::Error { code: ErrorCode::UnknownTransferId, .. })] if *to == stray
        ));
        // Silence: the ACK goes again after the timeout.
        let later = t0 + Duration::from_secs(1);
        t.handle_timeout(later);
        assert_eq!(drain(&mut t), [(tid, Packet::Ack { block: 1 })]);
        t.handle_datagram(later, tid, &data(2, 3));
        let out = outputs(&mut t);
        let ack2 = Packet::Ack { block: 2 }.encode();
        let file = vec![b'x'; BLOCK_SIZE + 3];
        assert_eq!(
            out,
            [
                Output::Transmit(Transmit {
                    to: tid,
                    payload: ack2
                }),
                Output::Event(Event::Finished(Ok(file.clone()))),
            ]
        );
        assert_eq!(t.result().map(|r| r.map(<[u8]>::len)), Some(Ok(BLOCK_SIZE + 3)));
        // Finished: nothing more, not even a deadline, whatever comes.
        t.handle_timeout(later + Duration::from_secs(10));
        t.handle_datagram(later, tid, &data(3, 3));
        assert_eq!(t.poll_output(), None);
        assert_eq!(t.into_result(), Some(Ok(file)));
    }

    #[test]
    fn rrq_is_retransmitted_then_times_out() {
        let server = addr("127.0.0.1:69");
        let t0 = Instant::now();
        let limits = Limits {
            max_retransmits: 2,
            ..Limits::default()
        };
        let mut t = ReadTransfer::new(server, "f", limits, t0);
        let first = outputs(&mut t);
        let rrq = first
            .iter()
            .filter(|o| matches!(o, Output::Transmit(_)))
            .cloned()
            .collect::<Vec<_>>();
        let mut deadline = timeout(&first);
        assert_eq!(deadline, Some(t0 + Duration::from_secs(1)));
        for _ in 0..2 {
            let now = deadline.unwrap_or(t0);
            // Early: nothing.
            t.handle_timeout(now - Duration::from_millis(1));
            assert_eq!(t.poll_output(), None);
            t.handle_timeout(now);
            let out = outputs(&mut t);
            assert_eq!(out.get(..1), Some(rrq.as_slice()));
            deadline = timeout(&out);
            assert_eq!(deadline, Some(now + Duration::from_secs(1)));
        }
        t.handle_timeout(deadline.unwrap_or(t0));
        let gave_up = TransferError::TimedOut {
            retransmits: 2,
            block: 0,
        };
        assert_eq!(
            outputs(&mut t),
            [Output::Event(Event::Finished(Err(gave_up.clone())))]
        );
        assert_eq!(
            t.result(),
            Some(Err(&TransferError::TimedOut {
                retransmits: 2,
                block: 0
            }))
        );
    }

    #[test]
    fn errors_size_cap_and_block_wrap() {
        let server = addr("127.0.0.1:69");
        let tid = addr("127.0.0.1:5000");
        let t0 = Instant::now();
        let mut t = ReadTransfer::new(server, "f", Limits::default(), t0);
        let not_found = Packet::Error {
            code: ErrorCode::FileNotFound,
            message: "File not found".into(),
        };
        t.handle_datagram(t0, tid, &not_found.encode());
        assert_eq!(
            t.into_result(),
            Some(Err(TransferError::Server {
                code: ErrorCode::FileNotFound,
                message: "File not found".into()
            }))
        );

        let limits = Limits {
            max_bytes: 1000,
            ..Limits::default()
        };
        let mut t = ReadTransfer::new(server, "f", limits, t0);
        drain(&mut t);
        t.handle_datagram(t0, tid, &data(1, BLOCK_SIZE));
        t.handle_datagram(t0, tid, &data(2, BLOCK_SIZE));
        let sent = drain(&mut t);
        assert!(matches!(
            sent.last(),
            Some((to, Packet::Error { code: ErrorCode::DiskFull, .. })) if *to == tid
        ));
        assert_eq!(t.into_result(), Some(Err(TransferError::TooLarge(1000))));

        // Block numbers wrap from 65535 to 0.
        let limits = Limits {
            max_bytes: usize::MAX,
            ..Limits::default()
        };
        let mut t = ReadTransfer::new(server, "f", limits, t0);
        for n in 1..=65_536u32 {
            let block = u16::try_from(n % 65_536).unwrap_or(0);
            t.handle_datagram(t0, tid, &data(block, BLOCK_SIZE));
        }
        t.handle_datagram(t0, tid, &data(1, 0));
        assert_eq!(
            t.into_result().map(|r| r.map(|d| d.len())),
            Some(Ok(65_536 * BLOCK_SIZE))
        );
    }

    #[test]
    fn the_first_answer_must_come_from_the_servers_host() {
        let server = addr("127.0.0.1:69");
        let t0 = Instant::now();
        let mut t = ReadTransfer::new(server, "f", Limits::default(), t0);
        drain(&mut t);
        t.handle_datagram(t0, addr("127.0.0.2:5000"), &data(1, 3));
        assert_eq!(t.result(), None);
        t.handle_datagram(t0, addr("127.0.0.1:5000"), b"\0\x09");
        assert_eq!(
            t.result(),
            Some(Err(&TransferError::Malformed(PacketError::UnknownOpcode(9))))
        );
    }
}
