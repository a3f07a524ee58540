use std::collections::BTreeMap;
use std::path::PathBuf;

use super::*;
use crate::{
    ClientFrame, DeltaFrame, ErrorCode, HistoryEntry, PublishFrame, RemovedFrame, Scalar,
    ServerFrame, SnapshotFrame, Status,
};

fn client_fixtures() -> Vec<(&'static str, ClientFrame)> {
    let mut since = BTreeMap::new();
    since.insert("svc/api/latency".to_owned(), 41);
    let mut fields = BTreeMap::new();
    fields.insert("latency_ms".to_owned(), Some(Scalar::Float(12.5)));
    fields.insert("error".to_owned(), None);
    let mut labels = BTreeMap::new();
    labels.insert("region".to_owned(), Some("eu-west".to_owned()));
    vec![
        (
            "client-hello",
            ClientFrame::Hello {
                id: 1,
                token: Some("eyJhbGciOiJIUzI1NiJ9.e30.sig".into()),
                client: Some(crate::ClientName::Text("dashboard/1.0".into())),
            },
        ),
        (
            "client-sub",
            ClientFrame::Sub {
                id: 2,
                pattern: "svc/**".into(),
                since: Some(since),
                epoch: Some("e-5f3c2a9b1d".into()),
                more: false,
            },
        ),
        (
            "client-unsub",
            ClientFrame::Unsub {
                id: 3,
                pattern: "svc/**".into(),
            },
        ),
        (
            "client-pub",
            ClientFrame::Pub(PublishFrame {
                id: 4,
                resource: "svc/api/latency".into(),
                status: Some("degraded".into()),
                fields: Some(fields),
                labels: Some(labels),
                ttl_ms: Some(30_000),
            }),
        ),
        (
            "client-get",
            ClientFrame::Get {
                id: 5,
                resource: "svc/api/latency".into(),
            },
        ),
        (
            "client-history",
            ClientFrame::History {
                id: 6,
                resource: "svc/api/latency".into(),
                since: 40,
                limit: Some(100),
            },
        ),
        ("client-ping", ClientFrame::Ping { id: 7 }),
    ]
}

fn delta() -> DeltaFrame {
    let mut fields = BTreeMap::new();
    fields.insert("latency_ms".to_owned(), Some(Scalar::Int(840)));
    fields.insert("error".to_owned(), None);
    DeltaFrame {
        resource: "svc/api/latency".into(),
        seq: 42,
        at: 1_764_072_000_000,
        status: Some(Status::Degraded),
        fields: Some(fields),
        labels: None,
        ttl_ms: None,
    }
}

fn server_fixtures() -> Vec<(&'static str, ServerFrame)> {
    let mut fields = BTreeMap::new();
    fields.insert("latency_ms".to_owned(), Scalar::Int(840));
    fields.insert("healthy".to_owned(), Scalar::Bool(false));
    fields.insert("note".to_owned(), Scalar::Str("slow upstream".into()));
    let mut labels = BTreeMap::new();
    labels.insert("region".to_owned(), "eu-west".to_owned());
    let removed = RemovedFrame {
        resource: "svc/api/latency".into(),
        seq: 43,
    };
    vec![
        (
            "server-welcome",
            ServerFrame::Welcome {
                id: 1,
                session: "s-3f9a".into(),
                server: "fillstack/0.1.0".into(),
                heartbeat_ms: 25_000,
                max_frame_bytes: 65_536,
                roles: vec!["admin".into()],
                epoch: "e-5f3c2a9b1d".into(),
            },
        ),
        (
            "server-ok",
            ServerFrame::Ok {
                id: 2,
                count: Some(3),
            },
        ),
        ("server-ack", ServerFrame::Ack { id: 4, seq: 42 }),
        (
            "server-snapshot",
            ServerFrame::Snapshot(SnapshotFrame {
                id: None,
                resource: "svc/api/latency".into(),
                seq: 42,
                status: Status::Degraded,
                fields,
                labels,
                updated_at: 1_764_072_000_000,
                ttl_ms: Some(30_000),
                reset: true,
            }),
        ),
        ("server-delta", ServerFrame::Delta(delta())),
        ("server-removed", ServerFrame::Removed(removed.clone())),
        (
            "server-history",
            ServerFrame::History {
                id: 6,
                resource: "svc/api/latency".into(),
                deltas: vec![HistoryEntry::Delta(delta()), HistoryEntry::Removed(removed)],
                complete: true,
                more: false,
            },
        ),
        (
            "server-error",
            ServerFrame::Error {
                id: Some(9),
                code: ErrorCode::RateLimited,
                message: "publish rate over 100/s for this session".into(),
                retry_after_ms: Some(250),
            },
        ),
        (
            "server-pong",
            ServerFrame::Pong {
                id: 7,
                time: 1_764_072_000_123,
            },
        ),
    ]
}

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Golden files: `FILLSTACK_WRITE_FIXTURES=1 cargo test -p fillstack-protocol` rewrites them.
fn check_golden<T>(name: &str, frame: &T)
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let dir = fixtures_dir();
    let json_path = dir.join(format!("{name}.json"));
    let msgpack_path = dir.join(format!("{name}.msgpack"));
    if std::env::var_os("FILLSTACK_WRITE_FIXTURES").is_some() {
        let mut pretty = serde_json::to_string_pretty(frame).unwrap();
        pretty.push('\n');
        std::fs::write(&json_path, pretty).unwrap();
        std::fs::write(&msgpack_path, Codec::MsgPack.encode(frame)).unwrap();
    }
    let json = std::fs::read(&json_path).unwrap_or_else(|e| panic!("{}: {e}", json_path.display()));
    let msgpack =
        std::fs::read(&msgpack_path).unwrap_or_else(|e| panic!("{}: {e}", msgpack_path.display()));
    assert_eq!(
        &Codec::Json.decode::<T>(&json).unwrap(),
        frame,
        "{name}.json"
    );
    assert_eq!(
        &Codec::MsgPack.decode::<T>(&msgpack).unwrap(),
        frame,
        "{name}.msgpack"
    );
    assert_eq!(
        Codec::MsgPack.encode(frame).as_ref(),
        msgpack.as_slice(),
        "{name}.msgpack bytes"
    );
}

#[test]
fn every_frame_matches_its_golden_fixture_in_both_codecs() {
    for (name, frame) in client_fixtures() {
        check_golden(name, &frame);
    }
    for (name, frame) in server_fixtures() {
        check_golden(name, &frame);
    }
}

#[test]
fn every_frame_round_trips_through_both_codecs() {
    for codec in [Codec::MsgPack, Codec::Json] {
        for (name, frame) in client_fixtures() {
            assert_eq!(
                codec.decode::<ClientFrame>(&codec.encode(&frame)).unwrap(),
                frame,
                "{name}"
            );
        }
        for (name, frame) in server_fixtures() {
            assert_eq!(
                codec.decode::<ServerFrame>(&codec.encode(&frame)).unwrap(),
                frame,
                "{name}"
            );
        }
    }
}

#[test]
fn msgpack_frames_are_maps_with_string_keys() {
    let bytes = Codec::MsgPack.encode(&ServerFrame::Ack { id: 1, seq: 2 });
    // fixmap of 3 entries, then the key "t" as a fixstr.
    assert_eq!(&bytes[..3], &[0x83, 0xa1, b't']);
}

fn kind_of(codec: Codec, bytes: &[u8]) -> (FrameErrorKind, Option<u64>, String) {
    let error = codec.decode::<ClientFrame>(bytes).unwrap_err();
    (error.kind, error.request, error.message)
}

#[test]
fn bytes_that_are_not_a_map_are_undecodable() {
    use FrameErrorKind::Undecodable;
    let array = Codec::MsgPack.encode(&vec![1, 2]);
    assert_eq!(kind_of(Codec::MsgPack, &array).0, Undecodable);
    assert_eq!(kind_of(Codec::MsgPack, &[]).0, Undecodable);
    assert_eq!(
        kind_of(Codec::MsgPack, &[0x81, 0xa1]).0,
        Undecodable,
        "truncated"
    );
    assert_eq!(kind_of(Codec::Json, b"[1]").0, Undecodable);
    assert_eq!(kind_of(Codec::Json, b"{\"t\":").0, Undecodable);
    let mut trailing = Codec::MsgPack.encode(&ClientFrame::Ping { id: 1 }).to_vec();
    trailing.push(0xc0);
    let (kind, _, message) = kind_of(Codec::MsgPack, &trailing);
    assert_eq!(
        (kind, message.as_str()),
        (Undecodable, "1 bytes follow the frame's map")
    );
}

#[test]
fn a_map_of_the_wrong_shape_is_malformed_and_keeps_its_id() {
    use FrameErrorKind::Malformed;
    for codec in [Codec::MsgPack, Codec::Json] {
        let unknown = codec.encode(&serde_json::json!({"t": "launch", "id": 7}));
        let (kind, request, message) = kind_of(codec, &unknown);
        assert_eq!((kind, request), (Malformed, Some(7)));
        assert!(message.contains("launch"), "{message}");
        let missing = codec.encode(&serde_json::json!({"t": "get", "id": 8}));
        let (kind, request, message) = kind_of(codec, &missing);
        assert_eq!((kind, request), (Malformed, Some(8)));
        assert!(message.contains("resource"), "{message}");
        let nested_field = codec.encode(
            &serde_json::json!({"t": "pub", "id": 9, "resource": "a", "fields": {"x": [1]}}),
        );
        assert_eq!(kind_of(codec, &nested_field).0, Malformed);
    }
}

#[test]
fn deep_nesting_is_refused_without_recursion() {
    // 100,000 nested arrays inside a map: walked iteratively, refused at level 17.
    let mut deep = vec![0x81, 0xa1, b'x'];
    deep.extend(std::iter::repeat_n(0x91, 100_000));
    deep.push(0xc0);
    let (kind, _, message) = kind_of(Codec::MsgPack, &deep);
    assert_eq!(kind, FrameErrorKind::Malformed);
    assert_eq!(message, "the frame nests deeper than 16 levels");
    let json = format!("{{\"x\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(
        kind_of(Codec::Json, json.as_bytes()).0,
        FrameErrorKind::Malformed
    );
    // Sixteen levels are fine as far as shape goes.
    let mut ok = vec![0x82, 0xa1, b't', 0xa4, b'p', b'i', b'n', b'g', 0xa1, b'x'];
    ok.extend(std::iter::repeat_n(0x91, 14));
    ok.push(0xc0);
    assert!(check_msgpack(&ok).is_ok());
}

#[test]
fn huge_declared_lengths_are_truncation_not_allocation() {
    let lying = [0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, b't'];
    assert_eq!(
        kind_of(Codec::MsgPack, &lying).0,
        FrameErrorKind::Undecodable
    );
    let long_string = [0x81, 0xdb, 0xff, 0xff, 0xff, 0xff];
    assert_eq!(
        kind_of(Codec::MsgPack, &long_string).0,
        FrameErrorKind::Undecodable
    );
}

#[test]
fn protocol_md_shows_every_json_fixture_as_it_is() {
    let doc =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("PROTOCOL.md"))
            .unwrap();
    for (name, _) in client_fixtures()
        .into_iter()
        .map(|(n, _)| (n, ()))
        .chain(server_fixtures().into_iter().map(|(n, _)| (n, ())))
    {
        let json = std::fs::read_to_string(fixtures_dir().join(format!("{name}.json"))).unwrap();
        assert!(
            doc.contains(json.trim_end()),
            "PROTOCOL.md does not show fixtures/{name}.json"
        );
    }
}

mod robustness {
    //! Random bytes and random values never panic the decoder, whatever they nest.
    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;

    /// Arbitrary JSON-like values, nested up to 24 levels (deeper than the limit).
    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "[a-z]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(24, 256, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::btree_map("[a-z]{1,4}|t|id|resource|fields", inner, 0..8)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

        #[test]
        fn random_bytes_never_panic_either_codec(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = Codec::MsgPack.decode::<ClientFrame>(&bytes);
            let _ = Codec::Json.decode::<ClientFrame>(&bytes);
        }

        #[test]
        fn random_values_never_panic_and_deep_ones_are_refused(value in value()) {
            for codec in [Codec::MsgPack, Codec::Json] {
                let bytes = codec.encode(&value);
                let outcome = codec.decode::<ClientFrame>(&bytes);
                if depth(&value) > MAX_NESTING && value.is_object() {
                    prop_assert!(outcome.is_err());
                }
            }
        }

        #[test]
        fn frames_with_random_pub_fields_decode_or_fail_cleanly(fields in prop::collection::btree_map("[a-z]{1,6}", value(), 0..10)) {
            let frame = serde_json::json!({"t": "pub", "id": 1, "resource": "svc/x", "fields": fields});
            for codec in [Codec::MsgPack, Codec::Json] {
                if let Err(error) = codec.decode::<ClientFrame>(&codec.encode(&frame)) {
                    prop_assert_eq!(error.kind, FrameErrorKind::Malformed);
                    prop_assert_eq!(error.request, Some(1));
                }
            }
        }
    }

    fn depth(value: &Value) -> usize {
        match value {
            Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
            Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }
}
