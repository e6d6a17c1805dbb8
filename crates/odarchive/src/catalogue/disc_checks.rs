//! The last check of each disc by a verify (schema version 11): when, whether it passed,
//! what was found in words, and the job that ran it. A verify records it for every disc it
//! checked whole (the CLI's `verify` and a server's alike), so a disc map shows it after any
//! restart; a disc that passes is marked verified in the same transaction.

use rusqlite::{Row, TransactionBehavior, params};

use super::{Catalogue, InCatalogue};
use crate::error::Result;
use crate::time::now_ns;

/// The last check of a disc.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DiscCheck {
    /// The disc number.
    pub disc: u32,
    /// The job that checked it, when one was recorded (a server's verify; `null` for the
    /// CLI's `verify`, which records no job).
    pub job: Option<i64>,
    /// When it was checked, ns since the epoch.
    pub checked_ns: i64,
    /// Whether it passed every check.
    pub ok: bool,
    /// What was found, in words (`ok: 12 files (…) intact`, `FAILED: 1 corrupt`).
    pub summary: String,
}

fn check_from_row(r: &Row<'_>) -> rusqlite::Result<DiscCheck> {
    Ok(DiscCheck {
        disc: r.get(0)?,
        job: r.get(1)?,
        checked_ns: r.get(2)?,
        ok: r.get(3)?,
        summary: r.get(4)?,
    })
}

impl Catalogue {
    /// Records the check of disc `number` (replacing its last one) and, if it passed and
    /// `mark_verified`, marks the disc verified, in one transaction. The job is the one this
    /// process runs on the catalogue, if any.
    pub fn record_disc_check(
        &mut self,
        number: u32,
        ok: bool,
        summary: &str,
        mark_verified: bool,
    ) -> Result<()> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .in_catalogue(&path)?;
        let now = now_ns();
        if ok && mark_verified {
            tx.execute(
                "UPDATE disc SET state = 'verified', verified_ns = ?1 \
                 WHERE number = ?2 AND state != 'planned'",
                params![now, number],
            )
            .in_catalogue(&path)?;
        }
        tx.execute(
            "INSERT OR REPLACE INTO disc_check (disc_number, job, checked_ns, ok, summary)
             SELECT ?1, (SELECT max(id) FROM job WHERE state = 'running' AND pid = ?2), ?3, ?4, ?5
             WHERE EXISTS (SELECT 1 FROM disc WHERE number = ?1)",
            params![number, i64::from(std::process::id()), now, ok, summary],
        )
        .in_catalogue(&path)?;
        tx.commit().in_catalogue(&path)
    }

    /// The last check of every disc checked, by disc number.
    pub fn disc_checks(&self) -> Result<Vec<DiscCheck>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT disc_number, job, checked_ns, ok, summary FROM disc_check \
                 ORDER BY disc_number",
            )
            .in_catalogue(&self.path)?;
        let rows = stmt
            .query_map([], check_from_row)
            .in_catalogue(&self.path)?;
        rows.collect::<rusqlite::Result<_>>()
            .in_catalogue(&self.path)
    }
}
