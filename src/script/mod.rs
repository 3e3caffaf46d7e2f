//! The embedded script engine (QuickJS through `rquickjs`) shared by reducers and upcasters.
//!
//! A [`Sandbox`] is one QuickJS runtime and context with:
//! - no file, network or process access (`Context::full` defines no `require`, `fetch`,
//!   `std`, `os`, `print` or `console`; we add nothing that reaches outside);
//! - a time budget per call, enforced by the interrupt handler (a runaway loop is stopped);
//! - a memory limit and a stack limit (deep recursion becomes a JS `InternalError`, not a
//!   crash of the host thread);
//! - cancellation: the job's [`crate::core::cancel`] token is checked by the same handler.
//!
//! Values cross the boundary as JSON text (`JSON.parse` / `JSON.stringify` inside the
//! engine), so there is no recursion on the Rust side however deep a value is.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rquickjs::{CaughtError, Context, Ctx, Runtime};

use crate::core::event::Event;

/// Limits a sandbox runs under.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Wall-clock budget of one call into the script (one event, one `$init`, loading the file).
    pub call_budget: Duration,
    /// Memory limit of the runtime, bytes.
    pub memory_bytes: usize,
    /// Stack limit of the runtime, bytes (must be well below the host thread's stack).
    pub max_stack_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            call_budget: Duration::from_millis(250),
            memory_bytes: 512 * 1024 * 1024,
            max_stack_bytes: 256 * 1024,
        }
    }
}

/// Why a script call failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    /// The script file does not compile or its top level throws.
    #[error("{file}: {message}")]
    Load {
        /// File name shown to the user.
        file: String,
        /// Engine message (with line where QuickJS gives one).
        message: String,
    },
    /// The call ran longer than its budget and was stopped.
    #[error(
        "stopped after {budget_ms} ms (time budget per call exceeded; a loop that never ends?)"
    )]
    Timeout {
        /// The budget in milliseconds.
        budget_ms: u64,
    },
    /// The job was cancelled while the script ran.
    #[error("cancelled")]
    Cancelled,
    /// The script threw.
    #[error("{message}")]
    Exception {
        /// `name: message` of the thrown value.
        message: String,
        /// The JS stack, when there is one.
        stack: Option<String>,
    },
    /// The runtime ran out of its memory limit.
    #[error("out of memory (limit {limit_mib} MiB)")]
    OutOfMemory {
        /// The limit in MiB.
        limit_mib: usize,
    },
    /// The script returned something that is not usable (e.g. not JSON-serialisable).
    #[error("{0}")]
    BadValue(String),
    /// The engine itself failed.
    #[error("script engine: {0}")]
    Engine(String),
}

const NO_DEADLINE: u64 = u64::MAX;
const STOP_NONE: u8 = 0;
const STOP_TIMEOUT: u8 = 1;
const STOP_CANCEL: u8 = 2;

/// One sandboxed QuickJS runtime + context.
pub struct Sandbox {
    // Field order matters: the context must drop before its runtime.
    context: Context,
    runtime: Runtime,
    limits: Limits,
    base: Instant,
    /// Deadline of the running call, nanoseconds since `base` (`NO_DEADLINE` when idle).
    deadline: Arc<AtomicU64>,
    /// Why the interrupt handler stopped the last call.
    stopped: Arc<AtomicU8>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// A fresh sandbox.
    ///
    /// # Errors
    /// When the engine cannot be created.
    pub fn new(limits: Limits) -> Result<Self, ScriptError> {
        let runtime = Runtime::new().map_err(|e| ScriptError::Engine(e.to_string()))?;
        runtime.set_memory_limit(limits.memory_bytes);
        runtime.set_max_stack_size(limits.max_stack_bytes);
        let base = Instant::now();
        let deadline = Arc::new(AtomicU64::new(NO_DEADLINE));
        let stopped = Arc::new(AtomicU8::new(STOP_NONE));
        {
            let deadline = Arc::clone(&deadline);
            let stopped = Arc::clone(&stopped);
            runtime.set_interrupt_handler(Some(Box::new(move || {
                let limit = deadline.load(Ordering::Relaxed);
                if limit == NO_DEADLINE {
                    return false;
                }
                // The handler runs on the calling thread: the current job's token.
                if crate::core::cancel::current().is_some_and(|t| t.is_cancelled()) {
                    stopped.store(STOP_CANCEL, Ordering::Relaxed);
                    return true;
                }
                let now = u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX - 1);
                if now > limit {
                    stopped.store(STOP_TIMEOUT, Ordering::Relaxed);
                    return true;
                }
                false
            })));
        }
        let context = Context::full(&runtime).map_err(|e| ScriptError::Engine(e.to_string()))?;
        Ok(Self {
            context,
            runtime,
            limits,
            base,
            deadline,
            stopped,
        })
    }

    /// The limits this sandbox runs under.
    #[must_use]
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Evaluates a script file's top level (under the call budget).
    ///
    /// # Errors
    /// [`ScriptError::Load`] with the engine's message when it does not compile or throws.
    pub fn load(&self, file: &str, source: &str) -> Result<(), ScriptError> {
        let file_name = file.to_owned();
        let source = source.to_owned();
        self.call(|ctx| {
            let mut options = rquickjs::context::EvalOptions::default();
            options.strict = false;
            options.filename = Some(file_name.clone());
            ctx.eval_with_options::<(), _>(source, options)
        })
        .map_err(|e| match e {
            ScriptError::Exception { message, stack } => ScriptError::Load {
                file: file.to_owned(),
                message: match stack {
                    Some(stack) if !stack.trim().is_empty() => {
                        format!("{message}\n{}", stack.trim_end())
                    }
                    _ => message,
                },
            },
            other => other,
        })
    }

    /// Runs `f` inside the context under the call budget, mapping JS exceptions, time-outs,
    /// cancellation and out-of-memory to [`ScriptError`].
    ///
    /// # Errors
    /// See [`ScriptError`].
    pub fn call<R>(
        &self,
        f: impl for<'js> FnOnce(&Ctx<'js>) -> rquickjs::Result<R>,
    ) -> Result<R, ScriptError> {
        if crate::core::cancel::current().is_some_and(|t| t.is_cancelled()) {
            return Err(ScriptError::Cancelled);
        }
        let budget = u64::try_from(self.limits.call_budget.as_nanos()).unwrap_or(u64::MAX / 2);
        let now = u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(0);
        self.stopped.store(STOP_NONE, Ordering::Relaxed);
        self.deadline
            .store(now.saturating_add(budget), Ordering::Relaxed);
        let result = self.context.with(|ctx| match f(&ctx) {
            Ok(value) => Ok(value),
            Err(error) => Err(self.describe(&ctx, error)),
        });
        self.deadline.store(NO_DEADLINE, Ordering::Relaxed);
        result
    }

    fn describe(&self, ctx: &Ctx<'_>, error: rquickjs::Error) -> ScriptError {
        match self.stopped.swap(STOP_NONE, Ordering::Relaxed) {
            STOP_TIMEOUT => {
                // Clear the pending "interrupted" exception.
                let _ = ctx.catch();
                return ScriptError::Timeout {
                    budget_ms: u64::try_from(self.limits.call_budget.as_millis()).unwrap_or(0),
                };
            }
            STOP_CANCEL => {
                let _ = ctx.catch();
                return ScriptError::Cancelled;
            }
            _ => {}
        }
        match CaughtError::from_error(ctx, error) {
            CaughtError::Exception(exception) => {
                let message = exception.message().unwrap_or_default();
                let name: Option<String> = exception.get("name").ok();
                let message = match name {
                    Some(name) if !name.is_empty() => format!("{name}: {message}"),
                    _ => message,
                };
                if message.contains("out of memory") {
                    return ScriptError::OutOfMemory {
                        limit_mib: self.limits.memory_bytes / (1024 * 1024),
                    };
                }
                ScriptError::Exception {
                    message,
                    stack: exception.stack(),
                }
            }
            CaughtError::Value(value) => {
                let text = ctx
                    .json_stringify(value.clone())
                    .ok()
                    .flatten()
                    .and_then(|s| s.to_string().ok())
                    .or_else(|| value.as_string().and_then(|s| s.to_string().ok()))
                    .unwrap_or_else(|| format!("{:?}", value.type_of()));
                ScriptError::Exception {
                    message: format!("uncaught {text}"),
                    stack: None,
                }
            }
            CaughtError::Error(rquickjs::Error::Allocation) => ScriptError::OutOfMemory {
                limit_mib: self.limits.memory_bytes / (1024 * 1024),
            },
            CaughtError::Error(other) => ScriptError::Engine(other.to_string()),
        }
    }

    /// Frees unreachable objects (between large jobs).
    pub fn collect_garbage(&self) {
        self.runtime.run_gc();
    }
}

/// The `event` object handed to scripts, as JSON text: `type` is the shown type and
/// `storedType` the type as the store keeps it (the same for most stores; the topic
/// `module:Class.Event` for Python `eventsourcing`). The engine-side prelude adds the
/// aliases (`eventType`, `body`, `sequenceNumber`).
///
/// A payload or metadata stored as plain JSON whose numbers are all integers is written
/// through as stored (checked by the same parser, without building a value): the engine
/// parses it anyway, and it reads the same values from the stored text as from a
/// re-serialised parse. Anything else (floats, which the parse could round differently;
/// library typed values; bytes) goes through the parsed value as before.
#[must_use]
pub fn event_json(event: &Event) -> String {
    let data = exact_json_text(event.payload.plain_json_bytes());
    let metadata = exact_json_text(event.metadata.plain_json_bytes());
    match (data, metadata) {
        (Some(data), Some(metadata)) => {
            write_event_json(event, data, metadata).unwrap_or_else(|| event_json_parsed(event))
        }
        (Some(data), None) if event.metadata.is_empty() => {
            write_event_json(event, data, "null").unwrap_or_else(|| event_json_parsed(event))
        }
        _ => event_json_parsed(event),
    }
}

/// Stored JSON text that can be handed on as it is: valid JSON (the same parser as
/// [`crate::core::event::Payload::as_json`]) with no number that parses as a float.
fn exact_json_text(bytes: Option<&[u8]>) -> Option<&str> {
    let text = std::str::from_utf8(bytes?).ok()?;
    match serde_json::from_str::<exact::ExactJson>(text) {
        Ok(exact::ExactJson(true)) => Some(text),
        _ => None,
    }
}

/// The event object with `data` and `metadata` as given (JSON text), other fields as
/// `event_json_parsed` writes them, in the same order.
fn write_event_json(event: &Event, data: &str, metadata: &str) -> Option<String> {
    let mut out: Vec<u8> = Vec::with_capacity(data.len() + metadata.len() + 256);
    let field = |out: &mut Vec<u8>, name: &str, value: &dyn erased::Json| -> Option<()> {
        out.extend_from_slice(name.as_bytes());
        value.write(out)
    };
    field(&mut out, "{\"type\":", &event.event_type.as_str())?;
    field(&mut out, ",\"storedType\":", &event.stored_type())?;
    out.extend_from_slice(b",\"data\":");
    out.extend_from_slice(data.as_bytes());
    out.extend_from_slice(b",\"metadata\":");
    out.extend_from_slice(metadata.as_bytes());
    field(&mut out, ",\"streamId\":", &event.stream_id.as_str())?;
    field(&mut out, ",\"version\":", &event.stream_version)?;
    field(&mut out, ",\"position\":", &event.global_position)?;
    let recorded_at = event.recorded_at.map(crate::core::time::format_rfc3339);
    field(&mut out, ",\"recordedAt\":", &recorded_at.as_deref())?;
    field(&mut out, ",\"eventId\":", &event.event_id.as_deref())?;
    field(&mut out, ",\"schemaVersion\":", &event.schema_version)?;
    field(
        &mut out,
        ",\"correlationId\":",
        &event.correlation_id.as_deref(),
    )?;
    field(
        &mut out,
        ",\"causationId\":",
        &event.causation_id.as_deref(),
    )?;
    out.push(b'}');
    String::from_utf8(out).ok()
}

mod erased {
    /// A value written as JSON into a buffer.
    pub(super) trait Json {
        fn write(&self, out: &mut Vec<u8>) -> Option<()>;
    }

    impl<T: serde::Serialize> Json for T {
        fn write(&self, out: &mut Vec<u8>) -> Option<()> {
            serde_json::to_writer(out, self).ok()
        }
    }
}

mod exact {
    use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

    /// Parses JSON without building it; `true` when no number in it is a float.
    pub(super) struct ExactJson(pub(super) bool);

    impl<'de> Deserialize<'de> for ExactJson {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(ExactVisitor)
        }
    }

    struct ExactVisitor;

    impl<'de> Visitor<'de> for ExactVisitor {
        type Value = ExactJson;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("any JSON value")
        }

        fn visit_bool<E>(self, _: bool) -> Result<ExactJson, E> {
            Ok(ExactJson(true))
        }

        fn visit_i64<E>(self, _: i64) -> Result<ExactJson, E> {
            Ok(ExactJson(true))
        }

        fn visit_u64<E>(self, _: u64) -> Result<ExactJson, E> {
            Ok(ExactJson(true))
        }

        fn visit_f64<E>(self, _: f64) -> Result<ExactJson, E> {
            Ok(ExactJson(false))
        }

        fn visit_str<E>(self, _: &str) -> Result<ExactJson, E> {
            Ok(ExactJson(true))
        }

        fn visit_unit<E>(self) -> Result<ExactJson, E> {
            Ok(ExactJson(true))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ExactJson, A::Error> {
            let mut exact = true;
            while let Some(ExactJson(item)) = seq.next_element()? {
                exact &= item;
            }
            Ok(ExactJson(exact))
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ExactJson, A::Error> {
            let mut exact = true;
            while let Some((ExactJson(_), ExactJson(value))) = map.next_entry()? {
                exact &= value;
            }
            Ok(ExactJson(exact))
        }
    }
}

/// [`event_json`] through the parsed payload and metadata: the reference form the fast
/// path must equal (public for tests and benchmarks).
#[must_use]
pub fn event_json_parsed(event: &Event) -> String {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct EventOut<'a> {
        #[serde(rename = "type")]
        event_type: &'a str,
        stored_type: &'a str,
        data: &'a serde_json::Value,
        metadata: &'a serde_json::Value,
        stream_id: &'a str,
        version: u64,
        position: u64,
        recorded_at: Option<String>,
        event_id: Option<&'a str>,
        schema_version: Option<u32>,
        correlation_id: Option<&'a str>,
        causation_id: Option<&'a str>,
    }
    let null = serde_json::Value::Null;
    let data_owned;
    let data = match event.payload.as_json() {
        Some(value) => value,
        None => {
            data_owned = event.payload.to_json();
            &data_owned
        }
    };
    let metadata = event.metadata.as_json().unwrap_or(&null);
    let out = EventOut {
        event_type: &event.event_type,
        stored_type: event.stored_type(),
        data,
        metadata,
        stream_id: &event.stream_id,
        version: event.stream_version,
        position: event.global_position,
        recorded_at: event.recorded_at.map(crate::core::time::format_rfc3339),
        event_id: event.event_id.as_deref(),
        schema_version: event.schema_version,
        correlation_id: event.correlation_id.as_deref(),
        causation_id: event.causation_id.as_deref(),
    };
    serde_json::to_string(&out).unwrap_or_else(|_| "null".to_owned())
}

/// A short description of an event for error messages: `#position stream@version (type)`.
#[must_use]
pub fn describe_event(event: &Event) -> String {
    format!(
        "event #{} {}@{} ({})",
        event.global_position, event.stream_id, event.stream_version, event.event_type
    )
}

/// JS prelude defining the `event` aliases helper used by reducers and upcasters.
pub const EVENT_PRELUDE: &str = r"
function __esEvent(json) {
  const ev = JSON.parse(json);
  ev.eventType = ev.type;
  ev.body = ev.data;
  ev.sequenceNumber = ev.version;
  return ev;
}
";

#[cfg(test)]
mod tests;
