//! `GET /ws`: the WebSocket upgrade, taken out of actix-http's HTTP/1 dispatcher.
//!
//! actix-http hands every request whose head asks for a WebSocket (and every
//! `CONNECT`) to this service with the connection itself, before the `App` sees it.
//! So the checks the `App` would make are made here, in the same order: the gate
//! (`Host`, `Origin`), the route, the drain, the per-address upgrade limit, then the
//! handshake, the hub's session quota (`limits.sessions_total`) and the subprotocol.
//! A refusal is answered with the usual error body and the connection is closed;
//! an accepted upgrade gets its 101, and the bare TCP stream goes to a new
//! `SessionActor` with the bytes the client sent after its request. The
//! dispatcher's 8 KiB read and write buffers are dropped here rather than kept for
//! the socket's whole life.

use std::convert::Infallible;
use std::sync::atomic::Ordering;

use actix::{Actor, AsyncContext};
use actix_codec::Framed;
use actix_http::body::BodySize;
use actix_http::h1::{Codec as HttpCodec, Message};
use actix_http::header::{HeaderValue, SEC_WEBSOCKET_PROTOCOL};
use actix_http::{ConnectionType, Request, Response, ws};
use actix_web::rt::net::TcpStream;
use fillstack_protocol::{Codec, ErrorCode, SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK};
use futures_util::SinkExt;

use super::{AppState, gate};
use crate::error::Rejection;
use crate::limits::quota::ConnectionHold;
use crate::session::socket::{Connection, Frames};
use crate::session::{Credentials, SessionActor};

/// The only path that upgrades.
const PATH: &str = "/ws";

/// What the upgrade service is given: the request and the connection it came on.
pub type Upgrade = (Request, Framed<TcpStream, HttpCodec>);

/// Answers one upgrade request; its refusals are answered on the connection, so it
/// never fails.
pub async fn serve(state: AppState, (request, mut framed): Upgrade) -> Result<(), Infallible> {
    match accept(&state, &request) {
        Err(refusal) => {
            let _ = refuse(&mut framed, refusal).await;
        }
        Ok(Accepted {
            response,
            codec,
            seat,
        }) => {
            if framed
                .send(Message::Item((response, BodySize::None)))
                .await
                .is_ok()
            {
                start_session(&state, &request, codec, seat, framed);
            }
        }
    }
    Ok(())
}

/// A 101 to send, and the subprotocol it names.
struct Accepted {
    response: Response<()>,
    codec: Codec,
    /// Its unit of the hub's session quota, for the session's whole life.
    seat: ConnectionHold,
}

/// What refuses an upgrade: a rejection of the contract, or the handshake's own
/// answer (405 for a method other than GET, 426 for another WebSocket version).
enum Refusal {
    Rejected(Rejection),
    Handshake(ws::HandshakeError),
    Draining,
}

fn accept(state: &AppState, request: &Request) -> Result<Accepted, Refusal> {
    let head = request.head();
    if let Some(rejection) = gate::refusal(&head.headers, state) {
        return Err(Refusal::Rejected(rejection));
    }
    if head.uri.path() != PATH {
        return Err(Refusal::Rejected(Rejection::new(
            ErrorCode::NotFound,
            format!(
                "no WebSocket at {}: the hub's socket is {PATH}",
                head.uri.path()
            ),
        )));
    }
    if state.draining.load(Ordering::Acquire) {
        return Err(Refusal::Draining);
    }
    if let (Some(limits), Some(peer)) = (&state.limits, head.peer_addr) {
        limits.take_upgrade(peer.ip()).map_err(Refusal::Rejected)?;
    }
    let mut response = ws::handshake(head).map_err(Refusal::Handshake)?;
    let seat = state
        .hub
        .quotas()
        .admit_connection()
        .map_err(Refusal::Rejected)?;
    // The first of our subprotocols the client offers; MessagePack when none.
    let offer = offered(request);
    let codec = offer.unwrap_or(Codec::MsgPack);
    if let Some(protocol) = offer {
        response.insert_header((
            SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(protocol.subprotocol()),
        ));
    }
    match response.message_body(()) {
        Ok(response) => Ok(Accepted {
            response,
            codec,
            seat,
        }),
        Err(error) => Err(Refusal::Rejected(Rejection::new(
            ErrorCode::Internal,
            format!("could not build the upgrade's answer: {error}"),
        ))),
    }
}

/// The first of our subprotocols in the client's `Sec-WebSocket-Protocol` offers.
fn offered(request: &Request) -> Option<Codec> {
    request
        .head()
        .headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|offers| offers.split(','))
        .map(str::trim)
        .find(|offer| [SUBPROTOCOL_MSGPACK, SUBPROTOCOL_JSON].contains(offer))
        .and_then(Codec::from_subprotocol)
}

/// Writes the refusal and its body; the connection closes when `framed` is dropped.
async fn refuse(
    framed: &mut Framed<TcpStream, HttpCodec>,
    refusal: Refusal,
) -> Result<(), actix_http::error::DispatchError> {
    let response: Response<actix_http::body::BoxBody> = match refusal {
        Refusal::Rejected(rejection) => actix_web::ResponseError::error_response(&rejection).into(),
        Refusal::Handshake(error) => handshake_refusal(error),
        Refusal::Draining => Response::with_body(
            actix_http::StatusCode::SERVICE_UNAVAILABLE,
            "the hub is shutting down\n",
        )
        .map_into_boxed_body(),
    };
    let (mut head, body) = response.into_parts();
    let body = actix_http::body::to_bytes(body).await.unwrap_or_default();
    head.head_mut().set_connection_type(ConnectionType::Close);
    framed
        .send(Message::Item((head, BodySize::Sized(body.len() as u64))))
        .await?;
    if !body.is_empty() {
        framed.send(Message::Chunk(Some(body))).await?;
    }
    Ok(())
}

/// actix-http's answer to a bad handshake (its status and headers: `Allow` on a
/// 405, the version wanted on a 426), with the usual error body naming the problem.
fn handshake_refusal(error: ws::HandshakeError) -> Response<actix_http::body::BoxBody> {
    let plain: Response<actix_http::body::BoxBody> = error.into();
    let rejection = Rejection {
        status: Some(plain.status()),
        ..Rejection::new(
            ErrorCode::Invalid,
            format!("the WebSocket handshake is invalid: {error}"),
        )
    };
    let mut response: Response<actix_http::body::BoxBody> =
        actix_web::ResponseError::error_response(&rejection).into();
    for (name, value) in plain.headers() {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

/// Starts the session on the upgraded connection.
fn start_session(
    state: &AppState,
    request: &Request,
    codec: Codec,
    seat: ConnectionHold,
    framed: Framed<TcpStream, HttpCodec>,
) {
    let parts = framed.into_parts();
    // The client may have sent its first frames right behind the request.
    let first = parts.read_buf;
    let connection = Connection::new(parts.io);
    let limit = state.sessions.max_frame_bytes;
    let frames = Frames::new(connection.clone(), &first, limit);
    drop(first);
    let credentials = Credentials {
        verifier: state.auth.clone(),
        upgrade_token: super::bearer_token(&request.head().headers),
        limits: state
            .limits
            .as_ref()
            .map(|limits| Box::new(limits.for_session())),
        peer: request.peer_addr(),
    };
    let session = SessionActor::new(
        state.hub.clone(),
        connection,
        codec,
        state.sessions.clone(),
        credentials,
        seat,
    );
    let frames = crate::session::gate::Gated::new(frames, session.outbox().clone());
    SessionActor::create(move |ctx| {
        ctx.add_stream(frames);
        session
    });
}
