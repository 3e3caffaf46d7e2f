//! Upcaster files in JavaScript and the chains they define (core layer, no GUI).
//! (Over 600 lines: registering steps, version rules, chains and running them share one script engine and its value conversions.)
//!
//! ```js
//! upcast("OrderPlaced", 1, 2, (event) => {
//!   event.data.totalCents = Math.round(parseFloat(event.data.total) * 100);
//!   delete event.data.total;
//!   return event;
//! });
//! ```
//!
//! Each call registers one step. A step gets the `event` object reducers get (`type`, `data`,
//! `metadata`, `streamId`, `version`, `position`, `recordedAt`, `eventId`, `schemaVersion`,
//! …) and returns the event it becomes; it may change `type`, `data` and `metadata`. For an
//! event stored at version v, the steps v→…→latest of its (stored) type run in version
//! order, in one call under the sandbox's time budget. A step that throws, returns
//! something that is not an object, or returns an object without a `type` fails the event
//! at that step; a runaway loop is stopped by the time budget and reported the same way.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::core::event::Event;
use crate::script::{EVENT_PRELUDE, Limits, Sandbox, ScriptError};
use crate::upcast::version::{VersionRules, Versioned, detect, split_type_suffix};

const PRELUDE: &str = r#"
var __up = { steps: [], current: -1 };
function upcast(type, from, to, fn) {
  if (typeof type !== "string" || type === "") { throw new TypeError("upcast(eventType, fromVersion, toVersion, fn): eventType must be a non-empty string"); }
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to < 0) { throw new TypeError("upcast(" + JSON.stringify(type) + ", …): versions must be whole numbers"); }
  if (to <= from) { throw new RangeError("upcast(" + JSON.stringify(type) + ", " + from + ", " + to + "): toVersion must be greater than fromVersion"); }
  if (typeof fn !== "function") { throw new TypeError("upcast(" + JSON.stringify(type) + ", " + from + ", " + to + ", fn): fn must be a function"); }
  __up.steps.push({ type: type, from: from, to: to, fn: fn });
}
function __upList() {
  return JSON.stringify(__up.steps.map(function (s) { return [s.type, s.from, s.to]; }));
}
function __upRun(json, ids, keep) {
  let ev = __esEvent(json);
  const out = [];
  for (let i = 0; i < ids.length; i++) {
    __up.current = i;
    const step = __up.steps[ids[i]];
    ev.schemaVersion = step.from;
    let r;
    try {
      r = step.fn(ev);
    } catch (e) {
      const name = (e && e.name) ? e.name + ": " : "";
      const message = (e && e.message !== undefined) ? e.message : String(e);
      return JSON.stringify({ steps: out, fail: { at: i, kind: "exception", message: name + message, stack: (e && e.stack) ? String(e.stack) : null } });
    }
    if (r === null || typeof r !== "object" || Array.isArray(r)) {
      const what = r === null ? "null" : Array.isArray(r) ? "an array" : typeof r;
      return JSON.stringify({ steps: out, fail: { at: i, kind: "not_object", message: "returned " + what + ", not an event object (did the function forget `return event`?)" } });
    }
    if (typeof r.type !== "string" || r.type === "") {
      return JSON.stringify({ steps: out, fail: { at: i, kind: "missing_type", message: "the returned event has no `type` (a non-empty string)" } });
    }
    const data = r.data === undefined ? r.body : r.data;
    const slim = { type: r.type, data: data === undefined ? null : data, metadata: r.metadata === undefined ? null : r.metadata };
    if (keep || i === ids.length - 1) {
      const text = JSON.stringify(slim);
      if (text === undefined) {
        return JSON.stringify({ steps: out, fail: { at: i, kind: "not_object", message: "the returned event cannot be written as JSON" } });
      }
      out.push(text);
    }
    ev = r;
    ev.eventType = r.type;
    ev.data = slim.data;
    ev.body = slim.data;
    ev.metadata = slim.metadata;
  }
  __up.current = -1;
  return JSON.stringify({ steps: out, fail: null });
}
"#;

/// One registered step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StepInfo {
    /// The event type it applies to (suffix stripped).
    pub event_type: String,
    /// From version.
    pub from: u32,
    /// To version.
    pub to: u32,
}

/// Why an upcast failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// A step threw.
    Exception,
    /// A step returned something that is not an object.
    NotObject,
    /// A step returned an object without a `type`.
    MissingType,
    /// A step ran past the time budget (a loop that never ends?).
    Timeout,
    /// The engine ran out of memory.
    OutOfMemory,
    /// The stored version is older than the latest but no step starts at it.
    NoUpcaster,
    /// Anything else the engine reported.
    Engine,
}

impl FailureKind {
    /// Label for views.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Exception => "exception",
            Self::NotObject => "not an object",
            Self::MissingType => "missing type",
            Self::Timeout => "time-out",
            Self::OutOfMemory => "out of memory",
            Self::NoUpcaster => "no upcaster",
            Self::Engine => "engine error",
        }
    }
}

/// A failed upcast, at the step that failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UpcastFailure {
    /// What went wrong.
    pub kind: FailureKind,
    /// Index of the failing step in the chain (0 = the first step).
    pub step: usize,
    /// From → to of that step.
    pub from: u32,
    /// To version of that step.
    pub to: u32,
    /// Message (exception text, …).
    pub message: String,
}

/// An event as upcasters see and return it: the parts a step may change.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UpcastedEvent {
    /// Type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Payload.
    pub data: Value,
    /// Metadata.
    pub metadata: Value,
}

impl UpcastedEvent {
    /// The stored form of an event.
    #[must_use]
    pub fn stored(event: &Event) -> Self {
        Self {
            event_type: event.event_type.clone(),
            data: event.payload.to_json(),
            metadata: event.metadata.to_json(),
        }
    }

    /// As one JSON object `{type, data, metadata}` (for diffs and views).
    #[must_use]
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "type": self.event_type,
            "data": self.data,
            "metadata": self.metadata,
        })
    }
}

/// The result of running an event through its chain.
#[derive(Clone, Debug, PartialEq)]
pub struct UpcastRun {
    /// Type and version as stored.
    pub stored: Versioned,
    /// The chain's steps, in order (empty when the event is already at the latest version
    /// or its type has no upcasters).
    pub chain: Vec<StepInfo>,
    /// Output of each step that succeeded (all of them when kept; otherwise only the last).
    pub outputs: Vec<UpcastedEvent>,
    /// The failure, when one step failed.
    pub failure: Option<UpcastFailure>,
    /// The version the event ends at (the latest registered one on success).
    pub final_version: u32,
}

impl UpcastRun {
    /// Whether any step ran or should have run.
    #[must_use]
    pub fn needed(&self) -> bool {
        !self.chain.is_empty() || self.failure.is_some()
    }
}

/// Errors loading upcaster files.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The script does not compile or its top level throws.
    #[error("{0}")]
    Script(String),
    /// Two steps start at the same version of the same type.
    #[error(
        "{file}: two upcasters for {event_type} from version {from} (to {first_to} and to {second_to}); a chain needs exactly one step per version"
    )]
    Duplicate {
        /// The file with the second one.
        file: String,
        /// Type.
        event_type: String,
        /// From version.
        from: u32,
        /// To of the first.
        first_to: u32,
        /// To of the second.
        second_to: u32,
    },
}

/// A source file of upcasters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpcasterSource {
    /// Label (path) shown in messages.
    pub label: String,
    /// Script text.
    pub text: String,
}

/// Loaded upcasters: one sandbox with every file's steps, and the chains they form.
pub struct Upcasters {
    sandbox: Sandbox,
    /// Steps by type, then by from-version: (index in registration order, info).
    steps: BTreeMap<String, BTreeMap<u32, (usize, StepInfo)>>,
    rules: VersionRules,
    labels: Vec<String>,
}

impl std::fmt::Debug for Upcasters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upcasters")
            .field("files", &self.labels)
            .field("steps", &self.steps)
            .finish_non_exhaustive()
    }
}

/// Default time budget per event (the whole chain).
pub const DEFAULT_BUDGET: Duration = Duration::from_millis(250);

impl Upcasters {
    /// Compiles upcaster files (in order) with a time budget per event.
    ///
    /// # Errors
    /// When a file does not compile, throws at top level, registers a bad step, or two
    /// steps start at the same version of a type.
    pub fn new(
        sources: &[UpcasterSource],
        rules: VersionRules,
        budget: Duration,
    ) -> Result<Self, LoadError> {
        let limits = Limits {
            call_budget: budget,
            ..Limits::default()
        };
        let sandbox = Sandbox::new(limits).map_err(|e| LoadError::Script(e.to_string()))?;
        let err = |e: ScriptError| LoadError::Script(e.to_string());
        sandbox
            .load("eventscope-prelude.js", EVENT_PRELUDE)
            .map_err(err)?;
        sandbox
            .load("eventscope-upcast-prelude.js", PRELUDE)
            .map_err(err)?;
        let mut steps: BTreeMap<String, BTreeMap<u32, (usize, StepInfo)>> = BTreeMap::new();
        let mut seen = 0usize;
        for source in sources {
            sandbox.load(&source.label, &source.text).map_err(err)?;
            let list = sandbox
                .call(|ctx| {
                    let f: rquickjs::Function<'_> = ctx.globals().get("__upList")?;
                    f.call::<_, String>(())
                })
                .map_err(err)?;
            let all: Vec<(String, u32, u32)> = serde_json::from_str(&list)
                .map_err(|e| LoadError::Script(format!("{}: {e}", source.label)))?;
            for (index, (event_type, from, to)) in all.into_iter().enumerate().skip(seen) {
                let key = split_type_suffix(&event_type).0.to_owned();
                let by_from = steps.entry(key.clone()).or_default();
                if let Some((_, first)) = by_from.get(&from) {
                    return Err(LoadError::Duplicate {
                        file: source.label.clone(),
                        event_type: key,
                        from,
                        first_to: first.to,
                        second_to: to,
                    });
                }
                by_from.insert(
                    from,
                    (
                        index,
                        StepInfo {
                            event_type: key,
                            from,
                            to,
                        },
                    ),
                );
                seen = index + 1;
            }
        }
        Ok(Self {
            sandbox,
            steps,
            rules,
            labels: sources.iter().map(|s| s.label.clone()).collect(),
        })
    }

    /// The version rules in force.
    #[must_use]
    pub fn rules(&self) -> &VersionRules {
        &self.rules
    }

    /// Every registered step, by type then from-version.
    #[must_use]
    pub fn steps(&self) -> Vec<StepInfo> {
        self.steps
            .values()
            .flat_map(|by_from| by_from.values().map(|(_, info)| info.clone()))
            .collect()
    }

    /// Types that have upcasters.
    #[must_use]
    pub fn types(&self) -> Vec<String> {
        self.steps.keys().cloned().collect()
    }

    /// The type under which `event`'s steps are registered: its base type as shown
    /// (`base_type`, from [`detect`]) when steps are registered under it, else the base of
    /// the type as stored (Python `eventsourcing` topics `module:Class.Event`) when steps
    /// are registered under that, else `base_type`. An `upcast(type, …)` call may name
    /// either form.
    #[must_use]
    pub fn steps_key<'a>(&self, event: &'a Event, base_type: &'a str) -> &'a str {
        if self.steps.contains_key(base_type) {
            return base_type;
        }
        let Some(stored) = event.stored_type.as_deref() else {
            return base_type;
        };
        let stored_base = crate::upcast::version::base_type(stored, &self.rules);
        if self.steps.contains_key(stored_base) {
            stored_base
        } else {
            base_type
        }
    }

    /// Warnings for registered types that match no event type of the store, in either form
    /// (version suffixes stripped as the rules say), naming the closest stored types; what
    /// the window shows and the CLI prints on stderr after loading upcasters.
    #[must_use]
    pub fn type_warnings(&self, known: &[crate::core::event::EventTypeName]) -> Vec<String> {
        let bases: Vec<crate::core::event::EventTypeName> = known
            .iter()
            .map(|t| crate::core::event::EventTypeName {
                shown: crate::upcast::version::base_type(&t.shown, &self.rules).to_owned(),
                stored: crate::upcast::version::base_type(&t.stored, &self.rules).to_owned(),
            })
            .collect();
        let names = self.types();
        crate::core::type_names::unknown_type_warnings(
            &self.labels.join(", "),
            "upcaster",
            &names,
            &bases,
        )
    }

    /// The latest version a type's upcasters reach (`None`: no upcasters for it).
    #[must_use]
    pub fn latest(&self, base_type: &str) -> Option<u32> {
        self.steps
            .get(base_type)?
            .values()
            .map(|(_, info)| info.to)
            .max()
    }

    /// The chain from `version` of `base_type`, in version order: step indices and infos.
    /// Stops where no step starts at the current version.
    #[must_use]
    pub fn chain(&self, base_type: &str, version: u32) -> Vec<(usize, StepInfo)> {
        let mut out = Vec::new();
        let Some(by_from) = self.steps.get(base_type) else {
            return out;
        };
        let mut current = version;
        // Versions strictly increase along a chain, so this ends.
        while let Some((index, info)) = by_from.get(&current) {
            out.push((*index, info.clone()));
            current = info.to;
        }
        out
    }

    /// Runs one event through its chain. `keep_steps` keeps every step's output (for the
    /// side-by-side view); otherwise only the final one.
    ///
    /// # Errors
    /// Only [`ScriptError::Cancelled`] (the job was cancelled); every other failure is part
    /// of the returned run.
    pub fn run(&self, event: &Event, keep_steps: bool) -> Result<UpcastRun, ScriptError> {
        let stored = detect(event, &self.rules);
        let key = self.steps_key(event, &stored.base_type).to_owned();
        let latest = self.latest(&key);
        let chain = self.chain(&key, stored.version);
        let mut run = UpcastRun {
            final_version: stored.version,
            stored,
            chain: chain.iter().map(|(_, info)| info.clone()).collect(),
            outputs: Vec::new(),
            failure: None,
        };
        let reached = chain.last().map_or(run.stored.version, |(_, s)| s.to);
        if let Some(latest) = latest
            && reached < latest
        {
            // A gap: the chain cannot reach the latest version from here.
            run.failure = Some(UpcastFailure {
                kind: FailureKind::NoUpcaster,
                step: chain.len(),
                from: reached,
                to: latest,
                message: format!(
                    "no upcaster for {} from version {reached} (the latest is {latest})",
                    run.stored.base_type
                ),
            });
            if chain.is_empty() {
                return Ok(run);
            }
        }
        if chain.is_empty() {
            return Ok(run);
        }
        let ids: Vec<i32> = chain
            .iter()
            .map(|(i, _)| i32::try_from(*i).unwrap_or(i32::MAX))
            .collect();
        let failure = if keep_steps {
            // One call per step: every step gets its own time budget, and the steps before
            // a failing one are still shown.
            let mut failure = None;
            let mut current = event.clone();
            for (at, id) in ids.iter().enumerate() {
                let json = crate::script::event_json(&current);
                let (mut outputs, fail) = self.call_chain(json, &[*id], true)?;
                if let Some((_, kind, message)) = fail {
                    failure = Some((at, kind, message));
                    break;
                }
                let Some(output) = outputs.pop() else { break };
                current.event_type.clone_from(&output.event_type);
                current.payload = crate::core::event::Payload::from_json(output.data.clone());
                current.metadata = crate::core::event::Payload::from_json(output.metadata.clone());
                current.schema_version = Some(chain[at].1.to);
                run.outputs.push(output);
            }
            failure
        } else {
            let json = crate::script::event_json(event);
            let (outputs, fail) = self.call_chain(json, &ids, false)?;
            run.outputs = outputs;
            fail
        };
        match failure {
            Some((at, kind, message)) => {
                let at = at.min(chain.len() - 1);
                run.failure = Some(UpcastFailure {
                    kind,
                    step: at,
                    from: chain[at].1.from,
                    to: chain[at].1.to,
                    message,
                });
                run.final_version = chain[at].1.from;
            }
            None => run.final_version = reached,
        }
        Ok(run)
    }

    /// Runs steps `ids` in one call. Returns the outputs kept and the failure (index within
    /// `ids`, kind, message).
    #[allow(clippy::type_complexity)] // A private helper's plain tuple.
    fn call_chain(
        &self,
        json: String,
        ids: &[i32],
        keep: bool,
    ) -> Result<(Vec<UpcastedEvent>, Option<(usize, FailureKind, String)>), ScriptError> {
        #[derive(serde::Deserialize)]
        struct Fail {
            at: usize,
            kind: String,
            message: String,
        }
        #[derive(serde::Deserialize)]
        struct Out {
            steps: Vec<String>,
            fail: Option<Fail>,
        }
        let ids_arg = ids.to_vec();
        let result = self.sandbox.call(move |ctx| {
            let f: rquickjs::Function<'_> = ctx.globals().get("__upRun")?;
            f.call::<_, String>((json, ids_arg, keep))
        });
        let text = match result {
            Ok(text) => text,
            Err(ScriptError::Cancelled) => return Err(ScriptError::Cancelled),
            Err(error) => {
                let at = self.current_step().unwrap_or(0);
                let kind = match error {
                    ScriptError::Timeout { .. } => FailureKind::Timeout,
                    ScriptError::OutOfMemory { .. } => FailureKind::OutOfMemory,
                    ScriptError::Exception { .. } => FailureKind::Exception,
                    _ => FailureKind::Engine,
                };
                self.sandbox.collect_garbage();
                return Ok((Vec::new(), Some((at, kind, error.to_string()))));
            }
        };
        let out: Out = match serde_json::from_str(&text) {
            Ok(out) => out,
            Err(e) => {
                return Ok((
                    Vec::new(),
                    Some((
                        0,
                        FailureKind::Engine,
                        format!("cannot read the result back: {e}"),
                    )),
                ));
            }
        };
        let mut outputs = Vec::with_capacity(out.steps.len());
        for step in &out.steps {
            match serde_json::from_str::<UpcastedEvent>(step) {
                Ok(event) => outputs.push(event),
                Err(e) => {
                    let at = outputs.len();
                    return Ok((
                        outputs,
                        Some((
                            at,
                            FailureKind::NotObject,
                            format!("the returned event cannot be read back ({e})"),
                        )),
                    ));
                }
            }
        }
        let fail = out.fail.map(|f| {
            let kind = match f.kind.as_str() {
                "exception" => FailureKind::Exception,
                "missing_type" => FailureKind::MissingType,
                _ => FailureKind::NotObject,
            };
            (f.at, kind, f.message)
        });
        Ok((outputs, fail))
    }

    fn current_step(&self) -> Option<usize> {
        self.sandbox
            .call(|ctx| ctx.eval::<i32, _>("__up.current"))
            .ok()
            .and_then(|i| usize::try_from(i).ok())
    }
}

impl<'de> serde::Deserialize<'de> for UpcastedEvent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Raw {
            #[serde(rename = "type")]
            event_type: String,
            #[serde(default)]
            data: Value,
            #[serde(default)]
            metadata: Value,
        }
        let raw = Raw::deserialize(deserializer)?;
        Ok(Self {
            event_type: raw.event_type,
            data: raw.data,
            metadata: raw.metadata,
        })
    }
}
