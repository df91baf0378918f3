//! The report contract of `GET /api/v1/reports/{name}`: any report is a list of typed columns, rows keyed by
//! column, optional totals and an optional chart hint. The console renders every report from this alone.

use serde::Deserialize;
use serde_json::Value;

/// One entry of `GET /api/v1/reports`.
#[derive(Debug, Clone, Deserialize)]
pub struct ReportInfo {
    /// Path name.
    pub name: String,
    /// Human title.
    pub title: String,
    /// What it shows.
    #[serde(default)]
    pub description: String,
}

/// A column: `kind` is `text|date|integer|decimal|money|percent`.
#[derive(Debug, Clone, Deserialize)]
pub struct Column {
    /// Key into each row.
    pub key: String,
    /// Header.
    pub label: String,
    /// Value kind (decides alignment and charting).
    pub kind: String,
}

/// The chart hint: x column and the numeric series to draw.
#[derive(Debug, Clone, Deserialize)]
pub struct ChartHint {
    /// `bar` or `line`.
    pub kind: String,
    /// Key of the x column.
    pub x: String,
    /// Keys of the y columns.
    pub series: Vec<String>,
}

/// A computed report.
#[derive(Debug, Clone, Deserialize)]
pub struct Report {
    /// Title.
    pub title: String,
    /// First day.
    pub from: String,
    /// Last day.
    pub to: String,
    /// Columns, in display order.
    pub columns: Vec<Column>,
    /// Rows keyed by column key.
    pub rows: Vec<serde_json::Map<String, Value>>,
    /// Totals row, keyed like rows.
    #[serde(default)]
    pub totals: Option<serde_json::Map<String, Value>>,
    /// How to chart it, if at all.
    #[serde(default)]
    pub chart: Option<ChartHint>,
}

/// Text of a cell: money and decimals arrive as strings and are shown as sent (no float rounding).
pub fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}

/// Numeric value of a cell for charting; non-numbers count as 0.
pub fn number(value: Option<&Value>) -> f64 {
    match value {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
        Some(Value::String(s)) => s.parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Whether a column is right-aligned.
pub fn is_numeric(kind: &str) -> bool {
    matches!(kind, "integer" | "decimal" | "money" | "percent")
}
