//! The Factur-X XML: UN/CEFACT Cross Industry Invoice (CII D16B) of the EN 16931 profile
//! (guideline `urn:cen.eu:en16931:2017`). Element order follows the Factur-X 1.0 EN 16931 XSD; the content
//! satisfies the EN 16931 business rules for the documents [`crate::InvoiceDocument`] can describe.

use std::io;

use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

use crate::model::{Address, DocumentKind, InvoiceDocument};
use crate::money::{decimal, minor_exponent, percent};
use crate::totals::{line_net_minor, VatCategory};
use crate::wording::Words;

/// The Factur-X profile written: EN 16931 ("COMFORT").
pub const GUIDELINE_ID: &str = "urn:cen.eu:en16931:2017";

/// The name of the XML attachment inside the PDF, fixed by the Factur-X specification.
pub const FACTURX_FILENAME: &str = "factur-x.xml";

type W = Writer<Vec<u8>>;

/// The CII XML of `doc`, in UTF-8.
///
/// The document is written as it is: a document whose totals are not those of its lines gives XML that the
/// EN 16931 Schematron rejects ([`crate::render_pdf`] checks the document first; call
/// [`InvoiceDocument::check`] before using this alone). A buyer without an address is written with the
/// seller's country only, as EN 16931 requires a buyer country (BR-10, BR-11) and charging the seller's VAT
/// already places the sale there.
pub fn cii_xml(doc: &InvoiceDocument) -> String {
    let mut writer = Writer::new_with_indent(Vec::with_capacity(8 * 1024), b' ', 2);
    // Writing into a Vec cannot fail: the only io errors come from the sink, and a Vec's writes never fail.
    #[allow(clippy::expect_used)]
    write_document(&mut writer, doc).expect("writing XML into memory cannot fail");
    // Every text written is a &str and quick-xml writes them unchanged or escaped, so the bytes are UTF-8.
    String::from_utf8_lossy(&writer.into_inner()).into_owned()
}

fn leaf(w: &mut W, name: &str, text: &str) -> io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(text))?;
    Ok(())
}

fn leaf_attr(w: &mut W, name: &str, attr: (&str, &str), text: &str) -> io::Result<()> {
    w.create_element(name)
        .with_attribute(attr)
        .write_text_content(BytesText::new(text))?;
    Ok(())
}

fn date_102(w: &mut W, outer: &str, prefix: &str, date: chrono::NaiveDate) -> io::Result<()> {
    let text = date.format("%Y%m%d").to_string();
    w.create_element(outer).write_inner_content(|w| {
        leaf_attr(
            w,
            &format!("{prefix}:DateTimeString"),
            ("format", "102"),
            &text,
        )
    })?;
    Ok(())
}

fn address(w: &mut W, a: &Address) -> io::Result<()> {
    w.create_element("ram:PostalTradeAddress")
        .write_inner_content(|w| {
            leaf(w, "ram:PostcodeCode", &a.postal_code)?;
            leaf(w, "ram:LineOne", &a.line1)?;
            if let Some(line2) = &a.line2 {
                leaf(w, "ram:LineTwo", line2)?;
            }
            leaf(w, "ram:CityName", &a.city)?;
            leaf(w, "ram:CountryID", &a.country)
        })?;
    Ok(())
}

fn email(w: &mut W, email: Option<&str>) -> io::Result<()> {
    if let Some(email) = email {
        w.create_element("ram:URIUniversalCommunication")
            .write_inner_content(|w| leaf_attr(w, "ram:URIID", ("schemeID", "EM"), email))?;
    }
    Ok(())
}

fn legal_org(w: &mut W, siren: Option<&str>) -> io::Result<()> {
    if let Some(siren) = siren {
        // ISO 6523 ICD 0002 is the French SIREN.
        w.create_element("ram:SpecifiedLegalOrganization")
            .write_inner_content(|w| leaf_attr(w, "ram:ID", ("schemeID", "0002"), siren))?;
    }
    Ok(())
}

fn vat_registration(w: &mut W, vat: Option<&str>) -> io::Result<()> {
    if let Some(vat) = vat {
        w.create_element("ram:SpecifiedTaxRegistration")
            .write_inner_content(|w| leaf_attr(w, "ram:ID", ("schemeID", "VA"), vat))?;
    }
    Ok(())
}

fn note(w: &mut W, content: &str, subject: Option<&str>) -> io::Result<()> {
    w.create_element("ram:IncludedNote")
        .write_inner_content(|w| {
            leaf(w, "ram:Content", content)?;
            if let Some(subject) = subject {
                leaf(w, "ram:SubjectCode", subject)?;
            }
            Ok(())
        })?;
    Ok(())
}

fn write_document(w: &mut W, doc: &InvoiceDocument) -> io::Result<()> {
    // An unknown currency is refused by `check`; EN 16931 amounts have at most two decimals anyway.
    let exp = minor_exponent(&doc.currency).unwrap_or(2);
    let amount = |minor: i64| decimal(minor, exp);
    let words = Words::new(doc.locale);

    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.create_element("rsm:CrossIndustryInvoice")
        .with_attributes([
            ("xmlns:rsm", "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"),
            ("xmlns:qdt", "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"),
            (
                "xmlns:ram",
                "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
            ),
            ("xmlns:udt", "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"),
        ])
        .write_inner_content(|w| {
            w.create_element("rsm:ExchangedDocumentContext").write_inner_content(|w| {
                w.create_element("ram:GuidelineSpecifiedDocumentContextParameter")
                    .write_inner_content(|w| leaf(w, "ram:ID", GUIDELINE_ID))?;
                Ok(())
            })?;

            w.create_element("rsm:ExchangedDocument").write_inner_content(|w| {
                leaf(w, "ram:ID", &doc.number)?;
                leaf(w, "ram:TypeCode", doc.kind.type_code())?;
                date_102(w, "ram:IssueDateTime", "udt", doc.issued_on)?;
                for text in &doc.notes {
                    note(w, text, None)?;
                }
                // The French mentions as coded notes (UNTDID 4451): penalties, recovery costs, discount.
                note(w, &words.late_penalty(doc.late_penalty_rate_bps), Some("PMD"))?;
                note(w, &words.recovery_indemnity(), Some("PMT"))?;
                note(w, words.no_discount(), Some("AAB"))
            })?;

            w.create_element("rsm:SupplyChainTradeTransaction").write_inner_content(|w| {
                for (index, line) in doc.lines.iter().enumerate() {
                    write_line(w, index + 1, line, &amount)?;
                }
                write_agreement(w, doc)?;
                // BT-72, the date the supply "was made or completed": the last day of the service period,
                // else the issue date (a sale paid and served on the spot). The element cannot stay empty
                // (PEPPOL-EN16931-R008 in the EN 16931 Schematron).
                let delivered_on = doc.service_period.map_or(doc.issued_on, |(_, to)| to);
                w.create_element("ram:ApplicableHeaderTradeDelivery").write_inner_content(|w| {
                    w.create_element("ram:ActualDeliverySupplyChainEvent").write_inner_content(|w| {
                        date_102(w, "ram:OccurrenceDateTime", "udt", delivered_on)
                    })?;
                    Ok(())
                })?;
                write_settlement(w, doc, &amount, &words)
            })?;
            Ok(())
        })?;
    Ok(())
}

fn write_line(
    w: &mut W,
    number: usize,
    line: &crate::model::InvoiceLine,
    amount: &dyn Fn(i64) -> String,
) -> io::Result<()> {
    // Overflow is refused by `check`; the XML then shows 0 rather than a wrapped number.
    let net = line_net_minor(line).unwrap_or(0);
    w.create_element("ram:IncludedSupplyChainTradeLineItem")
        .write_inner_content(|w| {
            w.create_element("ram:AssociatedDocumentLineDocument")
                .write_inner_content(|w| leaf(w, "ram:LineID", &number.to_string()))?;
            w.create_element("ram:SpecifiedTradeProduct")
                .write_inner_content(|w| leaf(w, "ram:Name", &line.description))?;
            w.create_element("ram:SpecifiedLineTradeAgreement")
                .write_inner_content(|w| {
                    w.create_element("ram:NetPriceProductTradePrice")
                        .write_inner_content(|w| {
                            leaf(w, "ram:ChargeAmount", &amount(line.unit_price_minor))
                        })?;
                    Ok(())
                })?;
            w.create_element("ram:SpecifiedLineTradeDelivery")
                .write_inner_content(|w| {
                    // UN/ECE Recommendation 20 "C62": one, a unit.
                    leaf_attr(
                        w,
                        "ram:BilledQuantity",
                        ("unitCode", "C62"),
                        &line.quantity.to_string(),
                    )
                })?;
            w.create_element("ram:SpecifiedLineTradeSettlement")
                .write_inner_content(|w| {
                    w.create_element("ram:ApplicableTradeTax")
                        .write_inner_content(|w| {
                            leaf(w, "ram:TypeCode", "VAT")?;
                            leaf(
                                w,
                                "ram:CategoryCode",
                                VatCategory::of_rate(line.vat.rate_bps).code(),
                            )?;
                            leaf(w, "ram:RateApplicablePercent", &percent(line.vat.rate_bps))
                        })?;
                    w.create_element("ram:SpecifiedTradeSettlementLineMonetarySummation")
                        .write_inner_content(|w| leaf(w, "ram:LineTotalAmount", &amount(net)))?;
                    Ok(())
                })?;
            Ok(())
        })?;
    Ok(())
}

fn write_agreement(w: &mut W, doc: &InvoiceDocument) -> io::Result<()> {
    let seller = &doc.seller;
    let buyer = &doc.buyer;
    let words = Words::new(doc.locale);
    w.create_element("ram:ApplicableHeaderTradeAgreement")
        .write_inner_content(|w| {
            w.create_element("ram:SellerTradeParty")
                .write_inner_content(|w| {
                    if let Some(siret) = &seller.siret {
                        // ISO 6523 ICD 0009 is the French SIRET.
                        leaf_attr(w, "ram:GlobalID", ("schemeID", "0009"), siret)?;
                    }
                    leaf(w, "ram:Name", &seller.name)?;
                    // BT-33, the seller's additional legal information: legal form, capital, trade register.
                    let capital = seller
                        .share_capital
                        .as_ref()
                        .and_then(|(amount, currency)| {
                            minor_exponent(currency)
                                .ok()
                                .map(|exp| (*amount, currency.as_str(), exp))
                        });
                    let legal = words.legal_identity(
                        &seller.legal_form,
                        capital,
                        seller.rcs_city.as_deref(),
                        seller.siren.as_deref(),
                    );
                    leaf(w, "ram:Description", &legal)?;
                    legal_org(w, seller.siren.as_deref())?;
                    address(w, &seller.address)?;
                    email(w, seller.email.as_deref())?;
                    vat_registration(w, Some(&seller.vat_number))
                })?;
            w.create_element("ram:BuyerTradeParty")
                .write_inner_content(|w| {
                    leaf(w, "ram:Name", &buyer.name)?;
                    legal_org(w, buyer.siren.as_deref())?;
                    match &buyer.address {
                        Some(a) => address(w, a)?,
                        None => {
                            w.create_element("ram:PostalTradeAddress")
                                .write_inner_content(|w| {
                                    leaf(w, "ram:CountryID", &seller.address.country)
                                })?;
                        }
                    }
                    email(w, buyer.email.as_deref())?;
                    vat_registration(w, buyer.vat_number.as_deref())
                })?;
            Ok(())
        })?;
    Ok(())
}

fn write_settlement(
    w: &mut W,
    doc: &InvoiceDocument,
    amount: &dyn Fn(i64) -> String,
    words: &Words,
) -> io::Result<()> {
    let totals = &doc.totals;
    w.create_element("ram:ApplicableHeaderTradeSettlement")
        .write_inner_content(|w| {
            leaf(w, "ram:InvoiceCurrencyCode", &doc.currency)?;
            for vat in &totals.per_rate {
                w.create_element("ram:ApplicableTradeTax")
                    .write_inner_content(|w| {
                        leaf(w, "ram:CalculatedAmount", &amount(vat.tax_minor))?;
                        leaf(w, "ram:TypeCode", "VAT")?;
                        if let Some(reason) = &vat.exemption_note {
                            leaf(w, "ram:ExemptionReason", reason)?;
                        }
                        leaf(w, "ram:BasisAmount", &amount(vat.taxable_minor))?;
                        leaf(w, "ram:CategoryCode", vat.category.code())?;
                        leaf(w, "ram:RateApplicablePercent", &percent(vat.rate_bps))
                    })?;
            }
            if let Some((from, to)) = doc.service_period {
                w.create_element("ram:BillingSpecifiedPeriod")
                    .write_inner_content(|w| {
                        date_102(w, "ram:StartDateTime", "udt", from)?;
                        date_102(w, "ram:EndDateTime", "udt", to)
                    })?;
            }
            w.create_element("ram:SpecifiedTradePaymentTerms")
                .write_inner_content(|w| {
                    let terms = format!(
                        "{} {} {} {}",
                        words.pay_by(doc.due_on),
                        words.late_penalty(doc.late_penalty_rate_bps),
                        words.recovery_indemnity(),
                        words.no_discount()
                    );
                    leaf(w, "ram:Description", &terms)?;
                    date_102(w, "ram:DueDateDateTime", "udt", doc.due_on)
                })?;
            w.create_element("ram:SpecifiedTradeSettlementHeaderMonetarySummation")
                .write_inner_content(|w| {
                    leaf(w, "ram:LineTotalAmount", &amount(totals.total_excl_minor))?;
                    leaf(
                        w,
                        "ram:TaxBasisTotalAmount",
                        &amount(totals.total_excl_minor),
                    )?;
                    leaf_attr(
                        w,
                        "ram:TaxTotalAmount",
                        ("currencyID", &doc.currency),
                        &amount(totals.total_vat_minor),
                    )?;
                    leaf(w, "ram:GrandTotalAmount", &amount(totals.total_incl_minor))?;
                    leaf(w, "ram:TotalPrepaidAmount", &amount(doc.paid_minor))?;
                    leaf(
                        w,
                        "ram:DuePayableAmount",
                        &amount(totals.total_incl_minor.saturating_sub(doc.paid_minor)),
                    )
                })?;
            if let DocumentKind::CreditNote {
                corrects_number,
                corrects_issued_on,
            } = &doc.kind
            {
                w.create_element("ram:InvoiceReferencedDocument")
                    .write_inner_content(|w| {
                        leaf(w, "ram:IssuerAssignedID", corrects_number)?;
                        date_102(w, "ram:FormattedIssueDateTime", "qdt", *corrects_issued_on)
                    })?;
            }
            Ok(())
        })?;
    Ok(())
}
