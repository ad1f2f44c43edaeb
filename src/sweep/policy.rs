//! Severities of sweep findings. The gate's policy file (`src/gate/`, being built alongside)
//! will plug in here: `Policy::load(path)` re-rates findings, and its digest is part of every
//! state row, so a policy change re-rates every dump on the next sweep. Until then the
//! severities are the report's own (verified private key = critical, well-formed unproven
//! key = high, published test key = low).

use crate::report::Report;

/// The severity policy applied to every report before it is stored.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    _private: (),
}

impl Policy {
    /// The built-in policy: keep each finding's severity as the scanner rated it.
    pub fn builtin() -> Policy {
        Policy::default()
    }

    /// Identifies the policy in the state database: a different digest rescans.
    pub fn digest(&self) -> String {
        "builtin:report-severities/v1".into()
    }

    /// Re-rates the findings of a report (the hook for the gate's policy file).
    pub fn apply(&self, report: &mut Report) {
        let _ = report;
    }
}
