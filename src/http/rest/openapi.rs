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
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    info(
        title = "FILLSTACK REST facade",
        description = "Snapshots, history, publish and delete over HTTP; uptime and the installed monitoring."
    ),
    paths(
        super::list,
        super::get_one,
        super::publish,
        super::delete,
        super::history,
        super::monitoring::uptime,
        super::monitoring::monitoring,
        super::status
    ),
    components(schemas(
        ResourcePage,
        crate::monitor::uptime::Report,
        crate::monitor::uptime::DayReport,
        crate::monitor::uptime::Summary,
        super::monitoring::Monitoring,
        super::monitoring::ProbeView,
        super::monitoring::AlertView,
        super::monitoring::RollupView,
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

/// Tokens travel as `Authorization: Bearer <JWT>` (needed when the hub has auth).
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .build();
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

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
