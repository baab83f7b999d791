//! Versioned schema migrations, applied at start in one transaction. Each migration is
//! written once in SQLite's dialect; PostgreSQL runs it through [`super::postgres_ddl`].
//! `schema_migrations` records what was applied, so a version runs once per database.

use super::{vals, DbError, Engine, Result, Sql};

/// One step of the schema.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Migration {
    /// Applied in increasing order; never reused.
    pub version: i64,
    pub name: &'static str,
    /// Statements separated by `;`.
    pub sql: &'static str,
}

/// Applies the migrations `sql`'s database has not seen, in order. Refuses a database that
/// has seen a newer version than this build knows.
pub(crate) fn apply(sql: &dyn Sql, migrations: &[Migration]) -> Result<Vec<i64>> {
    if sql.engine() == Engine::Postgres {
        // Collectors starting together migrate one after the other.
        sql.query("SELECT pg_advisory_xact_lock(7401)", &[])?;
    }
    sql.batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    BIGINT PRIMARY KEY,
             name       TEXT NOT NULL,
             applied_at TEXT NOT NULL
         )",
    )?;
    let applied: Vec<i64> = sql.rows("SELECT version FROM schema_migrations", &[], |r| r.get(0))?;
    let newest = migrations.iter().map(|m| m.version).max().unwrap_or(0);
    if let Some(v) = applied.iter().find(|v| **v > newest) {
        return Err(DbError::new(format!(
            "the database has schema version {v}, newer than this collector knows ({newest})"
        )));
    }
    let mut done = Vec::new();
    for m in migrations {
        if applied.contains(&m.version) {
            continue;
        }
        match sql.engine() {
            Engine::Sqlite => sql.batch(m.sql)?,
            Engine::Postgres => sql.batch(&super::postgres_ddl(m.sql))?,
        }
        sql.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            &vals![m.version, m.name, crate::time::now_iso8601()],
        )?;
        done.push(m.version);
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    const TABLE: Migration = Migration {
        version: 1,
        name: "one table",
        sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)",
    };

    #[test]
    fn a_version_runs_once_and_a_newer_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db").display().to_string();
        let second = Migration {
            version: 2,
            name: "an index",
            sql: "CREATE INDEX t_n ON t (n)",
        };
        // Opening twice runs nothing twice (a second CREATE TABLE would fail).
        drop(Db::open(&path, &[TABLE]).unwrap());
        let db = Db::open(&path, &[TABLE, second]).unwrap();
        let versions = db
            .read(|sql| {
                sql.rows(
                    "SELECT version FROM schema_migrations ORDER BY version",
                    &[],
                    |r| r.get::<i64>(0),
                )
            })
            .unwrap();
        assert_eq!(versions, [1, 2]);
        drop(db);
        // An older build meets a database it does not know.
        let e = Db::open(&path, &[TABLE]).err().unwrap();
        assert!(
            e.contains("schema version 2, newer than this collector knows (1)"),
            "{e}"
        );
    }
}
