//! The page layout, as a display list: what to draw where on each A4 page, computed before anything is
//! painted so that long documents break across pages and every footer knows the page count.
//! Coordinates are PDF points from the top-left corner, text positioned at its baseline.

use crate::model::{DocumentKind, InvoiceDocument};
use crate::money::{display_amount, display_percent, minor_exponent};
use crate::totals::line_net_minor;
use crate::wording::Words;

use super::text::{width, wrap, Weight};

pub(crate) const PAGE_W: f32 = 595.28;
pub(crate) const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 42.0;
const RIGHT: f32 = PAGE_W - MARGIN;
/// Content stops here; the footer lives below.
const BOTTOM: f32 = PAGE_H - 78.0;

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rgb(pub u8, pub u8, pub u8);

const INK: Rgb = Rgb(33, 37, 41);
const MUTED: Rgb = Rgb(108, 117, 125);
const RULE: Rgb = Rgb(206, 212, 218);
const WHITE: Rgb = Rgb(255, 255, 255);

impl Rgb {
    /// This colour mixed with white, `amount` of it kept (0 to 1): pale backgrounds from the brand colour.
    fn tint(self, amount: f32) -> Rgb {
        let mix = |c: u8| {
            (255.0 - (255.0 - f32::from(c)) * amount)
                .round()
                .clamp(0.0, 255.0) as u8
        };
        Rgb(mix(self.0), mix(self.1), mix(self.2))
    }
}

/// One drawing operation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    /// A filled rectangle.
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        color: Rgb,
    },
    /// Text on one line.
    Text {
        x: f32,
        y: f32,
        size: f32,
        weight: Weight,
        color: Rgb,
        text: String,
    },
    /// The brand's logo scaled into this box.
    Logo { x: f32, y: f32, w: f32, h: f32 },
}

struct Builder<'a> {
    doc: &'a InvoiceDocument,
    words: Words,
    exponent: u32,
    primary: Rgb,
    accent: Rgb,
    pages: Vec<Vec<Op>>,
    y: f32,
}

/// The pages of `doc`; `logo_ratio` is the logo's width over its height when there is a usable logo.
pub(crate) fn layout(
    doc: &InvoiceDocument,
    primary: Rgb,
    accent: Rgb,
    logo_ratio: Option<f32>,
) -> Vec<Vec<Op>> {
    let mut b = Builder {
        doc,
        words: Words::new(doc.locale),
        // `check` has refused unknown currencies before layout.
        exponent: minor_exponent(&doc.currency).unwrap_or(2),
        primary,
        accent,
        pages: vec![Vec::new()],
        y: 0.0,
    };
    b.header(logo_ratio);
    b.parties();
    b.meta();
    b.lines();
    b.totals();
    b.mentions();
    b.footers();
    b.pages
}

impl Builder<'_> {
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
        if !text.trim().is_empty() {
            self.ops().push(Op::Text {
                x,
                y,
                size,
                weight,
                color,
                text: text.to_owned(),
            });
        }
    }

    fn text_right(
        &mut self,
        right: f32,
        y: f32,
        size: f32,
        weight: Weight,
        color: Rgb,
        text: &str,
    ) {
        let x = right - width(text, weight, size);
        self.text(x, y, size, weight, color, text);
    }

    fn money(&self, minor: i64) -> String {
        display_amount(minor, &self.doc.currency, self.exponent, self.doc.locale)
    }

    /// Starts a new page when `height` more points do not fit on this one.
    fn ensure(&mut self, height: f32) -> bool {
        if self.y + height <= BOTTOM {
            return false;
        }
        self.pages.push(Vec::new());
        // A slim brand band and the document's title and number on the following pages.
        self.rect(0.0, 0.0, PAGE_W, 8.0, self.primary);
        let title = format!("{} {}", self.words.title(&self.doc.kind), self.doc.number);
        self.text(MARGIN, 32.0, 9.0, Weight::Bold, self.primary, &title);
        self.y = 50.0;
        true
    }

    fn header(&mut self, logo_ratio: Option<f32>) {
        let doc = self.doc;
        self.rect(0.0, 0.0, PAGE_W, 104.0, self.primary);
        self.rect(0.0, 104.0, PAGE_W, 4.0, self.accent);
        let mut x = MARGIN;
        if let Some(ratio) = logo_ratio {
            let h = 56.0;
            let w = (h * ratio).min(140.0);
            // A white card under the logo: a logo in the brand's colour stays visible on the brand's band.
            self.rect(x - 6.0, 18.0, w + 12.0, w / ratio + 12.0, WHITE);
            self.ops().push(Op::Logo {
                x,
                y: 24.0,
                w,
                h: w / ratio,
            });
            x += w + 14.0;
        }
        self.text(x, 52.0, 20.0, Weight::Bold, WHITE, &doc.branding.brand_name);
        self.text(
            x,
            70.0,
            9.0,
            Weight::Regular,
            WHITE.tint(0.85),
            &doc.seller.name,
        );
        let title = self.words.title(&doc.kind).to_uppercase();
        self.text_right(RIGHT, 52.0, 22.0, Weight::Bold, WHITE, &title);
        let number = format!("{} {}", self.words.number(), doc.number);
        self.text_right(RIGHT, 72.0, 10.0, Weight::Regular, WHITE, &number);
        self.y = 138.0;
    }

    fn label(&mut self, x: f32, y: f32, text: &str) {
        let color = self.accent;
        self.text(x, y, 7.5, Weight::Bold, color, &text.to_uppercase());
    }

    fn parties(&mut self) {
        let doc = self.doc;
        let s = &doc.seller;
        let top = self.y;
        let mut left = vec![(Weight::Bold, s.name.clone())];
        left.push((Weight::Regular, s.address.line1.clone()));
        if let Some(l2) = &s.address.line2 {
            left.push((Weight::Regular, l2.clone()));
        }
        left.push((
            Weight::Regular,
            format!(
                "{} {} — {}",
                s.address.postal_code, s.address.city, s.address.country
            ),
        ));
        if let Some(email) = &s.email {
            left.push((Weight::Regular, email.clone()));
        }
        left.push((
            Weight::Regular,
            format!("{} {}", self.words.vat_number(), s.vat_number),
        ));
        if let Some(siren) = &s.siren {
            left.push((Weight::Regular, format!("{} {siren}", self.words.siren())));
        }
        if let Some(siret) = &s.siret {
            left.push((Weight::Regular, format!("{} {siret}", self.words.siret())));
        }

        let buyer = &doc.buyer;
        let mut right = vec![(Weight::Bold, buyer.name.clone())];
        if let Some(a) = &buyer.address {
            right.push((Weight::Regular, a.line1.clone()));
            if let Some(l2) = &a.line2 {
                right.push((Weight::Regular, l2.clone()));
            }
            right.push((
                Weight::Regular,
                format!("{} {} — {}", a.postal_code, a.city, a.country),
            ));
        }
        if let Some(email) = &buyer.email {
            right.push((Weight::Regular, email.clone()));
        }
        if let Some(siren) = &buyer.siren {
            right.push((Weight::Regular, format!("{} {siren}", self.words.siren())));
        }
        if let Some(vat) = &buyer.vat_number {
            right.push((
                Weight::Regular,
                format!("{} {vat}", self.words.vat_number()),
            ));
        }

        let line_h = 12.5;
        let box_x = 318.0;
        let rows = left.len().max(right.len()) as f32;
        let box_h = 24.0 + rows * line_h;
        self.rect(
            box_x,
            top - 14.0,
            RIGHT - box_x,
            box_h,
            self.primary.tint(0.08),
        );
        self.rect(box_x, top - 14.0, 3.0, box_h, self.accent);
        self.label(MARGIN, top, self.words.seller());
        self.label(box_x + 14.0, top, self.words.buyer());
        for (i, (weight, text)) in left.iter().enumerate() {
            let size = if *weight == Weight::Bold { 10.0 } else { 8.5 };
            self.text(
                MARGIN,
                top + 16.0 + i as f32 * line_h,
                size,
                *weight,
                INK,
                text,
            );
        }
        for (i, (weight, text)) in right.iter().enumerate() {
            let size = if *weight == Weight::Bold { 10.0 } else { 8.5 };
            self.text(
                box_x + 14.0,
                top + 16.0 + i as f32 * line_h,
                size,
                *weight,
                INK,
                text,
            );
        }
        self.y = top + box_h + 4.0;
    }

    fn meta(&mut self) {
        let doc = self.doc;
        let w = self.words;
        let mut cells = vec![
            (w.number(), doc.number.clone()),
            (w.issued_on(), w.date(doc.issued_on)),
            (w.due_on(), w.date(doc.due_on)),
        ];
        if let Some((from, to)) = doc.service_period {
            cells.push((w.service_period(), w.period(from, to)));
        }
        let top = self.y;
        self.rect(MARGIN, top, RIGHT - MARGIN, 0.8, RULE);
        // The service period is the longest value: it gets two fifths of the width.
        let fifth = (RIGHT - MARGIN) / 5.0;
        for (i, (label, value)) in cells.into_iter().enumerate() {
            let x = MARGIN + i as f32 * fifth;
            self.text(x, top + 16.0, 7.5, Weight::Regular, MUTED, label);
            self.text(x, top + 30.0, 9.5, Weight::Bold, INK, &value);
        }
        self.y = top + 40.0;
        self.rect(MARGIN, self.y, RIGHT - MARGIN, 0.8, RULE);
        self.y += 8.0;
        if let DocumentKind::CreditNote {
            corrects_number,
            corrects_issued_on,
        } = &doc.kind
        {
            let text = self.words.corrects(corrects_number, *corrects_issued_on);
            self.text(
                MARGIN,
                self.y + 12.0,
                10.0,
                Weight::Bold,
                self.accent,
                &text,
            );
            self.y += 20.0;
        }
        self.y += 10.0;
    }

    /// Right edges of the numeric columns: quantity, unit price, VAT rate, line total.
    const COLS: [f32; 4] = [330.0, 412.0, 460.0, RIGHT - 8.0];
    const DESC_W: f32 = 250.0;

    /// The column headings; a heading may have two lines (`\n`), the band is tall enough for two.
    fn table_header(&mut self) {
        let top = self.y;
        let height = 26.0;
        self.rect(MARGIN, top, RIGHT - MARGIN, height, self.primary);
        let w = self.words;
        let heads = [w.quantity(), w.unit_price(), w.vat_rate(), w.line_total()];
        self.text(
            MARGIN + 8.0,
            top + 16.5,
            8.0,
            Weight::Bold,
            WHITE,
            w.description(),
        );
        for (right, head) in Self::COLS.into_iter().zip(heads) {
            let lines: Vec<&str> = head.split('\n').collect();
            // One line sits in the middle of the band, two share it.
            let first = if lines.len() == 1 {
                top + 16.5
            } else {
                top + 11.5
            };
            for (k, line) in lines.into_iter().enumerate() {
                self.text_right(
                    right,
                    first + k as f32 * 9.5,
                    8.0,
                    Weight::Bold,
                    WHITE,
                    line,
                );
            }
        }
        self.y = top + height;
    }

    fn lines(&mut self) {
        self.table_header();
        let doc = self.doc;
        for (i, line) in doc.lines.iter().enumerate() {
            let desc = wrap(&line.description, Weight::Regular, 9.0, Self::DESC_W);
            let height = 10.0 + desc.len() as f32 * 11.5 + 10.0;
            if self.ensure(height) {
                self.table_header();
            }
            let top = self.y;
            if i % 2 == 1 {
                self.rect(MARGIN, top, RIGHT - MARGIN, height, self.primary.tint(0.06));
            }
            for (k, text) in desc.iter().enumerate() {
                self.text(
                    MARGIN + 8.0,
                    top + 15.0 + k as f32 * 11.5,
                    9.0,
                    Weight::Regular,
                    INK,
                    text,
                );
            }
            let kind = self.words.kind(line.kind);
            self.text(
                MARGIN + 8.0,
                top + 15.0 + desc.len() as f32 * 11.5,
                7.0,
                Weight::Regular,
                MUTED,
                kind,
            );
            // `check` refused overflowing lines before layout.
            let net = line_net_minor(line).unwrap_or(0);
            let values = [
                line.quantity.to_string(),
                self.money(line.unit_price_minor),
                display_percent(line.vat.rate_bps, doc.locale),
                self.money(net),
            ];
            for (right, value) in Self::COLS.into_iter().zip(values) {
                self.text_right(right, top + 15.0, 9.0, Weight::Regular, INK, &value);
            }
            self.y = top + height;
        }
        self.rect(MARGIN, self.y, RIGHT - MARGIN, 0.8, RULE);
        self.y += 16.0;
    }

    fn totals(&mut self) {
        let doc = self.doc;
        let t = &doc.totals;
        let breakdown_h = 34.0 + t.per_rate.len() as f32 * 14.0;
        let due_rows = if doc.paid_minor > 0 { 5.0 } else { 4.0 };
        let box_h = due_rows * 18.0 + 8.0;
        self.ensure(breakdown_h.max(box_h) + 8.0);
        let top = self.y;

        // VAT breakdown, left.
        let w = self.words;
        let cols = [MARGIN + 60.0, MARGIN + 150.0, MARGIN + 240.0];
        let heading = w.vat_breakdown();
        let heads = [w.vat_rate(), w.base(), w.tax()];
        self.label(MARGIN, top + 8.0, heading);
        for (right, head) in cols.into_iter().zip(heads) {
            self.text_right(right, top + 24.0, 7.5, Weight::Bold, MUTED, head);
        }
        self.rect(MARGIN, top + 28.0, 240.0, 0.6, RULE);
        for (i, vat) in t.per_rate.iter().enumerate() {
            let y = top + 40.0 + i as f32 * 14.0;
            let values = [
                format!(
                    "{} {}",
                    vat.category.code(),
                    display_percent(vat.rate_bps, doc.locale)
                ),
                self.money(vat.taxable_minor),
                self.money(vat.tax_minor),
            ];
            for (right, value) in cols.into_iter().zip(values) {
                self.text_right(right, y, 8.5, Weight::Regular, INK, &value);
            }
        }

        // Totals, right.
        let x = 330.0;
        let value_right = RIGHT - 8.0;
        let mut y = top;
        let mut row =
            |b: &mut Self, label: &str, value: String, strong: bool, fill: Option<Rgb>| {
                let (color, weight) = match fill {
                    Some(bg) => {
                        b.rect(x, y, RIGHT - x, 18.0, bg);
                        (WHITE, Weight::Bold)
                    }
                    None => (
                        INK,
                        if strong {
                            Weight::Bold
                        } else {
                            Weight::Regular
                        },
                    ),
                };
                b.text(x + 8.0, y + 12.5, 9.0, weight, color, label);
                b.text_right(value_right, y + 12.5, 9.0, weight, color, &value);
                y += 18.0;
            };
        let words = self.words;
        let (primary, accent) = (self.primary, self.accent);
        let due = t.total_incl_minor.saturating_sub(doc.paid_minor);
        let (excl, vat, incl, paid, due) = (
            self.money(t.total_excl_minor),
            self.money(t.total_vat_minor),
            self.money(t.total_incl_minor),
            self.money(-doc.paid_minor),
            self.money(due),
        );
        row(self, words.total_excl(), excl, false, None);
        row(self, words.total_vat(), vat, false, None);
        row(self, words.total_incl(), incl, true, Some(primary));
        if doc.paid_minor > 0 {
            row(self, words.paid(), paid, false, None);
        }
        row(self, words.due(&doc.kind), due, true, Some(accent));
        self.y = top + breakdown_h.max(box_h) + 10.0;
    }

    fn paragraph(&mut self, text: &str, size: f32, weight: Weight, color: Rgb) {
        for line in wrap(text, weight, size, RIGHT - MARGIN) {
            self.ensure(size * 1.4);
            self.y += size * 1.4;
            self.text(MARGIN, self.y, size, weight, color, &line);
        }
    }

    fn section(&mut self, heading: &str) {
        self.ensure(40.0);
        self.y += 20.0;
        self.label(MARGIN, self.y, heading);
        self.y += 2.0;
    }

    fn mentions(&mut self) {
        let doc = self.doc;
        let words = Words::new(doc.locale);
        let exemptions: Vec<String> = doc
            .totals
            .per_rate
            .iter()
            .filter_map(|v| v.exemption_note.clone())
            .collect();
        if !exemptions.is_empty() {
            self.section(words.exemption());
            for note in exemptions {
                self.paragraph(&note, 8.5, Weight::Bold, INK);
            }
        }
        if !doc.notes.is_empty() {
            self.section(words.notes());
            for note in &doc.notes {
                self.paragraph(note, 8.5, Weight::Regular, INK);
            }
        }
        self.section(words.payment_terms_heading());
        self.paragraph(&words.pay_by(doc.due_on), 8.0, Weight::Bold, INK);
        self.paragraph(
            &words.late_penalty(doc.late_penalty_rate_bps),
            8.0,
            Weight::Regular,
            INK,
        );
        self.paragraph(&words.recovery_indemnity(), 8.0, Weight::Regular, INK);
        self.paragraph(words.no_discount(), 8.0, Weight::Regular, INK);
    }

    /// The seller's legal identity and the page number at the bottom of every page.
    fn footers(&mut self) {
        let doc = self.doc;
        let s = &doc.seller;
        let words = Words::new(doc.locale);
        let capital = s
            .share_capital
            .as_ref()
            .and_then(|(amount, cur)| minor_exponent(cur).ok().map(|e| (*amount, cur.as_str(), e)));
        let mut parts = vec![
            s.name.clone(),
            words.legal_identity(
                &s.legal_form,
                capital,
                s.rcs_city.as_deref(),
                s.siren.as_deref(),
            ),
        ];
        if let Some(siret) = &s.siret {
            parts.push(format!("{} {siret}", words.siret()));
        }
        parts.push(format!("{} {}", words.vat_number(), s.vat_number));
        let identity = parts.join(" · ");
        let lines = wrap(&identity, Weight::Regular, 7.0, RIGHT - MARGIN - 50.0);
        let count = self.pages.len();
        for page in 0..count {
            let mut ops = vec![Op::Rect {
                x: MARGIN,
                y: PAGE_H - 58.0,
                w: RIGHT - MARGIN,
                h: 0.6,
                color: RULE,
            }];
            for (i, line) in lines.iter().enumerate() {
                ops.push(Op::Text {
                    x: MARGIN,
                    y: PAGE_H - 45.0 + i as f32 * 9.0,
                    size: 7.0,
                    weight: Weight::Regular,
                    color: MUTED,
                    text: line.clone(),
                });
            }
            let number = format!("{} / {count}", page + 1);
            ops.push(Op::Text {
                x: RIGHT - width(&number, Weight::Regular, 7.0),
                y: PAGE_H - 45.0,
                size: 7.0,
                weight: Weight::Regular,
                color: MUTED,
                text: number,
            });
            self.pages[page].extend(ops);
        }
    }
}
