//! Body format names, as `log.format` and a listener's `format_hint` spell them.

use std::fmt;
use std::str::FromStr;

/// A body format, by the name it has in `log.format` and in a listener's `format_hint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BodyFormat {
    /// ArcSight CEF.
    Cef,
    /// IBM QRadar LEEF 1.0 and 2.0.
    Leef,
    /// FortiGate `key=value`.
    Fortigate,
    /// Venustech (启明星辰) `MODULE: SerialNum=.. GenTime=".." Key=Value`.
    Venustech,
    /// Topsec (天融信) NGTOS `id="NGTOS" key="value"`.
    Topsec,
    /// Leadsec (网御) `devid=.. dname=themis key=value`.
    Leadsec,
    /// Huawei USG `%%01MODULE/severity/BRIEF(l): Key=Value,`.
    HuaweiUsg,
    /// H3C Comware `%%10MODULE/severity/MNEMONIC: Key(code)=value;`.
    H3c,
    /// Sangfor AF `日志类型:..., 源IP:...`.
    Sangfor,
    /// Hillstone StoneOS `Type@MODULE: SESSION: ...`.
    Hillstone,
    /// Cisco ASA and FTD `%ASA-n-nnnnnn:`.
    CiscoAsa,
    /// Palo Alto PAN-OS CSV.
    Paloalto,
    /// nginx and Apache access logs (common, combined, vhost_combined).
    HttpAccess,
    /// nginx and Apache error logs.
    HttpError,
    /// Linux sshd, su, sudo, cron, useradd and PAM messages.
    LinuxAuth,
    /// PostgreSQL pgAudit `AUDIT: SESSION|OBJECT,...`.
    Pgaudit,
    /// MySQL Enterprise Audit JSON.
    MysqlAudit,
    /// Windows events: Winlogbeat/ECS JSON, NXLog JSON, evtx_dump JSON.
    Windows,
    /// Any other `key=value` body.
    Kv,
}

impl BodyFormat {
    pub const ALL: &'static [BodyFormat] = &[
        BodyFormat::Cef,
        BodyFormat::Leef,
        BodyFormat::Fortigate,
        BodyFormat::Venustech,
        BodyFormat::Topsec,
        BodyFormat::Leadsec,
        BodyFormat::HuaweiUsg,
        BodyFormat::H3c,
        BodyFormat::Sangfor,
        BodyFormat::Hillstone,
        BodyFormat::CiscoAsa,
        BodyFormat::Paloalto,
        BodyFormat::HttpAccess,
        BodyFormat::HttpError,
        BodyFormat::LinuxAuth,
        BodyFormat::Pgaudit,
        BodyFormat::MysqlAudit,
        BodyFormat::Windows,
        BodyFormat::Kv,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BodyFormat::Cef => "cef",
            BodyFormat::Leef => "leef",
            BodyFormat::Fortigate => "fortigate",
            BodyFormat::Venustech => "venustech",
            BodyFormat::Topsec => "topsec",
            BodyFormat::Leadsec => "leadsec",
            BodyFormat::HuaweiUsg => "huawei_usg",
            BodyFormat::H3c => "h3c",
            BodyFormat::Sangfor => "sangfor",
            BodyFormat::Hillstone => "hillstone",
            BodyFormat::CiscoAsa => "cisco_asa",
            BodyFormat::Paloalto => "paloalto",
            BodyFormat::HttpAccess => "http_access",
            BodyFormat::HttpError => "http_error",
            BodyFormat::LinuxAuth => "linux_auth",
            BodyFormat::Pgaudit => "pgaudit",
            BodyFormat::MysqlAudit => "mysql_audit",
            BodyFormat::Windows => "windows",
            BodyFormat::Kv => "kv",
        }
    }
}

impl fmt::Display for BodyFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A format name that is not one of [`BodyFormat::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown format {0:?}: expected one of cef, leef, fortigate, venustech, topsec, leadsec, huawei_usg, h3c, sangfor, hillstone, cisco_asa, paloalto, http_access, http_error, linux_auth, pgaudit, mysql_audit, windows, kv"
)]
pub struct UnknownFormat(pub String);

impl FromStr for BodyFormat {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Self, UnknownFormat> {
        let lower = s.to_ascii_lowercase().replace('-', "_");
        BodyFormat::ALL
            .iter()
            .copied()
            .find(|f| f.as_str() == lower)
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}
