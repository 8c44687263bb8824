//! `phone-agent check` and `show`: a cfg.xml's diagnostics like a compiler's, and its
//! effective settings. The daemon's reload runs the same [`load`] and refuses a file whose
//! diagnostics hold an error.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use phone_config::{Diagnostic, Origin, Parsed, Severity};
use serde_json::{Value as Json, json};

/// A file's bytes, its diagnostics, fatal or not, and its settings when it parsed.
pub fn load(path: &Path) -> Result<(Vec<u8>, Vec<Diagnostic>, Option<Parsed>)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(match phone_config::parse(&bytes) {
        Ok(parsed) => (bytes, parsed.diagnostics.clone(), Some(parsed)),
        Err(e) => (bytes, vec![e.into_diagnostic()], None),
    })
}

/// `phone-agent check`: prints every file's diagnostics (or one JSON document); exit 0 clean,
/// 1 on warnings with `deny_warnings`, 2 on errors.
pub fn check(files: &[PathBuf], json: bool, deny_warnings: bool) -> Result<ExitCode> {
    let mut worst = None;
    let mut reports = Vec::new();
    let (mut notes, mut warnings, mut errors) = (0usize, 0usize, 0usize);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for path in files {
        let (source, diagnostics, _) = load(path)?;
        worst = worst.max(diagnostics.iter().map(|d| d.severity).max());
        for d in &diagnostics {
            match d.severity {
                Severity::Note => notes += 1,
                Severity::Warning => warnings += 1,
                Severity::Error => errors += 1,
            }
        }
        if json {
            reports.push(json!({
                "file": path.display().to_string(),
                "diagnostics": diagnostics.iter().map(diagnostic_json).collect::<Vec<_>>(),
            }));
        } else {
            for d in &diagnostics {
                write_diagnostic(&mut out, path, &source, d)?;
            }
        }
    }
    if json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&json!({ "files": reports }))?
        )?;
    } else {
        // The summary is the command's own output (on stderr, as a compiler's), not a log line.
        eprintln!(
            "phone-agent check: {} file(s): {errors} error(s), {warnings} warning(s), {notes} note(s)",
            files.len()
        );
    }
    Ok(match worst {
        Some(Severity::Error) => ExitCode::from(2),
        Some(Severity::Warning) if deny_warnings => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}

/// Characters of a source line shown under a diagnostic.
const SOURCE_WINDOW: usize = 100;

/// `file:line:col: severity[kind]: parameter: message`, the source line with a caret under the
/// column, then the hint.
pub fn write_diagnostic(out: &mut impl Write, path: &Path, source: &[u8], d: &Diagnostic) -> Result<()> {
    let file = path.display();
    match d.location {
        Some(l) => write!(out, "{file}:{}:{}: ", l.line, l.column)?,
        None => write!(out, "{file}: ")?,
    }
    write!(out, "{}[{}]: ", d.severity, d.kind.code())?;
    if let Some(p) = &d.parameter {
        write!(out, "{p}: ")?;
    }
    writeln!(out, "{}", d.message)?;
    if let Some(l) = d.location {
        let text = String::from_utf8_lossy(source);
        let line_no = usize::try_from(l.line).unwrap_or(usize::MAX);
        if let Some(line) = line_no.checked_sub(1).and_then(|i| text.lines().nth(i)) {
            let column = usize::try_from(l.column).unwrap_or(1).saturating_sub(1);
            // A long line (a hostile profile can be one 8 MiB line) is shown as a window around
            // the column, marked with `...` where it was cut.
            let start = column.saturating_sub(SOURCE_WINDOW / 2);
            let shown: String = line.chars().skip(start).take(SOURCE_WINDOW).collect();
            let cut_before = if start > 0 { "..." } else { "" };
            let cut_after = if line.chars().count() > start + SOURCE_WINDOW {
                "..."
            } else {
                ""
            };
            // Keep tabs so that the caret lines up under the same character.
            let pad: String = cut_before
                .chars()
                .chain(shown.chars().take(column - start))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let gutter = " ".repeat(l.line.to_string().len());
            writeln!(out, "{gutter} |")?;
            writeln!(out, "{} | {cut_before}{}{cut_after}", l.line, shown.trim_end())?;
            writeln!(out, "{gutter} | {pad}^")?;
        }
    }
    if let Some(h) = &d.hint {
        writeln!(out, "  = hint: {h}")?;
    }
    Ok(())
}

/// One diagnostic as JSON (`severity`, `kind`, `parameter`, `line`, `column`, `message`, `hint`).
pub fn diagnostic_json(d: &Diagnostic) -> Json {
    json!({
        "severity": d.severity.as_str(),
        "kind": d.kind.code(),
        "parameter": d.parameter,
        "line": d.line(),
        "column": d.column(),
        "message": d.message,
        "hint": d.hint,
    })
}

/// `phone-agent show`: the effective settings (the file's values over the defaults), secrets
/// redacted; exit 2 when the file does not parse or has errors.
pub fn show(path: &Path, json: bool) -> Result<ExitCode> {
    let (source, diagnostics, parsed) = load(path)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let Some(parsed) = parsed else {
        for d in &diagnostics {
            write_diagnostic(&mut std::io::stderr(), path, &source, d)?;
        }
        return Ok(ExitCode::from(2));
    };
    let entries = parsed.settings.entries();
    if json {
        let settings: serde_json::Map<String, Json> = entries
            .iter()
            .map(|e| {
                let (source, line) = match &e.origin {
                    Origin::Default => ("default", None),
                    Origin::File(l) => ("file", Some(l.line)),
                    Origin::Rejected { location, .. } => ("rejected", Some(location.line)),
                };
                let v = json!({ "value": e.value, "ua": e.access.map(|a| a.as_str()), "source": source, "line": line });
                (e.name.clone(), v)
            })
            .collect();
        let unknown: Vec<Json> = parsed
            .settings
            .unknown
            .iter()
            .map(|u| json!({ "name": u.name, "value": u.value, "ua": u.access.map(|a| a.as_str()), "line": u.location.line }))
            .collect();
        let doc = json!({ "file": path.display().to_string(), "settings": settings, "unknown": unknown });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    } else {
        let width = entries.iter().map(|e| e.name.len()).max().unwrap_or(0);
        for e in &entries {
            let ua = e.access.map_or("  ", |a| a.as_str());
            let source = match &e.origin {
                Origin::Default => "default".to_owned(),
                Origin::File(l) => format!("line {}", l.line),
                Origin::Rejected { location, .. } => format!("line {} rejected: default used", location.line),
            };
            writeln!(out, "{:width$}  {ua}  {:<40}  ({source})", e.name, e.value)?;
        }
        for u in &parsed.settings.unknown {
            let ua = u.access.map_or("  ", |a| a.as_str());
            writeln!(
                out,
                "{:width$}  {ua}  {:<40}  (line {}, unknown parameter)",
                u.name, u.value, u.location.line
            )?;
        }
    }
    Ok(if parsed.has_errors() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
