//! The Factur-X XMP properties (fx:DocumentType, DocumentFileName, Version, ConformanceLevel) and their
//! PDF/A extension schema, which the Factur-X specification requires in the PDF's XMP metadata.
//!
//! krilla writes the XMP packet itself (with its own PDF/A extension schemas) and offers no way to add
//! properties, so the packet krilla wrote is completed and stored again as an incremental update (lopdf),
//! which PDF/A allows and which keeps every byte krilla wrote.

use lopdf::{IncrementalDocument, Object};

use crate::error::InvoiceError;

/// The Factur-X properties, for an EN 16931 invoice (credit notes are DocumentType INVOICE too).
const FX_PROPERTIES: &str = r#"<rdf:Description rdf:about="" xmlns:fx="urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"><fx:DocumentType>INVOICE</fx:DocumentType><fx:DocumentFileName>factur-x.xml</fx:DocumentFileName><fx:Version>1.0</fx:Version><fx:ConformanceLevel>EN 16931</fx:ConformanceLevel></rdf:Description>"#;

/// The extension schema entry describing the fx properties (from the Factur-X specification).
const FX_SCHEMA: &str = r#"<rdf:li rdf:parseType="Resource"><pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema><pdfaSchema:namespaceURI>urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#</pdfaSchema:namespaceURI><pdfaSchema:prefix>fx</pdfaSchema:prefix><pdfaSchema:property><rdf:Seq><rdf:li rdf:parseType="Resource"><pdfaProperty:name>DocumentFileName</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>name of the embedded XML invoice file</pdfaProperty:description></rdf:li><rdf:li rdf:parseType="Resource"><pdfaProperty:name>DocumentType</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>INVOICE</pdfaProperty:description></rdf:li><rdf:li rdf:parseType="Resource"><pdfaProperty:name>Version</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>The actual version of the Factur-X XML schema</pdfaProperty:description></rdf:li><rdf:li rdf:parseType="Resource"><pdfaProperty:name>ConformanceLevel</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>The conformance level of the embedded Factur-X data</pdfaProperty:description></rdf:li></rdf:Seq></pdfaSchema:property></rdf:li>"#;

/// The XMP packet `xmp` with the Factur-X properties and their schema description added.
pub(crate) fn complete_xmp(xmp: &str) -> Result<String, InvoiceError> {
    let missing = |what: &str| InvoiceError::Pdf(format!("krilla's XMP has no {what}"));
    // krilla (PDF/A-1 to 3) always describes its own extension schemas in a bag; ours joins them.
    let bag_open = "<pdfaExtension:schemas><rdf:Bag>";
    let bag_at = xmp.find(bag_open).ok_or_else(|| missing(bag_open))? + bag_open.len();
    let rdf_end = xmp
        .rfind("</rdf:RDF>")
        .ok_or_else(|| missing("</rdf:RDF>"))?;
    if rdf_end < bag_at {
        return Err(missing("extension schema bag inside rdf:RDF"));
    }
    let mut out = String::with_capacity(xmp.len() + FX_SCHEMA.len() + FX_PROPERTIES.len());
    out.push_str(&xmp[..bag_at]);
    out.push_str(FX_SCHEMA);
    out.push_str(&xmp[bag_at..rdf_end]);
    out.push_str(FX_PROPERTIES);
    out.push_str(&xmp[rdf_end..]);
    Ok(out)
}

/// `pdf` with its XMP metadata stream replaced, in an incremental update, by the completed packet.
pub(crate) fn add_facturx_xmp(pdf: Vec<u8>) -> Result<Vec<u8>, InvoiceError> {
    let err = |e: lopdf::Error| InvoiceError::Pdf(format!("XMP update: {e}"));
    let mut update: IncrementalDocument =
        IncrementalDocument::load_from(pdf.as_slice()).map_err(err)?;
    let prev = update.get_prev_documents();
    let catalog_id = prev
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .map_err(err)?;
    let metadata_id = prev
        .get_dictionary(catalog_id)
        .and_then(|catalog| catalog.get(b"Metadata"))
        .and_then(Object::as_reference)
        .map_err(err)?;
    let mut stream = prev
        .get_object(metadata_id)
        .and_then(Object::as_stream)
        .map_err(err)?
        .clone();
    if stream.dict.has(b"Filter") {
        return Err(InvoiceError::Pdf(
            "krilla's XMP stream is compressed".to_owned(),
        ));
    }
    let xmp = std::str::from_utf8(&stream.content)
        .map_err(|_| InvoiceError::Pdf("krilla's XMP is not UTF-8".to_owned()))?;
    let completed = complete_xmp(xmp)?;
    // PDF/A: the metadata stream stays unfiltered, readable by any tool.
    stream.allows_compression = false;
    stream.set_content(completed.into_bytes());
    update
        .new_document
        .set_object(metadata_id, Object::Stream(stream));
    let mut out = Vec::with_capacity(pdf.len() + 8 * 1024);
    update
        .save_to(&mut out)
        .map_err(|e| InvoiceError::Pdf(format!("XMP update: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KRILLA_LIKE: &str = concat!(
        r#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>"#,
        r#"<rdf:Description rdf:about=""><pdfaExtension:schemas><rdf:Bag><rdf:li>pdf</rdf:li></rdf:Bag>"#,
        r#"</pdfaExtension:schemas></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="r"?>"#
    );

    #[test]
    fn the_factur_x_schema_joins_krilla_s_bag_and_the_properties_close_the_rdf() {
        let out = complete_xmp(KRILLA_LIKE).unwrap();
        let schema_at = out.find("Factur-X PDFA Extension Schema").unwrap();
        assert!(
            out.find("<rdf:Bag>").unwrap() < schema_at
                && schema_at < out.find("<rdf:li>pdf").unwrap()
        );
        let props_at = out
            .find("<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>")
            .unwrap();
        assert!(props_at < out.find("</rdf:RDF>").unwrap());
        assert!(out.starts_with("<?xpacket begin") && out.ends_with(r#"<?xpacket end="r"?>"#));
    }

    #[test]
    fn an_unexpected_packet_is_an_error_not_a_broken_pdf() {
        assert!(complete_xmp("<x:xmpmeta><rdf:RDF></rdf:RDF></x:xmpmeta>").is_err());
        assert!(complete_xmp("<pdfaExtension:schemas><rdf:Bag>").is_err());
    }
}
