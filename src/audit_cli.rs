//! `onewall audit verify`: recompute the audit log's SM3 chain and name the first bad entry.

use std::path::Path;
use std::process::ExitCode;

use onewall_store::audit::{self, Verdict};

/// Exit 0 when the chain holds, 1 (naming the first bad entry) when it does not.
pub fn verify(dir: &Path) -> anyhow::Result<ExitCode> {
    match audit::verify(dir)? {
        Verdict::Intact { entries } => {
            println!("audit log intact: {entries} entries, SM3 chain verified");
            Ok(ExitCode::SUCCESS)
        }
        Verdict::Broken { seq, reason } => {
            println!("audit log broken at entry {seq}: {reason}");
            Ok(ExitCode::FAILURE)
        }
    }
}
