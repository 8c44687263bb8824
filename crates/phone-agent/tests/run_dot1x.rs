//! `phone-agent run` with 802.1X on a real wired port: hostapd (`driver=wired`, its integrated
//! EAP server) on one end of a veth pair, the daemon on the other, each end in a network
//! namespace this test creates and deletes (names start with `agent` and the test's pid).
//!
//! The daemon starts first: no authenticator answers, the status (read with `phone-agent
//! status --json` inside the namespace) and the admin page in headless Chromium show the port
//! not authenticated. hostapd comes up: both show `Authenticated` with `EAP-TLS`. SIGTERM:
//! hostapd logs the EAPOL-Logoff and the daemon exits 0.
//!
//! Needs root and the Debian packages hostapd, iproute2 and chromium (`.ci/run` installs them).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use std::path::Path;
use std::time::{Duration, Instant};

mod dot1x_common;
mod page_common;
mod run_common;
use dot1x_common::{
    Netns, Pki, Scratch, VethPair, ca, cable, hostapd_wired, ip, mac_in, pc_supplicant, require, wait_sta,
};

use run_common::Daemon;

/// The two namespaces (names start with `agent` and the test's pid, plus `suffix`).
fn netns(suffix: &str) -> VethPair {
    let tag = format!("{}{suffix}", std::process::id() % 1_000_000);
    VethPair::new(
        format!("agentA{tag}"),
        format!("agentS{tag}"),
        format!("agA{tag}"),
        format!("agS{tag}"),
    )
}

const HTTP: &str = "127.0.0.1:8480";

/// `phone-agent -v run` in namespace `ns` on `cfg` with 802.1X on `iface` and `extra`
/// arguments, its output in `agent.log`.
fn daemon(ns: &str, dir: &Scratch, cfg: &Path, iface: &str, extra: &[&str]) -> Daemon {
    let s = |p: &Path| p.display().to_string();
    let mut args: Vec<String> = ["-v", "run", "--config", &s(cfg), "--iface", iface]
        .map(str::to_owned)
        .to_vec();
    args.extend(
        [
            "--eapol-start-period",
            "1",
            "--nft",
            "/nonexistent/nft",
            "--backoff-max",
            "1",
            "--state-dir",
            &s(&dir.0),
        ]
        .map(str::to_owned),
    );
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    Daemon::start(Some(ns), HTTP, &dir.path("agent.log"), args)
}

/// [`daemon`] with EAP-TLS from the test PKI.
fn tls_daemon(ns: &str, dir: &Scratch, pki: &Pki, iface: &str, extra: &[&str]) -> Daemon {
    let cfg = dir.write(
        "cfg.xml",
        "<flat-profile><Enable_802.1X_Authentication>Yes</Enable_802.1X_Authentication></flat-profile>",
    );
    let s = |p: &Path| p.display().to_string();
    let mut args = vec![
        "--ca-file".to_owned(),
        s(&pki.ca),
        "--client-cert".to_owned(),
        s(&pki.client_cert),
        "--client-key".to_owned(),
        s(&pki.client_key),
        "--identity".to_owned(),
        "phone@example.org".to_owned(),
    ];
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    daemon(ns, dir, &cfg, iface, &args)
}

#[test]
fn dot1x_state_follows_the_authenticator_and_sigterm_logs_off() {
    require("hostapd", "hostapd");
    let dir = Scratch::new("run-agent");
    let pki = Pki::new(&dir, &ca("run dot1x test CA"));
    let users = dir.write("eap_users", "* TLS\n");
    let net = netns("");
    let (supp, auth) = (net.supp_ns.0.as_str(), net.auth_ns.0.as_str());
    let mut daemon = tls_daemon(supp, &dir, &pki, &net.supp_if, &[]);
    let url = format!("http://{HTTP}/");

    // No authenticator yet: EAPOL-Starts unanswered.
    let before = daemon.wait_for(Duration::from_secs(10), "802.1X started", |s| {
        s["dot1x"]["transaction_state"] != "Disabled"
    });
    let state = before["dot1x"]["transaction_state"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(state == "Authenticating" || state == "Failed", "{before:#}");
    let dom = page_common::dump_dom(&url, Some(supp), &dir.0);
    let shown = page_common::text_of(&dom, "dot1x-state").unwrap_or_default();
    println!("no authenticator: status {state}, page {shown}");
    assert!(shown == "Authenticating" || shown == "Failed", "{dom}");

    // The authenticator comes up.
    let hostapd = hostapd_wired(&dir, auth, &net.auth_if, &pki.hostapd_eap_server(&users));
    let after = daemon
        .poll_status(Duration::from_secs(30), |s| {
            s["dot1x"]["transaction_state"] == "Authenticated"
        })
        .unwrap_or_else(|| {
            panic!(
                "not authenticated:\n{}\nhostapd:\n{}",
                daemon.log(),
                hostapd.log()
            )
        });
    assert_eq!(after["dot1x"]["protocol"], "EAP-TLS");
    let dom = page_common::dump_dom(&url, Some(supp), &dir.0);
    println!(
        "hostapd up: status {}, page {:?} / {:?}",
        after["dot1x"],
        page_common::text_of(&dom, "dot1x-state"),
        page_common::text_of(&dom, "dot1x-protocol")
    );
    assert_eq!(
        page_common::text_of(&dom, "dot1x-state").as_deref(),
        Some("Authenticated"),
        "{dom}"
    );
    assert_eq!(
        page_common::text_of(&dom, "dot1x-protocol").as_deref(),
        Some("EAP-TLS"),
        "{dom}"
    );
    let png = std::env::temp_dir().join(format!("phone-agent-run-dot1x-{}.png", std::process::id()));
    page_common::screenshot(&url, Some(supp), &dir.0, (390, 844), &png);
    println!("screenshot 390x844 (802.1X Authenticated): {}", png.display());

    // SIGTERM: EAPOL-Logoff, exit 0.
    assert_eq!(daemon.terminate(), Some(0), "{}", daemon.log());
    let logoff = (0..60).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        hostapd.log().contains("received EAPOL-Logoff from STA")
    });
    assert!(logoff, "hostapd saw no EAPOL-Logoff:\n{}", hostapd.log());
    println!("SIGTERM: exit 0, hostapd: received EAPOL-Logoff from STA");
}

/// `phone-agent run --pc-port`: the PC behind the phone (`wpa_supplicant -D wired` in a third
/// namespace, cabled to the phone's PC port) authenticates through the daemon's pass-through
/// while the phone authenticates itself; the status shows the PC and the frames. The PC's
/// cable is pulled: the daemon sends a proxy EAPOL-Logoff, hostapd de-authorizes the PC only,
/// and the status counts the Logoff.
#[test]
fn pc_port_passes_the_pc_through_and_logs_it_off_in_the_daemon() {
    const PC: &str = "02:00:00:00:0c:21";
    let dir = Scratch::new("run-pc");
    let pki = Pki::new(&dir, &ca("run pc port test CA"));
    let users = dir.write("eap_users", "* TLS\n");
    let net = netns("p");
    let (supp, auth) = (net.supp_ns.0.as_str(), net.auth_ns.0.as_str());
    // A switch in multi-auth mode: EAPOL to each station's own MAC.
    let ctrl = dir.path("ctrl");
    let hostapd = hostapd_wired(
        &dir,
        auth,
        &net.auth_if,
        &format!(
            "{}use_pae_group_addr=0\nctrl_interface={}\n",
            pki.hostapd_eap_server(&users),
            ctrl.display()
        ),
    );
    assert!(hostapd.wait_for(&["ENABLED"]) > 0, "{}", hostapd.log());
    let tag = format!("{}", std::process::id() % 1_000_000);
    let pc_ns = Netns::new(format!("agentP{tag}"));
    let (pc_port, pc_nic) = (format!("agP{tag}"), format!("agN{tag}"));
    cable(&net.supp_ns, &pc_port, &pc_ns, &pc_nic);
    ip(&["-n", &pc_ns.0, "link", "set", &pc_nic, "down"]);
    ip(&["-n", &pc_ns.0, "link", "set", &pc_nic, "address", PC]);
    ip(&["-n", &pc_ns.0, "link", "set", &pc_nic, "up"]);
    let phone_mac = mac_in(supp, &net.supp_if);
    let daemon = tls_daemon(supp, &dir, &pki, &net.supp_if, &["--pc-port", &pc_port]);
    let (_pc, wpa_log) = pc_supplicant(&dir, &pc_ns.0, &pc_nic, &pki);
    let diagnostics = || {
        format!(
            "agent:\n{}\nhostapd:\n{}\nwpa_supplicant:\n{}",
            daemon.log(),
            hostapd.log(),
            std::fs::read_to_string(&wpa_log).unwrap_or_default()
        )
    };

    let (authorized, sta) = wait_sta(&ctrl, &net.auth_if, PC, 20, true);
    assert!(
        authorized,
        "PC not authorized through the daemon: {sta}\n{}",
        diagnostics()
    );
    let (authorized, sta) = wait_sta(&ctrl, &net.auth_if, &phone_mac, 20, true);
    assert!(authorized, "phone not authorized: {sta}\n{}", diagnostics());
    let up = daemon
        .poll_status(Duration::from_secs(10), |s| {
            s["pc_port"]["pcs"]
                .as_array()
                .is_some_and(|p| p.iter().any(|m| m == PC))
                && s["dot1x"]["transaction_state"] == "Authenticated"
        })
        .unwrap_or_else(|| panic!("status without the PC:\n{}", diagnostics()));
    let p = &up["pc_port"];
    assert_eq!(p["state"], "Forwarding", "{p}");
    assert_eq!(p["iface"], pc_port.as_str());
    assert_eq!(p["link_up"], true);
    assert!(p["frames_to_network"].as_u64().unwrap_or(0) > 0, "{p}");
    assert!(p["frames_to_pc"].as_u64().unwrap_or(0) > 0, "{p}");
    println!("PC authorized through the daemon: status pc_port {p}");

    // The PC's cable is pulled.
    ip(&["-n", &pc_ns.0, "link", "set", &pc_nic, "down"]);
    let (authorized, sta) = wait_sta(&ctrl, &net.auth_if, PC, 10, false);
    assert!(!authorized, "PC still authorized: {sta}\n{}", diagnostics());
    assert!(
        hostapd.wait_for(&[PC, "received EAPOL-Logoff from STA"]) > 0,
        "{}",
        diagnostics()
    );
    let down = daemon
        .poll_status(Duration::from_secs(5), |s| s["pc_port"]["proxy_logoffs"] == 1)
        .unwrap_or_else(|| panic!("no proxy Logoff in the status:\n{}", diagnostics()));
    assert_eq!(down["pc_port"]["last_proxy_logoff"], PC);
    assert_eq!(down["pc_port"]["link_up"], false);
    assert_eq!(down["dot1x"]["transaction_state"], "Authenticated");
    let (authorized, _) = wait_sta(&ctrl, &net.auth_if, &phone_mac, 1, true);
    assert!(authorized, "the phone lost its own authorization");
    println!(
        "PC link down: hostapd de-authorized {PC} (EAPOL-Logoff from STA), phone {phone_mac} still authorized; status pc_port {}",
        down["pc_port"]
    );
}

#[path = "../../eap-supplicant/tests/common/openssl_pki.rs"]
mod openssl_pki;

/// The daemon's 802.1X with EAP-FAST from the settings alone (`Agent_802.1X_Method` EAP-FAST,
/// identity, password, `Agent_EAP_FAST_Provisioning` 2): hostapd (`driver=wired`, EAP-FAST,
/// server-authenticated provisioning) hands the phone a PAC and authorizes it in one
/// conversation; the status says `Authenticated` / `EAP-FAST`; the PAC is kept in
/// STATE_DIR/eap-fast.pac with mode 0600.
#[test]
fn the_daemon_runs_eap_fast_from_the_settings_and_keeps_its_pac() {
    require("hostapd", "hostapd");
    let dir = Scratch::new("run-fast");
    openssl_pki::eap_server(&dir.0).unwrap();
    openssl_pki::ffdhe2048(&dir.0, "dh.pem").unwrap();
    let users = dir.write("eap_users", "\"alice\" FAST\n\"alice\" MSCHAPV2 \"secret\" [2]\n");
    let tag = format!("{}", std::process::id() % 1_000_000);
    let net = VethPair::new(
        format!("fastA{tag}"),
        format!("fastS{tag}"),
        format!("faA{tag}"),
        format!("faS{tag}"),
    );
    let (supp, auth) = (net.supp_ns.0.as_str(), net.auth_ns.0.as_str());
    let d = dir.0.display();
    let hostapd = hostapd_wired(
        &dir,
        auth,
        &net.auth_if,
        &format!(
            "eap_server=1\neap_user_file={}\nca_cert={d}/ca.pem\nserver_cert={d}/server.pem\n\
             private_key={d}/server.key\ndh_file={d}/dh.pem\npac_opaque_encr_key=000102030405060708090a0b0c0d0e0f\n\
             eap_fast_a_id=101112131415161718191a1b1c1d1e1f\neap_fast_a_id_info=wired test\neap_fast_prov=3\n",
            users.display()
        ),
    );
    let cfg = dir.write(
        "cfg-fast.xml",
        "<flat-profile><Enable_802.1X_Authentication>Yes</Enable_802.1X_Authentication>\
         <Agent_802.1X_Method>EAP-FAST</Agent_802.1X_Method><Agent_802.1X_Identity>alice</Agent_802.1X_Identity>\
         <Agent_802.1X_Password>secret</Agent_802.1X_Password>\
         <Agent_EAP_FAST_Provisioning>2</Agent_EAP_FAST_Provisioning></flat-profile>",
    );
    let ca_file = dir.path("ca.pem").display().to_string();
    let mut first = daemon(supp, &dir, &cfg, &net.supp_if, &["--ca-file", &ca_file]);
    let agent_log = || std::fs::read_to_string(dir.path("agent.log")).unwrap_or_default();
    let after = first
        .poll_status(Duration::from_secs(30), |s| {
            s["dot1x"]["transaction_state"] == "Authenticated"
        })
        .unwrap_or_else(|| panic!("not authenticated:\n{}\nhostapd:\n{}", agent_log(), hostapd.log()));
    assert_eq!(after["dot1x"]["protocol"], "EAP-FAST", "{after:#}");
    let pac = dir.path("eap-fast.pac");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&pac)
        .unwrap_or_else(|e| panic!("no PAC file: {e}\n{}", agent_log()))
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(
        std::fs::read_to_string(&pac)
            .unwrap()
            .starts_with("wpa_supplicant EAP-FAST PAC file - version 1\n")
    );
    assert!(!agent_log().contains("secret"), "the password reached the log");
    println!(
        "daemon, EAP-FAST from cfg.xml: {} {}, PAC in {} (mode {:o})",
        after["dot1x"]["transaction_state"],
        after["dot1x"]["protocol"],
        pac.display(),
        mode & 0o777
    );
    assert_eq!(first.terminate(), Some(0), "{}", agent_log());

    // Anonymous provisioning (Agent_EAP_FAST_Provisioning 1, no PAC, no CA): the PAC arrives,
    // hostapd ends that conversation with EAP-Failure (RFC 5422), the supervisor starts 802.1X
    // again, and the new PAC authenticates.
    std::fs::remove_file(&pac).unwrap();
    let cfg = dir.write(
        "cfg-anon.xml",
        "<flat-profile><Enable_802.1X_Authentication>Yes</Enable_802.1X_Authentication>\
         <Agent_802.1X_Method>EAP-FAST</Agent_802.1X_Method><Agent_802.1X_Identity>alice</Agent_802.1X_Identity>\
         <Agent_802.1X_Password>secret</Agent_802.1X_Password>\
         <Agent_EAP_FAST_Provisioning>1</Agent_EAP_FAST_Provisioning></flat-profile>",
    );
    let second = daemon(supp, &dir, &cfg, &net.supp_if, &[]);
    let t = Instant::now();
    let again = second
        .poll_status(Duration::from_secs(40), |s| {
            s["dot1x"]["transaction_state"] == "Authenticated"
        })
        .unwrap_or_else(|| {
            panic!(
                "not authenticated after anonymous provisioning:\n{}\nhostapd:\n{}",
                agent_log(),
                hostapd.log()
            )
        });
    assert_eq!(again["dot1x"]["protocol"], "EAP-FAST");
    assert!(pac.exists(), "the anonymously provisioned PAC is kept");
    assert!(
        hostapd
            .log()
            .contains("EAP-FAST: PAC-Key from decrypted PAC-Opaque"),
        "the second conversation used the PAC"
    );
    println!(
        "daemon, anonymous provisioning: PAC, EAP-Failure, supervisor restart, Authenticated with the PAC after {:?}",
        t.elapsed()
    );
}
