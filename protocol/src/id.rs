//! Resource ids and subscription patterns, validated once at the edge.

use std::fmt;
use std::sync::Arc;

/// Longest resource id, in bytes.
pub const MAX_ID_BYTES: usize = 128;
/// Most segments in a resource id.
pub const MAX_SEGMENTS: usize = 8;

/// Why a resource id or a pattern was refused; the message names the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IdError(String);

/// A valid resource id: 1 to 128 bytes, 1 to 8 segments joined by `/`, each
/// segment matching `[A-Za-z0-9][A-Za-z0-9_.:-]*`. Shared, so a clone (one per
/// delivery) allocates nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceId(Arc<str>);

impl ResourceId {
    /// Checks `id` against the contract's rules.
    pub fn parse(id: &str) -> Result<Self, IdError> {
        if id.is_empty() {
            return Err(IdError("resource id is empty".into()));
        }
        if id.len() > MAX_ID_BYTES {
            return Err(IdError(format!(
                "resource id is {} bytes; the limit is {MAX_ID_BYTES}",
                id.len()
            )));
        }
        let segments = id.split('/').count();
        if segments > MAX_SEGMENTS {
            return Err(IdError(format!(
                "resource id `{id}` has {segments} segments; the limit is {MAX_SEGMENTS}"
            )));
        }
        for segment in id.split('/') {
            check_segment(id, segment)?;
        }
        Ok(Self(id.into()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id's segments.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }
}

// Ids hash, compare and order as their text, so maps keyed by id can be
// searched (and range-scanned) with a `&str`.
impl std::borrow::Borrow<str> for ResourceId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn check_segment(whole: &str, segment: &str) -> Result<(), IdError> {
    let mut chars = segment.chars();
    let Some(first) = chars.next() else {
        return Err(IdError(format!(
            "resource id `{whole}` has an empty segment"
        )));
    };
    if !first.is_ascii_alphanumeric() {
        return Err(IdError(format!(
            "segment `{segment}` of `{whole}` must start with a letter or digit"
        )));
    }
    if let Some(bad) = chars.find(|c| !(c.is_ascii_alphanumeric() || "_.:-".contains(*c))) {
        return Err(IdError(format!(
            "segment `{segment}` of `{whole}` contains `{bad}`; allowed are letters, digits and _ . : -"
        )));
    }
    Ok(())
}

/// What a subscription watches: one id, the direct children of a prefix
/// (`prefix/*`), every descendant of a prefix (`prefix/**`), or everything (`**`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pattern {
    /// Exactly this resource.
    Exact(ResourceId),
    /// Resources one segment below the prefix.
    Children(ResourceId),
    /// Resources any number of segments below the prefix.
    Descendants(ResourceId),
    /// Every resource.
    All,
}

impl Pattern {
    /// Parses a pattern; the error names the pattern and what is wrong with it.
    pub fn parse(pattern: &str) -> Result<Self, IdError> {
        let explain = |reason: IdError| {
            IdError(format!(
                "pattern `{pattern}` is not an id, `p/*`, `p/**` or `**`: {reason}"
            ))
        };
        if pattern == "**" {
            return Ok(Self::All);
        }
        if let Some(prefix) = pattern.strip_suffix("/**") {
            return ResourceId::parse(prefix)
                .map(Self::Descendants)
                .map_err(explain);
        }
        if let Some(prefix) = pattern.strip_suffix("/*") {
            return ResourceId::parse(prefix)
                .map(Self::Children)
                .map_err(explain);
        }
        ResourceId::parse(pattern).map(Self::Exact).map_err(explain)
    }

    /// The prefix every id this pattern matches starts with (`""` for `**`).
    pub fn prefix(&self) -> String {
        match self {
            Self::All => String::new(),
            Self::Exact(id) => id.to_string(),
            Self::Children(prefix) | Self::Descendants(prefix) => format!("{prefix}/"),
        }
    }

    /// Whether `id` is watched by this pattern.
    pub fn matches(&self, id: &ResourceId) -> bool {
        match self {
            Self::All => true,
            Self::Exact(exact) => exact == id,
            Self::Children(prefix) => id
                .as_str()
                .strip_prefix(prefix.as_str())
                .and_then(|rest| rest.strip_prefix('/'))
                .is_some_and(|rest| !rest.contains('/')),
            Self::Descendants(prefix) => id
                .as_str()
                .strip_prefix(prefix.as_str())
                .is_some_and(|rest| rest.starts_with('/')),
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::All => f.write_str("**"),
            Self::Exact(id) => write!(f, "{id}"),
            Self::Children(prefix) => write!(f, "{prefix}/*"),
            Self::Descendants(prefix) => write!(f, "{prefix}/**"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> ResourceId {
        ResourceId::parse(text).unwrap()
    }

    #[test]
    fn ids_follow_the_contract() {
        for good in [
            "host/web-1",
            "svc/api/latency",
            "a",
            "A:1/b_2.c-d",
            "0/1/2/3/4/5/6/7",
        ] {
            assert!(ResourceId::parse(good).is_ok(), "{good} should be valid");
        }
        let long = "a".repeat(129);
        for (bad, says) in [
            ("", "empty"),
            ("a//b", "empty segment"),
            ("/a", "empty segment"),
            ("a/", "empty segment"),
            ("-a", "must start with a letter or digit"),
            ("a b", "contains ` `"),
            ("a/b/c/d/e/f/g/h/i", "9 segments; the limit is 8"),
            (long.as_str(), "129 bytes; the limit is 128"),
            ("é", "must start"),
        ] {
            let error = ResourceId::parse(bad).unwrap_err().to_string();
            assert!(
                error.contains(says),
                "`{bad}` gave `{error}`, wanted `{says}`"
            );
        }
    }

    #[test]
    fn patterns_match_ids_children_descendants_and_everything() {
        let exact = Pattern::parse("svc/api").unwrap();
        let children = Pattern::parse("svc/*").unwrap();
        let descendants = Pattern::parse("svc/**").unwrap();
        let all = Pattern::parse("**").unwrap();
        assert!(exact.matches(&id("svc/api")) && !exact.matches(&id("svc/api/x")));
        assert!(children.matches(&id("svc/api")));
        assert!(!children.matches(&id("svc/api/latency")));
        assert!(!children.matches(&id("svc")));
        assert!(!children.matches(&id("svcx/api")));
        assert!(descendants.matches(&id("svc/api/latency")));
        assert!(descendants.matches(&id("svc/api")));
        assert!(!descendants.matches(&id("svc")));
        assert!(!descendants.matches(&id("svc2/api")));
        assert!(all.matches(&id("anything/at/all")));
    }

    #[test]
    fn bad_patterns_name_the_pattern() {
        for bad in ["x/***", "*", "a/*/b", "", "/**"] {
            let error = Pattern::parse(bad).unwrap_err().to_string();
            assert!(error.contains(&format!("pattern `{bad}`")), "{error}");
        }
        assert_eq!(Pattern::parse("svc/**").unwrap().to_string(), "svc/**");
    }
}
