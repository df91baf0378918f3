//! Every printed word in French and English, in one place, so that the PDF and the XML's free texts say the
//! same mandatory French mentions.

use chrono::NaiveDate;

use crate::model::{DocumentKind, DocumentLocale, LineKind};
use crate::money::{display_amount, display_percent};

/// The fixed indemnity for recovery costs owed by a late business payer, in euro cents (Code de commerce,
/// art. L441-10 and D441-5).
pub const RECOVERY_INDEMNITY_EUR_CENTS: i64 = 4000;

/// The words of one locale.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Words {
    locale: DocumentLocale,
}

impl Words {
    pub(crate) fn new(locale: DocumentLocale) -> Words {
        Words { locale }
    }

    fn pick(&self, fr: &'static str, en: &'static str) -> &'static str {
        match self.locale {
            DocumentLocale::Fr => fr,
            DocumentLocale::En => en,
        }
    }

    pub(crate) fn date(&self, date: NaiveDate) -> String {
        match self.locale {
            DocumentLocale::Fr => date.format("%d/%m/%Y").to_string(),
            DocumentLocale::En => date.format("%-d %b %Y").to_string(),
        }
    }

    pub(crate) fn title(&self, kind: &DocumentKind) -> &'static str {
        match kind {
            DocumentKind::Invoice => self.pick("Facture", "Invoice"),
            DocumentKind::CreditNote { .. } => self.pick("Avoir", "Credit note"),
        }
    }

    /// "Avoir sur la facture F-1 du 01/02/2026".
    pub(crate) fn corrects(&self, number: &str, issued_on: NaiveDate) -> String {
        match self.locale {
            DocumentLocale::Fr => format!(
                "Avoir sur la facture n° {number} du {}",
                self.date(issued_on)
            ),
            DocumentLocale::En => format!(
                "Credit note for invoice No. {number} of {}",
                self.date(issued_on)
            ),
        }
    }

    pub(crate) fn number(&self) -> &'static str {
        self.pick("Numéro", "Number")
    }
    pub(crate) fn issued_on(&self) -> &'static str {
        self.pick("Date d'émission", "Issue date")
    }
    pub(crate) fn due_on(&self) -> &'static str {
        self.pick("Date d'échéance", "Due date")
    }
    pub(crate) fn service_period(&self) -> &'static str {
        self.pick("Période de prestation", "Service period")
    }
    pub(crate) fn period(&self, from: NaiveDate, to: NaiveDate) -> String {
        match self.locale {
            DocumentLocale::Fr => format!("du {} au {}", self.date(from), self.date(to)),
            DocumentLocale::En => format!("{} to {}", self.date(from), self.date(to)),
        }
    }
    pub(crate) fn seller(&self) -> &'static str {
        self.pick("Émetteur", "Seller")
    }
    pub(crate) fn buyer(&self) -> &'static str {
        self.pick("Client", "Bill to")
    }
    pub(crate) fn description(&self) -> &'static str {
        self.pick("Désignation", "Description")
    }
    pub(crate) fn kind(&self, kind: LineKind) -> &'static str {
        match kind {
            LineKind::Service => self.pick("Prestation de services", "Service"),
            LineKind::Goods => self.pick("Livraison de biens", "Goods"),
        }
    }
    pub(crate) fn quantity(&self) -> &'static str {
        self.pick("Qté", "Qty")
    }
    pub(crate) fn unit_price(&self) -> &'static str {
        self.pick("P.U. HT", "Unit price\nexcl. VAT")
    }
    pub(crate) fn vat_rate(&self) -> &'static str {
        self.pick("TVA", "VAT")
    }
    pub(crate) fn line_total(&self) -> &'static str {
        self.pick("Total HT", "Total\nexcl. VAT")
    }
    pub(crate) fn vat_breakdown(&self) -> &'static str {
        self.pick("Détail de la TVA", "VAT breakdown")
    }
    pub(crate) fn base(&self) -> &'static str {
        self.pick("Base HT", "Taxable amount")
    }
    pub(crate) fn tax(&self) -> &'static str {
        self.pick("Montant TVA", "VAT amount")
    }
    pub(crate) fn total_excl(&self) -> &'static str {
        self.pick("Total HT", "Total excl. VAT")
    }
    pub(crate) fn total_vat(&self) -> &'static str {
        self.pick("Total TVA", "Total VAT")
    }
    pub(crate) fn total_incl(&self) -> &'static str {
        self.pick("Total TTC", "Total incl. VAT")
    }
    pub(crate) fn paid(&self) -> &'static str {
        self.pick("Déjà réglé", "Already paid")
    }
    pub(crate) fn due(&self, kind: &DocumentKind) -> &'static str {
        match kind {
            DocumentKind::Invoice => self.pick("Net à payer", "Amount due"),
            DocumentKind::CreditNote { .. } => {
                self.pick("Montant à rembourser", "Amount to refund")
            }
        }
    }
    pub(crate) fn vat_number(&self) -> &'static str {
        self.pick("N° TVA", "VAT No.")
    }
    pub(crate) fn siren(&self) -> &'static str {
        "SIREN"
    }
    pub(crate) fn siret(&self) -> &'static str {
        "SIRET"
    }
    pub(crate) fn exemption(&self) -> &'static str {
        self.pick("Exonération de TVA", "VAT exemption")
    }
    pub(crate) fn notes(&self) -> &'static str {
        self.pick("Remarques", "Notes")
    }
    pub(crate) fn payment_terms_heading(&self) -> &'static str {
        self.pick("Conditions de paiement", "Payment terms")
    }

    /// "SAS au capital de 10 000 € — RCS Lyon 123 456 789".
    pub(crate) fn legal_identity(
        &self,
        legal_form: &str,
        share_capital: Option<(i64, &str, u32)>,
        rcs_city: Option<&str>,
        siren: Option<&str>,
    ) -> String {
        let mut out = legal_form.to_owned();
        if let Some((amount, currency, exponent)) = share_capital {
            let capital = display_amount(amount, currency, exponent, self.locale);
            out.push_str(&match self.locale {
                DocumentLocale::Fr => format!(" au capital de {capital}"),
                DocumentLocale::En => format!(" with a share capital of {capital}"),
            });
        }
        if let Some(city) = rcs_city {
            out.push_str(&format!(" — RCS {city}"));
            if let Some(siren) = siren {
                out.push_str(&format!(" {siren}"));
            }
        }
        out
    }

    /// The due-date sentence of the payment terms.
    pub(crate) fn pay_by(&self, due_on: NaiveDate) -> String {
        match self.locale {
            DocumentLocale::Fr => format!("Paiement au plus tard le {}.", self.date(due_on)),
            DocumentLocale::En => format!("Payment due by {}.", self.date(due_on)),
        }
    }

    /// The late-payment penalty mention (Code de commerce, art. L441-10).
    pub(crate) fn late_penalty(&self, rate_bps: i64) -> String {
        let rate = display_percent(rate_bps, self.locale);
        match self.locale {
            DocumentLocale::Fr => format!(
                "En cas de retard de paiement, des pénalités de retard sont exigibles au taux annuel de {rate}."
            ),
            DocumentLocale::En => format!("Late payments bear penalties at an annual rate of {rate}."),
        }
    }

    /// The 40 EUR fixed recovery indemnity mention (art. L441-10 and D441-5).
    pub(crate) fn recovery_indemnity(&self) -> String {
        let amount = display_amount(RECOVERY_INDEMNITY_EUR_CENTS, "EUR", 2, self.locale);
        match self.locale {
            DocumentLocale::Fr => format!(
                "Indemnité forfaitaire pour frais de recouvrement due en cas de retard de paiement par un professionnel : {amount} (art. L441-10 et D441-5 du Code de commerce)."
            ),
            DocumentLocale::En => format!(
                "A business payer who pays late also owes a fixed indemnity for recovery costs of {amount} (French Commercial Code, art. L441-10 and D441-5)."
            ),
        }
    }

    /// Tessera grants no early-payment discount; French law asks to say so.
    pub(crate) fn no_discount(&self) -> &'static str {
        self.pick(
            "Pas d'escompte pour paiement anticipé.",
            "No discount for early payment.",
        )
    }
}
