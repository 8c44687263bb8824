//! `phone-agent verify-name`: does a server certificate identify a host, under one of the
//! `tls-hostname` profiles? From a certificate file, or from a real TLS handshake.
//!
//! Exit 0 when the identity matches, 1 when it does not (or the handshake refuses the
//! certificate), 2 on an error (unreadable certificate, bad reference name, no connection).

use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::json;
use tls_hostname::pki_types::pem::PemObject;
use tls_hostname::pki_types::{CertificateDer, ServerName, UnixTime};
use tls_hostname::{
    CertificateNames, NameMatch, PresentedName, Profile, ReferenceName, ServerIdentityVerifier,
};

/// Arguments of `verify-name`.
#[derive(Args, Debug)]
pub struct VerifyNameArgs {
    /// A server certificate (PEM or DER) to check without a connection.
    #[arg(long, conflicts_with = "connect", required_unless_present = "connect")]
    cert: Option<PathBuf>,
    /// The host name or IP address the client means to reach (with --cert).
    #[arg(long, required_unless_present = "connect")]
    host: Option<String>,
    /// Connect to HOST:PORT, do a TLS handshake and verify the chain and the name.
    #[arg(long)]
    connect: Option<String>,
    /// Trusted CA certificates (PEM or DER), required with --connect.
    #[arg(long, requires = "connect")]
    ca: Option<PathBuf>,
    /// strict (RFC 9525, SAN only), phone (adds OpenSSL's CN fallback) or provisioning (adds
    /// the CN=host/anything form).
    #[arg(long, default_value = "strict", value_parser = parse_profile)]
    profile: Profile,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn parse_profile(text: &str) -> Result<Profile, String> {
    Profile::from_name(text).ok_or_else(|| format!("`{text}`: expected strict, phone or provisioning"))
}

/// Runs `verify-name`; errors are reported by the caller with exit status 2.
pub fn run(args: &VerifyNameArgs) -> Result<ExitCode> {
    match (&args.cert, &args.connect) {
        (Some(cert), None) => {
            let host = args.host.as_deref().context("--host is required with --cert")?;
            from_file(cert, host, args.profile, args.json)
        }
        (None, Some(target)) => {
            let ca = args.ca.as_deref().context("--ca is required with --connect")?;
            connect(target, args.host.as_deref(), ca, args.profile, args.json)
        }
        _ => bail!("give either --cert FILE --host NAME or --connect HOST:PORT --ca FILE"),
    }
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if bytes.starts_with(b"-----BEGIN") {
        let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
            .collect::<Result<_, _>>()
            .with_context(|| format!("{}: not a PEM certificate", path.display()))?;
        if certs.is_empty() {
            bail!("{}: no CERTIFICATE block", path.display());
        }
        Ok(certs)
    } else {
        Ok(vec![CertificateDer::from(bytes)])
    }
}

fn presented_json(m: &NameMatch) -> serde_json::Value {
    match m.presented() {
        PresentedName::DnsSan(n) => json!({ "type": "dNSName", "name": n }),
        PresentedName::IpSan(a) => json!({ "type": "iPAddress", "name": a.to_string() }),
        PresentedName::CommonName(n) => json!({ "type": "CN", "name": n }),
        PresentedName::ProvisioningCommonName { common_name, host } => {
            json!({ "type": "CN host/extra", "name": common_name, "host": host })
        }
    }
}

/// `DNS:name`, `IP:addr`, `CN=name`: the presented name that matched.
fn describe(m: &NameMatch) -> String {
    match m.presented() {
        PresentedName::DnsSan(n) => format!("DNS:{n}"),
        PresentedName::IpSan(a) => format!("IP:{a}"),
        PresentedName::CommonName(n) => format!("CN={n}"),
        PresentedName::ProvisioningCommonName { common_name, host } => {
            format!("CN={common_name} (host {host})")
        }
    }
}

fn report(out: &mut impl Write, json: bool, doc: serde_json::Value, text: &str) -> Result<()> {
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    } else {
        writeln!(out, "{text}")?;
    }
    Ok(())
}

fn from_file(cert: &Path, host: &str, profile: Profile, json: bool) -> Result<ExitCode> {
    let der = read_certs(cert)?.into_iter().next().context("no certificate")?;
    let names = CertificateNames::from_der(&der).with_context(|| format!("{}", cert.display()))?;
    let reference = ReferenceName::parse(host).with_context(|| format!("--host {host}"))?;
    let mut out = std::io::stdout().lock();
    let presented = names.describe();
    match profile.check(&names, &reference) {
        Ok(m) => {
            let doc = json!({ "match": true, "host": host, "profile": profile.name(),
                              "matched": presented_json(&m), "presented": presented });
            report(
                &mut out,
                json,
                doc,
                &format!(
                    "{host}: matches {} under the {} profile",
                    describe(&m),
                    profile.name()
                ),
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Err(mismatch) => {
            let doc = json!({ "match": false, "host": host, "profile": profile.name(),
                              "presented": presented, "notes": mismatch.notes(), "reason": mismatch.to_string() });
            report(&mut out, json, doc, &format!("{host}: {mismatch}"))?;
            Ok(ExitCode::from(1))
        }
    }
}

/// Wraps the verifier to keep the peer's chain for the report.
#[derive(Debug)]
struct Recording {
    inner: ServerIdentityVerifier,
    chain: Mutex<Vec<CertificateDer<'static>>>,
}

impl rustls::client::danger::ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if let Ok(mut chain) = self.chain.lock() {
            chain.clear();
            chain.push(end_entity.clone().into_owned());
            chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        }
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

fn connect(target: &str, host: Option<&str>, ca: &Path, profile: Profile, json: bool) -> Result<ExitCode> {
    let name = match host {
        Some(h) => h.to_owned(),
        None => target
            .rsplit_once(':')
            .map(|(h, _)| h.trim_start_matches('[').trim_end_matches(']').to_owned())
            .context("--connect takes HOST:PORT")?,
    };
    let reference = ReferenceName::parse(&name).with_context(|| format!("host {name}"))?;
    let roots = read_certs(ca)?;
    let verifier = ServerIdentityVerifier::new(roots, profile).context("--ca")?;
    let recording = Arc::new(Recording {
        inner: verifier,
        chain: Mutex::new(Vec::new()),
    });
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS versions")?
        .dangerous()
        .with_custom_certificate_verifier(recording.clone())
        .with_no_client_auth();
    let server_name = ServerName::try_from(name.clone()).with_context(|| format!("host {name}"))?;
    let mut conn = rustls::ClientConnection::new(Arc::new(config), server_name)?;
    let addr = target
        .to_socket_addrs()
        .with_context(|| format!("resolving {target}"))?
        .next()
        .with_context(|| format!("{target}: no address"))?;
    let mut sock = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
        .with_context(|| format!("connecting to {target}"))?;
    sock.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut handshake = Ok((0, 0));
    while conn.is_handshaking() && handshake.is_ok() {
        handshake = conn.complete_io(&mut sock);
    }
    let mut out = std::io::stdout().lock();
    match handshake {
        Ok(_) => {
            let chain = recording.chain.lock().map(|c| c.clone()).unwrap_or_default();
            let (ee, rest) = chain.split_first().context("the server sent no certificate")?;
            let identity = recording
                .inner
                .verify_identity(ee, rest, Some(&reference), UnixTime::now())?;
            let matched = identity.matched().map(presented_json);
            let doc = json!({ "match": true, "host": name, "profile": profile.name(), "connect": target,
                              "matched": matched, "presented": identity.names().describe(),
                              "protocol": conn.protocol_version().map(|v| format!("{v:?}")) });
            report(
                &mut out,
                json,
                doc,
                &format!(
                    "{target}: handshake ok; {name} matches {} under the {} profile",
                    identity.matched().map(describe).unwrap_or_default(),
                    profile.name()
                ),
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let is_cert = e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                .is_some_and(|r| matches!(r, rustls::Error::InvalidCertificate(_)));
            // Re-run the verification offline for a precise reason (chain, expiry, names).
            let chain = recording.chain.lock().map(|c| c.clone()).unwrap_or_default();
            let reason = match chain.split_first() {
                Some((ee, rest)) => {
                    match recording
                        .inner
                        .verify_identity(ee, rest, Some(&reference), UnixTime::now())
                    {
                        Err(v) => v.to_string(),
                        Ok(_) => e.to_string(),
                    }
                }
                None => e.to_string(),
            };
            if !is_cert && chain.is_empty() {
                bail!("{target}: TLS handshake failed: {e}");
            }
            let doc = json!({ "match": false, "host": name, "profile": profile.name(), "connect": target, "reason": reason });
            report(&mut out, json, doc, &format!("{target}: refused: {reason}"))?;
            Ok(ExitCode::from(1))
        }
    }
}
