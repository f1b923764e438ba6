//! The shipped processing pipelines end to end: real corpus lines, parsed by onewall's own
//! parsers, and real SigmaHQ rules that should (and should not) fire on them once the
//! pipelines have mapped their field names and routed them by logsource.

#[path = "../rules/tests/common/mod.rs"]
mod common;

use onewall_ingest::{ParseContext, parse_syslog};
use onewall_model::{Event, RegionCode, Source, Timestamp};
use onewall_rules::pipeline::{PipelineSet, shipped_names};
use onewall_rules::{Engine, LoadReport, Placeholders, RuleSource};
use serde_json::{Value, json};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");

fn sigma(rel: &str) -> RuleSource {
    let path = format!("{CORPUS}/sigmahq/rules/{rel}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    RuleSource::new(rel, text)
}

fn all_pipelines() -> PipelineSet {
    PipelineSet::shipped(&shipped_names())
        .expect("shipped pipelines")
        .require_routing(true)
}

fn engine(rules: &[&str]) -> (Engine, LoadReport) {
    let sources = rules.iter().map(|r| sigma(r));
    Engine::compile_with_pipelines(sources, &Placeholders::new(), &all_pipelines())
}

fn parse(line: &str) -> Event {
    let received = Timestamp::parse_rfc3339("2026-03-15T04:00:00Z").expect("time");
    let ctx = ParseContext::new(received, RegionCode::HENAN, Source::new("test", None));
    parse_syslog(line.as_bytes(), &ctx)
}

fn corpus_lines(rel: &str) -> Vec<String> {
    let text = std::fs::read_to_string(format!("{CORPUS}/{rel}")).expect("corpus file");
    text.lines()
        .filter(|l| !l.starts_with("# ") && !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// The corpus JSON line of this file whose `path` (e.g. `/winlog/event_id`) equals `want`.
fn corpus_json(file: &str, path: &str, want: &str) -> Value {
    corpus_lines(&format!("formats/{file}"))
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| {
            v.pointer(path)
                .map(|x| x.as_str().map_or(x.to_string(), str::to_owned))
                .as_deref()
                == Some(want)
        })
        .unwrap_or_else(|| panic!("{file}: no line with {path} = {want}"))
}

fn fired(engine: &Engine, event: &Event) -> Vec<String> {
    engine
        .matching_rules(event)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

const WHOAMI_ALL: &str = "c248c896-e412-4279-8c15-1c558067b6fa";
const USER_CREATED: &str = "66b6be3d-55d0-4f47-9855-d69df21740ea";

fn windows_engine() -> Engine {
    let (engine, report) = engine(&[
        "windows/process_creation/proc_creation_win_whoami_all_execution.yml",
        "windows/builtin/security/win_security_user_creation.yml",
    ]);
    assert!(report.is_clean(), "{:?}", report.errors);
    assert_eq!(engine.len(), 2);
    engine
}

#[test]
fn windows_rules_fire_on_each_of_the_three_json_shapes() {
    let engine = windows_engine();

    // Winlogbeat: the real Sysmon EventID 1 line, with the process made `whoami -all`, once
    // as Winlogbeat's Sysmon module writes it (ECS process.*) and once as raw event_data.
    let mut ecs = corpus_json("windows-winlogbeat.ndjson", "/winlog/event_id", "1");
    ecs["process"]["executable"] = json!(r"C:\Windows\System32\whoami.exe");
    ecs["process"]["command_line"] = json!("whoami -all");
    assert_eq!(fired(&engine, &parse(&ecs.to_string())), [WHOAMI_ALL]);
    let mut raw = corpus_json("windows-winlogbeat.ndjson", "/winlog/event_id", "1");
    raw.as_object_mut().expect("object").remove("process");
    raw["winlog"]["event_data"]["Image"] = json!(r"C:\Windows\System32\whoami.exe");
    raw["winlog"]["event_data"]["CommandLine"] = json!("whoami /all");
    assert_eq!(fired(&engine, &parse(&raw.to_string())), [WHOAMI_ALL]);
    // The real line as it is (Sysmon.exe) fires nothing.
    let real = corpus_json("windows-winlogbeat.ndjson", "/winlog/event_id", "1");
    assert!(fired(&engine, &parse(&real.to_string())).is_empty());
    // The real 4720 (user account created) line fires the Security rule unchanged.
    let created = corpus_json("windows-winlogbeat.ndjson", "/winlog/event_id", "4720");
    assert_eq!(fired(&engine, &parse(&created.to_string())), [USER_CREATED]);

    // NXLog: the real 4688 line fires nothing; made a Sysmon EventID 1 of whoami, it fires.
    let real = corpus_json("windows-nxlog.ndjson", "/EventID", "4688");
    assert!(fired(&engine, &parse(&real.to_string())).is_empty());
    let mut sysmon = real.clone();
    sysmon["EventID"] = json!(1);
    sysmon["Channel"] = json!("Microsoft-Windows-Sysmon/Operational");
    sysmon["SourceName"] = json!("Microsoft-Windows-Sysmon");
    sysmon["Image"] = json!(r"C:\Windows\System32\whoami.exe");
    sysmon["CommandLine"] = json!("whoami.exe /ALL");
    assert_eq!(fired(&engine, &parse(&sysmon.to_string())), [WHOAMI_ALL]);
    let mut created = corpus_json("windows-nxlog.ndjson", "/EventID", "4625");
    created["EventID"] = json!(4720);
    assert_eq!(fired(&engine, &parse(&created.to_string())), [USER_CREATED]);

    // evtx_dump / Chainsaw JSON.
    let evtx = json!({"Event": {
        "System": {"EventID": 1, "Computer": "WS01",
                   "Channel": "Microsoft-Windows-Sysmon/Operational",
                   "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}}},
        "EventData": {"Image": r"C:\Windows\System32\whoami.exe", "CommandLine": "whoami -all"}}});
    assert_eq!(fired(&engine, &parse(&evtx.to_string())), [WHOAMI_ALL]);
    let mut evtx_4720 = evtx.clone();
    evtx_4720["Event"]["System"]["EventID"] = json!(4720);
    evtx_4720["Event"]["System"]["Channel"] = json!("Security");
    assert_eq!(
        fired(&engine, &parse(&evtx_4720.to_string())),
        [USER_CREATED]
    );
}

#[test]
fn windows_rules_only_see_events_of_their_logsource() {
    let engine = windows_engine();
    // A Sysmon process event in the wrong channel: not a process_creation event.
    let mut wrong_channel = corpus_json("windows-nxlog.ndjson", "/EventID", "4688");
    wrong_channel["EventID"] = json!(1);
    wrong_channel["Image"] = json!(r"C:\Windows\System32\whoami.exe");
    wrong_channel["CommandLine"] = json!("whoami -all");
    assert!(fired(&engine, &parse(&wrong_channel.to_string())).is_empty());
    // The right channel but EventID 3 (network connection): not process creation either.
    wrong_channel["Channel"] = json!("Microsoft-Windows-Sysmon/Operational");
    wrong_channel["EventID"] = json!(3);
    assert!(fired(&engine, &parse(&wrong_channel.to_string())).is_empty());
    // The rule's own field names on an event that is not a Windows event at all.
    let plain = json!({"EventID": 1,
                       "Image": r"C:\Windows\System32\whoami.exe", "CommandLine": "whoami -all"});
    let e = parse(&plain.to_string());
    assert!(fired(&engine, &e).is_empty());
    // Without pipelines the same rule (field names as written) does fire on it.
    let (plain_engine, _) = Engine::compile(
        ["windows/process_creation/proc_creation_win_whoami_all_execution.yml"].map(sigma),
    );
    assert_eq!(fired(&plain_engine, &e), [WHOAMI_ALL]);
    // No real corpus Windows line fires the whoami rule.
    for file in ["windows-winlogbeat.ndjson", "windows-nxlog.ndjson"] {
        for line in corpus_lines(&format!("formats/{file}")) {
            assert!(
                !fired(&engine, &parse(&line)).contains(&WHOAMI_ALL.to_owned()),
                "{line}"
            );
        }
    }
}

#[test]
fn webserver_rules_read_the_access_log_fields() {
    let (engine, report) =
        engine(&["web/webserver_generic/web_path_traversal_exploitation_attempt.yml"]);
    assert!(report.is_clean(), "{:?}", report.errors);
    let lines = corpus_lines("formats/nginx-apache-access.log");
    let access: Vec<&String> = lines.iter().filter(|l| l.contains("\"GET /")).collect();
    assert!(!access.is_empty());
    for line in &lines {
        assert!(fired(&engine, &parse(line)).is_empty(), "{line}");
    }
    let attack = access[0].replacen("\"GET /", "\"GET /static/../../../etc/passwd?x=/", 1);
    let e = parse(&attack);
    assert_eq!(
        onewall_model::Value::as_str(e.get("log.format").expect("format")),
        Some("http_access")
    );
    assert_eq!(fired(&engine, &e).len(), 1, "{attack}");
    // The same text in a syslog message that is not an access log does not fire.
    let other = parse("<13>Mar 15 04:00:00 web app: GET /../../../etc/passwd");
    assert!(fired(&engine, &other).is_empty());
}

#[test]
fn linux_rules_are_routed_by_program() {
    let (engine, report) = engine(&["linux/builtin/sshd/lnx_sshd_susp_ssh.yml"]);
    assert!(report.is_clean(), "{:?}", report.errors);
    let lines = corpus_lines("loghub/OpenSSH_2k.log");
    assert_eq!(lines.len(), 2000);
    for line in &lines {
        assert!(fired(&engine, &parse(line)).is_empty(), "{line}");
    }
    // A real sshd line with its message replaced by one the rule looks for.
    let first = &lines[0];
    let at = first.find("]: ").expect("sshd tag") + 3;
    let attack = format!("{}Corrupted MAC on input.", &first[..at]);
    assert_eq!(fired(&engine, &parse(&attack)).len(), 1, "{attack}");
    // The same message from another program is not an sshd event.
    let other = attack.replacen("sshd[", "backup[", 1);
    assert!(fired(&engine, &parse(&other)).is_empty(), "{other}");
}

#[test]
fn firewall_rules_use_sigma_names_for_the_parsers_ecs_fields() {
    let rule = "title: cleartext web through the firewall\nid: 1c1c1c1c-0000-4000-8000-000000000001\n\
        logsource: {category: firewall}\n\
        detection:\n  selection: {dst_port: 80, action: permit, src_ip|cidr: 0.0.0.0/0}\n  condition: selection\n";
    let sources = [
        RuleSource::new("fw.yml", rule),
        sigma("network/firewall/net_firewall_cleartext_protocols.yml"),
    ];
    let (engine, report) =
        Engine::compile_with_pipelines(sources, &Placeholders::new(), &all_pipelines());
    assert!(report.is_clean(), "{:?}", report.errors);
    let mut hits = 0;
    for line in corpus_lines("formats/h3c.log") {
        let e = parse(&line);
        let ids = fired(&engine, &e);
        // SigmaHQ's rule wants action forward/accept: H3C says permit.
        assert!(!ids.contains(&"d7fb8f0e-bd5f-45c2-b467-19571c490d7e".to_owned()));
        let port80 = e
            .get("destination.port")
            .and_then(onewall_model::Value::as_i64)
            == Some(80);
        let permit = e.get("event.action").and_then(|v| v.as_str()) == Some("permit");
        assert_eq!(ids.len(), usize::from(port80 && permit), "{line}");
        hits += ids.len();
    }
    assert!(hits > 0, "no H3C line permits port 80");
}

#[test]
fn dns_rules_read_ecs_dns_fields() {
    let (engine, report) = engine(&["network/dns/net_dns_susp_telegram_api.yml"]);
    assert!(report.is_clean(), "{:?}", report.errors);
    let hit = json!({"dns": {"question": {"name": "api.telegram.org", "type": "A"}}, "source": {"ip": "10.0.0.5"}});
    assert_eq!(fired(&engine, &parse(&hit.to_string())).len(), 1);
    let miss = json!({"dns": {"question": {"name": "example.org"}}});
    assert!(fired(&engine, &parse(&miss.to_string())).is_empty());
    let bare = json!({"query": "api.telegram.org"});
    assert!(fired(&engine, &parse(&bare.to_string())).is_empty());
}

/// The same Windows events sent in the three JSON shapes fire the same SigmaHQ rules through
/// the shipped pipelines, and those are rules that match the event as written (the pipelines
/// only rename fields and add routing).
#[test]
fn the_three_windows_shapes_fire_the_same_sigmahq_rules() {
    let dir = format!("{CORPUS}/sigmahq/rules/windows");
    let (sources, _) = onewall_rules::read_rule_dir(std::path::Path::new(&dir)).expect("dir");
    let set = PipelineSet::shipped(&[
        "windows-sysmon",
        "windows-logsource",
        "windows-winlogbeat",
        "windows-nxlog",
        "windows-evtx",
    ])
    .expect("pipelines")
    .require_routing(true);
    let (plain, _) = Engine::compile(sources.clone());
    let (piped, report) = Engine::compile_with_pipelines(sources, &Placeholders::new(), &set);
    assert!(
        piped.len() > 2000,
        "{} rules; {:?}",
        piped.len(),
        report.errors.first()
    );
    let (mut fired, mut routed_out) = (0, 0);
    for bare in common::windows::generated_events(240) {
        let mut data = bare.as_object().expect("object").clone();
        let id = data.remove("EventID").expect("EventID");
        let channel = data.remove("Channel").expect("Channel");
        let winlogbeat = json!({"winlog": {"event_id": id.to_string(), "channel": channel,
            "computer_name": "WS1", "event_data": data}});
        let mut flat = data.clone();
        flat.insert("EventID".into(), id.clone());
        flat.insert("Channel".into(), channel.clone());
        flat.insert("Hostname".into(), json!("WS1"));
        let nxlog = Value::Object(flat);
        let evtx = json!({"Event": {"System": {"EventID": id, "Channel": channel,
            "Computer": "WS1"}, "EventData": data}});
        let sets: Vec<Vec<String>> = [winlogbeat, nxlog, evtx]
            .iter()
            .map(|v| fired_sorted(&piped, &parse(&v.to_string())))
            .collect();
        assert_eq!(sets[0], sets[1], "winlogbeat vs nxlog: {bare}");
        assert_eq!(sets[0], sets[2], "winlogbeat vs evtx: {bare}");
        let as_written = fired_sorted(&plain, &common::event(&bare, None));
        for id in &sets[0] {
            assert!(
                as_written.contains(id),
                "{id} fires only once mapped: {bare}"
            );
        }
        fired += sets[0].len();
        routed_out += as_written.len() - sets[0].len();
    }
    println!(
        "{fired} matches in each shape; {routed_out} matches of rules for other logsources routed out"
    );
    assert!(fired > 0 && routed_out > 0);
}

fn fired_sorted(engine: &Engine, event: &Event) -> Vec<String> {
    let mut ids = fired(engine, event);
    ids.sort();
    ids
}
