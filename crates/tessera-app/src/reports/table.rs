//! The shape every report has: named, typed columns and rows of cells, optional totals and a chart hint. The
//! API returns it as JSON, the CLI prints it as a table, CSV or JSON, and the console draws it; none of them
//! knows any report in particular.

use serde::Serialize;
use serde_json::{Map, Value};

/// What a column holds, so that clients align, sum and chart it without guessing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// Free text.
    Text,
    /// A day, `YYYY-MM-DD`, or a month, `YYYY-MM`.
    Date,
    /// A whole number (JSON number).
    Integer,
    /// A decimal as a string (`"12.5"`).
    Decimal,
    /// An amount in the row's currency as a decimal string (`"1234.50"`).
    Money,
    /// A percentage as a decimal string (`"87.5"` for 87.5 %).
    Percent,
}

/// One column.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Column {
    /// The key of the cells in each row.
    pub key: String,
    /// The header shown to people.
    pub label: String,
    /// What it holds.
    pub kind: ColumnKind,
}

/// How a client may chart the report: `series` against `x`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Chart {
    /// `bar` or `line`.
    pub kind: String,
    /// The key of the categories or times.
    pub x: String,
    /// The keys of the numeric columns drawn.
    pub series: Vec<String>,
}

/// A computed report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report {
    /// `revenue`, `mrr`, ...
    pub name: String,
    /// Its title.
    pub title: String,
    /// The brand's slug (`None` for the group report).
    pub tenant: Option<String>,
    /// First day covered (brand's local time).
    #[schema(value_type = String, format = Date)]
    pub from: chrono::NaiveDate,
    /// Last day covered, included.
    #[schema(value_type = String, format = Date)]
    pub to: chrono::NaiveDate,
    /// The columns, in order.
    pub columns: Vec<Column>,
    /// The rows: column key to cell.
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<Map<String, Value>>,
    /// Totals over the rows, for the columns that add up.
    #[schema(value_type = Option<Object>)]
    pub totals: Option<Map<String, Value>>,
    /// A chart hint.
    pub chart: Option<Chart>,
}

impl Report {
    /// An empty report with these columns.
    pub(crate) fn new(
        name: &str,
        title: &str,
        range: &super::Range,
        columns: &[(&str, &str, ColumnKind)],
    ) -> Report {
        Report {
            name: name.to_owned(),
            title: title.to_owned(),
            tenant: None,
            from: range.from,
            to: range.to,
            columns: columns
                .iter()
                .map(|(key, label, kind)| Column {
                    key: (*key).to_owned(),
                    label: (*label).to_owned(),
                    kind: *kind,
                })
                .collect(),
            rows: Vec::new(),
            totals: None,
            chart: None,
        }
    }

    /// Sets the chart hint.
    pub(crate) fn chart(mut self, kind: &str, x: &str, series: &[&str]) -> Report {
        self.chart = Some(Chart {
            kind: kind.to_owned(),
            x: x.to_owned(),
            series: series.iter().map(|s| (*s).to_owned()).collect(),
        });
        self
    }

    /// Brands' reports of one kind as one, with a `brand` column first (totals are dropped: brands may not
    /// share a currency).
    pub fn by_brand(reports: Vec<Report>) -> Report {
        let mut iter = reports.into_iter();
        let Some(mut first) = iter.next() else {
            return Report {
                name: String::new(),
                title: String::new(),
                tenant: None,
                from: chrono::NaiveDate::default(),
                to: chrono::NaiveDate::default(),
                columns: Vec::new(),
                rows: Vec::new(),
                totals: None,
                chart: None,
            };
        };
        let brand = |report: &Report, row: &Map<String, Value>| {
            let mut out = Map::new();
            out.insert(
                "brand".to_owned(),
                Value::String(report.tenant.clone().unwrap_or_default()),
            );
            out.extend(row.clone());
            out
        };
        let mut rows: Vec<Map<String, Value>> =
            first.rows.iter().map(|r| brand(&first, r)).collect();
        for report in iter {
            // Dynamic columns (a VAT rate only one brand uses) are added in the order first seen.
            for column in &report.columns {
                if !first.columns.iter().any(|c| c.key == column.key) {
                    first.columns.push(column.clone());
                }
            }
            rows.extend(report.rows.iter().map(|r| brand(&report, r)));
        }
        first.columns.insert(
            0,
            Column {
                key: "brand".to_owned(),
                label: "Brand".to_owned(),
                kind: ColumnKind::Text,
            },
        );
        first.rows = rows;
        first.tenant = None;
        first.totals = None;
        first
    }

    /// A cell as people read it: text as is, numbers and decimals without quotes, empty for nothing.
    pub fn cell_text(value: Option<&Value>) -> String {
        match value {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        }
    }

    /// The rows (and the totals row, labelled in the first column) as cell texts in column order.
    pub fn text_rows(&self) -> Vec<Vec<String>> {
        let mut out: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|row| {
                self.columns
                    .iter()
                    .map(|c| Report::cell_text(row.get(&c.key)))
                    .collect()
            })
            .collect();
        if let Some(totals) = &self.totals {
            out.push(
                self.columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| match totals.get(&c.key) {
                        Some(v) => Report::cell_text(Some(v)),
                        None if i == 0 => "total".to_owned(),
                        None => String::new(),
                    })
                    .collect(),
            );
        }
        out
    }

    /// RFC 4180 CSV: a header of column keys, then the rows (totals are left out: a spreadsheet adds up).
    pub fn to_csv(&self) -> Result<String, csv::Error> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(self.columns.iter().map(|c| c.key.as_str()))?;
        for row in &self.rows {
            writer.write_record(
                self.columns
                    .iter()
                    .map(|c| Report::cell_text(row.get(&c.key))),
            )?;
        }
        let bytes = writer
            .into_inner()
            .map_err(|e| csv::Error::from(e.into_error()))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// Builds one row.
#[derive(Debug, Default)]
pub(crate) struct Row(Map<String, Value>);

impl Row {
    pub(crate) fn new() -> Row {
        Row::default()
    }

    pub(crate) fn text(mut self, key: &str, value: impl Into<String>) -> Row {
        self.0.insert(key.to_owned(), Value::String(value.into()));
        self
    }

    pub(crate) fn opt_text(mut self, key: &str, value: Option<String>) -> Row {
        self.0
            .insert(key.to_owned(), value.map_or(Value::Null, Value::String));
        self
    }

    pub(crate) fn int(mut self, key: &str, value: i64) -> Row {
        self.0.insert(key.to_owned(), Value::from(value));
        self
    }

    /// Minor units of `currency` as a decimal string.
    pub(crate) fn money(mut self, key: &str, minor: i64, currency: &str) -> Row {
        self.0.insert(
            key.to_owned(),
            Value::String(super::format_money(minor, currency)),
        );
        self
    }

    /// `part / whole` as a percentage with one decimal, empty when `whole` is zero.
    pub(crate) fn percent(mut self, key: &str, part: i64, whole: i64) -> Row {
        self.0.insert(key.to_owned(), percent(part, whole));
        self
    }

    /// `numerator / denominator` with one decimal, empty when `denominator` is zero.
    pub(crate) fn ratio(mut self, key: &str, numerator: i64, denominator: i64) -> Row {
        self.0.insert(key.to_owned(), ratio(numerator, denominator));
        self
    }

    pub(crate) fn build(self) -> Map<String, Value> {
        self.0
    }
}

/// `part / whole × 100` with one decimal, rounded half up; null when `whole` is zero.
pub(crate) fn percent(part: i64, whole: i64) -> Value {
    ratio(part.saturating_mul(100), whole)
}

/// `numerator / denominator` with one decimal, rounded half up (for non-negative figures); null when the
/// denominator is zero.
pub(crate) fn ratio(numerator: i64, denominator: i64) -> Value {
    if denominator == 0 {
        return Value::Null;
    }
    let tenths =
        (i128::from(numerator) * 20 + i128::from(denominator)) / (2 * i128::from(denominator));
    Value::String(format!("{}.{}", tenths / 10, tenths % 10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_round_half_up_to_one_decimal() {
        assert_eq!(ratio(1, 3), Value::String("0.3".into()));
        assert_eq!(ratio(2, 3), Value::String("0.7".into()));
        assert_eq!(ratio(1, 4), Value::String("0.3".into())); // 0.25 rounds up
        assert_eq!(percent(7, 8), Value::String("87.5".into()));
        assert_eq!(percent(1, 0), Value::Null);
    }
}
