//! The Windows event shapes (Winlogbeat/ECS, NXLog, evtx_dump JSON) on arbitrary values: the
//! first byte picks the shape, the rest (as text, one value per line) fills its keys; bytes that
//! are a JSON object also go through whole. Never a panic, and the raw bytes are kept.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

#[path = "../common/shape.rs"]
mod shape;

const WINLOGBEAT: &[&str] = &[
    "winlog.channel",
    "winlog.event_id",
    "winlog.provider_name",
    "winlog.computer_name",
    "winlog.event_data.UtcTime",
    "winlog.event_data.CommandLine",
    "winlog.event_data.Image",
    "winlog.event_data.ProcessId",
    "winlog.event_data.IpAddress",
    "winlog.event_data.User",
    "winlog.event_data.Protocol",
    "@timestamp",
];
const NXLOG: &[&str] = &[
    "EventID",
    "SourceName",
    "Channel",
    "Hostname",
    "EventType",
    "EventTime",
    "NewProcessId",
    "TargetUserName",
    "IpPort",
    "SourceIp",
    "ParentImage",
];
const EVTX: &[&str] = &[
    "Event.System.EventID",
    "Event.System.Computer",
    "Event.System.Channel",
    "Event.System.Provider.#attributes.Name",
    "Event.System.TimeCreated.#attributes.SystemTime",
    "Event.EventData.AccountName",
    "Event.EventData.ParentProcessId",
    "Event.EventData.DestinationIp",
    "Event.EventData.TargetFilename",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let keys = match pick % 3 {
        0 => WINLOGBEAT,
        1 => NXLOG,
        _ => EVTX,
    };
    shape::check(keys, rest);
    if let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(data) {
        shape::check_object(&obj, data);
    }
});
