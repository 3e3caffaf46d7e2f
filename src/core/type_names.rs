//! Event type names in their shown and stored forms: matching a name a user wrote (in a
//! reducer's handler map, an `upcast(type, …)` call, a `--type` option) against the types a
//! store holds, and the "did you mean" warning for names that match none. Pure; core layer.

use crate::core::event::EventTypeName;

/// How many closest types a warning names at most.
const MAX_SUGGESTIONS: usize = 3;

/// Whether `name` is the shown or the stored form of one of `known`.
#[must_use]
pub fn is_known(name: &str, known: &[EventTypeName]) -> bool {
    known.iter().any(|t| t.shown == name || t.stored == name)
}

/// The types of `known` whose shown or stored form is closest to `name` (edit distance over
/// both forms; ties kept, at most three), closest first, ties in `known` order.
#[must_use]
pub fn closest<'a>(name: &str, known: &'a [EventTypeName]) -> Vec<&'a EventTypeName> {
    let mut scored: Vec<(usize, usize, &EventTypeName)> = known
        .iter()
        .enumerate()
        .map(|(index, t)| {
            let distance = edit_distance(name, &t.shown).min(edit_distance(name, &t.stored));
            (distance, index, t)
        })
        .collect();
    scored.sort_by_key(|(distance, index, _)| (*distance, *index));
    let Some(best) = scored.first().map(|(distance, _, _)| *distance) else {
        return Vec::new();
    };
    scored
        .into_iter()
        .take_while(|(distance, _, _)| *distance == best)
        .take(MAX_SUGGESTIONS)
        .map(|(_, _, t)| t)
        .collect()
}

/// The warning for one name that matches no type: "no event type `X`; did you mean
/// `module:Class.Event`?" (the closest types in their stored form, with the shown form in
/// brackets when it differs).
#[must_use]
pub fn unknown_type_message(name: &str, known: &[EventTypeName]) -> String {
    let suggestions = closest(name, known);
    if suggestions.is_empty() {
        return format!("no event type `{name}` (the store has no events)");
    }
    let named: Vec<String> = suggestions
        .iter()
        .map(|t| {
            if t.shown == t.stored {
                format!("`{}`", t.stored)
            } else {
                format!("`{}` (shown as `{}`)", t.stored, t.shown)
            }
        })
        .collect();
    format!(
        "no event type `{name}`; did you mean {}?",
        named.join(" or ")
    )
}

/// A name this close (edit distance) to a type of the store is taken for a typo of it.
const TYPO_DISTANCE: usize = 3;

/// Warnings for the names a file uses (`what`: "handler", "upcaster") that match no type of
/// the store. When none of the file's names matches anything (a fold or a check that
/// silently does nothing), a first line says so and every name gets its did-you-mean line.
/// When some match, only the names that look like typos of a stored type (within a few
/// edits of one) are warned about: a file shared by several stores (a reducer for an
/// application and its downstream one) names types a given store does not hold. Empty
/// when every name is known, or when the file names no type.
#[must_use]
pub fn unknown_type_warnings(
    file: &str,
    what: &str,
    names: &[String],
    known: &[EventTypeName],
) -> Vec<String> {
    let mut unknown: Vec<&String> = names.iter().filter(|n| !is_known(n, known)).collect();
    unknown.sort();
    unknown.dedup();
    if unknown.is_empty() {
        return Vec::new();
    }
    let none_match = names.iter().all(|n| !is_known(n, known));
    if !none_match {
        unknown.retain(|name| {
            known.iter().any(|t| {
                edit_distance(name, &t.shown).min(edit_distance(name, &t.stored)) <= TYPO_DISTANCE
            })
        });
    }
    let mut out = Vec::with_capacity(unknown.len() + 1);
    if none_match {
        let count = names.len();
        let plural = if count == 1 { "" } else { "s" };
        out.push(format!(
            "{file}: none of its {count} {what} name{plural} matches an event type in this store, so {}",
            if what == "upcaster" {
                "no event is upcasted"
            } else {
                "no handler ever runs"
            }
        ));
    }
    out.extend(
        unknown
            .into_iter()
            .map(|name| format!("{file}: {}", unknown_type_message(name, known))),
    );
    out
}

/// Levenshtein distance over characters.
#[must_use]
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(class_event: &str) -> EventTypeName {
        EventTypeName {
            shown: class_event.to_owned(),
            stored: format!("bankorders_model:{class_event}"),
        }
    }

    fn bank() -> Vec<EventTypeName> {
        vec![
            topic("BankAccount.Closed"),
            topic("BankAccount.Deposited"),
            topic("BankAccount.Opened"),
        ]
    }

    #[test]
    fn edit_distance_counts_insertions_deletions_and_substitutions() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("Opened", "Opened"), 0);
        assert_eq!(edit_distance("Öpened", "Opened"), 1);
    }

    #[test]
    fn both_forms_are_known() {
        let known = bank();
        assert!(is_known("BankAccount.Opened", &known));
        assert!(is_known("bankorders_model:BankAccount.Opened", &known));
        assert!(!is_known("bankorders_model:BankAccount.Openned", &known));
        assert!(!is_known("Opened", &known));
    }

    #[test]
    fn closest_over_either_form() {
        let known = bank();
        let names = |found: Vec<&EventTypeName>| {
            found
                .into_iter()
                .map(|t| t.shown.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(closest("bankorders_model:BankAccount.Openned", &known)),
            ["BankAccount.Opened"]
        );
        assert_eq!(
            names(closest("BankAcount.Deposited", &known)),
            ["BankAccount.Deposited"]
        );
        assert!(closest("x", &[]).is_empty());
    }

    #[test]
    fn warning_names_the_closest_stored_types() {
        let known = bank();
        assert_eq!(
            unknown_type_message("bank_model:BankAccount.Opened", &known),
            "no event type `bank_model:BankAccount.Opened`; did you mean \
             `bankorders_model:BankAccount.Opened` (shown as `BankAccount.Opened`)?"
        );
        let plain = vec![
            EventTypeName {
                shown: "OrderPlaced".to_owned(),
                stored: "OrderPlaced".to_owned(),
            },
            EventTypeName {
                shown: "OrderPaid".to_owned(),
                stored: "OrderPaid".to_owned(),
            },
        ];
        assert_eq!(
            unknown_type_message("OrderPlacd", &plain),
            "no event type `OrderPlacd`; did you mean `OrderPlaced`?"
        );
        assert_eq!(
            unknown_type_message("X", &[]),
            "no event type `X` (the store has no events)"
        );
    }

    #[test]
    fn warnings_only_for_unknown_names_and_a_summary_when_none_match() {
        let known = bank();
        let all_known = vec![
            "BankAccount.Opened".to_owned(),
            "bankorders_model:BankAccount.Deposited".to_owned(),
        ];
        assert!(unknown_type_warnings("r.js", "handler", &all_known, &known).is_empty());
        let one_wrong = vec![
            "BankAccount.Opened".to_owned(),
            "BankAccount.Deposit".to_owned(),
        ];
        assert_eq!(
            unknown_type_warnings("r.js", "handler", &one_wrong, &known),
            ["r.js: no event type `BankAccount.Deposit`; did you mean \
              `bankorders_model:BankAccount.Deposited` (shown as `BankAccount.Deposited`)?"]
        );
        // Names far from every stored type, beside names that match: another store's types.
        let shared = vec![
            "BankAccount.Opened".to_owned(),
            "AccountWatch.Started".to_owned(),
        ];
        assert!(unknown_type_warnings("r.js", "handler", &shared, &known).is_empty());
        let none = vec!["Opened".to_owned()];
        let warnings = unknown_type_warnings("r.js", "handler", &none, &known);
        assert_eq!(
            warnings[0],
            "r.js: none of its 1 handler name matches an event type in this store, so no handler ever runs"
        );
        assert!(warnings[1].starts_with("r.js: no event type `Opened`; did you mean "));
        assert!(unknown_type_warnings("r.js", "handler", &[], &known).is_empty());
    }
}
