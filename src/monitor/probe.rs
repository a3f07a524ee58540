//! Probe checks: one HTTP GET or TCP connect, and the publish its result makes.
//! `outcome` is pure; `check` does the I/O (awc for HTTP, tokio for TCP) and runs
//! on the probed resource's actor's thread.

use std::time::{Duration, Instant};

use futures_util::StreamExt;

use fillstack_protocol::{Scalar, Status};

use super::spec::{Check, ProbeSpec};
use crate::resource::state::Change;

/// Most bytes of a response body read to look for `body_contains`.
const BODY_LIMIT: usize = 1 << 20;

/// What one check saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub latency: Duration,
    pub result: Result<Answer, String>,
}

/// What the target answered (a TCP connect answers `code: None`).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub code: Option<u16>,
    /// The body holds `body_contains` (true when the probe asks for nothing).
    pub body_ok: bool,
}

/// The publish a check's result makes: status (unless `paused`, for a resource
/// in maintenance), `latency_ms`, `code`, `error` (removed on success) and a TTL
/// of three intervals, so a hub that stops probing shows `stale`.
pub fn outcome(spec: &ProbeSpec, seen: &Observation, paused: bool) -> Change {
    let latency_ms = (seen.latency.as_secs_f64() * 1000.0 * 10.0).round() / 10.0;
    let (status, code, error) = match &seen.result {
        Err(error) => (Status::Down, None, Some(error.clone())),
        Ok(answer) => {
            let expected = match (&spec.check, answer.code) {
                (Check::Http { expect_status, .. }, Some(code)) => {
                    expect_status.map_or((200..300).contains(&code), |want| want == code)
                }
                _ => true,
            };
            if !expected {
                let code = answer.code.unwrap_or_default();
                let want = match &spec.check {
                    Check::Http {
                        expect_status: Some(want),
                        ..
                    } => want.to_string(),
                    _ => "2xx".to_owned(),
                };
                (
                    Status::Down,
                    answer.code,
                    Some(format!("answered {code}, expected {want}")),
                )
            } else if !answer.body_ok {
                (
                    Status::Down,
                    answer.code,
                    Some("the body does not contain the expected text".to_owned()),
                )
            } else if spec
                .degraded_after
                .is_some_and(|limit| seen.latency > limit)
            {
                (Status::Degraded, answer.code, None)
            } else {
                (Status::Up, answer.code, None)
            }
        }
    };
    let mut fields = fillstack_protocol::FieldChanges::new();
    fields.insert("latency_ms".to_owned(), Some(Scalar::Float(latency_ms)));
    fields.insert(
        "code".to_owned(),
        code.map(|code| Scalar::Int(i64::from(code))),
    );
    fields.insert(
        "error".to_owned(),
        error.map(|error| Scalar::Str(truncate(error, 256))),
    );
    Change {
        status: (!paused).then_some(status),
        fields,
        labels: fillstack_protocol::LabelChanges::new(),
        ttl: Some(Some(spec.interval * 3)),
    }
}

/// A field string of at most `max` bytes, cut on a character boundary.
fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

thread_local! {
    /// One HTTP client per actor thread (awc clients are not `Send`).
    static CLIENT: awc::Client = awc::Client::builder()
        .disable_redirects()
        .finish();
}

/// An HTTP client for this thread.
pub fn client() -> awc::Client {
    CLIENT.with(Clone::clone)
}

/// Runs one check of `spec`.
pub async fn check(spec: &ProbeSpec) -> Observation {
    let started = Instant::now();
    let result = match &spec.check {
        Check::Http {
            url,
            body_contains,
            headers,
            ..
        } => http(url, body_contains.as_deref(), headers, spec.timeout).await,
        Check::Tcp { address } => tcp(address, spec.timeout).await,
    };
    Observation {
        latency: started.elapsed(),
        result,
    }
}

async fn http(
    url: &str,
    body_contains: Option<&str>,
    headers: &[(String, String)],
    timeout: Duration,
) -> Result<Answer, String> {
    let mut request = client().get(url).timeout(timeout);
    for (name, value) in headers {
        request = request.insert_header((name.as_str(), value.as_str()));
    }
    let work = async {
        let mut response = request.send().await.map_err(|e| describe(&e))?;
        let code = response.status().as_u16();
        // The body is read to its end (up to the limit) even when nothing is
        // looked for in it: only then can the connection serve the next check.
        let mut body = Vec::new();
        let mut read = 0;
        while let Some(chunk) = response.next().await {
            let chunk = chunk.map_err(|e| format!("reading the body: {e}"))?;
            read += chunk.len();
            if read > BODY_LIMIT {
                break; // A huge body: give up the connection rather than read on.
            }
            if body_contains.is_some() {
                body.extend_from_slice(&chunk);
            }
        }
        let body_ok = body_contains.is_none_or(|text| contains(&body, text.as_bytes()));
        Ok(Answer {
            code: Some(code),
            body_ok,
        })
    };
    // The body read is bounded by the same timeout as the request.
    match actix_web::rt::time::timeout(timeout, work).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {timeout:?}")),
    }
}

fn describe(error: &awc::error::SendRequestError) -> String {
    match error {
        awc::error::SendRequestError::Timeout => "no answer within the timeout".to_owned(),
        other => other.to_string(),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

async fn tcp(address: &str, timeout: Duration) -> Result<Answer, String> {
    match actix_web::rt::time::timeout(timeout, actix_web::rt::net::TcpStream::connect(address))
        .await
    {
        Ok(Ok(_)) => Ok(Answer {
            code: None,
            body_ok: true,
        }),
        Ok(Err(error)) => Err(format!("cannot connect to {address}: {error}")),
        Err(_) => Err(format!("no connection to {address} within {timeout:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fillstack_protocol::ResourceId;

    fn spec(expect_status: Option<u16>) -> ProbeSpec {
        ProbeSpec {
            resource: ResourceId::parse("svc/a").unwrap(),
            check: Check::Http {
                url: "http://127.0.0.1:1/".into(),
                expect_status,
                body_contains: None,
                headers: Vec::new(),
            },
            interval: Duration::from_secs(2),
            timeout: Duration::from_secs(1),
            degraded_after: Some(Duration::from_millis(800)),
        }
    }

    fn seen(ms: u64, result: Result<Answer, String>) -> Observation {
        Observation {
            latency: Duration::from_millis(ms),
            result,
        }
    }

    fn answered(code: u16) -> Result<Answer, String> {
        Ok(Answer {
            code: Some(code),
            body_ok: true,
        })
    }

    #[test]
    fn outcomes_follow_the_contract() {
        let up = outcome(&spec(None), &seen(10, answered(204)), false);
        assert_eq!(up.status, Some(Status::Up));
        assert_eq!(up.fields["code"], Some(Scalar::Int(204)));
        assert_eq!(up.fields["error"], None, "an error is removed on success");
        assert_eq!(up.ttl, Some(Some(Duration::from_secs(6))));
        let slow = outcome(&spec(None), &seen(900, answered(200)), false);
        assert_eq!(slow.status, Some(Status::Degraded));
        let wrong = outcome(&spec(Some(200)), &seen(5, answered(500)), false);
        assert_eq!(wrong.status, Some(Status::Down));
        assert_eq!(wrong.fields["code"], Some(Scalar::Int(500)));
        assert_eq!(
            wrong.fields["error"],
            Some(Scalar::Str("answered 500, expected 200".into()))
        );
        let refused = outcome(&spec(None), &seen(1, Err("refused".into())), false);
        assert_eq!(refused.status, Some(Status::Down));
        assert_eq!(refused.fields["code"], None, "no code without an answer");
        let paused = outcome(&spec(None), &seen(1, Err("refused".into())), true);
        assert_eq!(paused.status, None, "maintenance keeps its status");
        assert!(paused.fields["error"].is_some(), "fields go on");
    }
}
