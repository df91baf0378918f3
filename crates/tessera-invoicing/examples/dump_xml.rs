//! Writes every sample's XML and PDF into a folder (a development aid).
#[path = "../tests/common/mod.rs"]
mod common;
fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    for (name, doc) in common::all() {
        std::fs::write(format!("{dir}/{name}.xml"), tessera_invoicing::cii_xml(&doc)).unwrap();
        std::fs::write(format!("{dir}/{name}.pdf"), tessera_invoicing::render_pdf(&doc).unwrap()).unwrap();
    }
}
