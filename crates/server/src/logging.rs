//! Log lines in Redis's format: `pid:role dd Mon yyyy hh:mm:ss.mmm <level> message`.
//!
//! The rest of the server logs through `tracing`; its levels map onto
//! Redis's: `warn`/`error` → warning (`#`), `info` → notice (`*`),
//! `debug` → verbose (`-`), `trace` → debug (`.`).

use std::fmt;
use std::fs::OpenOptions;
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

/// Redis's `loglevel` values, most verbose first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum LogLevel {
    /// `debug`
    Debug = 0,
    /// `verbose`
    Verbose = 1,
    /// `notice`
    Notice = 2,
    /// `warning`
    Warning = 3,
    /// `nothing`
    Nothing = 4,
}

impl LogLevel {
    /// Parses a `loglevel` value.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "debug" => LogLevel::Debug,
            "verbose" => LogLevel::Verbose,
            "notice" => LogLevel::Notice,
            "warning" => LogLevel::Warning,
            "nothing" => LogLevel::Nothing,
            _ => return None,
        })
    }

    fn of(level: &Level) -> Self {
        match *level {
            Level::ERROR | Level::WARN => LogLevel::Warning,
            Level::INFO => LogLevel::Notice,
            Level::DEBUG => LogLevel::Verbose,
            Level::TRACE => LogLevel::Debug,
        }
    }

    fn symbol(self) -> char {
        match self {
            LogLevel::Debug => '.',
            LogLevel::Verbose => '-',
            LogLevel::Notice => '*',
            LogLevel::Warning | LogLevel::Nothing => '#',
        }
    }
}

static LEVEL: AtomicU8 = AtomicU8::new(LogLevel::Notice as u8);
static ROLE: AtomicU8 = AtomicU8::new(b'M');

/// Changes the minimum level logged (CONFIG SET loglevel).
pub fn set_level(level: LogLevel) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// Sets the role letter printed after the pid: `M` master, `S` replica,
/// `C` a snapshotting child.
pub fn set_role(role: u8) {
    ROLE.store(role, Ordering::Relaxed);
}

fn enabled(level: &Level) -> bool {
    LogLevel::of(level) as u8 >= LEVEL.load(Ordering::Relaxed)
        && LEVEL.load(Ordering::Relaxed) != LogLevel::Nothing as u8
}

struct RedisFormat;

impl<S, N> FormatEvent<S, N> for RedisFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let now = chrono::Local::now();
        write!(
            writer,
            "{}:{} {} {} ",
            std::process::id(),
            ROLE.load(Ordering::Relaxed) as char,
            now.format("%d %b %Y %H:%M:%S%.3f"),
            LogLevel::of(event.metadata().level()).symbol()
        )?;
        ctx.format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Where log lines go.
#[derive(Clone)]
enum Sink {
    Stdout,
    File(Arc<Mutex<std::fs::File>>),
}

struct SinkWriter(Sink);

impl Write for SinkWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &self.0 {
            Sink::Stdout => std::io::stdout().write(buf),
            Sink::File(f) => match f.lock() {
                Ok(mut f) => f.write(buf),
                Err(_) => Ok(buf.len()),
            },
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match &self.0 {
            Sink::Stdout => std::io::stdout().flush(),
            Sink::File(_) => Ok(()),
        }
    }
}

impl<'a> MakeWriter<'a> for Sink {
    type Writer = SinkWriter;
    fn make_writer(&'a self) -> Self::Writer {
        SinkWriter(self.clone())
    }
}

/// Installs the logger. `logfile` empty means standard output, as in Redis.
pub fn init(level: LogLevel, logfile: &str) -> anyhow::Result<()> {
    set_level(level);
    let sink = if logfile.is_empty() {
        Sink::Stdout
    } else {
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(logfile)
            .map_err(|e| anyhow::anyhow!("Can't open the log file: {e}"))?;
        Sink::File(Arc::new(Mutex::new(f)))
    };
    let subscriber = tracing_subscriber::fmt()
        .event_format(RedisFormat)
        .with_writer(sink)
        .with_max_level(Level::TRACE)
        .finish();
    use tracing_subscriber::layer::SubscriberExt;
    let filtered = subscriber.with(tracing_subscriber::filter::filter_fn(|m| {
        enabled(m.level())
    }));
    tracing::subscriber::set_global_default(filtered)
        .map_err(|e| anyhow::anyhow!("logger already installed: {e}"))?;
    Ok(())
}
