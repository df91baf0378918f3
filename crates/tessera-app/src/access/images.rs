//! Card images: the number encoded by `barcoders` (Code 128, set C) or `qrcode`, drawn as SVG or PNG, and a QR
//! code for terminals (pairing codes).

use barcoders::sym::code128::Code128;
use qrcode::{Color, EcLevel, QrCode};

use super::credentials::{ImageFormat, Symbology};
use crate::{AppError, AppResult};

/// Pixels per QR module and per barcode bar in PNGs.
const SCALE: usize = 6;
/// Quiet zone around a QR code, in modules.
const QR_QUIET: usize = 4;
/// Quiet zone on each side of a barcode, in bars.
const BAR_QUIET: usize = 10;
/// Height of a barcode's bars in a PNG, pixels.
const BAR_HEIGHT: usize = 120;

fn failed(what: &str, e: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("{what}: {e}"))
}

/// Encodes `text` and draws it.
pub fn render(
    text: &str,
    symbology: Symbology,
    format: ImageFormat,
) -> AppResult<(&'static str, Vec<u8>)> {
    match symbology {
        Symbology::Qr => {
            let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
                .map_err(|e| failed("qr", e))?;
            match format {
                ImageFormat::Svg => Ok((
                    "image/svg+xml",
                    code.render::<qrcode::render::svg::Color<'_>>()
                        .min_dimensions(240, 240)
                        .build()
                        .into_bytes(),
                )),
                ImageFormat::Png => {
                    let width = code.width();
                    let colors = code.to_colors();
                    let side = width + 2 * QR_QUIET;
                    let mut rows = vec![vec![255u8; side]; side];
                    for (i, c) in colors.iter().enumerate() {
                        if *c == Color::Dark {
                            rows[i / width + QR_QUIET][i % width + QR_QUIET] = 0;
                        }
                    }
                    png(&rows, SCALE, SCALE)
                }
            }
        }
        Symbology::Code128 => {
            // Set C packs two digits per symbol: the densest form of a card number.
            let data = if text.len().is_multiple_of(2) && text.chars().all(|c| c.is_ascii_digit()) {
                format!("Ć{text}")
            } else {
                format!("Ɓ{text}")
            };
            let bars = Code128::new(data)
                .map_err(|e| failed("code128", e))?
                .encode();
            match format {
                ImageFormat::Svg => Ok((
                    "image/svg+xml",
                    barcoders::generators::svg::SVG::new(100)
                        .xdim(2)
                        .generate(&bars)
                        .map_err(|e| failed("svg", e))?
                        .into_bytes(),
                )),
                ImageFormat::Png => {
                    let mut row = vec![255u8; BAR_QUIET];
                    row.extend(bars.iter().map(|b| if *b == 1 { 0 } else { 255 }));
                    row.extend(std::iter::repeat_n(255u8, BAR_QUIET));
                    png(&[row], 2, BAR_HEIGHT)
                }
            }
        }
    }
}

/// A grayscale PNG of `rows` (0 black, 255 white), each cell `sx` by `sy` pixels.
fn png(rows: &[Vec<u8>], sx: usize, sy: usize) -> AppResult<(&'static str, Vec<u8>)> {
    let height = rows.len() * sy;
    let width = rows.first().map_or(0, Vec::len) * sx;
    let mut pixels = Vec::with_capacity(width * height);
    for row in rows {
        let line: Vec<u8> = row
            .iter()
            .flat_map(|v| std::iter::repeat_n(*v, sx))
            .collect();
        for _ in 0..sy {
            pixels.extend_from_slice(&line);
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(
            &mut out,
            u32::try_from(width).map_err(|e| failed("png", e))?,
            u32::try_from(height).map_err(|e| failed("png", e))?,
        );
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| failed("png", e))?;
        writer
            .write_image_data(&pixels)
            .map_err(|e| failed("png", e))?;
    }
    Ok(("image/png", out))
}

/// A QR code for a terminal (two rows of modules per line), for `tessera device pair`.
pub fn terminal_qr(text: &str) -> AppResult<String> {
    let code = QrCode::new(text.as_bytes()).map_err(|e| failed("qr", e))?;
    Ok(code
        .render::<qrcode::render::unicode::Dense1x2>()
        .dark_color(qrcode::render::unicode::Dense1x2::Light)
        .light_color(qrcode::render::unicode::Dense1x2::Dark)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_made() {
        for symbology in [Symbology::Qr, Symbology::Code128] {
            let (mime, png) = render("123456789012", symbology, ImageFormat::Png).unwrap();
            assert_eq!(mime, "image/png");
            assert_eq!(&png[1..4], b"PNG");
            let (mime, svg) = render("123456789012", symbology, ImageFormat::Svg).unwrap();
            assert_eq!(mime, "image/svg+xml");
            assert!(String::from_utf8(svg).unwrap().contains("<svg"));
        }
        assert!(
            terminal_qr("tessera-pair:atlas:ABCD-EFGH")
                .unwrap()
                .lines()
                .count()
                > 10
        );
    }
}
