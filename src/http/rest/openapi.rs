//! The OpenAPI 3 document of the REST facade, generated from the handlers'
//! annotations, so it cannot drift from the routes.

use actix_web::HttpResponse;
use fillstack_protocol::{
    DeltaFrame, ErrorCode, HistoryEntry, RemovedFrame, Scalar, SnapshotFrame, Status,
};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use super::{HistoryPage, HubStatus, PublishBody, Published, ResourcePage};

/// `{"error": {"code", "message"}}`
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

/// What went wrong.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    code: ErrorCode,
    message: String,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "FILLSTACK REST facade",
        description = "Snapshots, history, publish and delete over HTTP."
    ),
    paths(
        super::list,
        super::get_one,
        super::publish,
        super::delete,
        super::history,
        super::status
    ),
    components(schemas(
        ResourcePage,
        PublishBody,
        Published,
        HistoryPage,
        HubStatus,
        ErrorBody,
        ErrorDetail,
        ErrorCode,
        SnapshotFrame,
        DeltaFrame,
        RemovedFrame,
        HistoryEntry,
        Status,
        Scalar
    ))
)]
pub struct ApiDoc;

/// `GET /api/openapi.json`
pub async fn document() -> HttpResponse {
    match ApiDoc::openapi().to_json() {
        Ok(json) => HttpResponse::Ok()
            .content_type("application/json")
            .body(json),
        Err(error) => {
            tracing::error!(%error, "the OpenAPI document did not serialize");
            HttpResponse::InternalServerError().finish()
        }
    }
}
