//! Bad input, table-driven: every error code and close code a socket can produce
//! before auth exists, with the message naming the problem.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a failure is the test failing

mod support;

use actix_http::ws::Item;
use awc::ws::Message;
use bytes::Bytes;
use fillstack_loadtest::Client;
use fillstack_protocol::{ClientFrame, Codec, ErrorCode, Scalar, ServerFrame};
use serde_json::json;
use support::*;

/// Frames answered with an `error`; the session stays open.
#[actix_web::test]
async fn each_bad_frame_gets_one_error_naming_the_problem_and_the_session_stays_open() {
    let hub = TestHub::start().await;
    let long = "x".repeat(300);
    let cases = [
        (
            json!({"t": "launch", "id": 1}),
            Some(1),
            ErrorCode::BadFrame,
            "unknown variant `launch`",
        ),
        (
            json!({"t": "get", "id": 2}),
            Some(2),
            ErrorCode::BadFrame,
            "missing field `resource`",
        ),
        (
            json!({"t": "get", "id": "x", "resource": "a"}),
            None,
            ErrorCode::BadFrame,
            "invalid type",
        ),
        (
            json!({"id": 3}),
            Some(3),
            ErrorCode::BadFrame,
            "missing field `t`",
        ),
        (
            json!({"t": "get", "id": 4, "resource": "a//b"}),
            Some(4),
            ErrorCode::Invalid,
            "resource id `a//b` has an empty segment",
        ),
        (
            json!({"t": "sub", "id": 5, "pattern": "x/***"}),
            Some(5),
            ErrorCode::Invalid,
            "pattern `x/***` is not an id, `p/*`, `p/**` or `**`",
        ),
        (
            json!({"t": "pub", "id": 6, "resource": "a", "status": "fine"}),
            Some(6),
            ErrorCode::Invalid,
            "status `fine` is not one of up, degraded, down, unknown, stale, maintenance",
        ),
        (
            json!({"t": "pub", "id": 7, "resource": "a", "fields": {"cpu": long}}),
            Some(7),
            ErrorCode::Invalid,
            "field `cpu` is 300 bytes; the limit is 256",
        ),
        (
            json!({"t": "pub", "id": 8, "resource": "a", "fields": {"cpu": [1]}}),
            Some(8),
            ErrorCode::BadFrame,
            "an integer, float, bool or string",
        ),
        (
            json!({"t": "history", "id": 9, "resource": "a", "since": 0, "limit": 5000}),
            Some(9),
            ErrorCode::Invalid,
            "limit 5000 is out of range 1..=1000",
        ),
        (
            json!({"t": "get", "id": 10, "resource": "svc/none"}),
            Some(10),
            ErrorCode::NotFound,
            "resource `svc/none` does not exist",
        ),
        (
            json!({"t": "history", "id": 11, "resource": "svc/none", "since": 0}),
            Some(11),
            ErrorCode::NotFound,
            "resource `svc/none` does not exist",
        ),
        (
            json!({"t": "pub", "id": 12, "resource": "a", "ttl_ms": 999_999_999_999u64}),
            Some(12),
            ErrorCode::Invalid,
            "ttl_ms 999999999999 is longer than",
        ),
    ];
    for codec in [Codec::MsgPack, Codec::Json] {
        let mut client = Client::connect_hello(&hub.url(), codec).await.unwrap();
        for (frame, id, code, says) in &cases {
            client.send_raw(codec.encode(frame)).await.unwrap();
            let ServerFrame::Error {
                id: got_id,
                code: got_code,
                message,
                ..
            } = next(&mut client).await
            else {
                panic!("{frame} should get an error")
            };
            assert_eq!((got_id, got_code), (*id, *code), "{frame}: {message}");
            assert!(
                message.contains(says),
                "{frame}: `{message}` should say `{says}`"
            );
        }
        assert_answers_ping(&mut client).await;
    }
}

#[actix_web::test]
async fn nesting_deeper_than_16_levels_is_bad_frame_and_never_exhausts_the_stack() {
    let hub = TestHub::start().await;
    let mut client = hub.client().await;
    let mut deep = vec![
        0x82, 0xa1, b't', 0xa4, b'p', b'i', b'n', b'g', 0xa2, b'i', b'd',
    ];
    deep.extend(std::iter::repeat_n(0x91, 50_000));
    deep.push(0x01);
    client.send_raw(Bytes::from(deep)).await.unwrap();
    let ServerFrame::Error { code, message, .. } = next(&mut client).await else {
        panic!()
    };
    assert_eq!(
        (code, message.as_str()),
        (ErrorCode::BadFrame, "the frame nests deeper than 16 levels")
    );
}

async fn closed_after(hub: &TestHub, message: Message) -> (Option<u16>, String) {
    let mut client = hub.client().await;
    client.send_message(message).await.unwrap();
    let closed = client.closed_within(secs(5)).await.unwrap();
    (closed.code, closed.reason)
}

#[actix_web::test]
async fn a_frame_of_the_other_subprotocols_type_closes_1003() {
    let hub = TestHub::start().await;
    assert_eq!(
        closed_after(&hub, Message::Text("{\"t\":\"ping\",\"id\":1}".into())).await,
        (
            Some(1003),
            "this session speaks fillstack.v1.msgpack: binary frames only".into()
        )
    );
    let mut json = hub.json_client().await;
    let ping = Codec::MsgPack.encode(&ClientFrame::Ping { id: 1 });
    json.send_message(Message::Binary(ping)).await.unwrap();
    let closed = json.closed_within(secs(5)).await.unwrap();
    assert_eq!(
        (closed.code, closed.reason.as_str()),
        (
            Some(1003),
            "this session speaks fillstack.v1.json: text frames only"
        )
    );
}

#[actix_web::test]
async fn bytes_that_are_not_a_frame_close_1007_and_oversized_frames_close_1009() {
    let hub = TestHub::start().await;
    let array = Codec::MsgPack.encode(&vec![1, 2, 3]);
    assert_eq!(
        closed_after(&hub, Message::Binary(array)).await,
        (Some(1007), "a frame must be a MessagePack map".into())
    );
    let mut json = hub.json_client().await;
    json.send_message(Message::Text("[1,2]".into()))
        .await
        .unwrap();
    let closed = json.closed_within(secs(5)).await.unwrap();
    assert_eq!(
        (closed.code, closed.reason),
        (Some(1007), "a frame must be a JSON object".into())
    );
    let mut trailing = Codec::MsgPack.encode(&ClientFrame::Ping { id: 1 }).to_vec();
    trailing.extend_from_slice(&[0xc0, 0xc0]);
    assert_eq!(
        closed_after(&hub, Message::Binary(trailing.into())).await.0,
        Some(1007)
    );
    // Invalid UTF-8 in a text message, sent in two fragments.
    let mut client = hub.client().await;
    client
        .send_message(Message::Continuation(Item::FirstText(Bytes::from_static(
            b"{\"t\":\"",
        ))))
        .await
        .unwrap();
    client
        .send_message(Message::Continuation(Item::Last(Bytes::from_static(
            b"\xff\xfe\"}",
        ))))
        .await
        .unwrap();
    let closed = client.closed_within(secs(5)).await.unwrap();
    assert_eq!(
        (closed.code, closed.reason.as_str()),
        (Some(1007), "a text frame is not valid UTF-8")
    );
    let huge = Message::Binary(Bytes::from(vec![0x80; 70 * 1024]));
    assert_eq!(
        closed_after(&hub, huge).await,
        (Some(1009), "a frame is larger than 65536 bytes".into())
    );
    // The same limit holds however the message is fragmented.
    let mut client = hub.client().await;
    for _ in 0..3 {
        client
            .send_message(Message::Continuation(Item::Continue(Bytes::from(
                vec![0; 30 * 1024],
            ))))
            .await
            .ok();
    }
    let mut client2 = hub.client().await;
    client2
        .send_message(Message::Continuation(Item::FirstBinary(Bytes::from(
            vec![0x80; 40 * 1024],
        ))))
        .await
        .unwrap();
    client2
        .send_message(Message::Continuation(Item::Last(Bytes::from(
            vec![0; 40 * 1024],
        ))))
        .await
        .unwrap();
    assert_eq!(
        client2.closed_within(secs(5)).await.unwrap().code,
        Some(1009)
    );
}

#[actix_web::test]
async fn a_session_without_hello_is_closed_4001() {
    let hub = TestHub::builder().hello_timeout(ms(200)).start().await;
    let mut silent = Client::connect(&hub.url(), Codec::MsgPack).await.unwrap();
    let ServerFrame::Error { code, message, .. } = next(&mut silent).await else {
        panic!()
    };
    assert_eq!(
        (code, message.as_str()),
        (ErrorCode::Unauthorized, "no hello within 200 ms")
    );
    assert_eq!(
        silent.closed_within(secs(5)).await.unwrap().code,
        Some(4001)
    );
    let mut hasty = Client::connect(&hub.url(), Codec::Json).await.unwrap();
    hasty.send(&ClientFrame::Ping { id: 5 }).await.unwrap();
    let ServerFrame::Error {
        id, code, message, ..
    } = next(&mut hasty).await
    else {
        panic!()
    };
    assert_eq!(
        (id, code, message.as_str()),
        (
            Some(5),
            ErrorCode::Unauthorized,
            "the first frame must be hello"
        )
    );
    assert_eq!(hasty.closed_within(secs(5)).await.unwrap().code, Some(4001));
}

#[actix_web::test]
async fn a_client_offering_no_subprotocol_speaks_msgpack() {
    let hub = TestHub::start().await;
    let mut client = Client::connect_with(&hub.url(), None, &[]).await.unwrap();
    assert!(matches!(
        client.hello(None).await.unwrap(),
        ServerFrame::Welcome { .. }
    ));
}

/// The rule every field and label name follows (the id segment grammar).
const NAME_RULE: &str = "must match [A-Za-z0-9][A-Za-z0-9_.:-]*";

#[actix_web::test]
async fn field_and_label_names_follow_the_id_segment_grammar_and_floats_are_finite() {
    let hub = TestHub::start().await;
    let long = "n".repeat(65);
    let cases = [
        (
            json!({"fields": {"cpu load": 1}}),
            format!("field name `cpu load` {NAME_RULE}"),
        ),
        (
            json!({"fields": {"_cpu": 1}}),
            format!("field name `_cpu` {NAME_RULE}"),
        ),
        (
            json!({"fields": {"svc/cpu": 1}}),
            format!("field name `svc/cpu` {NAME_RULE}"),
        ),
        (
            json!({"fields": {"température": 1}}),
            format!("field name `température` {NAME_RULE}"),
        ),
        (
            json!({"labels": {"-team": "ops"}}),
            format!("label name `-team` {NAME_RULE}"),
        ),
        (
            json!({"labels": {"": "ops"}}),
            "label name `` is 0 bytes; names are 1 to 64 bytes".to_owned(),
        ),
        (
            json!({"fields": {long.clone(): 1}}),
            format!("field name `{long}` is 65 bytes; names are 1 to 64 bytes"),
        ),
    ];
    for codec in [Codec::MsgPack, Codec::Json] {
        let mut client = Client::connect_hello(&hub.url(), codec).await.unwrap();
        for (n, (change, says)) in cases.iter().enumerate() {
            let id = 100 + n as u64;
            let mut frame = json!({"t": "pub", "id": id, "resource": "svc/a"});
            frame
                .as_object_mut()
                .unwrap()
                .extend(change.as_object().unwrap().clone());
            client.send_raw(codec.encode(&frame)).await.unwrap();
            let ServerFrame::Error {
                id: got_id,
                code,
                message,
                ..
            } = next(&mut client).await
            else {
                panic!("{frame} should get an error")
            };
            assert_eq!(
                (got_id, code, message.as_str()),
                (Some(id), ErrorCode::Invalid, says.as_str()),
                "{codec:?} {frame}"
            );
        }
        assert_answers_ping(&mut client).await;
    }
    // NaN and the infinities have no JSON literal: only MessagePack can carry them.
    let mut client = hub.client().await;
    for (value, shown) in [
        (f64::NAN, "NaN"),
        (f64::INFINITY, "inf"),
        (f64::NEG_INFINITY, "-inf"),
    ] {
        let id = client.next_id();
        let frame = ClientFrame::Pub(fillstack_protocol::PublishFrame {
            id,
            resource: "svc/a".into(),
            fields: Some(fields(&[("cpu", Scalar::Float(value))])),
            ..Default::default()
        });
        let ServerFrame::Error { code, message, .. } =
            client.request(&frame, secs(5)).await.unwrap()
        else {
            panic!("{value} should be refused")
        };
        assert_eq!(
            (code, message),
            (
                ErrorCode::Invalid,
                format!("field `cpu` is {shown}; floats must be finite")
            )
        );
    }
    let get = ClientFrame::Get {
        id: client.next_id(),
        resource: "svc/a".into(),
    };
    assert!(
        matches!(
            client.request(&get, secs(5)).await.unwrap(),
            ServerFrame::Error {
                code: ErrorCode::NotFound,
                ..
            }
        ),
        "no refused publish created the resource"
    );
    let good = fields(&[
        ("cpu.load:1m", Scalar::Float(0.5)),
        ("Ok-9_x", Scalar::Int(1)),
    ]);
    assert_eq!(
        client.publish("svc/a", Some("up"), good).await.unwrap(),
        1,
        "names of the grammar and finite floats pass"
    );
}
