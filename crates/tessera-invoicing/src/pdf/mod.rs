//! stub
use crate::{InvoiceDocument, InvoiceError};
/// stub
pub fn render_pdf(doc: &InvoiceDocument) -> Result<Vec<u8>, InvoiceError> {
    doc.check()?;
    Ok(Vec::new())
}
