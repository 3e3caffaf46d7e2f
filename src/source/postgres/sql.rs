//! SQL text helpers for the PostgreSQL source.

/// A quoted identifier (`"name"`, inner quotes doubled).
#[must_use]
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A schema-qualified, quoted table name.
#[must_use]
pub fn table(schema: &str, name: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(name))
}

/// A quoted string literal.
#[must_use]
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// SQL matching a canonical or bare-hex UUID (such streams have no category).
pub const UUID_PATTERN: &str =
    "'^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$'";

/// The category of a stream by the usual rule (prefix before the first `-`, none for a
/// bare UUID), as SQL over a text expression.
#[must_use]
pub fn prefix_category(stream: &str) -> String {
    format!("CASE WHEN {stream} ~ {UUID_PATTERN} THEN '' ELSE split_part({stream}, '-', 1) END")
}

/// `text` as a non-negative integer when it is all digits (else NULL), as SQL.
#[must_use]
pub fn digits_to_bigint(text: &str) -> String {
    format!("CASE WHEN {text} ~ '^[0-9]{{1,19}}$' THEN ({text})::bigint END")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(table("public", "events"), "\"public\".\"events\"");
        assert_eq!(literal("it's"), "'it''s'");
    }
}
