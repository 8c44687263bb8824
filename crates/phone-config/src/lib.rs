//! Read a VoIP desk phone's `cfg.xml` into typed, validated security settings.
//!
//! `parse` turns the bytes of a `cfg.xml` into [`Settings`] (every parameter of the phone's
//! security chapter, with the phone's default where the file is silent) and a list of
//! [`Diagnostic`]s: malformed XML with line and column, values outside their domain, servers
//! outside `Restricted_Access_Domains`, firewall, DHCP option, LDAP and HTTP proxy mistakes,
//! and settings that switch security off. It never panics, on any input.
//!
//! ```
//! let xml = br#"<flat-profile>
//!   <Restricted_Access_Domains ua="na">voiceip.com</Restricted_Access_Domains>
//!   <Proxy_1_ ua="na">sip.voiceip.com</Proxy_1_>
//!   <SIP_Transport_1_ ua="na">TLS</SIP_Transport_1_>
//!   <Proxy_Port ua="rw">99999</Proxy_Port>
//! </flat-profile>"#;
//!
//! let parsed = phone_config::parse(xml)?;
//! let line1 = parsed.settings.line(1).ok_or("no line 1")?;
//! assert_eq!(*line1.sip_transport.get(), phone_config::SipTransport::Tls);
//! assert_eq!(line1.sip_transport.access(), Some(phone_config::Access::NoAccess));
//!
//! // The out-of-range port is reported, with where it is and what was expected...
//! let d = &parsed.diagnostics[0];
//! assert_eq!(d.parameter.as_deref(), Some("Proxy_Port"));
//! assert_eq!((d.line(), d.column()), (Some(5), Some(23)));
//! assert_eq!(d.hint.as_deref(), Some("expected a number from 1 to 65535"));
//! // ...and the phone's default stays in effect.
//! assert_eq!(parsed.settings.http_proxy.proxy_port.get().get(), 3128);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! What is not here: the meaning of `TLS_Cipher_List` (the `cipher-string` crate) and
//! anything that needs the network (the `phone-agent` binary).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod checks;
mod depth;
mod dhcp;
mod diagnostic;
mod firewall;
mod host;
mod ldap;
mod parse;
mod raw;
mod resync;
mod settings;
mod value;

pub use depth::MAX_DEPTH;
pub use dhcp::{DHCPV4_PROVISIONING, DHCPV4_SUPPORTED, DHCPV6_PROVISIONING, DhcpOptions, Dhcpv6Options};
pub use diagnostic::{Diagnostic, Kind, Location, Severity};
pub use firewall::{FirewallConfig, MAX_PORT_ENTRIES, PortRange, Protocol};
pub use host::{
    DomainList, Host, HostPort, LdapServer, PacUrl, ProvisioningRule, RuleAlternative, RuleOption, Url,
};
pub use ldap::{DisplayAttr, DisplayAttrs, LdapFilter, MAX_DISPLAY_ATTRS, MaxDisplayRecords, VALUE_MACRO};
pub use parse::{MAX_INPUT_LEN, ParseError, Parsed, parse};
pub use resync::{ClockTime, DelayList, MAX_DELAY_SECS, RandomDelayUnits, Seconds};
pub use settings::{
    Dot1x, Entry, Firewall, HttpProxy, LINES, Ldap, Line, Provisioning, RestrictedAccess, Settings, Tls,
    UnknownParameter, Vpn,
};
pub use value::{
    Access, Dot1xMethod, Enabled, FastInnerMethod, FastProvisioning, LdapAuthMethod, Origin, Port, ProxyMode,
    SecretString, SipTransport, Value, YesNo,
};
