//! Diagnostics through `tracing`: one subscriber for the process, on stderr (stdout is the
//! commands' output), as text or one JSON object per line, its level from `-v` flags.

use tracing::level_filters::LevelFilter;

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `2026-01-01T00:00:00Z  WARN target: message`.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `target`, `fields`).
    Json,
}

/// The level for a count of `-v` flags: warnings by default, then info, debug, trace.
pub fn level(verbose: u8) -> LevelFilter {
    match verbose {
        0 => LevelFilter::WARN,
        1 => LevelFilter::INFO,
        2 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    }
}

/// Installs the process's subscriber. A second call does nothing (the first one stays).
pub fn init(format: LogFormat, verbose: u8) {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level(verbose));
    let _ = match format {
        LogFormat::Text => builder.with_ansi(false).try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
