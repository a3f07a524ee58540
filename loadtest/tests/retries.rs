//! A publish answered `unavailable` is sent again after `retry_after_ms`, as a
//! cluster's hub asks when other hubs keep writing the resource first; one that
//! is never taken fails the run with the hub's message. The hub here is a stand-in
//! that answers `unavailable` on purpose, since a single-node hub never does.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a failure is the test failing

use std::collections::HashMap;
use std::net::TcpListener;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use fillstack_loadtest::Hubs;
use fillstack_loadtest::scenario::publish::{self, PublishParams};
use fillstack_protocol::{ClientFrame, Codec, ErrorCode, ServerFrame};
use futures_util::StreamExt;

/// How the stand-in answers each publish.
#[derive(Clone, Copy)]
enum Answers {
    /// `unavailable` the first time, then an ack.
    RefuseOnce,
    /// Always `unavailable`.
    RefuseAlways,
}

/// One session: welcome, then every `pub` answered as `answers` says.
async fn session(
    req: HttpRequest,
    body: web::Payload,
    answers: web::Data<Answers>,
) -> actix_web::Result<HttpResponse> {
    let (response, mut socket, mut frames) = actix_ws::handle(&req, body)?;
    let answers = *answers.get_ref();
    actix_rt::spawn(async move {
        let (mut refused, mut seqs) = (HashMap::new(), HashMap::<String, u64>::new());
        while let Some(Ok(actix_ws::Message::Binary(bytes))) = frames.next().await {
            let answer = match Codec::MsgPack.decode::<ClientFrame>(&bytes).unwrap() {
                ClientFrame::Hello { id, .. } => ServerFrame::Welcome {
                    id,
                    session: "s-1".into(),
                    server: "stand-in".into(),
                    heartbeat_ms: 25_000,
                    max_frame_bytes: 65_536,
                    roles: vec!["admin".into()],
                    epoch: "e".into(),
                },
                ClientFrame::Pub(publish) => {
                    let times: &mut u32 = refused.entry(publish.id).or_default();
                    if matches!(answers, Answers::RefuseAlways) || *times == 0 {
                        *times += 1;
                        ServerFrame::Error {
                            id: Some(publish.id),
                            code: ErrorCode::Unavailable,
                            message: format!("{} was written by other hubs", publish.resource),
                            retry_after_ms: Some(5),
                        }
                    } else {
                        let seq = seqs.entry(publish.resource).or_default();
                        *seq += 1;
                        ServerFrame::Ack {
                            id: publish.id,
                            seq: *seq,
                        }
                    }
                }
                other => panic!("the stand-in takes hello and pub only: {other:?}"),
            };
            let bytes = Codec::MsgPack.encode(&answer);
            if socket.binary(bytes).await.is_err() {
                break;
            }
        }
    });
    Ok(response)
}

/// A stand-in hub on 127.0.0.1:0; its ws URL.
fn stand_in(answers: Answers) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(answers))
            .route("/ws", web::get().to(session))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    actix_rt::spawn(server);
    format!("ws://{addr}/ws")
}

fn sizes() -> PublishParams {
    PublishParams {
        publishers: 3,
        resources: 5,
        per_publisher: 20,
        window: 4,
        max_seconds: 30,
    }
}

#[actix_web::test]
async fn a_publish_answered_unavailable_is_sent_again_and_counted() {
    let url = stand_in(Answers::RefuseOnce);
    let report = publish::run_on(&Hubs::one(&url), sizes()).await.unwrap();
    let table = report.table();
    assert_eq!((report.acks, report.retries), (60, 60), "{table}");
    assert_eq!(
        report.latency.count, 60,
        "one latency per publish, not per send"
    );
    assert!(table.contains("retried (unavailable)  60"), "{table}");
}

#[actix_web::test]
async fn a_publish_never_taken_fails_the_run_with_the_hubs_message() {
    let url = stand_in(Answers::RefuseAlways);
    let error = publish::run_on(&Hubs::one(&url), sizes())
        .await
        .unwrap_err();
    let message = format!("{error:#}");
    assert!(
        message.contains("publish refused 20 times: unavailable: bench/r")
            && message.contains("was written by other hubs"),
        "{message}"
    );
}
