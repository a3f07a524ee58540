//! Alert notifications: the body a receiver gets, and its delivery with retries
//! (exponential backoff with jitter, a bounded number of tries, then a counted
//! failure).

use std::time::Duration;

use fillstack_protocol::{Fields, Labels, Status};
use serde::{Deserialize, Serialize};

use super::alert::Notice;
use super::spec::Format;
use crate::metrics::METRICS;

/// How long one POST may take.
const POST_TIMEOUT: Duration = Duration::from_secs(10);

/// A notification waiting to be delivered (stored with its alert's state, so a
/// restart delivers what a crash interrupted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Post {
    pub url: String,
    /// The JSON body, rendered when the notice was made.
    pub body: String,
    pub state: Notice,
}

/// What a notice says about its member.
pub struct About<'a> {
    pub alert: &'a str,
    pub episode: String,
    pub resource: &'a str,
    pub status: Option<Status>,
    pub previous: Option<Status>,
    pub since: u64,
    pub fields: &'a Fields,
    pub labels: &'a Labels,
    pub at: u64,
}

#[derive(Serialize)]
struct JsonBody<'a> {
    alert: &'a str,
    id: &'a str,
    state: &'static str,
    resource: &'a str,
    /// `null` once the resource was deleted.
    status: Option<&'static str>,
    previous: Option<&'static str>,
    since: u64,
    fields: &'a Fields,
    labels: &'a Labels,
    at: u64,
}

/// The body of `notice` in `format`.
pub fn body(format: Format, notice: Notice, about: &About<'_>) -> String {
    let status = about.status.map(Status::as_str);
    match format {
        Format::Json => serde_json::to_string(&JsonBody {
            alert: about.alert,
            id: &about.episode,
            state: notice.as_str(),
            resource: about.resource,
            status,
            previous: about.previous.map(Status::as_str),
            since: about.since,
            fields: about.fields,
            labels: about.labels,
            at: about.at,
        })
        .expect("a notification always encodes"),
        Format::Slack => {
            let what = match notice {
                Notice::Firing => "FIRING",
                Notice::Resolved => "RESOLVED",
                Notice::Flapping => "FLAPPING",
            };
            let status = status.unwrap_or("deleted");
            let previous = about
                .previous
                .map(|previous| format!(" (was {})", previous.as_str()))
                .unwrap_or_default();
            let text = format!(
                "[{what}] {alert}: {resource} is {status}{previous}, since {since} (unix ms)",
                alert = about.alert,
                resource = about.resource,
                since = about.since,
            );
            serde_json::json!({ "text": text }).to_string()
        }
    }
}

/// Delivers `post`, trying up to `tries` times; waits `backoff`, doubling, with
/// ±25% jitter, between tries. `true` once a receiver answered 2xx.
pub async fn deliver(alert: &str, post: &Post, tries: u32, backoff: Duration) -> bool {
    let mut wait = backoff;
    for attempt in 1..=tries {
        match send(post).await {
            Ok(()) => {
                METRICS.alert_sent(alert, post.state.as_str());
                return true;
            }
            Err(error) => {
                tracing::warn!(alert, url = %post.url, attempt, tries, %error, "alert webhook failed");
            }
        }
        if attempt < tries {
            actix_web::rt::time::sleep(jitter(wait)).await;
            wait = wait.saturating_mul(2);
        }
    }
    METRICS.alert_failed(alert);
    tracing::error!(alert, url = %post.url, tries, "alert webhook gave up");
    false
}

fn jitter(wait: Duration) -> Duration {
    wait.mul_f64(0.75 + rand::random::<f64>() * 0.5)
}

async fn send(post: &Post) -> Result<(), String> {
    let response = super::probe::client()
        .post(&post.url)
        .timeout(POST_TIMEOUT)
        .insert_header(("content-type", "application/json"))
        .send_body(post.body.clone())
        .await
        .map_err(|e| e.to_string())?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("the receiver answered {}", response.status()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_name_the_alert_the_member_and_the_state() {
        let fields = Fields::new();
        let labels = Labels::new();
        let about = About {
            alert: "web-down",
            episode: "web-down/svc/a/5".into(),
            resource: "svc/a",
            status: Some(Status::Down),
            previous: Some(Status::Up),
            since: 5,
            fields: &fields,
            labels: &labels,
            at: 9,
        };
        let json: serde_json::Value =
            serde_json::from_str(&body(Format::Json, Notice::Firing, &about)).unwrap();
        assert_eq!(json["alert"], "web-down");
        assert_eq!(json["state"], "firing");
        assert_eq!(json["status"], "down");
        assert_eq!(json["previous"], "up");
        assert_eq!(json["since"], 5);
        let slack: serde_json::Value =
            serde_json::from_str(&body(Format::Slack, Notice::Resolved, &about)).unwrap();
        assert!(
            slack["text"]
                .as_str()
                .unwrap()
                .starts_with("[RESOLVED] web-down: svc/a is down"),
            "{slack}"
        );
    }
}
