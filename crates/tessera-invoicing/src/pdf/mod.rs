//! The PDF: an A4 document laid out by [`layout`], painted with krilla as PDF/A-3b (embedded, subset fonts,
//! an sRGB output intent, XMP metadata), carrying the CII XML as the `factur-x.xml` associated file, then
//! given the Factur-X XMP properties by [`facturx`].

mod facturx;
mod layout;
pub mod report;
mod text;

use chrono::Datelike;
use krilla::color::rgb;
use krilla::configure::{Archival, ConfigurationBuilder, PdfVersion};
use krilla::embed::{AssociationKind, EmbeddedFile, MimeType};
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::image::Image;
use krilla::metadata::{DateTime, Metadata};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::surface::Surface;
use krilla::{Document, SerializeSettings};

use crate::check::parse_color;
use crate::cii::{cii_xml, FACTURX_FILENAME};
use crate::error::InvoiceError;
use crate::model::{DocumentLocale, InvoiceDocument};
use crate::wording::Words;

use layout::{layout, Op, Rgb, PAGE_H, PAGE_W};
use text::{font, glyphs};

/// The PDF of `doc`: checked first ([`InvoiceDocument::check`]), in the document's locale, with the brand's
/// colours and logo, as a Factur-X EN 16931 PDF/A-3b carrying [`cii_xml`] as `factur-x.xml`.
///
/// The output depends only on `doc` (dates come from `issued_on`), so rendering twice gives the same bytes.
pub fn render_pdf(doc: &InvoiceDocument) -> Result<Vec<u8>, InvoiceError> {
    doc.check()?;
    let (r, g, b) = parse_color(&doc.branding.primary_color)?;
    let primary = Rgb(r, g, b);
    let (r, g, b) = parse_color(&doc.branding.accent_color)?;
    let accent = Rgb(r, g, b);
    let logo = match &doc.branding.logo_png {
        Some(png) => {
            Some(Image::from_png(png.clone().into(), false).map_err(InvoiceError::InvalidLogo)?)
        }
        None => None,
    };
    let logo_ratio = logo.as_ref().and_then(|image| {
        let (w, h) = image.size();
        (w > 0 && h > 0).then(|| w as f32 / h as f32)
    });
    let pages = layout(doc, primary, accent, logo_ratio);

    let configuration = ConfigurationBuilder::new()
        .with_archival_validator(Archival::A3_B)
        .with_version(PdfVersion::Pdf17)
        .finish()
        .map_err(|e| InvoiceError::Pdf(format!("{e:?}")))?;
    let settings = SerializeSettings {
        configuration,
        // Tagging is for PDF/A-…a and PDF/UA; PDF/A-3b does not need it and it costs time.
        enable_tagging: false,
        ..SerializeSettings::default()
    };
    let mut document = Document::new_with(settings);
    let words = Words::new(doc.locale);
    // Dates of the document, not of the rendering: the same document always gives the same bytes.
    // Month (1-12) and day (1-31) fit in u8; a year outside 0..=65535 (no invoice's) would read as 0.
    let issued = DateTime::new(u16::try_from(doc.issued_on.year()).unwrap_or(0))
        .month(doc.issued_on.month() as u8)
        .day(doc.issued_on.day() as u8)
        .hour(0)
        .minute(0)
        .second(0)
        .utc_offset_hour(0)
        .utc_offset_minute(0);
    document.set_metadata(
        Metadata::new()
            .title(format!("{} {}", words.title(&doc.kind), doc.number))
            .authors(vec![doc.seller.name.clone()])
            .creator("Tessera".to_owned())
            .producer("Tessera (krilla)".to_owned())
            .language(match doc.locale {
                DocumentLocale::Fr => "fr".to_owned(),
                DocumentLocale::En => "en".to_owned(),
            })
            .creation_date(issued)
            .document_id(doc.number.clone()),
    );
    document
        .embed_file(EmbeddedFile {
            path: FACTURX_FILENAME.to_owned(),
            mime_type: MimeType::new("text/xml"),
            description: Some("Factur-X invoice (CII, EN 16931)".to_owned()),
            // Factur-X allows Data or Alternative; Alternative says the XML is the same invoice as the
            // visual one, which holds for the EN 16931 profile (and is what ZUGFeRD readers expect).
            association_kind: AssociationKind::Alternative,
            data: cii_xml(doc).into_bytes().into(),
            modification_date: Some(issued),
            compress: Some(true),
            location: None,
        })
        .ok_or_else(|| InvoiceError::Pdf("the XML could not be attached".to_owned()))?;

    for ops in &pages {
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H)
            .ok_or_else(|| InvoiceError::Pdf("invalid page size".to_owned()))?;
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        paint(&mut surface, ops, logo.as_ref());
        surface.finish();
        page.finish();
    }
    let pdf = document
        .finish()
        .map_err(|e| InvoiceError::Pdf(format!("{e:?}")))?;
    facturx::add_facturx_xmp(pdf)
}

fn fill(color: Rgb) -> Fill {
    Fill {
        paint: rgb::Color::new(color.0, color.1, color.2).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

fn paint(surface: &mut Surface<'_>, ops: &[Op], logo: Option<&Image>) {
    for op in ops {
        match op {
            Op::Rect { x, y, w, h, color } => {
                let mut builder = PathBuilder::new();
                if let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) {
                    builder.push_rect(rect);
                }
                if let Some(path) = builder.finish() {
                    surface.set_fill(Some(fill(*color)));
                    surface.draw_path(&path);
                }
            }
            Op::Text {
                x,
                y,
                size,
                weight,
                color,
                text,
            } => {
                if let Some(font) = font(*weight) {
                    surface.set_fill(Some(fill(*color)));
                    let glyphs = glyphs(text, *weight);
                    surface.draw_glyphs(Point::from_xy(*x, *y), &glyphs, font, text, *size, false);
                }
            }
            Op::Logo { x, y, w, h } => {
                if let (Some(image), Some(size)) = (logo, Size::from_wh(*w, *h)) {
                    surface.push_transform(&Transform::from_translate(*x, *y));
                    surface.draw_image(image.clone(), size);
                    surface.pop();
                }
            }
        }
    }
}
