//! Stream ids: UUID normalisation and categories.

/// Parses a UUID written as 32 hex digits, hyphenated 8-4-4-4-12, or either wrapped in `{}` /
/// prefixed with `urn:uuid:`, in any case. Returns the 16 bytes.
#[must_use]
pub fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let text = text.trim();
    let text = text.strip_prefix("urn:uuid:").unwrap_or(text);
    let text = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(text);
    let hex: Vec<u8> = match text.len() {
        32 => text.bytes().collect(),
        36 => {
            let bytes = text.as_bytes();
            if [8, 13, 18, 23].iter().any(|&i| bytes[i] != b'-') {
                return None;
            }
            text.bytes().filter(|&b| b != b'-').collect()
        }
        _ => return None,
    };
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in hex.chunks(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        #[allow(clippy::cast_possible_truncation)] // Two hex digits fit in a byte.
        {
            out[i] = (hi * 16 + lo) as u8;
        }
    }
    Some(out)
}

/// Formats 16 bytes as a canonical lowercase hyphenated UUID.
#[must_use]
pub fn format_uuid(bytes: &[u8; 16]) -> String {
    let hex = crate::core::event::hex(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The display form of a stored stream id: UUIDs (32 hex or hyphenated, any case) become
/// canonical hyphenated lowercase; anything else is shown as stored.
#[must_use]
pub fn display_stream_id(stored: &str) -> String {
    match parse_uuid(stored) {
        Some(bytes) if stored.len() == 32 || stored.len() == 36 => format_uuid(&bytes),
        _ => stored.to_owned(),
    }
}

/// True when the id is a bare UUID (so it carries no category of its own).
#[must_use]
pub fn is_uuid(text: &str) -> bool {
    (text.len() == 32 || text.len() == 36) && parse_uuid(text).is_some()
}

/// The category of a stream id: the prefix before the first `separator`. A bare UUID has
/// no category (empty string); an id without the separator is its own category.
#[must_use]
pub fn category_of(stream_id: &str, separator: char) -> String {
    if is_uuid(stream_id) {
        return String::new();
    }
    match stream_id.split_once(separator) {
        Some((prefix, _)) => prefix.to_owned(),
        None => stream_id.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_forms_round_trip() {
        let canonical = "8cb2a7ef-b0e4-4fa1-be95-1c42ea79c999";
        for form in [
            canonical,
            "8cb2a7efb0e44fa1be951c42ea79c999",
            "8CB2A7EF-B0E4-4FA1-BE95-1C42EA79C999",
            "{8cb2a7ef-b0e4-4fa1-be95-1c42ea79c999}",
            "urn:uuid:8cb2a7ef-b0e4-4fa1-be95-1c42ea79c999",
        ] {
            let bytes = parse_uuid(form).unwrap_or_else(|| panic!("{form} should parse"));
            assert_eq!(format_uuid(&bytes), canonical);
        }
        assert!(parse_uuid("8cb2a7ef-b0e4-4fa1-be95-1c42ea79c99").is_none());
        assert!(parse_uuid("zzb2a7efb0e44fa1be951c42ea79c999").is_none());
        assert!(parse_uuid("8cb2a7efb0e4-4fa1-be95-1c42ea79c999a").is_none());
    }

    #[test]
    fn display_and_category() {
        assert_eq!(
            display_stream_id("8cb2a7efb0e44fa1be951c42ea79c999"),
            "8cb2a7ef-b0e4-4fa1-be95-1c42ea79c999"
        );
        assert_eq!(display_stream_id("order-42"), "order-42");
        assert_eq!(category_of("order-42", '-'), "order");
        assert_eq!(
            category_of("shopping_cart-35667a7b-bd11", '-'),
            "shopping_cart"
        );
        assert_eq!(category_of("catalog", '-'), "catalog");
        assert_eq!(category_of("8cb2a7ef-b0e4-4fa1-be95-1c42ea79c999", '-'), "");
    }
}
