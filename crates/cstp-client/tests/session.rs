//! The client against ocserv's own words (responses captured from ocserv 1.1.6 with the
//! `plain` auth module and two groups), in virtual time.

use std::time::{Duration, Instant};

use cstp_client::{Client, Config, Error, Event, Output, SecretString, TlsAction, TlsClosed};

type R = Result<(), Box<dyn std::error::Error>>;

fn xml_response(extra_headers: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\n{extra_headers}Content-Type: text/xml\r\nContent-Length: {}\r\nX-Transcend-Version: 1\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

const USERNAME_FORM: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<config-auth client="vpn" type="auth-request">
<version who="sg">0.1(1)</version>
<auth id="main">
<message>Please enter your username.</message>
<form method="post" action="/auth">
<input type="text" name="username" label="Username:" />
<select name="group_list" label="Group:">
<option value="sales">sales</option>
<option value="eng">Engineering</option>
</select>
</form></auth>
</config-auth>"#;

const PASSWORD_FORM: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<config-auth client="vpn" type="auth-request">
<version who="sg">0.1(1)</version>
<auth id="main">
<message>Please enter your password.</message>
<form method="post" action="/auth">
<input type="password" name="password" label="Password:" />
</form></auth>
</config-auth>"#;

const LOGIN_FAILED_FORM: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<config-auth client="vpn" type="auth-request">
<version who="sg">0.1(1)</version>
<auth id="main">
<message>Login failed.
Please enter your password.</message>
<form method="post" action="/auth">
<input type="password" name="password" label="Password:" />
</form></auth>
</config-auth>"#;

const COMPLETE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<config-auth client="vpn" type="complete">
<version who="sg">0.1(1)</version>
<auth id="success">
<title>SSL VPN Service</title></auth></config-auth>"#;

const CONNECTED: &[u8] =
    b"HTTP/1.1 200 CONNECTED\r\nX-CSTP-Version: 1\r\nX-CSTP-Server-Name: ocserv 1.1.6\r\n\
X-CSTP-DPD: 60\r\nX-CSTP-Address: 10.79.0.50\r\nX-CSTP-Netmask: 255.255.255.0\r\nX-CSTP-DNS: 10.78.0.53\r\n\
X-CSTP-Split-Include: 10.78.0.0/255.255.255.0\r\nX-CSTP-Keepalive: 300\r\nX-CSTP-Rekey-Time: 172800\r\n\
X-CSTP-Rekey-Method: ssl\r\nX-CSTP-Base-MTU: 1500\r\nX-CSTP-MTU: 1472\r\n\r\n";

fn drain(c: &mut Client) -> Vec<Output> {
    std::iter::from_fn(|| c.poll_output()).collect()
}

fn writes(outs: &[Output]) -> Vec<String> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Tls(TlsAction::Write(w)) => Some(String::from_utf8_lossy(w).into_owned()),
            _ => None,
        })
        .collect()
}

fn closed(outs: &[Output]) -> Option<Option<Error>> {
    outs.iter().find_map(|o| match o {
        Output::Event(Event::Closed(e)) => Some(e.clone()),
        _ => None,
    })
}

fn config(group: Option<&str>, password: &str) -> Config {
    let mut c = Config::new("vpn.example.test", "alice", SecretString::new(password));
    c.group = group.map(str::to_owned);
    c
}

/// Logs in and brings the tunnel up; returns the client and the time.
fn up(t0: Instant) -> Result<Client, Box<dyn std::error::Error>> {
    let mut c = Client::new(config(Some("sales"), "secret1"), t0);
    assert_eq!(drain(&mut c).first(), Some(&Output::Tls(TlsAction::Open)));
    c.handle_tls_connected(t0);
    let w = writes(&drain(&mut c));
    assert!(!w.first().ok_or("no init")?.contains("<group-select>"));
    // The offered group is selected with a second init, as openconnect does.
    c.handle_tls_data(t0, &xml_response("", USERNAME_FORM));
    let w = writes(&drain(&mut c));
    let init = w.first().ok_or("no second init")?;
    assert!(init.starts_with("POST /auth HTTP/1.1\r\n"), "{init}");
    assert!(
        init.contains("type=\"init\"") && init.contains("<group-select>sales</group-select>"),
        "{init}"
    );
    c.handle_tls_data(t0, &xml_response("", USERNAME_FORM));
    let w = writes(&drain(&mut c));
    let reply = w.first().ok_or("no username reply")?;
    assert!(reply.starts_with("POST /auth HTTP/1.1\r\n"), "{reply}");
    assert!(reply.contains("<auth><username>alice</username></auth><group-select>sales</group-select>"));
    c.handle_tls_data(
        t0,
        &xml_response(
            "Set-Cookie: webvpncontext=CTX=; Max-Age=300; Secure; HttpOnly\r\n",
            PASSWORD_FORM,
        ),
    );
    let w = writes(&drain(&mut c));
    let reply = w.first().ok_or("no password reply")?;
    assert!(reply.contains("Cookie: webvpncontext=CTX=\r\n"));
    assert!(reply.contains("<auth><password>secret1</password></auth>"));
    c.handle_tls_data(
        t0,
        &xml_response(
            "Connection: Keep-Alive\r\nSet-Cookie: webvpn=SESSION=; Secure; HttpOnly\r\nSet-Cookie: webvpnc=; expires=Thu, 01 Jan 1970 22:00:00 GMT; path=/\r\n",
            COMPLETE,
        ),
    );
    let outs = drain(&mut c);
    assert_eq!(outs.first(), Some(&Output::Event(Event::Authenticated)));
    let w = writes(&outs);
    let connect = w.first().ok_or("no CONNECT")?;
    assert!(connect.starts_with("CONNECT /CSCOSSLC/tunnel HTTP/1.1\r\n"));
    assert!(connect.contains("\r\nCookie: webvpn=SESSION=\r\n"));
    assert!(!connect.contains("X-DTLS"), "no DTLS offered");
    let mut bytes = CONNECTED.to_vec();
    bytes.extend_from_slice(b"STF\x01\x00\x02\x00\x00hi");
    c.handle_tls_data(t0, &bytes);
    let outs = drain(&mut c);
    let Some(Output::Event(Event::Connected(t))) = outs.first() else {
        return Err(format!("not connected: {outs:?}").into());
    };
    assert_eq!(t.address, Some([10, 79, 0, 50].into()));
    assert_eq!(outs.get(1), Some(&Output::Tun(b"hi".to_vec())));
    assert_eq!(
        outs.get(2),
        Some(&Output::Timeout(Some(t0 + Duration::from_secs(60))))
    );
    Ok(c)
}

#[test]
fn ocserv_login_and_data() -> R {
    let t0 = Instant::now();
    let mut c = up(t0)?;
    assert!(c.handle_tun_packet(t0, &[0x45; 40]));
    assert_eq!(writes(&drain(&mut c)).len(), 1);
    assert_eq!((c.stats().bytes_sent, c.stats().bytes_received), (40, 2));
    // A DPD request is answered with the same payload.
    c.handle_tls_data(t0, b"STF\x01\x00\x03\x03\x00abc");
    assert_eq!(
        drain(&mut c).first(),
        Some(&Output::Tls(TlsAction::Write(
            b"STF\x01\x00\x03\x04\x00abc".to_vec()
        )))
    );
    Ok(())
}

#[test]
fn wrong_password_is_refused_with_the_servers_message() -> R {
    let t0 = Instant::now();
    let mut c = Client::new(config(None, "wrong"), t0);
    drain(&mut c);
    c.handle_tls_connected(t0);
    drain(&mut c);
    c.handle_tls_data(t0, &xml_response("", USERNAME_FORM));
    let w = writes(&drain(&mut c));
    assert!(
        !w.first().ok_or("no reply")?.contains("group-select"),
        "no group configured"
    );
    c.handle_tls_data(t0, &xml_response("", PASSWORD_FORM));
    drain(&mut c);
    c.handle_tls_data(t0, &xml_response("", LOGIN_FAILED_FORM));
    let outs = drain(&mut c);
    assert_eq!(
        closed(&outs),
        Some(Some(Error::AuthRefused {
            message: "Login failed. Please enter your password.".into()
        }))
    );
    assert!(c.is_closed());
    assert_eq!(
        outs.last(),
        Some(&Output::Timeout(None)),
        "closed: the timer is disarmed"
    );
    Ok(())
}

#[test]
fn group_not_offered_and_401() -> R {
    let t0 = Instant::now();
    let mut c = Client::new(config(Some("finance"), "x"), t0);
    drain(&mut c);
    c.handle_tls_connected(t0);
    drain(&mut c);
    c.handle_tls_data(t0, &xml_response("", USERNAME_FORM));
    let err = closed(&drain(&mut c)).flatten().ok_or("not closed")?;
    assert_eq!(
        err.to_string(),
        "tunnel group `finance` is not offered by the server (it offers: sales, eng (Engineering))"
    );

    let mut c = Client::new(config(Some("eng"), "secret1"), t0);
    drain(&mut c);
    c.handle_tls_connected(t0);
    drain(&mut c);
    c.handle_tls_data(t0, &xml_response("", USERNAME_FORM));
    drain(&mut c);
    c.handle_tls_data(t0, &xml_response("", USERNAME_FORM));
    drain(&mut c);
    c.handle_tls_data(t0, &xml_response("", PASSWORD_FORM));
    drain(&mut c);
    c.handle_tls_data(
        t0,
        b"HTTP/1.1 401 Authentication failed\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(
        closed(&drain(&mut c)),
        Some(Some(Error::AuthRefused {
            message: "Authentication failed".into()
        }))
    );
    Ok(())
}

#[test]
fn certificate_refused_ends_the_session() {
    let t0 = Instant::now();
    let mut c = Client::new(config(None, "x"), t0);
    drain(&mut c);
    c.handle_tls_closed(t0, TlsClosed::Refused("certificate not valid for name".into()));
    let outs = drain(&mut c);
    assert_eq!(
        closed(&outs),
        Some(Some(Error::TlsRefused("certificate not valid for name".into())))
    );
}

#[test]
fn dpd_then_dead_peer_then_reconnect_with_cookie_then_fresh_login() -> R {
    let t0 = Instant::now();
    let mut c = up(t0)?;
    let s = Duration::from_secs;
    // 60 s of silence: a DPD request; then every 30 s; at 120 s the peer is dead.
    c.handle_timeout(t0 + s(60));
    let outs = drain(&mut c);
    assert_eq!(
        outs.first(),
        Some(&Output::Tls(TlsAction::Write(
            b"STF\x01\x00\x00\x03\x00".to_vec()
        )))
    );
    assert_eq!(outs.get(1), Some(&Output::Timeout(Some(t0 + s(90)))));
    c.handle_timeout(t0 + s(90));
    assert_eq!(writes(&drain(&mut c)).len(), 1);
    c.handle_timeout(t0 + s(120));
    let outs = drain(&mut c);
    assert_eq!(outs.first(), Some(&Output::Tls(TlsAction::Close)));
    assert!(matches!(
        outs.get(1),
        Some(Output::Event(Event::Down { reason: Error::PeerDead { .. }, retry_at })) if *retry_at == t0 + s(121)
    ));
    // Retry: a new connection, CONNECT with the same cookie and the old address.
    c.handle_timeout(t0 + s(121));
    assert_eq!(drain(&mut c).first(), Some(&Output::Tls(TlsAction::Open)));
    c.handle_tls_closed(t0 + s(122), TlsClosed::Lost("connection refused".into()));
    let outs = drain(&mut c);
    assert!(
        matches!(outs.first(), Some(Output::Event(Event::Down { retry_at, .. })) if *retry_at == t0 + s(124))
    );
    c.handle_timeout(t0 + s(124));
    drain(&mut c);
    c.handle_tls_connected(t0 + s(124));
    let w = writes(&drain(&mut c));
    let connect = w.first().ok_or("no CONNECT")?;
    assert!(
        connect.contains("Cookie: webvpn=SESSION=\r\n") && connect.contains("X-CSTP-Address: 10.79.0.50\r\n")
    );
    // ocserv restarted: the cookie is unknown; log in again from the start.
    c.handle_tls_data(
        t0 + s(124),
        b"HTTP/1.1 401 Cookie is not acceptable\r\nContent-Length: 0\r\n\r\n",
    );
    let outs = drain(&mut c);
    assert_eq!(outs.first(), Some(&Output::Tls(TlsAction::Close)));
    assert_eq!(outs.get(1), Some(&Output::Tls(TlsAction::Open)));
    c.handle_tls_connected(t0 + s(124));
    assert!(
        writes(&drain(&mut c))
            .first()
            .ok_or("no init")?
            .contains("type=\"init\"")
    );
    Ok(())
}

#[test]
fn keepalive_and_logout() -> R {
    let t0 = Instant::now();
    let mut c = up(t0)?;
    c.handle_tls_data(t0 + Duration::from_secs(299), b"STF\x01\x00\x00\x07\x00");
    c.handle_timeout(t0 + Duration::from_secs(300));
    let outs = drain(&mut c);
    assert_eq!(
        outs.first(),
        Some(&Output::Tls(TlsAction::Write(
            b"STF\x01\x00\x00\x07\x00".to_vec()
        )))
    );
    c.disconnect(t0 + Duration::from_secs(301));
    let outs = drain(&mut c);
    assert_eq!(
        outs.first(),
        Some(&Output::Tls(TlsAction::Write(
            b"STF\x01\x00\x0e\x05\x00\xb0Client logout".to_vec()
        )))
    );
    assert_eq!(outs.get(1), Some(&Output::Tls(TlsAction::Close)));
    assert_eq!(closed(&outs), Some(None));
    Ok(())
}

#[test]
fn server_disconnect_and_terminate_are_retried() -> R {
    let t0 = Instant::now();
    let mut c = up(t0)?;
    c.handle_tls_data(t0, b"STF\x01\x00\x00\x09\x00");
    assert!(matches!(
        drain(&mut c).get(1),
        Some(Output::Event(Event::Down {
            reason: Error::ServerTerminate,
            ..
        }))
    ));
    let mut c = up(t0)?;
    c.handle_tls_data(t0, b"STF\x01\x00\x05\x05\x00\x01kick");
    assert!(matches!(
        drain(&mut c).get(1),
        Some(Output::Event(Event::Down { reason: Error::ServerDisconnect { code: 1, reason }, .. })) if reason == "kick"
    ));
    Ok(())
}

#[test]
fn connection_dropped_during_login_is_a_refusal_and_on_reconnect_forgets_the_cookie() -> R {
    let t0 = Instant::now();
    let mut c = Client::new(config(None, "x"), t0);
    drain(&mut c);
    c.handle_tls_connected(t0);
    drain(&mut c);
    c.handle_tls_data(t0, &xml_response("", USERNAME_FORM));
    drain(&mut c);
    c.handle_tls_closed(t0, TlsClosed::Lost("alert access_denied".into()));
    assert_eq!(
        closed(&drain(&mut c)),
        Some(Some(Error::AuthRefused {
            message: "the server ended the connection during the login (alert access_denied)".into()
        }))
    );

    let mut c = up(t0)?;
    c.handle_tls_closed(t0, TlsClosed::Lost("reset".into()));
    drain(&mut c);
    c.handle_timeout(t0 + Duration::from_secs(1));
    drain(&mut c);
    c.handle_tls_connected(t0 + Duration::from_secs(1));
    assert!(
        writes(&drain(&mut c))
            .first()
            .ok_or("no CONNECT")?
            .starts_with("CONNECT ")
    );
    c.handle_tls_closed(
        t0 + Duration::from_secs(1),
        TlsClosed::Lost("alert access_denied".into()),
    );
    drain(&mut c);
    c.handle_timeout(t0 + Duration::from_secs(3));
    drain(&mut c);
    c.handle_tls_connected(t0 + Duration::from_secs(3));
    let w = writes(&drain(&mut c));
    assert!(
        w.first().ok_or("no init")?.contains("type=\"init\""),
        "a fresh login"
    );
    Ok(())
}

#[test]
fn rekey_time_opens_a_new_tunnel_at_once() -> R {
    let t0 = Instant::now();
    let mut c = up(t0)?;
    // Keep the peer alive with keepalives so that only the rekey timer fires.
    let rekey = t0 + Duration::from_secs(172_800);
    let mut now = t0;
    while now + Duration::from_secs(50) < rekey {
        now += Duration::from_secs(50);
        c.handle_tls_data(now, b"STF\x01\x00\x00\x07\x00");
        c.handle_timeout(now);
        drain(&mut c);
    }
    c.handle_timeout(rekey);
    let outs = drain(&mut c);
    assert_eq!(outs.first(), Some(&Output::Tls(TlsAction::Close)));
    assert_eq!(
        outs.get(1),
        Some(&Output::Event(Event::Down {
            reason: Error::Rekey,
            retry_at: rekey
        }))
    );
    c.handle_timeout(rekey);
    assert_eq!(drain(&mut c).first(), Some(&Output::Tls(TlsAction::Open)));
    c.handle_tls_connected(rekey);
    let w = writes(&drain(&mut c));
    assert!(w.first().ok_or("no CONNECT")?.contains("Cookie: webvpn=SESSION="));
    Ok(())
}

#[test]
fn gives_up_when_down_longer_than_the_policy() -> R {
    let t0 = Instant::now();
    let mut c = up(t0)?;
    let mut now = t0;
    c.handle_tls_closed(now, TlsClosed::Lost("reset".into()));
    let mut closed_with = None;
    for _ in 0..20 {
        let outs = drain(&mut c);
        if let Some(reason) = closed(&outs) {
            closed_with = reason;
            break;
        }
        let retry = outs.iter().find_map(|o| match o {
            Output::Event(Event::Down { retry_at, .. }) => Some(*retry_at),
            _ => None,
        });
        now = retry.ok_or("neither down nor closed")?;
        c.handle_timeout(now);
        drain(&mut c);
        c.handle_tls_closed(now, TlsClosed::Lost("connection refused".into()));
    }
    let Some(Error::ReconnectGaveUp { after, last }) = closed_with else {
        return Err(format!("did not give up: {closed_with:?}").into());
    };
    assert!(after >= Duration::from_secs(300), "{after:?}");
    assert_eq!(*last, Error::TlsLost("connection refused".into()));
    Ok(())
}
