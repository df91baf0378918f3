//! A plain A4 report of titled tables, for Tessera's documents that are not invoices (the body-composition
//! report of a measurement): the invoices' fonts and painter, a title, a few lines under it, tables that break
//! across pages with their header repeated, and a footer with the page count. No Factur-X and no archival
//! profile: these are read and printed, not kept ten years.

use krilla::configure::{ConfigurationBuilder, PdfVersion};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::{Document, SerializeSettings};

use crate::check::parse_color;
use crate::error::InvoiceError;

use super::layout::{Op, Rgb, PAGE_H, PAGE_W};
use super::paint;
use super::text::{width, wrap, Weight};

const MARGIN: f32 = 42.0;
const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN;
/// Content stops here; the footer lives below.
const BOTTOM: f32 = PAGE_H - 60.0;
const INK: Rgb = Rgb(33, 37, 41);
const MUTED: Rgb = Rgb(108, 117, 125);
const RULE: Rgb = Rgb(222, 226, 230);
const WHITE: Rgb = Rgb(255, 255, 255);
const ROW_H: f32 = 15.0;
const CELL: f32 = 9.0;

/// A report to render.
#[derive(Debug, Clone)]
pub struct ReportDocument {
    /// The brand (top line, PDF author).
    pub brand: String,
    /// The brand's colour, `#rrggbb`: the title band and table headers.
    pub primary_color: String,
    /// The title under the brand.
    pub title: String,
    /// Lines under the title (who, when, which device).
    pub lines: Vec<String>,
    /// The tables, in order.
    pub tables: Vec<ReportTable>,
    /// The text at the foot of every page (confidentiality), before the page number.
    pub footer: String,
    /// The document's language, as a BCP 47 tag (`en`, `fr`).
    pub language: String,
}

/// A table: the first column takes 40 % of the width, the others share the rest; values right-aligned.
#[derive(Debug, Clone)]
pub struct ReportTable {
    /// Its heading.
    pub heading: String,
    /// Column titles.
    pub columns: Vec<String>,
    /// Rows of cells (a missing cell is blank).
    pub rows: Vec<Vec<String>>,
}

/// The PDF of `doc`. The output depends only on `doc`, so rendering twice gives the same bytes.
pub fn render_report_pdf(doc: &ReportDocument) -> Result<Vec<u8>, InvoiceError> {
    let (r, g, b) = parse_color(&doc.primary_color)?;
    let pages = layout(doc, Rgb(r, g, b));
    let configuration = ConfigurationBuilder::new()
        .with_version(PdfVersion::Pdf17)
        .finish()
        .map_err(|e| InvoiceError::Pdf(format!("{e:?}")))?;
    let settings = SerializeSettings {
        configuration,
        enable_tagging: false,
        ..SerializeSettings::default()
    };
    let mut document = Document::new_with(settings);
    document.set_metadata(
        Metadata::new()
            .title(doc.title.clone())
            .authors(vec![doc.brand.clone()])
            .creator("Tessera".to_owned())
            .producer("Tessera (krilla)".to_owned())
            .language(doc.language.clone()),
    );
    for ops in &pages {
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H)
            .ok_or_else(|| InvoiceError::Pdf("invalid page size".to_owned()))?;
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        paint(&mut surface, ops, None);
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|e| InvoiceError::Pdf(format!("{e:?}")))
}

/// The pages of `doc`, as display lists.
fn layout(doc: &ReportDocument, primary: Rgb) -> Vec<Vec<Op>> {
    let mut b = Pages {
        pages: vec![Vec::new()],
        y: MARGIN,
    };
    b.rect(0.0, 0.0, PAGE_W, 6.0, primary);
    b.text(MARGIN, b.y + 12.0, 10.0, Weight::Bold, primary, &doc.brand);
    b.y += 36.0;
    for line in wrap(&doc.title, Weight::Bold, 18.0, CONTENT_W) {
        b.text(MARGIN, b.y, 18.0, Weight::Bold, INK, &line);
        b.y += 22.0;
    }
    for line in &doc.lines {
        for part in wrap(line, Weight::Regular, 10.0, CONTENT_W) {
            b.text(MARGIN, b.y, 10.0, Weight::Regular, MUTED, &part);
            b.y += 14.0;
        }
    }
    for table in &doc.tables {
        b.table(table, primary);
    }
    let count = b.pages.len();
    for (i, ops) in b.pages.iter_mut().enumerate() {
        let y = PAGE_H - 30.0;
        ops.push(Op::Rect {
            x: MARGIN,
            y: y - 14.0,
            w: CONTENT_W,
            h: 0.6,
            color: RULE,
        });
        push_text(ops, MARGIN, y, 8.0, Weight::Regular, MUTED, &doc.footer);
        let number = format!("{} / {}", i + 1, count);
        let x = PAGE_W - MARGIN - width(&number, Weight::Regular, 8.0);
        push_text(ops, x, y, 8.0, Weight::Regular, MUTED, &number);
    }
    b.pages
}

fn push_text(ops: &mut Vec<Op>, x: f32, y: f32, size: f32, weight: Weight, color: Rgb, text: &str) {
    if !text.trim().is_empty() {
        ops.push(Op::Text {
            x,
            y,
            size,
            weight,
            color,
            text: text.to_owned(),
        });
    }
}

struct Pages {
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Pages {
    fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: Rgb) {
        self.ops().push(Op::Rect { x, y, w, h, color });
    }

    fn text(&mut self, x: f32, y: f32, size: f32, weight: Weight, color: Rgb, text: &str) {
        push_text(self.ops(), x, y, size, weight, color, text);
    }

    /// Starts a new page when `needed` points do not fit on this one.
    fn room(&mut self, needed: f32) -> bool {
        if self.y + needed <= BOTTOM {
            return false;
        }
        self.pages.push(Vec::new());
        self.y = MARGIN;
        true
    }

    /// Column left edges and widths: the first 40 %, the others equal.
    fn columns(n: usize) -> Vec<(f32, f32)> {
        if n <= 1 {
            return vec![(MARGIN, CONTENT_W)];
        }
        let first = CONTENT_W * 0.4;
        let other = (CONTENT_W - first) / (n - 1) as f32;
        (0..n)
            .map(|i| {
                if i == 0 {
                    (MARGIN, first)
                } else {
                    (MARGIN + first + other * (i - 1) as f32, other)
                }
            })
            .collect()
    }

    fn header_row(&mut self, table: &ReportTable, primary: Rgb) {
        let cols = Self::columns(table.columns.len());
        self.rect(MARGIN, self.y, CONTENT_W, ROW_H + 2.0, primary);
        for (i, title) in table.columns.iter().enumerate() {
            self.cell(cols[i], i, title, Weight::Bold, WHITE);
        }
        self.y += ROW_H + 2.0;
    }

    /// One cell's text on the current row: the first column left-aligned, the others right-aligned.
    fn cell(&mut self, (x, w): (f32, f32), index: usize, text: &str, weight: Weight, color: Rgb) {
        let baseline = self.y + ROW_H - 4.0;
        let text = fit(text, weight, w - 8.0);
        if index == 0 {
            self.text(x + 4.0, baseline, CELL, weight, color, &text);
        } else {
            let x = x + w - 4.0 - width(&text, weight, CELL);
            self.text(x, baseline, CELL, weight, color, &text);
        }
    }

    fn table(&mut self, table: &ReportTable, primary: Rgb) {
        // The heading stays with the header and at least one row.
        self.y += 14.0;
        self.room(20.0 + 2.0 * ROW_H);
        self.text(
            MARGIN,
            self.y + 10.0,
            12.0,
            Weight::Bold,
            INK,
            &table.heading,
        );
        self.y += 18.0;
        self.header_row(table, primary);
        let cols = Self::columns(table.columns.len());
        for row in &table.rows {
            if self.room(ROW_H) {
                self.header_row(table, primary);
            }
            for (i, col) in cols.iter().enumerate() {
                let value = row.get(i).map(String::as_str).unwrap_or("");
                self.cell(*col, i, value, Weight::Regular, INK);
            }
            self.y += ROW_H;
            self.rect(MARGIN, self.y - 0.5, CONTENT_W, 0.5, RULE);
        }
    }
}

/// `text` cut with an ellipsis to fit `max` points (a cell is one line).
fn fit(text: &str, weight: Weight, max: f32) -> String {
    if width(text, weight, CELL) <= max {
        return text.to_owned();
    }
    let mut out = String::new();
    for c in text.chars() {
        out.push(c);
        if width(&format!("{out}…"), weight, CELL) > max {
            out.pop();
            break;
        }
    }
    format!("{out}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(rows: usize) -> ReportDocument {
        ReportDocument {
            brand: "Atlas Fitness".into(),
            primary_color: "#0d6efd".into(),
            title: "Body composition of Jeanne Martin".into(),
            lines: vec!["Measured 2026-11-20 09:14 (tanita)".into()],
            tables: vec![ReportTable {
                heading: "Measures".into(),
                columns: vec!["Measure".into(), "Value".into(), "Since previous".into()],
                rows: (0..rows)
                    .map(|i| vec![format!("metric {i}"), format!("{i}.5"), "-0.2".into()])
                    .collect(),
            }],
            footer: "Health data: confidential.".into(),
            language: "en".into(),
        }
    }

    #[test]
    fn a_report_renders_the_same_bytes_twice_and_breaks_long_tables_across_pages() {
        let one = render_report_pdf(&sample(20)).unwrap();
        assert!(one.starts_with(b"%PDF-1.7"));
        assert_eq!(one, render_report_pdf(&sample(20)).unwrap());
        assert_eq!(layout(&sample(20), Rgb(0, 0, 0)).len(), 1);
        let long = layout(&sample(120), Rgb(0, 0, 0));
        assert!(long.len() > 1, "{} pages", long.len());
        // Every page repeats the table header and carries its number.
        for (i, page) in long.iter().enumerate() {
            let texts: Vec<&str> = page
                .iter()
                .filter_map(|op| match op {
                    Op::Text { text, .. } => Some(text.as_str()),
                    _ => None,
                })
                .collect();
            assert!(texts.contains(&"Since previous"), "page {i}");
            let number = format!("{} / {}", i + 1, long.len());
            assert!(texts.contains(&number.as_str()), "page {i}");
        }
    }

    #[test]
    fn a_bad_colour_is_refused_and_long_cells_are_cut() {
        let mut doc = sample(1);
        doc.primary_color = "blue".into();
        assert!(render_report_pdf(&doc).is_err());
        let cut = fit(&"x".repeat(200), Weight::Regular, 50.0);
        assert!(cut.ends_with('…') && width(&cut, Weight::Regular, CELL) <= 50.0);
    }
}
