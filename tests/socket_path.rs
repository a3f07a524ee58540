//! The socket path after the upgrade leaves actix-http's dispatcher: the upgrade's
//! refusals are answered by the hub's own service with the usual error body,
//! frames sent in the same packet as the upgrade request are read, a close is
//! answered and the connection ends cleanly, and many frames written in one go
//! come back as answers in order. Raw TCP over 127.0.0.1, so every byte is as
//! written.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a failure is the test failing

mod support;

use std::time::Duration;

use fillstack_protocol::{ClientFrame, Codec, ServerFrame};
use support::frames::{Seen, close_frame, frame};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// Sends `request` as written and reads the answer to its end: status, the head
/// and the body.
async fn exchange(hub: &TestHub, request: &str) -> (u16, String, String) {
    let mut stream = tokio::net::TcpStream::connect(hub.addr()).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(secs(5), stream.read_to_end(&mut answer))
        .await
        .expect("the hub ends the connection after a refusal")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let code = answer.split(' ').nth(1).unwrap().parse().unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    (code, head.to_ascii_lowercase(), body.to_owned())
}

fn upgrade_request(hub: &TestHub, method: &str, path: &str, extra: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         {extra}\r\n",
        hub.addr()
    )
}

#[actix_web::test]
async fn every_refused_upgrade_gets_its_status_and_an_error_body_naming_the_problem() {
    let hub = TestHub::start().await;
    let version = "Sec-WebSocket-Version: 13\r\n";
    let key = format!("Sec-WebSocket-Key: {KEY}\r\n");
    let cases = [
        (
            upgrade_request(&hub, "GET", "/api/v1/status", &format!("{version}{key}")),
            404,
            "not_found",
            "no WebSocket at /api/v1/status",
        ),
        (
            upgrade_request(&hub, "GET", "/ws", version),
            400,
            "invalid",
            "the WebSocket handshake is invalid: unknown WebSocket key",
        ),
        (
            upgrade_request(
                &hub,
                "GET",
                "/ws",
                &format!("Sec-WebSocket-Version: 8\r\n{key}"),
            ),
            426,
            "invalid",
            "unsupported WebSocket version",
        ),
        (
            upgrade_request(&hub, "POST", "/ws", &format!("{version}{key}")),
            405,
            "invalid",
            "method not allowed",
        ),
        (
            format!(
                "GET /ws HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                hub.addr()
            ),
            400,
            "invalid",
            "GET /ws is not a WebSocket upgrade",
        ),
    ];
    for (request, status, code, message) in cases {
        let (got, head, body) = exchange(&hub, &request).await;
        assert_eq!(got, status, "{request}{head}\n{body}");
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["error"]["code"], code, "{request}");
        let text = body["error"]["message"].as_str().unwrap();
        assert!(text.contains(message), "{request}: {text}");
    }
    let (_, head, _) = exchange(
        &hub,
        &upgrade_request(
            &hub,
            "GET",
            "/ws",
            &format!("Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: {KEY}\r\n"),
        ),
    )
    .await;
    assert!(head.contains("sec-websocket-version: 13"), "{head}");
    // The hub still upgrades after all that.
    let mut socket = RawSocket::connect_offering(hub.addr(), None).await;
    socket.say_hello(Codec::MsgPack).await;
}

#[actix_web::test]
async fn frames_sent_with_the_upgrade_request_are_read() {
    let hub = TestHub::start().await;
    let mut stream = tokio::net::TcpStream::connect(hub.addr()).await.unwrap();
    let hello = Codec::MsgPack.encode(&ClientFrame::Hello {
        id: 1,
        token: None,
        client: None,
    });
    let ping = Codec::MsgPack.encode(&ClientFrame::Ping { id: 2 });
    let mut bytes = upgrade_request(
        &hub,
        "GET",
        "/ws",
        &format!("Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {KEY}\r\n"),
    )
    .into_bytes();
    bytes.extend(frame(0x82, &hello));
    bytes.extend(frame(0x82, &ping));
    // One write: the request and both frames arrive together.
    stream.write_all(&bytes).await.unwrap();
    let mut read = Vec::new();
    let deadline = tokio::time::Instant::now() + secs(5);
    let frames = loop {
        let mut chunk = [0u8; 4096];
        let count = tokio::time::timeout_at(deadline, stream.read(&mut chunk))
            .await
            .expect("welcome and pong within 5 s")
            .unwrap();
        assert!(count > 0, "the hub ended the connection");
        read.extend_from_slice(&chunk[..count]);
        let text = String::from_utf8_lossy(&read);
        let Some(end) = text.find("\r\n\r\n") else {
            continue;
        };
        assert!(read.starts_with(b"HTTP/1.1 101"), "{text}");
        let frames = server_frames(&read[end + 4..]);
        if frames.len() >= 2 {
            break frames;
        }
    };
    assert!(
        matches!(frames[0], ServerFrame::Welcome { .. }),
        "{frames:?}"
    );
    assert!(
        matches!(frames[1], ServerFrame::Pong { id: 2, .. }),
        "{frames:?}"
    );
}

/// The server frames (unmasked, MessagePack) in `bytes`, as far as they are whole.
fn server_frames(mut bytes: &[u8]) -> Vec<ServerFrame> {
    let mut frames = Vec::new();
    while bytes.len() >= 2 {
        let (length, header) = match bytes[1] & 0x7f {
            126 if bytes.len() >= 4 => (usize::from(u16::from_be_bytes([bytes[2], bytes[3]])), 4),
            126 | 127 => break,
            short => (usize::from(short), 2),
        };
        if bytes.len() < header + length {
            break;
        }
        frames.push(
            Codec::MsgPack
                .decode(&bytes[header..header + length])
                .unwrap(),
        );
        bytes = &bytes[header + length..];
    }
    frames
}

#[actix_web::test]
async fn a_client_close_is_answered_1000_and_the_connection_ends() {
    let hub = TestHub::start().await;
    let mut socket = RawSocket::connect_offering(hub.addr(), None).await;
    socket.say_hello(Codec::MsgPack).await;
    socket.send_bytes(&close_frame(1000, b"bye")).await.unwrap();
    let seen = socket.read_to_end(secs(3)).await;
    assert_eq!(
        seen.first().and_then(Seen::close_code),
        Some(1000),
        "{seen:?}"
    );
    assert!(matches!(seen.last(), Some(Seen::Ended)), "{seen:?}");
}

#[actix_web::test]
async fn a_thousand_pings_written_at_once_are_answered_in_order() {
    let hub = TestHub::start().await;
    let mut socket = RawSocket::connect_offering(hub.addr(), None).await;
    socket.say_hello(Codec::MsgPack).await;
    let mut bytes = Vec::new();
    for id in 10..1010 {
        bytes.extend(frame(
            0x82,
            &Codec::MsgPack.encode(&ClientFrame::Ping { id }),
        ));
    }
    socket.send_bytes(&bytes).await.unwrap();
    // Pongs are conflated to the latest (PROTOCOL-v1): whatever arrives comes in
    // order and the last one answers the last ping.
    let mut last = 0;
    loop {
        match socket.read_frame(Duration::from_secs(5)).await {
            Seen::Frame(0x2, payload) => match Codec::MsgPack.decode(&payload).unwrap() {
                ServerFrame::Pong { id, .. } => {
                    assert!(id > last, "pong {id} after {last}");
                    last = id;
                    if id == 1009 {
                        break;
                    }
                }
                other => panic!("{other:?}"),
            },
            other => panic!("{other}"),
        }
    }
}

#[actix_web::test]
async fn the_hubs_sessions_are_bounded_at_the_upgrade_and_a_closed_one_gives_its_seat_back() {
    let hub = TestHub::builder()
        .quotas(fillstack::limits::QuotaSettings {
            sessions_total: 2,
            ..fillstack::limits::QuotaSettings::default()
        })
        .start()
        .await;
    let upgrade = upgrade_request(
        &hub,
        "GET",
        "/ws",
        &format!("Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {KEY}\r\n"),
    );
    let first = RawSocket::connect_offering(hub.addr(), None).await;
    let mut second = RawSocket::connect_offering(hub.addr(), None).await;
    for _ in 0..3 {
        let (status, head, body) = exchange(&hub, &upgrade).await;
        assert_eq!(status, 503, "{head}\n{body}");
        assert!(head.contains("retry-after:"), "{head}");
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["error"]["code"], "unavailable", "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("limits.sessions_total"), "{message}");
    }
    // The sessions admitted work; the refusals held no seat.
    second.say_hello(Codec::MsgPack).await;
    drop(first);
    let deadline = std::time::Instant::now() + secs(5);
    loop {
        let (status, head) = answer_head(&hub, &upgrade).await;
        if status == 101 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no seat came back: {head}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    hub.stop().await;
}

/// Sends `request` and reads the answer's status line and head only (an upgrade
/// that succeeds keeps its connection open).
async fn answer_head(hub: &TestHub, request: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(hub.addr()).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(secs(5), stream.read(&mut byte))
            .await
            .expect("an answer within 5 s")
            .unwrap();
        assert_eq!(read, 1, "the hub ended the connection mid-head");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    (head.split(' ').nth(1).unwrap().parse().unwrap(), head)
}
