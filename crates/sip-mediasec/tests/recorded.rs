//! A recorded conversation: the agreement driven through the workspace shape
//! (`prepare_request(now, …)`, `handle_response(now, …)`, `poll_output`) gives the same
//! requests, verdicts and events, step by step, as it did before the convention
//! (`poll_event`, no time; recorded in `tests/recorded/*.txt` from that API).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::time::Instant;

use sip_mediasec::{Agreement, Output, Policy, Transport};
use sip_message::build::Request;
use sip_message::{Message, Method};

enum Step {
    Send(Method),
    Recv(u16, &'static str, &'static [(&'static str, &'static str)]),
}

fn response(code: u16, method: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut s = format!(
        "SIP/2.0 {code} Whatever\r\nVia: SIP/2.0/TLS 192.0.2.10;branch=z9hG4bK1\r\n\
         From: <sip:a@example.com>;tag=1\r\nTo: <sip:a@example.com>;tag=2\r\nCall-ID: c1\r\nCSeq: 1 {method}\r\n"
    );
    for (n, v) in extra {
        s.push_str(&format!("{n}: {v}\r\n"));
    }
    s.push_str("Content-Length: 0\r\n\r\n");
    s.into_bytes()
}

const LIST_A: &[(&str, &str)] = &[
    (
        "WWW-Authenticate",
        "Digest realm=\"x\", nonce=\"abc\", qop=\"auth\"",
    ),
    ("Security-Server", "msrp-tls;mediasec"),
    ("Security-Server", "sdes-srtp;mediasec;q=0.1"),
    ("Security-Server", "dtls-srtp;mediasec;q=0.2"),
];
const LIST_B: &[(&str, &str)] = &[("Security-Server", "sdes-srtp;mediasec")];
const DEMAND_421: &[(&str, &str)] = &[("Require", "mediasec"), ("Security-Server", "sdes-srtp;mediasec")];
const MALFORMED: &[(&str, &str)] = &[("Security-Server", ";;;")];

fn conversations() -> Vec<(&'static str, Policy, Transport, Vec<Step>)> {
    use Step::{Recv, Send};
    let full = || {
        vec![
            Send(Method::Register),
            Recv(100, "REGISTER", &[]),
            Recv(401, "REGISTER", LIST_A),
            Send(Method::Register),
            Recv(200, "REGISTER", &[]),
            Send(Method::Invite),
            Recv(200, "INVITE", &[]),
            Send(Method::Ack),
            Send(Method::Register),
            Recv(494, "REGISTER", LIST_B),
            Send(Method::Register),
            Recv(494, "REGISTER", LIST_B),
            Send(Method::Register),
            Recv(494, "REGISTER", LIST_B),
            Send(Method::Register),
            Recv(200, "REGISTER", MALFORMED),
            Recv(421, "REGISTER", DEMAND_421),
            Send(Method::Register),
            Recv(200, "REGISTER", LIST_B),
        ]
    };
    vec![
        (
            "client initiated over TLS",
            Policy::client_initiated(),
            Transport::Tls,
            full(),
        ),
        (
            "server initiated over TLS",
            Policy::server_initiated(),
            Transport::Tls,
            full(),
        ),
        (
            "TLS only, on UDP",
            Policy {
                over_tls_only: true,
                ..Policy::client_initiated()
            },
            Transport::Udp,
            full(),
        ),
    ]
}

/// Drives one conversation, logging in the recording's words: each request as sent, each
/// response's verdict, and the events after each step.
fn drive(policy: Policy, transport: Transport, steps: &[Step]) -> String {
    let now = Instant::now();
    let mut a = Agreement::new(policy, transport);
    let mut log = String::new();
    let events = |a: &mut Agreement, log: &mut String| {
        while let Some(Output::Event(e)) = a.poll_output() {
            let _ = writeln!(log, "event {e:?}");
        }
    };
    events(&mut a, &mut log);
    for step in steps {
        match step {
            Step::Send(method) => {
                let mut r = Request::new(method.clone(), "sip:example.com");
                a.prepare_request(now, &mut r);
                let _ = writeln!(log, "send {:?}", String::from_utf8_lossy(&r.to_bytes()));
            }
            Step::Recv(code, method, extra) => {
                let bytes = response(*code, method, extra);
                let m = Message::parse(&bytes).unwrap();
                let _ = writeln!(log, "recv {code} {method} -> {:?}", a.handle_response(now, &m));
            }
        }
        events(&mut a, &mut log);
    }
    log
}

#[test]
fn same_requests_verdicts_and_events_as_recorded() {
    let conversations = conversations();
    assert_eq!(conversations.len(), 3);
    for (name, policy, transport, steps) in conversations {
        let file = format!(
            "{}/tests/recorded/{}.txt",
            env!("CARGO_MANIFEST_DIR"),
            name.replace([' ', ','], "_")
        );
        let recorded = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(drive(policy, transport, &steps), recorded, "{name}");
    }
}
