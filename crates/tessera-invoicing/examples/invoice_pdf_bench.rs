//! Times Factur-X PDF rendering on one thread: `invoice_pdf_bench [N]` renders the multi-rate sample invoice
//! (4 lines, 3 VAT rates, a PNG logo, the CII XML attached) N times and prints renders per second.
//! Run by `scripts/bench/invoice_pdf.sh`; figures in docs/performance.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .map_or(500, |a| a.parse().expect("N is a number"));
    let doc = common::multi_rate_invoice();
    let first = Instant::now();
    let size = tessera_invoicing::render_pdf(&doc).unwrap().len();
    let first = first.elapsed();
    let start = Instant::now();
    let mut bytes = 0usize;
    for _ in 0..n {
        bytes += tessera_invoicing::render_pdf(&doc).unwrap().len();
    }
    let elapsed = start.elapsed();
    assert_eq!(
        bytes,
        size * n as usize,
        "every render gives the same document"
    );
    let per_second = f64::from(n) / elapsed.as_secs_f64();
    println!(
        "{n} PDFs in {:.2} s on one thread: {per_second:.0} PDFs/s, {:.2} ms each ({size} bytes; first render {:.1} ms)",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1000.0 / f64::from(n),
        first.as_secs_f64() * 1000.0
    );
}
