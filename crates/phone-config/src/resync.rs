//! The resync schedule's value types (the MPP guides' "Provisioning Parameters"; the seed
//! names provisioning but not these parameters, so names and defaults are the phones'
//! `cfg.xml`): delay lists (`Resync_Periodic`, `Resync_Error_Retry_Delay`,
//! `Upgrade_Error_Retry_Delay`), whole seconds, `Resync_Random_Delay` in units of 20 s, and the
//! `HHmm` wall-clock time of `Resync_At__HHmm_`.

use std::fmt;

use crate::value::{Param, Problem, parse_number};

/// The longest delay accepted: a year (a typo of extra digits is refused).
pub const MAX_DELAY_SECS: u32 = 366 * 24 * 3600;

/// A delay setting: `n` seconds, `n+r` (plus a random 0..=r), or a comma list of those used in
/// turn with the last repeating; `0` (or empty) disables.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DelayList {
    steps: Vec<(u32, u32)>,
}

impl DelayList {
    /// From steps of (seconds, random extra); callers give literals.
    pub(crate) fn from_steps(steps: &[(u32, u32)]) -> DelayList {
        DelayList {
            steps: steps.to_vec(),
        }
    }

    /// The steps as (seconds, random extra up to), in order.
    pub fn steps(&self) -> &[(u32, u32)] {
        &self.steps
    }

    /// Whether the setting disables what it schedules (every step 0).
    pub fn is_disabled(&self) -> bool {
        self.steps.iter().all(|&(n, r)| n == 0 && r == 0)
    }
}

impl fmt::Display for DelayList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (n, r)) in self.steps.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{n}")?;
            if *r != 0 {
                write!(f, "+{r}")?;
            }
        }
        Ok(())
    }
}

impl Param for DelayList {
    fn show(&self) -> String {
        self.to_string()
    }

    fn parse_param(text: &str, problems: &mut Vec<Problem>) -> Option<Self> {
        if text.is_empty() {
            return Some(DelayList { steps: vec![(0, 0)] });
        }
        let mut steps = Vec::new();
        let mut offset = 0;
        let mut ok = true;
        for raw in text.split(',') {
            let at = offset + (raw.len() - raw.trim_start().len());
            offset += raw.len() + 1;
            let e = raw.trim();
            let (n, r) = match e.split_once('+') {
                Some((n, r)) => (n.trim(), r.trim()),
                None => (e, "0"),
            };
            match (parse_number(n, MAX_DELAY_SECS), parse_number(r, MAX_DELAY_SECS)) {
                (Some(n), Some(r)) => steps.push((n, r)),
                _ => {
                    ok = false;
                    problems.push(
                        Problem::error(format!("`{e}` is not a delay"))
                            .hint(format!(
                                "expected `n` or `n+r` in whole seconds up to {MAX_DELAY_SECS} (a year), comma-separated"
                            ))
                            .offset(at),
                    );
                }
            }
        }
        ok.then_some(DelayList { steps })
    }
}

/// Whole seconds up to a year (`Resync_At_Random_Delay`, `Forced_Resync_Delay`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Seconds(pub u32);

impl Param for Seconds {
    fn show(&self) -> String {
        self.0.to_string()
    }

    fn parse_param(text: &str, problems: &mut Vec<Problem>) -> Option<Self> {
        match parse_number(text, MAX_DELAY_SECS) {
            Some(n) => Some(Seconds(n)),
            None => {
                problems.push(
                    Problem::error(format!("`{text}` is not a number of seconds")).hint(format!(
                        "expected whole seconds from 0 to {MAX_DELAY_SECS} (a year)"
                    )),
                );
                None
            }
        }
    }
}

/// `Resync_Random_Delay`: the power-up resync waits a random 0..=this × 20 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RandomDelayUnits(pub u32);

impl RandomDelayUnits {
    /// The longest wait, in seconds.
    pub fn seconds(self) -> u64 {
        u64::from(self.0) * 20
    }
}

impl Param for RandomDelayUnits {
    fn show(&self) -> String {
        self.0.to_string()
    }

    fn parse_param(text: &str, problems: &mut Vec<Problem>) -> Option<Self> {
        match parse_number(text, MAX_DELAY_SECS / 20) {
            Some(n) => Some(RandomDelayUnits(n)),
            None => {
                problems.push(
                    Problem::error(format!("`{text}` is not a Resync_Random_Delay")).hint(format!(
                        "expected a whole number of 20-second units from 0 to {} (2 = up to 40 s)",
                        MAX_DELAY_SECS / 20
                    )),
                );
                None
            }
        }
    }
}

/// `Resync_At__HHmm_`: a daily wall-clock time, `HHmm` (24-hour, four digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClockTime {
    /// 0..=23.
    pub hour: u8,
    /// 0..=59.
    pub minute: u8,
}

impl ClockTime {
    /// Seconds after midnight.
    pub fn seconds_of_day(self) -> u32 {
        u32::from(self.hour) * 3600 + u32::from(self.minute) * 60
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}{:02}", self.hour, self.minute)
    }
}

impl Param for ClockTime {
    fn show(&self) -> String {
        self.to_string()
    }

    fn parse_param(text: &str, problems: &mut Vec<Problem>) -> Option<Self> {
        let parsed = (text.len() == 4 && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| {
                let h = text.get(..2)?.parse::<u8>().ok()?;
                let m = text.get(2..)?.parse::<u8>().ok()?;
                (h < 24 && m < 60).then_some(ClockTime { hour: h, minute: m })
            })
            .flatten();
        if parsed.is_none() {
            problems.push(
                Problem::error(format!("`{text}` is not a time of day"))
                    .hint("expected HHmm, 24-hour with four digits (e.g. 0230); empty turns it off"),
            );
        }
        parsed
    }
}
