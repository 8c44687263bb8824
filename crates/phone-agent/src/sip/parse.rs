//! `phone-agent sip parse FILE`: is this captured message acceptable, and if not, where and why.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::json;
use sip_message::{Framing, Limits, Message};

/// 1-based line and column of a byte offset.
fn line_col(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = bytes.get(..offset.min(bytes.len())).unwrap_or_default();
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, col)
}

pub fn run(path: &Path, json: bool, stream: bool) -> Result<ExitCode> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let framing = if stream {
        Framing::Stream
    } else {
        Framing::Datagram
    };
    let outcome: Result<Message<'_>, (&str, String, usize)> =
        match Message::parse_with(&bytes, framing, &Limits::default()) {
            Ok(Some(m)) => match m.validate() {
                Ok(()) => Ok(m),
                Err(e) => Err(("validate", e.kind.to_string(), e.offset)),
            },
            Ok(None) => Err((
                "parse",
                "the message ends before its headers or Content-Length body".into(),
                bytes.len(),
            )),
            Err(e) => Err(("parse", e.kind.to_string(), e.offset)),
        };
    let file = path.display().to_string();
    match outcome {
        Ok(m) => {
            let what = match (m.method(), m.status()) {
                (Some(method), _) => format!("{method} request"),
                (None, Some(code)) => format!("{code} response"),
                _ => "message".into(),
            };
            if json {
                println!(
                    "{}",
                    json!({ "file": file, "ok": true, "message": what, "headers": m.headers().len(), "body_bytes": m.body().len() })
                );
            } else {
                println!(
                    "{file}: ok: {what}, {} header lines, {} body bytes",
                    m.headers().len(),
                    m.body().len()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err((stage, error, offset)) => {
            let (line, col) = line_col(&bytes, offset);
            if json {
                println!(
                    "{}",
                    json!({ "file": file, "ok": false, "stage": stage, "error": error, "offset": offset, "line": line, "column": col })
                );
            } else {
                println!("{file}:{line}:{col}: rejected ({stage}): {error} at byte {offset}");
            }
            Ok(ExitCode::from(1))
        }
    }
}
