//! The trace page's timeline: one lane per stream, events at their recorded times (or in
//! position order when times are missing), causal links and gaps.

use egui::RichText;
use egui_plot::{Line, MarkerShape, Plot, PlotPoint, PlotPoints, Points, Polygon};

use super::{TraceState, duration_text};
use crate::context::messages::AppCommand;
use crate::trace::{RootKind, Trace};
use crate::ui::theme::{SERIES, palette};
use crate::ui::{long_time, short_id};

/// One point per event: x = seconds since the trace's first recorded time (or the position
/// order when times are missing), y = −lane.
/// The timeline's x origin: the first recorded time, down to its whole minute, so the
/// axis marks (multiples of its step in seconds) fall on round times.
fn timeline_origin(trace: &Trace) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::{DurationRound as _, TimeDelta};
    let first = trace.nodes.iter().find_map(|n| n.event.recorded_at)?;
    Some(first.duration_trunc(TimeDelta::minutes(1)).unwrap_or(first))
}

fn event_points(trace: &Trace) -> Vec<[f64; 2]> {
    let start = timeline_origin(trace);
    trace
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let x = match (start, node.event.recorded_at) {
                (Some(start), Some(at)) => (at - start).num_milliseconds() as f64 / 1e3,
                _ => i as f64,
            };
            [x, -(node.lane as f64)]
        })
        .collect()
}

pub(super) fn timeline_ui(
    ui: &mut egui::Ui,
    state: &mut TraceState,
    trace: &Trace,
    commands: &mut Vec<AppCommand>,
) {
    let colours = palette(ui);
    let points = event_points(trace);
    let start = timeline_origin(trace);
    let lanes = trace.streams.clone();
    let lane_names = lanes.clone();
    let hover_points = points.clone();
    let hover_text: Vec<String> = trace
        .nodes
        .iter()
        .map(|n| {
            format!(
                "{} · #{}\n{} v{}\n{}",
                n.event.event_type,
                n.event.global_position,
                n.event.stream_id,
                n.event.stream_version,
                long_time(n.event.recorded_at)
            )
        })
        .collect();
    ui.label(
        RichText::new("One lane per stream; hover a point for details, click it to open the event in its stream")
            .color(colours.muted),
    );
    let plot = Plot::new("trace-timeline")
        .allow_scroll(false)
        .y_grid_spacer(move |input| {
            let (low, high) = input.bounds;
            (0..lanes.len())
                .map(|lane| -(lane as f64))
                .filter(|y| *y >= low - 1.0 && *y <= high + 1.0)
                .map(|value| egui_plot::GridMark {
                    value,
                    step_size: 1.0,
                })
                .collect()
        })
        .y_axis_formatter(move |mark, _| {
            let lane = (-mark.value).round();
            if (mark.value + lane).abs() > 1e-6 || lane < 0.0 {
                return String::new();
            }
            lane_names
                .get(lane as usize)
                .map(|s| short_id(s, 22))
                .unwrap_or_default()
        })
        .y_axis_min_width(150.0)
        .x_axis_formatter(move |mark, _| match start {
            Some(start) => {
                let at = start + chrono::TimeDelta::milliseconds((mark.value * 1e3) as i64);
                if mark.step_size >= 1.0 {
                    at.format("%H:%M:%S").to_string()
                } else {
                    at.format("%H:%M:%S%.3f").to_string()
                }
            }
            None => format!("event {}", mark.value),
        })
        .include_y(0.5)
        .include_y(-(trace.streams.len() as f64) + 0.5)
        .label_formatter(move |position| match position {
            egui_plot::HoverPosition::NearDataPoint { position, .. } => hover_points
                .iter()
                .position(|p| (p[0] - position.x).abs() < 1e-9 && (p[1] - position.y).abs() < 1e-9)
                .and_then(|i| hover_text.get(i).cloned()),
            egui_plot::HoverPosition::Elsewhere { .. } => None,
        });
    let gap_colour = colours.warning.gamma_multiply(0.25);
    let response = plot.show(ui, |plot_ui| {
        let bottom = -(trace.streams.len() as f64) + 0.5;
        for gap in &trace.gaps {
            let (a, b) = (points[gap.after][0], points[gap.before][0]);
            plot_ui.polygon(
                Polygon::new(
                    format!("gap {}", duration_text(gap.seconds)),
                    PlotPoints::from(vec![[a, bottom], [b, bottom], [b, 0.5], [a, 0.5]]),
                )
                .fill_color(gap_colour)
                .stroke(egui::Stroke::NONE),
            );
        }
        for (index, node) in trace.nodes.iter().enumerate() {
            if let Some(parent) = node.parent {
                let colour = if node.out_of_order {
                    colours.error
                } else {
                    colours.muted
                };
                plot_ui.line(
                    Line::new(
                        "causation",
                        PlotPoints::from(vec![points[parent], points[index]]),
                    )
                    .color(colour)
                    .width(if node.out_of_order { 2.0 } else { 1.0 }),
                );
            }
        }
        for (lane, stream) in trace.streams.iter().enumerate() {
            let lane_points: Vec<[f64; 2]> = trace
                .nodes
                .iter()
                .zip(&points)
                .filter(|(n, _)| n.lane == lane)
                .map(|(_, p)| *p)
                .collect();
            plot_ui.points(
                Points::new(stream.clone(), PlotPoints::from(lane_points))
                    .color(SERIES[lane % SERIES.len()])
                    .radius(5.0)
                    .filled(true)
                    .shape(MarkerShape::Circle),
            );
        }
        let flagged: Vec<[f64; 2]> = trace
            .nodes
            .iter()
            .zip(&points)
            .filter(|(n, _)| {
                n.out_of_order
                    || matches!(
                        n.root,
                        Some(RootKind::MissingParent { .. } | RootKind::Cycle { .. })
                    )
            })
            .map(|(_, p)| *p)
            .collect();
        if !flagged.is_empty() {
            plot_ui.points(
                Points::new("flagged", PlotPoints::from(flagged))
                    .color(colours.error)
                    .radius(9.0)
                    .filled(false)
                    .shape(MarkerShape::Circle),
            );
        }
        if let Some(selected) = state.selected.and_then(|p| trace.node_at(p)) {
            plot_ui.points(
                Points::new("selected", PlotPoints::from(vec![points[selected]]))
                    .color(colours.link)
                    .radius(8.0)
                    .filled(false)
                    .shape(MarkerShape::Square),
            );
        }
    });
    if response.response.clicked()
        && let Some(pointer) = response.response.interact_pointer_pos()
    {
        let nearest = points
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let screen = response
                    .transform
                    .position_from_point(&PlotPoint::new(p[0], p[1]));
                (i, screen.distance(pointer))
            })
            .min_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((index, distance)) = nearest
            && distance < 12.0
        {
            let event = trace.nodes[index].event.clone();
            state.selected = Some(event.global_position);
            commands.push(AppCommand::OpenInStream(Box::new(event)));
        }
    }
}
