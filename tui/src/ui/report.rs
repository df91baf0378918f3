//! Any report of the report API: a table of its columns and, when the report says how, a bar chart, a line
//! chart or a sparkline of its first series.

use super::{screens::json_table, selected, strong};
use crate::app::App;
use crate::report::{cell, is_numeric, number, Report};
use ratatui::{
    layout::{Constraint, Layout, Rect},
    style::Style,
    symbols::Marker,
    text::Line,
    widgets::{
        Axis, Bar, BarChart, BarGroup, Block, Borders, Cell, Chart, Dataset, GraphType, Paragraph,
        Row, Sparkline, Table,
    },
    Frame,
};
use serde_json::{json, Value};

/// The report list, or the open report.
pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App) {
    match &app.report {
        Some(report) => draw_report(frame, area, report),
        None if app.report_name.is_some() => {
            frame.render_widget(
                Paragraph::new("loading…")
                    .block(Block::default().borders(Borders::ALL).title("Report")),
                area,
            );
        }
        None => {
            let rows: Vec<Value> = app
                .reports
                .iter()
                .map(|r| json!({"title": r.title, "description": r.description}))
                .collect();
            json_table(
                frame,
                area,
                &format!(
                    "Reports {} – {} (Enter open, [ ] month, d dates)",
                    app.period.0, app.period.1
                ),
                &rows,
                &[("title", "Report"), ("description", "What it shows")],
                Some(app.selected),
                |_| Style::new(),
            );
        }
    }
}

fn draw_report(frame: &mut Frame, area: Rect, report: &Report) {
    let title = format!(
        "{} {} – {}   ([ ] month, d dates, r reload, Esc back)",
        report.title, report.from, report.to
    );
    let chart_height = if report.chart.is_some() && area.height >= 14 {
        area.height / 2
    } else {
        0
    };
    let [table_area, chart_area] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(chart_height)]).areas(area);
    let header = Row::new(report.columns.iter().map(|c| c.label.clone())).style(strong());
    let line = |row: &serde_json::Map<String, Value>| {
        Row::new(report.columns.iter().map(|c| {
            let text = cell(row.get(&c.key));
            if is_numeric(&c.kind) {
                Cell::from(Line::from(text).right_aligned())
            } else {
                Cell::from(text)
            }
        }))
    };
    let mut rows: Vec<Row> = report.rows.iter().map(line).collect();
    if let Some(totals) = &report.totals {
        rows.push(line(totals).style(selected()));
    }
    let widths = report.columns.iter().map(|_| Constraint::Fill(1));
    frame.render_widget(
        Table::new(rows, widths)
            .header(header)
            .block(Block::default().borders(Borders::ALL).title(title)),
        table_area,
    );
    let Some(chart) = &report.chart else {
        return;
    };
    if chart_height == 0 {
        return;
    }
    let Some(series) = chart.series.first() else {
        return;
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!("{} by {}", series, chart.x));
    if chart.kind == "bar" {
        let bars: Vec<Bar> = report
            .rows
            .iter()
            .map(|r| {
                // Bars take integers; negative values are drawn as 0 (the table has the exact figure).
                let value = number(r.get(series)).max(0.0).round() as u64;
                Bar::default()
                    .value(value)
                    .label(Line::from(cell(r.get(&chart.x))))
            })
            .collect();
        let width = (chart_area.width.saturating_sub(2) / (bars.len().max(1) as u16)).clamp(1, 10);
        frame.render_widget(
            BarChart::default()
                .block(block)
                .bar_width(width.saturating_sub(1).max(1))
                .data(BarGroup::default().bars(&bars)),
            chart_area,
        );
    } else if chart.kind == "line" {
        let points: Vec<(f64, f64)> = report
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| (i as f64, number(r.get(series))))
            .collect();
        let low = points.iter().map(|p| p.1).fold(0.0_f64, f64::min);
        let high = points
            .iter()
            .map(|p| p.1)
            .fold(0.0_f64, f64::max)
            .max(low + 1.0);
        let last = points.len().saturating_sub(1).max(1) as f64;
        let x_label = |i: usize| {
            report
                .rows
                .get(i)
                .map(|r| cell(r.get(&chart.x)))
                .unwrap_or_default()
        };
        let dataset = Dataset::default()
            .name(series.clone())
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(strong())
            .data(&points);
        frame.render_widget(
            Chart::new(vec![dataset])
                .block(block)
                .x_axis(
                    Axis::default()
                        .bounds([0.0, last])
                        .labels([x_label(0), x_label(points.len().saturating_sub(1))]),
                )
                .y_axis(
                    Axis::default()
                        .bounds([low, high])
                        .labels([format!("{low:.0}"), format!("{high:.0}")]),
                ),
            chart_area,
        );
    } else {
        let data: Vec<u64> = report
            .rows
            .iter()
            .map(|r| number(r.get(series)).max(0.0).round() as u64)
            .collect();
        frame.render_widget(Sparkline::default().block(block).data(&data), chart_area);
    }
    if report.rows.is_empty() {
        frame.render_widget(Paragraph::new("(no rows)"), chart_area);
    }
}
