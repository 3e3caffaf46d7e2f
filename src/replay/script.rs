//! JavaScript reducers in the shape KurrentDB projection users know:
//!
//! ```js
//! fromCategory('account')          // optional; fromAll()/fromStream(s) also accepted
//!   .when({
//!     $init() { return { balance: 0 }; },
//!     Deposited(state, event) { state.balance += event.data.amount; },
//!     $any(state, event) { return state; },
//!   });
//! ```
//!
//! `when({...})` is called once. A handler gets `(state, event)` and returns the new state or
//! mutates `state` and returns nothing. The state lives inside the engine during a fold and
//! is exported (as JSON) only when asked for.

use std::time::Duration;

use serde_json::Value;

use super::{ReduceError, ReduceResult, Reducer, ReducerInfo, ReducerKind};
use crate::core::event::Event;
use crate::script::{EVENT_PRELUDE, Limits, Sandbox, ScriptError};

const PRELUDE: &str = r#"
var __es = { handlers: null, state: undefined };
function when(handlers) {
  if (__es.handlers !== null) { throw new Error("when() must be called only once"); }
  if (handlers === null || typeof handlers !== "object") { throw new TypeError("when() takes an object of handlers"); }
  __es.handlers = handlers;
  const chain = { outputState() { return chain; }, transformBy() { return chain; }, filterBy() { return chain; } };
  return chain;
}
const __esSource = { when: when, partitionBy() { return __esSource; }, foreachStream() { return __esSource; } };
function fromAll() { return __esSource; }
function fromCategory() { return __esSource; }
function fromStream() { return __esSource; }
function fromStreams() { return __esSource; }
function options() { return __esSource; }
function emit() {}
function linkTo() {}
function __esInit() {
  const h = __es.handlers;
  __es.state = (h && typeof h.$init === "function") ? h.$init() : {};
  if (__es.state === undefined) { __es.state = {}; }
}
function __esApply(json) {
  const h = __es.handlers;
  const ev = __esEvent(json);
  let f = h[ev.type];
  if (typeof f !== "function" && ev.storedType !== ev.type) { f = h[ev.storedType]; }
  if (typeof f !== "function") { f = h.$any; }
  if (typeof f !== "function") { return; }
  const r = f(__es.state, ev);
  if (r !== undefined) { __es.state = r; }
}
function __esHandlerNames() {
  const h = __es.handlers;
  return JSON.stringify(Object.keys(h).filter((k) => !k.startsWith("$") && typeof h[k] === "function"));
}
function __esLoad(json) { __es.state = JSON.parse(json); }
function __esState() {
  const s = JSON.stringify(__es.state);
  return s === undefined ? "null" : s;
}
function __esAt(pointer) {
  let v = __es.state;
  if (pointer !== "") {
    for (const raw of pointer.slice(1).split("/")) {
      const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
      if (v === null || typeof v !== "object" || !(key in v)) { return undefined; }
      v = v[key];
    }
  }
  return JSON.stringify(v);
}
"#;

/// Options of a script reducer.
#[derive(Clone, Debug)]
pub struct ScriptOptions {
    /// Engine limits (time budget per event, memory).
    pub limits: Limits,
    /// Snapshot schema version the reducer's states correspond to.
    pub schema_version: Option<u32>,
}

impl Default for ScriptOptions {
    fn default() -> Self {
        Self {
            limits: Limits {
                call_budget: Duration::from_millis(250),
                ..Limits::default()
            },
            schema_version: None,
        }
    }
}

/// A JavaScript reducer.
pub struct ScriptReducer {
    info: ReducerInfo,
    sandbox: Sandbox,
}

impl std::fmt::Debug for ScriptReducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptReducer")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl ScriptReducer {
    /// Compiles a reducer from its source text. `label` names the file in messages.
    ///
    /// # Errors
    /// When the script does not compile, throws at top level, or never calls `when()`.
    pub fn new(label: &str, source: &str, options: &ScriptOptions) -> ReduceResult<Self> {
        let info = ReducerInfo::new(
            ReducerKind::Script,
            label.to_owned(),
            source.to_owned(),
            options.schema_version,
        );
        let err = |e: ScriptError| ReduceError::reducer(label, e.to_string());
        let sandbox = Sandbox::new(options.limits).map_err(err)?;
        sandbox
            .load("eventscope-prelude.js", EVENT_PRELUDE)
            .map_err(err)?;
        sandbox
            .load("eventscope-reducer-prelude.js", PRELUDE)
            .map_err(err)?;
        sandbox.load(label, source).map_err(err)?;
        let has_handlers = sandbox
            .call(|ctx| ctx.eval::<bool, _>("__es.handlers !== null"))
            .map_err(err)?;
        if !has_handlers {
            return Err(ReduceError::reducer(
                label,
                "the script never calls when({...}) with its handlers",
            ));
        }
        Ok(Self { info, sandbox })
    }

    /// Reads and compiles a reducer file.
    ///
    /// # Errors
    /// When the file cannot be read or the script does not compile.
    pub fn from_file(path: &std::path::Path, options: &ScriptOptions) -> ReduceResult<Self> {
        let label = path.display().to_string();
        let source = std::fs::read_to_string(path)
            .map_err(|e| ReduceError::reducer(&label, format!("cannot read: {e}")))?;
        Self::new(&label, &source, options)
    }

    fn call_global(&self, name: &'static str, arg: Option<String>) -> Result<(), ScriptError> {
        self.sandbox.call(move |ctx| {
            let f: rquickjs::Function<'_> = ctx.globals().get(name)?;
            match arg {
                Some(arg) => f.call::<_, ()>((arg,)),
                None => f.call::<_, ()>(()),
            }
        })
    }

    fn export(&self, pointer: Option<&str>) -> Result<Option<String>, ScriptError> {
        let pointer = pointer.map(str::to_owned);
        self.sandbox.call(move |ctx| match pointer {
            Some(pointer) => {
                let f: rquickjs::Function<'_> = ctx.globals().get("__esAt")?;
                f.call::<_, Option<String>>((pointer,))
            }
            None => {
                let f: rquickjs::Function<'_> = ctx.globals().get("__esState")?;
                f.call::<_, String>(()).map(Some)
            }
        })
    }

    fn parse_state(&self, text: &str) -> ReduceResult<Value> {
        serde_json::from_str(text).map_err(|e| {
            ReduceError::reducer(
                &self.info.label,
                format!(
                    "the state cannot be read back as JSON ({e}); is it nested over 128 levels?"
                ),
            )
        })
    }
}

impl Reducer for ScriptReducer {
    fn info(&self) -> &ReducerInfo {
        &self.info
    }

    fn reset(&mut self, from: Option<&Value>) -> ReduceResult<()> {
        let result = match from {
            None => self.call_global("__esInit", None),
            Some(state) => self.call_global("__esLoad", Some(state.to_string())),
        };
        result.map_err(|e| match e {
            ScriptError::Cancelled => ReduceError::Cancelled,
            e => ReduceError::reducer(&self.info.label, format!("$init: {e}")),
        })
    }

    fn apply(&mut self, event: &Event) -> ReduceResult<()> {
        let json = crate::script::event_json(event);
        self.call_global("__esApply", Some(json))
            .map_err(|e| match e {
                ScriptError::Cancelled => ReduceError::Cancelled,
                e => ReduceError::at_event(&self.info.label, event, e.to_string()),
            })
    }

    fn state(&mut self) -> ReduceResult<Value> {
        let text = self
            .export(None)
            .map_err(|e| match e {
                ScriptError::Cancelled => ReduceError::Cancelled,
                e => ReduceError::reducer(&self.info.label, format!("exporting the state: {e}")),
            })?
            .unwrap_or_else(|| "null".to_owned());
        self.parse_state(&text)
    }

    fn value_at(&mut self, pointer: &str) -> ReduceResult<Option<Value>> {
        let text = self.export(Some(pointer)).map_err(|e| match e {
            ScriptError::Cancelled => ReduceError::Cancelled,
            e => ReduceError::reducer(&self.info.label, format!("reading {pointer}: {e}")),
        })?;
        text.map(|t| self.parse_state(&t)).transpose()
    }

    fn handler_names(&mut self) -> ReduceResult<Option<Vec<String>>> {
        let text = self
            .sandbox
            .call(|ctx| {
                let f: rquickjs::Function<'_> = ctx.globals().get("__esHandlerNames")?;
                f.call::<_, String>(())
            })
            .map_err(|e| match e {
                ScriptError::Cancelled => ReduceError::Cancelled,
                e => ReduceError::reducer(&self.info.label, format!("listing handlers: {e}")),
            })?;
        let names: Vec<String> = serde_json::from_str(&text).map_err(|e| {
            ReduceError::reducer(&self.info.label, format!("listing handlers: {e}"))
        })?;
        Ok(Some(names))
    }
}
