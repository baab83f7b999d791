//! SQLite: one writing connection and one reading connection on a file in WAL mode, so a long
//! read (the metrics) sees a snapshot while events keep being written.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::{migrate, Engine, Migration, Result, Row, Sql, Val};

/// The SQLite database.
pub(crate) struct Sqlite {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
}

/// A connection inside a transaction.
struct Conn<'c>(&'c Connection);

impl rusqlite::ToSql for Val<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Val::Null => ValueRef::Null,
            Val::Int(i) => ValueRef::Integer(*i),
            Val::Real(f) => ValueRef::Real(*f),
            Val::Text(s) => ValueRef::Text(s.as_bytes()),
        }))
    }
}

fn value(v: ValueRef<'_>) -> Val<'static> {
    match v {
        ValueRef::Null => Val::Null,
        ValueRef::Integer(i) => Val::Int(i),
        ValueRef::Real(f) => Val::Real(f),
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            Val::Text(String::from_utf8_lossy(t).into_owned().into())
        }
    }
}

impl Sql for Conn<'_> {
    fn execute(&self, sql: &str, params: &[Val]) -> Result<u64> {
        let changed = self
            .0
            .prepare_cached(sql)?
            .execute(rusqlite::params_from_iter(params))?;
        Ok(changed as u64)
    }

    fn query(&self, sql: &str, params: &[Val]) -> Result<Vec<Row>> {
        let mut stmt = self.0.prepare_cached(sql)?;
        let columns = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let mut row = Vec::with_capacity(columns);
            for i in 0..columns {
                row.push(value(r.get_ref(i)?));
            }
            out.push(Row(row));
        }
        Ok(out)
    }

    fn batch(&self, sql: &str) -> Result<()> {
        Ok(self.0.execute_batch(sql)?)
    }

    fn engine(&self) -> Engine {
        Engine::Sqlite
    }
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock leaves no open transaction behind (dropping a
    // transaction rolls it back), so the connection is usable.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Sqlite {
    /// Opens (creating if needed) the database at `path` in WAL mode and migrates it.
    pub fn open(path: &Path, migrations: &[Migration]) -> std::result::Result<Sqlite, String> {
        let writer = Connection::open(path).map_err(|e| e.to_string())?;
        writer
            .busy_timeout(Duration::from_secs(5))
            .map_err(|e| e.to_string())?;
        let mode: String = writer
            .query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))
            .map_err(|e| e.to_string())?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!(
                "could not switch the database to WAL mode (journal_mode is {mode})"
            ));
        }
        writer
            .execute_batch("PRAGMA synchronous=NORMAL;")
            .map_err(|e| e.to_string())?;
        let reader = Connection::open(path).map_err(|e| e.to_string())?;
        reader
            .busy_timeout(Duration::from_secs(5))
            .map_err(|e| e.to_string())?;
        let db = Sqlite {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
        };
        db.write(&mut |sql| migrate::apply(sql, migrations))
            .map_err(|e| format!("cannot migrate the schema: {e}"))?;
        Ok(db)
    }

    /// One `IMMEDIATE` transaction: the write lock is taken first, so another process on
    /// the same file waits (up to 5 s) instead of failing halfway.
    pub fn write<T>(&self, f: &mut dyn FnMut(&dyn Sql) -> Result<T>) -> Result<T> {
        let conn = lock(&self.writer);
        let tx = Transaction::new_unchecked(&conn, TransactionBehavior::Immediate)?;
        let out = f(&Conn(&tx))?;
        tx.commit()?;
        Ok(out)
    }

    /// One read transaction on the reading connection, rolled back at the end.
    pub fn read<T>(&self, f: impl FnOnce(&dyn Sql) -> Result<T>) -> Result<T> {
        let conn = lock(&self.reader);
        let tx = Transaction::new_unchecked(&conn, TransactionBehavior::Deferred)?;
        f(&Conn(&tx))
    }
}
