//! Severity, on Sigma's five levels.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ModelError;

/// How bad it is. Ordered: `Informational < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Informational,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Informational => "informational",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, ModelError> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ModelError::UnknownName {
                what: "severity",
                input: s.to_owned(),
                expected: "informational, low, medium, high, critical",
            })
    }
}

/// An incident's grade under GB/T 20986-2023: Ⅰ 特别重大 (most severe) to Ⅳ 一般. Ordered by
/// severity: `IV < III < II < I`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Grade {
    /// Ⅰ 特别重大 (especially major).
    I,
    /// Ⅱ 重大 (major).
    II,
    /// Ⅲ 较大 (large).
    III,
    /// Ⅳ 一般 (general).
    IV,
}

impl Grade {
    /// Every grade, most severe first.
    pub const ALL: [Grade; 4] = [Grade::I, Grade::II, Grade::III, Grade::IV];

    /// `I`, `II`, `III` or `IV`.
    pub fn as_str(self) -> &'static str {
        match self {
            Grade::I => "I",
            Grade::II => "II",
            Grade::III => "III",
            Grade::IV => "IV",
        }
    }

    /// The Roman numeral as written in Chinese documents: Ⅰ Ⅱ Ⅲ Ⅳ.
    pub fn numeral(self) -> &'static str {
        match self {
            Grade::I => "Ⅰ",
            Grade::II => "Ⅱ",
            Grade::III => "Ⅲ",
            Grade::IV => "Ⅳ",
        }
    }

    /// The grade's name: 特别重大, 重大, 较大, 一般.
    pub fn name_zh(self) -> &'static str {
        match self {
            Grade::I => "特别重大",
            Grade::II => "重大",
            Grade::III => "较大",
            Grade::IV => "一般",
        }
    }

    /// 4 for Ⅰ down to 1 for Ⅳ.
    pub fn rank(self) -> u8 {
        match self {
            Grade::I => 4,
            Grade::II => 3,
            Grade::III => 2,
            Grade::IV => 1,
        }
    }

    /// The grade an alert or incident has from its severity alone: critical → Ⅰ, high → Ⅱ,
    /// medium → Ⅲ, low and informational → Ⅳ.
    pub fn from_severity(severity: Severity) -> Grade {
        match severity {
            Severity::Critical => Grade::I,
            Severity::High => Grade::II,
            Severity::Medium => Grade::III,
            Severity::Low | Severity::Informational => Grade::IV,
        }
    }

    /// The severity a grade stands for (the most severe one [`Grade::from_severity`] maps to
    /// it): Ⅰ critical, Ⅱ high, Ⅲ medium, Ⅳ low.
    pub fn severity(self) -> Severity {
        match self {
            Grade::I => Severity::Critical,
            Grade::II => Severity::High,
            Grade::III => Severity::Medium,
            Grade::IV => Severity::Low,
        }
    }

    /// A grade as people write it, surrounding blanks ignored: `I`–`IV` (any case), `Ⅰ`–`Ⅳ`,
    /// or `1`–`4` (1 the most severe).
    pub fn parse(s: &str) -> Option<Grade> {
        match s.trim() {
            "1" => Some(Grade::I),
            "2" => Some(Grade::II),
            "3" => Some(Grade::III),
            "4" => Some(Grade::IV),
            t => Grade::ALL
                .into_iter()
                .find(|g| g.as_str().eq_ignore_ascii_case(t) || g.numeral() == t),
        }
    }

    /// The grade of a rank (clamped to 1..=4).
    pub fn from_rank(rank: u8) -> Grade {
        match rank {
            0 | 1 => Grade::IV,
            2 => Grade::III,
            3 => Grade::II,
            _ => Grade::I,
        }
    }
}

impl PartialOrd for Grade {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Grade {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.rank().cmp(&other.rank())
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Grade {
    type Err = ModelError;
    /// As [`Grade::parse`].
    fn from_str(s: &str) -> Result<Self, ModelError> {
        Grade::parse(s).ok_or_else(|| ModelError::UnknownName {
            what: "grade",
            input: s.to_owned(),
            expected: "I, II, III, IV",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades_read_from_severity_and_back() {
        assert_eq!(Grade::from_severity(Severity::Critical), Grade::I);
        assert_eq!(Grade::from_severity(Severity::High), Grade::II);
        assert_eq!(Grade::from_severity(Severity::Medium), Grade::III);
        assert_eq!(Grade::from_severity(Severity::Low), Grade::IV);
        assert_eq!(Grade::from_severity(Severity::Informational), Grade::IV);
        for g in Grade::ALL {
            assert_eq!(Grade::from_severity(g.severity()), g);
        }
    }

    #[test]
    fn grades_parse_in_every_spelling() {
        for (text, g) in [
            ("I", Grade::I),
            ("ii", Grade::II),
            (" III ", Grade::III),
            ("Ⅳ", Grade::IV),
            ("Ⅰ", Grade::I),
            ("1", Grade::I),
            ("4", Grade::IV),
        ] {
            assert_eq!(Grade::parse(text), Some(g), "{text:?}");
            assert_eq!(text.parse::<Grade>(), Ok(g), "{text:?}");
        }
        for bad in ["", "V", "0", "5", "high", "I I"] {
            assert_eq!(Grade::parse(bad), None, "{bad:?}");
            assert!(bad.parse::<Grade>().is_err(), "{bad:?}");
        }
    }
}
