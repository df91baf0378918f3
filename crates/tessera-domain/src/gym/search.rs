//! Member search terms: names, e-mail addresses, phone numbers and card numbers reduced to lower-case,
//! accent-free tokens, so that `hélène` finds `Hélène`, `HELENE` and `Hélène-Marie`, and a prefix finds a name.
//! The store keeps one row per term and searches by prefix range on an index.

use unicode_normalization::UnicodeNormalization;

/// The largest code point: a prefix's range ends at `prefix` followed by it.
pub const PREFIX_END: char = '\u{10FFFF}';

/// Lower case, accents and other combining marks removed, ligatures spelled out (`œ` → `oe`).
pub fn fold(input: &str) -> String {
    input
        .nfkd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'œ' => "oe".to_owned(),
            'æ' => "ae".to_owned(),
            'ß' => "ss".to_owned(),
            'ø' => "o".to_owned(),
            'ł' => "l".to_owned(),
            other => other.to_string(),
        })
        .collect()
}

/// The words of a text, folded: split on anything that is not a letter or a digit.
pub fn words(input: &str) -> Vec<String> {
    fold(input)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The digits of a phone number in the forms people type: all digits (`33612345678`), and the national
/// significant number with the leading zero (`0612345678`) for French numbers written `+33 6 ...`.
pub fn phone_terms(phone: &str) -> Vec<String> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let mut terms = Vec::new();
    if digits.len() >= 4 {
        terms.push(digits.clone());
        if let Some(national) = digits.strip_prefix("33") {
            if phone.trim_start().starts_with('+') || phone.trim_start().starts_with("00") {
                terms.push(format!("0{national}"));
            }
        }
        if let Some(national) = digits.strip_prefix("0033") {
            terms.push(format!("0{national}"));
        }
    }
    terms
}

/// Every term a member is found by.
pub fn member_terms(
    given_name: &str,
    family_name: &str,
    email: &str,
    phone: Option<&str>,
    card_number: Option<&str>,
) -> Vec<String> {
    let mut terms = words(given_name);
    terms.extend(words(family_name));
    // The whole name folded without separators too, so that "jean-pierre" or "jeanpierre" find Jean-Pierre.
    for name in [given_name, family_name] {
        let joined: String = words(name).concat();
        terms.push(joined);
    }
    let email = fold(email.trim());
    if !email.is_empty() {
        terms.push(email.clone());
        if let Some((local, _)) = email.split_once('@') {
            terms.extend(words(local));
        }
    }
    if let Some(phone) = phone {
        terms.extend(phone_terms(phone));
    }
    if let Some(card) = card_number {
        let card = fold(card.trim());
        if !card.is_empty() {
            terms.push(card);
        }
    }
    terms.retain(|t| !t.is_empty());
    terms.sort();
    terms.dedup();
    terms
}

/// The tokens of a search query: each must prefix one of a member's terms. An e-mail-looking token stays
/// whole; everything else is split like names. Phone numbers keep only their digits.
pub fn query_tokens(query: &str) -> Vec<String> {
    // A query made only of a phone number's characters is one number, however it is spaced.
    let phone_like = query.chars().any(|c| c.is_ascii_digit())
        && query
            .chars()
            .all(|c| c.is_ascii_digit() || " +.-()/".contains(c));
    if phone_like {
        return vec![query.chars().filter(char::is_ascii_digit).collect()];
    }
    let mut tokens = Vec::new();
    for raw in query.split_whitespace() {
        if raw.contains('@') {
            tokens.push(fold(raw));
        } else if raw.starts_with('+')
            || raw
                .chars()
                .all(|c| c.is_ascii_digit() || " .-()".contains(c))
        {
            let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
            if !digits.is_empty() {
                tokens.push(digits);
            }
        } else {
            tokens.extend(words(raw));
        }
    }
    tokens.sort();
    tokens.dedup();
    // A shorter token that prefixes a longer one adds nothing.
    let all = tokens.clone();
    tokens.retain(|t| !all.iter().any(|o| o != t && o.starts_with(t.as_str())));
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_removes_case_and_accents() {
        assert_eq!(fold("Hélène"), "helene");
        assert_eq!(fold("ÇA VA"), "ca va");
        assert_eq!(fold("Œuvre"), "oeuvre");
        assert_eq!(fold("Ångström"), "angstrom");
        assert_eq!(fold("ﬁ"), "fi");
        assert_eq!(
            words("Jean-Pierre  d'Artagnan"),
            ["jean", "pierre", "d", "artagnan"]
        );
    }

    #[test]
    fn members_are_found_by_every_term() {
        let terms = member_terms(
            "Hélène-Marie",
            "Dupré",
            "Helene.Dupre@Example.fr",
            Some("+33 6 12 34 56 78"),
            Some("000123456789"),
        );
        for wanted in [
            "helene",
            "marie",
            "helenemarie",
            "dupre",
            "helene.dupre@example.fr",
            "33612345678",
            "0612345678",
            "000123456789",
        ] {
            assert!(terms.contains(&wanted.to_owned()), "{wanted} in {terms:?}");
        }
    }

    #[test]
    fn queries_become_prefix_tokens() {
        assert_eq!(query_tokens("HÉL dup"), ["dup", "hel"]);
        assert_eq!(query_tokens("06 12"), ["0612"]);
        assert_eq!(query_tokens("06.12.34"), ["061234"]);
        assert_eq!(query_tokens("+33 612"), ["33612"]);
        assert_eq!(query_tokens("dupre 1975"), ["1975", "dupre"]);
        assert_eq!(query_tokens("he hel"), ["hel"]);
        assert_eq!(query_tokens("a@B.fr"), ["a@b.fr"]);
        assert!(query_tokens("  -- ").is_empty());
    }
}
