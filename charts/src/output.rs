//! Turns figures into files: each is drawn into memory as SVG text and as PNG bytes, then written atomically
//! (`*.tmp`, then rename), as everything in a run directory is. PNG text uses the font embedded from `assets/`,
//! so the output does not depend on the fonts of the machine that renders it.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::draw;
use crate::figure::Figure;
use crate::Error;

/// DejaVu Sans cut down to Latin-1; see assets/README.md.
const EMBEDDED_FONT: &[u8] = include_bytes!("../assets/DejaVuSans-subset.ttf");

/// Writes `{stem}.svg` and `{stem}.png` for every figure into `dir`, creating it, and returns the paths written.
pub(crate) fn write_all(figures: &[(&str, Figure)], dir: &Path) -> Result<Vec<PathBuf>, Error> {
    fs::create_dir_all(dir).map_err(|source| Error::Write { path: dir.to_path_buf(), source })?;
    let mut written = Vec::new();
    for (stem, figure) in figures {
        let svg_path = dir.join(format!("{stem}.svg"));
        let svg = render_svg(figure).map_err(|reason| draw_error(&svg_path, reason))?;
        write_atomic(&svg_path, svg.as_bytes())?;
        written.push(svg_path);
        let png_path = dir.join(format!("{stem}.png"));
        let png = render_png(figure).map_err(|reason| draw_error(&png_path, reason))?;
        write_atomic(&png_path, &png)?;
        written.push(png_path);
    }
    Ok(written)
}

/// The figure as an SVG document. Text stays text, drawn by the viewer's sans-serif font.
fn render_svg(figure: &Figure) -> Result<String, String> {
    // Plotters measures text with the registered font to place it, in SVG too.
    register_font()?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, draw::size(figure)).into_drawing_area();
        draw::draw(figure, &root).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// The figure as PNG bytes (8-bit RGB).
fn render_png(figure: &Figure) -> Result<Vec<u8>, String> {
    register_font()?;
    let (width, height) = draw::size(figure);
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        draw::draw(figure, &root).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(&pixels).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(png)
}

/// Registers the embedded font once per process; plotters keeps it in a global table.
fn register_font() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(draw::FONT, FontStyle::Normal, EMBEDDED_FONT)
                .map_err(|_| "the embedded font is not a valid TrueType font".to_string())
        })
        .clone()
}

pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let write_error = |source| Error::Write { path: path.to_path_buf(), source };
    fs::write(&tmp, bytes).map_err(write_error)?;
    fs::rename(&tmp, path).map_err(write_error)
}

fn draw_error(path: &Path, reason: String) -> Error {
    Error::Draw { path: path.to_path_buf(), reason }
}
