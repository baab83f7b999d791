//! The database under the store: SQLite (a file, the embedded default) or PostgreSQL (a
//! server several collectors share), behind one small interface.
//!
//! Statements are written once, in the SQL both engines run, with `?1`, `?2`, ... as
//! parameters; PostgreSQL gets them as `$1`, `$2`, ... ([`postgres_sql`]). Values cross as
//! [`Val`] and rows come back as [`Row`]s of them, so no module names a driver's types. Every
//! use of the database is one transaction: [`Db::write`] (retried on PostgreSQL when it loses
//! a deadlock or a serialization race) or [`Db::read`] (a snapshot).

mod migrate;
mod postgres;
mod sqlite;

use std::borrow::Cow;
use std::fmt;

pub(crate) use migrate::Migration;

/// Which engine a connection speaks to, for the few statements that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Engine {
    Sqlite,
    Postgres,
}

/// A parameter or a column value. Text borrows what a statement's caller holds (an event's
/// body is not copied to be bound); columns read back own theirs (`Val<'static>`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(Cow<'a, str>),
}

impl From<i64> for Val<'_> {
    fn from(v: i64) -> Self {
        Val::Int(v)
    }
}

impl From<&i64> for Val<'_> {
    fn from(v: &i64) -> Self {
        Val::Int(*v)
    }
}

impl From<u32> for Val<'_> {
    fn from(v: u32) -> Self {
        Val::Int(i64::from(v))
    }
}

impl From<u8> for Val<'_> {
    fn from(v: u8) -> Self {
        Val::Int(i64::from(v))
    }
}

impl From<u16> for Val<'_> {
    fn from(v: u16) -> Self {
        Val::Int(i64::from(v))
    }
}

impl From<usize> for Val<'_> {
    fn from(v: usize) -> Self {
        Val::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<bool> for Val<'_> {
    fn from(v: bool) -> Self {
        Val::Int(i64::from(v))
    }
}

impl From<f64> for Val<'_> {
    fn from(v: f64) -> Self {
        Val::Real(v)
    }
}

impl From<String> for Val<'_> {
    fn from(v: String) -> Self {
        Val::Text(Cow::Owned(v))
    }
}

impl<'a> From<&'a String> for Val<'a> {
    fn from(v: &'a String) -> Self {
        Val::Text(Cow::Borrowed(v))
    }
}

impl<'a> From<&'a str> for Val<'a> {
    fn from(v: &'a str) -> Self {
        Val::Text(Cow::Borrowed(v))
    }
}

impl<'a, T: Into<Val<'a>>> From<Option<T>> for Val<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Val::Null, Into::into)
    }
}

impl<'a> From<&'a Option<String>> for Val<'a> {
    fn from(v: &'a Option<String>) -> Self {
        v.as_ref().map_or(Val::Null, Into::into)
    }
}

impl From<&Option<i64>> for Val<'_> {
    fn from(v: &Option<i64>) -> Self {
        v.map_or(Val::Null, Val::Int)
    }
}

/// The parameters of a statement: `vals![a, b]` is `[Val::from(a), Val::from(b)]`.
#[macro_export]
#[doc(hidden)]
macro_rules! vals {
    ($($v:expr),* $(,)?) => { [$($crate::db::Val::from($v)),*] };
}
pub(crate) use vals;

/// A database error: the driver's message, and PostgreSQL's SQLSTATE when it gave one.
#[derive(Debug, Clone)]
pub(crate) struct DbError {
    pub message: String,
    pub code: Option<String>,
}

impl DbError {
    pub fn new(message: impl Into<String>) -> DbError {
        DbError {
            message: message.into(),
            code: None,
        }
    }

    /// Whether the transaction lost a deadlock or a serialization race and may be run again.
    fn retryable(&self) -> bool {
        matches!(self.code.as_deref(), Some("40001" | "40P01"))
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DbError {}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> DbError {
        DbError::new(e.to_string())
    }
}

/// What the database calls return.
pub(crate) type Result<T> = std::result::Result<T, DbError>;

/// One row of a result.
#[derive(Debug, Clone)]
pub(crate) struct Row(pub(crate) Vec<Val<'static>>);

impl Row {
    /// Column `i` as a `T`.
    pub fn get<T: FromVal>(&self, i: usize) -> Result<T> {
        let v = self
            .0
            .get(i)
            .ok_or_else(|| DbError::new(format!("no column {i} in a row of {}", self.0.len())))?;
        T::from_val(v).ok_or_else(|| {
            DbError::new(format!(
                "column {i} holds {v:?}, not {}",
                std::any::type_name::<T>()
            ))
        })
    }
}

/// A Rust value a column can be read as.
pub(crate) trait FromVal: Sized {
    /// The value, or none when the column's value is of another kind.
    fn from_val(v: &Val) -> Option<Self>;
}

impl FromVal for i64 {
    fn from_val(v: &Val) -> Option<i64> {
        match v {
            Val::Int(i) => Some(*i),
            _ => None,
        }
    }
}

impl FromVal for f64 {
    fn from_val(v: &Val) -> Option<f64> {
        match v {
            Val::Real(f) => Some(*f),
            Val::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
}

impl FromVal for String {
    fn from_val(v: &Val) -> Option<String> {
        match v {
            Val::Text(s) => Some(s.to_string()),
            _ => None,
        }
    }
}

impl FromVal for bool {
    fn from_val(v: &Val) -> Option<bool> {
        match v {
            Val::Int(i) => Some(*i != 0),
            _ => None,
        }
    }
}

impl FromVal for Val<'static> {
    fn from_val(v: &Val) -> Option<Val<'static>> {
        Some(match v {
            Val::Text(s) => Val::Text(Cow::Owned(s.to_string())),
            Val::Null => Val::Null,
            Val::Int(i) => Val::Int(*i),
            Val::Real(f) => Val::Real(*f),
        })
    }
}

impl<T: FromVal> FromVal for Option<T> {
    fn from_val(v: &Val) -> Option<Option<T>> {
        match v {
            Val::Null => Some(None),
            v => T::from_val(v).map(Some),
        }
    }
}

/// A connection inside a transaction.
pub(crate) trait Sql {
    /// Runs a statement; gives the number of rows it changed.
    fn execute(&self, sql: &str, params: &[Val]) -> Result<u64>;
    /// Runs a query; gives its rows.
    fn query(&self, sql: &str, params: &[Val]) -> Result<Vec<Row>>;
    /// Runs statements separated by `;`, without parameters.
    fn batch(&self, sql: &str) -> Result<()>;
    /// The engine, for the statements that differ.
    fn engine(&self) -> Engine;
}

impl dyn Sql + '_ {
    /// The rows of a query, each read by `f`.
    pub fn rows<T>(
        &self,
        sql: &str,
        params: &[Val],
        f: impl FnMut(&Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.query(sql, params)?.iter().map(f).collect()
    }

    /// The first row of a query read by `f`, if there is one.
    pub fn opt<T>(
        &self,
        sql: &str,
        params: &[Val],
        f: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<Option<T>> {
        self.query(sql, params)?.first().map(f).transpose()
    }

    /// The first row of a query read by `f`; an error when there is none.
    pub fn one<T>(
        &self,
        sql: &str,
        params: &[Val],
        f: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<T> {
        self.opt(sql, params, f)?
            .ok_or_else(|| DbError::new(format!("no row for: {}", sql.trim())))
    }
}

/// The database: a SQLite file or a PostgreSQL server.
pub(crate) enum Db {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

impl Db {
    /// Opens `spec` (`postgres://…` or `postgresql://…` for PostgreSQL, else a SQLite file
    /// path) and brings its schema up to date with `migrations`.
    pub fn open(spec: &str, migrations: &[Migration]) -> std::result::Result<Db, String> {
        if is_postgres(spec) {
            postgres::Postgres::open(spec, migrations).map(Db::Postgres)
        } else {
            sqlite::Sqlite::open(std::path::Path::new(spec), migrations).map(Db::Sqlite)
        }
    }

    /// Runs `f` in a write transaction and commits what it did, or rolls back on its error.
    /// On PostgreSQL a transaction that lost a deadlock or a serialization race runs again.
    pub fn write<T>(&self, mut f: impl FnMut(&dyn Sql) -> Result<T>) -> Result<T> {
        match self {
            Db::Sqlite(db) => db.write(&mut f),
            Db::Postgres(db) => {
                let mut attempt = 0;
                loop {
                    match db.write(&mut f) {
                        Err(e) if e.retryable() && attempt < 8 => attempt += 1,
                        done => return done,
                    }
                }
            }
        }
    }

    /// Runs `f` on a snapshot that does not hold up writes; nothing it does is kept.
    pub fn read<T>(&self, f: impl FnOnce(&dyn Sql) -> Result<T>) -> Result<T> {
        match self {
            Db::Sqlite(db) => db.read(f),
            Db::Postgres(db) => db.read(f),
        }
    }
}

/// The parameters of an `IN (...)` list: `?from, ?from+1, ...` for `n` values; `NULL` (which no
/// value equals) for none, so the statement stays valid.
pub(crate) fn marks(from: usize, n: usize) -> String {
    if n == 0 {
        return "NULL".to_owned();
    }
    (from..from + n)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The `VALUES` list of a multi-row insert: `rows` groups of `columns` parameters,
/// `(?1, ?2), (?3, ?4)`.
pub(crate) fn value_rows(columns: usize, rows: usize) -> String {
    let mut out = String::with_capacity(rows * columns * 5);
    for r in 0..rows {
        out.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..columns {
            if c > 0 {
                out.push_str(", ");
            }
            out.push('?');
            out.push_str(&(r * columns + c + 1).to_string());
        }
        out.push(')');
    }
    out
}

/// Whether a `--db` value names a PostgreSQL server.
pub(crate) fn is_postgres(spec: &str) -> bool {
    spec.starts_with("postgres://") || spec.starts_with("postgresql://")
}

/// Checks a `--db` value without opening it: a PostgreSQL URL must parse and name a known
/// `sslmode`; a file path is checked when opened. The message hides the password.
pub(crate) fn check(spec: &str) -> std::result::Result<(), String> {
    if is_postgres(spec) {
        postgres::check_url(spec)
    } else {
        Ok(())
    }
}

/// A `--db` value fit to show: a URL's password replaced by `***`.
pub(crate) fn shown(spec: &str) -> String {
    if is_postgres(spec) {
        postgres::redact(spec)
    } else {
        spec.to_owned()
    }
}

/// A statement for PostgreSQL: `?N` parameters become `$N`; `json_object(` becomes
/// `json_build_object(`; SQLite's `WITHOUT ROWID` and `temp.` schema go.
pub(crate) fn postgres_sql(sql: &str) -> String {
    let sql = sql
        .replace("WITHOUT ROWID", "")
        .replace("CREATE INDEX temp.", "CREATE INDEX ")
        .replace("temp.", "pg_temp.")
        .replace("json_object(", "json_build_object(");
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if c == '\'' {
            quoted = !quoted;
        }
        if c == '?' && !quoted && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

/// A table definition for PostgreSQL (then run as any statement, see [`postgres_sql`]):
/// SQLite's integer keys become identity columns, its `INTEGER` `BIGINT` (SQLite's integers
/// are 64-bit) and `REAL` `DOUBLE PRECISION`.
pub(crate) fn postgres_ddl(sql: &str) -> String {
    sql.replace(
        "INTEGER PRIMARY KEY AUTOINCREMENT",
        "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    )
    .replace(
        "INTEGER PRIMARY KEY",
        "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    )
    .replace("INTEGER", "BIGINT")
    .replace(" REAL", " DOUBLE PRECISION")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_for_postgres() {
        assert_eq!(
            postgres_sql("SELECT a FROM t WHERE b = ?1 AND c = '?2' AND d > ?12"),
            "SELECT a FROM t WHERE b = $1 AND c = '?2' AND d > $12"
        );
        assert_eq!(
            postgres_sql("DROP TABLE IF EXISTS temp.m; CREATE INDEX temp.m_x ON m (a)"),
            "DROP TABLE IF EXISTS pg_temp.m; CREATE INDEX m_x ON m (a)"
        );
        assert_eq!(
            postgres_sql(&postgres_ddl(
                "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, r REAL) WITHOUT ROWID"
            )),
            "CREATE TABLE t (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, n BIGINT NOT NULL, r DOUBLE PRECISION) "
        );
    }

    #[test]
    fn multi_row_values() {
        assert_eq!(value_rows(2, 2), "(?1, ?2), (?3, ?4)");
        assert_eq!(value_rows(3, 1), "(?1, ?2, ?3)");
    }

    #[test]
    fn values_convert() {
        let row = Row(vec![
            Val::Int(3),
            Val::Null,
            Val::Text("x".into()),
            Val::Real(1.5),
        ]);
        assert_eq!(row.get::<i64>(0).unwrap(), 3);
        assert_eq!(row.get::<Option<i64>>(1).unwrap(), None);
        assert_eq!(row.get::<String>(2).unwrap(), "x");
        assert_eq!(row.get::<f64>(3).unwrap(), 1.5);
        assert!(row.get::<i64>(2).is_err());
        assert!(row.get::<i64>(9).is_err());
        let p = vals![1i64, "a", None::<String>, Some(2i64)];
        assert_eq!(p[2], Val::Null);
        assert_eq!(p[3], Val::Int(2));
    }
}
