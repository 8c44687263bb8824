//! `phone-agent ldap search` against a real OpenLDAP `slapd` (Debian `slapd`), started per test
//! in a temporary directory on free loopback ports, with an rcgen test PKI (a CA and a leaf for
//! `localhost` only) and a few entries:
//!
//! scheme × StartTLS × server TLS support × server name × cipher list × auth → result.
//!
//! Each row prints one line `MATRIX | ...` (run with `--no-capture` to collect the table).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod proxy_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use proxy_common::{Daemon, agent, find_program, free_port, listening, temp_dir, text};

const BASE: &str = "dc=example,dc=org";

/// How the test server does TLS.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ServerTls {
    /// No TLS at all: StartTLS is answered with an error, there is no ldaps:// port.
    None,
    /// GnuTLS defaults (TLS 1.2 and 1.3).
    Default,
    /// TLS 1.2 with ECDHE-RSA-AES256-GCM-SHA384 only.
    OneSuite,
}

/// Test certificates: `ca.pem` signed `localhost`'s certificate; `other-ca.pem` did not.
struct Pki {
    ca: PathBuf,
    other_ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn ca(name: &str) -> (rcgen::Certificate, rcgen::KeyPair) {
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.distinguished_name.push(rcgen::DnType::CommonName, name);
    let key = rcgen::KeyPair::generate().unwrap();
    (p.self_signed(&key).unwrap(), key)
}

impl Pki {
    fn new(dir: &Path) -> Pki {
        let (ca_cert, ca_key) = ca("ldap test CA");
        let (other, _) = ca("some other CA");
        // RSA: GnuTLS' ECDHE-RSA suites need an RSA key; rcgen makes ECDSA keys by default.
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap_or_else(|_| {
            let out = Command::new("openssl")
                .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
                .output()
                .unwrap();
            rcgen::KeyPair::from_pem(&String::from_utf8(out.stdout).unwrap()).unwrap()
        });
        let mut p = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        p.distinguished_name.push(rcgen::DnType::CommonName, "localhost");
        let cert = p.signed_by(&key, &ca_cert, &ca_key).unwrap();
        let pki = Pki {
            ca: dir.join("ca.pem"),
            other_ca: dir.join("other-ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        };
        std::fs::write(&pki.ca, ca_cert.pem()).unwrap();
        std::fs::write(&pki.other_ca, other.pem()).unwrap();
        std::fs::write(&pki.cert, cert.pem()).unwrap();
        std::fs::write(&pki.key, key.serialize_pem()).unwrap();
        pki
    }
}

/// A slapd on 127.0.0.1: `ldap://` on `port`, `ldaps://` on `ldaps_port` (when it has TLS).
struct Slapd {
    _daemon: Daemon,
    port: u16,
    ldaps_port: u16,
}

const PEOPLE: &[(&str, &str, &str, &str)] = &[
    // cn, sn, displayName, telephoneNumber
    ("alice", "Anders", "Alice Anders", "+1 555 0101"),
    ("bob", "Andrews", "Bob Andrews", "+1 555 0102"),
    ("carol", "Baker", "Carol Baker", "+1 555 0103"),
];

/// Entries with sn=Many: more than the smallest Max_Display_Records (50).
const MANY: usize = 60;

fn ldif() -> String {
    let mut s = format!(
        "dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n\
         dn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people\n\n"
    );
    for (cn, sn, display, tel) in PEOPLE {
        s.push_str(&format!(
            "dn: cn={cn},ou=people,{BASE}\nobjectClass: inetOrgPerson\ncn: {cn}\nsn: {sn}\n\
             displayName: {display}\ntelephoneNumber: {tel}\nmobile: +1 555 09{}\nuserPassword: {cn}pw\n\n",
            &tel[tel.len() - 2..]
        ));
    }
    for i in 0..MANY {
        s.push_str(&format!(
            "dn: cn=many{i:02},ou=people,{BASE}\nobjectClass: inetOrgPerson\ncn: many{i:02}\nsn: Many\n\
             telephoneNumber: +1 555 2{i:03}\n\n"
        ));
    }
    s
}

impl Slapd {
    fn start(pki: &Pki, tls: ServerTls) -> Slapd {
        let slapd = find_program("slapd", "slapd");
        let slapadd = find_program("slapadd", "slapd");
        let dir = temp_dir("slapd");
        std::fs::create_dir_all(dir.join("db")).unwrap();
        let tls_lines = match tls {
            ServerTls::None => String::new(),
            ServerTls::Default | ServerTls::OneSuite => format!(
                "TLSCertificateFile {}\nTLSCertificateKeyFile {}\n{}",
                pki.cert.display(),
                pki.key.display(),
                if tls == ServerTls::OneSuite {
                    "TLSCipherSuite NONE:+VERS-TLS1.2:+ECDHE-RSA:+AES-256-GCM:+AEAD:+SIGN-ALL:+COMP-NULL:+GROUP-ALL:+CTYPE-X509\n"
                } else {
                    ""
                }
            ),
        };
        let conf = format!(
            "include /etc/ldap/schema/core.schema\n\
             include /etc/ldap/schema/cosine.schema\n\
             include /etc/ldap/schema/inetorgperson.schema\n\
             modulepath /usr/lib/ldap\nmoduleload back_mdb\n\
             pidfile {dir}/slapd.pid\n\
             {tls_lines}\
             sasl-realm example.org\n\
             authz-regexp \"uid=([^,]*),cn=[^,]*,cn=auth\" \"cn=$1,ou=people,{BASE}\"\n\
             authz-regexp \"uid=([^,]*),cn=[^,]*,cn=[^,]*,cn=auth\" \"cn=$1,ou=people,{BASE}\"\n\
             database mdb\nmaxsize 10485760\nsuffix \"{BASE}\"\n\
             rootdn \"cn=admin,{BASE}\"\nrootpw secret\ndirectory {dir}/db\n",
            dir = dir.display()
        );
        let conf_path = dir.join("slapd.conf");
        std::fs::write(&conf_path, conf).unwrap();
        std::fs::write(dir.join("data.ldif"), ldif()).unwrap();
        let out = Command::new(slapadd)
            .arg("-f")
            .arg(&conf_path)
            .arg("-l")
            .arg(dir.join("data.ldif"))
            .output()
            .unwrap();
        assert!(out.status.success(), "slapadd: {}", text(&out.stderr));
        let port = free_port();
        let ldaps_port = free_port();
        let mut urls = format!("ldap://127.0.0.1:{port}/");
        if tls != ServerTls::None {
            urls.push_str(&format!(" ldaps://127.0.0.1:{ldaps_port}/"));
        }
        let log = dir.join("slapd.log");
        let child = Command::new(slapd)
            .arg("-f")
            .arg(&conf_path)
            .arg("-h")
            .arg(&urls)
            .arg("-d")
            .arg("0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut daemon = Daemon { child, dir };
        daemon.wait_until("slapd", &log, || {
            listening(port) && (tls == ServerTls::None || listening(ldaps_port))
        });
        Slapd {
            _daemon: daemon,
            port,
            ldaps_port,
        }
    }

    fn ldaps(&self, host: &str) -> String {
        format!("ldaps://{host}:{}", self.ldaps_port)
    }

    fn ldap(&self, host: &str) -> String {
        format!("ldap://{host}:{}", self.port)
    }
}

/// A cfg.xml for `server` with these extra elements.
fn cfg(dir: &Path, name: &str, server: &str, extra: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "<flat-profile>\n<LDAP_Dir_Enable>Yes</LDAP_Dir_Enable>\n<LDAP_Server>{server}</LDAP_Server>\n\
             <LDAP_Search_Base>ou=people,{BASE}</LDAP_Search_Base>\n\
             <LDAP_Last_Name_Filter>sn:(sn=$VALUE*)</LDAP_Last_Name_Filter>\n\
             <LDAP_First_Name_Filter>cn:(cn=$VALUE*)</LDAP_First_Name_Filter>\n\
             <LDAP_Display_Attrs>a=displayName,n=Name;a=telephoneNumber,n=Tel,t=p;a=mobile,n=Mobile,t=p</LDAP_Display_Attrs>\n\
             {extra}\n</flat-profile>\n"
        ),
    )
    .unwrap();
    path
}

fn search(config: &Path, ca: Option<&Path>, name: &str, json: bool) -> Output {
    let mut args = vec!["ldap", "search", "--config", config.to_str().unwrap()];
    if let Some(ca) = ca {
        args.extend(["--ca", ca.to_str().unwrap()]);
    }
    if json {
        args.push("--json");
    }
    args.push(name);
    agent(&args)
}

/// One row of the matrix: runs the search, prints the row, returns (exit code, stdout, stderr).
#[allow(clippy::too_many_arguments)]
fn row(
    label: &str,
    scheme_starttls: &str,
    server_tls: &str,
    host: &str,
    ciphers: &str,
    auth: &str,
    config: &Path,
    ca: Option<&Path>,
    name: &str,
) -> (i32, String, String) {
    let out = search(config, ca, name, false);
    let code = out.status.code().unwrap_or(-1);
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    let result = if code == 0 {
        stdout.lines().last().unwrap_or("").to_owned()
    } else {
        stderr.lines().last().unwrap_or("").to_owned()
    };
    println!(
        "MATRIX | {label} | {scheme_starttls} | {server_tls} | {host} | {ciphers} | {auth} | exit {code}: {result}"
    );
    (code, stdout, stderr)
}

#[test]
fn ldaps_and_starttls_against_slapd_with_tls() {
    let dir = temp_dir("ldap");
    let pki = Pki::new(&dir);
    let slapd = Slapd::start(&pki, ServerTls::Default);
    let ca = Some(pki.ca.as_path());

    // LDAPS, the right name: two entries, with their numbers.
    let c = cfg(&dir, "ldaps.xml", &slapd.ldaps("localhost"), "");
    let (code, out, err) = row(
        "LDAPS ok",
        "ldaps",
        "TLS",
        "localhost",
        "default",
        "None",
        &c,
        ca,
        "And",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("(ldaps, TLSv1_3 "), "{out}");
    assert!(out.contains(", bind None)"), "{out}");
    assert!(
        out.contains("Alice Anders") && out.contains("Bob Andrews"),
        "{out}"
    );
    assert!(out.contains("Tel (dial): +1 555 0101"), "{out}");
    assert!(out.ends_with("2 entries\n"), "{out}");
    assert!(err.is_empty(), "{err}");

    // JSON: the same, machine-readable.
    let json = search(&c, ca, "Baker", true);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["channel"], "ldaps");
    assert_eq!(doc["tls"]["version"], "TLSv1_3");
    assert_eq!(doc["entries"][0]["name"], "Carol Baker");
    assert_eq!(doc["entries"][0]["fields"][0]["values"][0], "Carol Baker");

    // StartTLS on ldap://.
    let c = cfg(
        &dir,
        "starttls.xml",
        &slapd.ldap("localhost"),
        "<LDAP_StartTLS_Enable>Yes</LDAP_StartTLS_Enable>",
    );
    let (code, out, err) = row(
        "StartTLS ok",
        "ldap+StartTLS",
        "TLS",
        "localhost",
        "default",
        "None",
        &c,
        ca,
        "alice",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("(starttls, TLSv1_3 "), "{out}");
    assert!(out.ends_with("1 entry\n"), "{out}");

    // Nothing found is not an error.
    let (code, out, _) = row(
        "no match",
        "ldap+StartTLS",
        "TLS",
        "localhost",
        "default",
        "None",
        &c,
        ca,
        "zzz",
    );
    assert_eq!(code, 0);
    assert!(out.ends_with("0 entries\n"), "{out}");

    // ldap:// without StartTLS: works, with a warning every time.
    let c = cfg(&dir, "clear.xml", &slapd.ldap("localhost"), "");
    let (code, out, err) = row(
        "clear, configured",
        "ldap",
        "TLS",
        "localhost",
        "-",
        "None",
        &c,
        None,
        "alice",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("(clear, bind None)"), "{out}");
    assert!(err.contains("WARN") && err.contains("clear text"), "{err}");

    // The wrong name: the certificate is for localhost only.
    let c = cfg(&dir, "ldaps-ip.xml", &slapd.ldaps("127.0.0.1"), "");
    let (code, _, err) = row(
        "LDAPS wrong name",
        "ldaps",
        "TLS",
        "127.0.0.1",
        "default",
        "None",
        &c,
        ca,
        "And",
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("certificate refused") && err.contains("localhost"),
        "{err}"
    );
    let c = cfg(
        &dir,
        "starttls-ip.xml",
        &slapd.ldap("127.0.0.1"),
        "<LDAP_StartTLS_Enable>Yes</LDAP_StartTLS_Enable>",
    );
    let (code, _, err) = row(
        "StartTLS wrong name",
        "ldap+StartTLS",
        "TLS",
        "127.0.0.1",
        "default",
        "None",
        &c,
        ca,
        "And",
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("certificate refused") && err.contains("localhost"),
        "{err}"
    );

    // Another CA.
    let c = cfg(&dir, "ldaps2.xml", &slapd.ldaps("localhost"), "");
    let other = Some(pki.other_ca.as_path());
    let (code, _, err) = row(
        "LDAPS other CA",
        "ldaps",
        "TLS",
        "localhost",
        "default",
        "None",
        &c,
        other,
        "And",
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("does not chain to a CA certificate given with --ca (unknown issuer)"),
        "{err}"
    );

    // TLS without a CA to check the server with: refused before connecting.
    let (code, _, err) = row(
        "LDAPS no --ca",
        "ldaps",
        "TLS",
        "localhost",
        "default",
        "None",
        &c,
        None,
        "And",
    );
    assert_eq!(code, 1);
    assert!(err.contains("--ca"), "{err}");

    // Simple bind, right and wrong password, over LDAPS.
    let simple = |pw: &str| {
        format!(
            "<LDAP_Auth_Method>Simple</LDAP_Auth_Method><LDAP_Client_DN>cn=alice,ou=people,{BASE}</LDAP_Client_DN>\
             <LDAP_Password>{pw}</LDAP_Password>"
        )
    };
    let c = cfg(
        &dir,
        "simple-ok.xml",
        &slapd.ldaps("localhost"),
        &simple("alicepw"),
    );
    let (code, out, err) = row(
        "Simple bind ok",
        "ldaps",
        "TLS",
        "localhost",
        "default",
        "Simple",
        &c,
        ca,
        "Baker",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("bind Simple"), "{out}");
    let c = cfg(
        &dir,
        "simple-bad.xml",
        &slapd.ldaps("localhost"),
        &simple("wrong"),
    );
    let (code, out, err) = row(
        "Simple bind wrong password",
        "ldaps",
        "TLS",
        "localhost",
        "default",
        "Simple",
        &c,
        ca,
        "Baker",
    );
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("49 invalidCredentials"), "{err}");
    assert!(!err.contains("wrong"), "the password is never printed: {err}");

    // Simple bind over clear text: refused, unless opted in (then with a warning).
    let c = cfg(
        &dir,
        "simple-clear.xml",
        &slapd.ldap("localhost"),
        &simple("alicepw"),
    );
    let (code, _, err) = row(
        "Simple bind in clear",
        "ldap",
        "TLS",
        "localhost",
        "-",
        "Simple",
        &c,
        None,
        "Baker",
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("refusing a Simple bind over the clear-text connection"),
        "{err}"
    );
    let c = cfg(
        &dir,
        "simple-clear-optin.xml",
        &slapd.ldap("localhost"),
        &format!(
            "{}<Agent_LDAP_Allow_Clear_Text>Yes</Agent_LDAP_Allow_Clear_Text>",
            simple("alicepw")
        ),
    );
    let (code, _, err) = row(
        "Simple bind in clear, opt-in",
        "ldap",
        "TLS",
        "localhost",
        "-",
        "Simple",
        &c,
        None,
        "Baker",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("binding with Simple") && err.contains("CLEAR TEXT"),
        "{err}"
    );

    // More entries than Max_Display_Records: the first 50, marked partial.
    let c = cfg(&dir, "many.xml", &slapd.ldaps("localhost"), "");
    let (code, out, err) = row(
        "size limit",
        "ldaps",
        "TLS",
        "localhost",
        "default",
        "None",
        &c,
        ca,
        "Many",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.ends_with(
            "50 entries (partial: size limit: more than 50 entries matched (Max_Display_Records))\n"
        ),
        "{out}"
    );
    let c = cfg(
        &dir,
        "many-100.xml",
        &slapd.ldaps("localhost"),
        "<Max_Display_Records>100</Max_Display_Records>",
    );
    let (code, out, _) = row(
        "size limit 100",
        "ldaps",
        "TLS",
        "localhost",
        "default",
        "None",
        &c,
        ca,
        "Many",
    );
    assert_eq!(code, 0);
    assert!(out.ends_with(&format!("{MANY} entries\n")), "{out}");
    drop(slapd);
}

#[test]
fn starttls_refused_by_a_server_without_tls() {
    let dir = temp_dir("ldap");
    let pki = Pki::new(&dir);
    let slapd = Slapd::start(&pki, ServerTls::None);
    let ca = Some(pki.ca.as_path());
    let c = cfg(
        &dir,
        "starttls.xml",
        &slapd.ldap("localhost"),
        "<LDAP_StartTLS_Enable>Yes</LDAP_StartTLS_Enable>",
    );
    let (code, _, err) = row(
        "StartTLS refused",
        "ldap+StartTLS",
        "no TLS",
        "localhost",
        "default",
        "None",
        &c,
        ca,
        "And",
    );
    assert_eq!(code, 1);
    assert!(err.contains("refused StartTLS (2 protocolError"), "{err}");
    assert!(err.contains("LDAP_StartTLS_Enable"), "{err}");

    let c = cfg(
        &dir,
        "starttls-optin.xml",
        &slapd.ldap("localhost"),
        "<LDAP_StartTLS_Enable>Yes</LDAP_StartTLS_Enable><Agent_LDAP_Allow_Clear_Text>Yes</Agent_LDAP_Allow_Clear_Text>",
    );
    for _ in 0..2 {
        // A warning every time, not once.
        let (code, out, err) = row(
            "StartTLS refused, opt-in",
            "ldap+StartTLS",
            "no TLS",
            "localhost",
            "default",
            "None",
            &c,
            ca,
            "And",
        );
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("(clear-after-starttls-refused, bind None)"), "{out}");
        assert!(out.ends_with("2 entries\n"), "{out}");
        assert!(
            err.contains("refused StartTLS") && err.contains("CLEAR TEXT"),
            "{err}"
        );
    }
    drop(slapd);
}

#[test]
fn a_cipher_list_with_nothing_in_common_names_tls_cipher_list() {
    let dir = temp_dir("ldap");
    let pki = Pki::new(&dir);
    let slapd = Slapd::start(&pki, ServerTls::OneSuite);
    let ca = Some(pki.ca.as_path());
    let list = "<TLS_Cipher_List>ECDHE-RSA-CHACHA20-POLY1305</TLS_Cipher_List>";
    let c = cfg(&dir, "chacha.xml", &slapd.ldaps("localhost"), list);
    let (code, _, err) = row(
        "no common suite",
        "ldaps",
        "TLS 1.2, AES256-GCM only",
        "localhost",
        "ECDHE-RSA-CHACHA20-POLY1305",
        "None",
        &c,
        ca,
        "And",
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("TLS_Cipher_List `ECDHE-RSA-CHACHA20-POLY1305`"),
        "{err}"
    );
    assert!(
        err.contains("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
        "{err}"
    );
    let c = cfg(
        &dir,
        "chacha-starttls.xml",
        &slapd.ldap("localhost"),
        &format!("{list}<LDAP_StartTLS_Enable>Yes</LDAP_StartTLS_Enable>"),
    );
    let (code, _, err) = row(
        "no common suite",
        "ldap+StartTLS",
        "TLS 1.2, AES256-GCM only",
        "localhost",
        "ECDHE-RSA-CHACHA20-POLY1305",
        "None",
        &c,
        ca,
        "And",
    );
    assert_eq!(code, 1);
    assert!(err.contains("TLS_Cipher_List"), "{err}");
    // The same server with a list that includes its suite.
    let c = cfg(
        &dir,
        "aesgcm.xml",
        &slapd.ldaps("localhost"),
        "<TLS_Cipher_List>ECDHE-RSA-AES256-GCM-SHA384</TLS_Cipher_List>",
    );
    let (code, out, err) = row(
        "common suite",
        "ldaps",
        "TLS 1.2, AES256-GCM only",
        "localhost",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "None",
        &c,
        ca,
        "And",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.ends_with("2 entries\n"), "{out}");
    drop(slapd);
}

#[test]
fn digest_md5_bind_against_slapd() {
    let dir = temp_dir("ldap");
    let pki = Pki::new(&dir);
    let slapd = Slapd::start(&pki, ServerTls::Default);
    let ca = Some(pki.ca.as_path());
    let digest = |pw: &str| {
        format!(
            "<LDAP_Auth_Method>DIGEST-MD5</LDAP_Auth_Method><LDAP_User_Name>alice</LDAP_User_Name>\
             <LDAP_Password>{pw}</LDAP_Password>"
        )
    };
    let c = cfg(
        &dir,
        "digest-ok.xml",
        &slapd.ldaps("localhost"),
        &digest("alicepw"),
    );
    let (code, out, err) = row(
        "DIGEST-MD5 ok",
        "ldaps",
        "TLS",
        "localhost",
        "default",
        "DIGEST-MD5",
        &c,
        ca,
        "Baker",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("bind DIGEST-MD5") && out.ends_with("1 entry\n"),
        "{out}"
    );

    let c = cfg(
        &dir,
        "digest-bad.xml",
        &slapd.ldaps("localhost"),
        &digest("wrong"),
    );
    let (code, _, err) = row(
        "DIGEST-MD5 wrong password",
        "ldaps",
        "TLS",
        "localhost",
        "default",
        "DIGEST-MD5",
        &c,
        ca,
        "Baker",
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("DIGEST-MD5 bind refused: 49 invalidCredentials"),
        "{err}"
    );

    let c = cfg(
        &dir,
        "digest-starttls.xml",
        &slapd.ldap("localhost"),
        &format!(
            "{}<LDAP_StartTLS_Enable>Yes</LDAP_StartTLS_Enable>",
            digest("alicepw")
        ),
    );
    let (code, out, err) = row(
        "DIGEST-MD5 ok",
        "ldap+StartTLS",
        "TLS",
        "localhost",
        "default",
        "DIGEST-MD5",
        &c,
        ca,
        "Baker",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("(starttls, ") && out.contains("bind DIGEST-MD5"),
        "{out}"
    );

    // Over clear text: refused, unless opted in.
    let c = cfg(
        &dir,
        "digest-clear.xml",
        &slapd.ldap("localhost"),
        &digest("alicepw"),
    );
    let (code, _, err) = row(
        "DIGEST-MD5 in clear",
        "ldap",
        "TLS",
        "localhost",
        "-",
        "DIGEST-MD5",
        &c,
        None,
        "Baker",
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("refusing a DIGEST-MD5 bind over the clear-text connection"),
        "{err}"
    );
    let c = cfg(
        &dir,
        "digest-clear-optin.xml",
        &slapd.ldap("localhost"),
        &format!(
            "{}<Agent_LDAP_Allow_Clear_Text>Yes</Agent_LDAP_Allow_Clear_Text>",
            digest("alicepw")
        ),
    );
    let (code, out, err) = row(
        "DIGEST-MD5 in clear, opt-in",
        "ldap",
        "TLS",
        "localhost",
        "-",
        "DIGEST-MD5",
        &c,
        None,
        "Baker",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("(clear, bind DIGEST-MD5)"), "{out}");
    assert!(
        err.contains("binding with DIGEST-MD5") && err.contains("CLEAR TEXT"),
        "{err}"
    );
    drop(slapd);
}

/// A server that accepts and then says nothing: every step is bounded by --time-limit.
#[test]
fn a_silent_server_is_given_up_on_after_the_time_limit() {
    let dir = temp_dir("ldap");
    let pki = Pki::new(&dir);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s); // keep it open, never answer
        }
    });
    for (name, server, extra, what) in [
        (
            "silent-ldaps.xml",
            format!("ldaps://localhost:{port}"),
            "",
            "the TLS handshake",
        ),
        (
            "silent-starttls.xml",
            format!("ldap://localhost:{port}"),
            "<LDAP_StartTLS_Enable>Yes</LDAP_StartTLS_Enable>",
            "StartTLS",
        ),
        (
            "silent-digest.xml",
            format!("ldap://localhost:{port}"),
            "<LDAP_Auth_Method>DIGEST-MD5</LDAP_Auth_Method><LDAP_User_Name>alice</LDAP_User_Name>\
             <LDAP_Password>x</LDAP_Password><Agent_LDAP_Allow_Clear_Text>Yes</Agent_LDAP_Allow_Clear_Text>",
            "the DIGEST-MD5 bind",
        ),
        (
            "silent-search.xml",
            format!("ldap://localhost:{port}"),
            "",
            "the search",
        ),
    ] {
        let c = cfg(&dir, name, &server, extra);
        let out = agent(&[
            "ldap",
            "search",
            "--config",
            c.to_str().unwrap(),
            "--ca",
            pki.ca.to_str().unwrap(),
            "--time-limit",
            "1",
            "And",
        ]);
        let err = text(&out.stderr);
        println!(
            "MATRIX | silent server | {server} | accepts, never answers | localhost | default | None | exit {}: {}",
            out.status.code().unwrap_or(-1),
            err.trim()
        );
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(&format!("{what} took longer than ")), "{err}");
    }
}
