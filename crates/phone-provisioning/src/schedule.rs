//! When to resync, without a clock: `Resync_On_Reset` with `Resync_Random_Delay`,
//! `Resync_Periodic` after a success, `Resync_Error_Retry_Delay` after a failure (the MPP
//! guides' "Provisioning Parameters"). Time is an input; the random parts come from an injected
//! source.
//!
//! Delay syntax (both delay settings): `n` seconds; `n+r` = n plus a random 0..=r; a comma list
//! `a,b,c` is used in turn, its last element repeating (the 2025 default of
//! `Resync_Error_Retry_Delay` is `60,120,240,…,86400`); `0` disables. `Resync_Random_Delay` is
//! in units of 20 seconds (the newer guides; default 2 = up to 40 s).
//!
//! ```
//! use std::time::{Duration, Instant};
//! use phone_provisioning::{ResyncSchedule, ResyncTimer, ScheduleOutput, ResyncReason};
//!
//! let s = ResyncSchedule::parse("3600", "60,120", "0")?;
//! let t0 = Instant::now();
//! let mut timer = ResyncTimer::new(s, |b: &mut [u8]| { b.fill(0); Ok(()) });
//! timer.start(t0);
//! assert_eq!(timer.poll_output(), Some(ScheduleOutput::Timeout(Some(t0))));
//! timer.handle_timeout(t0);
//! assert_eq!(timer.poll_output(), Some(ScheduleOutput::Timeout(None))); // disarmed while it runs
//! assert_eq!(timer.poll_output(), Some(ScheduleOutput::Resync(ResyncReason::PowerUp)));
//! timer.handle_result(t0, false); // failed: retry after 60 s, then 120 s, 120 s…
//! assert_eq!(timer.poll_output(), Some(ScheduleOutput::Timeout(Some(t0 + Duration::from_secs(60)))));
//! # Ok::<(), phone_provisioning::ScheduleError>(())
//! ```
//!
//! `Resync_At__HHmm_` ([`Daily`]) replaces the periodic delay after a success: the host hands
//! in the wall clock with [`ResyncTimer::handle_result_at`] (time stays an input).
//!
//! Not here: waiting for idle lines (`Forced_Resync_Delay`), `Resync_Trigger_*`.

use std::time::{Duration, Instant};

/// The longest delay accepted in a setting: a year (a typo of extra digits is refused).
pub const MAX_DELAY_SECS: u64 = 366 * 24 * 3600;

/// A malformed schedule setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// An element is not `n` or `n+r` with n, r whole seconds.
    #[error("{setting}: `{element}` (element {index}) is not `n` or `n+r` in whole seconds")]
    BadElement {
        /// The setting.
        setting: &'static str,
        /// The element's text.
        element: String,
        /// Its 1-based position in the list.
        index: usize,
    },
    /// An element longer than [`MAX_DELAY_SECS`].
    #[error("{setting}: {secs} s (element {index}) is longer than a year")]
    TooLong {
        /// The setting.
        setting: &'static str,
        /// The value.
        secs: u64,
        /// Its 1-based position.
        index: usize,
    },
}

/// Why a resync is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResyncReason {
    /// After start (`Resync_On_Reset`), `$PRVST` 0.
    PowerUp,
    /// `Resync_Periodic` after a success, `$PRVST` 1.
    Periodic,
    /// `Resync_Error_Retry_Delay` after a failure, `$PRVST` 2.
    Retry,
}

impl ResyncReason {
    /// The value of the `$PRVST` macro.
    pub fn prvst(self) -> i8 {
        match self {
            ResyncReason::PowerUp => 0,
            ResyncReason::Periodic => 1,
            ResyncReason::Retry => 2,
        }
    }
}

/// One delay setting: steps of (seconds, random extra up to), the last repeating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delays {
    steps: Vec<(u64, u64)>,
}

impl Delays {
    /// Reads `n`, `n+r` or a comma list of them; an empty value is `0` (disabled).
    pub fn parse(setting: &'static str, text: &str) -> Result<Delays, ScheduleError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Delays { steps: vec![(0, 0)] });
        }
        let mut steps = Vec::new();
        for (i, element) in text.split(',').enumerate() {
            let e = element.trim();
            let bad = || ScheduleError::BadElement {
                setting,
                element: e.to_owned(),
                index: i + 1,
            };
            let (n, r) = match e.split_once('+') {
                Some((n, r)) => (n.trim(), r.trim()),
                None => (e, "0"),
            };
            let num = |s: &str| -> Result<u64, ScheduleError> {
                if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                let v: u64 = s.parse().map_err(|_| bad())?;
                if v > MAX_DELAY_SECS {
                    return Err(ScheduleError::TooLong {
                        setting,
                        secs: v,
                        index: i + 1,
                    });
                }
                Ok(v)
            };
            steps.push((num(n)?, num(r)?));
        }
        Ok(Delays { steps })
    }

    /// From steps already read (e.g. phone-config's typed `DelayList`): each `(n, r)` is `n`
    /// seconds plus a random 0..=`r`, the last repeating; no steps is `0` (disabled). Steps
    /// longer than [`MAX_DELAY_SECS`] are cut to it.
    pub fn from_steps(steps: impl IntoIterator<Item = (u64, u64)>) -> Delays {
        let mut steps: Vec<(u64, u64)> = steps
            .into_iter()
            .map(|(n, r)| (n.min(MAX_DELAY_SECS), r.min(MAX_DELAY_SECS)))
            .collect();
        if steps.is_empty() {
            steps.push((0, 0));
        }
        Delays { steps }
    }

    /// The step for the `attempt`-th use (0-based), the last repeating; `None` when it is 0
    /// (disabled).
    fn step(&self, attempt: usize) -> Option<(u64, u64)> {
        let s = self.steps.get(attempt).or_else(|| self.steps.last()).copied()?;
        (s.0 != 0 || s.1 != 0).then_some(s)
    }
}

/// `Resync_At__HHmm_` with `Resync_At_Random_Delay`: a daily resync at a wall-clock time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Daily {
    /// Seconds after midnight (of the clock the host hands in; the agent's is UTC).
    pub second_of_day: u32,
    /// A random 0..=this many seconds added.
    pub random: u64,
}

/// The settings a resync schedule needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResyncSchedule {
    /// `Resync_Periodic`.
    pub periodic: Delays,
    /// `Resync_Error_Retry_Delay`.
    pub error_retry: Delays,
    /// `Resync_Random_Delay` in seconds (the setting × 20).
    pub random_delay: Duration,
    /// `Resync_At__HHmm_`: replaces `periodic` after a success when set.
    pub daily: Option<Daily>,
}

impl ResyncSchedule {
    /// From the settings' texts: `Resync_Periodic`, `Resync_Error_Retry_Delay`,
    /// `Resync_Random_Delay` (units of 20 s).
    pub fn parse(
        periodic: &str,
        error_retry: &str,
        random_delay: &str,
    ) -> Result<ResyncSchedule, ScheduleError> {
        let units = Delays::parse("Resync_Random_Delay", random_delay)?;
        let units = match units.steps.as_slice() {
            [(n, 0)] => *n,
            _ => {
                return Err(ScheduleError::BadElement {
                    setting: "Resync_Random_Delay",
                    element: random_delay.trim().to_owned(),
                    index: 1,
                });
            }
        };
        Ok(ResyncSchedule {
            periodic: Delays::parse("Resync_Periodic", periodic)?,
            error_retry: Delays::parse("Resync_Error_Retry_Delay", error_retry)?,
            random_delay: Duration::from_secs(units.saturating_mul(20)),
            daily: None,
        })
    }

    /// The same schedule with a daily resync time (`Resync_At__HHmm_`).
    pub fn with_daily(mut self, daily: Option<Daily>) -> ResyncSchedule {
        self.daily = daily;
        self
    }
}

/// What [`ResyncTimer::poll_output`] hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleOutput {
    /// Resync now; report the outcome with [`ResyncTimer::handle_result`].
    Resync(ResyncReason),
    /// The timer, when it changes (`None`: no resync scheduled).
    Timeout(Option<Instant>),
    /// The random source failed: nothing is scheduled until `start` again.
    RandomFailed(String),
}

/// A random source (`FnMut(&mut [u8]) -> Result<(), String>`).
pub trait ScheduleRandom {
    /// Fills `dest` or fails.
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), String>;
}

impl<F: FnMut(&mut [u8]) -> Result<(), String>> ScheduleRandom for F {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), String> {
        self(dest)
    }
}

/// The resync timer.
#[derive(Debug)]
pub struct ResyncTimer<R> {
    schedule: ResyncSchedule,
    random: R,
    failures: usize,
    successes: usize,
    due: Option<(Instant, ResyncReason)>,
    reported: Option<Instant>,
    running: bool,
    out: std::collections::VecDeque<ScheduleOutput>,
}

impl<R: ScheduleRandom> ResyncTimer<R> {
    /// A stopped timer.
    pub fn new(schedule: ResyncSchedule, random: R) -> ResyncTimer<R> {
        ResyncTimer {
            schedule,
            random,
            failures: 0,
            successes: 0,
            due: None,
            reported: None,
            running: false,
            out: std::collections::VecDeque::new(),
        }
    }

    /// Power-up: the first resync after a random 0..=`Resync_Random_Delay`.
    pub fn start(&mut self, now: Instant) {
        self.failures = 0;
        self.successes = 0;
        self.running = false;
        let max = self.schedule.random_delay.as_secs();
        if let Some(extra) = self.random_secs(max) {
            self.set(Some((now + Duration::from_secs(extra), ResyncReason::PowerUp)));
        }
    }

    /// New settings (a reload): an already scheduled resync keeps its time; the next one
    /// uses them.
    pub fn update(&mut self, schedule: ResyncSchedule) {
        self.schedule = schedule;
    }

    /// The deadline passed: a due resync is handed out (once; the timer waits for its result).
    pub fn handle_timeout(&mut self, now: Instant) {
        let due = self.due.filter(|(at, _)| now >= *at && !self.running);
        if let Some((_, reason)) = due {
            self.running = true;
            self.set(None);
            self.out.push_back(ScheduleOutput::Resync(reason));
        }
    }

    /// A resync finished (`ok`: every rule fetched and was accepted): the next after
    /// `Resync_Periodic` (0: none), or after the next step of `Resync_Error_Retry_Delay`.
    pub fn handle_result(&mut self, now: Instant, ok: bool) {
        self.result(now, None, ok);
    }

    /// Like [`ResyncTimer::handle_result`], with the wall clock at `now` (seconds since 1970):
    /// after a success with [`ResyncSchedule::daily`] set, the next resync is at the next
    /// `second_of_day` (plus its random part) instead of after `Resync_Periodic`.
    pub fn handle_result_at(&mut self, now: Instant, unix_secs: u64, ok: bool) {
        self.result(now, Some(unix_secs), ok);
    }

    /// Resync now on the host's request (a new lease, a `Resync_Trigger`, the admin), unless
    /// one is running: handed out as `reason`.
    pub fn resync_now(&mut self, reason: ResyncReason) {
        if !self.running {
            self.running = true;
            self.set(None);
            self.out.push_back(ScheduleOutput::Resync(reason));
        }
    }

    fn result(&mut self, now: Instant, unix_secs: Option<u64>, ok: bool) {
        self.running = false;
        if let (true, Some(daily), Some(unix)) = (ok, self.schedule.daily, unix_secs) {
            self.failures = 0;
            let day = 86_400u64;
            let into_day = unix % day;
            let at = u64::from(daily.second_of_day) % day;
            let wait = match (at + day - into_day) % day {
                0 => day,
                w => w,
            };
            if let Some(r) = self.random_secs(daily.random) {
                self.set(Some((
                    now + Duration::from_secs(wait + r),
                    ResyncReason::Periodic,
                )));
            }
            return;
        }
        let (step, reason) = if ok {
            self.failures = 0;
            let s = self.schedule.periodic.step(self.successes);
            self.successes = self.successes.saturating_add(1);
            (s, ResyncReason::Periodic)
        } else {
            let s = self.schedule.error_retry.step(self.failures);
            self.failures = self.failures.saturating_add(1);
            (s, ResyncReason::Retry)
        };
        let Some((secs, extra)) = step else {
            return self.set(None);
        };
        if let Some(r) = self.random_secs(extra) {
            self.set(Some((now + Duration::from_secs(secs + r), reason)));
        }
    }

    /// The next thing to do.
    pub fn poll_output(&mut self) -> Option<ScheduleOutput> {
        self.out.pop_front()
    }

    /// A uniform 0..=max from the random source; `None` (and reported) when it fails.
    fn random_secs(&mut self, max: u64) -> Option<u64> {
        if max == 0 {
            return Some(0);
        }
        let mut b = [0u8; 8];
        match self.random.fill(&mut b) {
            Ok(()) => Some(u64::from_be_bytes(b) % (max + 1)),
            Err(e) => {
                self.set(None);
                self.out.push_back(ScheduleOutput::RandomFailed(e));
                None
            }
        }
    }

    fn set(&mut self, due: Option<(Instant, ResyncReason)>) {
        self.due = due;
        let at = due.map(|(at, _)| at);
        if at != self.reported {
            self.reported = at;
            self.out.push_back(ScheduleOutput::Timeout(at));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daily_time_replaces_periodic_after_success_only() {
        let s = ResyncSchedule::parse("3600", "60", "0")
            .unwrap()
            .with_daily(Some(Daily {
                second_of_day: 2 * 3600 + 30 * 60,
                random: 0,
            }));
        let t0 = Instant::now();
        let mut timer = ResyncTimer::new(s, |b: &mut [u8]| {
            b.fill(0);
            Ok(())
        });
        timer.start(t0);
        timer.handle_timeout(t0);
        drain(&mut timer);
        // 01:00 UTC on day 10: the next 02:30 is 5400 s away.
        let unix = 10 * 86_400 + 3600;
        timer.handle_result_at(t0, unix, true);
        assert_eq!(
            drain(&mut timer),
            [ScheduleOutput::Timeout(Some(t0 + Duration::from_secs(5400)))]
        );
        // Exactly at 02:30: the next day's.
        let t1 = t0 + Duration::from_secs(5400);
        timer.handle_timeout(t1);
        drain(&mut timer);
        timer.handle_result_at(t1, unix + 5400, true);
        assert_eq!(
            drain(&mut timer),
            [ScheduleOutput::Timeout(Some(t1 + Duration::from_secs(86_400)))]
        );
        // A failure still uses Resync_Error_Retry_Delay.
        let t2 = t1 + Duration::from_secs(86_400);
        timer.handle_timeout(t2);
        drain(&mut timer);
        timer.handle_result_at(t2, unix + 5400 + 86_400, false);
        assert_eq!(
            drain(&mut timer),
            [ScheduleOutput::Timeout(Some(t2 + Duration::from_secs(60)))]
        );
        // The host asks for one now (a new lease): handed out at once, the timer disarmed.
        timer.resync_now(ResyncReason::PowerUp);
        assert_eq!(
            drain(&mut timer),
            [
                ScheduleOutput::Timeout(None),
                ScheduleOutput::Resync(ResyncReason::PowerUp)
            ]
        );
        timer.resync_now(ResyncReason::PowerUp);
        assert_eq!(drain(&mut timer), []);
    }

    fn drain<R: ScheduleRandom>(t: &mut ResyncTimer<R>) -> Vec<ScheduleOutput> {
        std::iter::from_fn(|| t.poll_output()).collect()
    }

    #[test]
    fn power_up_then_periodic_then_error_backoff_with_the_last_step_repeating() {
        let s = ResyncSchedule::parse("3600", "60,120,240", "2").unwrap();
        assert_eq!(s.random_delay, Duration::from_secs(40));
        let t0 = Instant::now();
        // Random bytes 0..: the power-up delay is 0 + the max 40 s draws below.
        let mut n = 0u64;
        let mut timer = ResyncTimer::new(s, move |b: &mut [u8]| {
            n += 7;
            b.copy_from_slice(&n.to_be_bytes());
            Ok(())
        });
        timer.start(t0);
        let first = match drain(&mut timer).as_slice() {
            [ScheduleOutput::Timeout(Some(at))] => *at,
            other => panic!("{other:?}"),
        };
        assert_eq!(first, t0 + Duration::from_secs(7)); // 7 mod 41
        // Early: nothing.
        timer.handle_timeout(t0);
        assert!(drain(&mut timer).is_empty());
        timer.handle_timeout(first);
        assert_eq!(
            drain(&mut timer),
            [
                ScheduleOutput::Timeout(None),
                ScheduleOutput::Resync(ResyncReason::PowerUp)
            ]
        );
        // While it runs, time passing does not start another.
        timer.handle_timeout(first + Duration::from_secs(10_000));
        assert!(drain(&mut timer).is_empty());
        let mut now = first;
        for want in [60, 120, 240, 240] {
            timer.handle_result(now, false);
            let at = match drain(&mut timer).as_slice() {
                [ScheduleOutput::Timeout(Some(at))] => *at,
                other => panic!("{other:?}"),
            };
            assert_eq!(at - now, Duration::from_secs(want));
            now = at;
            timer.handle_timeout(now);
            assert_eq!(
                drain(&mut timer).last(),
                Some(&ScheduleOutput::Resync(ResyncReason::Retry))
            );
        }
        // A success resets the back-off and schedules Resync_Periodic.
        timer.handle_result(now, true);
        assert_eq!(
            drain(&mut timer),
            [ScheduleOutput::Timeout(Some(now + Duration::from_secs(3600)))]
        );
        timer.handle_timeout(now + Duration::from_secs(3600));
        drain(&mut timer);
        timer.handle_result(now, false);
        assert_eq!(
            drain(&mut timer),
            [ScheduleOutput::Timeout(Some(now + Duration::from_secs(60)))]
        );
    }

    #[test]
    fn random_extra_and_disabled_periodic() {
        let s = ResyncSchedule::parse("0", "100+50", "0").unwrap();
        let t0 = Instant::now();
        let mut timer = ResyncTimer::new(s, |b: &mut [u8]| {
            b.fill(0);
            b[7] = 60; // 60 % 51 = 9
            Ok(())
        });
        timer.start(t0);
        assert_eq!(drain(&mut timer), [ScheduleOutput::Timeout(Some(t0))]);
        timer.handle_timeout(t0);
        drain(&mut timer);
        timer.handle_result(t0, false);
        assert_eq!(
            drain(&mut timer),
            [ScheduleOutput::Timeout(Some(t0 + Duration::from_secs(109)))]
        );
        timer.handle_timeout(t0 + Duration::from_secs(109));
        drain(&mut timer);
        // Resync_Periodic 0: after a success nothing more is scheduled.
        timer.handle_result(t0, true);
        assert!(drain(&mut timer).is_empty(), "the timer stays disarmed");
        timer.handle_timeout(t0 + Duration::from_secs(MAX_DELAY_SECS));
        assert!(drain(&mut timer).is_empty());
    }

    #[test]
    fn bad_settings_and_a_failing_random_source() {
        assert_eq!(
            ResyncSchedule::parse("3600", "60,abc", "2"),
            Err(ScheduleError::BadElement {
                setting: "Resync_Error_Retry_Delay",
                element: "abc".into(),
                index: 2
            })
        );
        assert!(matches!(
            ResyncSchedule::parse("99999999999", "60", "2"),
            Err(ScheduleError::TooLong {
                setting: "Resync_Periodic",
                ..
            })
        ));
        assert!(ResyncSchedule::parse("3600", "60", "2+1").is_err());
        let s = ResyncSchedule::parse("3600", "60", "2").unwrap();
        let mut timer = ResyncTimer::new(s, |_: &mut [u8]| Err("no entropy".to_owned()));
        timer.start(Instant::now());
        assert_eq!(
            drain(&mut timer),
            [ScheduleOutput::RandomFailed("no entropy".into())]
        );
    }
}
