//! The embedded fonts (DejaVu Sans, regular and bold, under the Bitstream Vera licence in `assets/`), text
//! measurement and glyph placement. Both use the same per-character advances (no kerning), so a measured width
//! is exactly the drawn width: right-aligned amounts end on the column's edge. Mapping characters to glyphs
//! directly, instead of shaping every string with rustybuzz, also makes rendering markedly faster; Latin
//! text needs no shaping beyond that.

use std::sync::LazyLock;

use krilla::text::{Font, GlyphId, KrillaGlyph};
use skrifa::instance::{LocationRef, Size};
use skrifa::MetadataProvider;

static REGULAR_TTF: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
static BOLD_TTF: &[u8] = include_bytes!("../../assets/DejaVuSans-Bold.ttf");

/// The two weights the invoice uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Weight {
    Regular,
    Bold,
}

/// A font parsed once for the process: krilla's handle (cheap to clone) and the advance widths of the
/// characters, in font units, with the font's units per em.
struct Face {
    font: Option<Font>,
    bytes: &'static [u8],
    units_per_em: f32,
}

impl Face {
    fn load(bytes: &'static [u8]) -> Face {
        let units_per_em = skrifa::FontRef::new(bytes)
            .ok()
            .map(|f| {
                f32::from(
                    f.metrics(Size::unscaled(), LocationRef::default())
                        .units_per_em,
                )
            })
            .unwrap_or(2048.0);
        Face {
            font: Font::new(bytes.into(), 0),
            bytes,
            units_per_em,
        }
    }
}

static REGULAR: LazyLock<Face> = LazyLock::new(|| Face::load(REGULAR_TTF));
static BOLD: LazyLock<Face> = LazyLock::new(|| Face::load(BOLD_TTF));

fn face(weight: Weight) -> &'static Face {
    match weight {
        Weight::Regular => &REGULAR,
        Weight::Bold => &BOLD,
    }
}

/// krilla's handle of the font, `None` only if the embedded file were not a font (a test proves it is).
pub(crate) fn font(weight: Weight) -> Option<Font> {
    face(weight).font.clone()
}

/// The width of `text` at `size` points (advances summed, kerning ignored: a fraction of a point at most).
pub(crate) fn width(text: &str, weight: Weight, size: f32) -> f32 {
    let face = face(weight);
    let Ok(font) = skrifa::FontRef::new(face.bytes) else {
        return 0.0;
    };
    let charmap = font.charmap();
    let metrics = font.glyph_metrics(Size::unscaled(), LocationRef::default());
    let units: f32 = text
        .chars()
        .map(|c| {
            let glyph = charmap.map(c).unwrap_or_default();
            metrics.advance_width(glyph).unwrap_or(0.0)
        })
        .sum();
    units * size / face.units_per_em
}

/// The glyphs of `text`, one per character, advances in em units as krilla expects.
pub(crate) fn glyphs(text: &str, weight: Weight) -> Vec<KrillaGlyph> {
    let face = face(weight);
    let Ok(font) = skrifa::FontRef::new(face.bytes) else {
        return Vec::new();
    };
    let charmap = font.charmap();
    let metrics = font.glyph_metrics(Size::unscaled(), LocationRef::default());
    text.char_indices()
        .map(|(start, c)| {
            let glyph = charmap.map(c).unwrap_or_default();
            KrillaGlyph {
                glyph_id: GlyphId::new(glyph.to_u32()),
                text_range: start..start + c.len_utf8(),
                x_advance: metrics.advance_width(glyph).unwrap_or(0.0) / face.units_per_em,
                x_offset: 0.0,
                y_offset: 0.0,
                y_advance: 0.0,
                location: None,
            }
        })
        .collect()
}

/// `text` broken into lines no wider than `max` points, at spaces (a word longer than a line is cut).
pub(crate) fn wrap(text: &str, weight: Weight, size: f32, max: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut current = String::new();
        for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
            let candidate = if current.is_empty() {
                word.to_owned()
            } else {
                format!("{current} {word}")
            };
            if width(&candidate, weight, size) <= max {
                current = candidate;
                continue;
            }
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
            // A single word wider than the line: cut it by characters.
            let mut piece = String::new();
            for c in word.chars() {
                piece.push(c);
                if width(&piece, weight, size) > max && piece.chars().count() > 1 {
                    piece.pop();
                    lines.push(std::mem::take(&mut piece));
                    piece.push(c);
                }
            }
            current = piece;
        }
        lines.push(current);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_fonts_load_and_measure() {
        assert!(font(Weight::Regular).is_some() && font(Weight::Bold).is_some());
        let regular = width("Total TTC", Weight::Regular, 10.0);
        let bold = width("Total TTC", Weight::Bold, 10.0);
        assert!(regular > 30.0 && regular < 60.0, "{regular}");
        assert!(bold > regular);
        assert_eq!(width("", Weight::Regular, 10.0), 0.0);
        // Twice the size, twice the width.
        assert!(
            (width("abc", Weight::Regular, 20.0) - 2.0 * width("abc", Weight::Regular, 10.0)).abs()
                < 1e-3
        );
    }

    #[test]
    fn text_wraps_at_spaces_within_the_width() {
        let text =
            "Abonnement mensuel Premium avec accès illimité aux cours collectifs et à la piscine";
        let lines = wrap(text, Weight::Regular, 9.0, 150.0);
        assert!(lines.len() > 1);
        assert!(lines
            .iter()
            .all(|l| width(l, Weight::Regular, 9.0) <= 150.0));
        assert_eq!(lines.join(" "), text);
        let long = wrap(
            "Supercalifragilisticexpialidocious",
            Weight::Regular,
            9.0,
            40.0,
        );
        assert!(long.len() > 1 && long.concat() == "Supercalifragilisticexpialidocious");
    }
}
