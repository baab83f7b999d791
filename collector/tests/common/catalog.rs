//! The whole database as text, on either engine: for the tests that a person's data is gone
//! from every table the catalog lists.

/// Every row of every table the database's catalog lists, as `(table, row text)`.
pub async fn rows(db: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if db.starts_with("postgres") {
        let (client, conn) = tokio_postgres::connect(db, tokio_postgres::NoTls)
            .await
            .unwrap();
        let task = tokio::spawn(conn);
        let tables: Vec<String> = client
            .query(
                "SELECT table_name::text FROM information_schema.tables
                 WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        for table in tables {
            let query = format!("SELECT CAST(t AS TEXT) FROM \"{table}\" t");
            for row in client.query(&query, &[]).await.unwrap() {
                out.push((table.clone(), row.get::<_, String>(0)));
            }
        }
        drop(client);
        let _ = task.await;
    } else {
        let conn = rusqlite::Connection::open(db).unwrap();
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for table in tables {
            let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
            let n = stmt.column_count();
            let mut q = stmt.query([]).unwrap();
            while let Some(row) = q.next().unwrap() {
                let mut text = String::new();
                for i in 0..n {
                    use rusqlite::types::ValueRef;
                    match row.get_ref(i).unwrap() {
                        ValueRef::Null => text.push_str("NULL"),
                        ValueRef::Integer(v) => text.push_str(&v.to_string()),
                        ValueRef::Real(v) => text.push_str(&v.to_string()),
                        ValueRef::Text(v) | ValueRef::Blob(v) => {
                            text.push_str(&String::from_utf8_lossy(v))
                        }
                    }
                    text.push('|');
                }
                out.push((table.clone(), text));
            }
        }
    }
    out
}

/// The tables holding a row that mentions one of `needles`, apart from the suppressions.
pub async fn tables_mentioning(db: &str, needles: &[String]) -> Vec<String> {
    let mut found: Vec<String> = rows(db)
        .await
        .into_iter()
        .filter(|(table, _)| table != "suppressions")
        .filter(|(_, text)| {
            let text = text.to_lowercase();
            needles.iter().any(|n| text.contains(n.as_str()))
        })
        .map(|(table, _)| table)
        .collect();
    found.sort();
    found.dedup();
    found
}
