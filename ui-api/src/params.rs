//! Query-string parsing with errors that name the parameter.
//!
//! Query strings are read as ordered pairs so that a parameter may repeat (`filter=a:1&filter=b:2`),
//! and an unknown parameter is refused rather than silently ignored.

use onewall_model::{RegionCode, Timestamp};

use crate::ApiError;

#[derive(Debug, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parse `raw` (without the `?`) and refuse parameters not in `known`.
    pub fn parse(raw: Option<&str>, known: &[&str]) -> Result<Params, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
            .map_err(|e| ApiError::invalid(format!("query string: {e}")))?;
        if let Some((k, _)) = pairs.iter().find(|(k, _)| !known.contains(&k.as_str())) {
            return Err(ApiError::invalid(format!(
                "unknown query parameter {k:?}; expected one of: {}",
                known.join(", ")
            )));
        }
        Ok(Params { pairs })
    }

    /// The single value of `name`; repeating it is an error.
    pub fn one(&self, name: &str) -> Result<Option<&str>, ApiError> {
        let mut it = self.pairs.iter().filter(|(k, _)| k == name);
        let first = it.next().map(|(_, v)| v.as_str());
        if it.next().is_some() {
            return Err(ApiError::invalid(format!("{name}: given more than once")));
        }
        Ok(first)
    }

    pub fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn time(&self, name: &str) -> Result<Option<Timestamp>, ApiError> {
        self.one(name)?
            .map(|v| {
                Timestamp::parse_rfc3339(v).map_err(|e| ApiError::invalid(format!("{name}: {e}")))
            })
            .transpose()
    }

    pub fn limit(&self) -> Result<usize, ApiError> {
        match self.one("limit")? {
            None => Ok(0),
            Some(v) => match v.parse::<usize>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(ApiError::invalid(format!(
                    "limit: expected a positive integer, got {v:?}"
                ))),
            },
        }
    }

    pub fn parsed<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, ApiError>
    where
        T::Err: std::fmt::Display,
    {
        self.one(name)?
            .map(|v| {
                v.parse::<T>()
                    .map_err(|e| ApiError::invalid(format!("{name}: {e}")))
            })
            .transpose()
    }

    /// `region=CODE`, parsed; the caller checks it against the tree and its own scope.
    pub fn region(&self) -> Result<Option<RegionCode>, ApiError> {
        self.parsed::<RegionCode>("region")
    }
}
