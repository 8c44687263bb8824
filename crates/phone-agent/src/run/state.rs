//! `--state-dir`: what the daemon learns (the DHCP lease, the last resync, the fetched
//! profile; the EAP-FAST PAC file beside them) is written there atomically: a temporary file
//! in the same directory, written, synced, given its mode, then renamed over the old one, so a
//! crash leaves the old file or the new one, never half of one. Files are 0600: a profile
//! holds passwords. Their contents never go to the log.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The DHCP lease (`phone-agent dhcp --json`'s form, which `provision --dhcp-lease` reads).
pub const DHCP_LEASE: &str = "dhcp-lease.json";
/// The last resync's outcome (JSON).
pub const RESYNC: &str = "resync.json";
/// The last profile fetched and accepted: the file the daemon runs.
pub const PROFILE: &str = "profile.xml";
/// A profile just fetched, while the daemon checks it (renamed to [`PROFILE`] or
/// [`REFUSED_PROFILE`]).
pub const FETCHED_PROFILE: &str = "profile.fetched.xml";
/// The last profile fetched and refused (its errors are in the status).
pub const REFUSED_PROFILE: &str = "profile.refused.xml";
/// The EAP-FAST PAC file (wpa_supplicant's text form).
pub const PAC: &str = "eap-fast.pac";

/// Writes `dir/name` atomically with mode 0600; the path written.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the state directory {}", dir.display()))?;
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {}", tmp.display()));
    }
    std::fs::rename(&tmp, &path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn replaces_whole_files_with_mode_0600_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("phone-agent-state-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = super::write(&dir, "x.json", b"first, longer").ok();
        let second = super::write(&dir, "x.json", b"second").ok();
        assert_eq!(first, second);
        let path = dir.join("x.json");
        assert_eq!(std::fs::read(&path).ok().as_deref(), Some(&b"second"[..]));
        let mode = std::fs::metadata(&path)
            .map(|m| m.permissions().mode() & 0o777)
            .ok();
        assert_eq!(mode, Some(0o600));
        let names: Vec<String> = std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(names, vec!["x.json".to_owned()]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
