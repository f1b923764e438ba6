//! [`Text`]: an immutable string that is either a `&'static str`, owned, or shared, so the
//! names parsers set on every event ("tcp", "network", a collector's name) cost no allocation
//! per event. It dereferences to `str` and compares, hashes, orders and serializes as one.

use std::borrow::{Borrow, Cow};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An immutable string: static, owned or shared (see the module's doc).
#[derive(Clone)]
pub enum Text {
    /// A constant: no allocation, clones copy a pointer.
    Static(&'static str),
    /// Allocated for this value.
    Owned(Box<str>),
    /// Shared between values: clones bump a count.
    Shared(Arc<str>),
}

impl Text {
    /// A constant string.
    pub const fn from_static(s: &'static str) -> Self {
        Text::Static(s)
    }

    pub fn as_str(&self) -> &str {
        match self {
            Text::Static(s) => s,
            Text::Owned(s) => s,
            Text::Shared(s) => s,
        }
    }

    /// The same text, cheap to clone from now on.
    pub fn shared(s: &str) -> Self {
        Text::Shared(Arc::from(s))
    }
}

impl Default for Text {
    fn default() -> Self {
        Text::Static("")
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for Text {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text::Owned(s.into())
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Self {
        Text::Owned(s.as_str().into())
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text::Owned(s.into_boxed_str())
    }
}

impl From<Box<str>> for Text {
    fn from(s: Box<str>) -> Self {
        Text::Owned(s)
    }
}

impl From<Arc<str>> for Text {
    fn from(s: Arc<str>) -> Self {
        Text::Shared(s)
    }
}

impl From<Cow<'_, str>> for Text {
    fn from(s: Cow<'_, str>) -> Self {
        Text::Owned(s.into())
    }
}

impl From<Text> for String {
    fn from(t: Text) -> Self {
        t.as_str().to_owned()
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Text::from(String::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_kind_is_the_same_string() {
        let kinds = [
            Text::from_static("tcp"),
            Text::from("tcp"),
            Text::shared("tcp"),
        ];
        for a in &kinds {
            for b in &kinds {
                assert_eq!(a, b);
                assert_eq!(a.cmp(b), Ordering::Equal);
            }
            assert_eq!(&**a, "tcp");
            assert_eq!(serde_json::to_string(a).unwrap(), "\"tcp\"");
        }
        let set: HashSet<Text> = kinds.iter().cloned().collect();
        assert_eq!(set.len(), 1);
        assert!(set.contains("tcp"));
        let back: Text = serde_json::from_str("\"udp\"").unwrap();
        assert_eq!(back, "udp");
        let (a, b) = (Text::from("a"), Text::from_static("b"));
        assert!(a < b);
    }
}
