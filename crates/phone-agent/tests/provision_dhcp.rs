//! `phone-agent dhcp` against a real dnsmasq on a veth pair between two network namespaces:
//! the option-order matrix (options offered → source chosen), WPAD's 252, DHCPv4 and DHCPv6
//! renewals seen in dnsmasq's log, and a DHCPv6 lease got back by REQUEST from a dnsmasq that
//! lost it. Needs root (namespaces) and dnsmasq (Debian `dnsmasq-base`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod provision_common;

use std::io::BufReader;
use std::process::ChildStdout;
use std::time::{Duration, Instant};

use provision_common::{Dnsmasq, NetnsPair, agent_in};
use serde_json::Value;

/// Runs `phone-agent dhcp --json` in the client namespace and returns the first lease.
fn lease(pair: &NetnsPair, extra: &[&str]) -> Value {
    let mut args = vec![
        "dhcp",
        "--iface",
        &pair.client_if,
        "--no-apply",
        "--json",
        "--timeout",
        "15",
    ];
    args.extend_from_slice(extra);
    let out = agent_in(&pair.client_ns, &args);
    assert!(
        out.status.success(),
        "phone-agent dhcp failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().next().unwrap_or("")).unwrap()
}

#[test]
fn option_order_matrix_against_dnsmasq() {
    let pair = NetnsPair::new("d");
    let dir = provision_common::temp_dir("dhcp");
    std::fs::write(
        dir.join("order.xml"),
        "<flat-profile><DHCP_Option_To_Use>150,160,66</DHCP_Option_To_Use></flat-profile>",
    )
    .unwrap();
    let order_cfg = dir.join("order.xml");
    let order_cfg = order_cfg.to_str().unwrap();
    // (options dnsmasq gives, extra agent arguments, option expected to win, its text)
    let rows: &[(&[&str], &[&str], u64, &str)] = &[
        (
            &[
                "66,tftp.example.com",
                "160,\"https://prov.example.com/p.xml\"",
                "159,\"10.77.0.9\"",
                "150,10.77.0.8",
            ],
            &[],
            66,
            "TFTP server tftp.example.com",
        ),
        (
            &[
                "160,\"https://prov.example.com/p.xml\"",
                "159,\"10.77.0.9\"",
                "150,10.77.0.8",
            ],
            &[],
            160,
            "provisioning URL https://prov.example.com/p.xml",
        ),
        (
            &["159,\"http://10.77.0.9;10.77.0.10/cfg\"", "150,10.77.0.8"],
            &[],
            159,
            "provisioning servers http://10.77.0.9;10.77.0.10/cfg",
        ),
        (
            &["150,10.77.0.8,10.77.0.7"],
            &[],
            150,
            "TFTP servers 10.77.0.8, 10.77.0.7",
        ),
        (
            &[
                "66,tftp.example.com",
                "160,\"https://prov.example.com/p.xml\"",
                "150,10.77.0.8",
            ],
            &["--config", order_cfg],
            150,
            "TFTP servers 10.77.0.8",
        ),
        // 160 present but not a URL: passed over (and said so), 150 wins.
        (
            &["160,\"not a url\"", "150,10.77.0.8"],
            &[],
            150,
            "TFTP servers 10.77.0.8",
        ),
    ];
    let mut report = Vec::new();
    for (options, extra, want, text) in rows {
        let dnsmasq = Dnsmasq::start(&pair, options, &["252,http://wpad.example.com/wpad.dat"]);
        let l = lease(&pair, extra);
        drop(dnsmasq);
        let p = &l["provisioning"];
        report.push(format!(
            "{options:?} {extra:?} -> option {} ({})",
            p["option"], p["text"]
        ));
        assert_eq!(p["option"].as_u64(), Some(*want), "{options:?}: {l}");
        assert_eq!(p["text"].as_str(), Some(*text), "{options:?}: {l}");
        assert_eq!(l["wpad"].as_str(), Some("http://wpad.example.com/wpad.dat"));
        assert!(l["address"].as_str().unwrap().starts_with(&pair.prefix));
    }
    // The row with a malformed 160 says why it was passed over.
    eprintln!("option-order matrix (dnsmasq):\n  {}", report.join("\n  "));
}

#[test]
fn renews_at_t1_seen_in_dnsmasq_log() {
    let pair = NetnsPair::new("r");
    let dnsmasq = Dnsmasq::start(&pair, &["option:T1,2", "option:T2,4", "66,tftp.example.com"], &[]);
    // Hold the lease 5 s: with T1 = 2 s the client renews (unicast, so the test, as the host,
    // configures the address the lease gives).
    let mut child = provision_common::agent_spawn_in(
        &pair.client_ns,
        &[
            "dhcp",
            "--iface",
            &pair.client_if,
            "--no-apply",
            "--json",
            "--hold",
            "5",
        ],
    );
    let mut stdout = provision_common::stdout_lines(&mut child);
    let first = provision_common::read_line(&mut stdout);
    let l: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(l["event"], "bound");
    assert!(l["t1"].as_u64().is_some_and(|t1| t1 < 5), "{l}");
    pair.add_address(l["address"].as_str().unwrap(), l["prefix_len"].as_u64().unwrap());
    let rest = provision_common::wait_output(child, stdout);
    assert!(rest.contains("\"event\":\"renewed\""), "no renewal: {rest}");
    // The RELEASE is the agent's last datagram: wait (bounded) until dnsmasq has logged it.
    provision_common::wait_for("dnsmasq logging the RELEASE", Duration::from_secs(5), || {
        dnsmasq.log().contains("DHCPRELEASE(")
    });
    let log = dnsmasq.log();
    let address = l["address"].as_str().unwrap();
    let acks = log
        .lines()
        .filter(|x| x.contains("DHCPACK(") && x.contains(address))
        .count();
    assert!(acks >= 2, "dnsmasq saw no renewal:\n{log}");
    let lines: Vec<&str> = log
        .lines()
        .filter(|x| x.contains("DHCPREQUEST(") || x.contains("DHCPACK(") || x.contains("DHCPRELEASE("))
        .collect();
    eprintln!("dnsmasq log:\n  {}", lines.join("\n  "));
}

/// Runs `phone-agent dhcp --ipv6 --json` in the client namespace and returns the first lease.
fn lease6(pair: &NetnsPair, extra: &[&str]) -> Value {
    let mut args = vec![
        "dhcp",
        "--ipv6",
        "--iface",
        &pair.client_if,
        "--json",
        "--timeout",
        "15",
    ];
    args.extend_from_slice(extra);
    let out = agent_in(&pair.client_ns, &args);
    assert!(
        out.status.success(),
        "phone-agent dhcp --ipv6 failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().next().unwrap_or("")).unwrap()
}

/// dnsmasq's hex form of an option-17 payload: enterprise, sub-option 1, data.
fn vendor17(enterprise: u32, data: &[u8]) -> String {
    let mut v = enterprise.to_be_bytes().to_vec();
    v.extend_from_slice(&1u16.to_be_bytes());
    v.extend_from_slice(&(data.len() as u16).to_be_bytes());
    v.extend_from_slice(data);
    let hex: Vec<String> = v.iter().map(|b| format!("{b:02x}")).collect();
    format!("option6:17,{}", hex.join(":"))
}

#[test]
fn dhcpv6_option_order_matrix_against_dnsmasq() {
    let pair = NetnsPair::new("6");
    pair.enable_v6();
    let p6 = pair.prefix6();
    let dir = provision_common::temp_dir("dhcp6");
    std::fs::write(
        dir.join("order.xml"),
        "<flat-profile><DHCPv6_Option_To_Use>160,17</DHCPv6_Option_To_Use></flat-profile>",
    )
    .unwrap();
    let order_cfg = dir.join("order.xml");
    let order_cfg = order_cfg.to_str().unwrap();
    let tftp: std::net::Ipv6Addr = format!("{p6}69").parse().unwrap();
    let cisco = vendor17(9, &tftp.octets());
    let acs = vendor17(3561, b"http://acs.example.com/cwmp");
    let other = vendor17(4491, b"\x01\x02");
    let url = "option6:160,\"https://prov.example.com/p.xml\"".to_owned();
    let servers = "option6:159,\"http://[fd00::9];[fd00::a]/cfg\"".to_owned();
    // (options dnsmasq gives, extra agent arguments, option expected to win, its text)
    let rows: Vec<(Vec<String>, Vec<&str>, u64, String)> = vec![
        (
            vec![cisco.clone(), url.clone(), servers.clone()],
            vec![],
            17,
            format!("TFTP servers {tftp}"),
        ),
        (
            vec![url.clone(), servers.clone()],
            vec![],
            160,
            "provisioning URL https://prov.example.com/p.xml".into(),
        ),
        (
            vec![servers.clone()],
            vec![],
            159,
            "provisioning servers http://[fd00::9];[fd00::a]/cfg".into(),
        ),
        (
            vec![acs.clone(), url.clone()],
            vec![],
            17,
            "TR-069 ACS URL http://acs.example.com/cwmp".into(),
        ),
        // An enterprise the phone does not read: 17 passed over (with the reason), 160 wins.
        (
            vec![other.clone(), url.clone()],
            vec![],
            160,
            "provisioning URL https://prov.example.com/p.xml".into(),
        ),
        (
            vec![cisco.clone(), url.clone()],
            vec!["--config", order_cfg],
            160,
            "provisioning URL https://prov.example.com/p.xml".into(),
        ),
    ];
    let range = format!("--dhcp-range={p6}10,{p6}50,64,2m");
    let mut report = Vec::new();
    for (options, extra, want, text) in &rows {
        let opts: Vec<&str> = options.iter().map(String::as_str).collect();
        let dnsmasq = Dnsmasq::start_with(
            &pair,
            &opts,
            &[&format!("option6:dns-server,[{p6}53]")],
            &["--port=0", &range],
        );
        let mut args = vec!["--no-apply"];
        args.extend_from_slice(extra);
        let l = lease6(&pair, &args);
        let log = dnsmasq.log();
        drop(dnsmasq);
        let p = &l["provisioning"];
        report.push(format!(
            "{options:?} {extra:?} -> option {} ({}); passed over {}",
            p["option"], p["text"], l["passed_over"]
        ));
        assert_eq!(p["option"].as_u64(), Some(*want), "{options:?}: {l}\n{log}");
        assert_eq!(p["text"].as_str(), Some(text.as_str()), "{options:?}: {l}");
        assert!(l["address"].as_str().unwrap().starts_with(&p6), "{l}");
        assert_eq!(l["dns_servers"][0].as_str(), Some(format!("{p6}53").as_str()));
        for step in ["DHCPSOLICIT(", "DHCPADVERTISE(", "DHCPREQUEST(", "DHCPREPLY("] {
            assert!(log.contains(step), "dnsmasq logged no {step}:\n{log}");
        }
    }
    eprintln!("DHCPv6 option-order matrix (dnsmasq):\n  {}", report.join("\n  "));
}

/// The expiry (seconds since the epoch) of `address`'s line in dnsmasq's lease file.
fn lease_file_expiry(dnsmasq: &Dnsmasq, address: &str) -> Option<u64> {
    let leases = std::fs::read_to_string(dnsmasq.dir().join("leases")).ok()?;
    let line = leases
        .lines()
        .find(|l| l.split_whitespace().nth(2) == Some(address))?;
    line.split_whitespace().next()?.parse().ok()
}

/// The lines dnsmasq (`--log-dhcp`) logged for the first RENEW it answered with a REPLY for
/// `address`: every line of that transaction (`<xid> DHCPRENEW(…)`, `<xid> DHCPREPLY(…)
/// <address> …`, the options it sent).
fn renew_transaction(log: &str, address: &str) -> Option<Vec<String>> {
    for renew in log.lines().filter(|l| l.contains(" DHCPRENEW(")) {
        let xid = renew.split(" DHCPRENEW(").next()?.rsplit(' ').next()?;
        let tag = format!(" {xid} ");
        let lines: Vec<String> = log
            .lines()
            .filter(|l| l.contains(&tag))
            .map(str::to_owned)
            .collect();
        let reply = format!(" {xid} DHCPREPLY(");
        if lines
            .iter()
            .any(|l| l.contains(&reply) && l.contains(&format!(" {address} ")))
        {
            return Some(lines);
        }
    }
    None
}

/// The lines dnsmasq logged when a RENEW for `address` found no lease (its REPLY says
/// NoBinding: `DHCPREPLY(…) <address> … lease not found`) and the client then got the address
/// back with a REQUEST: that REPLY line, then every line of the REQUEST's transaction.
fn reacquired(log: &str, address: &str) -> Option<Vec<String>> {
    let lines: Vec<&str> = log.lines().collect();
    let lost = lines.iter().position(|l| {
        l.contains(" DHCPREPLY(") && l.contains(&format!(" {address} ")) && l.contains("lease not found")
    })?;
    for request in lines.get(lost..)?.iter().filter(|l| l.contains(" DHCPREQUEST(")) {
        let xid = request.split(" DHCPREQUEST(").next()?.rsplit(' ').next()?;
        let tag = format!(" {xid} ");
        let reply = format!(" {xid} DHCPREPLY(");
        let tx: Vec<&str> = lines.iter().copied().filter(|l| l.contains(&tag)).collect();
        if tx
            .iter()
            .any(|l| l.contains(&reply) && l.contains(&format!(" {address} ")) && !l.contains("not found"))
        {
            let mut out = vec![lines.get(lost)?.to_string()];
            out.extend(tx.iter().map(|l| l.to_string()));
            return Some(out);
        }
    }
    None
}

/// `--dhcp-range` for a pair's v6 prefix with dnsmasq's shortest lease (2 minutes).
fn range6(pair: &NetnsPair) -> String {
    let p6 = pair.prefix6();
    format!("--dhcp-range={p6}10,{p6}50,64,2m")
}

/// `phone-agent dhcp --ipv6 --no-apply --json --hold 90` in the pair's client namespace: its
/// stdout, and the agent (killed on drop). Held 90 s: past T1 (60 s) with room for one RENEW
/// retransmission (10 s), short of T2 (105 s); the test stops it once it has seen enough.
fn hold6(pair: &NetnsPair) -> (BufReader<ChildStdout>, provision_common::KillOnDrop) {
    let mut child = provision_common::agent_spawn_in(
        &pair.client_ns,
        &[
            "dhcp",
            "--ipv6",
            "--iface",
            &pair.client_if,
            "--no-apply",
            "--json",
            "--timeout",
            "15",
            "--hold",
            "90",
        ],
    );
    let stdout = provision_common::stdout_lines(&mut child);
    (stdout, provision_common::KillOnDrop(child))
}

/// The next JSON line of the agent's stdout, which must be `event`.
fn event(stdout: &mut BufReader<ChildStdout>, event: &str, log: &str) -> Value {
    let line = provision_common::read_line(stdout);
    let v: Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("no {event} event ({e}): {line:?}\n{log}"));
    assert_eq!(v["event"], event, "{v}");
    v
}

#[test]
fn dhcpv6_renews_at_t1_seen_in_dnsmasq_log() {
    // dnsmasq's shortest DHCPv6 lease is 2 minutes (a shorter `--dhcp-range`/`--dhcp-host`
    // time, or shorter lifetimes asked by the client, are raised to 120 s) and it puts T1 =
    // half of it in the IA_NA itself, where no `dhcp-option` reaches: this test waits the real
    // T1 of 60 s (and is started first by .config/nextest.toml, so it overlaps the others).
    // Beside it, in a second pair of namespaces, the same wait shows the RENEW answered
    // NoBinding by a dnsmasq restarted without its leases, and the REQUEST that gets it back.
    let pair = NetnsPair::new("w");
    pair.enable_v6();
    let p6 = pair.prefix6();
    let range = range6(&pair);
    let dnsmasq = Dnsmasq::start_with(&pair, &[], &[], &["--port=0", &range]);
    let lost = NetnsPair::new("l");
    lost.enable_v6();
    // The same server DUID (DUID-EN) across the restart, so dnsmasq takes our RENEW.
    let lost_args = [
        "--port=0".to_owned(),
        range6(&lost),
        "--dhcp-duid=9,0a0b0c0d".to_owned(),
    ];
    let lost_args: Vec<&str> = lost_args.iter().map(String::as_str).collect();
    let mut lost_dnsmasq = Dnsmasq::start_with(&lost, &[], &[], &lost_args);
    let (mut stdout, agent) = hold6(&pair);
    let (mut lost_stdout, lost_agent) = hold6(&lost);
    let first = provision_common::read_line(&mut stdout);
    let bound_at = Instant::now();
    let bound: Value = serde_json::from_str(&first)
        .unwrap_or_else(|e| panic!("no lease ({e}): {first:?}\n{}", dnsmasq.log()));
    assert_eq!(bound["event"], "bound", "{bound}");
    let address = bound["address"].as_str().unwrap().to_owned();
    assert!(address.starts_with(&p6), "{bound}");
    let (t1, t2) = (bound["t1"].as_u64().unwrap(), bound["t2"].as_u64().unwrap());
    assert_eq!(bound["valid"].as_u64(), Some(120), "{bound}");
    assert!(0 < t1 && t1 < t2 && t2 < 120, "{bound}");
    let expiry_bound = provision_common::wait_for_some(
        "dnsmasq's lease file naming the address",
        Duration::from_secs(5),
        || lease_file_expiry(&dnsmasq, &address),
    );
    let lost_bound = event(&mut lost_stdout, "bound", &lost_dnsmasq.log());
    let lost_address = lost_bound["address"].as_str().unwrap().to_owned();
    // dnsmasq restarts with an empty lease database (a fresh directory).
    drop(lost_dnsmasq);
    lost_dnsmasq = Dnsmasq::start_with(&lost, &[], &[], &lost_args);

    // The RENEW goes out at T1 after the REQUEST; dnsmasq must answer it before T2. (Both
    // waits end at T2: a client that went on RENEWing after NoBinding would REBIND there.)
    let transaction = provision_common::wait_for_some(
        "dnsmasq logging a DHCPRENEW and its DHCPREPLY",
        Duration::from_secs(t2).saturating_sub(bound_at.elapsed()),
        || renew_transaction(&dnsmasq.log(), &address),
    );
    let reply = transaction.iter().find(|l| l.contains(" DHCPREPLY(")).unwrap();
    for refusal in ["lease not found", "address invalid", "no binding", "deprecated"] {
        assert!(!reply.contains(refusal), "{transaction:#?}");
    }

    // The client took the REPLY: a "renewed" event for the same address, at T1.
    let line = provision_common::read_line(&mut stdout);
    let renewed_after = bound_at.elapsed();
    let renewed: Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("no renewal from the agent ({e}): {line:?}"));
    assert_eq!(renewed["event"], "renewed", "{renewed}");
    assert_eq!(renewed["address"].as_str(), Some(address.as_str()), "{renewed}");
    assert_eq!(renewed["valid"].as_u64(), Some(120), "{renewed}");
    assert!(renewed["t1"].as_u64().is_some_and(|t| t > 0), "{renewed}");
    assert!(
        renewed_after >= Duration::from_secs(t1 - 1) && renewed_after < Duration::from_secs(t2),
        "renewed {renewed_after:?} after binding; T1 {t1} s, T2 {t2} s"
    );
    // dnsmasq moved the lease's end by the time between the two exchanges.
    let expiry_renewed = provision_common::wait_for_some(
        "dnsmasq's lease file updated by the renewal",
        Duration::from_secs(5),
        || lease_file_expiry(&dnsmasq, &address).filter(|&e| e > expiry_bound),
    );
    assert!(
        expiry_renewed >= expiry_bound + t1 - 2,
        "lease end moved only from {expiry_bound} to {expiry_renewed}"
    );
    drop(agent);

    // The restarted dnsmasq answered the RENEW "lease not found" (NoBinding in the IA); the
    // client then REQUESTed the address back and reports it renewed.
    let back = provision_common::wait_for_some(
        "the restarted dnsmasq answering NoBinding, then the REQUEST",
        Duration::from_secs(t2).saturating_sub(bound_at.elapsed()),
        || reacquired(&lost_dnsmasq.log(), &lost_address),
    );
    let again = event(&mut lost_stdout, "renewed", &lost_dnsmasq.log());
    assert_eq!(again["address"].as_str(), Some(lost_address.as_str()), "{again}");
    drop(lost_agent);
    eprintln!(
        "DHCPv6 RENEW to a dnsmasq restarted without its leases: {lost_address} back by REQUEST\n  {}",
        back.join("\n  ")
    );
    eprintln!(
        "DHCPv6 renewal: bound {address} (T1 {t1} s, T2 {t2} s, valid 120 s); renewed after \
         {renewed_after:.1?}; dnsmasq lease end {expiry_bound} -> {expiry_renewed}\n  {}",
        transaction.join("\n  ")
    );
}

#[test]
fn applies_v4_and_v6_leases_with_netlink() {
    let pair = NetnsPair::new("a");
    pair.enable_v6();
    let p6 = pair.prefix6();
    let range = format!("--dhcp-range={p6}10,{p6}50,64,2m");
    let server = pair.server_addr();
    let dnsmasq = Dnsmasq::start_with(
        &pair,
        &[
            &format!("option:router,{server}"),
            &format!("option:dns-server,{server}"),
            "option:domain-name,example.com",
        ],
        &[&format!("option6:dns-server,[{p6}53]")],
        &["--port=0", &range],
    );
    let dir = provision_common::temp_dir("apply");
    let resolv = dir.join("resolv.conf");
    let resolv_arg = resolv.to_str().unwrap();

    // DHCPv4: the address, the default route through option 3, resolv.conf where asked.
    let out = agent_in(
        &pair.client_ns,
        &[
            "dhcp",
            "--iface",
            &pair.client_if,
            "--json",
            "--timeout",
            "15",
            "--resolv-conf",
            resolv_arg,
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let l: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    let address = l["address"].as_str().unwrap();
    let addrs = pair.client_ip(&["-4", "addr", "show", "dev", &pair.client_if]);
    assert!(addrs.contains(&format!("inet {address}/24")), "{addrs}");
    let routes = pair.client_ip(&["-4", "route", "show", "default"]);
    assert!(
        routes.contains(&format!("default via {server} dev {}", pair.client_if)),
        "{routes}"
    );
    let conf = std::fs::read_to_string(&resolv).unwrap();
    assert!(
        conf.contains(&format!("nameserver {server}\n")) && conf.contains("search example.com\n"),
        "{conf}"
    );
    eprintln!("ip addr:\n{addrs}ip route default: {routes}resolv.conf:\n{conf}");

    // DHCPv6: the address as /128.
    let out = agent_in(
        &pair.client_ns,
        &[
            "dhcp",
            "--ipv6",
            "--iface",
            &pair.client_if,
            "--json",
            "--timeout",
            "15",
            "--resolv-conf",
            resolv_arg,
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let l: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    let address6 = l["address"].as_str().unwrap();
    let addrs = pair.client_ip(&["-6", "addr", "show", "dev", &pair.client_if]);
    assert!(addrs.contains(&format!("inet6 {address6}/128")), "{addrs}");
    let conf = std::fs::read_to_string(&resolv).unwrap();
    assert!(conf.contains(&format!("nameserver {p6}53\n")), "{conf}");
    eprintln!("ip -6 addr:\n{addrs}");

    // --hold then release: the address is removed again.
    let out = agent_in(
        &pair.client_ns,
        &[
            "dhcp",
            "--iface",
            &pair.client_if,
            "--json",
            "--timeout",
            "15",
            "--hold",
            "1",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let addrs = pair.client_ip(&["-4", "addr", "show", "dev", &pair.client_if]);
    assert!(!addrs.contains("inet 10."), "address left after release: {addrs}");
    drop(dnsmasq);
}

#[test]
fn provision_iface_gets_a_lease_then_resyncs_from_the_chosen_server() {
    let pair = NetnsPair::new("i");
    let tftp_root = provision_common::temp_dir("tftp-root");
    std::fs::write(
        tftp_root.join("000e08abcdef.xml"),
        "<flat-profile><Proxy_1_>sip.example.com</Proxy_1_></flat-profile>\n",
    )
    .unwrap();
    let server = pair.server_addr();
    // Option 66 names the TFTP server (dnsmasq itself); the rule names no server.
    let dnsmasq = Dnsmasq::start_with(
        &pair,
        &[&format!("66,{server}")],
        &[],
        &[
            "--port=0",
            "--enable-tftp",
            &format!("--tftp-root={}", tftp_root.display()),
        ],
    );
    let dir = provision_common::temp_dir("prov-iface");
    let cfg = dir.join("cfg.xml");
    std::fs::write(
        &cfg,
        "<flat-profile><Profile_Rule>/$MA.xml</Profile_Rule></flat-profile>",
    )
    .unwrap();
    let saved = dir.join("saved.xml");
    let out = agent_in(
        &pair.client_ns,
        &[
            "provision",
            "--once",
            "--config",
            cfg.to_str().unwrap(),
            "--iface",
            &pair.client_if,
            "--mac",
            "00:0e:08:ab:cd:ef",
            "--save",
            saved.to_str().unwrap(),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        dnsmasq.log()
    );
    assert!(
        text.contains(&format!("option 66: TFTP server {server}")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "tftp://{server}/000e08abcdef.xml: 66 bytes from {server}:69"
        )),
        "{text}"
    );
    assert!(
        std::fs::read_to_string(&saved)
            .unwrap()
            .contains("sip.example.com")
    );
    // The lease was applied: the TFTP transfer came from the leased address.
    let addrs = pair.client_ip(&["-4", "addr", "show", "dev", &pair.client_if]);
    assert!(addrs.contains(&pair.prefix), "{addrs}");
    eprintln!("provision --iface:\n{text}");
}
