//! Sample documents shared by the tests, the example and the benchmark: each a case the billing service
//! produces (consumer, company, several rates, exempt, credit note, yen).
#![allow(dead_code)]

use chrono::NaiveDate;
use tessera_invoicing::{
    compute_totals, Address, Branding, Buyer, DocumentKind, DocumentLocale, InvoiceDocument,
    InvoiceLine, LineKind, Seller, VatRate,
};

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub fn seller() -> Seller {
    Seller {
        name: "Salle Lumière SAS".into(),
        legal_form: "SAS".into(),
        share_capital: Some((1_000_000, "EUR".into())),
        siren: Some("732829320".into()),
        siret: Some("73282932000074".into()),
        vat_number: "FR44732829320".into(),
        rcs_city: Some("Lyon".into()),
        address: Address {
            line1: "12 rue de la République".into(),
            line2: Some("Bâtiment B".into()),
            postal_code: "69002".into(),
            city: "Lyon".into(),
            country: "FR".into(),
        },
        email: Some("factures@salle-lumiere.example".into()),
    }
}

pub fn consumer() -> Buyer {
    Buyer {
        name: "Camille Durand".into(),
        address: Some(Address {
            line1: "3 place Bellecour".into(),
            line2: None,
            postal_code: "69002".into(),
            city: "Lyon".into(),
            country: "FR".into(),
        }),
        siren: None,
        vat_number: None,
        email: Some("camille@example.org".into()),
    }
}

pub fn company() -> Buyer {
    Buyer {
        name: "Acier & Cie SARL".into(),
        address: Some(Address {
            line1: "8 avenue Jean Jaurès".into(),
            line2: Some("CS 20001".into()),
            postal_code: "69007".into(),
            city: "Lyon".into(),
            country: "FR".into(),
        }),
        siren: Some("552100554".into()),
        vat_number: Some("FR40552100554".into()),
        email: Some("compta@acier.example".into()),
    }
}

pub fn vat20() -> VatRate {
    VatRate {
        code: "FR-20".into(),
        rate_bps: 2000,
        exemption_note: None,
    }
}

pub fn vat_exempt() -> VatRate {
    VatRate {
        code: "FR-EXO".into(),
        rate_bps: 0,
        exemption_note: Some(
            "Exonération de TVA, article 261-4-4° du CGI (enseignement sportif)".into(),
        ),
    }
}

pub fn line(
    description: &str,
    kind: LineKind,
    quantity: i64,
    unit_price_minor: i64,
    vat: VatRate,
) -> InvoiceLine {
    InvoiceLine {
        description: description.into(),
        kind,
        quantity,
        unit_price_minor,
        vat,
    }
}

pub fn branding(logo: bool) -> Branding {
    Branding {
        brand_name: "Lumière Fitness".into(),
        primary_color: "#1F3A93".into(),
        accent_color: "#F39C12".into(),
        logo_png: logo.then(logo_png),
    }
}

/// A small generated PNG logo: a two-colour disc on a transparent background.
pub fn logo_png() -> Vec<u8> {
    let size = 64u32;
    let mut rgba = Vec::with_capacity((size * size * 4) as usize);
    for y in 0..size {
        for x in 0..size {
            let (dx, dy) = (x as i32 - 32, y as i32 - 32);
            let inside = dx * dx + dy * dy < 30 * 30;
            let upper = y < 32;
            rgba.extend_from_slice(&match (inside, upper) {
                (false, _) => [0, 0, 0, 0],
                (true, true) => [0x1F, 0x3A, 0x93, 255],
                (true, false) => [0xF3, 0x9C, 0x12, 255],
            });
        }
    }
    encode_png(size, size, &rgba)
}

/// A minimal PNG encoder (stored deflate blocks) so that the tests need no image crate.
fn encode_png(width: u32, height: u32, rgba: &[u8]) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    0xEDB8_8320 ^ (crc >> 1)
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    let mut raw = Vec::new();
    for row in rgba.chunks((width * 4) as usize) {
        raw.push(0);
        raw.extend_from_slice(row);
    }
    let mut z = vec![0x78, 0x01];
    for (i, block) in raw.chunks(65_535).enumerate() {
        let last = (i + 1) * 65_535 >= raw.len();
        z.push(u8::from(last));
        z.extend_from_slice(&(block.len() as u16).to_le_bytes());
        z.extend_from_slice(&(!(block.len() as u16)).to_le_bytes());
        z.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &z);
    chunk(&mut out, b"IEND", &[]);
    out
}

pub fn document(
    kind: DocumentKind,
    number: &str,
    locale: DocumentLocale,
    buyer: Buyer,
    currency: &str,
    lines: Vec<InvoiceLine>,
    paid_minor: i64,
) -> InvoiceDocument {
    let totals = compute_totals(&lines, currency).unwrap();
    InvoiceDocument {
        kind,
        number: number.into(),
        issued_on: date(2026, 11, 2),
        due_on: date(2026, 11, 30),
        service_period: Some((date(2026, 11, 1), date(2026, 11, 30))),
        currency: currency.into(),
        locale,
        seller: seller(),
        buyer,
        lines,
        totals,
        paid_minor,
        late_penalty_rate_bps: 1215,
        notes: vec!["Merci de votre confiance.".into()],
        branding: branding(true),
    }
}

/// A member's monthly plan, already paid by card.
pub fn consumer_invoice() -> InvoiceDocument {
    let lines = vec![line(
        "Abonnement mensuel Premium — novembre 2026",
        LineKind::Service,
        1,
        4990,
        vat20(),
    )];
    let total = compute_totals(&lines, "EUR").unwrap().total_incl_minor;
    document(
        DocumentKind::Invoice,
        "F-2026-000123",
        DocumentLocale::Fr,
        consumer(),
        "EUR",
        lines,
        total,
    )
}

/// A company paying for its staff, in English, unpaid.
pub fn company_invoice() -> InvoiceDocument {
    let lines = vec![
        line(
            "Corporate membership (10 employees) — November 2026",
            LineKind::Service,
            10,
            3990,
            vat20(),
        ),
        line("Enrolment fee", LineKind::Service, 10, 1500, vat20()),
    ];
    document(
        DocumentKind::Invoice,
        "F-2026-000124",
        DocumentLocale::En,
        company(),
        "EUR",
        lines,
        0,
    )
}

/// Several rates, goods and services, half paid.
pub fn multi_rate_invoice() -> InvoiceDocument {
    let lines = vec![
        line("Abonnement annuel", LineKind::Service, 1, 49_900, vat20()),
        line(
            "Barres protéinées (boîte de 12)",
            LineKind::Goods,
            3,
            1_099,
            VatRate {
                code: "FR-5.5".into(),
                rate_bps: 550,
                exemption_note: None,
            },
        ),
        line(
            "Boisson isotonique",
            LineKind::Goods,
            7,
            249,
            VatRate {
                code: "FR-10".into(),
                rate_bps: 1000,
                exemption_note: None,
            },
        ),
        line("Serviette brodée", LineKind::Goods, 2, 1_490, vat20()),
    ];
    document(
        DocumentKind::Invoice,
        "F-2026-000125",
        DocumentLocale::Fr,
        company(),
        "EUR",
        lines,
        10_000,
    )
}

/// Exempt sports teaching beside a taxed service.
pub fn exempt_invoice() -> InvoiceDocument {
    let lines = vec![
        line(
            "Cours de natation encadrés (10 séances)",
            LineKind::Service,
            10,
            1_800,
            vat_exempt(),
        ),
        line("Location de casier", LineKind::Service, 1, 500, vat20()),
    ];
    document(
        DocumentKind::Invoice,
        "F-2026-000126",
        DocumentLocale::Fr,
        consumer(),
        "EUR",
        lines,
        0,
    )
}

/// A credit note for part of the company invoice.
pub fn credit_note() -> InvoiceDocument {
    let lines = vec![line(
        "Corporate membership — 2 employees cancelled",
        LineKind::Service,
        2,
        3990,
        vat20(),
    )];
    document(
        DocumentKind::CreditNote {
            corrects_number: "F-2026-000124".into(),
            corrects_issued_on: date(2026, 11, 2),
        },
        "AV-2026-000007",
        DocumentLocale::En,
        company(),
        "EUR",
        lines,
        0,
    )
}

/// Yen: no minor unit, tax rounded to whole yen; a consumer without a known address.
pub fn yen_invoice() -> InvoiceDocument {
    let mut buyer = consumer();
    buyer.address = None;
    let lines = vec![line(
        "Drop-in class",
        LineKind::Service,
        3,
        1_005,
        VatRate {
            code: "JP-10".into(),
            rate_bps: 1000,
            exemption_note: None,
        },
    )];
    document(
        DocumentKind::Invoice,
        "F-2026-000127",
        DocumentLocale::En,
        buyer,
        "JPY",
        lines,
        0,
    )
}

/// Every sample, with a file-name-friendly label.
pub fn all() -> Vec<(&'static str, InvoiceDocument)> {
    vec![
        ("consumer", consumer_invoice()),
        ("company", company_invoice()),
        ("multi_rate", multi_rate_invoice()),
        ("exempt", exempt_invoice()),
        ("credit_note", credit_note()),
        ("yen", yen_invoice()),
    ]
}
