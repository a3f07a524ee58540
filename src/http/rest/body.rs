//! Content negotiation for the REST facade: JSON by default, MessagePack when the
//! request says `application/msgpack` (`Content-Type` for bodies, `Accept` for answers).

use actix_web::http::StatusCode;
use actix_web::http::header::{ACCEPT, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::BytesMut;
use fillstack_protocol::ErrorCode;
use futures_util::StreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Rejection;

const MSGPACK: &str = "application/msgpack";

/// Largest request body, bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The two body encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Json,
    MsgPack,
}

impl Encoding {
    /// What the client wants back.
    pub fn accepted(request: &HttpRequest) -> Self {
        let accept = request
            .headers()
            .get(ACCEPT)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        if accept.contains(MSGPACK) && !accept.contains("application/json") {
            Self::MsgPack
        } else {
            Self::Json
        }
    }

    /// The wire codec that writes this encoding.
    pub fn codec(self) -> fillstack_protocol::Codec {
        match self {
            Self::Json => fillstack_protocol::Codec::Json,
            Self::MsgPack => fillstack_protocol::Codec::MsgPack,
        }
    }

    /// What the client sent; anything but JSON or MessagePack is 415, and so is
    /// a body with no `Content-Type` (a cross-site page can send one without a
    /// preflight; it cannot send `application/json` without one).
    fn of_body(request: &HttpRequest) -> Result<Self, Rejection> {
        let Some(value) = request.headers().get(CONTENT_TYPE) else {
            return Err(Rejection::new(
                ErrorCode::BadFrame,
                "a request body needs a Content-Type: application/json or application/msgpack",
            )
            .with_status(StatusCode::UNSUPPORTED_MEDIA_TYPE));
        };
        let media = value
            .to_str()
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match media.as_str() {
            "application/json" => Ok(Self::Json),
            MSGPACK => Ok(Self::MsgPack),
            other => Err(Rejection::new(
                ErrorCode::BadFrame,
                format!("Content-Type `{other}` is not supported; send application/json or application/msgpack"),
            )
            .with_status(StatusCode::UNSUPPORTED_MEDIA_TYPE)),
        }
    }
}

/// Reads and decodes a body of at most `MAX_BODY_BYTES`.
pub async fn read<T: DeserializeOwned>(
    request: &HttpRequest,
    mut payload: web::Payload,
) -> Result<T, Rejection> {
    let encoding = Encoding::of_body(request)?;
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| Rejection::bad_frame(format!("the body could not be read: {e}")))?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(Rejection::new(
                ErrorCode::TooLarge,
                format!("the body is larger than {MAX_BODY_BYTES} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    let codec = encoding.codec();
    // The same shape checks as socket frames: a map, bounded nesting, nothing after it.
    codec
        .decode(&body)
        .map_err(|error| Rejection::bad_frame(format!("the body is not valid: {}", error.message)))
}

/// An answer with `status` and `value` in the encoding the client accepts.
pub fn reply<T: Serialize>(request: &HttpRequest, status: StatusCode, value: &T) -> HttpResponse {
    let encoding = Encoding::accepted(request);
    let media = match encoding {
        Encoding::Json => "application/json",
        Encoding::MsgPack => MSGPACK,
    };
    HttpResponse::build(status)
        .content_type(media)
        .body(encoding.codec().encode(value))
}
