//! The typed settings model: every parameter of SPEC §1–§14 with the seed's default.
//!
//! Parameters are grouped by the guide's sections. Each field is a [`Value`], which carries
//! the effective value, the `ua` attribute and where the value came from. Element names are
//! the guide's; where the guide only mentions a parameter (SPEC §8's ports, §5's
//! authentication method, §7's log messages) the name and default are those of the same
//! phones' `cfg.xml` and are marked so.

use crate::dhcp::{DhcpOptions, Dhcpv6Options};
use crate::diagnostic::Diagnostic;
use crate::firewall::FirewallConfig;
use crate::host::{DomainList, Host, HostPort, LdapServer, PacUrl, ProvisioningRule};
use crate::ldap::{DisplayAttrs, LdapFilter, MaxDisplayRecords};
use crate::raw::RawParam;
use crate::resync::{ClockTime, DelayList, RandomDelayUnits, Seconds};
use crate::value::{
    Access, Dot1xMethod, Enabled, FastInnerMethod, FastProvisioning, LdapAuthMethod, Origin, Port, ProxyMode,
    SipTransport, Value, YesNo,
};
use phone_secret::SecretString;

/// The number of lines (extensions) a phone has: per-line parameters are `Name_1_` to `Name_16_`.
pub const LINES: u16 = 16;

/// One row of the effective settings, as `phone-agent show` prints them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The element name, e.g. `SIP_Transport_1_`.
    pub name: String,
    /// The effective value, as the phone spells it; secrets print `<redacted>`.
    pub value: String,
    /// The `ua` attribute, when the file gave one.
    pub access: Option<Access>,
    /// Where the value came from.
    pub origin: Origin,
}

/// A default port; only ever called with non-zero literals (a test checks every default).
const fn port(n: u16) -> Port {
    Port::from_default(n)
}

macro_rules! section {
    (
        $(#[$m:meta])*
        pub struct $name:ident ($n:ident) {
            $( $(#[$fm:meta])* $field:ident : $ty:ty = $xml:literal, $default:expr; )*
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone)]
        #[non_exhaustive]
        pub struct $name {
            $( $(#[$fm])* #[doc = concat!("\n\n`<", $xml, ">`")] pub $field: Value<$ty>, )*
        }

        impl $name {
            /// The element names of this section (without the `_n_` suffix for lines).
            pub const NAMES: &'static [&'static str] = &[$($xml),*];

            #[allow(unused_variables)]
            pub(crate) fn with_defaults($n: u16) -> Self {
                $name { $( $field: Value::default_value($default), )* }
            }

            /// Sets the parameter named `base`; false when this section has no such parameter.
            pub(crate) fn assign(&mut self, base: &str, raw: &RawParam<'_>, out: &mut Vec<Diagnostic>) -> bool {
                match base {
                    $( $xml => { self.$field.assign(raw, out); true } )*
                    _ => false,
                }
            }

            pub(crate) fn entries(&self, suffix: &str, out: &mut Vec<Entry>) {
                $( out.push(self.$field.entry(concat!($xml), suffix)); )*
            }
        }
    };
}

section! {
    /// SPEC §1: restricted access domains.
    pub struct RestrictedAccess(_n) {
        /// Servers for registration, provisioning, upgrade and reports must be in these
        /// domains (or their subdomains, see [`DomainList`]); empty: no restriction.
        restricted_access_domains: DomainList = "Restricted_Access_Domains", DomainList::default();
    }
}

section! {
    /// SPEC §2, §6, §7: provisioning rules, DHCP options, syslog.
    pub struct Provisioning(_n) {
        /// Main profile rule; the phone's default `/$PSN.xml` fetches `<product>.xml` by TFTP
        /// from the server DHCP gave (not in the seed: the phone's cfg.xml default).
        profile_rule: Option<ProvisioningRule> = "Profile_Rule", ProvisioningRule::parse_text("/$PSN.xml").ok();
        /// Second profile rule.
        profile_rule_b: Option<ProvisioningRule> = "Profile_Rule_B", None;
        /// Third profile rule.
        profile_rule_c: Option<ProvisioningRule> = "Profile_Rule_C", None;
        /// Fourth profile rule.
        profile_rule_d: Option<ProvisioningRule> = "Profile_Rule_D", None;
        /// Firmware upgrade rule.
        upgrade_rule: Option<ProvisioningRule> = "Upgrade_Rule", None;
        /// Cisco headset firmware upgrade rule.
        cisco_headset_upgrade_rule: Option<ProvisioningRule> = "Cisco_Headset_Upgrade_Rule", None;
        /// Status report upload rule.
        report_rule: Option<ProvisioningRule> = "Report_Rule", None;
        /// Where to fetch a custom CA certificate.
        custom_ca_rule: Option<ProvisioningRule> = "Custom_CA_Rule", None;
        /// DHCPv4 options used, in order, to find firmware and profiles.
        dhcp_option_to_use: DhcpOptions = "DHCP_Option_To_Use", DhcpOptions::default();
        /// DHCPv6 options used, in order, to find firmware and profiles.
        dhcpv6_option_to_use: Dhcpv6Options = "DHCPv6_Option_To_Use", Dhcpv6Options::default();
        /// Syslog server for resync/upgrade messages (`host[:port]`).
        syslog_server: Option<HostPort> = "Syslog_Server", None;
        /// Message logged when a resync starts (phone default; the seed gives none).
        log_request_msg: String = "Log_Request_Msg", "$PN $MAC -- Requesting resync $SCHEME://$SERVIP:$PORT$PATH".to_owned();
        /// Message logged when a resync succeeds (phone default; the seed gives none).
        log_success_msg: String = "Log_Success_Msg", "$PN $MAC -- Successful resync $SCHEME://$SERVIP:$PORT$PATH".to_owned();
        /// Message logged when a resync fails (phone default; the seed gives none).
        log_failure_msg: String = "Log_Failure_Msg", "$PN $MAC -- Resync failed: $ERR".to_owned();
        /// Message logged when a firmware upgrade starts (phone default; the seed gives none).
        log_upgrade_request_msg: String = "Log_Upgrade_Request_Msg", "$PN $MAC -- Requesting upgrade $SCHEME://$SERVIP:$PORT$PATH".to_owned();
        /// Message logged when a firmware upgrade succeeds (phone default).
        log_upgrade_success_msg: String = "Log_Upgrade_Success_Msg", "$PN $MAC -- Successful upgrade $SCHEME://$SERVIP:$PORT$PATH -- $ERR".to_owned();
        /// Message logged when a firmware upgrade fails (phone default).
        log_upgrade_failure_msg: String = "Log_Upgrade_Failure_Msg", "$PN $MAC -- Upgrade failed: $ERR".to_owned();
        /// Provisioning (every resync) on or off (phone default Yes; not in the seed).
        provision_enable: YesNo = "Provision_Enable", YesNo(true);
        /// Resync once after power-up (phone default Yes).
        resync_on_reset: YesNo = "Resync_On_Reset", YesNo(true);
        /// The power-up resync waits a random 0..=this × 20 s (phone default 2 = up to 40 s).
        resync_random_delay: RandomDelayUnits = "Resync_Random_Delay", RandomDelayUnits(2);
        /// Delay after a successful resync (`n`, `n+r`, comma list; 0 = no periodic resync;
        /// phone default 3600).
        resync_periodic: DelayList = "Resync_Periodic", DelayList::from_steps(&[(3600, 0)]);
        /// Delay after a failed resync (the 2025 guides' default doubling list).
        resync_error_retry_delay: DelayList = "Resync_Error_Retry_Delay", DelayList::from_steps(&[
            (60, 0), (120, 0), (240, 0), (480, 0), (960, 0), (1920, 0), (3840, 0), (7680, 0),
            (15360, 0), (30720, 0), (61440, 0), (86400, 0),
        ]);
        /// Daily resync at this wall-clock time (`HHmm`, UTC in the agent); replaces the
        /// periodic resync when set (phone default empty).
        resync_at_hhmm: Option<ClockTime> = "Resync_At__HHmm_", None;
        /// A random 0..=this seconds added to `Resync_At__HHmm_` (phone default 600).
        resync_at_random_delay: Seconds = "Resync_At_Random_Delay", Seconds(600);
        /// A 404 ("file not found") fails the resync (phone default Yes); No counts it as done.
        resync_fails_on_fnf: YesNo = "Resync_Fails_On_FNF", YesNo(true);
        /// The longest a resync waits for idle lines (phone default 14400; the agent does not
        /// wait for lines: read, not used).
        forced_resync_delay: Seconds = "Forced_Resync_Delay", Seconds(14400);
        /// Resync when a SIP NOTIFY asks (phone default Yes; read, not used by the agent).
        resync_from_sip: YesNo = "Resync_From_SIP", YesNo(true);
        /// Resync after every upgrade attempt (phone default Yes).
        resync_after_upgrade_attempt: YesNo = "Resync_After_Upgrade_Attempt", YesNo(true);
        /// Delay after a failed upgrade (phone default 3600).
        upgrade_error_retry_delay: DelayList = "Upgrade_Error_Retry_Delay", DelayList::from_steps(&[(3600, 0)]);
    }
}

section! {
    /// SPEC §8: the firewall and the settings its default open ports depend on.
    pub struct Firewall(_n) {
        /// Whether the firewall runs (default Enabled).
        firewall: Enabled = "Firewall", Enabled(true);
        /// Extra options and open ports.
        firewall_config: FirewallConfig = "Firewall_Config", FirewallConfig::default();
        /// First RTP port (phone default 16384).
        rtp_port_min: Port = "RTP_Port_Min", port(16384);
        /// Last RTP port (phone default 16482); the firewall opens up to this + 1.
        rtp_port_max: Port = "RTP_Port_Max", port(16482);
        /// Firmware upgrade enabled (phone default Yes).
        upgrade_enable: YesNo = "Upgrade_Enable", YesNo(true);
        /// Peer firmware sharing (phone default Yes): opens UDP 4051, TCP 4051 and 6970.
        peer_firmware_sharing: YesNo = "Peer_Firmware_Sharing", YesNo(true);
        /// TR-069 enabled (phone default No): opens UDP 7999 and a TCP port in 8000-9999.
        enable_tr_069: YesNo = "Enable_TR-069", YesNo(false);
        /// Web server enabled (phone default Yes).
        enable_web_server: YesNo = "Enable_Web_Server", YesNo(true);
        /// Web server port (phone default 80).
        web_server_port: Port = "Web_Server_Port", port(80);
    }
}

section! {
    /// SPEC §9: the TLS cipher list for every TLS application.
    pub struct Tls(_n) {
        /// OpenSSL 1.1.1 cipher string; empty: each application's default. Kept as text here;
        /// the `cipher-string` crate gives it meaning.
        tls_cipher_list: String = "TLS_Cipher_List", String::new();
    }
}

section! {
    /// SPEC §5: the LDAP directory.
    pub struct Ldap(_n) {
        /// `ldap://host[:port]` or `ldaps://host[:port]`.
        ldap_server: Option<LdapServer> = "LDAP_Server", None;
        /// Upgrade an `ldap://` connection with StartTLS (default No).
        ldap_starttls_enable: YesNo = "LDAP_StartTLS_Enable", YesNo(false);
        /// Bind method (phone's element name; default None as the guide recommends).
        ldap_auth_method: LdapAuthMethod = "LDAP_Auth_Method", LdapAuthMethod::None;
        /// The corporate directory is on (default No).
        ldap_dir_enable: YesNo = "LDAP_Dir_Enable", YesNo(false);
        /// The directory's name in the phone's directory list.
        ldap_corp_dir_name: String = "LDAP_Corp_Dir_Name", String::new();
        /// Where searches start, a DN such as `dc=example,dc=com`; empty: the server's default.
        ldap_search_base: String = "LDAP_Search_Base", String::new();
        /// Bind DN for `Simple` (a DN, or `user@domain` for Active Directory).
        ldap_client_dn: String = "LDAP_Client_DN", String::new();
        /// User name for `DIGEST-MD5` (templates of older phones spell it `LDAP_Username`).
        ldap_user_name: String = "LDAP_User_Name", String::new();
        /// Password for `Simple` and `DIGEST-MD5`.
        ldap_password: SecretString = "LDAP_Password", SecretString::default();
        /// Ask the user for credentials when they are empty (hidden; default No).
        ldap_prompt_for_empty_credentials: YesNo = "LDAP_Prompt_For_Empty_Credentials", YesNo(false);
        /// Last-name search, e.g. `sn:(sn=$VALUE*)`.
        ldap_last_name_filter: Option<LdapFilter> = "LDAP_Last_Name_Filter", None;
        /// First-name search, e.g. `cn:(cn=$VALUE*)`.
        ldap_first_name_filter: Option<LdapFilter> = "LDAP_First_Name_Filter", None;
        /// The third search field's label (also used for reverse look-up of a caller's name).
        ldap_search_item_3: String = "LDAP_Search_Item_3", String::new();
        /// The third search field's filter.
        ldap_item_3_filter: Option<LdapFilter> = "LDAP_Item_3_Filter", None;
        /// The fourth search field's label.
        ldap_search_item_4: String = "LDAP_Search_Item_4", String::new();
        /// The fourth search field's filter (templates spell it `LDAP_item_4_Filter`).
        ldap_item_4_filter: Option<LdapFilter> = "LDAP_Item_4_Filter", None;
        /// The fields an entry shows: `a=attribute[,n=label][,t=p];...`.
        ldap_display_attrs: DisplayAttrs = "LDAP_Display_Attrs", DisplayAttrs::default();
        /// Dial-plan rule applied to a number before it is dialed, e.g. `<:9xx.>`.
        ldap_number_mapping: String = "LDAP_Number_Mapping", String::new();
        /// Directory records shown (50 to 999, default 50): the searches' size limit.
        max_display_records: MaxDisplayRecords = "Max_Display_Records", MaxDisplayRecords::DEFAULT;
        /// **Not a phone parameter: phone-agent's own opt-in** (default No). The guide says the
        /// phone continues in clear text when the server does not support StartTLS, and binds
        /// with `Simple` over `ldap://`; the agent refuses both unless this is Yes, and then
        /// logs a warning every time it happens.
        agent_ldap_allow_clear_text: YesNo = "Agent_LDAP_Allow_Clear_Text", YesNo(false);
    }
}

section! {
    /// SPEC §12: 802.1X.
    pub struct Dot1x(_n) {
        /// Network access through 802.1X (phone default No: CDP gives the VLAN).
        enable_802_1x_authentication: YesNo = "Enable_802.1X_Authentication", YesNo(false);
        /// **Not a phone parameter: phone-agent's own** (default EAP-TLS). SPEC §12 says the
        /// supplicant speaks EAP-FAST and EAP-TLS; the guide names no parameter for the choice.
        agent_802_1x_method: Dot1xMethod = "Agent_802.1X_Method", Dot1xMethod::EapTls;
        /// **Not a phone parameter: phone-agent's own.** The EAP identity (EAP-FAST: also the
        /// inner identity); empty: the agent's `--identity`.
        agent_802_1x_identity: String = "Agent_802.1X_Identity", String::new();
        /// **Not a phone parameter: phone-agent's own.** The secret the phone and the
        /// authentication server share (SPEC §12): the EAP-FAST inner password.
        agent_802_1x_password: SecretString = "Agent_802.1X_Password", SecretString::default();
        /// **Not a phone parameter: phone-agent's own.** The method inside the EAP-FAST tunnel.
        agent_eap_fast_inner_method: FastInnerMethod = "Agent_EAP_FAST_Inner_Method", FastInnerMethod::MsChapV2;
        /// **Not a phone parameter: phone-agent's own.** PAC provisioning the phone accepts
        /// (wpa_supplicant's `fast_provisioning`: 0 none, 1 anonymous, 2 server-authenticated,
        /// 3 either).
        agent_eap_fast_provisioning: FastProvisioning = "Agent_EAP_FAST_Provisioning", FastProvisioning::Anonymous;
    }
}

section! {
    /// SPEC §13: the HTTP proxy for every HTTP-using application.
    pub struct HttpProxy(_n) {
        /// Off, Manual or Auto (default Off).
        proxy_mode: ProxyMode = "Proxy_Mode", ProxyMode::Off;
        /// In Auto mode, find the PAC file with WPAD (default Yes).
        use_auto_discovery_wpad: YesNo = "Use_Auto_Discovery__WPAD_", YesNo(true);
        /// PAC file URL (TFTP, HTTP, HTTPS); required in Auto mode without WPAD.
        pac_url: Option<PacUrl> = "PAC_URL", None;
        /// Proxy host name or IP, no scheme; required in Manual mode.
        proxy_host: Option<Host> = "Proxy_Host", None;
        /// Proxy port (default 3128).
        proxy_port: Port = "Proxy_Port", port(3128);
        /// Whether the proxy needs a user name and password (default No).
        proxy_server_requires_authentication: YesNo = "Proxy_Server_Requires_Authentication", YesNo(false);
        /// Proxy user name.
        proxy_username: String = "Proxy_Username", String::new();
        /// Proxy password.
        proxy_password: SecretString = "Proxy_Password", SecretString::default();
    }
}

section! {
    /// SPEC §14: SSL VPN.
    pub struct Vpn(_n) {
        /// VPN server, IP or FQDN.
        vpn_server: Option<Host> = "VPN_Server", None;
        /// VPN user name.
        vpn_user_name: String = "VPN_User_Name", String::new();
        /// VPN password.
        vpn_password: SecretString = "VPN_Password", SecretString::default();
        /// Tunnel group; empty: none.
        vpn_tunnel_group: String = "VPN_Tunnel_Group", String::new();
        /// Connect after boot (default No).
        connect_on_bootup: YesNo = "Connect_on_Bootup", YesNo(false);
    }
}

section! {
    /// One line (extension): parameters written `Name_n_`, n = 1..=16 (SPEC §1, §3, §4, §10, §11).
    pub struct Line(n) {
        /// Whether the line is in use (phone default Yes).
        line_enable: YesNo = "Line_Enable", YesNo(true);
        /// User ID the line registers as.
        user_id: String = "User_ID", String::new();
        /// The line's SIP password.
        password: SecretString = "Password", SecretString::default();
        /// SIP proxy / registrar, `host[:port]`; must be inside the restricted domains.
        proxy: Option<HostPort> = "Proxy", None;
        /// Outbound proxy, `host[:port]`; must be inside the restricted domains.
        outbound_proxy: Option<HostPort> = "Outbound_Proxy", None;
        /// Local SIP port (phone default 5060 for line 1, 5061 for line 2, ...).
        sip_port: Port = "SIP_Port", port(5059 + n);
        /// SIP transport (default UDP).
        sip_transport: SipTransport = "SIP_Transport", SipTransport::Udp;
        /// Challenge the initial INVITE from the proxy (default No).
        auth_invite: YesNo = "Auth_INVITE", YesNo(false);
        /// Check the SIP server's TLS name (default Yes).
        tls_name_validate: YesNo = "TLS_Name_Validate", YesNo(true);
        /// Start media-plane security negotiation (default No: server-initiated).
        mediasec_request: YesNo = "MediaSec_Request", YesNo(false);
        /// Negotiate media security only over TLS (default No).
        mediasec_over_tls_only: YesNo = "MediaSec_Over_TLS_Only", YesNo(false);
    }
}

/// An element the model does not know, kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownParameter {
    /// The element name.
    pub name: String,
    /// Its text.
    pub value: String,
    /// Its `ua` attribute.
    pub access: Option<Access>,
    /// Where it is.
    pub location: crate::Location,
}

/// Every setting of SPEC §1–§14, defaults filled in.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Settings {
    /// §1.
    pub restricted_access: RestrictedAccess,
    /// §2, §6, §7.
    pub provisioning: Provisioning,
    /// §8.
    pub firewall: Firewall,
    /// §9.
    pub tls: Tls,
    /// §5.
    pub ldap: Ldap,
    /// §12.
    pub dot1x: Dot1x,
    /// §13.
    pub http_proxy: HttpProxy,
    /// §14.
    pub vpn: Vpn,
    /// Lines 1 to 16; `lines[0]` is line 1.
    pub lines: Vec<Line>,
    /// Elements the model does not know, in file order.
    pub unknown: Vec<UnknownParameter>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            restricted_access: RestrictedAccess::with_defaults(0),
            provisioning: Provisioning::with_defaults(0),
            firewall: Firewall::with_defaults(0),
            tls: Tls::with_defaults(0),
            ldap: Ldap::with_defaults(0),
            dot1x: Dot1x::with_defaults(0),
            http_proxy: HttpProxy::with_defaults(0),
            vpn: Vpn::with_defaults(0),
            lines: (1..=LINES).map(Line::with_defaults).collect(),
            unknown: Vec::new(),
        }
    }
}

impl Settings {
    /// Line `n` (1-based), if `1 <= n <= 16`.
    pub fn line(&self, n: usize) -> Option<&Line> {
        n.checked_sub(1).and_then(|i| self.lines.get(i))
    }

    /// Every setting as name/value rows, system parameters first, then lines 1 to 16.
    pub fn entries(&self) -> Vec<Entry> {
        let mut out = Vec::new();
        self.restricted_access.entries("", &mut out);
        self.provisioning.entries("", &mut out);
        self.firewall.entries("", &mut out);
        self.tls.entries("", &mut out);
        self.ldap.entries("", &mut out);
        self.dot1x.entries("", &mut out);
        self.http_proxy.entries("", &mut out);
        self.vpn.entries("", &mut out);
        for (i, line) in self.lines.iter().enumerate() {
            line.entries(&format!("_{}_", i + 1), &mut out);
        }
        out
    }

    /// Sets a system (not per-line) parameter.
    pub(crate) fn assign_system(
        &mut self,
        name: &str,
        raw: &RawParam<'_>,
        out: &mut Vec<Diagnostic>,
    ) -> bool {
        self.restricted_access.assign(name, raw, out)
            || self.provisioning.assign(name, raw, out)
            || self.firewall.assign(name, raw, out)
            || self.tls.assign(name, raw, out)
            || self.ldap.assign(name, raw, out)
            || self.dot1x.assign(name, raw, out)
            || self.http_proxy.assign(name, raw, out)
            || self.vpn.assign(name, raw, out)
    }
}

/// Every system parameter name the model knows.
pub(crate) fn system_names() -> impl Iterator<Item = &'static str> {
    [
        RestrictedAccess::NAMES,
        Provisioning::NAMES,
        Firewall::NAMES,
        Tls::NAMES,
        Ldap::NAMES,
        Dot1x::NAMES,
        HttpProxy::NAMES,
        Vpn::NAMES,
    ]
    .into_iter()
    .flatten()
    .copied()
}
