//! `phone-agent dot1x --method fast` and the daemon's EAP-FAST: the settings from the command
//! line or the cfg.xml, and the PAC file (read in either of wpa_supplicant's formats, written
//! back atomically with mode 0600). Cargo feature `eap-fast`; without it `no_fast.rs` stands
//! in, refusing EAP-FAST with an error that names the feature.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
pub(crate) use eap_supplicant::fast::Pac;
use eap_supplicant::fast::{self, FastConfig, FastError, Phase2, Provisioning};
use eap_supplicant::{Config, FailureReason, SecretString, ServerNameMatch};

use super::{Dot1xArgs, PacFormat, Phase2Choice};

/// PACs kept in the file (wpa_supplicant's `fast_max_pac_list_len` default).
const MAX_PACS: usize = 10;

/// The PACs in `--pac-file` (none when the file does not exist yet) and its format.
pub(crate) fn read_pacs(args: &Dot1xArgs) -> Result<(Vec<Pac>, Option<PacFormat>)> {
    match &args.pac_file {
        Some(path) => read_pac_file(path),
        None => Ok((Vec::new(), None)),
    }
}

/// The PACs in `path` (none when the file does not exist yet) and its format.
pub(crate) fn read_pac_file(path: &Path) -> Result<(Vec<Pac>, Option<PacFormat>)> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), None)),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let format = if bytes.starts_with(&[0x6a, 0xe4, 0x92, 0x0c]) {
        PacFormat::Binary
    } else {
        PacFormat::Text
    };
    let pacs = fast::read_pac_file(&bytes).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    Ok((pacs, Some(format)))
}

/// Whether the server refused the PAC on file (a new one may be provisioned).
pub(crate) fn pac_refused(reason: &FailureReason) -> bool {
    matches!(reason, FailureReason::Fast(FastError::PacRefused))
}

/// The supplicant's EAP-FAST configuration from the arguments.
/// `without_pacs`: provision afresh (the server refused the PAC on file).
pub(crate) fn config(args: &Dot1xArgs, without_pacs: bool) -> Result<Config> {
    Ok(Config::fast(
        args.identity().to_owned(),
        fast_config(args, without_pacs)?,
    ))
}

fn fast_config(args: &Dot1xArgs, without_pacs: bool) -> Result<FastConfig> {
    let Some(password) = &args.password else {
        bail!(
            "EAP-FAST needs the inner MSCHAPv2/GTC password: give --password or set \
             Agent_802.1X_Password in --config"
        );
    };
    let provisioning = Provisioning::from_level(args.fast_provisioning())
        .ok_or_else(|| anyhow!("--fast-provisioning 0..3"))?;
    let pacs = if without_pacs {
        Vec::new()
    } else {
        read_pacs(args)?.0
    };
    // The host's wall clock: PAC lifetimes and certificate validity are judged at its time.
    let clock = std::sync::Arc::new(eap_supplicant::DefaultTimeProvider);
    let mut config = FastConfig::new(
        args.identity().to_owned(),
        SecretString::new(password.clone()),
        clock,
    )
    .phase2(match args.phase2() {
        Phase2Choice::Mschapv2 => Phase2::MsChapV2,
        Phase2Choice::Gtc => Phase2::Gtc,
    })
    .provisioning(provisioning)
    .pacs(pacs)
    .fragment_size(args.fragment_size);
    if let Some(ca) = &args.ca {
        let bytes = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
        let name = match (&args.domain_match, &args.domain_suffix_match) {
            (Some(d), _) => Some(ServerNameMatch::Exact(d.clone())),
            (None, Some(d)) => Some(ServerNameMatch::Suffix(d.clone())),
            (None, None) => None,
        };
        config = config.server_ca(&bytes, name).context("EAP-FAST CA")?;
    } else if provisioning.authenticated && !provisioning.unauthenticated {
        bail!("--fast-provisioning 2 (server-authenticated) needs --ca");
    }
    Ok(config)
}

/// The daemon's EAP-FAST configuration (`Agent_802.1X_*`, `Agent_EAP_FAST_*`): the PACs in
/// `pac_file`, the CA (when given) for server-authenticated provisioning.
pub(crate) fn daemon_config(
    identity: &str,
    password: &SecretString,
    inner: phone_config::FastInnerMethod,
    provisioning: u8,
    ca: Option<&Path>,
    pac_file: &Path,
) -> Result<Config> {
    if password.expose().is_empty() {
        bail!("Agent_802.1X_Method is EAP-FAST but Agent_802.1X_Password is empty");
    }
    let provisioning = Provisioning::from_level(provisioning)
        .ok_or_else(|| anyhow!("Agent_EAP_FAST_Provisioning {provisioning}"))?;
    let (pacs, _) = read_pac_file(pac_file)?;
    let clock = std::sync::Arc::new(eap_supplicant::DefaultTimeProvider);
    let mut config = FastConfig::new(identity.to_owned(), password.clone(), clock)
        .phase2(match inner {
            phone_config::FastInnerMethod::MsChapV2 => Phase2::MsChapV2,
            phone_config::FastInnerMethod::Gtc => Phase2::Gtc,
        })
        .provisioning(provisioning)
        .pacs(pacs);
    if let Some(ca) = ca {
        let bytes = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
        config = config.server_ca(&bytes, None).context("EAP-FAST CA")?;
    } else if provisioning.authenticated && !provisioning.unauthenticated {
        bail!("Agent_EAP_FAST_Provisioning 2 (server-authenticated) needs --ca-file");
    }
    Ok(Config::fast(identity.to_owned(), config))
}

/// Adds `pac` to the PAC file (replacing the one for the same server) and writes it atomically:
/// a temporary file with mode 0600 in the same directory, then a rename.
pub(crate) fn save_pac(args: &Dot1xArgs, pac: Pac) -> Result<()> {
    let Some(path) = &args.pac_file else {
        tracing::warn!("EAP-FAST: a PAC was provisioned but no --pac-file was given to keep it");
        return Ok(());
    };
    save_pac_file(path, args.pac_format, pac)
}

/// Adds `pac` to the PAC file at `path` (in `format`, else the file's own, else text).
pub(crate) fn save_pac_file(path: &Path, format: Option<PacFormat>, pac: Pac) -> Result<()> {
    let (mut pacs, existing) = read_pac_file(path)?;
    fast::store_pac(&mut pacs, pac, MAX_PACS);
    let bytes = match format.or(existing).unwrap_or(PacFormat::Text) {
        PacFormat::Text => fast::write_text(&pacs).into_bytes(),
        PacFormat::Binary => fast::write_binary(&pacs),
    };
    write_atomically(path, &bytes)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("{}: not a file name", path.display()))?;
    let tmp = path.with_file_name(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
}
