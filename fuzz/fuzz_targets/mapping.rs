//! Mapping files (TOML) checked against a store schema, and built-in layout detection on
//! the same schema. The input is the schema, one table a line (`name: col, col, …`), then
//! a line `---`, then the mapping file.
#![no_main]

use eventscope::source::sqlite::layout::{DetectOptions, Schema, detect};
use eventscope::source::sqlite::mapping;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (schema_text, mapping_text) = text.split_once("\n---\n").unwrap_or(("", &text));
    let tables = schema_text
        .lines()
        .filter_map(|line| {
            let (name, columns) = line.split_once(':')?;
            Some((
                name.trim().to_owned(),
                columns.split(',').map(|c| c.trim().to_owned()).collect(),
            ))
        })
        .collect();
    let schema = Schema { tables };
    let _ = detect(&schema, &DetectOptions::default());
    let _ = detect(
        &schema,
        &DetectOptions {
            application: Some("app".to_owned()),
        },
    );
    if let Err(err) = mapping::parse(mapping_text, &schema) {
        assert!(!err.to_string().is_empty());
    }
    // The drafted mapping for an unknown layout is TOML the user fills in: it must parse.
    if let Ok(draft) = mapping::suggest_for(&schema, "store.db") {
        if let Err(err) = toml::from_str::<toml::Table>(&draft) {
            panic!("the drafted mapping is not TOML ({err}):\n{draft}");
        }
    }
});
