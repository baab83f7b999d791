//! PostgreSQL through tokio-postgres and a deadpool connection pool. The store's callers run
//! on blocking threads (as with SQLite), so each statement is a `block_on` on a small runtime
//! of the store's own that also drives the connections. TLS (the URL's `sslmode` and
//! `sslrootcert`) is in [`tls`].

mod tls;

use std::error::Error as StdError;
use std::str::FromStr;

use bytes::BytesMut;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};

use super::{migrate, DbError, Engine, Migration, Result, Row, Sql, Val};

/// Connections kept open per collector.
const POOL_SIZE: usize = 16;

/// The PostgreSQL database.
pub(crate) struct Postgres {
    rt: Option<tokio::runtime::Runtime>,
    pool: Pool,
}

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> DbError {
        let code = e.code().map(|c| c.code().to_owned());
        let message = match e.as_db_error() {
            Some(db) => format!("{}: {}", db.severity(), db.message()),
            None => {
                let mut text = e.to_string();
                let mut source = e.source();
                while let Some(s) = source {
                    text = format!("{text}: {s}");
                    source = s.source();
                }
                text
            }
        };
        DbError { message, code }
    }
}

impl From<deadpool_postgres::PoolError> for DbError {
    fn from(e: deadpool_postgres::PoolError) -> DbError {
        match e {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            e => DbError::new(format!("connection pool: {e}")),
        }
    }
}

type Boxed = Box<dyn StdError + Sync + Send>;

impl ToSql for Val<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> std::result::Result<IsNull, Boxed> {
        match (self, ty) {
            (Val::Null, _) => Ok(IsNull::Yes),
            (Val::Int(i), &Type::INT8) => i.to_sql(ty, out),
            (Val::Int(i), &Type::INT4) => i32::try_from(*i)?.to_sql(ty, out),
            (Val::Int(i), &Type::INT2) => i16::try_from(*i)?.to_sql(ty, out),
            (Val::Int(i), &Type::FLOAT8) => (*i as f64).to_sql(ty, out),
            (Val::Int(i), &Type::BOOL) => (*i != 0).to_sql(ty, out),
            (Val::Int(i), t) if is_text(t) => i.to_string().to_sql(&Type::TEXT, out),
            (Val::Real(f), &Type::FLOAT8) => f.to_sql(ty, out),
            (Val::Real(f), &Type::FLOAT4) => (*f as f32).to_sql(ty, out),
            (Val::Text(s), t) if is_text(t) || *t == Type::JSON => {
                s.as_ref().to_sql(&Type::TEXT, out)
            }
            (v, t) => Err(format!("cannot send {v:?} as a {t}").into()),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn is_text(t: &Type) -> bool {
    matches!(
        *t,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
    )
}

impl<'a> FromSql<'a> for Val<'static> {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> std::result::Result<Val<'static>, Boxed> {
        Ok(match *ty {
            Type::INT8 => Val::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => Val::Int(i64::from(i32::from_sql(ty, raw)?)),
            Type::INT2 => Val::Int(i64::from(i16::from_sql(ty, raw)?)),
            Type::OID => Val::Int(i64::from(u32::from_sql(ty, raw)?)),
            Type::BOOL => Val::Int(i64::from(bool::from_sql(ty, raw)?)),
            Type::FLOAT8 => Val::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => Val::Real(f64::from(f32::from_sql(ty, raw)?)),
            Type::NUMERIC => numeric(raw)?,
            // What `pg_advisory_xact_lock` returns.
            Type::VOID => Val::Null,
            Type::JSON => Val::Text(std::str::from_utf8(raw)?.to_owned().into()),
            // A version byte, then the text.
            Type::JSONB => Val::Text(
                std::str::from_utf8(raw.get(1..).unwrap_or_default())?
                    .to_owned()
                    .into(),
            ),
            ref t if is_text(t) => Val::Text(String::from_sql(ty, raw)?.into()),
            ref t => return Err(format!("cannot read a column of type {t}").into()),
        })
    }

    fn from_sql_null(_: &Type) -> std::result::Result<Val<'static>, Boxed> {
        Ok(Val::Null)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// A `NUMERIC` in PostgreSQL's binary form (what `SUM` of integers gives): an integer when it
/// has no fraction digits and fits, else a float.
fn numeric(raw: &[u8]) -> std::result::Result<Val<'static>, Boxed> {
    let word = |i: usize| -> std::result::Result<u16, Boxed> {
        raw.get(i * 2..i * 2 + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "a short NUMERIC".into())
    };
    let (ndigits, weight, sign, dscale) = (word(0)?, word(1)? as i16, word(2)?, word(3)?);
    if sign == 0xC000 {
        return Ok(Val::Real(f64::NAN));
    }
    let mut int: i128 = 0;
    let mut float = 0f64;
    let mut exact = dscale == 0;
    for i in 0..usize::from(ndigits) {
        let d = word(4 + i)?;
        let power = i32::from(weight) - i as i32;
        float += f64::from(d) * 10000f64.powi(power);
        if power < 0 {
            exact &= d == 0;
        } else if exact {
            let scaled = 10000i128
                .checked_pow(power as u32)
                .and_then(|p| p.checked_mul(i128::from(d)))
                .and_then(|v| v.checked_add(int));
            match scaled {
                Some(v) => int = v,
                None => exact = false,
            }
        }
    }
    let negative = sign == 0x4000;
    if exact {
        if let Ok(v) = i64::try_from(if negative { -int } else { int }) {
            return Ok(Val::Int(v));
        }
    }
    Ok(Val::Real(if negative { -float } else { float }))
}

/// A pooled connection inside a transaction.
struct Tx<'a> {
    rt: &'a tokio::runtime::Runtime,
    tx: deadpool_postgres::Transaction<'a>,
}

impl Sql for Tx<'_> {
    fn execute(&self, sql: &str, params: &[Val]) -> Result<u64> {
        let sql = super::postgres_sql(sql);
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as _).collect();
        self.rt.block_on(async {
            let stmt = self.tx.prepare_cached(&sql).await?;
            Ok(self.tx.execute(&stmt, &params).await?)
        })
    }

    fn query(&self, sql: &str, params: &[Val]) -> Result<Vec<Row>> {
        let sql = super::postgres_sql(sql);
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as _).collect();
        let rows = self.rt.block_on(async {
            let stmt = self.tx.prepare_cached(&sql).await?;
            self.tx.query(&stmt, &params).await
        })?;
        rows.iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| r.try_get::<_, Val<'static>>(i).map_err(DbError::from))
                    .collect::<Result<Vec<_>>>()
                    .map(Row)
            })
            .collect()
    }

    fn batch(&self, sql: &str) -> Result<()> {
        let sql = super::postgres_sql(sql);
        Ok(self.rt.block_on(self.tx.batch_execute(&sql))?)
    }

    fn engine(&self) -> Engine {
        Engine::Postgres
    }
}

impl Postgres {
    /// Connects to the server at `url` (over TLS as its `sslmode` says, see [`tls`]) and
    /// migrates its schema.
    pub fn open(url: &str, migrations: &[Migration]) -> std::result::Result<Postgres, String> {
        let (rest, tls_params) = tls::split_url(url)?;
        let mut config = tokio_postgres::Config::from_str(&rest)
            .map_err(|e| format!("not a PostgreSQL URL ({e}): {}", redact(url)))?;
        let mode = tls::effective_mode(&tls_params, tls::is_loopback(&config));
        config.ssl_mode(tls::pg_mode(mode));
        let connector = tls::connector(mode, tls_params.root_cert.as_deref())?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("shoptrail-postgres")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let manager = Manager::from_config(
            config,
            connector,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = {
            let _entered = rt.enter();
            Pool::builder(manager)
                .max_size(POOL_SIZE)
                .runtime(deadpool_postgres::Runtime::Tokio1)
                .wait_timeout(Some(std::time::Duration::from_secs(30)))
                .create_timeout(Some(std::time::Duration::from_secs(10)))
                .build()
                .map_err(|e| e.to_string())?
        };
        let db = Postgres { rt: Some(rt), pool };
        db.write(&mut |sql| migrate::apply(sql, migrations))
            .map_err(|e| match mode {
                tls::SslMode::Disable => e.to_string(),
                mode => format!("{e} (sslmode {mode})"),
            })?;
        Ok(db)
    }

    fn rt(&self) -> &tokio::runtime::Runtime {
        self.rt
            .as_ref()
            .expect("the runtime lives as long as the store")
    }

    /// One transaction (read committed), committed when `f` succeeds.
    pub fn write<T>(&self, f: &mut dyn FnMut(&dyn Sql) -> Result<T>) -> Result<T> {
        let rt = self.rt();
        let mut client = rt.block_on(self.pool.get())?;
        let tx = rt.block_on(client.transaction())?;
        let tx = Tx { rt, tx };
        match f(&tx) {
            Ok(out) => {
                rt.block_on(tx.tx.commit())?;
                Ok(out)
            }
            Err(e) => {
                let _ = rt.block_on(tx.tx.rollback());
                Err(e)
            }
        }
    }

    /// One repeatable-read transaction (a snapshot), rolled back at the end.
    pub fn read<T>(&self, f: impl FnOnce(&dyn Sql) -> Result<T>) -> Result<T> {
        let rt = self.rt();
        let mut client = rt.block_on(self.pool.get())?;
        let tx = rt.block_on(
            client
                .build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .start(),
        )?;
        let tx = Tx { rt, tx };
        let out = f(&tx);
        let _ = rt.block_on(tx.tx.rollback());
        out
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // The store may be dropped on an async thread, where a runtime must not block.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// Checks `url` without connecting: its `sslmode` and `sslrootcert` (see [`tls`]) and the
/// rest as tokio-postgres reads it. The message says what to fix and hides the password.
pub(crate) fn check_url(url: &str) -> std::result::Result<(), String> {
    let (rest, _) = tls::split_url(url)?;
    tokio_postgres::Config::from_str(&rest)
        .map_err(|e| format!("not a PostgreSQL URL ({e}): {}", redact(url)))?;
    Ok(())
}

/// A URL with its password replaced by `***`, for messages.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let user = &url[s + 3..at];
            match user.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &user[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric_bytes(ndigits: u16, weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut out = Vec::new();
        for w in [ndigits, weight as u16, sign, dscale].iter().chain(digits) {
            out.extend_from_slice(&w.to_be_bytes());
        }
        out
    }

    #[test]
    fn numerics_read_exactly() {
        // 123456789 = 1|2345|6789 in base 10000.
        let v = numeric(&numeric_bytes(3, 2, 0, 0, &[1, 2345, 6789])).unwrap();
        assert_eq!(v, Val::Int(123_456_789));
        let v = numeric(&numeric_bytes(1, 1, 0x4000, 0, &[5])).unwrap();
        assert_eq!(v, Val::Int(-50_000));
        let v = numeric(&numeric_bytes(0, 0, 0, 0, &[])).unwrap();
        assert_eq!(v, Val::Int(0));
        // 2.5
        let v = numeric(&numeric_bytes(2, 0, 0, 1, &[2, 5000])).unwrap();
        assert_eq!(v, Val::Real(2.5));
    }

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            redact("postgres://shop:s3cret@db:5432/events"),
            "postgres://shop:***@db:5432/events"
        );
        assert_eq!(
            redact("postgres://shop@db/events"),
            "postgres://shop@db/events"
        );
    }
}
