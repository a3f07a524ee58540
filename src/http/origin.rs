//! Which browser origins may open `/ws` and call the REST facade from a page: the
//! hub's own origin, any localhost origin, and the configured list. Requests with no
//! `Origin` (scripts, agents) are not browsers and are not checked here.

/// Whether a page at `origin` may talk to a hub reached as `host` (the `Host` header).
pub fn is_allowed(origin: &str, host: Option<&str>, allowed: &[String]) -> bool {
    let origin = origin.trim_end_matches('/');
    if allowed
        .iter()
        .any(|entry| entry.trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    if !matches!(scheme, "http" | "https") {
        return false;
    }
    if host.is_some_and(|host| host.eq_ignore_ascii_case(authority)) {
        return true;
    }
    let name = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority
            .rsplit_once(':')
            .map_or(authority, |(name, _)| name),
    };
    matches!(name, "localhost" | "127.0.0.1" | "::1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hubs_own_origin_localhost_and_the_list_are_allowed_and_nothing_else() {
        let list = vec!["https://status.example.org".to_owned()];
        assert!(is_allowed(
            "http://hub.internal:8080",
            Some("hub.internal:8080"),
            &[]
        ));
        assert!(is_allowed(
            "http://localhost:5173",
            Some("hub.internal:8080"),
            &[]
        ));
        assert!(is_allowed("http://127.0.0.1:3000", None, &[]));
        assert!(is_allowed("http://[::1]:3000", None, &[]));
        assert!(is_allowed(
            "https://status.example.org/",
            Some("hub.internal"),
            &list
        ));
        assert!(!is_allowed(
            "https://evil.example.com",
            Some("hub.internal:8080"),
            &list
        ));
        assert!(!is_allowed("http://localhost.evil.com", None, &[]));
        assert!(!is_allowed(
            "http://hub.internal:9999",
            Some("hub.internal:8080"),
            &[]
        ));
        assert!(!is_allowed("null", Some("hub.internal:8080"), &[]));
        assert!(!is_allowed("file://localhost", None, &[]));
    }
}
