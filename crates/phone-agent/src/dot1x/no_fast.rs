//! Built without cargo feature `eap-fast` (eap-supplicant's EAP-FAST left out of the image):
//! EAP-TLS stays, and every way into EAP-FAST is an error that names the feature. A server
//! that proposes EAP-FAST gets a Nak offering EAP-TLS from the supplicant itself.

use std::path::Path;

use anyhow::{Result, bail};
use eap_supplicant::{Config, FailureReason, SecretString};

use super::Dot1xArgs;

/// What `bail!` says when EAP-FAST is asked for.
const LEFT_OUT: &str = "EAP-FAST is not in this build of phone-agent (cargo feature `eap-fast`)";

/// A PAC: none can exist in this build.
pub(crate) enum Pac {}

/// No PAC can be refused without EAP-FAST.
pub(crate) fn pac_refused(_: &FailureReason) -> bool {
    false
}

/// `dot1x --method fast`: refused.
pub(crate) fn config(_: &Dot1xArgs, _without_pacs: bool) -> Result<Config> {
    bail!("{LEFT_OUT}: use --method tls")
}

/// `Agent_802.1X_Method` EAP-FAST in the daemon: refused.
pub(crate) fn daemon_config(
    _identity: &str,
    _password: &SecretString,
    _inner: phone_config::FastInnerMethod,
    _provisioning: u8,
    _ca: Option<&Path>,
    _pac_file: &Path,
) -> Result<Config> {
    bail!("{LEFT_OUT}: set Agent_802.1X_Method to EAP-TLS")
}

/// Never called: there is no PAC to save.
pub(crate) fn save_pac(_: &Dot1xArgs, pac: Pac) -> Result<()> {
    match pac {}
}
