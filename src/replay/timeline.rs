//! Time travel over one stream: fold it once, keep intermediate states, then answer "state at
//! version V" / "as of time T" by replaying from the nearest kept state, and find the event
//! that last changed a field (blame).

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::diff::{DiffEntry, diff, normalise_numbers};
use super::{ReduceError, ReduceResult, Reducer};
use crate::core::event::Event;
use crate::core::query::{Direction, MAX_PAGE};
use crate::core::source::EventSource;

/// Events between kept states (doubled when the kept states exceed their memory budget).
pub const DEFAULT_INTERVAL: u64 = 128;
/// Memory budget for kept states.
pub const DEFAULT_CACHE_BYTES: usize = 256 * 1024 * 1024;
/// Most diff rows kept per step.
pub const MAX_STEP_CHANGES: usize = 2_000;

/// What the timeline remembers of each event (small; the payload is re-read when needed).
#[derive(Clone, Debug, PartialEq)]
pub struct EventSummary {
    /// Stream version.
    pub version: u64,
    /// Global position.
    pub position: u64,
    /// Event type.
    pub event_type: String,
    /// Recorded time.
    pub recorded_at: Option<DateTime<Utc>>,
    /// Event id.
    pub event_id: Option<String>,
    /// Correlation id.
    pub correlation_id: Option<String>,
}

impl EventSummary {
    fn of(event: &Event) -> Self {
        Self {
            version: event.stream_version,
            position: event.global_position,
            event_type: event.event_type.clone(),
            recorded_at: event.recorded_at,
            event_id: event.event_id.clone(),
            correlation_id: event.correlation_id.clone(),
        }
    }
}

/// Progress of a fold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FoldProgress {
    /// Events folded so far.
    pub done: u64,
    /// Events in the stream (as known when the fold started).
    pub total: u64,
}

/// State at one step.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// Index of the event in the timeline (`None` = before the first event).
    pub index: Option<usize>,
    /// The version whose state this is (0 = initial state).
    pub version: u64,
    /// The event at this version (`None` for the initial state).
    pub event: Option<Event>,
    /// State after this version.
    pub state: Arc<Value>,
    /// State before it.
    pub previous: Arc<Value>,
    /// What this step changed (previous → state).
    pub changes: Vec<DiffEntry>,
}

/// The event that last changed a field.
#[derive(Clone, Debug, PartialEq)]
pub struct Blame {
    /// JSON Pointer asked about.
    pub pointer: String,
    /// Version the question was asked at.
    pub at_version: u64,
    /// The value at that version (`None` = absent).
    pub value: Option<Value>,
    /// The value before the blamed event changed it.
    pub before: Option<Value>,
    /// The blamed event (`None` = the value comes from the initial state).
    pub event: Option<Event>,
}

impl Blame {
    /// The value at `pointer` comes from the initial state: no event set it.
    fn initial(pointer: &str, at_version: u64, value: Option<Value>) -> Self {
        Self {
            pointer: pointer.to_owned(),
            at_version,
            value,
            before: None,
            event: None,
        }
    }
}

/// A folded stream.
pub struct Timeline {
    source: Arc<dyn EventSource>,
    stream_id: String,
    reducer: Box<dyn Reducer>,
    events: Vec<EventSummary>,
    /// Kept states: index of the last applied event + 1 (0 = initial state) → state.
    kept: BTreeMap<usize, Arc<Value>>,
    interval: u64,
    cache_bytes: usize,
    kept_bytes: usize,
    /// The fold stopped here (reducer error); the timeline covers events before it.
    failure: Option<ReduceError>,
    /// The reducer cannot start from a given state (a command without `load`): every replay
    /// starts from the initial state.
    no_load: bool,
}

impl std::fmt::Debug for Timeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timeline")
            .field("stream_id", &self.stream_id)
            .field("events", &self.events.len())
            .field("kept", &self.kept.len())
            .field("failure", &self.failure)
            .finish_non_exhaustive()
    }
}

impl Timeline {
    /// Folds a whole stream once, keeping states every `DEFAULT_INTERVAL` events.
    /// A reducer error does not fail the build: the timeline ends before the failing event
    /// and [`Self::failure`] says why. Reading errors and cancellation do fail it.
    ///
    /// # Errors
    /// When the store cannot be read, or the reducer cannot even start.
    pub fn build(
        source: Arc<dyn EventSource>,
        stream_id: &str,
        reducer: Box<dyn Reducer>,
        progress: &mut dyn FnMut(FoldProgress),
    ) -> ReduceResult<Self> {
        Self::build_with(
            source,
            stream_id,
            reducer,
            DEFAULT_INTERVAL,
            DEFAULT_CACHE_BYTES,
            progress,
        )
    }

    /// [`Self::build`] with explicit cache settings.
    ///
    /// # Errors
    /// See [`Self::build`].
    pub fn build_with(
        source: Arc<dyn EventSource>,
        stream_id: &str,
        mut reducer: Box<dyn Reducer>,
        interval: u64,
        cache_bytes: usize,
        progress: &mut dyn FnMut(FoldProgress),
    ) -> ReduceResult<Self> {
        let info = source.stream(stream_id)?;
        let total = info.as_ref().map_or(0, |i| i.event_count);
        let stream_id = info.map_or_else(|| stream_id.to_owned(), |i| i.stream_id);
        reducer.reset(None)?;
        let initial = Arc::new(reducer.state()?);
        let mut timeline = Self {
            source,
            stream_id,
            reducer,
            events: Vec::new(),
            kept: BTreeMap::new(),
            interval: interval.max(1),
            cache_bytes,
            kept_bytes: 0,
            failure: None,
            no_load: false,
        };
        timeline.keep(0, initial);
        if crate::core::cancel::current().is_some_and(|t| t.is_cancelled()) {
            return Err(ReduceError::Cancelled);
        }
        // One forward pass; the reader thread reads the next page while this one folds.
        let source = Arc::clone(&timeline.source);
        let stream_id = timeline.stream_id.clone();
        let mut failure = None;
        super::pipeline::for_each_page(
            source.as_ref(),
            &stream_id,
            super::pipeline::ReadPlan::whole(),
            &mut |page| {
                for event in &page {
                    if let Err(error) = timeline.reducer.apply(event) {
                        if error == ReduceError::Cancelled {
                            return Err(error);
                        }
                        failure = Some(error);
                        return Ok(ControlFlow::Break(()));
                    }
                    timeline.events.push(EventSummary::of(event));
                    let applied = timeline.events.len();
                    if (applied as u64).is_multiple_of(timeline.interval) {
                        let state = timeline.reducer.state()?;
                        timeline.keep(applied, Arc::new(state));
                    }
                }
                progress(FoldProgress {
                    done: timeline.events.len() as u64,
                    total: total.max(timeline.events.len() as u64),
                });
                Ok(ControlFlow::Continue(()))
            },
        )?;
        timeline.failure = failure;
        let applied = timeline.events.len();
        if !timeline.kept.contains_key(&applied) {
            let state = timeline.reducer.state()?;
            timeline.keep(applied, Arc::new(state));
        }
        Ok(timeline)
    }

    fn keep(&mut self, applied: usize, state: Arc<Value>) {
        self.kept_bytes += super::approx_size(&state);
        self.kept.insert(applied, state);
        if self.kept_bytes > self.cache_bytes && self.kept.len() > 2 {
            // Thin out: keep every other state (always the first and the last).
            self.interval *= 2;
            let last = self.kept.keys().next_back().copied();
            let interval = usize::try_from(self.interval).unwrap_or(usize::MAX);
            self.kept
                .retain(|k, _| *k == 0 || Some(*k) == last || k % interval == 0);
            self.kept_bytes = self.kept.values().map(|v| super::approx_size(v)).sum();
        }
    }

    /// The stream.
    #[must_use]
    pub fn stream_id(&self) -> &str {
        &self.stream_id
    }

    /// The reducer's identity.
    #[must_use]
    pub fn reducer_info(&self) -> &super::ReducerInfo {
        self.reducer.info()
    }

    /// Events folded (in order).
    #[must_use]
    pub fn events(&self) -> &[EventSummary] {
        &self.events
    }

    /// Why the fold stopped early, if it did.
    #[must_use]
    pub fn failure(&self) -> Option<&ReduceError> {
        self.failure.as_ref()
    }

    /// Number of kept states (for tests and the status line).
    #[must_use]
    pub fn kept_states(&self) -> usize {
        self.kept.len()
    }

    /// Index of the event with this version, or of the last event before it.
    #[must_use]
    pub fn index_of_version(&self, version: u64) -> Option<usize> {
        let after = self.events.partition_point(|e| e.version <= version);
        after.checked_sub(1)
    }

    /// Index of the last event recorded at or before `at`.
    #[must_use]
    pub fn index_as_of(&self, at: DateTime<Utc>) -> Option<usize> {
        let sorted = self
            .events
            .windows(2)
            .all(|w| w[0].recorded_at <= w[1].recorded_at);
        if sorted {
            self.events
                .partition_point(|e| e.recorded_at.is_some_and(|t| t <= at))
                .checked_sub(1)
        } else {
            self.events
                .iter()
                .rposition(|e| e.recorded_at.is_some_and(|t| t <= at))
        }
    }

    /// Puts the reducer at the nearest kept state at or before `applied` events and returns
    /// that state's index. Falls back to the initial state for reducers that cannot load.
    fn restore(&mut self, applied: usize) -> ReduceResult<usize> {
        if !self.no_load {
            let (&start, state) = self
                .kept
                .range(..=applied)
                .next_back()
                .ok_or_else(|| ReduceError::reducer("timeline", "no kept state"))?;
            let state = Arc::clone(state);
            match self.reducer.reset(Some(&state)) {
                Ok(()) => return Ok(start),
                Err(e) if super::command::is_unsupported(&e) => self.no_load = true,
                Err(e) => return Err(e),
            }
        }
        self.reducer.reset(None)?;
        Ok(0)
    }

    /// Replays from the nearest kept state up to `applied` events.
    fn replay_to(&mut self, applied: usize) -> ReduceResult<()> {
        let start = self.restore(applied)?;
        self.replay_range(start, applied, &mut |_, _, _| Ok(true))
    }

    /// Applies events `start..applied` (indexes) to the reducer's current state.
    fn replay_range(
        &mut self,
        start: usize,
        applied: usize,
        visit: &mut dyn FnMut(&mut dyn Reducer, &Event, usize) -> ReduceResult<bool>,
    ) -> ReduceResult<()> {
        let mut index = start;
        while index < applied {
            let from = self.events[index].version;
            let want = (applied - index) as u64;
            let page = self.source.read_stream(
                &self.stream_id,
                Some(from),
                Direction::Forwards,
                want.min(MAX_PAGE),
            )?;
            if page.is_empty() {
                return Err(ReduceError::Source(format!(
                    "{} changed while replaying: version {from} is gone",
                    self.stream_id
                )));
            }
            for event in page.iter().take(applied - index) {
                self.reducer.apply(event)?;
                if !visit(self.reducer.as_mut(), event, index)? {
                    return Ok(());
                }
                index += 1;
            }
        }
        Ok(())
    }

    /// State after the event at `index` (`None` = initial state), with the previous state and
    /// what changed.
    ///
    /// # Errors
    /// Reading or reducer errors.
    pub fn step(&mut self, index: Option<usize>) -> ReduceResult<Step> {
        let index = index.filter(|i| *i < self.events.len());
        let Some(index) = index else {
            let state = self
                .kept
                .get(&0)
                .cloned()
                .ok_or_else(|| ReduceError::reducer("timeline", "no initial state"))?;
            return Ok(Step {
                index: None,
                version: 0,
                event: None,
                previous: Arc::clone(&state),
                state,
                changes: Vec::new(),
            });
        };
        // State before the event, then the event itself (re-read so the view gets it whole).
        self.replay_to(index)?;
        let previous = match self.kept.get(&index) {
            Some(state) => Arc::clone(state),
            None => Arc::new(self.reducer.state()?),
        };
        let mut the_event = None;
        self.replay_range(index, index + 1, &mut |_, event, _| {
            the_event = Some(event.clone());
            Ok(true)
        })?;
        let state = match self.kept.get(&(index + 1)) {
            Some(state) => Arc::clone(state),
            None => Arc::new(self.reducer.state()?),
        };
        let changes = diff(
            &normalise_numbers(&previous),
            &normalise_numbers(&state),
            MAX_STEP_CHANGES,
        );
        Ok(Step {
            index: Some(index),
            version: self.events[index].version,
            event: the_event,
            state,
            previous,
            changes,
        })
    }

    /// State at a stream version (the last event at or before it).
    ///
    /// # Errors
    /// Reading or reducer errors.
    pub fn step_at_version(&mut self, version: u64) -> ReduceResult<Step> {
        let index = self.index_of_version(version);
        self.step(index)
    }

    /// Finds the event that last changed the value at `pointer`, at or before event `index`.
    ///
    /// # Errors
    /// Reading or reducer errors.
    pub fn blame(&mut self, pointer: &str, index: Option<usize>) -> ReduceResult<Blame> {
        let at_version = index
            .and_then(|i| self.events.get(i))
            .map_or(0, |e| e.version);
        let Some(index) = index.filter(|i| *i < self.events.len()) else {
            let value = self.kept.get(&0).and_then(|s| s.pointer(pointer).cloned());
            return Ok(Blame::initial(pointer, at_version, value));
        };
        let applied = index + 1;
        let value = match self.kept.get(&applied) {
            Some(state) => state.pointer(pointer).cloned(),
            None => {
                self.replay_to(applied)?;
                self.reducer.value_at(pointer)?
            }
        };
        // Segments between kept states, newest first.
        let mut end = applied;
        loop {
            let start = self.restore(end.saturating_sub(1))?;
            let mut last_value = self.reducer.value_at(pointer)?;
            let mut last_change: Option<(usize, Option<Value>, Event)> = None;
            let pointer_owned = pointer.to_owned();
            self.replay_range(start, end, &mut |reducer, event, i| {
                let now = reducer.value_at(&pointer_owned)?;
                if now != last_value {
                    last_change = Some((i, last_value.take(), event.clone()));
                    last_value = now;
                }
                Ok(true)
            })?;
            if let Some((_, before, event)) = last_change {
                return Ok(Blame {
                    pointer: pointer.to_owned(),
                    at_version,
                    value,
                    before,
                    event: Some(event),
                });
            }
            if start == 0 {
                return Ok(Blame::initial(pointer, at_version, value));
            }
            end = start;
        }
    }
}
