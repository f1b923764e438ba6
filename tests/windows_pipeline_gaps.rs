//! The Windows (and web) pipeline gaps, each with a real-shaped event parsed by onewall's own
//! parser: it fires the SigmaHQ rule it should, and no other rule of the whole SigmaHQ Windows
//! set compiled with the Windows pipelines (every shape listed, Sysmon and Security auditing).
//! Shapes: the corpus NXLog and Winlogbeat lines, and evtx_dump's JSON as PyPI `evtx` prints
//! Microsoft's documented event XML.

use std::sync::OnceLock;

use onewall_ingest::{ParseContext, parse_syslog};
use onewall_model::{Event, RegionCode, Source, Timestamp};
use onewall_rules::pipeline::PipelineSet;
use onewall_rules::{Engine, Placeholders, RuleSource};
use serde_json::{Value, json};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");

/// Every pipeline a Windows pack lists.
const WINDOWS: &[&str] = &[
    "windows-sysmon",
    "windows-audit",
    "windows-logsource",
    "windows-winlogbeat",
    "windows-nxlog",
    "windows-evtx",
];

/// The whole SigmaHQ Windows rule set through the Windows pipelines, compiled once.
fn windows_engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let dir = format!("{CORPUS}/sigmahq/rules/windows");
        let (sources, _) = onewall_rules::read_rule_dir(std::path::Path::new(&dir)).expect("dir");
        let set = PipelineSet::shipped(WINDOWS)
            .expect("pipelines")
            .require_routing(true);
        let (engine, report) = Engine::compile_with_pipelines(sources, &Placeholders::new(), &set);
        assert!(engine.len() > 2000, "{} rules; {report}", engine.len());
        engine
    })
}

fn parse(line: &str) -> Event {
    let received = Timestamp::parse_rfc3339("2026-03-15T04:00:00Z").expect("time");
    let ctx = ParseContext::new(received, RegionCode::HENAN, Source::new("test", None));
    parse_syslog(line.as_bytes(), &ctx)
}

fn fired(engine: &Engine, event: &Value) -> Vec<String> {
    let mut ids: Vec<String> = engine
        .matching_rules(&parse(&event.to_string()))
        .into_iter()
        .map(str::to_owned)
        .collect();
    ids.sort();
    ids
}

/// The corpus JSON line of `file` whose `path` equals `want`.
fn corpus_json(file: &str, path: &str, want: &str) -> Value {
    let text = std::fs::read_to_string(format!("{CORPUS}/formats/{file}")).expect("corpus");
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| {
            v.pointer(path)
                .map(|x| x.as_str().map_or(x.to_string(), str::to_owned))
                .as_deref()
                == Some(want)
        })
        .unwrap_or_else(|| panic!("{file}: no line with {path} = {want}"))
}

/// evtx_dump's JSON for an event of `channel` with this id and `data` (`EventData` or
/// `UserData`), its header as PyPI `evtx` prints it.
fn evtx(provider: &str, channel: &str, id: u32, data: Value) -> Value {
    let mut event = json!({"Event": {
        "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
        "System": {
            "Provider": {"#attributes": {"Name": provider}},
            "EventID": id, "Version": 0, "Level": 4, "Task": 0, "Opcode": 0,
            "Keywords": "0x8000000000000000",
            "TimeCreated": {"#attributes": {"SystemTime": "2026-03-15T03:58:01.123456Z"}},
            "EventRecordID": 48213,
            "Execution": {"#attributes": {"ProcessID": 1088, "ThreadID": 3600}},
            "Channel": channel, "Computer": "WS01.corp.example",
            "Security": {"#attributes": {"UserID": "S-1-5-18"}}}}});
    let obj = event["Event"].as_object_mut().expect("object");
    for (k, v) in data.as_object().expect("data").clone() {
        obj.insert(k, v);
    }
    event
}

const CHANGEPK_UAC_BYPASS: &str = "503d581c-7df0-4bbe-b9be-5840c0ecc1fc";

/// Security 4688 reaches process_creation rules: Image is NewProcessName, ParentImage
/// ParentProcessName, and the rule's `IntegrityLevel: High` the 4688 MandatoryLabel SID.
#[test]
fn security_4688_reaches_process_creation_rules() {
    let engine = windows_engine();
    // The real corpus 4688 line (taskhostw.exe started by svchost.exe) fires nothing.
    let real = corpus_json("windows-nxlog.ndjson", "/EventID", "4688");
    assert_eq!(fired(engine, &real), Vec::<String>::new());
    // Made the changepk.exe UAC bypass: slui.exe starting changepk.exe with a high label.
    let mut nxlog = real.clone();
    nxlog["NewProcessName"] = json!(r"C:\Windows\System32\changepk.exe");
    nxlog["ParentProcessName"] = json!(r"C:\Windows\System32\slui.exe");
    nxlog["CommandLine"] = json!("changepk.exe");
    nxlog["MandatoryLabel"] = json!("S-1-16-12288");
    assert_eq!(fired(engine, &nxlog), [CHANGEPK_UAC_BYPASS]);
    // A medium label is not what the rule looks for.
    let mut medium = nxlog.clone();
    medium["MandatoryLabel"] = json!("S-1-16-8192");
    assert_eq!(fired(engine, &medium), Vec::<String>::new());
    // The same event as evtx_dump and as Winlogbeat print it.
    let mut data = nxlog.as_object().expect("object").clone();
    for k in [
        "EventTime",
        "Hostname",
        "Keywords",
        "EventType",
        "SeverityValue",
        "Severity",
    ] {
        data.remove(k);
    }
    for k in [
        "EventID",
        "SourceName",
        "ProviderGuid",
        "Version",
        "Task",
        "OpcodeValue",
    ] {
        data.remove(k);
    }
    for k in [
        "RecordNumber",
        "ProcessID",
        "ThreadID",
        "Channel",
        "EventReceivedTime",
    ] {
        data.remove(k);
    }
    data.remove("SourceModuleName");
    data.remove("SourceModuleType");
    let data = Value::Object(data);
    let evtx = evtx(
        "Microsoft-Windows-Security-Auditing",
        "Security",
        4688,
        json!({ "EventData": data }),
    );
    assert_eq!(fired(engine, &evtx), [CHANGEPK_UAC_BYPASS]);
    let winlogbeat = json!({"winlog": {"event_id": "4688", "channel": "Security",
        "provider_name": "Microsoft-Windows-Security-Auditing",
        "computer_name": "WS01.corp.example", "event_data": data}});
    assert_eq!(fired(engine, &winlogbeat), [CHANGEPK_UAC_BYPASS]);
    // As a Sysmon event 1 (its own names) the rule fires too; as a 4688 in another channel not.
    let sysmon = json!({"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
        "SourceName": "Microsoft-Windows-Sysmon", "Hostname": "WS01",
        "Image": r"C:\Windows\System32\changepk.exe",
        "ParentImage": r"C:\Windows\System32\slui.exe", "IntegrityLevel": "High"});
    assert!(fired(engine, &sysmon).contains(&CHANGEPK_UAC_BYPASS.to_owned()));
    let mut elsewhere = nxlog.clone();
    elsewhere["Channel"] = json!("Application");
    assert_eq!(fired(engine, &elsewhere), Vec::<String>::new());
}

const WMI_CLEAR_EVENTLOG: &str = "d4f1a2b3-7c8e-4d5f-b6a9-1e0c2d3f4e5b";

/// WMI-Activity 5858 keeps its data under `Event.UserData.Operation_ClientFailure` (evtx_dump)
/// or `winlog.user_data` (Winlogbeat): rules read it as `Operation`, `ResultCode` ...
#[test]
fn user_data_is_read_under_the_rules_names() {
    let engine = windows_engine();
    // Microsoft's 5858 template (Operation_ClientFailure), as evtx_dump prints it.
    let failure = json!({
        "#attributes": {"xmlns": "http://manifests.microsoft.com/win/2006/windows/WMI"},
        "Id": "{5A2BB7F3-6C3E-0000-4D3B-2B5A3E6CD901}",
        "ClientMachine": "WS01",
        "User": r"CORP\alice",
        "ClientProcessId": 4242,
        "Component": "Unknown",
        "Operation": r"Start IWbemServices::ExecMethod - root\cimv2 : Win32_NTEventlogFile.Name='C:\Windows\System32\Config\Security.evtx'::ClearEventlog",
        "ResultCode": "0x80041003",
        "PossibleCause": "Unknown"});
    let channel = "Microsoft-Windows-WMI-Activity/Operational";
    let provider = "Microsoft-Windows-WMI-Activity";
    let event = evtx(
        provider,
        channel,
        5858,
        json!({"UserData": {"Operation_ClientFailure": failure}}),
    );
    assert_eq!(fired(engine, &event), [WMI_CLEAR_EVENTLOG]);
    let parsed = parse(&event.to_string());
    assert_eq!(
        parsed.get("ResultCode").and_then(|v| v.as_str()),
        Some("0x80041003")
    );
    // The vendor's key stays as sent.
    assert!(
        parsed
            .get("Event.UserData.Operation_ClientFailure.Operation")
            .is_some()
    );
    // Winlogbeat drops the element: winlog.user_data.*.
    let mut data = failure.clone();
    data.as_object_mut().expect("object").remove("#attributes");
    data["xml_name"] = json!("Operation_ClientFailure");
    let winlogbeat = json!({"winlog": {"event_id": 5858, "channel": channel,
        "provider_name": provider, "computer_name": "WS01", "user_data": data}});
    assert_eq!(fired(engine, &winlogbeat), [WMI_CLEAR_EVENTLOG]);
    // Another operation fails the same way and fires nothing.
    let mut other = event.clone();
    other["Event"]["UserData"]["Operation_ClientFailure"]["Operation"] =
        json!(r"Start IWbemServices::ExecQuery - root\cimv2 : select * from Win32_Process");
    assert_eq!(fired(engine, &other), Vec::<String>::new());
}

const DEFENDER_AMSI: &str = "ea9bf0fa-edec-4fb8-8b78-b119f2528186";
const DEFENDER_THREAT: &str = "57b649ef-ff42-4fb0-8bf6-62da243a1708";

/// Defender 1116 names its data with spaces (`Source Name`, `Threat Name`): rules read them
/// without (`SourceName`).
#[test]
fn data_names_with_spaces_meet_the_rules_names() {
    let engine = windows_engine();
    // Microsoft's documented 1116 fields (MALWAREPROTECTION_STATE_MALWARE_DETECTED).
    let data = json!({
        "Product Name": "Microsoft Defender Antivirus", "Product Version": "4.18.24090.11",
        "Detection ID": "{A6B8C3F1-6A8E-4C9E-9D5B-2C1E0F3A7B11}",
        "Detection Time": "2026-03-15T03:58:00.512Z", "Threat ID": "2147725325",
        "Threat Name": "Trojan:PowerShell/Mimikatz.A", "Severity ID": "5",
        "Severity Name": "Severe", "Category ID": "8", "Category Name": "Trojan",
        "FWLink": "https://go.microsoft.com/fwlink/?linkid=37020&name=Trojan:PowerShell/Mimikatz.A&threatid=2147725325",
        "Status Code": "1", "Status Description": "", "State": "1", "Source ID": "10",
        "Source Name": "AMSI", "Process Name": r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        "Detection User": r"CORP\alice", "Path": "amsi:_\\Device\\HarddiskVolume3\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        "Origin ID": "0", "Origin Name": "Unknown", "Execution ID": "0",
        "Execution Name": "Unknown", "Type ID": "0", "Type Name": "Concrete",
        "Pre Execution Status": "0", "Action ID": "9", "Action Name": "Not Applicable",
        "Error Code": "0x00000000", "Error Description": "The operation completed successfully. ",
        "Post Clean Status": "0", "Additional Actions ID": "0",
        "Additional Actions String": "No additional actions required",
        "Remediation User": "", "Security intelligence Version": "AV: 1.421.181.0",
        "Engine Version": "AM: 1.1.24090.11"});
    let channel = "Microsoft-Windows-Windows Defender/Operational";
    let provider = "Microsoft-Windows-Windows Defender";
    let event = evtx(provider, channel, 1116, json!({ "EventData": data }));
    // The AMSI rule, and SigmaHQ's rule for every 1116 detection.
    let both = [DEFENDER_THREAT, DEFENDER_AMSI];
    let mut both: Vec<String> = both.iter().map(|s| s.to_string()).collect();
    both.sort();
    assert_eq!(fired(engine, &event), both);
    let winlogbeat = json!({"winlog": {"event_id": "1116", "channel": channel,
        "provider_name": provider, "computer_name": "WS01", "event_data": data}});
    assert_eq!(fired(engine, &winlogbeat), both);
    // Another source: only the generic rule.
    let mut scan = event.clone();
    scan["Event"]["EventData"]["Source Name"] = json!("Real-Time Protection");
    assert_eq!(fired(engine, &scan), [DEFENDER_THREAT]);
}

const IVANTI_EPMM: &str = "41956f7c-7a6b-46d6-b6bb-da6eb2e83fbe";

/// `cs-uri-stem` and `cs-uri-query` in one selection both read `url.original`: each stays its
/// own condition, ANDed, as pySigma combines them.
#[test]
fn webserver_rules_use_stem_and_query_in_one_selection() {
    let web = [
        "rules-emerging-threats/2025/Exploits/CVE-2025-4427/web_invanti_epmm_cve_2025_4427_and_cve_2025_4428.yml",
        "rules-emerging-threats/2023/Exploits/CVE-2023-46214/web_cve_2023_46214_rce_splunk_enterprise_poc.yml",
    ];
    let mut sources: Vec<RuleSource> = web
        .iter()
        .map(|rel| {
            let path = format!("{CORPUS}/sigmahq/{rel}");
            RuleSource::new(*rel, std::fs::read_to_string(&path).expect("rule"))
        })
        .collect();
    let dir = format!("{CORPUS}/sigmahq/rules/web");
    let (more, _) = onewall_rules::read_rule_dir(std::path::Path::new(&dir)).expect("dir");
    sources.extend(more);
    let set = PipelineSet::shipped(&["webserver"]).expect("webserver");
    let (engine, report) = Engine::compile_with_pipelines(sources, &Placeholders::new(), &set);
    assert!(
        !report
            .errors
            .iter()
            .any(|e| e.to_string().contains("map to")),
        "{report}"
    );
    let line = |uri: &str| {
        format!(
            "203.0.113.7 - - [15/Mar/2026:03:58:01 +0000] \"GET {uri} HTTP/1.1\" 200 312 \"-\" \"python-requests/2.31.0\""
        )
    };
    let ids = |l: &str| -> Vec<String> {
        let e = parse(l);
        assert_eq!(
            e.get("log.format").and_then(|v| v.as_str()),
            Some("http_access")
        );
        engine
            .matching_rules(&e)
            .into_iter()
            .map(str::to_owned)
            .collect()
    };
    let attack = line("/mifs/rs/api/v2/featureusage?format=%24%7b7%2a7%7d");
    assert_eq!(ids(&attack), [IVANTI_EPMM]);
    // The path alone, or the query alone, is not the exploit.
    assert!(ids(&line("/mifs/rs/api/v2/featureusage?x=%7b7%2a7%7d")).is_empty());
    assert!(ids(&line("/index.php?format=%24%7b7%2a7%7d")).is_empty());
}
