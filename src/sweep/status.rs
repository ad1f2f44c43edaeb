//! What the sweep did with each entry (`sweep.status` in its JSON Lines, the `status` column
//! of its state database): one typed word shared by the state and the records, in its own file
//! because both read it and the records already read the state.

use serde::{Deserialize, Serialize};

/// What the sweep did with an entry: the `sweep.status` of its lines, and (but for
/// `unchanged`, which is a `scanned` entry seen again) the `status` column of the state
/// database. Serialises, and is stored, as the lowercase word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryStatus {
    /// Scanned by this run.
    Scanned,
    /// Scanned by an earlier run and not changed since: its stored report is reused.
    Unchanged,
    /// Not a dump the sweep scans (too small, excluded, not a regular file ...).
    Skipped,
    /// Could not be read; retried by the next run.
    Failed,
    /// No longer under the roots.
    Gone,
}

impl EntryStatus {
    /// Every status, for parsing.
    const ALL: [EntryStatus; 5] = [
        EntryStatus::Scanned,
        EntryStatus::Unchanged,
        EntryStatus::Skipped,
        EntryStatus::Failed,
        EntryStatus::Gone,
    ];

    /// The word lines and the database use.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryStatus::Scanned => "scanned",
            EntryStatus::Unchanged => "unchanged",
            EntryStatus::Skipped => "skipped",
            EntryStatus::Failed => "failed",
            EntryStatus::Gone => "gone",
        }
    }

    /// Reads the word back; `None` for anything else.
    pub fn parse(s: &str) -> Option<EntryStatus> {
        EntryStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

impl std::fmt::Display for EntryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl rusqlite::types::ToSql for EntryStatus {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

/// A state file whose `status` column holds another word is damaged: reading it fails like any
/// other malformed column, rather than guessing.
impl rusqlite::types::FromSql for EntryStatus {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let s = v.as_str()?;
        EntryStatus::parse(s).ok_or_else(|| {
            rusqlite::types::FromSqlError::Other(format!("unknown entry status '{s}'").into())
        })
    }
}

/// In the published schema a status is a string, as it was before it was typed.
impl schemars::JsonSchema for EntryStatus {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "EntryStatus".into()
    }

    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        String::json_schema(g)
    }
}
