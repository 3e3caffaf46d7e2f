//! Event type names: past-tense facts named after the intent, or not.

use crate::upcast::version::split_type_suffix;

/// Past participles that do not end in `-ed`.
const IRREGULAR: [&str; 48] = [
    "begun",
    "bought",
    "brought",
    "built",
    "caught",
    "chosen",
    "cut",
    "done",
    "drawn",
    "driven",
    "forgotten",
    "frozen",
    "given",
    "gone",
    "grown",
    "held",
    "hidden",
    "hit",
    "kept",
    "known",
    "laid",
    "left",
    "lost",
    "made",
    "met",
    "overdrawn",
    "paid",
    "put",
    "quit",
    "read",
    "rung",
    "run",
    "said",
    "seen",
    "sent",
    "set",
    "shown",
    "shut",
    "sold",
    "spent",
    "split",
    "spun",
    "taken",
    "thrown",
    "undone",
    "withdrawn",
    "won",
    "written",
];

/// Last words that say only that something changed, not why.
const CHANGE_VERBS: [&str; 8] = [
    "changed",
    "updated",
    "modified",
    "saved",
    "edited",
    "upserted",
    "persisted",
    "stored",
];

/// Words that name storage rather than the domain.
const STORAGE_WORDS: [&str; 6] = ["table", "row", "record", "entity", "crud", "db"];

/// The words of a type's own name: the part after the last `.` or `:` (Python
/// `eventsourcing`'s `BankAccount.Opened` → `Opened`), its version suffix dropped, split
/// at case changes, `_`, `-` and spaces, lowercased.
fn words(event_type: &str) -> Vec<String> {
    let base = split_type_suffix(event_type).0;
    let own = base.rsplit(['.', ':', '/']).next().unwrap_or(base);
    let mut words = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for c in own.chars() {
        if matches!(c, '_' | '-' | ' ' | '$') {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// True when the type's name ends in a change verb (`*Updated`, `*Changed`, `*Saved` …).
#[must_use]
pub fn is_change_named(event_type: &str) -> bool {
    words(event_type)
        .last()
        .is_some_and(|w| CHANGE_VERBS.contains(&w.as_str()))
}

/// Why a type's name is not an intent-focused past-tense fact, or `None` when it is.
#[must_use]
pub fn intent_problem(event_type: &str) -> Option<&'static str> {
    let words = words(event_type);
    let last = words.last()?;
    let change = CHANGE_VERBS.contains(&last.as_str());
    if change && words.iter().any(|w| STORAGE_WORDS.contains(&w.as_str())) {
        return Some("named after storage, not the domain: say what happened in the business");
    }
    if change {
        return Some(
            "says only that something changed: name the intent (SeatsReserved, not SeatsChanged)",
        );
    }
    // Irregular participles also with a prefix: Unfrozen, Rewritten, Overdrawn.
    let irregular = |word: &str| {
        IRREGULAR.contains(&word)
            || ["un", "re", "over", "under", "with"].iter().any(|prefix| {
                word.strip_prefix(prefix)
                    .is_some_and(|w| IRREGULAR.contains(&w))
            })
    };
    let past = (last.ends_with("ed") && last.len() > 3) || irregular(last);
    if !past {
        return Some(
            "not a past-tense fact: events record what happened (OrderPlaced, not PlaceOrder)",
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intent_names() {
        for good in [
            "OrderPlaced",
            "SeatsReserved",
            "BankAccount.Opened",
            "Dog.Registered",
            "MoneyWithdrawn",
            "InvoiceSent.v2",
            "shopping_cart_confirmed",
            "PaymentPaid",
            "AccountUnfrozen",
        ] {
            assert_eq!(intent_problem(good), None, "{good}");
        }
        for bad in [
            "SeatsChanged",
            "OrderUpdated",
            "CustomerTableUpdated",
            "PlaceOrder",
            "Deposit",
            "BankAccount.Snapshot",
        ] {
            assert!(intent_problem(bad).is_some(), "{bad}");
        }
        assert!(
            intent_problem("CustomerTableUpdated")
                .is_some_and(|r| r.starts_with("named after storage"))
        );
        assert!(is_change_named("ProductPriceChanged"));
        assert!(!is_change_named("OrderPlaced"));
    }
}
