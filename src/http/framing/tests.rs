use std::io;

use actix_web::error::PayloadError;
use actix_ws::ProtocolError;
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

fn nested(violation: Violation) -> ProtocolError {
    // As actix-ws's MessageStream wraps an error of its payload.
    let payload = PayloadError::Io(io::Error::new(io::ErrorKind::InvalidData, violation));
    ProtocolError::Io(io::Error::other(payload))
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
fn each_violation_closes_with_its_own_code_and_text_through_actix_ws_wrapping() {
    use CloseCode::{ProtocolError as P, TooLarge};
    assert_closes(vec![
        (
            nested(Violation::Unmasked),
            P,
            "a client frame is not masked",
        ),
        (
            nested(Violation::TooLarge { limit: 65536 }),
            TooLarge,
            "a frame is larger than 65536 bytes",
        ),
        (
            nested(Violation::ReservedBits { bits: 0x40 }),
            P,
            "a frame sets reserved bits (0x40) but no extension was negotiated",
        ),
        (
            nested(Violation::ControlTooLong { opcode: 0x9 }),
            P,
            "a ping frame is longer than 125 bytes",
        ),
        (
            nested(Violation::FragmentedControl { opcode: 0x8 }),
            P,
            "a close frame is fragmented; control frames may not be",
        ),
    ]);
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

#[test]
fn io_errors_are_told_apart_by_what_they_carry() {
    use CloseCode::{Normal, ProtocolError as P, TooLarge, Undecodable};
    assert_closes(vec![
        (
            ProtocolError::Io(io::Error::other("Exceeded maximum continuation size")),
            TooLarge,
            "a frame is larger than 65536 bytes",
        ),
        (
            ProtocolError::Io(io::Error::new(
                io::ErrorKind::InvalidData,
                "Received a frame with non-zero reserved bits",
            )),
            P,
            "a frame sets reserved bits but no extension was negotiated",
        ),
        (
            ProtocolError::Io(io::Error::new(io::ErrorKind::InvalidData, "invalid utf-8")),
            Undecodable,
            "a text frame is not valid UTF-8",
        ),
        (
            ProtocolError::Io(io::Error::other(PayloadError::Incomplete(None))),
            Normal,
            "the connection ended: payload reached EOF before completing: None",
        ),
    ]);
}

#[actix_web::test]
async fn frames_before_a_violation_reach_the_session_first_then_the_stream_ends() {
    use actix_ws::AggregatedMessage;
    let request = actix_web::test::TestRequest::default()
        .insert_header(("upgrade", "websocket"))
        .insert_header(("connection", "upgrade"))
        .insert_header(("sec-websocket-version", "13"))
        .insert_header(("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="))
        .to_http_request();
    let bytes = [
        frame(BINARY, b"one"),
        frame(TEXT_START, b"tw"),
        frame(LAST, b"o"),
        header(BINARY, 1 << 20),
    ]
    .concat();
    let chunks = futures_util::stream::iter([Ok::<_, PayloadError>(Bytes::from(bytes))]);
    let mut raw: actix_web::dev::Payload = actix_web::dev::Payload::Stream {
        payload: Box::pin(chunks),
    };
    let body = web::Payload::from_request(&request, &mut raw)
        .await
        .unwrap();
    let body = scan_payload(&request, body, LIMIT).await.unwrap();
    // The response must live: dropping it tells the stream the connection closed.
    let (_response, _socket, stream) = actix_ws::handle(&request, body).unwrap();
    let mut stream = stream
        .max_frame_size(LIMIT)
        .aggregate_continuations()
        .max_continuation_size(LIMIT);
    let first = stream.recv().await.unwrap().unwrap();
    assert_eq!(first, AggregatedMessage::Binary(Bytes::from_static(b"one")));
    let second = stream.recv().await.unwrap().unwrap();
    assert_eq!(second, AggregatedMessage::Text("two".into()));
    let error = stream.recv().await.unwrap().unwrap_err();
    assert_eq!(
        close_for(&error, LIMIT),
        (
            CloseCode::TooLarge,
            "a frame is larger than 65536 bytes".to_owned()
        )
    );
    assert!(
        stream.recv().await.is_none(),
        "the stream ends after the violation"
    );
}
