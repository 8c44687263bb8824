//! The PAC engine: one QuickJS runtime per PAC file, the helper library, limits, and DNS
//! answered from the request (re-run when answers arrive, as Chromium's tracing resolver).

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::IpAddr;
use std::rc::Rc;
use std::time::Duration;

use rquickjs::{Context, Ctx, Exception, Function, Persistent, Runtime, Value};

use crate::glob::Glob;
use crate::ip;
use crate::result::ProxyList;
use crate::time::PacTime;

const LIBRARY: &str = include_str!("pac_library.js");

/// Bounds on an untrusted PAC script. Every bound hit is a typed [`Error`], never a hang.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest script accepted, in bytes (Chromium: 1 MiB).
    pub max_script_bytes: usize,
    /// QuickJS heap limit for the evaluator, in bytes.
    pub max_heap_bytes: usize,
    /// Native stack the script may use, in bytes (deep recursion ends here).
    pub max_stack_bytes: usize,
    /// Wall time for loading (compiling and running the top level of) the script.
    pub max_load_time: Duration,
    /// Wall time for one `FindProxyForURL` call.
    pub max_call_time: Duration,
    /// Unique host names one evaluation may look up (Chromium: 20). Further look-ups fail
    /// (`dnsResolve` gives `null`) and the outcome says so.
    pub max_dns_lookups: usize,
    /// Bytes of `alert()` text kept per evaluation (Chromium: 2048).
    pub max_alert_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_script_bytes: 1 << 20,
            max_heap_bytes: 16 << 20,
            max_stack_bytes: 256 << 10,
            max_load_time: Duration::from_secs(2),
            max_call_time: Duration::from_millis(250),
            max_dns_lookups: 20,
            max_alert_bytes: 2048,
        }
    }
}

/// The engine's only clock: time elapsed since any fixed origin, read to enforce
/// [`Limits::max_load_time`] and [`Limits::max_call_time`]. The host passes
/// `{ let t0 = Instant::now(); move || t0.elapsed() }`; tests pass a counter.
pub type Monotonic = Box<dyn FnMut() -> Duration>;

/// What went wrong loading or running a PAC script.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The script is larger than [`Limits::max_script_bytes`].
    #[error("PAC script is {size} bytes, more than the limit of {limit}")]
    ScriptTooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The script does not define `FindProxyForURL` (or `FindProxyForURLEx`) as a function.
    #[error("FindProxyForURL is undefined or not a function")]
    NoEntryPoint,
    /// The script threw (or failed to compile): the exception's text.
    #[error("PAC script error: {0}")]
    Script(String),
    /// The script ran longer than its time limit.
    #[error("PAC script ran longer than {0:?}")]
    TimeLimit(Duration),
    /// The script needed more heap than [`Limits::max_heap_bytes`].
    #[error("PAC script needed more than {0} bytes of heap")]
    HeapLimit(usize),
    /// The script recursed deeper than [`Limits::max_stack_bytes`] allows.
    #[error("PAC script exceeded the stack limit of {0} bytes")]
    StackLimit(usize),
    /// `FindProxyForURL` returned something other than a string.
    #[error("FindProxyForURL() did not return a string (it returned {0})")]
    NotAString(&'static str),
    /// `FindProxyForURL` returned non-ASCII text.
    #[error("FindProxyForURL() returned a non-ASCII string")]
    NonAscii,
    /// The URL to find a proxy for is not an absolute URL with a host.
    #[error("invalid URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given (at most 200 characters).
        url: String,
        /// Why.
        reason: String,
    },
    /// QuickJS could not be set up (out of memory at start).
    #[error("JavaScript engine: {0}")]
    Engine(String),
}

/// One question to the PAC: a URL, the time, the phone's own addresses, and the DNS answers
/// known so far. Keep it across [`PacEngine::find_proxy`] calls that return
/// [`Evaluation::NeedDns`].
#[derive(Debug, Clone)]
pub struct Request {
    url: String,
    host: String,
    time: PacTime,
    my_addresses: Vec<IpAddr>,
    answers: HashMap<String, Option<Vec<IpAddr>>>,
    rounds: usize,
}

impl Request {
    /// A request for `url` at `time`. As in Chromium, the URL the script sees has no
    /// credentials and no fragment, and for `https:`/`wss:` no path or query either (a PAC
    /// must not learn secure URLs); `host` is the URL's host without IPv6 brackets.
    pub fn new(url: &str, time: PacTime) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidUrl {
            url: url.chars().take(200).collect(),
            reason: reason.to_owned(),
        };
        let mut parsed = url::Url::parse(url).map_err(|e| invalid(&e.to_string()))?;
        let host = match parsed.host() {
            Some(url::Host::Domain(d)) => d.to_owned(),
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Ipv6(a)) => a.to_string(),
            None => return Err(invalid("no host")),
        };
        // Both only fail for URLs without a host, excluded above.
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
        parsed.set_fragment(None);
        if matches!(parsed.scheme(), "https" | "wss") {
            parsed.set_path("/");
            parsed.set_query(None);
        }
        Ok(Request {
            url: parsed.into(),
            host,
            time,
            my_addresses: Vec::new(),
            answers: HashMap::new(),
            rounds: 0,
        })
    }

    /// The addresses `myIpAddress()`/`myIpAddressEx()` report: those of the interface the
    /// HTTP stack uses, first the preferred one. None: `myIpAddress()` is `"127.0.0.1"`.
    pub fn with_my_addresses(mut self, addresses: Vec<IpAddr>) -> Self {
        self.my_addresses = addresses;
        self
    }

    /// Records the answer for `name` (as given by [`Evaluation::NeedDns`]); an empty list
    /// or `None` means the name does not resolve.
    pub fn answer(&mut self, name: &str, addresses: Option<Vec<IpAddr>>) {
        let addresses = addresses.filter(|a| !a.is_empty());
        self.answers.insert(name.to_owned(), addresses);
    }

    /// The URL passed to the script.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The host passed to the script.
    pub fn host(&self) -> &str {
        &self.host
    }
}

/// Something the host should know about an evaluation besides its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// The script called `alert(text)`.
    Alert(String),
    /// `alert()` text beyond [`Limits::max_alert_bytes`] was dropped.
    AlertsTruncated,
    /// A look-up beyond [`Limits::max_dns_lookups`] was answered as a failure (the first
    /// 64 DNS notes of a run are kept).
    DnsBudgetExhausted {
        /// The name not looked up.
        name: String,
    },
    /// The script kept asking for new names after the last allowed re-run; this one was
    /// answered as a failure.
    DnsUnanswered {
        /// The name.
        name: String,
    },
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::Alert(t) => write!(f, "alert: {t}"),
            Note::AlertsTruncated => f.write_str("further alert() output dropped"),
            Note::DnsBudgetExhausted { name } => {
                write!(f, "DNS budget exhausted: `{name}` treated as unresolvable")
            }
            Note::DnsUnanswered { name } => {
                write!(f, "too many DNS re-runs: `{name}` treated as unresolvable")
            }
        }
    }
}

/// The answer of a PAC for one URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacOutcome {
    /// The string `FindProxyForURL` returned.
    pub result: String,
    /// That string parsed (with its own diagnostics).
    pub list: ProxyList,
    /// Alerts and DNS budget notes, in order.
    pub notes: Vec<Note>,
}

/// What [`PacEngine::find_proxy`] needs next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evaluation {
    /// The script finished.
    Done(PacOutcome),
    /// The script asked for names the request has no answer for: resolve them (in any
    /// order, in parallel), [`Request::answer`] each, and call again. The run that asked
    /// was discarded; PAC scripts are treated as deterministic, as in Chromium.
    NeedDns(Vec<String>),
}

/// A blocking name resolver for [`PacEngine::find_proxy_with`]: all addresses of `name`,
/// or `None` when it does not resolve. Closures `FnMut(&str) -> Option<Vec<IpAddr>>` are
/// resolvers.
pub trait Resolver {
    /// Resolves `name` (ASCII, IDN already in punycode).
    fn resolve(&mut self, name: &str) -> Option<Vec<IpAddr>>;
}

impl<F: FnMut(&str) -> Option<Vec<IpAddr>>> Resolver for F {
    fn resolve(&mut self, name: &str) -> Option<Vec<IpAddr>> {
        self(name)
    }
}

/// Which function the script is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryPoint {
    /// Netscape's `FindProxyForURL(url, host)`.
    FindProxyForUrl,
    /// Microsoft's `FindProxyForURLEx(url, host)`, used when the script defines it.
    FindProxyForUrlEx,
}

impl EntryPoint {
    fn name(self) -> &'static str {
        match self {
            EntryPoint::FindProxyForUrl => "FindProxyForURL",
            EntryPoint::FindProxyForUrlEx => "FindProxyForURLEx",
        }
    }
}

/// Longest DNS name, in octets (RFC 1035 §2.3.4, without the root's dot).
const MAX_DNS_NAME: usize = 253;
/// Patterns the `shExpMatch` fast path keeps compiled, and the longest one it keeps.
const MAX_CACHED_PATTERNS: usize = 512;
const MAX_CACHED_PATTERN: usize = 1024;
/// DNS notes ([`Note::DnsBudgetExhausted`], [`Note::DnsUnanswered`]) kept per run.
const MAX_DNS_NOTES: usize = 64;

/// Interrupt state shared with QuickJS's interrupt handler.
struct Watchdog {
    clock: RefCell<Monotonic>,
    deadline: Cell<Option<Duration>>,
    fired: Cell<bool>,
}

impl Watchdog {
    fn arm(&self, budget: Duration) {
        let now = (self.clock.borrow_mut())();
        self.fired.set(false);
        self.deadline.set(Some(now.saturating_add(budget)));
    }

    fn disarm(&self) {
        self.deadline.set(None);
    }

    fn should_interrupt(&self) -> bool {
        let Some(deadline) = self.deadline.get() else {
            return false;
        };
        let Ok(mut clock) = self.clock.try_borrow_mut() else {
            return false;
        };
        if clock() >= deadline {
            self.fired.set(true);
        }
        self.fired.get()
    }
}

/// What the natives see during one run.
#[derive(Default)]
struct Host {
    answers: HashMap<String, Option<Vec<IpAddr>>>,
    my_addresses: Vec<IpAddr>,
    looked_up: HashSet<String>,
    misses: Vec<String>,
    last_round: bool,
    max_lookups: usize,
    notes: Vec<Note>,
    alert_bytes: usize,
    max_alert_bytes: usize,
    dns_notes: usize,
    globs: HashMap<String, Option<Glob>>,
}

impl Host {
    /// The addresses of `name`, or `None` (a miss is recorded for the host to resolve).
    fn lookup(&mut self, name: &str) -> Option<Vec<IpAddr>> {
        if let Ok(ip) = name.parse::<IpAddr>() {
            return Some(vec![ip]);
        }
        // No DNS name is longer than 253 octets: do not ask for one (nor run IDNA over a
        // script's megabyte string). 4 UTF-8 bytes per character bound the Unicode form.
        if name.len() > 4 * MAX_DNS_NAME {
            return None;
        }
        let name = match idna::domain_to_ascii(name) {
            Ok(n) if !n.is_empty() && n.len() <= MAX_DNS_NAME => n,
            _ => return None,
        };
        if !self.looked_up.contains(&name) {
            if self.looked_up.len() >= self.max_lookups {
                tracing::debug!(%name, "PAC DNS budget exhausted");
                self.dns_note(Note::DnsBudgetExhausted { name });
                return None;
            }
            self.looked_up.insert(name.clone());
        }
        match self.answers.get(&name) {
            Some(answer) => answer.clone(),
            None if self.last_round => {
                self.dns_note(Note::DnsUnanswered { name });
                None
            }
            None => {
                // Once per name: a loop over one unanswered name must not grow the list.
                if !self.misses.contains(&name) {
                    self.misses.push(name);
                }
                None
            }
        }
    }

    /// Notes a failed look-up, at most [`MAX_DNS_NOTES`] per run: a script looping over
    /// `dnsResolve` must not grow the outcome (outside the heap limit) without bound.
    fn dns_note(&mut self, note: Note) {
        if self.dns_notes < MAX_DNS_NOTES {
            self.dns_notes += 1;
            self.notes.push(note);
        }
    }

    fn alert(&mut self, text: String) {
        if self.alert_bytes >= self.max_alert_bytes {
            return;
        }
        let room = self.max_alert_bytes - self.alert_bytes;
        let mut cut = room.min(text.len());
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let kept = text.get(..cut).unwrap_or_default();
        // Only what is kept reaches the log too: a script must not flood it.
        tracing::info!(target: "proxy_pac::alert", "{kept}");
        if cut == text.len() {
            self.alert_bytes += text.len();
            self.notes.push(Note::Alert(text));
        } else {
            self.alert_bytes = self.max_alert_bytes;
            self.notes.push(Note::Alert(kept.to_owned()));
            self.notes.push(Note::AlertsTruncated);
        }
    }

    fn glob(&mut self, text: &str, pattern: &str) -> Option<bool> {
        // The cache lives outside the script's heap limit: bound it in entries and bytes.
        if pattern.len() > MAX_CACHED_PATTERN {
            return Glob::compile(pattern)?.matches(text);
        }
        if !self.globs.contains_key(pattern) {
            if self.globs.len() >= MAX_CACHED_PATTERNS {
                self.globs.clear();
            }
            self.globs.insert(pattern.to_owned(), Glob::compile(pattern));
        }
        self.globs.get(pattern)?.as_ref()?.matches(text)
    }
}

/// A loaded PAC file, ready to answer [`Request`]s. Not `Send`: keep it on one thread
/// (one worker thread per PAC in the host).
pub struct PacEngine {
    // Drop order matters: the saved functions, then the context, then the runtime.
    set_clock: Persistent<Function<'static>>,
    entry_getter: Option<Persistent<Function<'static>>>,
    context: Context,
    runtime: Runtime,
    host: Rc<RefCell<Host>>,
    watchdog: Rc<Watchdog>,
    limits: Limits,
    entry: EntryPoint,
}

impl fmt::Debug for PacEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PacEngine")
            .field("entry", &self.entry)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl PacEngine {
    /// Loads a PAC script under `limits`; `clock` enforces the time limits.
    pub fn new(script: &str, limits: Limits, clock: Monotonic) -> Result<Self, Error> {
        if script.len() > limits.max_script_bytes {
            return Err(Error::ScriptTooLarge {
                size: script.len(),
                limit: limits.max_script_bytes,
            });
        }
        let engine_err = |e: rquickjs::Error| Error::Engine(e.to_string());
        let runtime = Runtime::new().map_err(engine_err)?;
        let context = Context::full(&runtime).map_err(engine_err)?;
        runtime.set_max_stack_size(limits.max_stack_bytes);
        let watchdog = Rc::new(Watchdog {
            clock: RefCell::new(clock),
            deadline: Cell::new(None),
            fired: Cell::new(false),
        });
        let w = Rc::clone(&watchdog);
        runtime.set_interrupt_handler(Some(Box::new(move || w.should_interrupt())));
        let host = Rc::new(RefCell::new(Host {
            max_lookups: limits.max_dns_lookups,
            max_alert_bytes: limits.max_alert_bytes,
            ..Host::default()
        }));
        let set_clock = context
            .with(|ctx| -> rquickjs::Result<_> {
                install_natives(&ctx, &host)?;
                eval_sloppy::<()>(&ctx, LIBRARY, "pac_library.js")?;
                let set_clock: Function = ctx.globals().get("__pac_set_clock")?;
                Ok(Persistent::save(&ctx, set_clock))
            })
            .map_err(engine_err)?;
        // The library's own allocations are not the script's: limit the heap from here on,
        // leaving room for what the library already holds.
        let used = usize::try_from(runtime.memory_usage().malloc_size).unwrap_or(0);
        runtime.set_memory_limit(limits.max_heap_bytes.saturating_add(used));
        let mut engine = PacEngine {
            runtime,
            context,
            host,
            watchdog,
            entry: EntryPoint::FindProxyForUrl,
            set_clock,
            entry_getter: None,
            limits,
        };
        engine.load(script)?;
        Ok(engine)
    }

    fn load(&mut self, script: &str) -> Result<(), Error> {
        self.watchdog.arm(self.limits.max_load_time);
        let time_limit = self.limits.max_load_time;
        let outcome = self.context.with(|ctx| {
            let loaded = eval_sloppy::<()>(&ctx, script, "proxy.pac");
            if let Err(e) = loaded {
                return Err(self.classify(&ctx, e, time_limit));
            }
            // `typeof` in the global scope also sees `let`/`const` entry points.
            let is_fn = |name: &str| {
                eval_sloppy::<bool>(&ctx, &format!("typeof {name} === 'function'"), "entry").unwrap_or(false)
            };
            let entry = if is_fn("FindProxyForURLEx") {
                EntryPoint::FindProxyForUrlEx
            } else if is_fn("FindProxyForURL") {
                EntryPoint::FindProxyForUrl
            } else {
                return Err(Error::NoEntryPoint);
            };
            // Read the binding at every call, as Chromium does: a script may replace it.
            let getter: Function = eval_sloppy(
                &ctx,
                &format!("(function () {{ return {}; }})", entry.name()),
                "entry",
            )
            .map_err(|e| Error::Engine(e.to_string()))?;
            Ok((entry, Persistent::save(&ctx, getter)))
        });
        self.watchdog.disarm();
        let (entry, getter) = outcome?;
        self.entry = entry;
        self.entry_getter = Some(getter);
        Ok(())
    }

    /// The function the engine calls.
    pub fn entry_point(&self) -> EntryPoint {
        self.entry
    }

    /// The limits the engine was loaded with.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Bytes QuickJS has allocated for this engine (runtime, library, script, caches).
    pub fn heap_bytes(&self) -> u64 {
        u64::try_from(self.runtime.memory_usage().malloc_size).unwrap_or(0)
    }

    /// Runs the script for `request`. Non-blocking: names the request has no answer for
    /// come back as [`Evaluation::NeedDns`]; after [`Limits::max_dns_lookups`] re-runs,
    /// unanswered names count as failures.
    pub fn find_proxy(&mut self, request: &mut Request) -> Result<Evaluation, Error> {
        {
            let mut host = self.host.borrow_mut();
            host.answers = std::mem::take(&mut request.answers);
            host.my_addresses = std::mem::take(&mut request.my_addresses);
            host.looked_up.clear();
            host.misses.clear();
            host.notes.clear();
            host.alert_bytes = 0;
            host.dns_notes = 0;
            host.last_round = request.rounds >= self.limits.max_dns_lookups;
        }
        let outcome = self.call(request);
        let (misses, notes) = {
            let mut host = self.host.borrow_mut();
            request.answers = std::mem::take(&mut host.answers);
            request.my_addresses = std::mem::take(&mut host.my_addresses);
            (std::mem::take(&mut host.misses), std::mem::take(&mut host.notes))
        };
        request.rounds += 1;
        let result = match outcome {
            // A failed run that asked for names may have failed for want of them.
            Err(_) | Ok(_) if !misses.is_empty() => {
                let mut misses = misses;
                misses.dedup();
                let mut seen = HashSet::new();
                misses.retain(|m| seen.insert(m.clone()));
                return Ok(Evaluation::NeedDns(misses));
            }
            other => other?,
        };
        let list = ProxyList::parse_pac_result(&result);
        Ok(Evaluation::Done(PacOutcome { result, list, notes }))
    }

    /// [`find_proxy`](Self::find_proxy) to the end, asking `resolver` for each name. The
    /// resolver blocks the caller: use it where that is acceptable (tools, tests).
    pub fn find_proxy_with(
        &mut self,
        request: &mut Request,
        resolver: &mut dyn Resolver,
    ) -> Result<PacOutcome, Error> {
        loop {
            match self.find_proxy(request)? {
                Evaluation::Done(outcome) => return Ok(outcome),
                Evaluation::NeedDns(names) => {
                    for name in names {
                        let answer = resolver.resolve(&name);
                        request.answer(&name, answer);
                    }
                }
            }
        }
    }

    fn call(&mut self, request: &Request) -> Result<String, Error> {
        self.watchdog.arm(self.limits.max_call_time);
        let time_limit = self.limits.max_call_time;
        let outcome = self.context.with(|ctx| {
            let run = || -> rquickjs::Result<Value> {
                let set_clock = self.set_clock.clone().restore(&ctx)?;
                let offset_ms = i64::from(request.time.utc_offset_seconds()) * 1000;
                // f64: JavaScript's number; exact for any date a phone will see.
                #[allow(clippy::cast_precision_loss)]
                set_clock.call::<_, ()>((request.time.unix_millis() as f64, offset_ms as f64))?;
                let Some(getter) = &self.entry_getter else {
                    return Err(rquickjs::Error::Unknown);
                };
                let entry: Function = getter.clone().restore(&ctx)?.call(())?;
                entry.call((request.url.as_str(), request.host.as_str()))
            };
            match run() {
                Ok(v) => result_string(&v),
                Err(e) => Err(self.classify(&ctx, e, time_limit)),
            }
        });
        self.watchdog.disarm();
        outcome
    }

    /// Maps a QuickJS failure to the limit it hit, or to the script's exception.
    fn classify(&self, ctx: &Ctx<'_>, e: rquickjs::Error, time_limit: Duration) -> Error {
        let message = match e {
            rquickjs::Error::Exception => exception_text(&ctx.catch()),
            rquickjs::Error::Allocation => "out of memory".to_owned(),
            other => other.to_string(),
        };
        if self.watchdog.fired.get() {
            Error::TimeLimit(time_limit)
        } else if message.contains("out of memory") {
            Error::HeapLimit(self.limits.max_heap_bytes)
        } else if message.contains("stack overflow") || message.contains("Maximum call stack size exceeded") {
            Error::StackLimit(self.limits.max_stack_bytes)
        } else {
            Error::Script(message.chars().take(2048).collect())
        }
    }
}

fn eval_sloppy<'js, V: rquickjs::FromJs<'js>>(
    ctx: &Ctx<'js>,
    source: &str,
    filename: &str,
) -> rquickjs::Result<V> {
    let mut options = rquickjs::context::EvalOptions::default();
    options.global = true;
    options.strict = false;
    options.filename = Some(filename.to_owned());
    ctx.eval_with_options(source, options)
}

fn exception_text(v: &Value<'_>) -> String {
    if let Some(ex) = v.as_exception() {
        let message = ex.message().unwrap_or_default();
        let name: Option<String> = ex.get("name").ok();
        // QuickJS's stack names `proxy.pac:LINE:COLUMN` for frames in the script.
        let stack: String = ex.get("stack").unwrap_or_default();
        let line = stack
            .split("proxy.pac:")
            .nth(1)
            .map(|rest| rest.chars().take_while(char::is_ascii_digit).collect::<String>())
            .filter(|l| !l.is_empty())
            .map(|l| format!(" (line {l})"))
            .unwrap_or_default();
        return match name {
            Some(n) if !n.is_empty() => format!("{n}: {message}{line}"),
            _ => format!("{message}{line}"),
        };
    }
    if let Some(s) = v.as_string() {
        return s.to_string().unwrap_or_default();
    }
    format!("uncaught {}", js_type(v))
}

fn result_string(v: &Value<'_>) -> Result<String, Error> {
    let Some(s) = v.as_string() else {
        return Err(Error::NotAString(js_type(v)));
    };
    let s = s.to_string().map_err(|_| Error::NonAscii)?;
    if !s.is_ascii() {
        return Err(Error::NonAscii);
    }
    Ok(s)
}

/// `typeof`, with `null` told apart.
fn js_type(v: &Value<'_>) -> &'static str {
    if v.is_null() {
        "null"
    } else if v.is_undefined() {
        "undefined"
    } else if v.is_bool() {
        "boolean"
    } else if v.is_number() {
        "number"
    } else if v.is_function() {
        "function"
    } else if v.is_symbol() {
        "symbol"
    } else if v.is_big_int() {
        "bigint"
    } else {
        "object"
    }
}

fn string_arg(v: &Value<'_>) -> Option<String> {
    v.as_string().and_then(|s| s.to_string().ok())
}

/// The Rust natives the library and scripts call.
fn install_natives<'js>(ctx: &Ctx<'js>, host: &Rc<RefCell<Host>>) -> rquickjs::Result<()> {
    let g = ctx.globals();

    g.set(
        "isPlainHostName",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, args: rquickjs::function::Rest<Value<'js>>| match args
                .0
                .first()
                .and_then(string_arg)
            {
                Some(h) => Ok(ip::is_plain_host_name(&h)),
                None => Err(Exception::throw_type(&ctx, "Requires 1 string parameter")),
            },
        )?,
    )?;

    g.set(
        "__pac_dns_domain_is",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, host: Value<'js>, domain: Value<'js>| {
                if host.is_null() || host.is_undefined() || domain.is_null() || domain.is_undefined() {
                    return Err(Exception::throw_type(
                        &ctx,
                        "dnsDomainIs: host and domain must be strings",
                    ));
                }
                Ok(match (string_arg(&host), string_arg(&domain)) {
                    (Some(h), Some(d)) => ip::dns_domain_is(&h, &d),
                    _ => false,
                })
            },
        )?,
    )?;

    g.set(
        "__pac_in_net",
        Function::new(
            ctx.clone(),
            |ip: Value<'js>, pattern: Value<'js>, mask: Value<'js>| match (
                string_arg(&ip),
                string_arg(&pattern),
                string_arg(&mask),
            ) {
                (Some(ip), Some(pattern), Some(mask)) => ip::is_in_net(&ip, &pattern, &mask),
                _ => None,
            },
        )?,
    )?;

    let h = Rc::clone(host);
    g.set(
        "__pac_glob",
        Function::new(ctx.clone(), move |text: Value<'js>, pattern: Value<'js>| {
            let (Some(text), Some(pattern)) = (string_arg(&text), string_arg(&pattern)) else {
                return None;
            };
            h.borrow_mut().glob(&text, &pattern)
        })?,
    )?;

    let h = Rc::clone(host);
    g.set(
        "__pac_dns",
        Function::new(ctx.clone(), move |name: Value<'js>, all: bool| {
            let name = string_arg(&name)?;
            let addresses = h.borrow_mut().lookup(&name)?;
            if all {
                Some(
                    addresses
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(";"),
                )
            } else {
                // dnsResolve is IPv4-only in Chromium (and IE).
                addresses.iter().find(|a| a.is_ipv4()).map(ToString::to_string)
            }
        })?,
    )?;

    let h = Rc::clone(host);
    g.set(
        "__pac_my_ip",
        Function::new(ctx.clone(), move |all: bool| {
            let host = h.borrow();
            if all {
                ip::my_ip_address_ex(&host.my_addresses)
            } else {
                ip::my_ip_address(&host.my_addresses)
            }
        })?,
    )?;

    g.set(
        "__pac_sort_ip",
        Function::new(ctx.clone(), |list: String| ip::sort_ip_address_list(&list))?,
    )?;

    g.set(
        "__pac_in_net_ex",
        Function::new(ctx.clone(), |ip: String, prefix: String| {
            ip::is_in_net_ex(&ip, &prefix)
        })?,
    )?;

    let h = Rc::clone(host);
    g.set(
        "__pac_alert",
        Function::new(ctx.clone(), move |text: String| h.borrow_mut().alert(text))?,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_side_state_stays_bounded_under_a_look_up_loop() {
        let mut host = Host {
            max_lookups: 20,
            ..Host::default()
        };
        for i in 0..10_000 {
            assert_eq!(host.lookup(&format!("h{}.example", i % 50)), None);
        }
        assert_eq!(host.misses.len(), 20);
        assert_eq!(host.notes.len(), MAX_DNS_NOTES);
    }

    #[test]
    fn long_patterns_are_matched_but_not_cached() {
        let mut host = Host::default();
        let long = format!("*{}", "x".repeat(MAX_CACHED_PATTERN));
        assert_eq!(host.glob("ax", &long), Some(false));
        assert!(host.globs.is_empty());
        for i in 0..(MAX_CACHED_PATTERNS + 10) {
            assert_eq!(host.glob("a.example", &format!("*.example{i}")), Some(false));
        }
        assert!(host.globs.len() <= MAX_CACHED_PATTERNS);
    }
}
