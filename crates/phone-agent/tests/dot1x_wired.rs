//! `phone-agent dot1x --iface` on a real wired port: hostapd `driver=wired` with its integrated
//! EAP server on one end of a veth pair, the agent on the other, each end in a network namespace
//! the test creates (and deletes). Raw EAPOL on AF_PACKET: EAP-TLS 1.2 and 1.3 with the MSK equal
//! to hostapd's, re-authentication, wrong client certificate and wrong CA refused, EAPOL-Logoff,
//! and the proxy EAPOL-Logoff for a PC (a macvlan with its own MAC) behind the phone. And the PC
//! port: `wpa_supplicant -D wired` as the PC in a third namespace authenticates through the
//! agent's EAPOL pass-through, and hostapd de-authorizes it when the PC's link goes down.
//!
//! Needs root (network namespaces) and the Debian packages hostapd, wpasupplicant and iproute2,
//! which `.ci/run` installs; a missing one fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

mod dot1x_common;
use dot1x_common::{
    Killed, Netns, Peer, Pki, Scratch, VethPair, ca, cable, hostapd_wired, ip, leaf, mac_in, pc_supplicant,
    require, wait_sta,
};

use rcgen::ExtendedKeyUsagePurpose;
use serde_json::Value;

const PC_MAC: &str = "02:00:00:00:0c:01";

/// The authenticator's and the phone's namespaces (a veth pair), and macvlans on the phone's
/// port for further stations; deleted (with their links) on drop.
struct Topology {
    pair: VethPair,
    auth_ns: String,
    supp_ns: String,
    auth_if: String,
    supp_if: String,
    pc_if: String,
    other_if: String,
    fast_if: String,
}

impl Topology {
    fn new(suffix: &str) -> Topology {
        let tag = format!("{}{suffix}", std::process::id() % 100_000);
        let pair = VethPair::new(
            format!("eapauth{tag}"),
            format!("eapsupp{tag}"),
            format!("eapa{tag}"),
            format!("eaps{tag}"),
        );
        let t = Topology {
            auth_ns: pair.auth_ns.0.clone(),
            supp_ns: pair.supp_ns.0.clone(),
            auth_if: pair.auth_if.clone(),
            supp_if: pair.supp_if.clone(),
            pc_if: format!("eappc{tag}"),
            other_if: format!("eapo{tag}"),
            fast_if: format!("eapf{tag}"),
            pair,
        };
        // The PC behind the phone (a macvlan with its own MAC on the phone's port), the
        // rejected-certificate case and the EAP-FAST-only user (hostapd ignores a station for a
        // while after it failed).
        for (name, mac) in [
            (&t.pc_if, PC_MAC),
            (&t.other_if, "02:00:00:00:0c:02"),
            (&t.fast_if, "02:00:00:00:0c:03"),
        ] {
            ip(&[
                "-n", &t.supp_ns, "link", "add", name, "link", &t.supp_if, "type", "macvlan", "mode",
                "bridge",
            ]);
            ip(&["-n", &t.supp_ns, "link", "set", name, "address", mac]);
            ip(&["-n", &t.supp_ns, "link", "set", name, "up"]);
        }
        t
    }
}

/// hostapd, killed by its own PID on drop.
type Hostapd = Peer;

impl Hostapd {
    fn derived_key(&self) -> Option<String> {
        self.log()
            .lines()
            .rev()
            .find(|l| l.contains("EAP-TLS: Derived key - hexdump(len=64):"))
            .map(|l| {
                l.split("hexdump(len=64):")
                    .nth(1)
                    .unwrap_or("")
                    .split_whitespace()
                    .collect()
            })
    }
}

struct Run {
    code: i32,
    json: Value,
}

impl Run {
    fn get(&self, name: &str) -> &Value {
        self.json.get(name).unwrap_or(&Value::Null)
    }
}

fn agent(ns: &str, args: &[&str]) -> Run {
    let out = Command::new(require("ip", "iproute2"))
        .args([
            "netns",
            "exec",
            ns,
            env!("CARGO_BIN_EXE_phone-agent"),
            "dot1x",
            "--json",
            "--timeout",
            "10",
        ])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    Run {
        code: out.status.code().unwrap_or(-1),
        json: serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "agent output is not JSON ({e}): {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        }),
    }
}

/// Certificates, the two namespaces and hostapd on the authenticator's end.
struct Lab {
    // Field order is drop order: hostapd first, then the namespaces, then the files.
    hostapd: Hostapd,
    topo: Topology,
    ca_pem: PathBuf,
    other_ca: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
    other_cert: PathBuf,
    other_key: PathBuf,
    cfg: PathBuf,
    _dir: Scratch,
}

impl Lab {
    fn new(suffix: &str, reauth_period: u32) -> Lab {
        Lab::with(suffix, reauth_period, "")
    }

    /// `extra` is appended to hostapd.conf (later lines win); `@DIR@` stands for the scratch
    /// directory.
    fn with(suffix: &str, reauth_period: u32, extra: &str) -> Lab {
        let dir = Scratch::new(&format!("wired{suffix}"));
        let root = ca("dot1x wired test CA");
        let other = ca("other CA");
        let pki = Pki::new(&dir, &root);
        let (oc, ok) = leaf(&other, vec![], ExtendedKeyUsagePurpose::ClientAuth);
        let other_ca = dir.write("other-ca.pem", other.0.pem());
        let other_cert = dir.write("other.pem", oc);
        let other_key = dir.write("other.key", ok);
        let cfg = dir.write(
            "cfg.xml",
            "<flat-profile><Enable_802.1X_Authentication>Yes</Enable_802.1X_Authentication></flat-profile>",
        );
        // A user only allowed EAP-FAST, which the phone declines.
        let users = dir.write("eap_users", "\"fast@example.org\" FAST\n* TLS\n");

        let topo = Topology::new(suffix);
        let hostapd = hostapd_wired(
            &dir,
            &topo.auth_ns,
            &topo.auth_if,
            &(format!(
                "eap_reauth_period={reauth_period}\n{}tls_flags=[ENABLE-TLSv1.3]\n\
                 pac_opaque_encr_key=000102030405060708090a0b0c0d0e0f\neap_fast_a_id=101112131415161718191a1b1c1d1e1f\n\
                 eap_fast_a_id_info=dot1x test\n",
                pki.hostapd_eap_server(&users),
            ) + &extra.replace("@DIR@", &dir.0.display().to_string())),
        );
        assert!(
            hostapd.wait_for(&["ENABLED"]) > 0,
            "hostapd did not start:\n{}",
            hostapd.log()
        );
        Lab {
            hostapd,
            topo,
            ca_pem: pki.ca,
            other_ca,
            client_cert: pki.client_cert,
            client_key: pki.client_key,
            other_cert,
            other_key,
            cfg,
            _dir: dir,
        }
    }
}

#[test]
fn hostapd_wired_port_in_network_namespaces() {
    let lab = Lab::new("", 0);
    let (hostapd, topo, cfg) = (&lab.hostapd, &lab.topo, &lab.cfg);
    let (ca_pem, other_ca, client_cert, client_key, other_cert, other_key) = (
        &lab.ca_pem,
        &lab.other_ca,
        &lab.client_cert,
        &lab.client_key,
        &lab.other_cert,
        &lab.other_key,
    );
    let s = |p: &Path| p.display().to_string();
    let common = |ca: &Path, cert: &Path, key: &Path, iface: &str| -> Vec<String> {
        vec![
            "--iface".into(),
            iface.into(),
            "--config".into(),
            s(cfg),
            "--ca".into(),
            s(ca),
            "--client-cert".into(),
            s(cert),
            "--client-key".into(),
            s(key),
            "--identity".into(),
            "phone@example.org".into(),
            "--show-keys".into(),
            "--start-period".into(),
            "1".into(),
        ]
    };
    let run = |extra: &[&str], ca: &Path, cert: &Path, key: &Path, iface: &str| {
        let mut args = common(ca, cert, key, iface);
        args.extend(extra.iter().map(|a| a.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        agent(&topo.supp_ns, &refs)
    };

    let mut rows = Vec::new();
    // TLS 1.2, then TLS 1.3 on the same port: the second is a re-authentication of an
    // authorized station.
    for (tls, version) in [("1.2", "TLSv1.2"), ("1.3", "TLSv1.3")] {
        let r = run(
            &["--tls", tls, "--domain-suffix-match", "example.org"],
            ca_pem,
            client_cert,
            client_key,
            &topo.supp_if,
        );
        assert_eq!(r.code, 0, "TLS {tls}: {}\n{}", r.json, hostapd.log());
        assert_eq!(r.get("transaction_state"), "Authenticated");
        assert_eq!(r.get("protocol"), "EAP-TLS");
        assert_eq!(r.get("tls_version"), version);
        assert!(hostapd.wait_for(&["EAP-TLS: Derived key"]) > 0);
        assert_eq!(
            hostapd.derived_key().as_deref(),
            r.get("msk").as_str(),
            "MSK vs hostapd"
        );
        rows.push(format!(
            "hostapd wired  TLS {tls}  accept       -> Authenticated, MSK == hostapd's, {} EAPOL frames sent / {} received, {:.1} ms",
            r.get("eapol_frames_sent"), r.get("eapol_frames_received"), r.get("elapsed_ms").as_f64().unwrap_or(0.0)
        ));
    }

    let r = run(&["--logoff"], ca_pem, client_cert, client_key, &topo.supp_if);
    assert_eq!(r.code, 0, "logoff run: {}", r.json);
    assert_eq!(r.get("logoff_sent"), true);
    assert!(
        hostapd.wait_for(&["received EAPOL-Logoff from STA"]) > 0,
        "hostapd saw no EAPOL-Logoff:\n{}",
        hostapd.log()
    );
    rows.push("hostapd wired  any      EAPOL-Logoff -> hostapd: received EAPOL-Logoff from STA".into());

    // The PC behind the phone authenticates with its own MAC ...
    let r = run(&[], ca_pem, client_cert, client_key, &topo.pc_if);
    assert_eq!(r.code, 0, "PC: {}", r.json);
    assert_eq!(hostapd.wait_for(&[PC_MAC, "received EAPOL-Logoff from STA"]), 0);
    // ... and leaves: the phone sends the proxy Logoff with the PC's MAC from its own port.
    let r = agent(
        &topo.supp_ns,
        &[
            "--iface",
            &topo.supp_if,
            "--config",
            &s(cfg),
            "--proxy-logoff",
            PC_MAC,
        ],
    );
    assert_eq!(r.code, 0, "proxy logoff: {}", r.json);
    assert!(
        hostapd.wait_for(&[PC_MAC, "received EAPOL-Logoff from STA"]) > 0,
        "hostapd saw no Logoff from the PC's MAC:\n{}",
        hostapd.log()
    );
    rows.push(format!(
        "hostapd wired  any      proxy Logoff -> hostapd: STA {PC_MAC} received EAPOL-Logoff"
    ));
    // Failures last, each from its own MAC: hostapd ignores a station's EAPOL-Start for 5 s
    // after it failed (AP_MAX_INACTIVITY_AFTER_DEAUTH).
    let r = run(&[], other_ca, client_cert, client_key, &topo.supp_if);
    assert_eq!(r.code, 1, "wrong CA: {}", r.json);
    assert!(r.get("msk").is_null());
    rows.push(format!(
        "hostapd wired  any      wrong CA     -> refused by phone ({})",
        r.get("failure").as_str().unwrap_or("")
    ));

    let r = run(&[], ca_pem, other_cert, other_key, &topo.other_if);
    assert_eq!(r.code, 1, "wrong client certificate: {}", r.json);
    assert_eq!(r.get("failure"), "the server sent EAP-Failure");
    rows.push(format!(
        "hostapd wired  any      wrong client -> rejected by server ({})",
        r.get("failure").as_str().unwrap_or("")
    ));

    // A server that only offers EAP-FAST to this identity: the phone answers with a Nak offering
    // EAP-TLS, says why, and the server fails the conversation.
    let r = agent(
        &topo.supp_ns,
        &[
            "--iface",
            &topo.fast_if,
            "--config",
            &s(cfg),
            "--ca",
            &s(ca_pem),
            "--client-cert",
            &s(client_cert),
            "--client-key",
            &s(client_key),
            "--identity",
            "fast@example.org",
            "--start-period",
            "1",
        ],
    );
    assert_eq!(r.code, 1, "EAP-FAST only: {}", r.json);
    assert_eq!(r.get("failure"), "the server sent EAP-Failure");
    let declined = r.get("declined_methods").to_string();
    assert!(
        declined.contains("EAP-FAST (type 43)") && declined.contains("EAP-FAST is not configured"),
        "{}\n{}",
        r.json,
        hostapd.log()
    );
    rows.push("hostapd wired  any      EAP-FAST only -> Nak offering EAP-TLS, declined_methods says why, EAP-Failure".into());

    println!("{}", rows.join("\n"));
}

/// EAP-FAST on the wired port (`--method fast`): anonymous provisioning hands over a PAC and
/// ends in EAP-Failure (RFC 5422 §3.2.2), then the phone authenticates again with the PAC over
/// EAPOL in the same run (hostapd forgets the failed station 5 s after the EAP-Failure; the
/// phone sends EAPOL-Start every second until then, whatever --start-period says).
/// hostapd gets an RSA certificate (the PAC handshake runs on a DHE_RSA suite), a DH group and
/// an inner MSCHAPv2 user.
#[test]
fn eap_fast_on_the_wired_port() {
    let fast = Scratch::new("wired-fast-files");
    let d = fast.0.display().to_string();
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .current_dir(&fast.0)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "rsa.key",
        "-out",
        "rsa.pem",
        "-days",
        "2",
        "-subj",
        "/CN=radius.example.org",
    ]);
    openssl(&[
        "genpkey",
        "-genparam",
        "-algorithm",
        "DH",
        "-pkeyopt",
        "group:ffdhe2048",
        "-out",
        "dh.pem",
    ]);
    fast.write("users", "\"alice\" FAST\n\"alice\" MSCHAPV2 \"secret\" [2]\n");
    let lab = Lab::with(
        "f",
        0,
        &format!(
            "server_cert={d}/rsa.pem\nprivate_key={d}/rsa.key\ndh_file={d}/dh.pem\neap_user_file={d}/users\neap_fast_prov=1\n"
        ),
    );
    let pac = fast.0.join("alice.pac");
    let run = || {
        agent(
            &lab.topo.supp_ns,
            &[
                "--iface",
                &lab.topo.supp_if,
                "--config",
                &lab.cfg.display().to_string(),
                "--method",
                "fast",
                "--identity",
                "alice",
                "--password",
                "secret",
                "--pac-file",
                &pac.display().to_string(),
            ],
        )
    };
    // One run: the PAC arrives, EAP-Failure, then the phone authenticates again with the PAC
    // on the same port, by itself.
    let t = Instant::now();
    let first = run();
    assert_eq!(
        first.code,
        0,
        "provisioning then PAC authentication: {}\n{}",
        first.json,
        lab.hostapd.log()
    );
    assert_eq!(first.get("pacs_provisioned"), 1, "{}", first.json);
    assert_eq!(first.get("attempts"), 2, "{}", first.json);
    assert_eq!(first.get("transaction_state"), "Authenticated");
    assert_eq!(first.get("protocol"), "EAP-FAST");
    assert!(pac.exists());
    // The second conversation was the PAC's: hostapd decrypted the PAC-Opaque it was offered.
    assert!(
        lab.hostapd
            .wait_for(&["EAP-FAST: PAC-Key from decrypted PAC-Opaque"])
            > 0,
        "hostapd did not see the PAC:\n{}",
        lab.hostapd.log()
    );
    println!(
        "hostapd wired  EAP-FAST anonymous provisioning -> PAC, EAP-Failure; PAC + MSCHAPv2 -> Authenticated in the same run ({} EAPOL frames in, {:?})",
        first.get("eapol_frames_received"),
        t.elapsed()
    );
}

#[test]
fn hostapd_reauthenticates_a_station_that_stays() {
    // eap_reauth_period=2: hostapd asks the authorized station to authenticate again every 2 s.
    let lab = Lab::new("r", 2);
    let s = |p: &Path| p.display().to_string();
    let r = agent(
        &lab.topo.supp_ns,
        &[
            "--iface",
            &lab.topo.supp_if,
            "--config",
            &s(&lab.cfg),
            "--ca",
            &s(&lab.ca_pem),
            "--client-cert",
            &s(&lab.client_cert),
            "--client-key",
            &s(&lab.client_key),
            "--identity",
            "phone@example.org",
            "--stay",
            "5",
        ],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.json, lab.hostapd.log());
    let n = r.get("authentications").as_u64().unwrap_or(0);
    assert!(
        n >= 2,
        "{n} authentications in 5 s with eap_reauth_period=2: {}",
        r.json
    );
    println!("hostapd wired  any      re-auth      -> {n} authentications in 5 s (eap_reauth_period=2)");
}

#[test]
fn pc_port_passes_the_pcs_eapol_through_and_logs_it_off_when_its_link_goes_down() {
    const PC: &str = "02:00:00:00:0c:11";
    // A switch in multi-auth mode: EAPOL to each station's own MAC.
    let lab = Lab::with("p", 0, "use_pae_group_addr=0\nctrl_interface=@DIR@/ctrl\n");
    let dir = lab.ca_pem.parent().unwrap().to_path_buf();
    let ctrl = dir.join("ctrl");
    let (topo, s) = (&lab.topo, |p: &Path| p.display().to_string());
    // The PC in its own namespace, cabled to the phone's PC port.
    let tag = format!("{}p", std::process::id() % 100_000);
    let pc_ns = Netns::new(format!("eappcns{tag}"));
    let (pc_port, pc_nic) = (format!("eappp{tag}"), format!("eapnic{tag}"));
    cable(&topo.pair.supp_ns, &pc_port, &pc_ns, &pc_nic);
    ip(&["-n", &pc_ns.0, "link", "set", &pc_nic, "down"]);
    ip(&["-n", &pc_ns.0, "link", "set", &pc_nic, "address", PC]);
    ip(&["-n", &pc_ns.0, "link", "set", &pc_nic, "up"]);
    let phone_mac = mac_in(&topo.supp_ns, &topo.supp_if);

    let agent_err = dir.join("agent.err");
    let _agent = Killed(
        Command::new("ip")
            .args(["netns", "exec", &topo.supp_ns, env!("CARGO_BIN_EXE_phone-agent")])
            .args([
                "dot1x",
                "--json",
                "--timeout",
                "20",
                "--start-period",
                "1",
                "--stay",
                "120",
            ])
            .args([
                "--iface",
                &topo.supp_if,
                "--pc-port",
                &pc_port,
                "--config",
                &s(&lab.cfg),
            ])
            .args(["--ca", &s(&lab.ca_pem), "--client-cert", &s(&lab.client_cert)])
            .args([
                "--client-key",
                &s(&lab.client_key),
                "--identity",
                "phone@example.org",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&agent_err).unwrap())
            .spawn()
            .unwrap(),
    );
    let pki = Pki {
        ca: lab.ca_pem.clone(),
        server_cert: PathBuf::new(),
        server_key: PathBuf::new(),
        client_cert: lab.client_cert.clone(),
        client_key: lab.client_key.clone(),
    };
    let pc_dir = Scratch::new("wired-pc");
    let (_pc, wpa_log) = pc_supplicant(&pc_dir, &pc_ns.0, &pc_nic, &pki);
    let diagnostics = || {
        format!(
            "hostapd:\n{}\nagent stderr:\n{}\nwpa_supplicant:\n{}",
            lab.hostapd.log(),
            std::fs::read_to_string(&agent_err).unwrap_or_default(),
            std::fs::read_to_string(&wpa_log).unwrap_or_default()
        )
    };

    // The PC authenticates through the phone; the phone authenticates itself too.
    let (authorized, sta) = wait_sta(&ctrl, &topo.auth_if, PC, 20, true);
    assert!(
        authorized,
        "PC not authorized through the pass-through: {sta}\n{}",
        diagnostics()
    );
    let (authorized, sta) = wait_sta(&ctrl, &topo.auth_if, &phone_mac, 20, true);
    assert!(authorized, "phone not authorized: {sta}\n{}", diagnostics());
    assert_eq!(lab.hostapd.wait_for(&[PC, "received EAPOL-Logoff"]), 0);

    // The PC's cable is pulled: the phone logs it off on its behalf (the PC cannot send anything
    // on a link that is down), and hostapd de-authorizes the PC's MAC only.
    ip(&["-n", &pc_ns.0, "link", "set", &pc_nic, "down"]);
    let (authorized, sta) = wait_sta(&ctrl, &topo.auth_if, PC, 10, false);
    assert!(
        !authorized,
        "PC still authorized after its link went down: {sta}\n{}",
        diagnostics()
    );
    assert!(
        lab.hostapd.wait_for(&[PC, "received EAPOL-Logoff from STA"]) > 0,
        "no EAPOL-Logoff from the PC's MAC:\n{}",
        diagnostics()
    );
    assert!(
        std::fs::read_to_string(&agent_err)
            .unwrap_or_default()
            .contains(&format!("proxy EAPOL-Logoff sent for {PC}")),
        "{}",
        diagnostics()
    );
    let (authorized, sta) = wait_sta(&ctrl, &topo.auth_if, &phone_mac, 1, true);
    assert!(authorized, "the phone lost its own authorization: {sta}");
    println!("hostapd wired  pass-through  PC (wpa_supplicant) via --pc-port -> authorized ({PC})");
    println!(
        "hostapd wired  pass-through  PC link down -> proxy EAPOL-Logoff, hostapd de-authorized {PC}, phone {phone_mac} still authorized"
    );
}
