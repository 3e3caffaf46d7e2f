//! The audit as one self-contained HTML page: a table of the checks with their bars, each
//! with its examples folded under it (`<details>`). No scripts, no external assets: the page
//! opens the same from a mail attachment, a CI artefact or a file share.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::{CheckResult, Report, Severity};
use crate::core::thousands;

/// Escapes text for HTML element content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The shown severity of a check: `ok` when it found nothing.
fn status(check: &CheckResult) -> &'static str {
    if check.count == 0 {
        "ok"
    } else {
        check.severity.name()
    }
}

/// The bar's width in percent: at least a sliver for any finding.
fn share(check: &CheckResult) -> f64 {
    if check.count == 0 || check.total == 0 {
        return 0.0;
    }
    #[allow(clippy::cast_precision_loss)] // A width in percent.
    let share = check.count as f64 / check.total as f64 * 100.0;
    share.clamp(1.0, 100.0)
}

const STYLE: &str = "
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em;
       color: #1d232a; background: #fff; }
h1 { font-size: 1.4em; margin-bottom: 0.2em; }
.meta { color: #5b6570; margin-bottom: 1.2em; }
.summary span { display: inline-block; margin-right: 1.2em; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 0.35em 0.6em; border-bottom: 1px solid #e3e6ea; vertical-align: top; }
th { color: #5b6570; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code { font: 13px ui-monospace, monospace; }
.sev { font-weight: 700; text-transform: uppercase; font-size: 12px; }
.ok { color: #5b6570; } .info { color: #1f6fb2; } .warning { color: #a35c00; } .error { color: #b3261e; }
.bar { width: 10em; height: 0.7em; background: #eef0f2; border-radius: 3px; margin-top: 0.4em; }
.bar div { height: 100%; border-radius: 3px; }
.bar .info { background: #1f6fb2; } .bar .warning { background: #d08a1c; } .bar .error { background: #b3261e; }
.why { color: #5b6570; }
details { margin-top: 0.3em; } summary { cursor: pointer; color: #1f6fb2; }
details table td { border-bottom: 1px dotted #e3e6ea; padding: 0.2em 0.6em; }
@media print { details { display: block; } }
";

/// The report as a self-contained HTML page for the store at `location`, audited at
/// `generated`.
#[must_use]
pub fn to_html(report: &Report, location: &str, generated: DateTime<Utc>) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let found: Vec<&CheckResult> = report.checks.iter().filter(|c| c.count > 0).collect();
    let worst = found.iter().map(|c| c.severity).max();
    let verdict = match worst {
        None => "every check passed",
        Some(Severity::Info) => "hints only",
        Some(Severity::Warning) => "warnings",
        Some(Severity::Error) => "errors",
    };
    // Writing to a String cannot fail: the results of write! are ignored below.
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>Store health: {title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>Store health</h1>\n<div class=\"meta\"><code>{title}</code><br>audited {time} by \
         eventscope {version}</div>\n<p class=\"summary\"><span><b>{events}</b> events</span>\
         <span><b>{streams}</b> streams</span><span>up to position <b>{head}</b></span>\
         <span><b>{found}</b> of {checks} checks found something: {verdict}</span></p>\n",
        title = escape(location),
        time = generated.format("%Y-%m-%d %H:%M:%S UTC"),
        version = env!("CARGO_PKG_VERSION"),
        events = thousands(report.events),
        streams = thousands(report.streams),
        head = thousands(report.head),
        found = found.len(),
        checks = report.checks.len(),
    );
    out.push_str(
        "<table>\n<thead><tr><th>check</th><th>severity</th><th class=\"num\">count / total</th>\
         <th>share</th><th>why it matters</th></tr></thead>\n<tbody>\n",
    );
    for check in &report.checks {
        check_row(&mut out, check);
    }
    out.push_str("</tbody>\n</table>\n</body>\n</html>\n");
    out
}

fn check_row(out: &mut String, check: &CheckResult) {
    let status = status(check);
    let _ = write!(
        out,
        "<tr id=\"{name}\"><td><code>{name}</code></td><td><span class=\"sev {status}\">{status}\
         </span></td><td class=\"num\">{count} / {total}</td><td><div class=\"bar\" \
         title=\"{pct:.2}%\"><div class=\"{status}\" style=\"width:{width:.2}%\"></div></div>\
         </td><td class=\"why\">{why}",
        name = escape(check.check),
        count = thousands(check.count),
        total = thousands(check.total),
        pct = share(check),
        width = share(check),
        why = escape(check.why()),
    );
    if !check.examples.is_empty() {
        let _ = write!(
            out,
            "<details><summary>{}</summary><table>",
            if check.count > check.examples.len() as u64 {
                format!(
                    "{} shown of the {} found",
                    check.examples.len(),
                    thousands(check.count)
                )
            } else {
                format!(
                    "{} example{}",
                    check.examples.len(),
                    if check.examples.len() == 1 { "" } else { "s" }
                )
            }
        );
        for example in &check.examples {
            let _ = write!(
                out,
                "<tr><td><code>{stream}</code></td><td class=\"num\">v{version}</td>\
                 <td class=\"num\">@{position}</td><td>{detail}</td></tr>",
                stream = escape(&example.stream_id),
                version = example.stream_version,
                position = thousands(example.position),
                detail = escape(&example.detail),
            );
        }
        out.push_str("</table></details>");
    }
    out.push_str("</td></tr>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Example;

    fn report() -> Report {
        Report {
            head: 1_234_567,
            events: 1_234_567,
            streams: 3,
            checks: vec![
                CheckResult::of(
                    "version_gaps",
                    2,
                    3,
                    vec![Example {
                        position: 17,
                        stream_id: "order-<script>alert(1)</script>".to_owned(),
                        stream_version: 4,
                        detail: "version 4 follows 2 & \"3\" is missing".to_owned(),
                    }],
                ),
                CheckResult::of("missing_causation_id", 0, 1_234_567, Vec::new()),
            ],
        }
    }

    #[test]
    fn the_page_is_self_contained_and_escapes_what_the_store_holds() {
        let at = DateTime::parse_from_rfc3339("2026-12-03T10:00:00Z").unwrap();
        let html = to_html(&report(), "/data/<shop>.db", at.with_timezone(&Utc));
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<title>Store health: /data/&lt;shop&gt;.db</title>"));
        assert!(html.contains("audited 2026-12-03 10:00:00 UTC"));
        // The store's text never becomes markup.
        assert!(!html.contains("<script>"));
        assert!(html.contains("order-&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("version 4 follows 2 &amp; &quot;3&quot; is missing"));
        // Counts, severities and the bar width (2 of 3).
        assert!(html.contains("<span class=\"sev error\">error</span>"));
        assert!(html.contains(">2 / 3<"));
        assert!(html.contains("width:66.67%"));
        assert!(html.contains("<span class=\"sev ok\">ok</span>"));
        assert!(html.contains(">0 / 1,234,567<"));
        assert!(html.contains("<b>1</b> of 2 checks found something: errors"));
        assert!(html.contains("1 shown of the 2 found</summary>"));
        // No external assets: nothing is fetched when the page opens.
        for fetch in ["src=", "href=", "url(", "@import", "<link", "<script"] {
            assert!(!html.contains(fetch), "{fetch}");
        }
    }
}
