//! The causal tree of one correlation: parent links from causation ids, depth, roots
//! (external causes), out-of-order causation, missing parents and time gaps. Pure.

use std::collections::HashMap;

use crate::core::Event;

/// Why an event is a root of the causal tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootKind {
    /// The event names no causation id (or names itself, as KurrentDB does for roots).
    NoCause,
    /// The causation id names something no event of this trace carries: a command, a
    /// request, a message from another system.
    External {
        /// The causation id.
        cause_id: String,
    },
    /// The causation id looks like the event ids of this trace (and unlike its command
    /// ids), but no event carries it: most likely a lost or unrecorded parent.
    MissingParent {
        /// The causation id.
        cause_id: String,
    },
    /// The causation chain loops back onto itself; the loop is cut here.
    Cycle {
        /// The causation id that would close the loop.
        cause_id: String,
    },
}

impl RootKind {
    /// A short label for views and exports (`external`, `missing-parent` …).
    #[must_use]
    pub fn label(&self) -> &'static str {
        match self {
            Self::NoCause => "no-cause",
            Self::External { .. } => "external",
            Self::MissingParent { .. } => "missing-parent",
            Self::Cycle { .. } => "cycle",
        }
    }

    /// The causation id the root points to, if any.
    #[must_use]
    pub fn cause_id(&self) -> Option<&str> {
        match self {
            Self::NoCause => None,
            Self::External { cause_id }
            | Self::MissingParent { cause_id }
            | Self::Cycle { cause_id } => Some(cause_id),
        }
    }
}

/// One event in a trace, with its place in the causal tree.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceNode {
    /// The event.
    pub event: Event,
    /// Index (in [`Trace::nodes`]) of the event that caused this one.
    pub parent: Option<usize>,
    /// Indexes of the events this one caused, in global order.
    pub children: Vec<usize>,
    /// Distance from its root (roots have depth 0).
    pub depth: u32,
    /// Set on roots: why this event has no parent in the trace.
    pub root: Option<RootKind>,
    /// Recorded (by global position) before its parent.
    pub out_of_order: bool,
    /// The lane (index into [`Trace::streams`]) of this event's stream.
    pub lane: usize,
}

impl TraceNode {
    /// The parent's event id, when the parent is in the trace.
    #[must_use]
    pub fn parent_event_id<'a>(&self, trace: &'a Trace) -> Option<&'a str> {
        self.parent
            .and_then(|p| trace.nodes.get(p))
            .and_then(|p| p.event.event_id.as_deref())
    }
}

/// A pause between two consecutive events of a trace that is much longer than usual.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeGap {
    /// Index of the event before the gap.
    pub after: usize,
    /// Index of the event after the gap.
    pub before: usize,
    /// Length of the gap in seconds.
    pub seconds: f64,
}

/// Every event of one correlation id, in global order, as a causal tree.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trace {
    /// The correlation id.
    pub correlation_id: String,
    /// The events in global order.
    pub nodes: Vec<TraceNode>,
    /// Indexes of the roots, in global order.
    pub roots: Vec<usize>,
    /// Streams in order of their first event in the trace (one timeline lane each).
    pub streams: Vec<String>,
    /// Unusually long pauses between consecutive events.
    pub gaps: Vec<TimeGap>,
}

/// A gap is a pause longer than this many times the median pause …
const GAP_FACTOR: f64 = 10.0;
/// … and longer than this many seconds.
const GAP_MIN_SECONDS: f64 = 1.0;

impl Trace {
    /// Builds the trace of `correlation_id` from its events (any order; duplicates by
    /// global position are dropped).
    #[must_use]
    pub fn build(correlation_id: &str, mut events: Vec<Event>) -> Self {
        events.sort_by_key(|e| e.global_position);
        events.dedup_by_key(|e| e.global_position);
        let mut by_event_id: HashMap<&str, usize> = HashMap::new();
        for (index, event) in events.iter().enumerate() {
            if let Some(id) = event.event_id.as_deref() {
                by_event_id.entry(id).or_insert(index);
            }
        }
        let parents: Vec<Option<usize>> = events
            .iter()
            .enumerate()
            .map(|(index, event)| {
                let cause = event.causation_id.as_deref()?;
                by_event_id.get(cause).copied().filter(|&p| p != index)
            })
            .collect();
        let shapes = IdShapes::of(&events, &parents);
        let mut streams: Vec<String> = Vec::new();
        let mut lanes: HashMap<&str, usize> = HashMap::new();
        for event in &events {
            if !lanes.contains_key(event.stream_id.as_str()) {
                lanes.insert(&event.stream_id, streams.len());
                streams.push(event.stream_id.clone());
            }
        }
        let mut nodes: Vec<TraceNode> = events
            .iter()
            .enumerate()
            .map(|(index, event)| {
                let root = match parents[index] {
                    Some(_) => None,
                    None => Some(match event.causation_id.as_deref() {
                        None => RootKind::NoCause,
                        Some(cause) if Some(cause) == event.event_id.as_deref() => {
                            RootKind::NoCause
                        }
                        Some(cause) if shapes.looks_like_lost_event(cause) => {
                            RootKind::MissingParent {
                                cause_id: cause.to_owned(),
                            }
                        }
                        Some(cause) => RootKind::External {
                            cause_id: cause.to_owned(),
                        },
                    }),
                };
                TraceNode {
                    event: event.clone(),
                    parent: parents[index],
                    children: Vec::new(),
                    depth: 0,
                    root,
                    out_of_order: parents[index].is_some_and(|p| p > index),
                    lane: lanes.get(event.stream_id.as_str()).copied().unwrap_or(0),
                }
            })
            .collect();
        cut_cycles(&mut nodes);
        for index in 0..nodes.len() {
            if let Some(parent) = nodes[index].parent {
                nodes[parent].children.push(index);
            }
        }
        let roots: Vec<usize> = (0..nodes.len())
            .filter(|&i| nodes[i].parent.is_none())
            .collect();
        // Depths, breadth first from the roots (every node is reachable once cycles are cut).
        let mut queue: std::collections::VecDeque<usize> = roots.iter().copied().collect();
        while let Some(index) = queue.pop_front() {
            let depth = nodes[index].depth;
            for child in nodes[index].children.clone() {
                nodes[child].depth = depth + 1;
                queue.push_back(child);
            }
        }
        let gaps = time_gaps(&nodes);
        Self {
            correlation_id: correlation_id.to_owned(),
            nodes,
            roots,
            streams,
            gaps,
        }
    }

    /// The deepest depth in the tree (0 for a flat trace or an empty one).
    #[must_use]
    pub fn max_depth(&self) -> u32 {
        self.nodes.iter().map(|n| n.depth).max().unwrap_or(0)
    }

    /// Index of the node with this global position.
    #[must_use]
    pub fn node_at(&self, global_position: u64) -> Option<usize> {
        self.nodes
            .binary_search_by_key(&global_position, |n| n.event.global_position)
            .ok()
    }

    /// Number of events recorded before their parent.
    #[must_use]
    pub fn out_of_order_count(&self) -> usize {
        self.nodes.iter().filter(|n| n.out_of_order).count()
    }

    /// Number of roots of each kind: `(no cause, external, missing parent, cycle)`.
    #[must_use]
    pub fn root_counts(&self) -> (usize, usize, usize, usize) {
        let mut counts = (0, 0, 0, 0);
        for root in self.nodes.iter().filter_map(|n| n.root.as_ref()) {
            match root {
                RootKind::NoCause => counts.0 += 1,
                RootKind::External { .. } => counts.1 += 1,
                RootKind::MissingParent { .. } => counts.2 += 1,
                RootKind::Cycle { .. } => counts.3 += 1,
            }
        }
        counts
    }

    /// Node indexes in tree order (depth first, children in global order), with depth.
    #[must_use]
    pub fn tree_order(&self) -> Vec<usize> {
        let mut order = Vec::with_capacity(self.nodes.len());
        let mut stack: Vec<usize> = self.roots.iter().rev().copied().collect();
        while let Some(index) = stack.pop() {
            order.push(index);
            stack.extend(self.nodes[index].children.iter().rev().copied());
        }
        order
    }
}

/// What the ids in a trace look like, to tell a lost parent from an external command.
///
/// A causation id that no event carries is a *missing parent* when it has the shape of the
/// trace's event ids (same length and the same non-alphanumeric characters in the same
/// places, e.g. a bare UUID) while the trace's other unresolved causes have a different shape
/// (e.g. `cmd-<uuid>`): then it names an event, not a command. Otherwise it is an external
/// cause. With no differently shaped external cause to compare with, nothing is called
/// missing: the trace gives no evidence either way.
struct IdShapes {
    event_shapes: Vec<String>,
    external_other_shape: bool,
}

impl IdShapes {
    fn of(events: &[Event], parents: &[Option<usize>]) -> Self {
        let mut event_shapes: Vec<String> = events
            .iter()
            .filter_map(|e| e.event_id.as_deref().map(shape))
            .collect();
        event_shapes.sort_unstable();
        event_shapes.dedup();
        let external_other_shape = events.iter().zip(parents).any(|(event, parent)| {
            parent.is_none()
                && event.causation_id.as_deref().is_some_and(|cause| {
                    Some(cause) != event.event_id.as_deref()
                        && event_shapes.binary_search(&shape(cause)).is_err()
                })
        });
        Self {
            event_shapes,
            external_other_shape,
        }
    }

    fn looks_like_lost_event(&self, cause: &str) -> bool {
        self.external_other_shape && self.event_shapes.binary_search(&shape(cause)).is_ok()
    }
}

/// The shape of an id, to tell event ids from command ids: `8-4-4-4-12` hex →
/// `aaaaaaaa-aaaa-…` (alphanumerics become `a`, the rest stays).
pub(crate) fn shape(id: &str) -> String {
    id.chars()
        .map(|c| if c.is_alphanumeric() { 'a' } else { c })
        .collect()
}

/// Breaks causation loops: a node whose ancestor chain returns to itself becomes a root.
fn cut_cycles(nodes: &mut [TraceNode]) {
    // 0 = unvisited, 1 = on the current path, 2 = done.
    let mut mark = vec![0u8; nodes.len()];
    for start in 0..nodes.len() {
        let mut path = Vec::new();
        let mut current = Some(start);
        while let Some(index) = current {
            match mark[index] {
                2 => break,
                1 => {
                    // `index` closes a loop: cut its parent link.
                    let cause_id = nodes[index].event.causation_id.clone().unwrap_or_default();
                    nodes[index].parent = None;
                    nodes[index].out_of_order = false;
                    nodes[index].root = Some(RootKind::Cycle { cause_id });
                    break;
                }
                _ => {
                    mark[index] = 1;
                    path.push(index);
                    current = nodes[index].parent;
                }
            }
        }
        for index in path {
            mark[index] = 2;
        }
    }
}

fn time_gaps(nodes: &[TraceNode]) -> Vec<TimeGap> {
    let pauses: Vec<(usize, f64)> = nodes
        .windows(2)
        .enumerate()
        .filter_map(|(i, pair)| {
            let (a, b) = (pair[0].event.recorded_at?, pair[1].event.recorded_at?);
            Some((i, (b - a).num_milliseconds().max(0) as f64 / 1e3))
        })
        .collect();
    if pauses.len() < 3 {
        return Vec::new();
    }
    let mut sorted: Vec<f64> = pauses.iter().map(|(_, s)| *s).collect();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let threshold = (median * GAP_FACTOR).max(GAP_MIN_SECONDS);
    pauses
        .into_iter()
        .filter(|(_, seconds)| *seconds > threshold)
        .map(|(after, seconds)| TimeGap {
            after,
            before: after + 1,
            seconds,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Payload;

    fn ev(position: u64, stream: &str, id: &str, cause: Option<&str>) -> Event {
        Event {
            global_position: position,
            stream_id: stream.to_owned(),
            stream_version: position,
            event_id: Some(id.to_owned()),
            event_type: format!("T{position}"),
            schema_version: None,
            recorded_at: chrono::DateTime::from_timestamp(1_700_000_000 + position as i64, 0),
            payload: Payload::empty(),
            metadata: Payload::empty(),
            correlation_id: Some("c".to_owned()),
            causation_id: cause.map(str::to_owned),
            stored_type: None,
            problems: Vec::new(),
        }
    }

    #[test]
    fn tree_depths_roots_and_lanes() {
        let trace = Trace::build(
            "c",
            vec![
                ev(3, "payment-1", "e3", Some("e2")),
                ev(1, "order-1", "e1", Some("cmd-x")),
                ev(2, "order-1", "e2", Some("e1")),
                ev(5, "shipment-1", "e5", Some("e3")),
                ev(6, "order-1", "e6", Some("e3")),
            ],
        );
        let depths: Vec<u32> = trace.nodes.iter().map(|n| n.depth).collect();
        assert_eq!(depths, vec![0, 1, 2, 3, 3]);
        assert_eq!(trace.roots, vec![0]);
        assert_eq!(
            trace.nodes[0].root,
            Some(RootKind::External {
                cause_id: "cmd-x".to_owned()
            })
        );
        assert_eq!(trace.nodes[2].children, vec![3, 4]);
        assert_eq!(trace.streams, vec!["order-1", "payment-1", "shipment-1"]);
        assert_eq!(trace.nodes[3].lane, 2);
        assert_eq!(trace.tree_order(), vec![0, 1, 2, 3, 4]);
        assert_eq!(trace.max_depth(), 3);
        assert_eq!(trace.nodes[1].parent_event_id(&trace), Some("e1"));
    }

    #[test]
    fn out_of_order_and_missing_parent() {
        let uuid = |n: u8| format!("0000000{n}-0000-4000-8000-000000000000");
        let trace = Trace::build(
            "c",
            vec![
                // Child recorded before its parent.
                ev(1, "payment-1", &uuid(1), Some(&uuid(2))),
                ev(
                    2,
                    "order-1",
                    &uuid(2),
                    Some("cmd-00000000-0000-4000-8000-000000000009"),
                ),
                // Caused by a uuid-shaped id no event carries: a lost parent.
                ev(3, "payment-2", &uuid(3), Some(&uuid(7))),
            ],
        );
        assert!(trace.nodes[0].out_of_order);
        assert_eq!(trace.nodes[0].depth, 1);
        assert_eq!(
            trace.nodes[1].root.as_ref().map(RootKind::label),
            Some("external")
        );
        assert_eq!(
            trace.nodes[2].root.as_ref().map(RootKind::label),
            Some("missing-parent")
        );
        assert_eq!(trace.out_of_order_count(), 1);
        assert_eq!(trace.root_counts(), (0, 1, 1, 0));
    }

    #[test]
    fn same_shaped_external_causes_are_not_missing_parents() {
        let trace = Trace::build(
            "c",
            vec![
                ev(1, "a", "11", Some("99")),
                ev(2, "a", "12", Some("11")),
                ev(3, "b", "13", Some("98")),
            ],
        );
        assert_eq!(trace.root_counts(), (0, 2, 0, 0));
    }

    #[test]
    fn self_cause_and_cycles_terminate() {
        let trace = Trace::build(
            "c",
            vec![
                ev(1, "a", "e1", Some("e1")),
                ev(2, "a", "e2", Some("e3")),
                ev(3, "a", "e3", Some("e2")),
            ],
        );
        assert_eq!(trace.nodes[0].root, Some(RootKind::NoCause));
        assert_eq!(trace.root_counts().3, 1);
        assert_eq!(trace.tree_order().len(), 3);
    }

    #[test]
    fn long_pauses_are_gaps() {
        let mut events: Vec<Event> = (1..=6)
            .map(|i| ev(i, "a", &format!("e{i}"), None))
            .collect();
        events[5].recorded_at = chrono::DateTime::from_timestamp(1_700_000_000 + 3_600, 0);
        let trace = Trace::build("c", events);
        assert_eq!(trace.gaps.len(), 1);
        assert_eq!((trace.gaps[0].after, trace.gaps[0].before), (4, 5));
        assert!(Trace::build("c", Vec::new()).gaps.is_empty());
    }
}
