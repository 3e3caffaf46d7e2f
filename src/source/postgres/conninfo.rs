//! Connection settings the way libpq reads them: `postgres://` / `postgresql://` URLs and
//! keyword strings (`host=… dbname=…`), the `PG*` environment variables, `~/.pgpass` /
//! `PGPASSFILE`, `sslmode` + `sslrootcert`, `options`, plus eventscope's own `schema=`
//! parameter and `#App` fragment. Always built (no client needed), so the dispatch and the
//! redaction work in every build.
//! (Over 600 lines: libpq's connection-string grammar, its environment variables, pgpass and redaction are one concern that must agree with itself.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How TLS is used (libpq's `sslmode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    /// Never.
    Disable,
    /// TLS when the server offers it, no certificate check (`allow` and `prefer`).
    Prefer,
    /// TLS required, no certificate check (a CA check when a root certificate is given).
    Require,
    /// TLS, the chain checked against the root certificate, any host name.
    VerifyCa,
    /// TLS, the chain and the host name checked.
    VerifyFull,
}

/// Where the CA certificates for `verify-ca` / `verify-full` come from (`sslrootcert`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootCert {
    /// A PEM file of CA certificates.
    File(PathBuf),
    /// `sslrootcert=system` (libpq 16): the system's trusted CA store. Only with
    /// `verify-full`, which it implies when no `sslmode` is given.
    System,
}

/// Everything needed to connect, parsed and completed from the environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnInfo {
    /// Hosts (names, IPs, or Unix socket directories starting with `/`).
    pub hosts: Vec<String>,
    /// Ports, one per host or one for all.
    pub ports: Vec<u16>,
    /// User name.
    pub user: String,
    /// Password, when given or found in the password file (never shown).
    pub password: Option<String>,
    /// Database name.
    pub dbname: String,
    /// TLS mode.
    pub sslmode: SslMode,
    /// Root certificates for the CA check.
    pub sslrootcert: Option<RootCert>,
    /// Server options (`-c key=value …`).
    pub options: Option<String>,
    /// Connect timeout in seconds.
    pub connect_timeout: Option<u64>,
    /// Schema to read (`schema=` or the first entry of `search_path`).
    pub schema: Option<String>,
    /// Application / layout chosen with `#App`.
    pub application: Option<String>,
    /// The location as the user gave it, password removed.
    pub shown: String,
}

/// True when `location` is a PostgreSQL URL or a libpq keyword string.
#[must_use]
pub fn is_postgres_location(location: &str) -> bool {
    let lower = location.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://")
        || lower.starts_with("postgresql://")
        || is_keyword_string(location)
}

const KEYWORDS: [&str; 14] = [
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "sslmode",
    "sslrootcert",
    "options",
    "connect_timeout",
    "schema",
    "search_path",
    "passfile",
    "application_name",
];

fn is_keyword_string(location: &str) -> bool {
    if Path::new(location).exists() {
        return false;
    }
    let Ok(pairs) = parse_keywords(strip_fragment(location).0) else {
        return false;
    };
    !pairs.is_empty()
        && pairs
            .iter()
            .any(|(key, _)| matches!(key.as_str(), "host" | "dbname" | "port" | "user"))
}

/// `location` without a trailing `#App`, and the app.
fn strip_fragment(location: &str) -> (&str, Option<String>) {
    match location.rsplit_once('#') {
        Some((rest, app)) if !app.is_empty() && !app.contains(['=', ' ', '/', '\'']) => {
            (rest, Some(percent_decode(app)))
        }
        _ => (location, None),
    }
}

/// The location with its password removed (URL user info, `password=` parameters and
/// keywords), safe for titles, errors and the recent list.
#[must_use]
pub fn redact(location: &str) -> String {
    let lower = location.trim_start().to_ascii_lowercase();
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        return crate::source::grpc::redact_url(location);
    }
    match parse_keywords(location) {
        Ok(pairs) => pairs
            .iter()
            .filter(|(key, _)| key != "password")
            .map(|(key, value)| format!("{key}={}", quote_value(value)))
            .collect::<Vec<_>>()
            .join(" "),
        Err(_) => "(unreadable connection string)".to_owned(),
    }
}

fn quote_value(value: &str) -> String {
    if !value.is_empty() && !value.contains([' ', '\'', '\\']) {
        return value.to_owned();
    }
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Splits a keyword string into `(key, value)` pairs (libpq rules: `key = value`, values
/// single-quoted with `\'` and `\\` escapes when they hold spaces).
fn parse_keywords(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(pairs);
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(format!("missing \"=\" after \"{key}\""));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(format!("unterminated quoted value for \"{key}\"")),
                    Some('\'') => break,
                    Some('\\') => value.extend(chars.next()),
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                if c == '\\' {
                    chars.next();
                    value.extend(chars.next());
                } else {
                    value.push(c);
                    chars.next();
                }
            }
        }
        if key.is_empty() {
            return Err("empty keyword".to_owned());
        }
        pairs.push((key.to_ascii_lowercase(), value));
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len() + 1
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a URL into keyword pairs (hosts and ports kept as comma lists, like libpq).
fn url_pairs(url: &str) -> Result<Vec<(String, String)>, String> {
    let rest = url
        .split_once("://")
        .map(|(_, rest)| rest)
        .ok_or_else(|| "not a URL".to_owned())?;
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], Some(&rest[at + 1..])),
        None => (rest, None),
    };
    let mut pairs = Vec::new();
    let hosts = match authority.rsplit_once('@') {
        Some((user_info, hosts)) => {
            match user_info.split_once(':') {
                Some((user, password)) => {
                    if !user.is_empty() {
                        pairs.push(("user".to_owned(), percent_decode(user)));
                    }
                    pairs.push(("password".to_owned(), percent_decode(password)));
                }
                None if !user_info.is_empty() => {
                    pairs.push(("user".to_owned(), percent_decode(user_info)));
                }
                None => {}
            }
            hosts
        }
        None => authority,
    };
    if !hosts.is_empty() {
        let mut host_list = Vec::new();
        let mut port_list = Vec::new();
        for spec in hosts.split(',') {
            let (host, port) = if let Some(inner) = spec.strip_prefix('[') {
                let (host, after) = inner
                    .split_once(']')
                    .ok_or_else(|| format!("unclosed \"[\" in host \"{spec}\""))?;
                (host, after.strip_prefix(':'))
            } else {
                match spec.rsplit_once(':') {
                    Some((host, port)) => (host, Some(port)),
                    None => (spec, None),
                }
            };
            host_list.push(percent_decode(host));
            port_list.push(port.unwrap_or_default().to_owned());
        }
        pairs.push(("host".to_owned(), host_list.join(",")));
        if port_list.iter().any(|p| !p.is_empty()) {
            pairs.push(("port".to_owned(), port_list.join(",")));
        }
    }
    if let Some(path) = path.filter(|p| !p.is_empty()) {
        pairs.push(("dbname".to_owned(), percent_decode(path)));
    }
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        pairs.push((
            percent_decode(key).to_ascii_lowercase(),
            percent_decode(value),
        ));
    }
    Ok(pairs)
}

/// Where the environment comes from (the real one, or a fixed map in tests).
pub trait Env {
    /// The variable's value, if set and not empty.
    fn var(&self, name: &str) -> Option<String>;
    /// The home directory.
    fn home(&self) -> Option<PathBuf>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
    fn home(&self) -> Option<PathBuf> {
        directories::BaseDirs::new().map(|dirs| dirs.home_dir().to_path_buf())
    }
}

/// Parses `location` and completes it from the environment and the password file.
///
/// # Errors
/// With a message naming the bad part (never the password).
pub fn parse(location: &str, env: &dyn Env) -> Result<ConnInfo, String> {
    let trimmed = location.trim();
    let (body, application) = strip_fragment(trimmed);
    let lower = body.to_ascii_lowercase();
    let pairs = if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        url_pairs(body)?
    } else {
        parse_keywords(body)?
    };
    let mut map = BTreeMap::new();
    for (key, value) in pairs {
        if !KEYWORDS.contains(&key.as_str()) && key != "target_session_attrs" {
            return Err(format!("unknown connection parameter \"{key}\""));
        }
        map.insert(key, value);
    }
    let get = |key: &str, var: &str| map.get(key).cloned().or_else(|| env.var(var));
    let hosts: Vec<String> = get("host", "PGHOST")
        .or_else(|| map.get("hostaddr").cloned())
        .unwrap_or_else(|| "localhost".to_owned())
        .split(',')
        .map(|h| if h.is_empty() { "localhost" } else { h }.to_owned())
        .collect();
    let ports = get("port", "PGPORT")
        .unwrap_or_default()
        .split(',')
        .map(|p| {
            if p.is_empty() {
                Ok(5432)
            } else {
                p.parse::<u16>()
                    .map_err(|_| format!("invalid port \"{p}\""))
            }
        })
        .collect::<Result<Vec<u16>, String>>()?;
    if ports.len() != 1 && ports.len() != hosts.len() {
        return Err(format!(
            "{} ports given for {} hosts",
            ports.len(),
            hosts.len()
        ));
    }
    let user = get("user", "PGUSER")
        .or_else(|| env.var("USER"))
        .unwrap_or_else(|| "postgres".to_owned());
    let dbname = get("dbname", "PGDATABASE").unwrap_or_else(|| user.clone());
    let sslrootcert = get("sslrootcert", "PGSSLROOTCERT").map(|root| {
        if root == "system" {
            RootCert::System
        } else {
            RootCert::File(PathBuf::from(root))
        }
    });
    let system_roots = sslrootcert == Some(RootCert::System);
    let sslmode = match get("sslmode", "PGSSLMODE").as_deref() {
        // libpq 16: the system's CA store implies verify-full.
        None if system_roots => SslMode::VerifyFull,
        Some(weak @ ("disable" | "allow" | "prefer" | "require" | "verify-ca")) if system_roots => {
            return Err(format!(
                "weak sslmode \"{weak}\" may not be used with sslrootcert=system (use \"verify-full\")"
            ));
        }
        None | Some("prefer" | "allow") => SslMode::Prefer,
        Some("disable") => SslMode::Disable,
        Some("require") => SslMode::Require,
        Some("verify-ca") => SslMode::VerifyCa,
        Some("verify-full") => SslMode::VerifyFull,
        Some(other) => {
            return Err(format!(
                "invalid sslmode \"{other}\" (disable, allow, prefer, require, verify-ca, verify-full)"
            ));
        }
    };
    let connect_timeout = get("connect_timeout", "PGCONNECT_TIMEOUT")
        .map(|t| {
            t.parse::<u64>()
                .map_err(|_| format!("invalid connect_timeout \"{t}\""))
        })
        .transpose()?;
    let schema = map.get("schema").cloned().or_else(|| {
        map.get("search_path")
            .and_then(|p| p.split(',').next().map(|s| s.trim().to_owned()))
    });
    let mut password = map
        .get("password")
        .cloned()
        .or_else(|| env.var("PGPASSWORD"));
    if password.is_none() {
        let passfile = map
            .get("passfile")
            .cloned()
            .or_else(|| env.var("PGPASSFILE"))
            .map(PathBuf::from)
            .or_else(|| env.home().map(|home| home.join(".pgpass")));
        if let Some(passfile) = passfile {
            password = pgpass_lookup(&passfile, &hosts[0], ports[0], &dbname, &user);
        }
    }
    Ok(ConnInfo {
        hosts,
        ports,
        user,
        password,
        dbname,
        sslmode,
        sslrootcert,
        options: get("options", "PGOPTIONS"),
        connect_timeout,
        schema,
        application,
        shown: redact(trimmed),
    })
}

/// The password for a host/port/database/user from a libpq password file
/// (`hostname:port:database:username:password`, `*` matches anything, `\:` and `\\` escape).
/// A Unix socket host matches `localhost`.
#[must_use]
pub fn pgpass_lookup(
    path: &Path,
    host: &str,
    port: u16,
    dbname: &str,
    user: &str,
) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let host = if host.starts_with('/') {
        "localhost"
    } else {
        host
    };
    let port = port.to_string();
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_pgpass(line);
        if fields.len() != 5 {
            continue;
        }
        let matches = |field: &str, value: &str| field == "*" || field == value;
        if matches(&fields[0], host)
            && matches(&fields[1], &port)
            && matches(&fields[2], dbname)
            && matches(&fields[3], user)
        {
            return Some(fields[4].clone());
        }
    }
    None
}

fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next()
                    && let Some(last) = fields.last_mut()
                {
                    last.push(next);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            _ => {
                if let Some(last) = fields.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FakeEnv(Vec<(&'static str, String)>, Option<PathBuf>);

    impl Env for FakeEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.0
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        }
        fn home(&self) -> Option<PathBuf> {
            self.1.clone()
        }
    }

    fn empty() -> FakeEnv {
        FakeEnv(Vec::new(), None)
    }

    #[test]
    fn urls() {
        let info = parse(
            "postgres://al%40ice:s3:cret@db.example:6543/shop?sslmode=verify-full&sslrootcert=/tmp/ca.crt&schema=billing#BankApp",
            &empty(),
        )
        .unwrap();
        assert_eq!(info.user, "al@ice");
        assert_eq!(info.password.as_deref(), Some("s3:cret"));
        assert_eq!(info.hosts, ["db.example"]);
        assert_eq!(info.ports, [6543]);
        assert_eq!(info.dbname, "shop");
        assert_eq!(info.sslmode, SslMode::VerifyFull);
        assert_eq!(
            info.sslrootcert,
            Some(RootCert::File(PathBuf::from("/tmp/ca.crt")))
        );
        assert_eq!(info.schema.as_deref(), Some("billing"));
        assert_eq!(info.application.as_deref(), Some("BankApp"));
        assert!(!info.shown.contains("s3"), "{}", info.shown);
        let multi = parse("postgresql://a:1,[::1]:2/x", &empty()).unwrap();
        assert_eq!(multi.hosts, ["a", "::1"]);
        assert_eq!(multi.ports, [1, 2]);
        assert!(parse("postgres://h/db?sslmode=sometimes", &empty()).is_err());
        assert!(parse("postgres://h:notaport/db", &empty()).is_err());
        assert!(parse("postgres://h/db?bogus=1", &empty()).is_err());
    }

    #[test]
    fn sslrootcert_system_means_the_system_store_and_verify_full() {
        let info = parse("postgres://h/db?sslrootcert=system", &empty()).unwrap();
        assert_eq!(info.sslrootcert, Some(RootCert::System));
        assert_eq!(
            info.sslmode,
            SslMode::VerifyFull,
            "implied, as libpq 16 does"
        );
        let info = parse("host=h sslmode=verify-full sslrootcert=system", &empty()).unwrap();
        assert_eq!(
            (info.sslmode, info.sslrootcert),
            (SslMode::VerifyFull, Some(RootCert::System))
        );
        for weak in ["disable", "allow", "prefer", "require", "verify-ca"] {
            let err = parse(
                &format!("postgres://h/db?sslmode={weak}&sslrootcert=system"),
                &empty(),
            )
            .unwrap_err();
            assert!(err.contains(&format!("weak sslmode \"{weak}\"")), "{err}");
        }
        // From the environment too; any other value is a file.
        let env = FakeEnv(vec![("PGSSLROOTCERT", "system".to_owned())], None);
        assert_eq!(parse("host=h", &env).unwrap().sslmode, SslMode::VerifyFull);
        let file = parse("host=h sslrootcert=./system.crt", &empty()).unwrap();
        assert_eq!(
            (file.sslmode, file.sslrootcert),
            (
                SslMode::Prefer,
                Some(RootCert::File(PathBuf::from("./system.crt")))
            )
        );
    }

    #[test]
    fn keywords_and_env() {
        let env = FakeEnv(
            vec![
                ("PGHOST", "envhost".to_owned()),
                ("PGUSER", "envuser".to_owned()),
                ("PGSSLMODE", "require".to_owned()),
            ],
            None,
        );
        let info = parse("dbname=es password='a b\\'c' port=7000", &env).unwrap();
        assert_eq!(info.hosts, ["envhost"]);
        assert_eq!(info.user, "envuser");
        assert_eq!(info.dbname, "es");
        assert_eq!(info.ports, [7000]);
        assert_eq!(info.password.as_deref(), Some("a b'c"));
        assert_eq!(info.sslmode, SslMode::Require);
        assert_eq!(info.shown, "dbname=es port=7000");
        assert!(is_postgres_location("host=127.0.0.1 dbname=x"));
        assert!(is_postgres_location("postgresql://x/y"));
        assert!(!is_postgres_location("/tmp/store.db"));
        assert!(!is_postgres_location("store.db#App"));
        assert_eq!(redact("host=h password=secret dbname=d"), "host=h dbname=d");
    }

    #[test]
    fn pgpass() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(
            &file,
            "# comment\nother:5432:*:*:nope\nlocalhost:5432:es:bob:pa\\:ss\n*:*:*:*:fallback\n",
        )
        .unwrap();
        assert_eq!(
            pgpass_lookup(&file, "localhost", 5432, "es", "bob").as_deref(),
            Some("pa:ss")
        );
        assert_eq!(
            pgpass_lookup(&file, "/var/run/postgresql", 5432, "es", "bob").as_deref(),
            Some("pa:ss")
        );
        assert_eq!(
            pgpass_lookup(&file, "db", 1, "x", "y").as_deref(),
            Some("fallback")
        );
        let env = FakeEnv(vec![("PGPASSFILE", file.display().to_string())], None);
        let info = parse("postgres://bob@localhost/es", &env).unwrap();
        assert_eq!(info.password.as_deref(), Some("pa:ss"));
    }
}
