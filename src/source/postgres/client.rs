//! One read-only session to a PostgreSQL server, driven by a small tokio runtime behind
//! the blocking source interface (as the gRPC sources do).
//!
//! The session sets `default_transaction_read_only = on`, `statement_timeout` and
//! `application_name = eventscope`; every read is `BEGIN READ ONLY` … `COMMIT`, bounded by
//! a client timeout and stopped early when the worker's job is cancelled (the server is then
//! told to cancel the statement). A broken or timed-out session is dropped, and the next
//! read connects again.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row};

use super::conninfo::{ConnInfo, SslMode};
use super::tls::MakeRustls;
use crate::core::source::{SourceError, SourceResult};

/// Time allowed to connect (unless `connect_timeout` says otherwise).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The server-side statement timeout every session sets.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);
/// The client-side bound of one read (a little more than the server's).
const CALL_TIMEOUT: Duration = Duration::from_secs(35);

/// One statement of a read: SQL and its parameters.
pub type Statement<'a> = (&'a str, &'a [&'a (dyn ToSql + Sync)]);

/// Connections one source keeps at most: a long background scan (counting streams,
/// a trace without an index) runs on its own connection while the page the user looks at
/// is read on another, instead of queueing behind it on one.
const MAX_CONNECTIONS: usize = 3;

/// The source's connections: idle ones ready for a read, all that are open, and how many
/// are being opened (they count towards [`MAX_CONNECTIONS`]).
#[derive(Default)]
struct Pool {
    idle: Vec<Arc<Client>>,
    open: Vec<Arc<Client>>,
    connecting: usize,
}

/// A connection lent to one read; back to the pool when dropped, unless it broke.
struct Lease<'a> {
    session: &'a Session,
    client: Arc<Client>,
    broken: bool,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let Ok(mut pool) = self.session.pool.lock() else {
            return;
        };
        if self.broken || self.client.is_closed() {
            pool.open.retain(|c| !Arc::ptr_eq(c, &self.client));
            pool.idle.retain(|c| !Arc::ptr_eq(c, &self.client));
        } else if pool.open.iter().any(|c| Arc::ptr_eq(c, &self.client))
            && !pool.idle.iter().any(|c| Arc::ptr_eq(c, &self.client))
        {
            pool.idle.push(self.client.clone());
        }
    }
}

/// A read-only session (up to [`MAX_CONNECTIONS`] connections), reconnected on demand.
pub struct Session {
    runtime: tokio::runtime::Runtime,
    info: ConnInfo,
    tls: MakeRustls,
    pool: Mutex<Pool>,
    statement_timeout: Duration,
}

impl Session {
    /// Connects (so a wrong password or an unreachable server is reported at once), with
    /// the given server-side statement timeout.
    ///
    /// # Errors
    /// When the server cannot be reached or refuses the session.
    pub fn connect_with(info: ConnInfo, statement_timeout: Duration) -> SourceResult<Self> {
        let runtime = crate::source::runtime::runtime("postgres")?;
        let tls = MakeRustls(
            super::tls::client_config(info.sslmode, info.sslrootcert.as_ref())
                .map_err(|e| SourceError::Open(format!("{e}: {}", info.shown)))?,
        );
        let session = Self {
            runtime,
            info,
            tls,
            pool: Mutex::new(Pool::default()),
            statement_timeout,
        };
        session.client().map_err(SourceError::at_open)?;
        Ok(session)
    }

    /// The connection settings (password included: never show them whole).
    pub fn info(&self) -> &ConnInfo {
        &self.info
    }

    fn config(&self) -> tokio_postgres::Config {
        let info = &self.info;
        let mut config = tokio_postgres::Config::new();
        for host in &info.hosts {
            config.host(host);
        }
        for port in &info.ports {
            config.port(*port);
        }
        config.user(&info.user).dbname(&info.dbname);
        if let Some(password) = &info.password {
            config.password(password);
        }
        if let Some(options) = &info.options {
            config.options(options);
        }
        config.application_name("eventscope");
        config.connect_timeout(
            info.connect_timeout
                .filter(|t| *t > 0)
                .map_or(CONNECT_TIMEOUT, Duration::from_secs),
        );
        config.ssl_mode(match info.sslmode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        });
        config
    }

    /// A connection for one read: an idle one, else a new one while fewer than
    /// [`MAX_CONNECTIONS`] are open, else one in use (its reads queue on the server).
    fn client(&self) -> SourceResult<Lease<'_>> {
        let poisoned = || SourceError::Query("session lock poisoned".to_owned());
        {
            let mut pool = self.pool.lock().map_err(|_| poisoned())?;
            pool.open.retain(|c| !c.is_closed());
            pool.idle.retain(|c| !c.is_closed());
            let full = pool.open.len() + pool.connecting >= MAX_CONNECTIONS;
            let shared = pool.open.first().filter(|_| full).cloned();
            if let Some(client) = pool.idle.pop().or(shared) {
                return Ok(Lease {
                    session: self,
                    client,
                    broken: false,
                });
            }
            pool.connecting += 1;
        }
        let connected = self.connect();
        let mut pool = self.pool.lock().map_err(|_| poisoned())?;
        pool.connecting -= 1;
        let client = Arc::new(connected?);
        pool.open.push(client.clone());
        Ok(Lease {
            session: self,
            client,
            broken: false,
        })
    }

    /// Opens one more connection and sets the session up.
    fn connect(&self) -> SourceResult<Client> {
        let config = self.config();
        let tls = self.tls.clone();
        let shown = self.info.shown.clone();
        let setup = session_setup(self.info.schema.as_deref(), self.statement_timeout);
        let client = self.runtime.block_on(async move {
            let connect = async {
                let (client, connection) = config.connect(tls).await?;
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!("postgres connection ended: {e}");
                    }
                });
                client.batch_execute(&setup).await?;
                Ok::<_, tokio_postgres::Error>(client)
            };
            match tokio::time::timeout(CONNECT_TIMEOUT + Duration::from_secs(5), connect).await {
                Ok(Ok(client)) => Ok(client),
                Ok(Err(e)) if wants_password(&e) => Err(SourceError::Authentication(format!(
                    "cannot connect to {shown}: {}",
                    describe(&e)
                ))),
                Ok(Err(e)) => Err(SourceError::Query(format!(
                    "cannot connect to {shown}: {}",
                    describe(&e)
                ))),
                Err(_) => Err(SourceError::Query(format!(
                    "cannot connect to {shown}: no answer within {} s",
                    CONNECT_TIMEOUT.as_secs() + 5
                ))),
            }
        })?;
        Ok(client)
    }

    /// Runs one statement in its own read-only transaction.
    ///
    /// # Errors
    /// When the read fails, times out or is cancelled.
    pub fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> SourceResult<Vec<Row>> {
        Ok(self.read(&[(sql, params)])?.pop().unwrap_or_default())
    }

    /// Runs statements in one read-only transaction, returning each one's rows.
    ///
    /// # Errors
    /// When a read fails, times out or is cancelled.
    pub fn read(&self, statements: &[Statement<'_>]) -> SourceResult<Vec<Vec<Row>>> {
        let mut lease = self.client()?;
        let client = lease.client.clone();
        let cancel = crate::core::cancel::current();
        let cancel_token = client.cancel_token();
        let work = async {
            client.batch_execute("BEGIN READ ONLY").await?;
            let mut results = Vec::with_capacity(statements.len());
            for (sql, params) in statements {
                match client.query(*sql, params).await {
                    Ok(rows) => results.push(rows),
                    Err(e) => {
                        client.batch_execute("ROLLBACK").await.ok();
                        return Err(e);
                    }
                }
            }
            client.batch_execute("COMMIT").await?;
            Ok::<_, tokio_postgres::Error>(results)
        };
        let cancelled = crate::source::runtime::cancelled(cancel);
        let outcome = self.runtime.block_on(async {
            tokio::select! {
                result = tokio::time::timeout(CALL_TIMEOUT, work) => match result {
                    Ok(result) => Ok(result),
                    Err(_) => Err(false),
                },
                () = cancelled => Err(true),
            }
        });
        match outcome {
            Ok(Ok(results)) => Ok(results),
            Ok(Err(e)) => {
                if e.is_closed() || e.as_db_error().is_none_or(|db| db.severity() != "ERROR") {
                    lease.broken = true;
                }
                Err(SourceError::Query(describe(&e)))
            }
            Err(cancelled) => {
                // The transaction was left open mid-statement: stop the server's work and
                // start afresh on the next read.
                let tls = self.tls.clone();
                self.runtime.block_on(async {
                    tokio::time::timeout(Duration::from_secs(2), cancel_token.cancel_query(tls))
                        .await
                        .ok();
                });
                lease.broken = true;
                if cancelled {
                    Err(SourceError::Cancelled)
                } else {
                    Err(SourceError::Query(format!(
                        "no answer from the server within {} s",
                        CALL_TIMEOUT.as_secs()
                    )))
                }
            }
        }
    }
}

/// The statements that start every session.
fn session_setup(schema: Option<&str>, statement_timeout: Duration) -> String {
    let mut setup = format!(
        "SET default_transaction_read_only = on; SET statement_timeout = {}; \
         SET idle_in_transaction_session_timeout = 60000",
        statement_timeout.as_millis()
    );
    if let Some(schema) = schema {
        setup.push_str(&format!(
            "; SET search_path = {}, public",
            super::sql::quote_ident(schema)
        ));
    }
    setup
}

/// True when the server refused the session for its password (wrong, or none given).
fn wants_password(error: &tokio_postgres::Error) -> bool {
    if let Some(db) = error.as_db_error() {
        return db.code().code() == "28P01";
    }
    // The client's own error when the server asks for a password and there is none.
    describe(error).contains("password missing")
}

/// A readable message for a client error (the server's message and SQLSTATE when it sent
/// one; what happened to the connection otherwise).
pub fn describe(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        let code = db.code().code();
        let hint = match code {
            "57014" => " (statement timeout or cancelled: the query took too long)",
            "28P01" | "28000" => " (wrong user name or password)",
            "57P01" => " (the server ended the session; the next read reconnects)",
            "3D000" => " (no such database)",
            _ => "",
        };
        return format!(
            "{}: {} [SQLSTATE {code}]{hint}",
            db.severity(),
            db.message()
        );
    }
    if error.is_closed() {
        return "the connection to the server was lost (the next read reconnects)".to_owned();
    }
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        message.push_str(&format!(": {inner}"));
        source = inner.source();
    }
    message
}
