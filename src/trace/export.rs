//! Trace exports: JSON Lines (the CLI), one JSON document, and Graphviz DOT.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::trace::{RootKind, Trace};

/// One event of a trace as JSON: the event's own fields (as `eventscope log --json` prints
/// them) plus `parent_event_id`, `depth`, `root` (why it has no parent: `no-cause`,
/// `external`, `missing-parent`, `cycle`), `out_of_order` and `children`.
#[must_use]
pub fn node_json(trace: &Trace, index: usize) -> Value {
    let node = &trace.nodes[index];
    let mut value = node.event.to_json();
    if let Value::Object(map) = &mut value {
        map.insert(
            "parent_event_id".to_owned(),
            json!(node.parent_event_id(trace)),
        );
        map.insert(
            "parent_position".to_owned(),
            json!(node.parent.map(|p| trace.nodes[p].event.global_position)),
        );
        map.insert("depth".to_owned(), json!(node.depth));
        map.insert(
            "root".to_owned(),
            json!(node.root.as_ref().map(RootKind::label)),
        );
        map.insert("out_of_order".to_owned(), json!(node.out_of_order));
        map.insert(
            "children".to_owned(),
            json!(
                node.children
                    .iter()
                    .map(|&c| trace.nodes[c].event.global_position)
                    .collect::<Vec<_>>()
            ),
        );
    }
    value
}

/// One JSON object per event, in global order (`eventscope trace --json`).
#[must_use]
pub fn json_lines(trace: &Trace) -> Vec<Value> {
    (0..trace.nodes.len())
        .map(|i| node_json(trace, i))
        .collect()
}

/// The whole trace as one JSON document: summary, roots, gaps and events.
#[must_use]
pub fn to_json(trace: &Trace) -> Value {
    let (no_cause, external, missing, cycles) = trace.root_counts();
    json!({
        "correlation_id": trace.correlation_id,
        "event_count": trace.nodes.len(),
        "streams": trace.streams,
        "max_depth": trace.max_depth(),
        "roots": trace.roots.iter().map(|&r| {
            let node = &trace.nodes[r];
            json!({
                "global_position": node.event.global_position,
                "event_id": node.event.event_id,
                "kind": node.root.as_ref().map(RootKind::label),
                "cause_id": node.root.as_ref().and_then(RootKind::cause_id),
            })
        }).collect::<Vec<_>>(),
        "root_counts": {
            "no_cause": no_cause,
            "external": external,
            "missing_parent": missing,
            "cycle": cycles,
        },
        "out_of_order": trace.out_of_order_count(),
        "gaps": trace.gaps.iter().map(|g| json!({
            "after_position": trace.nodes[g.after].event.global_position,
            "before_position": trace.nodes[g.before].event.global_position,
            "seconds": g.seconds,
        })).collect::<Vec<_>>(),
        "events": json_lines(trace),
    })
}

fn dot_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The causal tree as a Graphviz `digraph`: one node per event (type, stream, version,
/// position), grouped in a cluster per stream, an edge per causation; external causes and
/// missing parents as dashed nodes; out-of-order edges and missing parents in red.
#[must_use]
pub fn to_dot(trace: &Trace) -> String {
    let mut out = String::new();
    writeln!(
        out,
        "digraph trace {{\n  label=\"correlation {}\";\n  labelloc=t;\n  rankdir=LR;\n  node [shape=box, fontname=\"sans-serif\", fontsize=10];",
        dot_escape(&trace.correlation_id)
    )
    .ok();
    for (lane, stream) in trace.streams.iter().enumerate() {
        writeln!(
            out,
            "  subgraph cluster_{lane} {{\n    label=\"{}\";\n    style=rounded;",
            dot_escape(stream)
        )
        .ok();
        for node in trace.nodes.iter().filter(|n| n.lane == lane) {
            let e = &node.event;
            let colour = if node.out_of_order { ", color=red" } else { "" };
            writeln!(
                out,
                "    e{} [label=\"{}\\n{} v{}\\n#{}\"{colour}];",
                e.global_position,
                dot_escape(&e.event_type),
                dot_escape(&e.stream_id),
                e.stream_version,
                e.global_position
            )
            .ok();
        }
        writeln!(out, "  }}").ok();
    }
    for (index, node) in trace.nodes.iter().enumerate() {
        let position = node.event.global_position;
        match (&node.root, node.parent) {
            (_, Some(parent)) => {
                let style = if node.out_of_order {
                    " [color=red, label=\"recorded before its parent\"]"
                } else {
                    ""
                };
                writeln!(
                    out,
                    "  e{} -> e{position}{style};",
                    trace.nodes[parent].event.global_position
                )
                .ok();
            }
            (Some(RootKind::External { cause_id }), None) => {
                writeln!(
                    out,
                    "  x{index} [label=\"external cause\\n{}\", shape=ellipse, style=dashed];\n  x{index} -> e{position} [style=dashed];",
                    dot_escape(cause_id)
                )
                .ok();
            }
            (Some(RootKind::MissingParent { cause_id }), None) => {
                writeln!(
                    out,
                    "  x{index} [label=\"missing parent\\n{}\", shape=ellipse, style=dashed, color=red];\n  x{index} -> e{position} [style=dashed, color=red];",
                    dot_escape(cause_id)
                )
                .ok();
            }
            _ => {}
        }
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Event, Payload};

    fn ev(position: u64, id: &str, cause: &str) -> Event {
        Event {
            global_position: position,
            stream_id: format!("s-{}", position % 2),
            stream_version: position,
            event_id: Some(id.to_owned()),
            event_type: "Happened \"quoted\"".to_owned(),
            schema_version: None,
            recorded_at: None,
            payload: Payload::empty(),
            metadata: Payload::empty(),
            correlation_id: Some("c".to_owned()),
            causation_id: Some(cause.to_owned()),
            stored_type: None,
            problems: Vec::new(),
        }
    }

    #[test]
    fn json_and_dot() {
        let trace = Trace::build("c", vec![ev(1, "e1", "cmd"), ev(2, "e2", "e1")]);
        let lines = json_lines(&trace);
        assert_eq!(lines[1]["parent_event_id"], "e1");
        assert_eq!(lines[1]["depth"], 1);
        assert_eq!(lines[0]["root"], "external");
        assert_eq!(lines[0]["children"], json!([2]));
        let doc = to_json(&trace);
        assert_eq!(doc["event_count"], 2);
        assert_eq!(doc["roots"][0]["cause_id"], "cmd");
        let dot = to_dot(&trace);
        assert!(dot.starts_with("digraph trace {"));
        assert!(dot.contains("e1 -> e2;"));
        assert!(dot.contains("external cause\\ncmd"));
        assert!(dot.contains("Happened \\\"quoted\\\""));
        assert!(dot.trim_end().ends_with('}'));
    }
}
