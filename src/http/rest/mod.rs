//! The REST facade: snapshots, history, publish and delete over HTTP, for scripts.
//!
//! Handlers translate between HTTP and the same resource actors the sockets use, and
//! answer errors with the same `Rejection`. Every route is described in the OpenAPI
//! document (`/api/openapi.json`), generated from the annotations below.

use actix_web::http::StatusCode;
use actix_web::http::header::{ETAG, IF_NONE_MATCH};
use actix_web::{HttpRequest, HttpResponse, web};
use fillstack_protocol::{
    ErrorCode, FieldChanges, HistoryEntry, LabelChanges, Pattern, ResourceId, SnapshotFrame, Status,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub mod body;
mod monitoring;
pub mod openapi;
mod query;

use super::AppState;
use crate::auth::{Action, Grants};
use crate::error::Rejection;
use crate::limits::Writer;
use crate::resource::ask;
use crate::resource::messages::{Publish, ReadHistory, Remove, TakeSnapshot};
use crate::session::request::{check_change, history_limit, resource_id};

pub use monitoring::UptimeQuery;
pub use openapi::ApiDoc;
pub use query::{HistoryQuery, ListQuery};
use query::{number, query_pairs};

/// Registers every REST route.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/api/v1/resources", web::get().to(list))
        .route("/api/v1/resources/{id:.*}", web::get().to(get_one))
        .route("/api/v1/resources/{id:.*}", web::post().to(publish))
        .route("/api/v1/resources/{id:.*}", web::delete().to(delete))
        .route("/api/v1/history/{id:.*}", web::get().to(history))
        .route("/api/v1/uptime/{id:.*}", web::get().to(monitoring::uptime))
        .route("/api/v1/monitoring", web::get().to(monitoring::monitoring))
        .route("/api/v1/status", web::get().to(status))
        .route("/api/openapi.json", web::get().to(openapi::document));
}

/// One page of snapshots.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ResourcePage {
    /// Snapshots in resource id order. A page examines at most 10 000 ids, so a
    /// filter that matches few may give fewer than `limit`, even none, with a
    /// `next_cursor` to go on: follow it until it is `null`.
    pub resources: Vec<SnapshotFrame>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A publish body: the keys of a `pub` frame.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct PublishBody {
    /// The new status.
    pub status: Option<String>,
    /// Fields to set; `null` removes one. At most 64; names match
    /// `[A-Za-z0-9][A-Za-z0-9_.:-]*` (1 to 64 bytes); strings are at most 256 bytes
    /// and floats finite; others are refused 400 `invalid`.
    #[schema(inline)]
    pub fields: Option<FieldChanges>,
    /// Labels to set; `null` removes one. At most 32; names as for fields, values
    /// at most 256 bytes.
    #[schema(inline)]
    pub labels: Option<LabelChanges>,
    /// Time to live, ms; 0 clears it.
    pub ttl_ms: Option<u64>,
}

/// The answer to a publish: the resource's seq once the change is durable.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Published {
    /// The seq after the publish.
    pub seq: u64,
}

/// Deltas of one resource.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HistoryPage {
    /// The resource id.
    pub resource: String,
    /// Deltas after `since`, oldest first.
    pub deltas: Vec<HistoryEntry>,
    /// False when older deltas were no longer kept.
    pub complete: bool,
    /// True when the answer was cut to stay within 1 MiB: ask again with `since` =
    /// the seq of its last delta. Absent (false) on the last part.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub more: bool,
}

/// Largest encoded history answer, in bytes (amended "Liveness, bounds and resume").
pub const MAX_HISTORY_ANSWER_BYTES: usize = 1024 * 1024;

/// The hub's own figures.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HubStatus {
    /// The hub's version.
    pub version: String,
    /// Seconds since start.
    pub uptime_s: u64,
    /// This node's id.
    pub node: String,
    /// Every node of the cluster (this one alone without a broker).
    pub nodes: Vec<String>,
    /// Live WebSocket sessions.
    pub sessions: u64,
    /// (session, pattern) subscriptions.
    pub subscriptions: u64,
    /// Resources that exist.
    pub resources: u64,
}

/// The grants of the request's bearer token (everything when no auth is configured).
/// When rate limits are on, spends one request of the caller's address budget before
/// the token is read (a bad token costs a signature check, so it must be limited
/// too), then one of the token subject's budget.
fn authorize(request: &HttpRequest, state: &AppState) -> Result<Grants, Rejection> {
    authorize_writer(request, state).map(|(grants, _)| grants)
}

/// [`authorize`], and who writes: the token's subject, or anonymous with no auth.
fn authorize_writer(
    request: &HttpRequest,
    state: &AppState,
) -> Result<(Grants, Writer), Rejection> {
    if let (Some(limits), Some(peer)) = (&state.limits, request.peer_addr()) {
        limits.take_rest_ip(peer.ip())?;
    }
    let Some(verifier) = &state.auth else {
        return Ok((Grants::admin(), Writer::Anonymous));
    };
    let token = super::bearer_token(request.headers()).ok_or_else(|| {
        Rejection::new(
            ErrorCode::Unauthorized,
            "this hub requires Authorization: Bearer <token>",
        )
    })?;
    let verified = verifier.verify(&token, crate::resource::now_ms() / 1000)?;
    if let Some(limits) = &state.limits {
        limits.take_rest(&verified.subject)?;
    }
    Ok((
        verified.grants,
        Writer::Subject(verified.subject.as_str().into()),
    ))
}

/// Snapshots of the resources matching `pattern`, in id order, paginated by id.
///
/// Only resources inside the token's `res`: a pattern wider than it, or outside
/// it, gives those that are inside (possibly none), never 403. Each page examines
/// at most 10 000 ids, so its cost is bounded: a sparse filter may answer fewer
/// than `limit` resources (even none) with a `next_cursor`; only `null` ends the list.
#[utoipa::path(get, path = "/api/v1/resources", params(ListQuery), tag = "resources",
    responses((status = 200, body = ResourcePage), (status = 401, body = openapi::ErrorBody), (status = 403, body = openapi::ErrorBody), (status = 429, body = openapi::ErrorBody), (status = 400, body = openapi::ErrorBody),
        (status = 503, body = openapi::ErrorBody)))]
pub async fn list(
    request: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Rejection> {
    let pairs = query_pairs(&request, &["pattern", "status", "limit", "cursor"])?;
    let pattern = Pattern::parse(pairs.get("pattern").map_or("**", String::as_str))
        .map_err(|e| Rejection::invalid(e.to_string()))?;
    let status = pairs
        .get("status")
        .map(|text| {
            Status::parse(text).ok_or_else(|| {
                Rejection::invalid(format!(
                    "status `{text}` is not one of up, degraded, down, unknown, stale, maintenance"
                ))
            })
        })
        .transpose()?;
    let limit = history_limit(number(&pairs, "limit")?)?;
    let cursor = pairs
        .get("cursor")
        .map(|text| {
            ResourceId::parse(text).map_err(|_| {
                Rejection::invalid(format!("cursor `{text}` is not one this hub gave"))
            })
        })
        .transpose()?;
    let grants = authorize(&request, &state)?;
    grants.allow_list()?;
    // A list shows what the token may read (amended "Auth"): a pattern wider than
    // `res`, or partly outside it, is narrowed to `res`, never refused. A page
    // examines at most LIST_SCAN_BUDGET ids; a sparse filter may end it early,
    // with fewer than `limit` resources and a cursor to go on.
    let page = state.hub.list_page(
        &pattern,
        cursor.as_ref(),
        limit,
        crate::hub::LIST_SCAN_BUDGET,
        |id, current| grants.covers(id) && status.is_none_or(|status| status == current),
    );
    let mut resources = Vec::with_capacity(page.found.len());
    for chunk in page.found.chunks(64) {
        let asks = chunk
            .iter()
            .map(|(_, actor)| ask(actor, |reply| TakeSnapshot { reply }));
        for (snapshot, (id, _)) in futures_util::future::join_all(asks)
            .await
            .into_iter()
            .zip(chunk)
        {
            // A resource deleted since the scan is left out (its actor may have
            // retired meanwhile); a busy one fails the page (503, retry) rather
            // than be left out silently.
            let snapshot = match snapshot {
                Err(rejection) if rejection.code == ErrorCode::NotFound => None,
                Err(_) if state.hub.find(id).is_none() => None,
                other => Some(other?),
            };
            // Its status may have changed since the scan: the filter holds for what is shown.
            resources.extend(snapshot.filter(|s| status.is_none_or(|status| s.status == status)));
        }
    }
    let next_cursor = page.next.map(|id| id.to_string());
    Ok(body::reply(
        &request,
        StatusCode::OK,
        &ResourcePage {
            resources,
            next_cursor,
        },
    ))
}

/// One resource's snapshot; `ETag` is its seq, and `If-None-Match` with it answers 304.
#[utoipa::path(get, path = "/api/v1/resources/{id}", tag = "resources",
    params(("id" = String, Path, description = "resource id, slashes included")),
    responses((status = 200, body = SnapshotFrame), (status = 401, body = openapi::ErrorBody), (status = 403, body = openapi::ErrorBody), (status = 429, body = openapi::ErrorBody), (status = 304), (status = 400, body = openapi::ErrorBody),
        (status = 404, body = openapi::ErrorBody), (status = 503, body = openapi::ErrorBody)))]
pub async fn get_one(
    request: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Rejection> {
    let id = resource_id(&id)?;
    authorize(&request, &state)?.allow(Action::Read, &id)?;
    let snapshot = state.hub.ask(&id, |reply| TakeSnapshot { reply }).await?;
    let etag = format!("\"{}\"", snapshot.seq);
    let unchanged = request
        .headers()
        .get(IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .map(str::trim)
                .any(|tag| tag == etag || tag == "*" || tag.trim_start_matches("W/") == etag)
        });
    if unchanged {
        return Ok(HttpResponse::NotModified()
            .insert_header((ETAG, etag))
            .finish());
    }
    let mut response = body::reply(&request, StatusCode::OK, &snapshot);
    response.headers_mut().insert(
        ETAG,
        etag.parse()
            .map_err(|_| Rejection::new(ErrorCode::Internal, "bad etag"))?,
    );
    Ok(response)
}

/// Publishes a change; answers once it is durable. Creates the resource if needed.
///
/// Resources under `hub/` and `alert/`, and rollups, are written by the hub
/// alone: 403 for every token.
#[utoipa::path(post, path = "/api/v1/resources/{id}", tag = "resources", request_body = PublishBody,
    params(("id" = String, Path, description = "resource id, slashes included")),
    responses((status = 200, body = Published), (status = 401, body = openapi::ErrorBody), (status = 403, body = openapi::ErrorBody), (status = 429, body = openapi::ErrorBody), (status = 400, body = openapi::ErrorBody),
        (status = 413, body = openapi::ErrorBody), (status = 415, body = openapi::ErrorBody),
        (status = 503, body = openapi::ErrorBody)))]
pub async fn publish(
    request: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Rejection> {
    let id = resource_id(&id)?;
    let (grants, by) = authorize_writer(&request, &state)?;
    grants.allow(Action::Publish, &id)?;
    state.hub.check_writable(&id)?;
    let body: PublishBody = body::read(&request, payload).await?;
    let change = check_change(
        body.status.as_deref(),
        body.fields,
        body.labels,
        body.ttl_ms,
    )?;
    let actor = state.hub.find_or_create(&id);
    let seq = ask(&actor, |reply| Publish { change, by, reply }).await?;
    Ok(body::reply(&request, StatusCode::OK, &Published { seq }))
}

/// Deletes a resource; subscribers get `removed`. Its seq lives on.
///
/// Needs the admin role; resources under `hub/` and `alert/`, and rollups, are
/// never deleted this way (403).
#[utoipa::path(delete, path = "/api/v1/resources/{id}", tag = "resources",
    params(("id" = String, Path, description = "resource id, slashes included")),
    responses((status = 204), (status = 401, body = openapi::ErrorBody), (status = 403, body = openapi::ErrorBody), (status = 429, body = openapi::ErrorBody), (status = 400, body = openapi::ErrorBody), (status = 404, body = openapi::ErrorBody),
        (status = 503, body = openapi::ErrorBody)))]
pub async fn delete(
    request: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Rejection> {
    let id = resource_id(&id)?;
    authorize(&request, &state)?.allow(Action::Delete, &id)?;
    state.hub.check_writable(&id)?;
    state.hub.ask(&id, |reply| Remove { reply }).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Deltas of one resource after `since`.
///
/// An answer stays within 1 MiB: one that had to be cut says `more: true`; ask
/// again with `since` = the seq of its last delta.
#[utoipa::path(get, path = "/api/v1/history/{id}", tag = "resources", params(("id" = String, Path), HistoryQuery),
    responses((status = 200, body = HistoryPage), (status = 401, body = openapi::ErrorBody), (status = 403, body = openapi::ErrorBody), (status = 429, body = openapi::ErrorBody), (status = 400, body = openapi::ErrorBody),
        (status = 404, body = openapi::ErrorBody), (status = 503, body = openapi::ErrorBody)))]
pub async fn history(
    request: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Rejection> {
    let pairs = query_pairs(&request, &["since", "limit"])?;
    let id = resource_id(&id)?;
    authorize(&request, &state)?.allow(Action::Read, &id)?;
    let since = number(&pairs, "since")?.unwrap_or(0);
    let limit = history_limit(number(&pairs, "limit")?)?;
    let page = state
        .hub
        .ask(&id, |reply| ReadHistory {
            since,
            limit,
            reply,
        })
        .await?;
    let page = history_within_bound(
        body::Encoding::accepted(&request).codec(),
        id.to_string(),
        page,
    );
    Ok(body::reply(&request, StatusCode::OK, &page))
}

/// The answer for `read`, cut so that it encodes to at most
/// `MAX_HISTORY_ANSWER_BYTES` with `codec`.
fn history_within_bound(
    codec: fillstack_protocol::Codec,
    resource: String,
    read: crate::resource::messages::HistoryPage,
) -> HistoryPage {
    let mut page = HistoryPage {
        resource,
        deltas: Vec::new(),
        complete: read.complete,
        more: true,
    };
    // The envelope is measured with `more` and an empty list; each delta then costs
    // its own bytes plus one, which covers a JSON comma or the growth of a
    // MessagePack array header (1, 3 or 5 bytes) with room to spare.
    let room =
        MAX_HISTORY_ANSWER_BYTES.saturating_sub(crate::session::cut::encoded_len(codec, &page));
    let (deltas, more) = crate::session::cut::cut_to_bytes(read.entries, room, |entry| {
        crate::session::cut::encoded_len(codec, entry) + 1
    });
    page.deltas = deltas;
    page.more = more;
    page
}

/// The hub's version, uptime and counts.
#[utoipa::path(get, path = "/api/v1/status", tag = "hub", responses((status = 200, body = HubStatus), (status = 401, body = openapi::ErrorBody), (status = 429, body = openapi::ErrorBody)))]
pub async fn status(
    request: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Rejection> {
    authorize(&request, &state)?;
    let hub = &state.hub;
    let status = HubStatus {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        uptime_s: state.started.elapsed().as_secs(),
        node: state.node.clone(),
        nodes: hub
            .cluster()
            .map_or_else(|| vec![state.node.clone()], crate::cluster::Cluster::nodes),
        sessions: hub.session_count() as u64,
        subscriptions: hub.subscription_count() as u64,
        resources: hub.resource_count() as u64,
    };
    Ok(body::reply(&request, StatusCode::OK, &status))
}
