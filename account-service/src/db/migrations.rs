//! Brings a database to the schema this program knows, in one transaction keyed on
//! `PRAGMA user_version`.
//!
//! A fresh file runs every migration; an older one runs the missing ones; a newer one (written
//! by a later version of this program) is refused and left untouched. A failing migration
//! rolls back every step of this start-up, so the file stays at the version it had.

use super::schema::{self, Migration};
use crate::error::Error;
use rusqlite::{Connection, TransactionBehavior};

/// Migrates `conn` to [`schema::VERSION`] and returns that version.
pub(crate) fn migrate(conn: &mut Connection) -> Result<u32, Error> {
    migrate_with(conn, schema::MIGRATIONS)
}

/// Migrates `conn` with the given list (tests use their own).
pub(crate) fn migrate_with(conn: &mut Connection, migrations: &[Migration]) -> Result<u32, Error> {
    let supported = u32::try_from(migrations.len()).unwrap_or(u32::MAX);
    // IMMEDIATE: a second process starting at the same time waits, then sees our version.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: u32 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > supported {
        return Err(Error::SchemaTooNew { found, supported });
    }
    for (version, step) in (1..).zip(migrations).skip(found as usize) {
        match step {
            Migration::Sql(sql) => tx.execute_batch(sql),
            Migration::Rust(run) => run(&tx),
        }
        .map_err(|source| Error::Migration { version, source })?;
        tracing::info!(version, "migrated the database schema");
    }
    if found < supported {
        tx.pragma_update(None, "user_version", supported)?;
    }
    tx.commit()?;
    Ok(supported)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(conn: &Connection) -> u32 {
        conn.pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap()
    }

    fn tables(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn fresh_database_gets_the_whole_schema() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), schema::VERSION);
        assert_eq!(version(&conn), schema::VERSION);
        assert_eq!(
            tables(&conn),
            ["accounts", "idempotency", "ledger", "sessions"]
        );
        // Running again is a no-op.
        assert_eq!(migrate(&mut conn).unwrap(), schema::VERSION);
        assert_eq!(version(&conn), schema::VERSION);
    }

    #[test]
    fn test_upgrades() {
        let v1 = Migration::Sql("CREATE TABLE a (x INTEGER) STRICT;");
        let v2 = Migration::Sql(
            "ALTER TABLE a ADD COLUMN y INTEGER NOT NULL DEFAULT 7; CREATE TABLE b (z TEXT);",
        );
        let v3 = Migration::Rust(|conn| {
            conn.execute_batch("INSERT INTO b (z) SELECT 'from ' || y FROM a;")
        });
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(migrate_with(&mut conn, &[v1]).unwrap(), 1);
        conn.execute("INSERT INTO a (x) VALUES (1)", []).unwrap();
        // An older database gets only the missing steps, and keeps its data.
        assert_eq!(migrate_with(&mut conn, &[v1, v2, v3]).unwrap(), 3);
        assert_eq!(version(&conn), 3);
        let z: String = conn.query_row("SELECT z FROM b", [], |r| r.get(0)).unwrap();
        assert_eq!(z, "from 7");
    }

    #[test]
    fn test_version_too_new() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        conn.pragma_update(None, "user_version", schema::VERSION + 1)
            .unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(
            matches!(err, Error::SchemaTooNew { found, supported }
                if found == schema::VERSION + 1 && supported == schema::VERSION),
            "{err:?}"
        );
        // Never a silent downgrade: the version and the tables are untouched.
        assert_eq!(version(&conn), schema::VERSION + 1);
        assert_eq!(tables(&conn).len(), 4);
    }

    #[test]
    fn test_migration_error() {
        let v1 = Migration::Sql("CREATE TABLE a (x INTEGER);");
        let v2 = Migration::Sql("CREATE TABLE b (y INTEGER);");
        let broken = Migration::Sql("CREATE TABLE c (z INTEGER); THIS IS NOT SQL;");
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_with(&mut conn, &[v1]).unwrap();
        let err = migrate_with(&mut conn, &[v1, v2, broken]).unwrap_err();
        assert!(
            matches!(err, Error::Migration { version: 3, .. }),
            "{err:?}"
        );
        // The whole start-up rolled back: v2 is not half-applied either.
        assert_eq!(version(&conn), 1);
        assert_eq!(tables(&conn), ["a"]);
    }

    #[test]
    fn version_2_backfills_skeletons_and_keeps_look_alikes_working() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_with(&mut conn, &schema::MIGRATIONS[..1]).unwrap();
        for name in ["alice", "\u{430}lice", "zoe\u{308}", "bob"] {
            conn.execute(
                "INSERT INTO accounts (name, password_hash, created_at) VALUES (?1, 'x', 0)",
                [name],
            )
            .unwrap();
        }
        assert_eq!(migrate(&mut conn).unwrap(), 2);
        let rows: Vec<(String, String)> = conn
            .prepare("SELECT name, skeleton FROM accounts ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let skeleton = crate::validate::skeleton;
        assert_eq!(rows[0], ("alice".to_owned(), skeleton("alice")));
        // The Cyrillic look-alike keeps its name and a skeleton of its own.
        assert_eq!(rows[1].0, "\u{430}lice");
        assert_eq!(rows[1].1, format!("{}\n2", skeleton("alice")));
        // Decomposed names are stored composed.
        assert_eq!(rows[2].0, "zo\u{eb}");
        assert_eq!(rows[3], ("bob".to_owned(), skeleton("bob")));
        // The skeleton is unique from now on.
        let again = conn.execute(
            "INSERT INTO accounts (name, skeleton, password_hash, created_at) \
             VALUES ('al\u{456}ce', ?1, 'x', 0)",
            [skeleton("alice")],
        );
        assert!(again.is_err());
    }

    #[test]
    fn the_schema_refuses_negative_balances_and_empty_deltas() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        conn.execute(
            "INSERT INTO accounts (name, password_hash, created_at) VALUES ('a', 'x', 0)",
            [],
        )
        .unwrap();
        assert!(
            conn.execute("UPDATE accounts SET balance = -1", [])
                .is_err()
        );
        assert!(
            conn.execute(
                "INSERT INTO ledger (account_id, kind, delta, balance_after, at) \
                 VALUES (1, 2, 0, 0, 0)",
                []
            )
            .is_err()
        );
        assert!(
            conn.execute(
                "INSERT INTO ledger (account_id, kind, delta, balance_after, at) \
                 VALUES (99, 2, 5, 5, 0)",
                []
            )
            .is_err(),
            "foreign keys are enforced"
        );
    }
}
