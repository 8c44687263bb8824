//! Recorded conversations: the transfer driven through `poll_output` gives the same datagrams,
//! deadlines and result, step by step, as the transfer did before the workspace convention
//! (`poll_transmit`/`poll_timeout`/`result`, recorded in `tests/recorded/*.txt` from that API).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tftp_proto::{BLOCK_SIZE, ErrorCode, Event, Limits, Output, Packet, ReadTransfer};

/// One input to the transfer.
enum Step {
    /// A datagram from a port of 127.0.0.1 (or another host when `host` is not 1).
    Datagram { host: u8, port: u16, bytes: Vec<u8> },
    /// Time passes by this many milliseconds, then `handle_timeout`.
    Wait(u64),
}

fn data(block: u16, len: usize, fill: u8) -> Step {
    Step::Datagram {
        host: 1,
        port: 5000,
        bytes: Packet::Data {
            block,
            data: vec![fill; len],
        }
        .encode(),
    }
}

fn hex(bytes: &[u8]) -> String {
    if bytes.len() > 8 {
        let sum: u32 = bytes.iter().map(|&b| u32::from(b)).sum();
        format!(
            "{}..({} bytes, sum {sum})",
            hex(bytes.get(..8).unwrap_or(bytes)),
            bytes.len()
        )
    } else {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

fn conversations() -> Vec<(&'static str, Limits, Vec<Step>)> {
    let small = Limits {
        max_bytes: 1000,
        retransmit_after: Duration::from_millis(700),
        max_retransmits: 2,
    };
    vec![
        (
            "lost RRQ, lost ACK, stray port, three blocks",
            Limits::default(),
            vec![
                Step::Wait(1000),
                data(1, BLOCK_SIZE, b'a'),
                data(1, BLOCK_SIZE, b'a'),
                Step::Datagram {
                    host: 1,
                    port: 5001,
                    bytes: Packet::Data {
                        block: 2,
                        data: b"stray".to_vec(),
                    }
                    .encode(),
                },
                Step::Wait(400),
                Step::Wait(600),
                data(2, BLOCK_SIZE, b'b'),
                data(3, 100, b'c'),
                Step::Wait(5000),
            ],
        ),
        (
            "server error",
            Limits::default(),
            vec![Step::Datagram {
                host: 1,
                port: 5000,
                bytes: Packet::Error {
                    code: ErrorCode::FileNotFound,
                    message: "File not found".into(),
                }
                .encode(),
            }],
        ),
        (
            "answer from another host, then malformed",
            Limits::default(),
            vec![
                Step::Datagram {
                    host: 2,
                    port: 5000,
                    bytes: b"\0\x03\0\x01x".to_vec(),
                },
                Step::Datagram {
                    host: 1,
                    port: 5000,
                    bytes: b"\0\x09".to_vec(),
                },
            ],
        ),
        (
            "too large",
            small.clone(),
            vec![data(1, BLOCK_SIZE, b'a'), data(2, BLOCK_SIZE, b'b')],
        ),
        (
            "unexpected ACK",
            Limits::default(),
            vec![Step::Datagram {
                host: 1,
                port: 5000,
                bytes: b"\0\x04\0\x01".to_vec(),
            }],
        ),
        (
            "silence until giving up",
            small,
            vec![Step::Wait(700), Step::Wait(700), Step::Wait(700), Step::Wait(700)],
        ),
    ]
}

/// Drives one conversation through `poll_output`, logging what the host sees after each input
/// in the recording's words: datagrams sent, the pending deadline (the last `Output::Timeout`,
/// none after `Event::Finished`) and, once finished, the result.
fn drive(limits: Limits, steps: &[Step]) -> String {
    let server = SocketAddr::from(([127, 0, 0, 1], 69));
    let t0 = Instant::now();
    let mut now = t0;
    let mut t = ReadTransfer::new(server, "proxy.pac", limits, t0);
    let mut log = String::new();
    let mut deadline = None;
    let mut finished = None;
    let mut report = |t: &mut ReadTransfer, log: &mut String| {
        while let Some(out) = t.poll_output() {
            match out {
                Output::Transmit(x) => {
                    let _ = writeln!(log, "send {} {}", x.to, hex(&x.payload));
                }
                Output::Timeout(at) => deadline = Some(at),
                Output::Event(Event::Finished(result)) => {
                    assert!(finished.is_none(), "Finished twice");
                    deadline = None;
                    finished = Some(result);
                }
            }
        }
        let _ = writeln!(
            log,
            "deadline {:?}",
            deadline.map(|d: Instant| d.saturating_duration_since(t0).as_millis())
        );
        if let Some(r) = &finished {
            let _ = writeln!(
                log,
                "result {:?}",
                r.as_deref().map(hex).map_err(ToString::to_string)
            );
        }
    };
    report(&mut t, &mut log);
    for step in steps {
        match step {
            Step::Datagram { host, port, bytes } => {
                let _ = writeln!(log, "recv {host}:{port} {}", hex(bytes));
                let from = SocketAddr::from(([127, 0, 0, *host], *port));
                t.handle_datagram(now, from, bytes);
            }
            Step::Wait(ms) => {
                now += Duration::from_millis(*ms);
                let _ = writeln!(log, "timeout +{}", now.saturating_duration_since(t0).as_millis());
                t.handle_timeout(now);
            }
        }
        report(&mut t, &mut log);
    }
    // The transfer's own view agrees with the event.
    assert_eq!(
        t.result().map(|r| r.map(<[u8]>::to_vec).map_err(Clone::clone)),
        finished
    );
    log
}

#[test]
fn same_datagrams_deadlines_and_results_as_recorded() {
    let conversations = conversations();
    assert_eq!(conversations.len(), 6);
    for (name, limits, steps) in conversations {
        let file = format!(
            "{}/tests/recorded/{}.txt",
            env!("CARGO_MANIFEST_DIR"),
            name.replace([' ', ','], "_")
        );
        let recorded = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(drive(limits, &steps), recorded, "{name}");
    }
}
