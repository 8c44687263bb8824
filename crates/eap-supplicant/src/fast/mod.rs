//! EAP-FAST (RFC 4851) with PAC provisioning (RFC 5422), on its own TLS 1.2 client
//! ([`tls12`]): phase 1 (full handshake with anonymous DH or a server certificate, or the
//! abbreviated handshake with a PAC), phase 2 TLVs with the inner EAP-MSCHAPv2 or EAP-GTC, the
//! Crypto-Binding Compound MAC (checked, fail closed), MSK / EMSK / Session-Id, and PACs in
//! wpa_supplicant's text and binary file formats.

mod config;
pub mod keys;
pub(crate) mod method;
pub mod mschapv2;
mod pac;
#[cfg(test)]
mod scripted_tests;
pub mod tls12;
mod tlv;

pub use config::{DEFAULT_PAC_REFRESH_MARGIN, FastConfig, Phase2, Provisioning};
pub use method::FastError;
pub use pac::{Pac, PacError, TUNNEL_PAC, read_pac_file, store_pac, write_binary, write_text};
pub use tlv::TlvError;

/// Parses a decrypted phase 2 message (the TLVs inside the tunnel) with the checks the method
/// applies: lengths, duplicates, Result values, Crypto-Binding size. For tools and fuzzing; the
/// method itself never sees a message that failed here as anything but a failure.
pub fn check_phase2_tlvs(data: &[u8]) -> Result<(), TlvError> {
    tlv::parse(data).map(|_| ())
}
