//! WebSocket framing, table-driven over a raw socket: every RFC 6455 violation
//! closes with the code PROTOCOL-v1 names (1002, 1007, 1009) and ends the
//! connection without waiting for more bytes; well-formed fragmented messages and
//! pings still work; and the hub keeps serving its other sessions.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a failure is the test failing

mod support;

use fillstack_protocol::{ClientFrame, Codec, SUBPROTOCOL_JSON, ServerFrame};
use serde_json::json;
use support::frames::{Seen, close_frame, describe, fragments, frame, header, unmasked};
use support::*;

const LIMIT: u64 = 64 * 1024;
const BINARY: u8 = 0x82;
const TEXT: u8 = 0x81;

/// What the hub must do after a case's bytes.
#[derive(Debug)]
enum Expect {
    /// Send a close frame with this code, then end the connection.
    Close(u16),
    /// Answer with a WebSocket pong carrying these bytes.
    Pong(Vec<u8>),
    /// Answer the `ping` request with this id.
    Answer(u64),
}

struct Case {
    name: String,
    codec: Codec,
    bytes: Vec<u8>,
    expect: Expect,
}

fn case(name: impl Into<String>, bytes: Vec<u8>, expect: Expect) -> Case {
    Case {
        name: name.into(),
        codec: Codec::MsgPack,
        bytes,
        expect,
    }
}

fn json_case(name: impl Into<String>, bytes: Vec<u8>, expect: Expect) -> Case {
    Case {
        codec: Codec::Json,
        ..case(name, bytes, expect)
    }
}

/// A `ping` request of exactly `size` bytes of MessagePack (an unknown `pad` key fills it).
fn ping_request_of(id: u64, size: u64) -> Vec<u8> {
    let with_pad =
        |pad: usize| Codec::MsgPack.encode(&json!({"t": "ping", "id": id, "pad": "x".repeat(pad)}));
    let overhead = with_pad(1000).len() - 1000;
    let bytes = with_pad(size as usize - overhead).to_vec();
    assert_eq!(bytes.len() as u64, size);
    bytes
}

/// Frames RFC 6455 forbids: 1002.
fn protocol_errors() -> Vec<Case> {
    let mut cases = vec![
        case(
            "an unmasked binary frame",
            unmasked(BINARY, b"hello"),
            Expect::Close(1002),
        ),
        case("RSV1 set", frame(0xc2, b"x"), Expect::Close(1002)),
        case("RSV2 set", frame(0xa2, b"x"), Expect::Close(1002)),
        case("RSV3 set", frame(0x92, b"x"), Expect::Close(1002)),
        case(
            "a ping of 126 bytes",
            frame(0x89, &[0; 126]),
            Expect::Close(1002),
        ),
        case(
            "a ping declaring 70000 bytes, header only",
            header(0x89, 70_000),
            Expect::Close(1002),
        ),
        case("a ping without FIN", frame(0x09, b"x"), Expect::Close(1002)),
        case("a pong without FIN", frame(0x0a, b"x"), Expect::Close(1002)),
        case(
            "a close without FIN",
            frame(0x08, &1000u16.to_be_bytes()),
            Expect::Close(1002),
        ),
        case(
            "a last continuation without a start",
            frame(0x80, b"x"),
            Expect::Close(1002),
        ),
        case(
            "a continuation without a start",
            frame(0x00, b"x"),
            Expect::Close(1002),
        ),
        case(
            "a binary frame inside a fragmented message",
            [frame(0x02, b"part"), frame(BINARY, b"x")].concat(),
            Expect::Close(1002),
        ),
        case(
            "a text frame inside a fragmented message",
            [frame(0x02, b"part"), frame(0x01, b"x")].concat(),
            Expect::Close(1002),
        ),
        case(
            "a close payload of 1 byte",
            frame(0x88, &[0x03]),
            Expect::Close(1002),
        ),
        case(
            "a close reason that is not UTF-8",
            close_frame(1000, b"\xff\xfe"),
            Expect::Close(1002),
        ),
        case(
            "a 64-bit length with its top bit set, header only",
            header(BINARY, 1 << 63),
            Expect::Close(1002),
        ),
    ];
    for opcode in (0x3..=0x7).chain(0xb..=0xf) {
        cases.push(case(
            format!("reserved opcode {opcode:#x}"),
            frame(0x80 | opcode, b"x"),
            Expect::Close(1002),
        ));
    }
    for code in [
        0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535,
    ] {
        cases.push(case(
            format!("close code {code}"),
            close_frame(code, b""),
            Expect::Close(1002),
        ));
    }
    cases
}

/// Frames over the limit (1009) and text that is not UTF-8 (1007).
fn size_and_encoding_errors() -> Vec<Case> {
    let part = vec![0u8; 40 * 1024];
    vec![
        case(
            "a binary frame declaring limit + 1 bytes, header only",
            header(BINARY, LIMIT + 1),
            Expect::Close(1009),
        ),
        case(
            "a binary frame declaring 1 TiB, header only",
            header(BINARY, 1 << 40),
            Expect::Close(1009),
        ),
        case(
            "a binary frame of limit + 1 bytes",
            frame(BINARY, &vec![0; LIMIT as usize + 1]),
            Expect::Close(1009),
        ),
        case(
            "fragments over the limit together, the last one header only",
            [frame(0x02, &part), header(0x80, part.len() as u64)].concat(),
            Expect::Close(1009),
        ),
        json_case(
            "a text frame that is not UTF-8",
            frame(TEXT, b"{\"t\":\"\xff\xfe\"}"),
            Expect::Close(1007),
        ),
        json_case(
            "a fragmented text message that is not UTF-8",
            [frame(0x01, b"{\"t\":\""), frame(0x80, b"\xff\xfe\"}")].concat(),
            Expect::Close(1007),
        ),
    ]
}

/// Well-formed traffic the hub must keep answering.
fn good_traffic() -> Vec<Case> {
    let request = Codec::MsgPack.encode(&ClientFrame::Ping { id: 41 });
    let mut with_ping_between = fragments(0x2, &request, 3);
    with_ping_between.insert(1, frame(0x89, b"between"));
    let text = Codec::Json.encode(&ClientFrame::Ping { id: 42 });
    let at_limit = ping_request_of(43, LIMIT);
    let mut cases = vec![
        case(
            "a ping of 125 bytes",
            frame(0x89, &[0x5a; 125]),
            Expect::Pong(vec![0x5a; 125]),
        ),
        case(
            "a fragmented binary message with a ping between its fragments",
            with_ping_between.concat(),
            Expect::Answer(41),
        ),
        json_case(
            "a fragmented text message",
            fragments(0x1, &text, 4).concat(),
            Expect::Answer(42),
        ),
        case(
            "a binary frame of exactly the limit",
            frame(BINARY, &at_limit),
            Expect::Answer(43),
        ),
        case(
            "a binary message of exactly the limit in two fragments",
            fragments(0x2, &at_limit, 2).concat(),
            Expect::Answer(43),
        ),
    ];
    // A valid close is answered with 1000 and the connection ends.
    for code in [1000, 1001, 1003, 1007, 1014, 3000, 4999] {
        cases.push(case(
            format!("a valid close {code}"),
            close_frame(code, "bye ✓".as_bytes()),
            Expect::Close(1000),
        ));
    }
    cases
}

/// Connects, says hello, sends the case's bytes and checks the hub's answer;
/// every wait is bounded, and a failure lists what was read.
async fn run(hub: &TestHub, case: &Case) {
    let offer = (case.codec == Codec::Json).then_some(SUBPROTOCOL_JSON);
    let mut socket = RawSocket::connect_offering(hub.addr(), offer).await;
    socket.say_hello(case.codec).await;
    // The hub may close while a frame over the limit is still being written.
    let sent = socket.send_bytes(&case.bytes).await;
    let name = &case.name;
    match &case.expect {
        Expect::Close(code) => {
            let seen = socket.read_to_end(secs(5)).await;
            let what = describe(&seen);
            let close = seen.iter().position(|s| s.close_code().is_some());
            let close = close.unwrap_or_else(|| panic!("{name}: no close frame; read:{what}"));
            assert_eq!(
                seen[close].close_code(),
                Some(*code),
                "{name}: wrong close code; read:{what}"
            );
            assert_eq!(
                seen[close + 1..],
                [Seen::Ended],
                "{name}: the connection must end right after the close; read:{what}"
            );
        }
        Expect::Pong(payload) => {
            sent.unwrap();
            let pong = Seen::Frame(0xa, payload.clone());
            let seen = socket.read_until(secs(5), |s| *s == pong).await;
            assert_eq!(
                seen.last(),
                Some(&pong),
                "{name}: no pong; read:{}",
                describe(&seen)
            );
            assert_still_answers(&mut socket, case.codec, name).await;
        }
        Expect::Answer(id) => {
            sent.unwrap();
            let seen = socket
                .read_until(secs(5), |s| is_answer(s, case.codec, *id))
                .await;
            assert!(
                seen.last().is_some_and(|s| is_answer(s, case.codec, *id)),
                "{name}: no pong for request {id}; read:{}",
                describe(&seen)
            );
            assert_still_answers(&mut socket, case.codec, name).await;
        }
    }
}

/// Whether `seen` is the `pong` answering request `id`.
fn is_answer(seen: &Seen, codec: Codec, id: u64) -> bool {
    match seen {
        Seen::Frame(0x1 | 0x2, payload) => matches!(
            codec.decode(payload),
            Ok(ServerFrame::Pong { id: answered, .. }) if answered == id
        ),
        _ => false,
    }
}

/// The session is still open: one more `ping` request is answered.
async fn assert_still_answers(socket: &mut RawSocket, codec: Codec, name: &str) {
    let opcode = if codec == Codec::Json { TEXT } else { BINARY };
    let ping = codec.encode(&ClientFrame::Ping { id: 99 });
    socket.send_bytes(&frame(opcode, &ping)).await.unwrap();
    let seen = socket
        .read_until(secs(5), |s| is_answer(s, codec, 99))
        .await;
    assert!(
        seen.last().is_some_and(|s| is_answer(s, codec, 99)),
        "{name}: the session must stay open; read:{}",
        describe(&seen)
    );
}

/// Runs every case on a hub of its own, all at once: after a close the hub lingers
/// up to a second for the client's close (actix-web's `client_disconnect_timeout`)
/// before it ends the connection. After each case, a session opened before them all
/// must still answer.
async fn run_all(cases: Vec<Case>) {
    let hub = TestHub::start().await;
    let bystander = tokio::sync::Mutex::new(hub.client().await);
    let runs = cases.iter().map(|case| async {
        run(&hub, case).await;
        assert_answers_ping(&mut *bystander.lock().await).await;
    });
    futures_util::future::join_all(runs).await;
}

#[actix_web::test]
async fn each_rfc_6455_protocol_error_closes_1002_and_ends_the_connection() {
    run_all(protocol_errors()).await;
}

#[actix_web::test]
async fn oversized_frames_close_1009_on_their_header_and_bad_utf8_closes_1007() {
    run_all(size_and_encoding_errors()).await;
}

#[actix_web::test]
async fn fragmented_messages_and_pings_within_the_bounds_are_still_answered() {
    run_all(good_traffic()).await;
}
