//! Command reducers: the user's own domain code as a child process speaking JSON Lines over
//! stdin/stdout — the way to replay with the exact code that runs in production.
//!
//! Protocol (one JSON object per line each way; the child answers every request in order):
//!
//! | request | answer |
//! |---|---|
//! | `{"op":"init"}` | `{"ok":true}` — start from the initial state |
//! | `{"op":"load","state":S}` | `{"ok":true}` — start from state `S` (or `{"ok":false,"error":"unsupported"}`) |
//! | `{"op":"apply","event":E}` | `{"ok":true}` or `{"ok":false,"error":"…"}` |
//! | `{"op":"state"}` | `{"ok":true,"state":S}` |
//!
//! `E` is the same object scripts get (`type`, `data`, `metadata`, `streamId`, `version`,
//! `position`, `recordedAt`, `eventId`, …) plus `stored`: the payload exactly as stored
//! (before typed values were decoded), so a wrapper can rebuild the library's own event.
//! Anything the child writes to stderr is kept and shown when it fails. Every answer must
//! arrive within the time-out, or the child is stopped.

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, bounded};
use serde_json::{Value, json};

use super::{ReduceError, ReduceResult, Reducer, ReducerInfo, ReducerKind};
use crate::core::event::Event;

/// How to run a command reducer.
#[derive(Clone, Debug)]
pub struct CommandSpec {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Working directory (the config file's directory when named in a config).
    pub cwd: Option<std::path::PathBuf>,
    /// Time allowed for each answer.
    pub timeout: Duration,
    /// Snapshot schema version the states correspond to.
    pub schema_version: Option<u32>,
}

impl CommandSpec {
    /// Splits a command line written by a user (shell-like quoting with `'` and `"`).
    ///
    /// # Errors
    /// On an empty command or an unterminated quote.
    pub fn parse(line: &str) -> Result<Vec<String>, String> {
        let mut argv = Vec::new();
        let mut current = String::new();
        let mut in_word = false;
        let mut quote: Option<char> = None;
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some('"'), '\\') => {
                    if let Some(next) = chars.next() {
                        current.push(next);
                    }
                }
                (Some(_), c) => current.push(c),
                (None, '\'' | '"') => {
                    quote = Some(c);
                    in_word = true;
                }
                (None, '\\') => {
                    if let Some(next) = chars.next() {
                        current.push(next);
                        in_word = true;
                    }
                }
                (None, c) if c.is_whitespace() => {
                    if in_word {
                        argv.push(std::mem::take(&mut current));
                        in_word = false;
                    }
                }
                (None, c) => {
                    current.push(c);
                    in_word = true;
                }
            }
        }
        if quote.is_some() {
            return Err(format!("unterminated quote in command: {line}"));
        }
        if in_word {
            argv.push(current);
        }
        if argv.is_empty() {
            return Err("empty command".to_owned());
        }
        Ok(argv)
    }
}

struct Running {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<std::io::Result<String>>,
    stderr: Arc<Mutex<String>>,
}

/// A reducer that is a child process.
pub struct CommandReducer {
    info: ReducerInfo,
    spec: CommandSpec,
    running: Option<Running>,
}

impl std::fmt::Debug for CommandReducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandReducer")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

const STDERR_KEEP: usize = 4096;

impl CommandReducer {
    /// A command reducer (the process starts on first use).
    #[must_use]
    pub fn new(spec: CommandSpec) -> Self {
        let line = spec
            .argv
            .iter()
            .map(|a| {
                if a.contains(char::is_whitespace) {
                    format!("'{a}'")
                } else {
                    a.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
        let info = ReducerInfo::new(
            ReducerKind::Command,
            line.clone(),
            line,
            spec.schema_version,
        );
        Self {
            info,
            spec,
            running: None,
        }
    }

    fn start(&mut self) -> ReduceResult<()> {
        self.stop();
        let label = self.info.label.clone();
        let (program, args) = self
            .spec
            .argv
            .split_first()
            .ok_or_else(|| ReduceError::reducer(&label, "empty command"))?;
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(cwd) = &self.spec.cwd {
            command.current_dir(cwd);
        }
        let mut child = command
            .spawn()
            .map_err(|e| ReduceError::reducer(&label, format!("cannot start `{program}`: {e}")))?;
        let (Some(stdin), Some(stdout), Some(stderr_pipe)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            return Err(ReduceError::reducer(
                &label,
                "cannot open the command's pipes",
            ));
        };
        let (sender, lines) = bounded(64);
        std::thread::Builder::new()
            .name("eventscope-reducer-stdout".to_owned())
            .spawn(move || {
                let mut reader = BufReader::new(stdout);
                loop {
                    let mut line = String::new();
                    match reader.read_line(&mut line) {
                        Ok(0) => break,
                        Ok(_) => {
                            if sender.send(Ok(line)).is_err() {
                                break;
                            }
                        }
                        Err(e) => {
                            let _ = sender.send(Err(e));
                            break;
                        }
                    }
                }
            })
            .map_err(|e| ReduceError::reducer(&label, format!("cannot start a reader: {e}")))?;
        let stderr = Arc::new(Mutex::new(String::new()));
        {
            let stderr = Arc::clone(&stderr);
            std::thread::Builder::new()
                .name("eventscope-reducer-stderr".to_owned())
                .spawn(move || {
                    let reader = BufReader::new(stderr_pipe);
                    for line in reader.lines() {
                        let Ok(line) = line else { break };
                        if let Ok(mut kept) = stderr.lock() {
                            kept.push_str(&line);
                            kept.push('\n');
                            if kept.len() > STDERR_KEEP * 2 {
                                let cut = kept.len() - STDERR_KEEP;
                                let cut = (cut..kept.len())
                                    .find(|i| kept.is_char_boundary(*i))
                                    .unwrap_or(0);
                                kept.drain(..cut);
                            }
                        }
                    }
                })
                .map_err(|e| ReduceError::reducer(&label, format!("cannot start a reader: {e}")))?;
        }
        self.running = Some(Running {
            child,
            stdin,
            lines,
            stderr,
        });
        Ok(())
    }

    fn stop(&mut self) {
        if let Some(mut running) = self.running.take() {
            let _ = running.child.kill();
            let _ = running.child.wait();
        }
    }

    /// Describes why the child is gone (exit status + the tail of its stderr).
    fn died(&mut self, what: &str) -> String {
        let Some(mut running) = self.running.take() else {
            return what.to_owned();
        };
        // Give a crashing child a moment to finish exiting and flushing stderr.
        let mut status = None;
        for _ in 0..50 {
            if let Ok(Some(s)) = running.child.try_wait() {
                status = Some(s);
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if status.is_none() {
            let _ = running.child.kill();
            status = running.child.wait().ok();
        }
        std::thread::sleep(Duration::from_millis(20));
        let stderr = running
            .stderr
            .lock()
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        let mut message = what.to_owned();
        if let Some(status) = status {
            message.push_str(&format!(" ({status})"));
        }
        if !stderr.is_empty() {
            let tail: String = stderr
                .lines()
                .rev()
                .take(12)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n");
            message.push_str(&format!("; its stderr ends with:\n{tail}"));
        }
        message
    }

    /// Sends one request and waits for its answer.
    fn request(&mut self, request: &Value) -> Result<Value, RequestError> {
        if self.running.is_none() {
            self.start()
                .map_err(|e| RequestError::Failed(e.to_string()))?;
        }
        let timeout = self.spec.timeout;
        let Some(running) = self.running.as_mut() else {
            return Err(RequestError::Failed(
                "the command is not running".to_owned(),
            ));
        };
        let mut line = request.to_string();
        line.push('\n');
        if let Err(e) = running
            .stdin
            .write_all(line.as_bytes())
            .and_then(|()| running.stdin.flush())
        {
            return Err(RequestError::Failed(
                self.died(&format!("the command stopped reading its input ({e})")),
            ));
        }
        let cancel = crate::core::cancel::current();
        let started = std::time::Instant::now();
        let answer = loop {
            if cancel
                .as_ref()
                .is_some_and(crate::core::cancel::CancelToken::is_cancelled)
            {
                self.stop();
                return Err(RequestError::Cancelled);
            }
            let wait = timeout
                .saturating_sub(started.elapsed())
                .min(Duration::from_millis(100));
            match running.lines.recv_timeout(wait) {
                Ok(Ok(answer)) => {
                    if answer.trim().is_empty() {
                        continue;
                    }
                    break answer;
                }
                Ok(Err(e)) => {
                    let message = self.died(&format!("reading the command's output: {e}"));
                    return Err(RequestError::Failed(message));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(RequestError::Failed(
                        self.died("the command exited without answering"),
                    ));
                }
                Err(RecvTimeoutError::Timeout) => {
                    if started.elapsed() >= timeout {
                        self.stop();
                        return Err(RequestError::Failed(format!(
                            "the command gave no answer within {} s and was stopped",
                            timeout.as_secs_f64()
                        )));
                    }
                }
            }
        };
        let parsed: Value = match serde_json::from_str(answer.trim()) {
            Ok(v) => v,
            Err(e) => {
                let shown: String = answer.trim().chars().take(200).collect();
                self.stop();
                return Err(RequestError::Failed(format!(
                    "the command printed something that is not a JSON answer ({e}): {shown}"
                )));
            }
        };
        match parsed.get("ok") {
            Some(Value::Bool(true)) => Ok(parsed),
            Some(Value::Bool(false)) => Err(RequestError::Failed(parsed.get("error").map_or_else(
                || "error (no message)".to_owned(),
                |e| match e {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                },
            ))),
            _ => {
                let shown: String = answer.trim().chars().take(200).collect();
                self.stop();
                Err(RequestError::Failed(format!(
                    "the command's answer has no \"ok\" field: {shown}"
                )))
            }
        }
    }

    fn map_err(&self, error: RequestError) -> ReduceError {
        match error {
            RequestError::Cancelled => ReduceError::Cancelled,
            RequestError::Failed(message) => ReduceError::reducer(&self.info.label, message),
        }
    }
}

/// Why a request got no answer: cancelled by the user, or failed (a command that answers
/// `{"ok": false, "error": "cancelled"}` has failed, not been cancelled).
enum RequestError {
    Cancelled,
    Failed(String),
}

impl Drop for CommandReducer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The event object sent to command reducers.
#[must_use]
pub fn event_object(event: &Event) -> Value {
    let text = crate::script::event_json(event);
    let mut value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let stored = event.payload.to_stored_json();
    if let Value::Object(map) = &mut value {
        map.insert("stored".to_owned(), stored);
    }
    value
}

impl Reducer for CommandReducer {
    fn info(&self) -> &ReducerInfo {
        &self.info
    }

    fn reset(&mut self, from: Option<&Value>) -> ReduceResult<()> {
        let request = match from {
            None => json!({"op": "init"}),
            Some(state) => json!({"op": "load", "state": state}),
        };
        self.request(&request)
            .map(|_| ())
            .map_err(|m| self.map_err(m))
    }

    fn apply(&mut self, event: &Event) -> ReduceResult<()> {
        let request = json!({"op": "apply", "event": event_object(event)});
        match self.request(&request) {
            Ok(_) => Ok(()),
            Err(RequestError::Cancelled) => Err(ReduceError::Cancelled),
            Err(RequestError::Failed(m)) => Err(ReduceError::at_event(&self.info.label, event, m)),
        }
    }

    fn state(&mut self) -> ReduceResult<Value> {
        let answer = self
            .request(&json!({"op": "state"}))
            .map_err(|m| self.map_err(m))?;
        Ok(answer.get("state").cloned().unwrap_or(Value::Null))
    }
}

/// Whether a `load` failure means the command does not support starting from a state.
#[must_use]
pub fn is_unsupported(error: &ReduceError) -> bool {
    matches!(error, ReduceError::Reducer { message, .. } if message.contains("unsupported"))
}
