//! JSON records with a known shape: Windows events (Winlogbeat/ECS, NXLog, evtx_dump), MySQL
//! Enterprise Audit, nginx JSON access logs. The object is already flattened into the event;
//! this adds `log.format` and the ECS fields the shape implies.

use onewall_model::{Event, Value};

use super::format::BodyFormat;
use super::out::{Out, ecs};
use crate::parse::context::ParseContext;
use crate::parse::fields::LOG_FORMAT;
use crate::parse::timestamp;

fn text(event: &Event, name: &str) -> Option<String> {
    let v = event.get(name)?;
    let t = v.to_text()?.into_owned();
    (!t.is_empty() && t != "-").then_some(t)
}

fn first(event: &Event, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| text(event, n))
}

/// `yyyy-mm-dd hh:mm:ss` in the listener's zone as the event time.
fn local_time(event: &mut Event, name: &str, ctx: &ParseContext) {
    if let Some(t) = text(event, name)
        && let Some((rest, civil)) = timestamp::iso_space(t.as_bytes())
        && rest.is_empty()
        && let Ok(at) = civil.resolve(ctx.received, ctx.timezone)
    {
        event.time = at;
    }
}

/// Recognise a flattened JSON object and add its ECS fields.
pub(crate) fn enrich_json(event: &mut Event, ctx: &ParseContext) -> Option<BodyFormat> {
    let has = |e: &Event, n: &str| e.get(n).is_some();
    let format = if has(event, "winlog.channel")
        || has(event, "winlog.event_id")
        || (has(event, "event.code") && has(event, "winlog.provider_name"))
    {
        winlogbeat(event);
        BodyFormat::Windows
    } else if has(event, "EventID") && (has(event, "SourceName") || has(event, "Channel")) {
        nxlog(event, ctx);
        BodyFormat::Windows
    } else if has(event, "Event.System.EventID") || has(event, "Event.System.EventID.#text") {
        evtx(event);
        BodyFormat::Windows
    } else if has(event, "connection_id") && has(event, "class") {
        mysql(event, ctx);
        BodyFormat::MysqlAudit
    } else if (has(event, "remote_addr") || has(event, "client_address"))
        && (has(event, "request") || has(event, "status") || has(event, "response_status"))
    {
        nginx(event);
        BodyFormat::HttpAccess
    } else {
        return None;
    };
    event.fields.insert(LOG_FORMAT, Value::str(format.as_str()));
    Some(format)
}

fn set_str(event: &mut Event, name: &str, v: Option<String>) {
    if let Some(v) = v {
        Out { event }.str(name, &v);
    }
}

/// Set `name` from the first of `from` that has a value, unless `name` is set already.
fn fill(event: &mut Event, name: &str, from: &[&str]) {
    if event.get(name).is_none() {
        let v = first(event, from);
        set_str(event, name, v);
    }
}

/// ECS names for the event data under `data` (see `windows.rs`), and the observer.
fn windows_common(event: &mut Event, data: &str) {
    super::windows::map_event_data(event, data);
    Out { event }.observer("Microsoft", "Windows");
}

fn winlogbeat(event: &mut Event) {
    if event.get(ecs::EVENT_CODE).is_none() {
        let code = text(event, "winlog.event_id");
        set_str(event, ecs::EVENT_CODE, code);
    }
    fill(event, "host.name", &["winlog.computer_name"]);
    fill(event, "event.provider", &["winlog.provider_name"]);
    // No `@timestamp` (read in `json.rs`): Sysmon's own `UtcTime`, which is UTC.
    if event.time == event.received
        && let Some(t) = text(event, "winlog.event_data.UtcTime")
        && let Some((rest, civil)) = timestamp::iso_space(t.as_bytes())
        && rest.is_empty()
        && let Ok(at) = civil
            .with_offset(time::UtcOffset::UTC)
            .resolve(event.received, time::UtcOffset::UTC)
    {
        event.time = at;
    }
    windows_common(event, "winlog.event_data");
}

fn nxlog(event: &mut Event, ctx: &ParseContext) {
    let code = text(event, "EventID");
    set_str(event, ecs::EVENT_CODE, code);
    let host = text(event, "Hostname");
    set_str(event, "host.name", host);
    let channel = text(event, "Channel");
    set_str(event, "winlog.channel", channel);
    let provider = text(event, "SourceName");
    set_str(event, "event.provider", provider);
    super::windows::map_event_data(event, "");
    if let Some(t) = text(event, "EventType") {
        let outcome = match t.as_str() {
            "AUDIT_SUCCESS" => Some(true),
            "AUDIT_FAILURE" => Some(false),
            _ => None,
        };
        if let Some(ok) = outcome {
            Out { event }.outcome(ok);
        }
    }
    local_time(event, "EventTime", ctx);
    Out { event }.observer("Microsoft", "Windows");
}

fn evtx(event: &mut Event) {
    let code = first(
        event,
        &["Event.System.EventID", "Event.System.EventID.#text"],
    );
    set_str(event, ecs::EVENT_CODE, code);
    let host = text(event, "Event.System.Computer");
    set_str(event, "host.name", host);
    let channel = text(event, "Event.System.Channel");
    set_str(event, "winlog.channel", channel);
    let provider = text(event, "Event.System.Provider.#attributes.Name");
    set_str(event, "event.provider", provider);
    if let Some(t) = text(event, "Event.System.TimeCreated.#attributes.SystemTime")
        && let Ok(at) = onewall_model::Timestamp::parse_rfc3339(&t)
    {
        event.time = at;
    }
    windows_common(event, "Event.EventData");
}

fn mysql(event: &mut Event, ctx: &ParseContext) {
    let user = first(event, &["account.user", "login.user"]);
    set_str(event, ecs::USER_NAME, user);
    if let Some(ip) = text(event, "login.ip") {
        Out { event }.ip(ecs::SOURCE_IP, &ip);
    }
    let action = text(event, "event");
    set_str(event, ecs::EVENT_ACTION, action);
    if let Some(status) = event
        .get("connection_data.status")
        .or_else(|| event.get("general_data.status"))
        .and_then(Value::as_i64)
    {
        Out { event }.outcome(status == 0);
    }
    local_time(event, "timestamp", ctx);
    Out { event }.observer("Oracle", "MySQL");
}

fn nginx(event: &mut Event) {
    if let Some(ip) = first(event, &["remote_addr", "client_address"]) {
        Out { event }.ip(ecs::SOURCE_IP, &ip);
    }
    if let Some(port) = text(event, "client_port") {
        Out { event }.int(ecs::SOURCE_PORT, &port);
    }
    if let Some(req) = text(event, "request") {
        let mut parts = req.split(' ');
        if let (Some(m), Some(u)) = (parts.next(), parts.next()) {
            let mut out = Out { event };
            out.str(ecs::HTTP_METHOD, m);
            out.str(ecs::URL_ORIGINAL, u);
        }
    }
    if let Some(s) = first(event, &["status", "response_status"]) {
        Out { event }.int(ecs::HTTP_STATUS, &s);
    }
    let user = text(event, "remote_user");
    set_str(event, ecs::USER_NAME, user);
}
