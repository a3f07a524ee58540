//! `GET /ws`: subprotocol choice, size limits, and the start of a `SessionActor`.

use std::sync::atomic::Ordering;

use actix::{Actor, AsyncContext};
use actix_web::http::header::{HOST, ORIGIN};
use actix_web::{HttpRequest, HttpResponse, web};
use fillstack_protocol::{Codec, ErrorCode, SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK};

use super::{AppState, framing, origin};
use crate::error::Rejection;
use crate::session::{Credentials, SessionActor};

/// Upgrades to a WebSocket speaking the first of our subprotocols the client
/// offers (MessagePack when it offers none of them).
pub async fn upgrade(
    request: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    if state.draining.load(Ordering::Acquire) {
        return Ok(HttpResponse::ServiceUnavailable().body("the hub is shutting down\n"));
    }
    // A page on another origin must not drive a user's session: refused before the upgrade.
    if let Some(page) = request
        .headers()
        .get(ORIGIN)
        .map(|value| value.to_str().unwrap_or(""))
    {
        let host = request
            .headers()
            .get(HOST)
            .and_then(|value| value.to_str().ok());
        if !origin::is_allowed(page, host, &state.allowed_origins) {
            let message = format!("origin `{page}` is not allowed; see --allowed-origins");
            return Err(Rejection::new(ErrorCode::Forbidden, message).into());
        }
    }
    if let (Some(limits), Some(peer)) = (&state.limits, request.peer_addr()) {
        limits.take_upgrade(peer.ip())?;
    }
    let upgrade_token = super::bearer_token(&request);
    let limit = state.sessions.max_frame_bytes;
    // Frame headers are checked on the raw bytes: the codec reports some RFC 6455
    // violations late or under the wrong error (see `framing`).
    let body = framing::scan_payload(&request, body, limit).await?;
    let (response, socket, stream) =
        actix_ws::handle_with_protocols(&request, body, &[SUBPROTOCOL_MSGPACK, SUBPROTOCOL_JSON])?;
    let codec = response
        .headers()
        .get(actix_web::http::header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|value| value.to_str().ok())
        .and_then(Codec::from_subprotocol)
        .unwrap_or(Codec::MsgPack);
    // One message is bounded however it is fragmented: frame and reassembly limits match.
    let stream = stream
        .max_frame_size(limit)
        .aggregate_continuations()
        .max_continuation_size(limit);
    let credentials = Credentials {
        verifier: state.auth.clone(),
        upgrade_token,
        limits: state.limits.as_ref().map(|limits| limits.for_session()),
        peer: request.peer_addr(),
    };
    let session = SessionActor::new(
        state.hub.clone(),
        socket,
        codec,
        state.sessions.clone(),
        credentials,
    );
    let stream = crate::session::gate::Gated::new(stream, session.outbox().clone());
    SessionActor::create(move |ctx| {
        ctx.add_stream(stream);
        session
    });
    Ok(response)
}
