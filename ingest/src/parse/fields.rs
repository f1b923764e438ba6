//! Well-known field names, interned once so that parsers set them by id.

use std::sync::OnceLock;

use onewall_model::event::names;
use onewall_model::{FieldId, Fields, Value};

/// A process id that is not a number (`app[worker-3]`); numeric ones go to `process.pid`.
pub const SYSLOG_PROCID: &str = "log.syslog.procid";

/// A field name and its id, interned on first use.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Name {
    pub name: &'static str,
    id: Option<FieldId>,
}

impl Name {
    fn new(name: &'static str) -> Self {
        Name {
            name,
            id: FieldId::intern(name),
        }
    }

    /// Set this field on `fields`.
    pub fn set(self, fields: &mut Fields, value: Value) {
        match self.id {
            Some(id) => fields.insert_id(id, value),
            // Only when the process-wide interner is full; the name is then kept by text.
            None => fields.insert(self.name, value),
        }
    }
}

/// The names the syslog parsers set.
#[derive(Debug)]
pub(crate) struct SyslogNames {
    pub priority: Name,
    pub facility: Name,
    pub severity: Name,
    pub version: Name,
    pub host_name: Name,
    pub host_ip: Name,
    pub process_name: Name,
    pub process_pid: Name,
    pub procid: Name,
    pub msgid: Name,
    pub message: Name,
}

pub(crate) fn syslog_names() -> &'static SyslogNames {
    static N: OnceLock<SyslogNames> = OnceLock::new();
    N.get_or_init(|| SyslogNames {
        priority: Name::new(names::SYSLOG_PRIORITY),
        facility: Name::new(names::SYSLOG_FACILITY),
        severity: Name::new(names::SYSLOG_SEVERITY),
        version: Name::new(names::SYSLOG_VERSION),
        host_name: Name::new(names::HOST_NAME),
        host_ip: Name::new(names::HOST_IP),
        process_name: Name::new(names::PROCESS_NAME),
        process_pid: Name::new(names::PROCESS_PID),
        procid: Name::new(SYSLOG_PROCID),
        msgid: Name::new(names::SYSLOG_MSGID),
        message: Name::new(names::MESSAGE),
    })
}

/// The body format a parser recognised (`cef`, `fortigate`, `linux_auth`, ...; see
/// [`super::BodyFormat`]). `Event.format` stays the header format (RFC 5424, RFC 3164, JSON).
pub const LOG_FORMAT: &str = "log.format";

/// The department of the listener the record came in on (its `department` source tag).
pub const ORGANIZATION_NAME: &str = "organization.name";

/// The `organization.name` a record carried itself when its listener has a department, which
/// wins (see [`ORGANIZATION_NAME`]).
pub const SENT_ORGANIZATION_NAME: &str = "onewall.sent.organization.name";

/// How many of a record's keys were not made fields because it had more than the listener's
/// `max_fields_per_event` (an integer; absent when none were left out). The raw bytes keep them.
pub const FIELDS_TRUNCATED: &str = "event.fields_truncated";
