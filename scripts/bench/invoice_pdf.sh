#!/usr/bin/env bash
# Factur-X invoice PDF rendering on one thread (tessera-invoicing::render_pdf: layout, PDF/A-3b with subset
# fonts, the CII XML attached, the Factur-X XMP update), N renders of the multi-rate sample invoice.
# Usage: scripts/bench/invoice_pdf.sh [N]   (default 500)
# Builds the example with PROFILE (default release, opt-level 3); set CARGO_TARGET_DIR to build elsewhere.
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-500}
profile=${PROFILE:-release}
cargo build --quiet --profile "$profile" -p tessera-invoicing --example invoice_pdf_bench
target=${CARGO_TARGET_DIR:-target}
# taskset pins the run to one core so that the figure is a one-core figure.
taskset -c 0 "$target/$profile/examples/invoice_pdf_bench" "$n"
