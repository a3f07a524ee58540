//! The dashboard SPA, embedded in the binary from `frontend/dist` (a debug build
//! reads the folder at run time instead). Hashed assets are cached for a year;
//! everything else falls back to `index.html`. Every answer carries the browser
//! hardening headers: scripts only from this origin, no framing, no sniffing.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse};

use crate::error::Rejection;

#[derive(rust_embed::Embed)]
#[folder = "frontend/dist/"]
#[allow_missing = true]
struct Assets;

/// Emotion (MUI) injects `<style>` elements, hence `'unsafe-inline'` for styles
/// only; scripts come from this origin alone.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
     form-action 'self'";

const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>FILLSTACK</title>\
<p>The hub is running, but this binary was built without the dashboard.\
 Build it with <code>npm --prefix frontend ci && npm --prefix frontend run build</code>, then rebuild the hub\
 (<code>scripts/serve</code> does both).";

/// `GET` of any path no other route took: an asset, or the SPA's `index.html`.
pub async fn serve(request: HttpRequest) -> Result<HttpResponse, Rejection> {
    let path = request.path().trim_start_matches('/');
    let is_read = matches!(
        *request.method(),
        actix_web::http::Method::GET | actix_web::http::Method::HEAD
    );
    if path.starts_with("api/") || !is_read {
        return Err(Rejection::new(
            fillstack_protocol::ErrorCode::NotFound,
            format!("no route {} {}", request.method(), request.path()),
        ));
    }
    let (name, file) = match Assets::get(path).filter(|_| !path.is_empty()) {
        Some(file) => (path, file),
        None => match Assets::get("index.html") {
            Some(file) => ("index.html", file),
            None => {
                return Ok(hardened(HttpResponse::Ok())
                    .content_type("text/html; charset=utf-8")
                    .body(NOT_BUILT));
            }
        },
    };
    let cache = if name.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    Ok(hardened(HttpResponse::Ok())
        .insert_header((CONTENT_TYPE, file.metadata.mimetype()))
        .insert_header((CACHE_CONTROL, cache))
        .body(file.data.into_owned()))
}

fn hardened(mut response: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    response
        .insert_header(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("X-Frame-Options", "DENY"));
    response
}
