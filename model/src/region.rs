//! GB/T 2260 administrative regions and the tree they form.
//!
//! The tree is data, not arithmetic: `419001` (Jiyuan) is a city whose code does not end in
//! `00`, so the parent of a code cannot be derived from its digits. The built-in tree (Henan
//! and its cities) is `data/regions.tsv`; a node's configuration adds its counties.
//!
//! A code the tree does not hold is placed by its digits, as GB/T 2260 lays them out (`XXYYZZ`
//! under `XXYY00` under `XX0000`), until it meets a known region: a province node need not be
//! told each county of each city to accept the county alerts a city relays.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ModelError;

/// A six-digit GB/T 2260 code such as `410000` (Henan) or `410102` (a Zhengzhou district).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegionCode(u32);

impl RegionCode {
    /// Henan province, the default node region.
    pub const HENAN: RegionCode = RegionCode(410000);

    pub fn new(code: u32) -> Result<Self, ModelError> {
        if (110000..=999999).contains(&code) {
            Ok(RegionCode(code))
        } else {
            Err(ModelError::RegionCode {
                input: code.to_string(),
                reason: "expected a six-digit GB/T 2260 code",
            })
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// The region above `code` by GB/T 2260's digit layout: a county's city, a city's province;
/// `None` for a province.
fn by_digits(code: RegionCode) -> Option<RegionCode> {
    let c = code.get();
    let up = if !c.is_multiple_of(100) {
        c / 100 * 100
    } else if !c.is_multiple_of(10_000) {
        c / 10_000 * 10_000
    } else {
        return None;
    };
    RegionCode::new(up).ok()
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}", self.0)
    }
}

impl FromStr for RegionCode {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, ModelError> {
        if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ModelError::RegionCode {
                input: s.to_owned(),
                reason: "expected six digits",
            });
        }
        let n: u32 = s.parse().map_err(|_| ModelError::RegionCode {
            input: s.to_owned(),
            reason: "expected six digits",
        })?;
        RegionCode::new(n).map_err(|_| ModelError::RegionCode {
            input: s.to_owned(),
            reason: "expected a six-digit GB/T 2260 code",
        })
    }
}

impl Serialize for RegionCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RegionCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            N(u32),
            S(String),
        }
        match Repr::deserialize(d)? {
            Repr::N(n) => RegionCode::new(n),
            Repr::S(s) => s.parse(),
        }
        .map_err(serde::de::Error::custom)
    }
}

/// A region's level in the three-level monitoring tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegionLevel {
    Province,
    City,
    County,
}

impl RegionLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            RegionLevel::Province => "province",
            RegionLevel::City => "city",
            RegionLevel::County => "county",
        }
    }
}

impl FromStr for RegionLevel {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, ModelError> {
        match s {
            "province" => Ok(RegionLevel::Province),
            "city" => Ok(RegionLevel::City),
            "county" => Ok(RegionLevel::County),
            _ => Err(ModelError::UnknownName {
                what: "region level",
                input: s.to_owned(),
                expected: "province, city, county",
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Region {
    pub code: RegionCode,
    pub parent: Option<RegionCode>,
    pub level: RegionLevel,
    pub name: String,
    /// Name in Latin letters, when known.
    pub name_en: Option<String>,
}

/// The regions a node knows, as a tree.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegionTree {
    regions: BTreeMap<RegionCode, Region>,
}

const BUILTIN: &str = include_str!("../data/regions.tsv");

impl RegionTree {
    /// Henan and its 19 city-level regions, from `data/regions.tsv`.
    pub fn builtin() -> Self {
        // The built-in data is checked by a unit test, so this cannot fail at run time.
        Self::from_tsv(BUILTIN).unwrap_or_default()
    }

    /// Read `code<TAB>parent<TAB>level<TAB>name[<TAB>name_en]` lines; `#` starts a comment and
    /// `-` is "no parent". Parents must come before their children.
    pub fn from_tsv(text: &str) -> Result<Self, ModelError> {
        let mut tree = RegionTree::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |reason: String| ModelError::RegionTree {
                code: format!("line {}", n + 1),
                reason,
            };
            let cols: Vec<&str> = line.split('\t').collect();
            if cols.len() < 4 {
                return Err(bad(
                    "expected code, parent, level, name separated by tabs".into()
                ));
            }
            let code: RegionCode = cols[0]
                .parse()
                .map_err(|e: ModelError| bad(e.to_string()))?;
            let parent = match cols[1] {
                "-" | "" => None,
                p => Some(p.parse().map_err(|e: ModelError| bad(e.to_string()))?),
            };
            let level = cols[2]
                .parse()
                .map_err(|e: ModelError| bad(e.to_string()))?;
            tree.add(Region {
                code,
                parent,
                level,
                name: cols[3].to_owned(),
                name_en: cols.get(4).map(|s| s.to_string()),
            })?;
        }
        Ok(tree)
    }

    /// Add a region. Its parent must be known and one level up (a county under a city, a city
    /// under a province); a code may be added once.
    pub fn add(&mut self, region: Region) -> Result<(), ModelError> {
        let err = |reason: String| ModelError::RegionTree {
            code: region.code.to_string(),
            reason,
        };
        if self.regions.contains_key(&region.code) {
            return Err(err("already defined".into()));
        }
        match (region.parent, region.level) {
            (None, RegionLevel::Province) => {}
            (None, level) => {
                return Err(err(format!("a {} needs a parent", level.as_str())));
            }
            (Some(p), level) => {
                let Some(parent) = self.regions.get(&p) else {
                    return Err(err(format!("parent {p} is not a known region")));
                };
                let expected = match parent.level {
                    RegionLevel::Province => RegionLevel::City,
                    RegionLevel::City => RegionLevel::County,
                    RegionLevel::County => {
                        return Err(err(format!(
                            "parent {p} is a county, which has no children"
                        )));
                    }
                };
                if level != expected {
                    return Err(err(format!(
                        "a {} cannot sit under {} {p}",
                        level.as_str(),
                        parent.level.as_str()
                    )));
                }
            }
        }
        self.regions.insert(region.code, region);
        Ok(())
    }

    pub fn get(&self, code: RegionCode) -> Option<&Region> {
        self.regions.get(&code)
    }

    pub fn contains(&self, code: RegionCode) -> bool {
        self.regions.contains_key(&code)
    }

    pub fn parent(&self, code: RegionCode) -> Option<RegionCode> {
        self.regions.get(&code)?.parent
    }

    pub fn children(&self, code: RegionCode) -> impl Iterator<Item = &Region> {
        self.regions
            .values()
            .filter(move |r| r.parent == Some(code))
    }

    /// `code` itself, then its parent, up to the root. A code not in the tree goes up by its
    /// digits until it reaches one that is (see the module's doc).
    pub fn ancestors(&self, code: RegionCode) -> impl Iterator<Item = RegionCode> + '_ {
        let mut next = Some(code);
        std::iter::from_fn(move || {
            let cur = next?;
            next = if self.contains(cur) {
                self.parent(cur)
            } else {
                by_digits(cur)
            };
            Some(cur)
        })
    }

    /// The nearest region that holds both `a` and `b` (either itself when it holds the other):
    /// where a record about both belongs, so that a user scoped to one of them does not see
    /// the other's part. Codes with no common region (two provinces) give `a`.
    pub fn common_ancestor(&self, a: RegionCode, b: RegionCode) -> RegionCode {
        self.ancestors(a)
            .find(|x| self.is_within(b, *x))
            .unwrap_or(a)
    }

    /// True when `code` is `ancestor` or lies in its subtree.
    pub fn is_within(&self, code: RegionCode, ancestor: RegionCode) -> bool {
        self.ancestors(code).any(|c| c == ancestor)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Region> {
        self.regions.values()
    }

    pub fn len(&self) -> usize {
        self.regions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.regions.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_ancestor_follows_the_tree() {
        let t = RegionTree::builtin();
        let code = |c| RegionCode::new(c).unwrap();
        // Two cities: the province. A city and its own county: the city.
        assert_eq!(t.common_ancestor(code(410100), code(410200)), code(410000));
        assert_eq!(t.common_ancestor(code(410102), code(410100)), code(410100));
        assert_eq!(t.common_ancestor(code(410100), code(410102)), code(410100));
        // Two counties of one city (not in the tree: placed by their digits).
        assert_eq!(t.common_ancestor(code(410102), code(410105)), code(410100));
        // Jiyuan's code does not end in 00, yet it is a city of Henan.
        assert_eq!(t.common_ancestor(code(419001), code(410100)), code(410000));
        // No common region: the first.
        assert_eq!(t.common_ancestor(code(420100), code(410100)), code(420100));
        assert_eq!(t.common_ancestor(code(410100), code(410100)), code(410100));
    }

    fn code(s: &str) -> RegionCode {
        s.parse().unwrap()
    }

    #[test]
    fn builtin_tree_has_henan_and_its_cities() {
        let t = RegionTree::from_tsv(BUILTIN).expect("built-in region data must load");
        assert_eq!(t.len(), 20);
        assert_eq!(t.get(code("410000")).unwrap().level, RegionLevel::Province);
        let cities: Vec<_> = t
            .children(code("410000"))
            .map(|r| r.code.to_string())
            .collect();
        // The plan's 19 city-level units: 17 prefecture cities, Jiyuan and the Airport Zone.
        assert_eq!(cities.len(), 19);
        assert!(cities.contains(&"411700".to_string()));
        // Jiyuan: not derivable from its digits, known from data.
        let jiyuan = t.get(code("419001")).unwrap();
        assert_eq!(jiyuan.level, RegionLevel::City);
        assert_eq!(jiyuan.parent, Some(code("410000")));
        // The Zhengzhou Airport Economy Zone: its code reads as a Zhengzhou district, but the
        // province administers it directly, so Zhengzhou's users do not see it.
        let zone = t.get(code("410173")).unwrap();
        assert_eq!(zone.level, RegionLevel::City);
        assert_eq!(zone.parent, Some(code("410000")));
        assert!(!t.is_within(code("410173"), code("410100")));
        assert_eq!(
            t.common_ancestor(code("410173"), code("410102")),
            code("410000")
        );
    }

    #[test]
    fn counties_are_added_under_cities_only() {
        let mut t = RegionTree::builtin();
        let county = |c: &str, p: &str| Region {
            code: code(c),
            parent: Some(code(p)),
            level: RegionLevel::County,
            name: "x".into(),
            name_en: None,
        };
        t.add(county("410102", "410100")).unwrap();
        assert!(t.is_within(code("410102"), code("410000")));
        assert!(t.is_within(code("410102"), code("410100")));
        assert!(!t.is_within(code("410102"), code("410200")));
        assert_eq!(
            t.ancestors(code("410102"))
                .map(|c| c.to_string())
                .collect::<Vec<_>>(),
            ["410102", "410100", "410000"]
        );
        // Not in the tree: placed by its digits up to a known region.
        assert!(t.is_within(code("410105"), code("410100")));
        assert!(!t.is_within(code("410105"), code("410200")));
        assert!(t.is_within(code("410105"), code("410000")));
        assert_eq!(
            t.ancestors(code("410305"))
                .map(|c| c.to_string())
                .collect::<Vec<_>>(),
            ["410305", "410300", "410000"]
        );
        assert!(!t.is_within(code("420102"), code("410000")));
        let e = t.add(county("410102", "410100")).unwrap_err().to_string();
        assert!(e.contains("already defined"), "{e}");
        let e = t.add(county("410199", "410999")).unwrap_err().to_string();
        assert!(e.contains("parent 410999 is not a known region"), "{e}");
        let e = t.add(county("410198", "410000")).unwrap_err().to_string();
        assert!(e.contains("county cannot sit under province"), "{e}");
    }

    #[test]
    fn codes_parse_strictly() {
        assert!("41010".parse::<RegionCode>().is_err());
        assert!("4101OO".parse::<RegionCode>().is_err());
        assert_eq!(code("410100").to_string(), "410100");
        let j: RegionCode = serde_json::from_str("410100").unwrap();
        assert_eq!(j, code("410100"));
    }
}
