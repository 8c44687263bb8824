//! The daemon's local API and admin page (axum on hyper): `GET /api/status` (the [`Status`]
//! as JSON), `GET /api/events` (server-sent events: the whole status each time it changes),
//! `POST /api/reload` (re-read cfg.xml, as SIGHUP), and `/` (the phone's Info > Status page,
//! HTML/CSS/JS embedded in the binary, updated live from the events; cargo feature `web`, on
//! by default; without it `/` is 404 and the API stays).
//!
//! Bound to 127.0.0.1 by default. Any other address needs an admin password: every request
//! then carries HTTP Basic credentials, checked in constant time (`subtle`, on SHA-256 digests
//! so the length does not leak either); after [`FAILURES_ALLOWED`] wrong ones in a row, every
//! request is refused with 429 for a pause that doubles with each further failure (up to
//! [`MAX_PAUSE`]).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use subtle::ConstantTimeEq;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::WatchStream;

use crate::status::{Status, StatusHandle};

/// A request to re-read cfg.xml (`POST /api/reload`, SIGHUP); the answer says whether it was
/// accepted. Defined here, where it is sent, so `run` depends on `http` and not the reverse.
pub type ReloadRequest = oneshot::Sender<crate::status::Reload>;

/// Where the API listens unless told otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8480";
/// Wrong passwords in a row before requests are paused.
pub const FAILURES_ALLOWED: u32 = 5;
/// The longest pause after wrong passwords.
pub const MAX_PAUSE: Duration = Duration::from_secs(300);

/// Wrong-password bookkeeping.
#[derive(Default)]
struct Failures {
    count: u32,
    paused_until: Option<Instant>,
}

#[derive(Clone)]
struct App {
    status: StatusHandle,
    reload: mpsc::Sender<ReloadRequest>,
    password: Option<Arc<[u8; 32]>>,
    failures: Arc<Mutex<Failures>>,
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Starts serving on `addr` (`off`: not at all); the address bound, for the log.
pub async fn serve(
    addr: &str,
    password: Option<String>,
    status: StatusHandle,
    reload: mpsc::Sender<ReloadRequest>,
) -> Result<Option<SocketAddr>> {
    if addr == "off" {
        return Ok(None);
    }
    let addr: SocketAddr = addr
        .parse()
        .with_context(|| format!("--http {addr}: expected IP:PORT or off"))?;
    if !addr.ip().is_loopback() && password.as_deref().is_none_or(str::is_empty) {
        bail!("--http {addr} is not a loopback address: give --admin-password");
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the API to {addr}"))?;
    let bound = listener.local_addr()?;
    let app = App {
        status,
        reload,
        password: password.map(|p| Arc::new(digest(p.as_bytes()))),
        failures: Arc::default(),
    };
    let router = Router::new();
    #[cfg(feature = "web")]
    let router = page::routes(router);
    let router = router
        .route("/api/status", get(status_json))
        .route("/api/events", get(events))
        .route("/api/reload", post(reload_now))
        .layer(middleware::from_fn_with_state(app.clone(), authenticate))
        .with_state(app);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!("the API server stopped: {e}");
        }
    });
    Ok(Some(bound))
}

/// The admin page (cargo feature `web`).
#[cfg(feature = "web")]
mod page {
    use axum::Router;
    use axum::extract::State;
    use axum::http::header;
    use axum::response::{IntoResponse, Response};
    use axum::routing::get;

    use super::App;

    const INDEX: &str = include_str!("http/index.html");
    const SCRIPT: &str = include_str!("http/app.js");
    const STYLE: &str = include_str!("http/app.css");

    /// `/`, `/app.js` and `/app.css`.
    pub(super) fn routes(router: Router<App>) -> Router<App> {
        router
            .route("/", get(index))
            .route(
                "/app.js",
                get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
            )
            .route(
                "/app.css",
                get(|| async { asset("text/css; charset=utf-8", STYLE) }),
            )
    }

    fn asset(kind: &'static str, body: &'static str) -> Response {
        (
            [(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "no-cache")],
            body,
        )
            .into_response()
    }

    /// The page with the current status inlined (`<` escaped, so no `</script>` can close it).
    async fn index(State(app): State<App>) -> Response {
        let json = serde_json::to_string(&app.status.snapshot())
            .unwrap_or_default()
            .replace('<', "\\u003c");
        let page = INDEX.replace(
            "<!--STATUS-->",
            &format!("<script id=\"initial\" type=\"application/json\">{json}</script>"),
        );
        (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            page,
        )
            .into_response()
    }
}

async fn status_json(State(app): State<App>) -> Json<Status> {
    Json(app.status.snapshot())
}

async fn events(State(app): State<App>) -> Sse<impl tokio_stream::Stream<Item = Result<Event, Infallible>>> {
    let stream = WatchStream::new(app.status.subscribe()).map(|s| {
        Ok(Event::default()
            .event("status")
            .data(serde_json::to_string(&s).unwrap_or_default()))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn reload_now(State(app): State<App>) -> Response {
    let (tx, rx) = oneshot::channel();
    if app.reload.send(tx).await.is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "the daemon is stopping").into_response();
    }
    match rx.await {
        Ok(outcome) => {
            let code = if outcome.accepted {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            (code, Json(outcome)).into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "the daemon is stopping").into_response(),
    }
}

/// The password from `Authorization: Basic base64(user:password)`.
fn basic_password(headers: &HeaderMap) -> Option<Vec<u8>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let colon = decoded.iter().position(|b| *b == b':')?;
    decoded.get(colon + 1..).map(<[u8]>::to_vec)
}

async fn authenticate(State(app): State<App>, request: Request, next: Next) -> Response {
    let Some(expected) = &app.password else {
        return next.run(request).await;
    };
    let now = Instant::now();
    let paused = app
        .failures
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .paused_until
        .filter(|u| *u > now);
    {
        if let Some(until) = paused {
            let secs = until.duration_since(now).as_secs() + 1;
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, HeaderValue::from(secs))],
                "too many wrong passwords: try again later",
            )
                .into_response();
        }
    }
    let given = basic_password(request.headers()).map(|p| digest(&p));
    let ok = given.is_some_and(|g| bool::from(g.ct_eq(expected.as_ref())));
    if ok {
        *app.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Failures::default();
        return next.run(request).await;
    }
    if given.is_some() {
        let mut failures = app
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        failures.count += 1;
        tracing::warn!(failures = failures.count, "admin API: wrong password");
        if failures.count >= FAILURES_ALLOWED {
            let doublings = (failures.count - FAILURES_ALLOWED).min(8);
            let pause = (Duration::from_secs(1) * 2u32.pow(doublings)).min(MAX_PAUSE);
            failures.paused_until = Some(now + pause);
        }
    }
    (
        StatusCode::UNAUTHORIZED,
        [(
            header::WWW_AUTHENTICATE,
            "Basic realm=\"phone-agent\", charset=\"UTF-8\"",
        )],
        "the admin password is required",
    )
        .into_response()
}

/// `phone-agent status`: the running agent's status from its API (a plain HTTP/1.1 GET).
pub fn fetch_status(addr: &str, password: Option<&str>) -> Result<Status> {
    use std::io::{Read, Write};
    let addr: SocketAddr = addr
        .parse()
        .with_context(|| format!("{addr}: expected IP:PORT"))?;
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3))
        .with_context(|| format!("no agent answers at {addr} (is `phone-agent run` running?)"))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let auth = password
        .map(|p| {
            format!(
                "Authorization: Basic {}\r\n",
                base64::engine::general_purpose::STANDARD.encode(format!("admin:{p}"))
            )
        })
        .unwrap_or_default();
    write!(
        stream,
        "GET /api/status HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow!("{addr}: not an HTTP response"))?;
    let code = head.split(' ').nth(1).unwrap_or("");
    if code != "200" {
        bail!("{addr}: {}", head.lines().next().unwrap_or(""));
    }
    serde_json::from_str(body)
        .with_context(|| format!("{addr}: the status is not the schema this version reads"))
}
