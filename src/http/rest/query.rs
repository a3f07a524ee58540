//! The query strings of the REST routes: what each route takes, as the OpenAPI
//! document describes it, and how a query is read (unknown keys are refused, so a
//! misspelt parameter is never silently ignored).

use std::collections::BTreeMap;

use actix_web::HttpRequest;
use utoipa::IntoParams;

use crate::error::Rejection;

/// Query of the list route.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// An id, `p/*`, `p/**` or `**` (default). The list holds only the matching
    /// resources inside the token's `res`: a pattern wider than it, or partly or
    /// wholly outside it, gives those (possibly none), never 403.
    pub pattern: Option<String>,
    /// Only resources with this status.
    pub status: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Query of the history route.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Deltas with a greater seq (exclusive; default 0). After an answer with
    /// `more: true`, the seq of its last delta.
    pub since: Option<u64>,
    /// At most this many, 1 to 1000 (default 100); fewer when the answer is cut
    /// at 1 MiB (`more: true`).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u64>,
}

/// The query string as pairs, refusing keys the route does not know.
pub(super) fn query_pairs(
    request: &HttpRequest,
    known: &[&str],
) -> Result<BTreeMap<String, String>, Rejection> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(request.query_string())
        .map_err(|e| Rejection::invalid(format!("the query string is not valid: {e}")))?;
    let mut map = BTreeMap::new();
    for (key, value) in pairs {
        if !known.contains(&key.as_str()) {
            return Err(Rejection::invalid(format!(
                "unknown query parameter `{key}`; this route takes {}",
                known.join(", ")
            )));
        }
        map.insert(key, value);
    }
    Ok(map)
}

/// The whole number `key` holds, if the query has it.
pub(super) fn number(
    pairs: &BTreeMap<String, String>,
    key: &str,
) -> Result<Option<u64>, Rejection> {
    pairs
        .get(key)
        .map(|text| {
            text.parse()
                .map_err(|_| Rejection::invalid(format!("`{key}={text}` is not a whole number")))
        })
        .transpose()
}
