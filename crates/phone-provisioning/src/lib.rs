//! The decisions of a VoIP desk phone's resync, without I/O (SPEC §1, §6, §7): which URL each
//! of `Profile_Rule`, `_B`, `_C`, `_D` asks for (conditions, assignments, options, macros),
//! whether `Restricted_Access_Domains` allows the host, and the syslog lines that report the
//! resync. (The DNS-vs-IP check of HTTPS provisioning is tls-hostname's `DnsCrossCheck`.)
//!
//! ```
//! use phone_provisioning::{Macros, ProfileRule, RestrictedDomains, Scheme, SyslogFormat, SyslogMessage, Severity};
//!
//! let mut macros = Macros::for_device([0x00, 0x0e, 0x08, 0xab, 0xcd, 0xef], "CP-7832-3PCC", "7832", "FCH1", true);
//! let rule = ProfileRule::parse(r#"("$CCERT" eq "Installed")? https://prov.voiceip.com/$MA.xml | /generic.xml"#)?;
//! let fetch = rule.evaluate(&macros)?.expect("a condition holds");
//! let url = fetch.url.expect("the alternative has a URL");
//! assert_eq!((url.scheme, url.host.as_deref(), url.port), (Scheme::Https, Some("prov.voiceip.com"), 443));
//! assert_eq!(url.path, "/000e08abcdef.xml");
//!
//! // Before connecting: the host must be inside Restricted_Access_Domains.
//! let domains = RestrictedDomains::parse("voiceip.com");
//! domains.check(url.host.as_deref().unwrap_or_default(), "Profile_Rule")?;
//! assert!(domains.check("evil.example", "Profile_Rule").is_err());
//!
//! // The syslog line at the start of the request (Log_Request_Msg's default text).
//! macros.set_request("https", "prov.voiceip.com", "10.0.0.1", 443, &url.path);
//! let text = macros.expand("$PN $MAC -- Requesting resync $SCHEME://$SERVIP:$PORT$PATH")?;
//! let line = SyslogMessage { facility: 1, severity: Severity::Notice, unix_secs: 0, micros: 0,
//!     hostname: "10.0.0.5", app_name: "phone-agent", msg_id: "resync", text: &text };
//! assert_eq!(line.format(SyslogFormat::Rfc5424),
//!     "<13>1 1970-01-01T00:00:00.000000Z 10.0.0.5 phone-agent - resync - \
//!      CP-7832-3PCC 00:0e:08:ab:cd:ef -- Requesting resync https://10.0.0.1:443/000e08abcdef.xml");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Not here: fetching (the host does TFTP, HTTP and HTTPS),
//! `Resync_Trigger_*`, upgrade rules' firmware handling. The resync schedule
//! (`Resync_Periodic`, `Resync_Error_Retry_Delay`, `Resync_Random_Delay`) is [`ResyncTimer`].
#![forbid(unsafe_code)]

mod domains;
mod encrypted;
mod http;
mod macros;
mod rule;
mod schedule;
mod syslog;

pub use domains::{Refused, RestrictedDomains};
pub use encrypted::{DecryptError, decrypt_profile};
pub use http::{HeadError, MAX_HEAD, ResponseHead};
pub use macros::{MAX_EXPANSION, MacroError, Macros};
pub use rule::{Alternative, MAX_RULE, ProfileRule, RequestUrl, RuleError, RuleOption, Scheme, Selected};
pub use schedule::{
    Daily, Delays, MAX_DELAY_SECS, ResyncReason, ResyncSchedule, ResyncTimer, ScheduleError, ScheduleOutput,
    ScheduleRandom,
};
pub use syslog::{FACILITY_USER, MAX_TEXT, Severity, SyslogFormat, SyslogMessage};

/// The profile rule parameters, in the order a resync evaluates them.
pub const PROFILE_RULES: [&str; 4] = [
    "Profile_Rule",
    "Profile_Rule_B",
    "Profile_Rule_C",
    "Profile_Rule_D",
];
