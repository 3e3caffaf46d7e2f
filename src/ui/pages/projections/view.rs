//! The projections view: a lag table (events and seconds behind, rate, trend, status,
//! ETA) and a lag chart over time with history from earlier sessions.

use std::collections::BTreeMap;

use egui::{RichText, Ui};
use egui_extras::{Column, TableBuilder};
use egui_plot::{HLine, Legend, Line, Plot, PlotPoints};

use crate::context::messages::AppCommand;
use crate::core::lag::{LagSample, LagStatus, LagSummary};
use crate::ui::theme::{ROW_HEIGHT, palette};
use crate::ui::{Commands, thousands};

/// Samples kept in memory per projection (older ones stay in the history file).
pub const MAX_SAMPLES: usize = 100_000;

/// What the chart plots.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LagUnit {
    /// Events behind.
    #[default]
    Events,
    /// Seconds behind: the age of the oldest unprocessed event.
    Seconds,
    /// Seconds behind the head in event time (head event's time minus the first
    /// unprocessed event's time): meaningful on a store that is not written any more.
    BehindHead,
}

impl LagUnit {
    /// The sample's value in this unit (NaN when unknown).
    fn value(self, sample: &LagSample) -> f64 {
        match self {
            LagUnit::Events => sample.lag_events as f64,
            LagUnit::Seconds => sample.lag_seconds,
            LagUnit::BehindHead => sample.behind_head_seconds,
        }
    }
}

/// The chart's time range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ChartRange {
    /// Last 5 minutes.
    #[default]
    FiveMinutes,
    /// Last hour.
    Hour,
    /// Last 24 hours.
    Day,
    /// Everything recorded.
    All,
}

impl ChartRange {
    fn seconds(self) -> Option<f64> {
        match self {
            Self::FiveMinutes => Some(300.0),
            Self::Hour => Some(3_600.0),
            Self::Day => Some(86_400.0),
            Self::All => None,
        }
    }
}

/// State of the projections view.
#[derive(Debug)]
pub struct ProjectionsState {
    /// Samples per projection, oldest first.
    pub series: BTreeMap<String, Vec<LagSample>>,
    /// The latest summary per projection.
    pub summaries: Vec<LagSummary>,
    /// Chart unit.
    pub unit: LagUnit,
    /// Chart range.
    pub range: ChartRange,
    /// Threshold line (in the chart's unit), as typed.
    pub threshold: String,
    /// Keep the chart on the newest samples.
    pub follow: bool,
    /// Sampling interval in seconds.
    pub interval_secs: f64,
    /// Seconds without progress (while behind) before a projection counts as stalled.
    pub stall_after_secs: f64,
    /// Path of a tracking store to attach.
    pub attach_path: String,
    /// Attached tracking stores.
    pub attached: Vec<String>,
    /// Where the history is kept, and how much of it was loaded.
    pub history_note: Option<String>,
    /// Per consumer group (Kafka): its partitions at the last sample.
    pub partitions: BTreeMap<String, Vec<crate::core::PartitionLag>>,
}

impl Default for ProjectionsState {
    fn default() -> Self {
        Self {
            series: BTreeMap::new(),
            summaries: Vec::new(),
            unit: LagUnit::Events,
            range: ChartRange::FiveMinutes,
            threshold: String::new(),
            follow: true,
            interval_secs: 1.0,
            stall_after_secs: 30.0,
            attach_path: String::new(),
            attached: Vec::new(),
            history_note: None,
            partitions: BTreeMap::new(),
        }
    }
}

impl ProjectionsState {
    /// Adds samples (in time order per projection), keeping memory bounded.
    pub fn add(&mut self, samples: Vec<(String, LagSample)>) {
        for (name, sample) in samples {
            let series = self.series.entry(name).or_default();
            match series.last() {
                Some(last) if last.at >= sample.at => {
                    // History or reconstruction arriving out of order: insert in place.
                    let index = series.partition_point(|s| s.at < sample.at);
                    if series.get(index).is_none_or(|s| s.at != sample.at) {
                        series.insert(index, sample);
                    }
                }
                _ => series.push(sample),
            }
            if series.len() > MAX_SAMPLES {
                let excess = series.len() - MAX_SAMPLES;
                series.drain(..excess);
            }
        }
    }

    /// Recomputes the summaries from the samples.
    pub fn summarize(&mut self) {
        let params = crate::core::lag::LagParams {
            stall_after: std::time::Duration::from_secs_f64(self.stall_after_secs.max(1.0)),
            ..Default::default()
        };
        let gap = self.gap_seconds();
        self.summaries = self
            .series
            .iter()
            .filter_map(|(name, samples)| {
                // Only the samples since the last gap: rates across a gap mean nothing.
                let start = samples
                    .windows(2)
                    .rposition(|w| (w[1].at - w[0].at).num_milliseconds() as f64 / 1e3 > gap)
                    .map_or(0, |i| i + 1);
                LagSummary::from_samples(name, &samples[start..], &params)
            })
            .collect();
    }

    /// Consecutive samples further apart than this are drawn with a gap between them.
    #[must_use]
    pub fn gap_seconds(&self) -> f64 {
        (self.interval_secs * 3.0).max(5.0)
    }
}

/// Consumer groups' partitions (Kafka): committed offset, high watermark and records behind
/// for each, folded under one header per group.
fn partitions_ui(ui: &mut Ui, state: &ProjectionsState) {
    for (group, partitions) in &state.partitions {
        let behind: u64 = partitions.iter().map(|p| p.lag_events).sum();
        egui::CollapsingHeader::new(format!(
            "{group}: {} partitions, {} behind",
            partitions.len(),
            thousands(behind)
        ))
        .id_salt(("partitions", group))
        .show(ui, |ui| {
            egui::Grid::new(("partition-grid", group))
                .striped(true)
                .num_columns(4)
                .show(ui, |ui| {
                    ui.strong("Partition");
                    ui.strong("Committed");
                    ui.strong("High watermark");
                    ui.strong("Behind");
                    ui.end_row();
                    for p in partitions {
                        ui.label(p.partition.to_string());
                        let committed = p
                            .committed
                            .map_or_else(|| "none committed".to_owned(), |c| c.to_string());
                        ui.monospace(committed);
                        ui.monospace(p.high_watermark.to_string());
                        ui.monospace(thousands(p.lag_events));
                        ui.end_row();
                    }
                });
        });
    }
}

fn status_text(ui: &Ui, status: LagStatus) -> RichText {
    let colours = palette(ui);
    let text = RichText::new(status.to_string());
    match status {
        LagStatus::Stalled => text.color(colours.error).strong(),
        LagStatus::FallingBehind => text.color(colours.warning),
        LagStatus::CaughtUp => text.color(colours.number),
        _ => text,
    }
}

fn duration_text(seconds: f64) -> String {
    if seconds.is_nan() {
        "—".to_owned()
    } else if seconds < 1.0 {
        format!("{:.0} ms", seconds * 1e3)
    } else if seconds < 120.0 {
        format!("{seconds:.1} s")
    } else if seconds < 7_200.0 {
        format!("{:.1} min", seconds / 60.0)
    } else if seconds < 172_800.0 {
        format!("{:.1} h", seconds / 3_600.0)
    } else {
        format!("{:.1} d", seconds / 86_400.0)
    }
}

fn time_label(seconds: f64) -> String {
    let millis = (seconds * 1e3) as i64;
    chrono::DateTime::from_timestamp_millis(millis)
        .map_or_else(String::new, |t| t.format("%H:%M:%S").to_string())
}

/// Draws the projections view.
pub fn projections_ui(ui: &mut Ui, state: &mut ProjectionsState, commands: &mut Commands) {
    let colours = palette(ui);
    ui.horizontal_wrapped(|ui| {
        let label = ui.label("Sample every");
        ui.add(
            egui::DragValue::new(&mut state.interval_secs)
                .range(0.2..=60.0)
                .speed(0.1)
                .suffix(" s"),
        )
        .labelled_by(label.id);
        let label = ui.label("Stalled after");
        ui.add(
            egui::DragValue::new(&mut state.stall_after_secs)
                .range(2.0..=3_600.0)
                .speed(1.0)
                .suffix(" s"),
        )
        .labelled_by(label.id);
        ui.separator();
        let label = ui.label("Tracking store");
        ui.add(
            egui::TextEdit::singleline(&mut state.attach_path)
                .hint_text("downstream application's SQLite file")
                .desired_width(260.0),
        )
        .labelled_by(label.id);
        if ui
            .button("Attach")
            .on_hover_text("Add the checkpoints of a downstream application's own store")
            .clicked()
            && !state.attach_path.trim().is_empty()
        {
            commands.push(AppCommand::AttachTracking(
                state.attach_path.trim().to_owned(),
            ));
        }
        for attached in &state.attached {
            ui.label(RichText::new(attached).monospace().small())
                .on_hover_text("attached tracking store");
        }
    });
    if let Some(note) = &state.history_note {
        ui.label(RichText::new(note).color(colours.muted).small());
    }
    ui.separator();
    if state.summaries.is_empty() {
        ui.label(RichText::new("This store records no projection checkpoints (yet). Attach the tracking store of a downstream application above, if it keeps one.").color(colours.muted));
        return;
    }
    let table_height = (state.summaries.len() as f32 + 1.5) * ROW_HEIGHT;
    // Names as wide as the longest one (Message DB's position streams are long), within
    // reason: the numbers beside them stay on screen.
    let font = egui::TextStyle::Body.resolve(ui.style());
    let name_width = state
        .summaries
        .iter()
        .map(|s| {
            ui.painter()
                .layout_no_wrap(s.name.clone(), font.clone(), colours.muted)
                .size()
                .x
        })
        .fold(200.0_f32, f32::max)
        .min(420.0)
        + 12.0;
    ui.allocate_ui(
        egui::vec2(
            ui.available_width(),
            table_height.min(ui.available_height() * 0.4),
        ),
        |ui| {
            TableBuilder::new(ui)
                .id_salt("lag-table")
                .striped(true)
                .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
                .column(
                    Column::initial(name_width)
                        .at_least(120.0)
                        .clip(true)
                        .resizable(true),
                )
                .columns(Column::exact(96.0), 5)
                .column(Column::exact(80.0))
                .column(Column::exact(110.0))
                .column(Column::exact(90.0))
                .auto_shrink([false, true])
                .header(ROW_HEIGHT, |mut header| {
                    header.col(|ui| {
                        ui.strong("Projection");
                    });
                    for title in [
                        "Position",
                        "Head",
                        "Behind",
                        "Behind (time)",
                        "Behind head",
                        "Events/s",
                    ] {
                        header.col(|ui| crate::ui::right_header(ui, title));
                    }
                    header.col(|ui| {
                        ui.strong("Status");
                    });
                    header.col(|ui| crate::ui::right_header(ui, "ETA"));
                })
                .body(|body| {
                    body.rows(ROW_HEIGHT, state.summaries.len(), |mut row| {
                        let summary = &state.summaries[row.index()];
                        row.col(|ui| {
                            ui.add(egui::Label::new(&summary.name).truncate());
                        });
                        row.col(|ui| crate::ui::right_aligned(ui, thousands(summary.position)));
                        row.col(|ui| crate::ui::right_aligned(ui, thousands(summary.head)));
                        row.col(|ui| crate::ui::right_aligned(ui, thousands(summary.lag_events)));
                        row.col(|ui| {
                            crate::ui::right_aligned(ui, duration_text(summary.lag_seconds));
                        });
                        row.col(|ui| {
                            crate::ui::right_aligned(
                                ui,
                                duration_text(summary.behind_head_seconds),
                            );
                        });
                        row.col(|ui| {
                            crate::ui::right_aligned(
                                ui,
                                summary
                                    .rate
                                    .map_or_else(|| "—".to_owned(), |r| format!("{r:.1}")),
                            );
                        });
                        row.col(|ui| {
                            ui.label(status_text(ui, summary.status));
                        });
                        row.col(|ui| {
                            crate::ui::right_aligned(
                                ui,
                                summary.eta.map_or_else(
                                    || "—".to_owned(),
                                    |eta| duration_text(eta.as_secs_f64()),
                                ),
                            );
                        });
                    });
                });
        },
    );
    partitions_ui(ui, state);
    ui.separator();
    ui.horizontal_wrapped(|ui| {
        ui.label("Chart");
        ui.selectable_value(&mut state.unit, LagUnit::Events, "Events behind");
        ui.selectable_value(&mut state.unit, LagUnit::Seconds, "Seconds behind");
        ui.selectable_value(&mut state.unit, LagUnit::BehindHead, "Behind head")
            .on_hover_text("Head event's time minus the first unprocessed event's time");
        ui.separator();
        for (range, name) in [
            (ChartRange::FiveMinutes, "5 min"),
            (ChartRange::Hour, "1 h"),
            (ChartRange::Day, "24 h"),
            (ChartRange::All, "All"),
        ] {
            if ui.selectable_label(state.range == range, name).clicked() {
                state.range = range;
                state.follow = true;
            }
        }
        ui.separator();
        let label = ui.label("Threshold");
        ui.add(
            egui::TextEdit::singleline(&mut state.threshold)
                .hint_text("none")
                .desired_width(70.0),
        )
        .labelled_by(label.id);
        ui.checkbox(&mut state.follow, "Follow");
    });
    let unit = state.unit;
    let gap = state.gap_seconds();
    let newest = state
        .series
        .values()
        .filter_map(|s| s.last())
        .map(|s| s.at)
        .max();
    let threshold = state.threshold.trim().parse::<f64>().ok();
    // Headroom above the highest value, so a line far behind is not drawn on the frame.
    let top = state
        .series
        .values()
        .flatten()
        .map(|s| unit.value(s))
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    // The newest samples are on the right (and at the top when far behind): the legend sits
    // top left, over the oldest.
    let mut plot = Plot::new("lag-chart")
        .legend(Legend::default().position(egui_plot::Corner::LeftTop))
        .x_axis_formatter(|mark, _| time_label(mark.value))
        .y_axis_label(match unit {
            LagUnit::Events => "events behind",
            LagUnit::Seconds => "seconds behind",
            LagUnit::BehindHead => "seconds behind the head",
        })
        .include_y(0.0)
        .include_y(top * 1.08)
        .label_formatter(move |position| match position {
            egui_plot::HoverPosition::NearDataPoint {
                plot_name,
                position,
                ..
            } => Some(format!(
                "{plot_name}\n{}\n{}",
                time_label(position.x),
                match unit {
                    LagUnit::Events => format!(
                        "{} events behind",
                        thousands(position.y.max(0.0).round() as u64)
                    ),
                    LagUnit::Seconds => format!("{} behind", duration_text(position.y)),
                    LagUnit::BehindHead => {
                        format!("{} behind the head", duration_text(position.y))
                    }
                }
            )),
            egui_plot::HoverPosition::Elsewhere { .. } => None,
        });
    if state.follow {
        plot = plot.auto_bounds(egui::Vec2b::new(false, true));
    }
    let range = state.range.seconds();
    let follow = state.follow;
    let series = &state.series;
    let response = plot.show(ui, |plot_ui| {
        for (index, (name, samples)) in series.iter().enumerate() {
            let colour = crate::ui::theme::SERIES[index % crate::ui::theme::SERIES.len()];
            // One line per run of samples without a gap, so the time the app was closed
            // shows as a gap.
            let mut run: Vec<[f64; 2]> = Vec::new();
            let mut previous: Option<&LagSample> = None;
            let flush = |run: &mut Vec<[f64; 2]>, plot_ui: &mut egui_plot::PlotUi<'_>| {
                if !run.is_empty() {
                    plot_ui.line(
                        Line::new(name.clone(), PlotPoints::from(std::mem::take(run)))
                            .color(colour)
                            .width(1.5),
                    );
                }
            };
            for sample in samples {
                if previous
                    .is_some_and(|p| (sample.at - p.at).num_milliseconds() as f64 / 1e3 > gap)
                {
                    flush(&mut run, plot_ui);
                }
                let y = unit.value(sample);
                // Unknown (a store without times): a gap in the line.
                if y.is_nan() {
                    flush(&mut run, plot_ui);
                    previous = Some(sample);
                    continue;
                }
                run.push([sample.at.timestamp_millis() as f64 / 1e3, y]);
                previous = Some(sample);
            }
            flush(&mut run, plot_ui);
        }
        if let Some(threshold) = threshold {
            plot_ui.hline(
                HLine::new("threshold", threshold)
                    .color(colours.error)
                    .width(1.0),
            );
        }
        if follow && let Some(newest) = newest {
            let end = newest.timestamp_millis() as f64 / 1e3;
            let start = match range {
                Some(span) => end - span,
                None => series
                    .values()
                    .filter_map(|s| s.first())
                    .map(|s| s.at.timestamp_millis() as f64 / 1e3)
                    .fold(end, f64::min),
            };
            plot_ui.set_plot_bounds_x(start..=end + (end - start) * 0.02);
        }
    });
    if response.response.dragged()
        || response.response.hovered() && ui.input(|i| i.smooth_scroll_delta != egui::Vec2::ZERO)
    {
        state.follow = false;
    }
}
