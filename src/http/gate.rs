//! The gate every request passes before routing: with no auth configured the
//! `Host` must name this machine (a DNS-rebinding page names its own host), and a
//! browser request from an origin that is not allowed is refused whatever its
//! method, not only at a CORS preflight (a "simple" cross-site POST sends none).

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HOST, HeaderMap, ORIGIN};
use actix_web::middleware::Next;
use actix_web::web;
use fillstack_protocol::ErrorCode;

use super::{AppState, origin};
use crate::error::Rejection;

/// Whether `host` (a `Host` header: name or address, maybe with a port) names a
/// loopback address or `localhost`.
pub fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// Whether `host` is one of `allowed` (with or without its port).
fn is_listed(host: &str, allowed: &[String]) -> bool {
    let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
    allowed
        .iter()
        .any(|entry| entry.eq_ignore_ascii_case(host) || entry.eq_ignore_ascii_case(name))
}

/// Why a request with `headers` is refused before routing, if it is (the
/// WebSocket upgrade asks too, before the handshake).
pub fn refusal(headers: &HeaderMap, state: &AppState) -> Option<Rejection> {
    let header = |name| {
        headers
            .get(name)
            .map(|value| value.to_str().unwrap_or("\u{fffd}"))
    };
    let host = header(HOST);
    if state.auth.is_none()
        && let Some(host) = host
        && !is_loopback_host(host)
        && !is_listed(host, &state.allowed_hosts)
    {
        return Some(Rejection::new(
            ErrorCode::Forbidden,
            format!(
                "host `{host}` is not this machine: with no auth configured the hub answers only \
                 loopback names and addresses; see --allowed-hosts"
            ),
        ));
    }
    if let Some(page) = header(ORIGIN)
        && !origin::is_allowed(page, host, &state.allowed_origins)
    {
        return Some(Rejection::new(
            ErrorCode::Forbidden,
            format!("origin `{page}` is not allowed; see --allowed-origins"),
        ));
    }
    None
}

/// The middleware: refuses with 403 and the usual error body, or passes on.
pub async fn gate(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let refused = request
        .app_data::<web::Data<AppState>>()
        .and_then(|state| refusal(request.headers(), state));
    if let Some(rejection) = refused {
        rejection.report();
        let response = actix_web::ResponseError::error_response(&rejection);
        return Ok(request.into_response(response).map_into_right_body());
    }
    Ok(next.call(request).await?.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_names_and_addresses_of_this_machine_only() {
        for host in [
            "localhost",
            "LOCALHOST:8080",
            "127.0.0.1",
            "127.0.0.2:80",
            "[::1]:8080",
            "[::1]",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "rebind.evil.example:8080",
            "localhost.evil.example",
            "10.0.0.1",
            "[fe80::1]:80",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
        let listed = vec!["hub.internal".to_owned()];
        assert!(is_listed("hub.internal:8080", &listed));
        assert!(!is_listed("hub.internal.evil:8080", &listed));
    }
}
