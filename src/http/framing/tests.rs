use actix_http::ws::ProtocolError;
use bytes::Bytes;
use fillstack_protocol::CloseCode;

use super::*;

const LIMIT: usize = 64 * 1024;
const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
const BINARY: u8 = 0x82;
const TEXT_START: u8 = 0x01;
const CONTINUE: u8 = 0x00;
const LAST: u8 = 0x80;
const PING: u8 = 0x89;
const CLOSE: u8 = 0x88;

/// The header of a masked client frame declaring `length` payload bytes.
fn header(first: u8, length: u64) -> Vec<u8> {
    let mut bytes = vec![first];
    match length {
        0..=125 => bytes.push(0x80 | length as u8),
        126..=0xffff => {
            bytes.push(0x80 | 126);
            bytes.extend_from_slice(&(length as u16).to_be_bytes());
        }
        _ => {
            bytes.push(0x80 | 127);
            bytes.extend_from_slice(&length.to_be_bytes());
        }
    }
    bytes.extend_from_slice(&KEY);
    bytes
}

/// A whole masked client frame carrying `payload`.
fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut bytes = header(first, payload.len() as u64);
    bytes.extend(payload.iter().zip(KEY.iter().cycle()).map(|(b, k)| b ^ k));
    bytes
}

fn refused(chunks: &[&[u8]]) -> Result<(), Refusal> {
    let mut scanner = FrameScanner::new(LIMIT);
    chunks.iter().try_for_each(|chunk| scanner.scan(chunk))
}

/// Well-formed traffic: short, 16-bit and 64-bit lengths, a fragmented message with
/// a ping between its fragments, control frames of 0 and 125 bytes, and payloads
/// that look like headers once masked.
fn good_traffic() -> Vec<u8> {
    let header_lookalikes: Vec<u8> = KEY.iter().map(|k| k ^ 0x83).cycle().take(300).collect();
    [
        frame(BINARY, b"hello"),
        frame(BINARY, &header_lookalikes),
        frame(BINARY, &vec![7; LIMIT]),
        frame(TEXT_START, b"{\"t\":"),
        frame(PING, &[1; 125]),
        frame(CONTINUE, &vec![b' '; 1000]),
        frame(LAST, b"\"ping\",\"id\":1}"),
        frame(0x8a, b""),
        frame(BINARY, b""),
        frame(CLOSE, &1000u16.to_be_bytes()),
    ]
    .concat()
}

#[test]
fn well_formed_traffic_passes_in_one_chunk() {
    assert_eq!(refused(&[&good_traffic()]), Ok(()));
}

#[test]
fn well_formed_traffic_passes_byte_by_byte() {
    let traffic = good_traffic();
    let mut scanner = FrameScanner::new(LIMIT);
    for (at, byte) in traffic.iter().enumerate() {
        assert_eq!(scanner.scan(&[*byte]), Ok(()), "byte {at}");
    }
}

#[test]
fn well_formed_traffic_passes_split_anywhere_in_a_header() {
    let traffic = good_traffic();
    for split in 0..=64 {
        let (first, second) = traffic.split_at(split);
        assert_eq!(refused(&[first, second]), Ok(()), "split at {split}");
    }
}

#[test]
fn a_message_of_exactly_the_limit_passes_however_fragmented() {
    let half = vec![0; LIMIT / 2];
    let message = [frame(0x02, &half), frame(LAST, &half)].concat();
    assert_eq!(refused(&[&message]), Ok(()));
}

/// Each rule, broken by the second frame of a chunk: the first frame is clean.
#[test]
fn each_rfc_6455_violation_is_refused_after_the_clean_frames_before_it() {
    let masked_reserved = |first: u8| frame(first, b"x");
    let cases: Vec<(Vec<u8>, Violation)> = vec![
        (
            masked_reserved(0xc2),
            Violation::ReservedBits { bits: 0x40 },
        ),
        (
            masked_reserved(0x92),
            Violation::ReservedBits { bits: 0x10 },
        ),
        (
            masked_reserved(0x83),
            Violation::ReservedOpcode { opcode: 0x3 },
        ),
        (
            masked_reserved(0x87),
            Violation::ReservedOpcode { opcode: 0x7 },
        ),
        (
            masked_reserved(0x8b),
            Violation::ReservedOpcode { opcode: 0xb },
        ),
        (
            masked_reserved(0x8f),
            Violation::ReservedOpcode { opcode: 0xf },
        ),
        (vec![BINARY, 0x01, b'x'], Violation::Unmasked),
        (
            frame(0x09, b"x"),
            Violation::FragmentedControl { opcode: 0x9 },
        ),
        (
            frame(0x08, b""),
            Violation::FragmentedControl { opcode: 0x8 },
        ),
        (header(PING, 126), Violation::ControlTooLong { opcode: 0x9 }),
        (
            header(CLOSE, 70_000),
            Violation::ControlTooLong { opcode: 0x8 },
        ),
        (frame(LAST, b"x"), Violation::ContinuationWithoutStart),
        (frame(CONTINUE, b"x"), Violation::ContinuationWithoutStart),
        (header(BINARY, 1 << 63), Violation::InvalidLength),
        (
            header(BINARY, LIMIT as u64 + 1),
            Violation::TooLarge {
                limit: LIMIT as u64,
            },
        ),
        (
            header(BINARY, 1 << 40),
            Violation::TooLarge {
                limit: LIMIT as u64,
            },
        ),
    ];
    let clean = frame(BINARY, b"fine");
    for (bad, violation) in cases {
        let chunk = [clean.clone(), bad.clone()].concat();
        assert_eq!(
            refused(&[&chunk]),
            Err(Refusal {
                clean: clean.len(),
                violation
            }),
            "{bad:02x?}"
        );
    }
}

#[test]
fn a_new_data_frame_inside_a_fragmented_message_is_refused() {
    let start = frame(0x02, b"part");
    for next in [frame(BINARY, b"x"), frame(TEXT_START, b"x")] {
        let chunk = [start.clone(), next].concat();
        assert_eq!(
            refused(&[&chunk]),
            Err(Refusal {
                clean: start.len(),
                violation: Violation::DataFrameInsideMessage
            })
        );
    }
}

#[test]
fn a_length_over_the_limit_is_refused_on_its_header_not_its_payload() {
    // No payload byte follows: the header alone is enough.
    let header = header(BINARY, 1 << 30);
    assert_eq!(
        refused(&[&header[..10]]),
        Err(Refusal {
            clean: 0,
            violation: Violation::TooLarge {
                limit: LIMIT as u64
            }
        })
    );
}

#[test]
fn a_header_split_across_chunks_is_refused_when_its_length_is_whole() {
    let header = header(BINARY, LIMIT as u64 + 1);
    let mut scanner = FrameScanner::new(LIMIT);
    assert_eq!(scanner.scan(&header[..3]), Ok(()));
    assert_eq!(
        scanner.scan(&header[3..]),
        Err(Refusal {
            clean: 0,
            violation: Violation::TooLarge {
                limit: LIMIT as u64
            }
        })
    );
}

#[test]
fn fragments_over_the_limit_together_are_refused_on_the_header_that_passes_it() {
    let part = vec![0; 40 * 1024];
    let first = frame(0x02, &part);
    let ping = frame(PING, b"between");
    let mut scanner = FrameScanner::new(LIMIT);
    assert_eq!(
        scanner.scan(&[first.clone(), ping.clone()].concat()),
        Ok(())
    );
    let second = header(LAST, part.len() as u64);
    assert_eq!(
        scanner.scan(&second),
        Err(Refusal {
            clean: 0,
            violation: Violation::TooLarge {
                limit: LIMIT as u64
            }
        })
    );
}

#[test]
fn a_refusal_is_repeated_for_every_later_chunk() {
    let mut scanner = FrameScanner::new(LIMIT);
    let violation = Violation::Unmasked;
    assert!(scanner.scan(&[BINARY, 0x00]).is_err());
    assert_eq!(
        scanner.scan(&frame(BINARY, b"fine")),
        Err(Refusal {
            clean: 0,
            violation
        })
    );
}

#[test]
fn a_frame_after_a_finished_fragmented_message_starts_a_new_one() {
    let traffic = [
        frame(0x02, b"a"),
        frame(LAST, b"b"),
        frame(0x01, b"c"),
        frame(LAST, b"d"),
        frame(BINARY, b"e"),
    ]
    .concat();
    assert_eq!(refused(&[&traffic]), Ok(()));
}

fn assert_closes(cases: Vec<(ProtocolError, CloseCode, &str)>) {
    for (error, code, reason) in cases {
        let described = error.to_string();
        assert_eq!(
            close_for(&error, 65536),
            (code, reason.to_owned()),
            "{described}"
        );
    }
}

#[test]
fn each_violation_closes_with_its_own_code_and_text() {
    use CloseCode::{ProtocolError as P, TooLarge};
    for (violation, code, reason) in [
        (Violation::Unmasked, P, "a client frame is not masked"),
        (
            Violation::TooLarge { limit: 65536 },
            TooLarge,
            "a frame is larger than 65536 bytes",
        ),
        (
            Violation::ReservedBits { bits: 0x40 },
            P,
            "a frame sets reserved bits (0x40) but no extension was negotiated",
        ),
        (
            Violation::ControlTooLong { opcode: 0x9 },
            P,
            "a ping frame is longer than 125 bytes",
        ),
        (
            Violation::FragmentedControl { opcode: 0x8 },
            P,
            "a close frame is fragmented; control frames may not be",
        ),
    ] {
        assert_eq!(
            (violation.close_code(), violation.to_string()),
            (code, reason.to_owned())
        );
    }
}

#[test]
fn each_codec_protocol_error_closes_1002_and_overflow_1009() {
    use CloseCode::{ProtocolError as P, TooLarge};
    assert_closes(vec![
        (
            ProtocolError::UnmaskedFrame,
            P,
            "a client frame is not masked",
        ),
        (
            ProtocolError::InvalidOpcode(0xb),
            P,
            "opcode 0xb is reserved",
        ),
        (
            ProtocolError::InvalidLength(1),
            P,
            "a close frame carries 1 byte; its code needs 2",
        ),
        (
            ProtocolError::InvalidLength(126),
            P,
            "a control frame carries 126 bytes; the limit is 125",
        ),
        (
            ProtocolError::BadOpCode,
            P,
            "a close frame carries an invalid close code or a reason that is not UTF-8",
        ),
        (
            ProtocolError::ContinuationNotStarted,
            P,
            "a continuation frame comes without a message to continue",
        ),
        (
            ProtocolError::ContinuationStarted,
            P,
            "a new data frame starts while a fragmented message is still open",
        ),
        (
            ProtocolError::ContinuationFragment(actix_http::ws::OpCode::Ping),
            P,
            "a PING frame is fragmented; control frames may not be",
        ),
        (
            ProtocolError::Overflow,
            TooLarge,
            "a frame is larger than 65536 bytes",
        ),
    ]);
}

/// A session's reader on a real socket pair, fed `bytes` by the client side.
async fn frames_of(bytes: Vec<u8>) -> (crate::session::socket::Frames, tokio::net::TcpStream) {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    client.write_all(&bytes).await.unwrap();
    let connection = crate::session::socket::Connection::new(server);
    (
        crate::session::socket::Frames::new(connection, &[], LIMIT),
        client,
    )
}

#[actix_web::test]
async fn frames_before_a_violation_reach_the_session_first_then_the_stream_ends() {
    use crate::session::socket::{Broken, Incoming};
    use futures_util::StreamExt;
    let bytes = [
        frame(BINARY, b"one"),
        frame(TEXT_START, b"tw"),
        frame(PING, b"p"),
        frame(LAST, b"o"),
        header(BINARY, 1 << 20),
    ]
    .concat();
    let (mut frames, _client) = frames_of(bytes).await;
    assert_eq!(
        frames.next().await,
        Some(Ok(Incoming::Binary(Bytes::from_static(b"one"))))
    );
    assert_eq!(
        frames.next().await,
        Some(Ok(Incoming::Ping(Bytes::from_static(b"p"))))
    );
    assert_eq!(
        frames.next().await,
        Some(Ok(Incoming::Text(Bytes::from_static(b"two"))))
    );
    assert_eq!(
        frames.next().await,
        Some(Err(Broken {
            code: CloseCode::TooLarge,
            reason: "a frame is larger than 65536 bytes".to_owned()
        }))
    );
    assert!(
        frames.next().await.is_none(),
        "the stream ends after the violation"
    );
}

#[actix_web::test]
async fn fragments_are_joined_up_to_the_limit_and_text_is_checked_as_utf8() {
    use crate::session::socket::{Broken, Incoming};
    use futures_util::StreamExt;
    let half = vec![b'a'; LIMIT / 2];
    let bytes = [
        frame(TEXT_START, &half),
        frame(LAST, &half),
        frame(0x81, &[0xff, 0xfe]),
    ]
    .concat();
    let (mut frames, _client) = frames_of(bytes).await;
    assert_eq!(
        frames.next().await,
        Some(Ok(Incoming::Text(Bytes::from(vec![b'a'; LIMIT]))))
    );
    assert_eq!(
        frames.next().await,
        Some(Err(Broken {
            code: CloseCode::Undecodable,
            reason: "a text frame is not valid UTF-8".to_owned()
        }))
    );
}

#[actix_web::test]
async fn a_client_that_goes_away_ends_the_stream_and_an_idle_reader_holds_no_buffer() {
    use crate::session::socket::Incoming;
    use futures_util::StreamExt;
    let (mut frames, client) = frames_of(frame(BINARY, b"x")).await;
    assert_eq!(
        frames.next().await,
        Some(Ok(Incoming::Binary(Bytes::from_static(b"x"))))
    );
    assert_eq!(
        frames.held_bytes(),
        0,
        "the read buffer is let go once drained"
    );
    drop(client);
    assert!(frames.next().await.is_none());
}
