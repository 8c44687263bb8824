//! Syslog lines for resync reports (SPEC §7): RFC 5424 by default, RFC 3164 where configured.
//! The time is an argument (seconds and microseconds since the Unix epoch, UTC), so the
//! formatter never reads a clock. Transport (UDP, one message per datagram, RFC 5426) is the
//! host's.

/// Which framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyslogFormat {
    /// RFC 5424: `<PRI>1 2026-11-27T19:10:00.000000Z host app - msgid - text`.
    Rfc5424,
    /// RFC 3164 (BSD): `<PRI>Nov 27 19:10:00 host app: text`.
    Rfc3164,
}

/// RFC 5424 §6.2.1 severities used by resync reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// 3: a resync failed.
    Error = 3,
    /// 5: notice (request, success).
    Notice = 5,
    /// 6: informational.
    Info = 6,
}

/// Facility `local0` … the phone uses `user` (1) unless told otherwise.
pub const FACILITY_USER: u8 = 1;

/// The longest message text kept; longer texts are cut at a character boundary (RFC 5426
/// asks senders to keep datagrams small; 2048 is what every receiver must accept).
pub const MAX_TEXT: usize = 1800;

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogMessage<'a> {
    /// Facility (0-23).
    pub facility: u8,
    /// Severity.
    pub severity: Severity,
    /// Seconds since the epoch, UTC.
    pub unix_secs: u64,
    /// Microseconds within the second.
    pub micros: u32,
    /// HOSTNAME field (the phone's address or `Syslog_Identifier` value); `-` when empty.
    pub hostname: &'a str,
    /// APP-NAME / TAG.
    pub app_name: &'a str,
    /// MSGID (5424 only), e.g. `resync`.
    pub msg_id: &'a str,
    /// The text (`Log_Request_Msg` expanded …).
    pub text: &'a str,
}

impl SyslogMessage<'_> {
    /// The message as one datagram's payload.
    pub fn format(&self, format: SyslogFormat) -> String {
        let pri = u16::from(self.facility.min(23)) * 8 + self.severity as u16;
        let (y, mo, d, h, mi, s) = civil(self.unix_secs);
        let field = |v: &str| -> String {
            let clean: String = v.chars().filter(|c| c.is_ascii_graphic()).take(48).collect();
            if clean.is_empty() { "-".into() } else { clean }
        };
        let mut text: String = self
            .text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        if text.len() > MAX_TEXT {
            let mut cut = MAX_TEXT;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        match format {
            SyslogFormat::Rfc5424 => format!(
                "<{pri}>1 {y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:06}Z {} {} - {} - {text}",
                self.micros.min(999_999),
                field(self.hostname),
                field(self.app_name),
                field(self.msg_id),
            ),
            SyslogFormat::Rfc3164 => {
                const MONTHS: [&str; 12] = [
                    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
                ];
                let month = MONTHS
                    .get(usize::from(mo).saturating_sub(1))
                    .copied()
                    .unwrap_or("Jan");
                format!(
                    "<{pri}>{month} {d:>2} {h:02}:{mi:02}:{s:02} {} {}: {text}",
                    field(self.hostname),
                    field(self.app_name)
                )
            }
        }
    }
}

/// (year, month, day, hour, minute, second) of a Unix time, UTC (Hinnant's civil_from_days).
fn civil(secs: u64) -> (i64, u8, u8, u8, u8, u8) {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m as u8,
        d as u8,
        (rem / 3600) as u8,
        (rem % 3600 / 60) as u8,
        (rem % 60) as u8,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(text: &str) -> SyslogMessage<'_> {
        SyslogMessage {
            facility: FACILITY_USER,
            severity: Severity::Notice,
            // 2026-11-27T19:10:05Z
            unix_secs: 1_795_806_605,
            micros: 42,
            hostname: "10.0.0.5",
            app_name: "phone-agent",
            msg_id: "resync",
            text,
        }
    }

    #[test]
    fn rfc5424_line() {
        assert_eq!(
            msg("CP-7832-3PCC 00:0e:08:ab:cd:ef -- Requesting resync tftp://10.0.0.1:69/7832.xml")
                .format(SyslogFormat::Rfc5424),
            "<13>1 2026-11-27T19:10:05.000042Z 10.0.0.5 phone-agent - resync - CP-7832-3PCC 00:0e:08:ab:cd:ef -- Requesting resync tftp://10.0.0.1:69/7832.xml"
        );
    }

    #[test]
    fn rfc3164_line_and_bounds() {
        let mut m = msg("a\nb");
        m.severity = Severity::Error;
        m.unix_secs = 0;
        assert_eq!(
            m.format(SyslogFormat::Rfc3164),
            "<11>Jan  1 00:00:00 10.0.0.5 phone-agent: a b"
        );
        let long = "é".repeat(2000);
        assert!(msg(&long).format(SyslogFormat::Rfc5424).len() < MAX_TEXT + 100);
        // 2000-02-29 (leap day).
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0, 0));
    }
}
