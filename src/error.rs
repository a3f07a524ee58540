//! Rejection: the one user-facing error, rendered as an `error` frame on a socket
//! and as `{"error": {"code", "message"}}` with a status over HTTP.
//!
//! Module errors convert into it through `From`, choosing the code and a public
//! message and keeping the internal cause aside. Nothing is logged or counted on
//! the way: the two edges that answer (a socket's reply, a REST response) call
//! [`Rejection::report`], which counts it and logs it once, with its cause.

use std::time::Duration;

use actix_web::http::StatusCode;
use fillstack_protocol::{ErrorCode, FrameError, FrameErrorKind, RequestId, ServerFrame};

use crate::store::StoreError;

/// A refused request: what kind of refusal, and a message naming what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct Rejection {
    /// The contract's error code.
    pub code: ErrorCode,
    /// What was wrong, naming the value.
    pub message: String,
    /// When the client may retry (`rate_limited`, `unavailable`).
    pub retry_after: Option<Duration>,
    /// The request this answers, when known.
    pub request: Option<RequestId>,
    /// An HTTP status other than the code's usual one (415 for a body type).
    pub status: Option<StatusCode>,
    /// What went wrong inside, for the log only; never sent to the client.
    pub cause: Option<String>,
}

impl Rejection {
    /// A rejection with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after: None,
            request: None,
            status: None,
            cause: None,
        }
    }

    /// `bad_frame`: the frame's shape is wrong.
    pub fn bad_frame(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadFrame, message)
    }

    /// `invalid`: a value is out of range.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Invalid, message)
    }

    /// `not_found` for a resource id.
    pub fn not_found(resource: impl std::fmt::Display) -> Self {
        Self::new(
            ErrorCode::NotFound,
            format!("resource `{resource}` does not exist"),
        )
    }

    /// `unavailable`, retry after `retry_after`.
    pub fn unavailable(message: impl Into<String>, retry_after: Duration) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(ErrorCode::Unavailable, message)
        }
    }

    /// The same rejection, answered over HTTP with `status`.
    pub fn with_status(self, status: StatusCode) -> Self {
        Self {
            status: Some(status),
            ..self
        }
    }

    /// The same rejection, answering request `id`.
    pub fn answering(self, id: Option<RequestId>) -> Self {
        Self {
            request: id.or(self.request),
            ..self
        }
    }

    /// Counts the refusal and logs it: at warn with its cause when it is the hub's
    /// fault, at debug otherwise. Called once per refusal, by the edge that answers.
    pub fn report(&self) {
        crate::metrics::METRICS.rejected(self.code);
        if self.is_hub_fault() {
            tracing::warn!(code = self.code.as_str(), message = %self.message, cause = self.cause.as_deref().unwrap_or(""), "request failed");
        } else {
            tracing::debug!(code = self.code.as_str(), message = %self.message, "request refused");
        }
    }

    /// The `error` frame for a socket (rendering only; see [`Rejection::report`]).
    pub fn to_frame(&self) -> ServerFrame {
        ServerFrame::Error {
            id: self.request,
            code: self.code,
            message: self.message.clone(),
            retry_after_ms: self
                .retry_after
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        }
    }

    /// The HTTP status for the REST facade.
    pub fn http_status(&self) -> StatusCode {
        if let Some(status) = self.status {
            return status;
        }
        match self.code {
            ErrorCode::BadFrame | ErrorCode::Invalid => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Whether this is the hub's fault, to be logged with its cause.
    pub fn is_hub_fault(&self) -> bool {
        matches!(self.code, ErrorCode::Internal | ErrorCode::Unavailable)
    }
}

impl From<FrameError> for Rejection {
    fn from(error: FrameError) -> Self {
        debug_assert_eq!(
            error.kind,
            FrameErrorKind::Malformed,
            "undecodable bytes close the socket"
        );
        Self::bad_frame(error.message).answering(error.request)
    }
}

impl From<StoreError> for Rejection {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Busy => Self::unavailable(error.to_string(), Duration::from_millis(100)),
            other => Self {
                cause: Some(other.to_string()),
                ..Self::unavailable("the store cannot take changes now", Duration::from_secs(1))
            },
        }
    }
}

/// The REST rendering: `{"error": {"code", "message"}}`, the code's status, and
/// `Retry-After` when there is a time to wait. Reported here, once.
impl actix_web::ResponseError for Rejection {
    fn status_code(&self) -> StatusCode {
        self.http_status()
    }

    fn error_response(&self) -> actix_web::HttpResponse {
        self.report();
        let mut response = actix_web::HttpResponse::build(self.http_status());
        if let Some(wait) = self.retry_after {
            response.insert_header((
                "Retry-After",
                wait.as_secs_f64().ceil().max(1.0).to_string(),
            ));
        }
        let body = serde_json::json!({"error": {"code": self.code, "message": self.message}});
        response
            .content_type("application/json")
            .body(body.to_string())
    }
}
