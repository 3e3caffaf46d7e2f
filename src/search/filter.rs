//! Structured filters over events: a small expression language for `log --where` and the
//! log's filter box.
//! (Over 600 lines: the lexer, parser and evaluator of one small language, kept together so
//! the grammar, its errors and its meaning read in one place.)
//!
//! ```text
//! type = MoneyWithdrawn and data.amount > 1000 and metadata.user_id = "user-42"
//! data.items[*].sku = "SKU-CUP"
//! exists(metadata.causation_id) and not exists(metadata.correlationId)
//! time >= "2024-03-01" and time < "2024-04-01" or stream = "account-7"
//! type in [OrderPlaced, OrderShipped] and data.customer.email contains "@example.com"
//! ```
//!
//! - **Fields**: `type` (the shown or the stored type), `stream` (`stream_id`), `version`,
//!   `position`, `time` (`recorded_at`), `event_id`, `correlation_id`, `causation_id`,
//!   `schema_version`, and paths into the payload (`data.…`, also `payload.…`) and the
//!   metadata (`metadata.…`): `.key`, `["odd key"]`, `[2]` (an array item) and `[*]`
//!   (every item: the condition holds when it holds for one of them).
//! - **Operators**: `=` (`==`), `!=`, `<`, `<=`, `>`, `>=`, `contains` (a string holds the
//!   text, ignoring case; an array holds the value), `in [a, b, …]`, `exists(path)` (there
//!   and not null), `and`, `or`, `not`, parentheses. `and` binds tighter than `or`.
//! - **Values**: `"strings"` (JSON escapes), numbers, `true`, `false`, `null`, and bare
//!   words (`MoneyWithdrawn`, `user-42`) read as strings.
//! - **Typed comparisons**: a number literal compares as a number with numbers and with
//!   strings that hold one (Python `eventsourcing` stores decimals as text: `"12.50"`); a
//!   `time` compares as a time (RFC 3339, or a date); other strings compare as text.
//!   `a != b` is `not (a = b)`, so it also holds where the field is missing.
//!
//! Errors name the column (1-based, in characters) where the expression goes wrong.

use std::fmt;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::core::event::Event;
use crate::core::query::LogQuery;

/// A parsed filter.
#[derive(Clone, Debug, PartialEq)]
pub struct Filter {
    expr: Expr,
    text: String,
}

/// Where and why a filter does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct FilterError {
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl FilterError {
    /// The expression with a caret under the column, and the message: for a terminal.
    #[must_use]
    pub fn pointed(&self, text: &str) -> String {
        format!(
            "{text}\n{}^\n{self}",
            " ".repeat(self.column.saturating_sub(1))
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Exists(Path),
    Compare(Path, Op, Literal),
    In(Path, Vec<Literal>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
}

#[derive(Clone, Debug, PartialEq)]
enum Literal {
    Text(String),
    Number(f64),
    Bool(bool),
    Null,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Root {
    Type,
    Stream,
    Version,
    Position,
    Time,
    EventId,
    CorrelationId,
    CausationId,
    SchemaVersion,
    Data,
    Metadata,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
    Every,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Path {
    root: Root,
    segments: Vec<Segment>,
    text: String,
}

// ---- lexing ----

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Number(f64),
    Sym(&'static str),
}

fn lex(text: &str) -> Result<Vec<(Token, usize)>, FilterError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let err = |column: usize, message: String| FilterError { column, message };
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '"' {
            // A JSON string: find the closing quote, then let serde_json decode escapes.
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '"' {
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            if j >= chars.len() {
                return Err(err(column, "this string has no closing quote".to_owned()));
            }
            let literal: String = chars[i..=j].iter().collect();
            let decoded: String = serde_json::from_str(&literal)
                .map_err(|e| err(column, format!("bad escape in this string ({e})")))?;
            tokens.push((Token::Text(decoded), column));
            i = j + 1;
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        if let Some(sym) = ["==", "!=", "<=", ">="].into_iter().find(|s| *s == two) {
            tokens.push((Token::Sym(sym), column));
            i += 2;
            continue;
        }
        let after_value = matches!(
            tokens.last(),
            Some((
                Token::Word(_) | Token::Text(_) | Token::Number(_) | Token::Sym("]"),
                _
            ))
        );
        let digit_at = |k: usize| chars.get(k).is_some_and(char::is_ascii_digit);
        let starts_number = c.is_ascii_digit()
            || (matches!(c, '-' | '+')
                && (digit_at(i + 1) || (chars.get(i + 1) == Some(&'.') && digit_at(i + 2))))
            || (c == '.' && digit_at(i + 1) && !after_value);
        if starts_number {
            let (end, number) = lex_number(&chars, i);
            // `2024-03-01`, `12abc`: a word that starts with digits is a word.
            if chars.get(end).is_some_and(|&c| is_word_char(c)) {
                let end = word_end(&chars, i);
                tokens.push((Token::Word(chars[i..end].iter().collect()), column));
                i = end;
            } else {
                tokens.push((Token::Number(number), column));
                i = end;
            }
            continue;
        }
        if let Some(sym) = ["=", "<", ">", "(", ")", "[", "]", ",", ".", "*"]
            .into_iter()
            .find(|s| s.starts_with(c))
        {
            tokens.push((Token::Sym(sym), column));
            i += 1;
            continue;
        }
        if c == '!' {
            return Err(err(
                column,
                "'!' must be followed by '=' (use `not` to negate)".to_owned(),
            ));
        }
        if is_word_char(c) {
            let end = word_end(&chars, i);
            tokens.push((Token::Word(chars[i..end].iter().collect()), column));
            i = end;
            continue;
        }
        return Err(err(column, format!("unexpected character {c:?}")));
    }
    Ok(tokens)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | ':' | '@' | '$' | '+')
}

fn word_end(chars: &[char], start: usize) -> usize {
    let mut end = start;
    while end < chars.len() && is_word_char(chars[end]) {
        end += 1;
    }
    end
}

/// `[+-]?(digits[.digits]|.digits)([eE][+-]?digits)?` from `start`: where it ends, and its
/// value.
fn lex_number(chars: &[char], start: usize) -> (usize, f64) {
    let mut end = start;
    if matches!(chars.get(end), Some('-' | '+')) {
        end += 1;
    }
    let digits = |mut k: usize| {
        while chars.get(k).is_some_and(char::is_ascii_digit) {
            k += 1;
        }
        k
    };
    end = digits(end);
    if chars.get(end) == Some(&'.') && chars.get(end + 1).is_some_and(char::is_ascii_digit) {
        end = digits(end + 1);
    }
    if matches!(chars.get(end), Some('e' | 'E')) {
        let mut k = end + 1;
        if matches!(chars.get(k), Some('-' | '+')) {
            k += 1;
        }
        if chars.get(k).is_some_and(char::is_ascii_digit) {
            end = digits(k);
        }
    }
    let text: String = chars[start..end].iter().collect();
    (end, text.parse::<f64>().unwrap_or(0.0))
}

// ---- parsing ----

struct Parser {
    tokens: Vec<(Token, usize)>,
    at: usize,
    end_column: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|(t, _)| t)
    }

    fn column(&self) -> usize {
        self.tokens
            .get(self.at)
            .map_or(self.end_column, |(_, c)| *c)
    }

    fn err<T>(&self, message: impl Into<String>) -> Result<T, FilterError> {
        Err(FilterError {
            column: self.column(),
            message: message.into(),
        })
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn eat_sym(&mut self, sym: &str) -> bool {
        if matches!(self.peek(), Some(Token::Sym(s)) if *s == sym) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect_sym(&mut self, sym: &str, what: &str) -> Result<(), FilterError> {
        if self.eat_sym(sym) {
            Ok(())
        } else {
            self.err(format!("expected '{sym}' {what}"))
        }
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.and()?;
        while self.is_word("or") {
            self.at += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.not()?;
        while self.is_word("and") {
            self.at += 1;
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, FilterError> {
        if self.is_word("not") {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Expr, FilterError> {
        if self.eat_sym("(") {
            let inner = self.or()?;
            self.expect_sym(")", "to close the '('")?;
            return Ok(inner);
        }
        if self.is_word("exists") {
            self.at += 1;
            self.expect_sym("(", "after exists")?;
            let path = self.path()?;
            self.expect_sym(")", "to close exists(")?;
            return Ok(Expr::Exists(path));
        }
        let path = self.path()?;
        if self.is_word("in") {
            self.at += 1;
            self.expect_sym("[", "to start the list after `in`")?;
            let mut items = vec![self.literal()?];
            while self.eat_sym(",") {
                items.push(self.literal()?);
            }
            self.expect_sym("]", "to close the list")?;
            return Ok(Expr::In(path, items));
        }
        let op = match self.peek() {
            Some(Token::Sym("=" | "==")) => Op::Eq,
            Some(Token::Sym("!=")) => Op::Ne,
            Some(Token::Sym("<")) => Op::Lt,
            Some(Token::Sym("<=")) => Op::Le,
            Some(Token::Sym(">")) => Op::Gt,
            Some(Token::Sym(">=")) => Op::Ge,
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("contains") => Op::Contains,
            _ => {
                return self.err(format!(
                    "expected a comparison after `{}` (=, !=, <, <=, >, >=, contains, in)",
                    path.text
                ));
            }
        };
        self.at += 1;
        let literal = self.literal()?;
        Ok(Expr::Compare(path, op, literal))
    }

    fn literal(&mut self) -> Result<Literal, FilterError> {
        let literal = match self.peek() {
            Some(Token::Text(t)) => Literal::Text(t.clone()),
            Some(Token::Number(n)) => Literal::Number(*n),
            Some(Token::Word(w)) => match w.as_str() {
                "true" => Literal::Bool(true),
                "false" => Literal::Bool(false),
                "null" => Literal::Null,
                _ => Literal::Text(w.clone()),
            },
            _ => return self.err("expected a value (a \"string\", a number, true, false, null)"),
        };
        self.at += 1;
        Ok(literal)
    }

    fn path(&mut self) -> Result<Path, FilterError> {
        let start = self.column();
        let Some(Token::Word(first)) = self.peek().cloned() else {
            return self.err("expected a field (type, stream, time, data.…, metadata.…)");
        };
        let root = match first.to_ascii_lowercase().as_str() {
            "type" | "event_type" => Root::Type,
            "stream" | "stream_id" => Root::Stream,
            "version" | "stream_version" => Root::Version,
            "position" | "global_position" => Root::Position,
            "time" | "recorded_at" => Root::Time,
            "event_id" => Root::EventId,
            "correlation_id" => Root::CorrelationId,
            "causation_id" => Root::CausationId,
            "schema_version" => Root::SchemaVersion,
            "data" | "payload" => Root::Data,
            "metadata" | "meta" => Root::Metadata,
            _ => {
                return self.err(format!(
                    "unknown field `{first}` (type, stream, version, position, time, event_id, \
                     correlation_id, causation_id, schema_version, data.…, metadata.…)"
                ));
            }
        };
        self.at += 1;
        let mut segments = Vec::new();
        loop {
            if self.eat_sym(".") {
                match self.peek().cloned() {
                    Some(Token::Word(key)) => segments.push(Segment::Key(key)),
                    Some(Token::Number(n)) => segments.push(Segment::Key(number_key(n))),
                    _ => return self.err("expected a key after '.'"),
                }
                self.at += 1;
            } else if self.eat_sym("[") {
                match self.peek().cloned() {
                    Some(Token::Text(key)) => segments.push(Segment::Key(key)),
                    Some(Token::Sym("*")) => segments.push(Segment::Every),
                    Some(Token::Number(n)) if n >= 0.0 && n.fract() == 0.0 => {
                        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                        segments.push(Segment::Index(n as usize));
                    }
                    _ => return self.err("expected an index, * or a \"key\" inside [ ]"),
                }
                self.at += 1;
                self.expect_sym("]", "to close the '['")?;
            } else {
                break;
            }
        }
        if !segments.is_empty() && !matches!(root, Root::Data | Root::Metadata) {
            return Err(FilterError {
                column: start,
                message: format!("`{first}` has no fields; only data.… and metadata.… do"),
            });
        }
        let text = self.source_from(start);
        Ok(Path {
            root,
            segments,
            text,
        })
    }

    /// The tokens read since `start`, joined back into text (for messages and hits).
    fn source_from(&self, start: usize) -> String {
        let mut text = String::new();
        for (token, column) in &self.tokens[..self.at] {
            if *column < start {
                continue;
            }
            match token {
                Token::Word(w) => text.push_str(w),
                Token::Text(t) => text.push_str(&Value::String(t.clone()).to_string()),
                Token::Number(n) => text.push_str(&n.to_string()),
                Token::Sym(s) => text.push_str(s),
            }
        }
        text
    }
}

#[allow(clippy::cast_possible_truncation)] // Only for integral keys like `.0`.
fn number_key(n: f64) -> String {
    if n.fract() == 0.0 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

// ---- evaluating ----

/// A field's value in an event.
enum Found<'a> {
    Json(&'a Value),
    Owned(Value),
    Time(DateTime<Utc>),
}

impl Filter {
    /// Parses a filter.
    ///
    /// # Errors
    /// A [`FilterError`] naming the column.
    pub fn parse(text: &str) -> Result<Self, FilterError> {
        let tokens = lex(text)?;
        if tokens.is_empty() {
            return Err(FilterError {
                column: 1,
                message: "the filter is empty".to_owned(),
            });
        }
        let mut parser = Parser {
            tokens,
            at: 0,
            end_column: text.chars().count() + 1,
        };
        let expr = parser.or()?;
        if parser.at < parser.tokens.len() {
            return parser.err("expected `and`, `or` or the end of the filter");
        }
        Ok(Self {
            expr,
            text: text.to_owned(),
        })
    }

    /// The text it was parsed from.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// True when `event` passes.
    #[must_use]
    pub fn matches(&self, event: &Event) -> bool {
        eval(&self.expr, event)
    }

    /// What a source can apply before the exact check: the types, and the time window of
    /// conditions every match must meet (`and`-ed at the top), on `base`.
    #[must_use]
    pub fn scope(&self, base: &LogQuery) -> LogQuery {
        let mut scope = base.clone();
        for condition in conjuncts(&self.expr) {
            match condition {
                Expr::Compare(path, Op::Eq, Literal::Text(t)) if path.root == Root::Type => {
                    if scope.event_types.is_empty() {
                        scope.event_types = vec![t.clone()];
                    } else {
                        scope.event_types.retain(|x| x == t);
                        if scope.event_types.is_empty() {
                            // Contradictory types: keep one that cannot match anything.
                            scope.event_types = vec![t.clone()];
                        }
                    }
                }
                Expr::In(path, items)
                    if path.root == Root::Type && scope.event_types.is_empty() =>
                {
                    let names: Vec<String> = items
                        .iter()
                        .filter_map(|l| match l {
                            Literal::Text(t) => Some(t.clone()),
                            _ => None,
                        })
                        .collect();
                    if names.len() == items.len() {
                        scope.event_types = names;
                    }
                }
                Expr::Compare(path, op @ (Op::Ge | Op::Gt | Op::Le | Op::Lt), Literal::Text(t))
                    if path.root == Root::Time =>
                {
                    if let Some(time) = parse_time(t) {
                        if matches!(op, Op::Ge | Op::Gt) {
                            scope.since = Some(scope.since.map_or(time, |s| s.max(time)));
                        } else {
                            scope.until = Some(scope.until.map_or(time, |u| u.min(time)));
                        }
                    }
                }
                _ => {}
            }
        }
        scope
    }

    /// A text every matching event's stored payload or metadata contains (for a source's
    /// prefilter, see [`super::Needle::prefilter`]): from a top-level `data…`/`metadata…`
    /// `= "text"` or `contains "text"` whose text is not a number.
    #[must_use]
    pub fn prefilter(&self) -> Option<super::Needle> {
        conjuncts(&self.expr)
            .into_iter()
            .find_map(|condition| match condition {
                Expr::Compare(path, Op::Eq | Op::Contains, Literal::Text(t))
                    if matches!(path.root, Root::Data | Root::Metadata)
                        && t.trim().parse::<f64>().is_err() =>
                {
                    super::Needle::new(t)
                }
                _ => None,
            })
    }

    /// The payload and metadata paths the filter looks at, with the values found there in
    /// `event` (what a hit shows).
    #[must_use]
    pub fn shown_matches(&self, event: &Event) -> Vec<super::Match> {
        let mut paths = Vec::new();
        collect_paths(&self.expr, &mut paths);
        let mut shown = Vec::new();
        for path in paths {
            for found in resolve(path, event) {
                let value = match found {
                    Found::Json(v) => v.to_string(),
                    Found::Owned(v) => v.to_string(),
                    Found::Time(t) => t.to_rfc3339(),
                };
                shown.push(super::Match {
                    path: path.text.clone(),
                    value,
                });
            }
        }
        shown.dedup();
        shown
    }
}

fn conjuncts(expr: &Expr) -> Vec<&Expr> {
    match expr {
        Expr::And(a, b) => {
            let mut all = conjuncts(a);
            all.extend(conjuncts(b));
            all
        }
        other => vec![other],
    }
}

fn collect_paths<'a>(expr: &'a Expr, paths: &mut Vec<&'a Path>) {
    match expr {
        Expr::And(a, b) | Expr::Or(a, b) => {
            collect_paths(a, paths);
            collect_paths(b, paths);
        }
        Expr::Not(inner) => collect_paths(inner, paths),
        Expr::Exists(p) | Expr::Compare(p, _, _) | Expr::In(p, _) => {
            if !paths.contains(&p) {
                paths.push(p);
            }
        }
    }
}

fn eval(expr: &Expr, event: &Event) -> bool {
    match expr {
        Expr::And(a, b) => eval(a, event) && eval(b, event),
        Expr::Or(a, b) => eval(a, event) || eval(b, event),
        Expr::Not(inner) => !eval(inner, event),
        Expr::Exists(path) => resolve(path, event)
            .iter()
            .any(|f| !matches!(f, Found::Json(Value::Null) | Found::Owned(Value::Null))),
        Expr::Compare(path, Op::Ne, literal) => !resolve(path, event)
            .iter()
            .any(|f| compare(f, Op::Eq, literal)),
        Expr::Compare(path, op, literal) => {
            let found = resolve(path, event);
            if path.root == Root::Type && *op == Op::Eq {
                // Either form names the type.
                if let Literal::Text(t) = literal {
                    return event.has_type(t);
                }
            }
            found.iter().any(|f| compare(f, *op, literal))
        }
        Expr::In(path, items) => {
            let found = resolve(path, event);
            items.iter().any(|literal| {
                if path.root == Root::Type
                    && let Literal::Text(t) = literal
                {
                    return event.has_type(t);
                }
                found.iter().any(|f| compare(f, Op::Eq, literal))
            })
        }
    }
}

fn resolve<'a>(path: &Path, event: &'a Event) -> Vec<Found<'a>> {
    let text = |s: &str| Found::Owned(Value::String(s.to_owned()));
    let number = |n: u64| Found::Owned(Value::from(n));
    match path.root {
        Root::Type => vec![text(&event.event_type)],
        Root::Stream => vec![text(&event.stream_id)],
        Root::Version => vec![number(event.stream_version)],
        Root::Position => vec![number(event.global_position)],
        Root::Time => event.recorded_at.map(Found::Time).into_iter().collect(),
        Root::EventId => event.event_id.as_deref().map(text).into_iter().collect(),
        Root::CorrelationId => event
            .correlation_id
            .as_deref()
            .map(text)
            .into_iter()
            .collect(),
        Root::CausationId => event
            .causation_id
            .as_deref()
            .map(text)
            .into_iter()
            .collect(),
        Root::SchemaVersion => event
            .schema_version
            .map(|v| number(u64::from(v)))
            .into_iter()
            .collect(),
        Root::Data | Root::Metadata => {
            let payload = if path.root == Root::Data {
                &event.payload
            } else {
                &event.metadata
            };
            let Some(value) = payload.as_json() else {
                return Vec::new();
            };
            let mut current = vec![value];
            for segment in &path.segments {
                let mut next = Vec::new();
                for value in current {
                    match (segment, value) {
                        (Segment::Key(k), Value::Object(map)) => next.extend(map.get(k)),
                        (Segment::Index(i), Value::Array(items)) => next.extend(items.get(*i)),
                        (Segment::Every, Value::Array(items)) => next.extend(items.iter()),
                        (Segment::Every, Value::Object(map)) => next.extend(map.values()),
                        _ => {}
                    }
                }
                current = next;
            }
            current.into_iter().map(Found::Json).collect()
        }
    }
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    crate::core::time::parse_timestamp(text)
}

fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
        _ => None,
    }
}

fn compare(found: &Found<'_>, op: Op, literal: &Literal) -> bool {
    let value = match found {
        Found::Json(v) => *v,
        Found::Owned(v) => v,
        Found::Time(time) => {
            let Literal::Text(t) = literal else {
                return false;
            };
            let Some(other) = parse_time(t) else {
                return false;
            };
            return ordered(time.cmp(&other), op);
        }
    };
    match (op, literal) {
        (Op::Contains, Literal::Text(t)) => match value {
            Value::String(s) => s.to_lowercase().contains(&t.to_lowercase()),
            Value::Array(items) => items.iter().any(|item| item.as_str() == Some(t.as_str())),
            _ => false,
        },
        (Op::Contains, literal) => match value {
            Value::Array(items) => items
                .iter()
                .any(|item| compare(&Found::Json(item), Op::Eq, literal)),
            _ => false,
        },
        (_, Literal::Number(n)) => as_number(value)
            .and_then(|v| v.partial_cmp(n))
            .is_some_and(|o| ordered(o, op)),
        (_, Literal::Text(t)) => match value {
            Value::String(s) => ordered(s.as_str().cmp(t.as_str()), op),
            Value::Number(_) => match (as_number(value), t.trim().parse::<f64>().ok()) {
                (Some(a), Some(b)) => a.partial_cmp(&b).is_some_and(|o| ordered(o, op)),
                _ => false,
            },
            _ => false,
        },
        (Op::Eq, Literal::Bool(b)) => value.as_bool() == Some(*b),
        (Op::Eq, Literal::Null) => value.is_null(),
        _ => false,
    }
}

fn ordered(ordering: std::cmp::Ordering, op: Op) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    match op {
        Op::Eq => ordering == Equal,
        Op::Ne => ordering != Equal,
        Op::Lt => ordering == Less,
        Op::Le => ordering != Greater,
        Op::Gt => ordering == Greater,
        Op::Ge => ordering != Less,
        Op::Contains => false,
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
