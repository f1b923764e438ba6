//! PostgreSQL pgAudit: `[prefix] LOG:  AUDIT: SESSION|OBJECT,STATEMENT_ID,SUBSTATEMENT_ID,CLASS,
//! COMMAND,OBJECT_TYPE,OBJECT_NAME,STATEMENT,PARAMETER`.

use super::out::{Out, ecs};
use super::paloalto::csv;

const COLUMNS: [&str; 9] = [
    "pgaudit.audit_type",
    "pgaudit.statement_id",
    "pgaudit.substatement_id",
    "pgaudit.class",
    "pgaudit.command",
    "pgaudit.object_type",
    "pgaudit.object_name",
    "pgaudit.statement",
    "pgaudit.parameter",
];

pub(crate) fn parse(out: &mut Out<'_>, msg: &str) -> bool {
    let Some(p) = msg.find("AUDIT: ") else {
        return false;
    };
    let level = msg[..p].trim().trim_end_matches(':');
    if let Some(l) = level.rsplit(' ').next().filter(|l| !l.is_empty()) {
        out.str(ecs::LOG_LEVEL, &l.to_ascii_lowercase());
    }
    let cols = csv(msg[p + 7..].trim_end());
    if cols.len() < 5 {
        return false;
    }
    for (name, value) in COLUMNS.iter().zip(&cols) {
        if !value.is_empty() {
            out.str(name, value);
        }
    }
    out.str(ecs::EVENT_ACTION, &cols[4].to_ascii_lowercase());
    out.observer("PostgreSQL", "pgAudit");
    // `user=x,db=y` in a log_line_prefix.
    if let Some(u) = msg[..p].find("user=") {
        let name = msg[u + 5..p].split([',', ' ']).next().unwrap_or("");
        if !name.is_empty() {
            out.str(ecs::USER_NAME, name);
        }
    }
    true
}
