//! PAC download over TFTP.

use std::time::Duration;

use anyhow::{Result, bail};

/// Downloads `url` (`tftp://host[:port]/path`).
pub fn download(url: &url::Url, _max_bytes: usize, _timeout: Duration) -> Result<Vec<u8>> {
    bail!("PAC download over TFTP is not implemented in the agent yet ({url})")
}
