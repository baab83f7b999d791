//! Opt-in form checks, with the message shown next to the field.

/// A trimmed email with ASCII letters lower-cased, or why it is not one.
pub fn email(input: &str) -> Result<String, &'static str> {
    let e = input.trim();
    let (local, domain) = e
        .rsplit_once('@')
        .ok_or("Enter an email address, like name@example.com")?;
    let ok_local = !local.is_empty() && local.len() <= 64 && !local.contains(char::is_whitespace);
    let ok_domain = domain.len() <= 253
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b >= 0x80);
    if !ok_local || !ok_domain || e.contains('<') || e.contains('>') {
        return Err("Enter an email address, like name@example.com");
    }
    // ASCII only: the Unicode case tables would cost the download more than they give.
    Ok(e.to_ascii_lowercase())
}

/// A phone number as `+` and digits (spaces, dots, dashes and parentheses dropped), or why it
/// is not one: 7 to 15 digits, as E.164 allows.
pub fn phone(input: &str) -> Result<String, &'static str> {
    let t = input.trim();
    let mut out = String::new();
    for (i, c) in t.chars().enumerate() {
        match c {
            '+' if i == 0 => out.push('+'),
            '0'..='9' => out.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return Err("Enter a phone number, digits only, like +1 555 010 0000"),
        }
    }
    let digits = out.trim_start_matches('+').len();
    if !(7..=15).contains(&digits) {
        return Err("Enter a phone number with 7 to 15 digits");
    }
    Ok(out)
}

/// A city name: 1 to 100 characters.
pub fn city(input: &str) -> Result<String, &'static str> {
    let c = input.trim();
    if c.is_empty() || c.len() > 400 || c.chars().count() > 100 {
        return Err("Enter a city (up to 100 characters)");
    }
    Ok(c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(email("  Ada@Example.COM ").unwrap(), "ada@example.com");
        assert!(email("ada@münchen.de").is_ok());
        for bad in [
            "",
            "ada",
            "ada@",
            "@x.com",
            "ada@x",
            "a b@x.com",
            "ada@.x.com",
            "a@x..com",
            "<a@x.com>",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones_and_cities() {
        assert_eq!(phone("+1 (555) 010-0000").unwrap(), "+15550100000");
        assert_eq!(phone("030 1234567").unwrap(), "0301234567");
        for bad in ["", "12345", "+1 555 CALL NOW", "1+555", "1234567890123456"] {
            assert!(phone(bad).is_err(), "{bad}");
        }
        assert_eq!(city(" Zürich ").unwrap(), "Zürich");
        assert!(city(" ").is_err());
    }
}
