//! The monitoring routes: a resource's uptime, and the installed probes, alerts
//! and rollups (for dashboards).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::query::{number, query_pairs};
use super::{authorize, body, openapi};
use crate::auth::Action;
use crate::error::Rejection;
use crate::http::AppState;
use crate::monitor::spec::{Check, Format};
use crate::monitor::uptime::Report;
use crate::resource::messages::ReadUptime;
use crate::session::request::resource_id;

/// Query of the uptime route.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UptimeQuery {
    /// UTC days ending today, 1 to 90 (default 30).
    #[param(minimum = 1, maximum = 90)]
    pub days: Option<u64>,
}

/// Time per status per UTC day (`availability` = up / all time but maintenance;
/// time before the resource existed is not counted), with the total and the
/// last 24 hours at hour resolution.
#[utoipa::path(get, path = "/api/v1/uptime/{id}", tag = "monitoring",
    params(("id" = String, Path, description = "resource id, slashes included"), UptimeQuery),
    responses((status = 200, body = Report), (status = 400, body = openapi::ErrorBody),
        (status = 401, body = openapi::ErrorBody), (status = 403, body = openapi::ErrorBody),
        (status = 404, body = openapi::ErrorBody), (status = 429, body = openapi::ErrorBody),
        (status = 503, body = openapi::ErrorBody)))]
pub async fn uptime(
    request: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Rejection> {
    let pairs = query_pairs(&request, &["days"])?;
    let id = resource_id(&id)?;
    authorize(&request, &state)?.allow(Action::Read, &id)?;
    let days = number(&pairs, "days")?.unwrap_or(30);
    if !(1..=90).contains(&days) {
        return Err(Rejection::invalid(format!(
            "`days={days}` is out of range 1..=90"
        )));
    }
    let report = state
        .hub
        .ask(&id, |reply| ReadUptime { days, reply })
        .await?;
    Ok(body::reply(&request, StatusCode::OK, &report))
}

/// The installed monitoring (a probe's headers are never shown).
#[derive(Debug, Serialize, ToSchema)]
pub struct Monitoring {
    pub probes: Vec<ProbeView>,
    pub alerts: Vec<AlertView>,
    pub rollups: Vec<RollupView>,
}

/// One probe.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProbeView {
    pub resource: String,
    /// `http` or `tcp`.
    pub kind: &'static str,
    /// The URL (user and password left out) or `HOST:PORT`.
    pub target: String,
    pub interval_ms: u64,
    pub timeout_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub degraded_after_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<String>,
}

/// One alert rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertView {
    pub name: String,
    pub pattern: String,
    pub on: Vec<fillstack_protocol::Status>,
    pub after_ms: u64,
    /// `json` or `slack`.
    pub format: &'static str,
    pub flap_window_ms: u64,
    pub flap_max: u32,
}

/// One rollup.
#[derive(Debug, Serialize, ToSchema)]
pub struct RollupView {
    pub resource: String,
    pub pattern: String,
}

fn ms(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// A URL without its `user:password@`.
fn without_credentials(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority
                .rsplit_once('@')
                .map_or(authority, |(_, host)| host);
            format!("{scheme}://{host}{path}")
        }
        None => url.to_owned(),
    }
}

/// The probes, alerts and rollups the hub runs; probes and rollups are listed
/// when the token's scope covers their resource.
#[utoipa::path(get, path = "/api/v1/monitoring", tag = "monitoring",
    responses((status = 200, body = Monitoring), (status = 401, body = openapi::ErrorBody),
        (status = 429, body = openapi::ErrorBody)))]
pub async fn monitoring(
    request: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Rejection> {
    query_pairs(&request, &[])?;
    let grants = authorize(&request, &state)?;
    let rules = state.hub.rules();
    let spec = &rules.spec;
    let view = Monitoring {
        probes: spec
            .probes
            .iter()
            .filter(|probe| grants.allow(Action::Read, &probe.resource).is_ok())
            .map(|probe| {
                let (expect_status, body_contains) = match &probe.check {
                    Check::Http {
                        expect_status,
                        body_contains,
                        ..
                    } => (*expect_status, body_contains.clone()),
                    Check::Tcp { .. } => (None, None),
                };
                ProbeView {
                    resource: probe.resource.to_string(),
                    kind: probe.check.kind(),
                    target: without_credentials(probe.check.target()),
                    interval_ms: ms(probe.interval),
                    timeout_ms: ms(probe.timeout),
                    degraded_after_ms: probe.degraded_after.map(ms),
                    expect_status,
                    body_contains,
                }
            })
            .collect(),
        alerts: spec
            .alerts
            .iter()
            .map(|alert| AlertView {
                name: alert.name.clone(),
                pattern: alert.pattern.to_string(),
                on: alert.on.clone(),
                after_ms: ms(alert.after),
                format: match alert.format {
                    Format::Json => "json",
                    Format::Slack => "slack",
                },
                flap_window_ms: ms(alert.flap_window),
                flap_max: alert.flap_max,
            })
            .collect(),
        rollups: spec
            .rollups
            .iter()
            .filter(|rollup| grants.allow(Action::Read, &rollup.resource).is_ok())
            .map(|rollup| RollupView {
                resource: rollup.resource.to_string(),
                pattern: rollup.pattern.to_string(),
            })
            .collect(),
    };
    Ok(body::reply(&request, StatusCode::OK, &view))
}

#[cfg(test)]
mod tests {
    #[test]
    fn credentials_never_leave_the_hub() {
        assert_eq!(
            super::without_credentials("http://u:secret@host:9/x?y"),
            "http://host:9/x?y"
        );
        assert_eq!(
            super::without_credentials("127.0.0.1:5432"),
            "127.0.0.1:5432"
        );
    }
}
