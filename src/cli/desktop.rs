//! Store locations as a desktop hands them over. The `.desktop` entry's `Exec=eventscope %u`
//! receives a file from a file manager either as a path or as a `file://` URL (the launcher
//! chooses), and a server URL (`postgres://`, `esdb://` …) as it was clicked. Headless layer.

/// `location` as eventscope opens it: a `file://` URL (with `localhost` or no host) becomes
/// its percent-decoded path; anything else is returned unchanged (server URLs keep their
/// own encoding, which their parsers decode).
#[must_use]
pub fn store_location(location: &str) -> String {
    let Some(rest) = location
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("file://"))
        .and_then(|_| location.get(7..))
    else {
        return location.to_owned();
    };
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    // A host other than this machine, or no absolute path: not a local file.
    if !path.starts_with('/') {
        return location.to_owned();
    }
    percent_decode(path).unwrap_or_else(|| location.to_owned())
}

/// `%XX` escapes decoded; `None` when an escape is malformed or the result is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text.get(index + 1..index + 3)?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

#[cfg(test)]
mod tests {
    use super::store_location;

    #[test]
    fn file_urls_become_paths_and_everything_else_is_kept() {
        assert_eq!(
            store_location("file:///home/ana/demo.db"),
            "/home/ana/demo.db"
        );
        assert_eq!(
            store_location("file://localhost/tmp/My%20Store%C3%A6.db"),
            "/tmp/My Storeæ.db"
        );
        assert_eq!(store_location("FILE:///x.db#BankApp"), "/x.db#BankApp");
        // Another host's file, broken escapes and non-UTF-8 bytes stay as given, so the
        // open fails with the location the user clicked.
        for kept in [
            "file://server/share/x.db",
            "file:///x%2.db",
            "file:///x%FF.db",
            "postgres://ana@db/es%20x",
            "esdb://localhost:2113?tls=false",
            "relative/file.db",
            "/abs/file.db",
            "",
        ] {
            assert_eq!(store_location(kept), kept);
        }
    }
}
