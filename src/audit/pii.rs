//! Values that look like personal data: emails, phone numbers, IBANs (mod-97), card numbers
//! (Luhn) and IP addresses. Text values only (a number is never taken for a phone or a
//! card: too many ids and amounts look like one). The tests beside this file show what each
//! pattern takes and what it leaves.

use serde::Serialize;

/// A kind of personal data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// `name@example.com` (anywhere in the text).
    Email,
    /// An IBAN whose check digits hold (ISO 13616 mod-97), spaces allowed.
    Iban,
    /// 13–19 digits (spaces or dashes between groups) starting 2–6, passing Luhn.
    Card,
    /// A dotted-quad IPv4 address (the whole value).
    Ipv4,
    /// An IPv6 address other than `::` (the whole value).
    Ipv6,
    /// `+` and 8–15 digits, `(555) 123-4567`, or `555-123-4567` (the whole value).
    Phone,
}

impl Kind {
    /// The lowercase name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Iban => "iban",
            Self::Card => "card",
            Self::Ipv4 => "ipv4",
            Self::Ipv6 => "ipv6",
            Self::Phone => "phone",
        }
    }
}

/// Longest text looked at whole (longer text is only searched for emails).
const WHOLE_MAX: usize = 64;

/// What kind of personal data a text value holds, if any (the first kind that matches, in
/// the order of [`Kind`]).
#[must_use]
pub fn classify(text: &str) -> Option<Kind> {
    if text.len() < 7 {
        return None;
    }
    if text.contains('@') && has_email(text) {
        return Some(Kind::Email);
    }
    if text.len() > WHOLE_MAX {
        return None;
    }
    let text = text.trim();
    if is_iban(text) {
        return Some(Kind::Iban);
    }
    if is_card(text) {
        return Some(Kind::Card);
    }
    if text.contains('.')
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text.parse::<std::net::Ipv4Addr>().is_ok()
    {
        return Some(Kind::Ipv4);
    }
    if text.contains(':')
        && text
            .parse::<std::net::Ipv6Addr>()
            .is_ok_and(|ip| !ip.is_unspecified())
    {
        return Some(Kind::Ipv6);
    }
    if is_phone(text) {
        return Some(Kind::Phone);
    }
    None
}

/// The value with most of it hidden, for reports: `a***@example.com`, `DE89…00`.
#[must_use]
pub fn mask(kind: Kind, text: &str) -> String {
    let chars: Vec<char> = text.trim().chars().collect();
    if kind == Kind::Email
        && let Some(at) = chars.iter().position(|&c| c == '@')
    {
        let first: String = chars[..at].iter().take(1).collect();
        let domain: String = chars[at..].iter().collect();
        return format!("{first}***{domain}");
    }
    if chars.len() <= 6 {
        return "***".to_owned();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}…{tail}")
}

fn is_local_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_domain_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-')
}

/// An email address somewhere in the text.
fn has_email(text: &str) -> bool {
    let bytes = text.as_bytes();
    for (at, _) in text.match_indices('@') {
        let start = bytes[..at]
            .iter()
            .rposition(|&b| !is_local_char(b))
            .map_or(0, |i| i + 1);
        let end = bytes[at + 1..]
            .iter()
            .position(|&b| !is_domain_char(b))
            .map_or(bytes.len(), |i| at + 1 + i);
        let local = &text[start..at];
        let domain = text[at + 1..end].trim_end_matches('.');
        if local.is_empty() || local.starts_with('.') || local.ends_with('.') {
            continue;
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2
            || labels
                .iter()
                .any(|l| l.is_empty() || l.starts_with('-') || l.ends_with('-'))
        {
            continue;
        }
        let tld = labels[labels.len() - 1];
        if tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()) {
            return true;
        }
    }
    false
}

/// An IBAN (spaces allowed) whose check digits hold.
fn is_iban(text: &str) -> bool {
    if !text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ') {
        return false;
    }
    let compact: Vec<u8> = text.bytes().filter(|&b| b != b' ').collect();
    if !(15..=34).contains(&compact.len())
        || !compact[..2].iter().all(u8::is_ascii_uppercase)
        || !compact[2..4].iter().all(u8::is_ascii_digit)
        || !compact[4..]
            .iter()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    {
        return false;
    }
    let mut remainder: u32 = 0;
    for &b in compact[4..].iter().chain(&compact[..4]) {
        let value = if b.is_ascii_digit() {
            u32::from(b - b'0')
        } else {
            u32::from(b - b'A') + 10
        };
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    remainder == 1
}

/// 13–19 digits in groups (spaces or dashes), first digit 2–6, Luhn-valid, not one digit
/// repeated.
fn is_card(text: &str) -> bool {
    if !text
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b' ' || b == b'-')
        || text.starts_with(['-', ' '])
    {
        return false;
    }
    let digits: Vec<u32> = text
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| u32::from(b - b'0'))
        .collect();
    if !(13..=19).contains(&digits.len()) || !(2..=6).contains(&digits[0]) {
        return false;
    }
    if digits.iter().all(|&d| d == digits[0]) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A phone number: `+` then 8–15 digits with spaces, dashes, dots or parentheses; a
/// number with an area code in parentheses; or the North American `555-123-4567`.
fn is_phone(text: &str) -> bool {
    if !text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b' ' | b'-' | b'.' | b'(' | b')'))
    {
        return false;
    }
    let digits = text.bytes().filter(u8::is_ascii_digit).count();
    if !(8..=15).contains(&digits) || text[1..].contains('+') {
        return false;
    }
    if let Some(rest) = text.strip_prefix('+') {
        return rest.starts_with(|c: char| c.is_ascii_digit() && c != '0');
    }
    let groups: Vec<&str> = text
        .split([' ', '-', '.', '(', ')'])
        .filter(|g| !g.is_empty())
        .collect();
    if text.starts_with('(') {
        return text.find(')').is_some_and(|close| close == 4) && groups.len() >= 2;
    }
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    lens == [3, 3, 4] && {
        let separators: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_digit()).collect();
        separators.len() == 2 && separators[0] == separators[1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_and_its_look_alikes() {
        let cases = [
            ("ana.maria+shop@example.co.uk", Some(Kind::Email)),
            ("write to bob@example.org today", Some(Kind::Email)),
            ("user@localhost", None),
            ("@handle and more", None),
            ("DE89 3704 0044 0532 0130 00", Some(Kind::Iban)),
            ("GB82WEST12345698765432", Some(Kind::Iban)),
            ("GB82WEST12345698765433", None),
            ("4111 1111 1111 1111", Some(Kind::Card)),
            ("5500-0000-0000-0004", Some(Kind::Card)),
            ("4111111111111112", None),
            ("1700000000000", None),
            ("192.168.10.24", Some(Kind::Ipv4)),
            ("300.1.1.1", None),
            ("2001:db8::8a2e:370:7334", Some(Kind::Ipv6)),
            ("12:30:45", None),
            ("+44 20 7946 0958", Some(Kind::Phone)),
            ("(555) 123-4567", Some(Kind::Phone)),
            ("555-123-4567", Some(Kind::Phone)),
            ("2025-03-01", None),
            ("291.01", None),
            ("8cb2a7ef-b0e4-4fa1-be95-1c42ea79c999", None),
            ("2024-01-15T11:10:25.126492+00:00", None),
            ("opening deposit", None),
        ];
        for (text, kind) in cases {
            assert_eq!(classify(text), kind, "{text}");
        }
    }

    #[test]
    fn masks_keep_little() {
        assert_eq!(mask(Kind::Email, "ana@example.com"), "a***@example.com");
        assert_eq!(mask(Kind::Iban, "GB82WEST12345698765432"), "GB8…32");
    }
}
