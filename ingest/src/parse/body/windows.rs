//! Windows event data under one set of names whatever the JSON shape, and ECS names for the
//! common Security and Sysmon data.
//!
//! The shapes: Winlogbeat (`winlog.event_data.X`, `winlog.user_data.X`), NXLog (`X` at the top
//! level) or evtx_dump (`Event.EventData.X`, `Event.UserData.<element>.X`). Every event data
//! name is also set at the top level as Windows names it with its spaces taken out (`Image`,
//! `Operation`, `SourceName` for Defender's `Source Name`), unless the event already has that
//! field: these canonical names are what the Windows pipelines let rules read, so one rule
//! version serves every shape. The vendor keys stay as they are; an ECS field the shipper
//! already set (Winlogbeat sets many) is left alone, and fills the canonical name when the
//! shipper moved the data out of `event_data` (Winlogbeat's Sysmon module).

use std::sync::OnceLock;

use onewall_model::{Event, FieldId, Value};

use super::out::{Out, ecs};

/// Event data keys (first present wins) and the ECS field they fill.
const TEXT: &[(&[&str], &str)] = &[
    (&["CommandLine"], "process.command_line"),
    (
        &["Image", "NewProcessName", "ProcessName"],
        "process.executable",
    ),
    (
        &["ParentImage", "ParentProcessName"],
        "process.parent.executable",
    ),
    (&["ParentCommandLine"], "process.parent.command_line"),
    (&["TargetFilename"], "file.path"),
    (&["QueryName"], "dns.question.name"),
    (&["TargetDomainName", "SubjectDomainName"], "user.domain"),
    (&["WorkstationName"], "source.domain"),
    (&["ServiceName"], "service.name"),
    (&["LogonType"], "winlog.logon.type"),
];

const INTEGER: &[(&[&str], &str)] = &[
    (&["NewProcessId", "ProcessId"], "process.pid"),
    (&["ParentProcessId"], "process.parent.pid"),
    (&["IpPort", "SourcePort"], ecs::SOURCE_PORT),
    (&["DestinationPort"], ecs::DESTINATION_PORT),
];

const ADDRESS: &[(&[&str], &str)] = &[
    (
        &["IpAddress", "SourceIp", "ClientIPAddress"],
        ecs::SOURCE_IP,
    ),
    (&["DestinationIp"], ecs::DESTINATION_IP),
];

/// A value worth mapping: text that is not empty or `-`.
fn data(event: &Event, keys: &[Name]) -> Option<String> {
    keys.iter().find_map(|k| {
        let text = k.get(event)?.to_text()?;
        let t = text.trim();
        (!t.is_empty() && t != "-").then(|| t.to_owned())
    })
}

/// A field name the mapping reads, interned once (this runs for every Windows event, about
/// thirty names each: looking each name up by its text was a tenth of `replay`'s time).
#[derive(Debug, Clone)]
struct Name {
    id: Option<FieldId>,
    text: String,
}

impl Name {
    fn new(text: String) -> Self {
        Name {
            id: FieldId::intern(&text),
            text,
        }
    }

    fn get<'e>(&self, event: &'e Event) -> Option<&'e Value> {
        match self.id {
            Some(id) => event.fields.get_id(id),
            // The interner was full: the event holds such a name by its text.
            None => event.get(&self.text),
        }
    }
}

/// The names one shape's mapping reads: each table's event data keys under the shape's
/// prefix, with the field they fill.
#[derive(Debug, Clone)]
struct Names {
    text: Vec<(Vec<Name>, Name)>,
    integer: Vec<(Vec<Name>, Name)>,
    address: Vec<(Vec<Name>, Name)>,
    target_user: Vec<Name>,
    account: Vec<Name>,
    protocol: Vec<Name>,
    process_name: Name,
    process_executable: Name,
    user_name: Name,
    user_domain: Name,
    transport: Name,
}

impl Names {
    fn new(prefix: &str) -> Self {
        let key = |k: &str| {
            Name::new(if prefix.is_empty() {
                k.to_owned()
            } else {
                format!("{prefix}.{k}")
            })
        };
        let keys = |ks: &[&str]| ks.iter().map(|k| key(k)).collect::<Vec<_>>();
        let table = |t: &[(&[&str], &str)]| {
            t.iter()
                .map(|(ks, name)| (keys(ks), Name::new((*name).to_owned())))
                .collect()
        };
        Names {
            text: table(TEXT),
            integer: table(INTEGER),
            address: table(ADDRESS),
            target_user: keys(&["TargetUserName", "SubjectUserName"]),
            account: keys(&["User", "AccountName"]),
            protocol: keys(&["Protocol"]),
            process_name: Name::new("process.name".into()),
            process_executable: Name::new("process.executable".into()),
            user_name: Name::new(ecs::USER_NAME.into()),
            user_domain: Name::new("user.domain".into()),
            transport: Name::new(ecs::NETWORK_TRANSPORT.into()),
        }
    }

    /// The names for `prefix`: made once for each of the three shapes.
    fn of(prefix: &str) -> std::borrow::Cow<'static, Names> {
        static WINLOGBEAT: OnceLock<Names> = OnceLock::new();
        static NXLOG: OnceLock<Names> = OnceLock::new();
        static EVTX_DUMP: OnceLock<Names> = OnceLock::new();
        let cell = match prefix {
            "winlog.event_data" => &WINLOGBEAT,
            "" => &NXLOG,
            "Event.EventData" => &EVTX_DUMP,
            _ => return std::borrow::Cow::Owned(Names::new(prefix)),
        };
        std::borrow::Cow::Borrowed(cell.get_or_init(|| Names::new(prefix)))
    }
}

/// A process id as Windows writes it: decimal, or `0x354` in Security events.
fn pid(text: &str) -> Option<i64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// The file name of a Windows path (`C:\Windows\System32\cmd.exe` gives `cmd.exe`).
fn base_name(path: &str) -> &str {
    path.rsplit(['\\', '/']).next().unwrap_or(path)
}

/// Winlogbeat's ECS fields that hold Sysmon event data it moved out of `event_data`, and the
/// event data name each holds.
const SHIPPER_ECS: &[(&str, &str)] = &[
    ("Image", "process.executable"),
    ("CommandLine", "process.command_line"),
    ("ParentImage", "process.parent.executable"),
    ("ParentCommandLine", "process.parent.command_line"),
    ("OriginalFileName", "process.pe.original_file_name"),
    ("CurrentDirectory", "process.working_directory"),
    ("QueryName", "dns.question.name"),
    ("TargetFilename", "file.path"),
    ("DestinationIp", "destination.ip"),
    ("DestinationPort", "destination.port"),
    ("SourceIp", "source.ip"),
];

/// The canonical name of the event data key `name` (`prefix` being the shape's, see
/// [`map_event_data`]): the data's own name with spaces taken out, or `None` when `name` is
/// not event data.
fn canonical_name<'a>(prefix: &str, name: &'a str) -> Option<std::borrow::Cow<'a, str>> {
    let own = match prefix {
        // NXLog: the data is already at the top level; only names with spaces need a copy.
        "" => (name.contains(' ') && !name.contains('.')).then_some(name)?,
        _ => {
            let (data, user) = match prefix {
                "winlog.event_data" => ("winlog.event_data.", "winlog.user_data."),
                _ => ("Event.EventData.", "Event.UserData."),
            };
            if let Some(rest) = name.strip_prefix(data) {
                // `Data.#text` (unnamed data) and other nested keys are not one named value.
                (!rest.contains(['.', '#'])).then_some(rest)?
            } else {
                // User data sits under an element of the provider's own (evtx_dump keeps
                // it, Winlogbeat drops it): the innermost name is the data's.
                let rest = name.strip_prefix(user)?;
                if rest.contains("#attributes") || rest == "xml_name" {
                    return None;
                }
                let rest = rest.strip_suffix(".#text").unwrap_or(rest);
                rest.rsplit('.').next().filter(|n| !n.is_empty())?
            }
        }
    };
    Some(if own.contains(' ') {
        std::borrow::Cow::Owned(own.replace(' ', ""))
    } else {
        std::borrow::Cow::Borrowed(own)
    })
}

/// Set each event data value under its canonical name (see the module docs), unless the event
/// has that field already; the first of several keys with one canonical name wins.
fn canonical_event_data(event: &mut Event, prefix: &str) {
    let mut copies: Vec<(String, Value)> = Vec::new();
    for (name, value) in event.fields.iter() {
        if let Some(canon) = canonical_name(prefix, name)
            && !copies.iter().any(|(n, _)| *n == canon)
        {
            copies.push((canon.into_owned(), value.clone()));
        }
    }
    for (name, value) in copies {
        if event.get(&name).is_none() {
            event.fields.insert(&name, value);
        }
    }
    if prefix == "winlog.event_data" {
        for (canon, ecs) in SHIPPER_ECS {
            if event.get(canon).is_none()
                && let Some(v) = event.get(ecs).cloned()
            {
                event.fields.insert(canon, v);
            }
        }
    }
}

/// Map the event data under `prefix` (`winlog.event_data`, empty for NXLog, `Event.EventData`):
/// its canonical names first (before this adds ECS fields of its own), then the ECS names.
pub(crate) fn map_event_data(event: &mut Event, prefix: &str) {
    canonical_event_data(event, prefix);
    let names = Names::of(prefix);
    let absent = |e: &Event, name: &Name| name.get(e).is_none();
    for (keys, name) in &names.text {
        if absent(event, name)
            && let Some(v) = data(event, keys)
        {
            Out { event }.str(&name.text, &v);
        }
    }
    for (keys, name) in &names.integer {
        if absent(event, name)
            && let Some(n) = data(event, keys).as_deref().and_then(pid)
        {
            event.fields.insert(&name.text, Value::Int(n));
        }
    }
    for (keys, name) in &names.address {
        if absent(event, name)
            && let Some(v) = data(event, keys)
        {
            Out { event }.ip(&name.text, &v);
        }
    }
    if absent(event, &names.process_name)
        && let Some(exe) = names.process_executable.get(event).and_then(Value::as_str)
    {
        let name = base_name(exe).to_owned();
        Out { event }.str(&names.process_name.text, &name);
    }
    if absent(event, &names.user_name) {
        // Security events name the target, then the subject; Sysmon writes `DOMAIN\user`.
        if let Some(u) = data(event, &names.target_user) {
            Out { event }.str(ecs::USER_NAME, &u);
        } else if let Some(u) = data(event, &names.account) {
            let mut out = Out { event };
            match u.split_once('\\') {
                Some((domain, name)) => {
                    out.str(ecs::USER_NAME, name);
                    if absent(out.event, &names.user_domain) {
                        out.str(&names.user_domain.text, domain);
                    }
                }
                None => out.str(ecs::USER_NAME, &u),
            }
        }
    }
    if absent(event, &names.transport)
        && let Some(p) = data(event, &names.protocol)
    {
        Out { event }.transport(&p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onewall_model::{RegionCode, Source, Timestamp};

    fn event(json: &str) -> Event {
        let ctx = crate::ParseContext::new(
            Timestamp::from_secs(1_773_547_200),
            RegionCode::HENAN,
            Source::new("http", None),
        );
        let obj = serde_json::from_str(json).expect("test JSON");
        crate::parse_json_object(&obj, json.as_bytes(), &ctx)
    }

    fn s<'a>(e: &'a Event, name: &str) -> Option<&'a str> {
        e.get(name).and_then(Value::as_str)
    }

    #[test]
    fn sysmon_process_creation_in_each_shape() {
        let data = r#""CommandLine":"cmd.exe /c whoami","Image":"C:\\Windows\\System32\\cmd.exe","ParentImage":"C:\\Windows\\explorer.exe","ProcessId":"4242","User":"CORP\\alice""#;
        let shapes = [
            format!(
                r#"{{"winlog":{{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":1,"computer_name":"ws01","event_data":{{{data}}}}}}}"#
            ),
            format!(
                r#"{{"EventID":1,"SourceName":"Microsoft-Windows-Sysmon","Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"ws01",{data}}}"#
            ),
            format!(
                r#"{{"Event":{{"System":{{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"ws01"}},"EventData":{{{data}}}}}}}"#
            ),
        ];
        for json in &shapes {
            let e = event(json);
            assert_eq!(s(&e, "log.format"), Some("windows"), "{json}");
            assert_eq!(s(&e, "process.command_line"), Some("cmd.exe /c whoami"));
            assert_eq!(
                s(&e, "process.executable"),
                Some("C:\\Windows\\System32\\cmd.exe")
            );
            assert_eq!(s(&e, "process.name"), Some("cmd.exe"));
            assert_eq!(
                s(&e, "process.parent.executable"),
                Some("C:\\Windows\\explorer.exe")
            );
            assert_eq!(e.get("process.pid"), Some(&Value::Int(4242)));
            assert_eq!(s(&e, "user.name"), Some("alice"));
            assert_eq!(s(&e, "user.domain"), Some("CORP"));
            assert_eq!(s(&e, "event.code"), Some("1"), "{json}");
            assert_eq!(
                s(&e, "winlog.channel"),
                Some("Microsoft-Windows-Sysmon/Operational")
            );
            assert_eq!(s(&e, "host.name"), Some("ws01"), "{json}");
            // The vendor's own key is still there.
            assert!(
                e.fields
                    .iter()
                    .any(|(k, _)| k.ends_with("CommandLine") && !k.starts_with("process.")),
                "{json}"
            );
        }
    }

    #[test]
    fn logon_failure_and_existing_ecs_fields() {
        let e = event(
            r#"{"EventID":4625,"SourceName":"Microsoft-Windows-Security-Auditing","Channel":"Security","Hostname":"dc01","TargetUserName":"admin","IpAddress":"203.0.113.9","IpPort":"51515","ProcessId":"0x354","ProcessName":"C:\\Windows\\System32\\lsass.exe","LogonType":"3"}"#,
        );
        assert_eq!(s(&e, "user.name"), Some("admin"));
        assert_eq!(
            e.get("source.ip"),
            Some(&Value::Ip("203.0.113.9".parse().unwrap()))
        );
        assert_eq!(e.get("source.port"), Some(&Value::Int(51515)));
        assert_eq!(e.get("process.pid"), Some(&Value::Int(0x354)));
        assert_eq!(s(&e, "process.name"), Some("lsass.exe"));
        assert_eq!(s(&e, "winlog.logon.type"), Some("3"));
        // Winlogbeat's own ECS value wins over the event data.
        let e = event(
            r#"{"process":{"name":"keep.exe"},"winlog":{"channel":"Security","event_id":4688,"event_data":{"NewProcessName":"C:\\x\\other.exe"}}}"#,
        );
        assert_eq!(s(&e, "process.name"), Some("keep.exe"));
        assert_eq!(s(&e, "process.executable"), Some("C:\\x\\other.exe"));
    }

    #[test]
    fn event_data_gets_one_set_of_names_in_every_shape() {
        let data = r#""Image":"C:\\x\\a.exe","Threat Name":"Trojan:Win32/X""#;
        let shapes = [
            format!(
                r#"{{"winlog":{{"channel":"Security","event_id":4688,"event_data":{{{data}}},"user_data":{{"xml_name":"Op","Operation":"Clear"}}}}}}"#
            ),
            format!(r#"{{"EventID":4688,"Channel":"Security",{data},"Operation":"Clear"}}"#),
            format!(
                r##"{{"Event":{{"System":{{"EventID":4688,"Channel":"Security"}},"EventData":{{{data}}},"UserData":{{"Op":{{"#attributes":{{"xmlns":"urn:x"}},"Operation":"Clear"}}}}}}}}"##
            ),
        ];
        for json in &shapes {
            let e = event(json);
            assert_eq!(s(&e, "Image"), Some("C:\\x\\a.exe"), "{json}");
            assert_eq!(s(&e, "ThreatName"), Some("Trojan:Win32/X"), "{json}");
            assert_eq!(s(&e, "Operation"), Some("Clear"), "{json}");
            assert!(
                e.get("xmlns").is_none() && e.get("xml_name").is_none(),
                "{json}"
            );
            // The key as sent stays.
            assert!(
                e.fields.iter().any(|(k, _)| k.ends_with("Threat Name")),
                "{json}"
            );
        }
        // A field the event has already is not overwritten by event data of that name.
        let e = event(
            r#"{"message":"top","winlog":{"channel":"X","event_id":1,"event_data":{"message":"data"}}}"#,
        );
        assert_eq!(s(&e, "message"), Some("top"));
        // Winlogbeat's Sysmon module moved Image to process.executable: Image is read there.
        let e = event(
            r#"{"process":{"executable":"C:\\w\\b.exe"},"winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":1,"event_data":{"RuleName":"-"}}}"#,
        );
        assert_eq!(s(&e, "Image"), Some("C:\\w\\b.exe"));
    }
}
