//! Grants: what a session or request may do, to which resources.
//!
//! With no auth configured every session is `admin` over every resource (one
//! trusted user on loopback). Token verification will produce narrower grants;
//! the checks below are already the ones every door asks.

use fillstack_protocol::{ErrorCode, Pattern, ResourceId};

use crate::error::Rejection;

pub mod token;

pub use token::{Audience, Claims, KeySource, TokenVerifier, Verified};

/// A role from the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// sub, get, history.
    Viewer,
    /// Also pub.
    Publisher,
    /// Everything: deletes and hub configuration too.
    Admin,
}

impl Role {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Publisher => "publisher",
            Self::Admin => "admin",
        }
    }
}

/// What a request wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// sub, get, history.
    Read,
    /// pub.
    Publish,
    /// delete.
    Delete,
}

impl Action {
    fn needs(self) -> Role {
        match self {
            Self::Read => Role::Viewer,
            Self::Publish => Role::Publisher,
            Self::Delete => Role::Admin,
        }
    }
}

/// The roles and resource scopes of one session or request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grants {
    roles: Vec<Role>,
    /// Patterns the holder may touch; `None` means every resource.
    scopes: Option<Vec<Pattern>>,
}

impl Grants {
    /// `roles` over `scopes` (`None`: every resource).
    pub fn new(roles: Vec<Role>, scopes: Option<Vec<Pattern>>) -> Self {
        Self { roles, scopes }
    }

    /// Everything, everywhere: the grants of every session when auth is off.
    pub fn admin() -> Self {
        Self {
            roles: vec![Role::Admin],
            scopes: None,
        }
    }

    /// The roles, for `welcome`.
    pub fn roles(&self) -> Vec<String> {
        self.roles
            .iter()
            .map(|role| role.as_str().to_owned())
            .collect()
    }

    fn has(&self, needed: Role) -> bool {
        self.roles.iter().any(|role| *role >= needed)
    }

    /// Whether `id` is inside the token's `res` (every id when it has none).
    pub fn covers(&self, id: &ResourceId) -> bool {
        self.scopes
            .as_ref()
            .is_none_or(|scopes| scopes.iter().any(|scope| scope.matches(id)))
    }

    /// May the holder do `action` to `resource`? Nobody but the hub writes
    /// `hub/**` and `alert/**` (nor rollups: see `Hub::check_writable`).
    pub fn allow(&self, action: Action, resource: &ResourceId) -> Result<(), Rejection> {
        if action != Action::Read
            && let Some(prefix) = crate::monitor::spec::reserved_prefix(resource)
        {
            return Err(Rejection::new(
                ErrorCode::Forbidden,
                format!("`{resource}` is under {prefix}/, which only the hub itself writes"),
            ));
        }
        let needed = action.needs();
        if !self.has(needed) {
            return Err(Rejection::new(
                ErrorCode::Forbidden,
                format!(
                    "{action:?} on `{resource}` needs the {} role",
                    needed.as_str()
                )
                .to_lowercase(),
            ));
        }
        if !self.covers(resource) {
            return Err(Rejection::new(
                ErrorCode::Forbidden,
                format!("the token's scope does not include `{resource}`"),
            ));
        }
        Ok(())
    }

    /// May the holder list resources? A list is never refused for its pattern: it
    /// holds the matching resources that `covers` allows, possibly none.
    pub fn allow_list(&self) -> Result<(), Rejection> {
        if self.has(Role::Viewer) {
            Ok(())
        } else {
            Err(Rejection::new(
                ErrorCode::Forbidden,
                "listing resources needs the viewer role",
            ))
        }
    }

    /// May the holder subscribe to `pattern`? Patterns wider than the scope are refused.
    pub fn allow_pattern(&self, pattern: &Pattern) -> Result<(), Rejection> {
        if !self.has(Role::Viewer) {
            return Err(Rejection::new(
                ErrorCode::Forbidden,
                "subscribing needs the viewer role",
            ));
        }
        let within = |scope: &Pattern| match (scope, pattern) {
            (Pattern::All, _) => true,
            (scope, Pattern::Exact(id)) => scope.matches(id),
            (
                Pattern::Descendants(outer),
                Pattern::Descendants(inner) | Pattern::Children(inner),
            ) => inner == outer || scope.matches(inner),
            (Pattern::Children(outer), Pattern::Children(inner)) => inner == outer,
            _ => false,
        };
        if self
            .scopes
            .as_ref()
            .is_none_or(|scopes| scopes.iter().any(within))
        {
            Ok(())
        } else {
            Err(Rejection::new(
                ErrorCode::Forbidden,
                format!("pattern `{pattern}` is wider than the token's scope"),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scoped(scopes: &[&str]) -> Grants {
        Grants::new(
            vec![Role::Viewer],
            Some(scopes.iter().map(|p| Pattern::parse(p).unwrap()).collect()),
        )
    }

    #[test]
    fn a_pattern_is_allowed_exactly_when_everything_it_matches_is_in_scope() {
        let grants = scoped(&["svc/**", "host/*", "job/nightly"]);
        for inside in [
            "svc/**",
            "svc/*",
            "svc/api/**",
            "svc/api/*",
            "svc/api",
            "host/*",
            "host/web-1",
            "job/nightly",
        ] {
            assert!(
                grants
                    .allow_pattern(&Pattern::parse(inside).unwrap())
                    .is_ok(),
                "{inside}"
            );
        }
        for outside in ["**", "svc", "host/**", "host/web-1/*", "job/*", "other/*"] {
            let error = grants
                .allow_pattern(&Pattern::parse(outside).unwrap())
                .unwrap_err();
            assert_eq!(
                error.message,
                format!("pattern `{outside}` is wider than the token's scope")
            );
        }
        assert!(Grants::admin().allow_pattern(&Pattern::All).is_ok());
    }
}
