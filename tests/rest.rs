//! The REST facade over real HTTP: pagination, ETag, publish and delete seen by
//! sockets, both encodings, and every error status.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a failure is the test failing

mod support;

use std::collections::BTreeSet;

use awc::http::StatusCode;
use fillstack_protocol::{ClientFrame, Codec, PublishFrame, Scalar, ServerFrame, SnapshotFrame};
use serde_json::{Value, json};
use support::*;

fn http() -> awc::Client {
    awc::Client::builder().timeout(secs(30)).finish()
}

async fn get_json(url: &str) -> (StatusCode, Value) {
    let mut response = http().get(url).send().await.unwrap();
    let body = response.body().limit(16 << 20).await.unwrap();
    (
        response.status(),
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

async fn post_json(url: &str, body: &Value) -> (StatusCode, Value) {
    let mut response = http().post(url).send_json(body).await.unwrap();
    let body = response.body().await.unwrap();
    (
        response.status(),
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

#[actix_web::test]
async fn paging_while_publishing_sees_every_resource_exactly_once() {
    let hub = TestHub::start().await;
    let mut publisher = hub.client().await;
    for n in 0..2500u64 {
        let frame = PublishFrame {
            id: n + 1,
            resource: format!("host/h{n:04}"),
            status: Some("up".into()),
            ..PublishFrame::default()
        };
        publisher.send(&ClientFrame::Pub(frame)).await.unwrap();
    }
    for _ in 0..2500 {
        assert!(matches!(
            next(&mut publisher).await,
            ServerFrame::Ack { .. }
        ));
    }
    let mut seen = BTreeSet::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut url = hub.http("/api/v1/resources?pattern=host/*&limit=100");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let (status, page) = get_json(&url).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for snapshot in page["resources"].as_array().unwrap() {
            assert!(
                seen.insert(snapshot["resource"].as_str().unwrap().to_owned()),
                "seen twice: {snapshot}"
            );
        }
        pages += 1;
        // Changes keep coming between pages; they move no resource between pages.
        let id = 10_000 + pages;
        let frame = PublishFrame {
            id,
            resource: format!("host/h{:04}", pages * 7),
            status: Some("down".into()),
            ..PublishFrame::default()
        };
        publisher
            .publish_frame(ClientFrame::Pub(frame))
            .await
            .unwrap();
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!((seen.len(), pages), (2500, 25));
    let (_, downs) =
        get_json(&hub.http("/api/v1/resources?pattern=host/*&status=down&limit=1000")).await;
    assert_eq!(downs["resources"].as_array().unwrap().len(), 25);
}

#[actix_web::test]
async fn a_snapshot_carries_its_seq_as_etag_and_if_none_match_answers_304() {
    let hub = TestHub::start().await;
    let (status, answer) = post_json(
        &hub.http("/api/v1/resources/svc/api/latency"),
        &json!({"status": "up", "fields": {"ms": 3}}),
    )
    .await;
    assert_eq!((status, answer), (StatusCode::OK, json!({"seq": 1})));
    let response = http()
        .get(hub.http("/api/v1/resources/svc/api/latency"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers().get("etag").unwrap(), "\"1\"");
    let cached = http()
        .get(hub.http("/api/v1/resources/svc/api/latency"))
        .insert_header(("If-None-Match", "\"1\""))
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    post_json(
        &hub.http("/api/v1/resources/svc/api/latency"),
        &json!({"status": "down"}),
    )
    .await;
    let changed = http()
        .get(hub.http("/api/v1/resources/svc/api/latency"))
        .insert_header(("If-None-Match", "\"1\""))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
}

#[actix_web::test]
async fn rest_publishes_and_deletes_reach_websocket_subscribers() {
    let hub = TestHub::start().await;
    let mut watcher = hub.client().await;
    watcher.subscribe("job/**", None).await.unwrap();
    post_json(
        &hub.http("/api/v1/resources/job/backup"),
        &json!({"status": "up", "labels": {"team": "ops"}, "ttl_ms": 60000}),
    )
    .await;
    let ServerFrame::Snapshot(created) = next(&mut watcher).await else {
        panic!()
    };
    assert_eq!(
        (created.seq, created.labels["team"].as_str(), created.ttl_ms),
        (1, "ops", Some(60_000))
    );
    let deleted = http()
        .delete(hub.http("/api/v1/resources/job/backup"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let ServerFrame::Removed(removed) = next(&mut watcher).await else {
        panic!()
    };
    assert_eq!((removed.resource.as_str(), removed.seq), ("job/backup", 2));
    let (status, _) = get_json(&hub.http("/api/v1/resources/job/backup")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, history) = get_json(&hub.http("/api/v1/history/job/backup?since=0")).await;
    assert_eq!(
        history["deltas"][1],
        json!({"t": "removed", "resource": "job/backup", "seq": 2})
    );
    assert_eq!(history["complete"], json!(true));
}

#[actix_web::test]
async fn msgpack_bodies_and_answers_carry_the_same_maps() {
    let hub = TestHub::start().await;
    let body = Codec::MsgPack.encode(&json!({"status": "degraded", "fields": {"load": 1.5}}));
    let mut response = http()
        .post(hub.http("/api/v1/resources/host/m1"))
        .insert_header(("Content-Type", "application/msgpack"))
        .insert_header(("Accept", "application/msgpack"))
        .send_body(body)
        .await
        .unwrap();
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "application/msgpack"
    );
    let published: Value = Codec::MsgPack
        .decode(&response.body().await.unwrap())
        .unwrap();
    assert_eq!(published, json!({"seq": 1}));
    let mut response = http()
        .get(hub.http("/api/v1/resources/host/m1"))
        .insert_header(("Accept", "application/msgpack"))
        .send()
        .await
        .unwrap();
    let snapshot: SnapshotFrame = Codec::MsgPack
        .decode(&response.body().await.unwrap())
        .unwrap();
    assert_eq!(snapshot.fields["load"], Scalar::Float(1.5));
}

/// (method, path, body, status, code, what the message says)
type Case = (
    &'static str,
    &'static str,
    Option<Value>,
    u16,
    &'static str,
    &'static str,
);

#[actix_web::test]
async fn every_error_names_the_problem_with_the_matching_status() {
    let hub = TestHub::start().await;
    post_json(
        &hub.http("/api/v1/resources/svc/x"),
        &json!({"status": "up"}),
    )
    .await;
    let cases: Vec<Case> = vec![
        (
            "GET",
            "/api/v1/resources/a//b",
            None,
            400,
            "invalid",
            "resource id `a//b` has an empty segment",
        ),
        (
            "GET",
            "/api/v1/resources/svc/none",
            None,
            404,
            "not_found",
            "resource `svc/none` does not exist",
        ),
        (
            "GET",
            "/api/v1/resources?pattern=x/***",
            None,
            400,
            "invalid",
            "pattern `x/***`",
        ),
        (
            "GET",
            "/api/v1/resources?limit=0",
            None,
            400,
            "invalid",
            "limit 0 is out of range 1..=1000",
        ),
        (
            "GET",
            "/api/v1/resources?cursor=%2F%2F",
            None,
            400,
            "invalid",
            "cursor `//` is not one this hub gave",
        ),
        (
            "GET",
            "/api/v1/resources?color=red",
            None,
            400,
            "invalid",
            "unknown query parameter `color`",
        ),
        (
            "GET",
            "/api/v1/resources?status=fine",
            None,
            400,
            "invalid",
            "status `fine` is not one of",
        ),
        (
            "GET",
            "/api/v1/history/svc/x?since=abc",
            None,
            400,
            "invalid",
            "`since=abc` is not a whole number",
        ),
        (
            "GET",
            "/api/v1/history/svc/none",
            None,
            404,
            "not_found",
            "resource `svc/none` does not exist",
        ),
        (
            "POST",
            "/api/v1/resources/svc/x",
            Some(json!({"status": "fine"})),
            400,
            "invalid",
            "status `fine` is not one of",
        ),
        (
            "POST",
            "/api/v1/resources/svc/x",
            Some(json!({"fields": {"a": [1]}})),
            400,
            "bad_frame",
            "the body is not valid",
        ),
        (
            "POST",
            "/api/v1/resources/svc/x",
            Some(json!([1, 2])),
            400,
            "bad_frame",
            "must be a JSON object",
        ),
        (
            "DELETE",
            "/api/v1/resources/svc/none",
            None,
            404,
            "not_found",
            "resource `svc/none` does not exist",
        ),
    ];
    for (method, path, body, status, code, says) in cases {
        let request = http().request(method.parse().unwrap(), hub.http(path));
        let mut response = match body {
            Some(body) => request.send_json(&body).await.unwrap(),
            None => request.send().await.unwrap(),
        };
        let answer: Value = serde_json::from_slice(&response.body().await.unwrap()).unwrap();
        assert_eq!(
            response.status().as_u16(),
            status,
            "{method} {path}: {answer}"
        );
        assert_eq!(answer["error"]["code"], code, "{method} {path}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(says),
            "{method} {path}: `{message}` should say `{says}`"
        );
    }
    let mut huge = http()
        .post(hub.http("/api/v1/resources/svc/x"))
        .insert_header(("Content-Type", "application/json"))
        .send_body(vec![b' '; 70 * 1024])
        .await
        .unwrap();
    assert_eq!(huge.status().as_u16(), 413);
    let answer: Value = serde_json::from_slice(&huge.body().await.unwrap()).unwrap();
    assert_eq!(answer["error"]["code"], "too_large");
    let mut text = http()
        .post(hub.http("/api/v1/resources/svc/x"))
        .insert_header(("Content-Type", "text/plain"))
        .send_body("status=up")
        .await
        .unwrap();
    assert_eq!(text.status().as_u16(), 415);
    let answer: Value = serde_json::from_slice(&text.body().await.unwrap()).unwrap();
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Content-Type `text/plain` is not supported")
    );
}

#[actix_web::test]
async fn status_counts_sessions_subscriptions_and_resources_and_openapi_lists_every_route() {
    let hub = TestHub::start().await;
    let mut client = hub.client().await;
    client.subscribe("**", None).await.unwrap();
    set_status(&mut client, "svc/one", "up").await;
    let (_, status) = get_json(&hub.http("/api/v1/status")).await;
    assert_eq!(
        (
            status["sessions"].as_u64(),
            status["subscriptions"].as_u64(),
            status["resources"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(status["nodes"].as_array().unwrap().len(), 1);
    let (_, document) = get_json(&hub.http("/api/openapi.json")).await;
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/resources",
        "/api/v1/resources/{id}",
        "/api/v1/history/{id}",
        "/api/v1/status",
    ] {
        assert!(
            document["paths"][path].is_object(),
            "{path} is not described"
        );
    }
    assert!(document["paths"]["/api/v1/resources/{id}"]["delete"].is_object());
}

/// GET `url` with `Authorization: Bearer <bearer>`: the status and the JSON body.
async fn get_json_as(url: &str, bearer: &str) -> (StatusCode, Value) {
    let mut response = http()
        .get(url)
        .insert_header(("Authorization", format!("Bearer {bearer}")))
        .send()
        .await
        .unwrap();
    let body = response.body().limit(16 << 20).await.unwrap();
    (
        response.status(),
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

/// Every id a list of `query` shows to `bearer`, following `next_cursor` page by page.
async fn list_every_page(hub: &TestHub, query: &str, bearer: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = hub.http(&format!("/api/v1/resources?limit=4{query}"));
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let (status, page) = get_json_as(&url, bearer).await;
        assert_eq!(status, StatusCode::OK, "{url}: {page}");
        let resources = page["resources"].as_array().unwrap();
        assert!(resources.len() <= 4, "{url}: {page}");
        ids.extend(
            resources
                .iter()
                .map(|s| s["resource"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return ids,
        }
    }
}

#[actix_web::test]
async fn a_list_holds_only_what_the_token_may_read_whatever_the_pattern() {
    let hub = TestHub::builder().auth().start().await;
    let admin = token(&["admin"], None, 600);
    let mut all = Vec::new();
    for n in 0..6 {
        all.push(format!("svc/api/{n}"));
        all.push(format!("svc/db/{n}"));
        all.push(format!("job/backup/{n}"));
        all.push(format!("team/a/b/{n}"));
    }
    all.extend((0..10).map(|n| format!("host/web-{n}")));
    all.extend(["job/nightly".to_owned(), "job/weekly".to_owned()]);
    all.sort();
    for id in &all {
        let answer = http()
            .post(hub.http(&format!("/api/v1/resources/{id}")))
            .insert_header(("Authorization", format!("Bearer {admin}")))
            .send_json(&json!({"status": "up"}))
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "{id}");
    }
    let scopes: [&[&str]; 4] = [
        &["svc/**"],
        &["svc/api/*", "host/web-1", "job/*"],
        &["team/**"],
        &["nothing/here"],
    ];
    let queries = [
        "",
        "&pattern=**",
        "&pattern=svc/**",
        "&pattern=svc/api/*",
        "&pattern=host/*",
        "&pattern=job/**",
        "&pattern=svc/api/3",
        "&pattern=host/web-2",
        "&pattern=other/**",
    ];
    for scope in scopes {
        let bearer = token(&["viewer"], Some(scope), 600);
        let patterns: Vec<_> = scope
            .iter()
            .map(|p| fillstack_protocol::Pattern::parse(p).unwrap())
            .collect();
        for query in queries {
            let pattern =
                fillstack_protocol::Pattern::parse(query.strip_prefix("&pattern=").unwrap_or("**"))
                    .unwrap();
            let expected: Vec<String> = all
                .iter()
                .filter(|id| {
                    let id = fillstack_protocol::ResourceId::parse(id).unwrap();
                    pattern.matches(&id) && patterns.iter().any(|scope| scope.matches(&id))
                })
                .cloned()
                .collect();
            let listed = list_every_page(&hub, query, &bearer).await;
            assert_eq!(listed, expected, "res {scope:?}, query `{query}`");
        }
    }
    // Spelled out for two of them, so the test does not only trust Pattern::matches.
    let narrow = token(
        &["viewer"],
        Some(&["svc/api/*", "host/web-1", "job/*"]),
        600,
    );
    let listed = list_every_page(&hub, "", &narrow).await;
    let mut expected: Vec<String> = (0..6).map(|n| format!("svc/api/{n}")).collect();
    expected.extend(["host/web-1", "job/nightly", "job/weekly"].map(String::from));
    expected.sort();
    assert_eq!(listed, expected);
    let (status, page) =
        get_json_as(&hub.http("/api/v1/resources?pattern=host/web-2"), &narrow).await;
    assert_eq!(
        (status, page),
        (
            StatusCode::OK,
            json!({"resources": [], "next_cursor": null})
        )
    );
}

/// A history answer in the encoding `accept` asks for: its body's size and its map.
async fn history_part(hub: &TestHub, path: &str, accept: &str) -> (usize, Value) {
    let mut response = http()
        .get(hub.http(path))
        .insert_header(("Accept", accept))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let body = response.body().limit(64 << 20).await.unwrap();
    let page = if accept == "application/msgpack" {
        Codec::MsgPack.decode(&body).unwrap()
    } else {
        serde_json::from_slice(&body).unwrap()
    };
    (body.len(), page)
}

#[actix_web::test]
async fn a_history_answer_stays_within_1_mib_and_says_more_until_the_last_part() {
    let hub = TestHub::start().await;
    let mut publisher = hub.client().await;
    // 1000 deltas of about 17 KB: 64 string fields of 256 bytes, every one changed.
    for n in 0..1000u64 {
        let value = format!("{n:08}").repeat(32);
        let fields = (0..64)
            .map(|f| (format!("f{f:02}"), Some(Scalar::Str(value.clone()))))
            .collect();
        let frame = PublishFrame {
            id: n + 1,
            resource: "big/one".into(),
            fields: Some(fields),
            ..PublishFrame::default()
        };
        publisher.send(&ClientFrame::Pub(frame)).await.unwrap();
    }
    for _ in 0..1000 {
        assert!(matches!(
            next(&mut publisher).await,
            ServerFrame::Ack { .. }
        ));
    }
    for accept in ["application/json", "application/msgpack"] {
        let mut seqs = Vec::new();
        let mut parts = 0;
        let mut since = 0;
        loop {
            let path = format!("/api/v1/history/big/one?since={since}&limit=1000");
            let (bytes, page) = history_part(&hub, &path, accept).await;
            parts += 1;
            assert!(bytes <= 1 << 20, "{accept}: {path} answered {bytes} bytes");
            assert_eq!(page["complete"], json!(true), "{accept}");
            let deltas = page["deltas"].as_array().unwrap();
            assert!(!deltas.is_empty(), "{accept}: {path} carried no delta");
            seqs.extend(deltas.iter().map(|d| d["seq"].as_u64().unwrap()));
            match page.get("more") {
                Some(more) if *more == json!(true) => since = *seqs.last().unwrap(),
                None => break,
                Some(other) => panic!("{accept}: more is {other}; it is true or absent"),
            }
        }
        assert_eq!(seqs, (1..=1000).collect::<Vec<u64>>(), "{accept}");
        assert!(parts >= 16, "{accept}: about 17 MB in {parts} parts");
    }
}

#[actix_web::test]
async fn every_openapi_path_parameter_is_in_its_template_and_the_others_are_optional_queries() {
    let hub = TestHub::start().await;
    let (_, document) = get_json(&hub.http("/api/openapi.json")).await;
    let mut queries = BTreeSet::new();
    for (template, operations) in document["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let parameters = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut in_path = BTreeSet::new();
            for parameter in &parameters {
                let name = parameter["name"].as_str().unwrap();
                match parameter["in"].as_str().unwrap() {
                    "path" => {
                        assert!(
                            template.contains(&format!("{{{name}}}")),
                            "{method} {template}: path parameter `{name}` is not in the template"
                        );
                        assert_eq!(parameter["required"], json!(true), "{method} {template}");
                        in_path.insert(name.to_owned());
                    }
                    "query" => {
                        assert_ne!(
                            parameter["required"],
                            json!(true),
                            "{method} {template}: query `{name}` is optional"
                        );
                        queries.insert(format!("{method} {template}?{name}"));
                    }
                    other => panic!("{method} {template}: `{name}` is in {other}"),
                }
            }
            let placeholders: BTreeSet<String> = template
                .split('{')
                .skip(1)
                .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
                .collect();
            assert_eq!(placeholders, in_path, "{method} {template}");
        }
    }
    let expected: BTreeSet<String> = [
        "get /api/v1/resources?pattern",
        "get /api/v1/resources?status",
        "get /api/v1/resources?limit",
        "get /api/v1/resources?cursor",
        "get /api/v1/history/{id}?since",
        "get /api/v1/history/{id}?limit",
        "get /api/v1/uptime/{id}?days",
    ]
    .map(String::from)
    .into();
    assert_eq!(queries, expected);
    let history = &document["components"]["schemas"]["HistoryPage"];
    assert_eq!(history["properties"]["more"]["type"], json!("boolean"));
    assert!(
        history["properties"]["more"]["description"]
            .as_str()
            .unwrap()
            .contains("1 MiB")
    );
}

#[actix_web::test]
async fn nobody_publishes_or_deletes_under_hub_not_even_an_admin() {
    let open = TestHub::builder().health_every(ms(100)).start().await;
    let secured = TestHub::builder()
        .auth()
        .health_every(ms(100))
        .start()
        .await;
    let admin = format!("Bearer {}", token(&["admin"], None, 600));
    for (hub, bearer) in [(&open, None), (&secured, Some(admin.as_str()))] {
        // A resource the hub's own health reporter made, so a delete finds it.
        let mut watcher = match bearer {
            None => hub.client().await,
            Some(bearer) => hub.client_with(bearer.trim_start_matches("Bearer ")).await,
        };
        watcher.subscribe("hub/**", None).await.unwrap();
        let reported = loop {
            if let ServerFrame::Snapshot(snapshot) = next(&mut watcher).await {
                break snapshot.resource;
            }
        };
        for (method, id) in [
            ("POST", reported.as_str()),
            ("DELETE", reported.as_str()),
            ("POST", "hub/elsewhere/x"),
            ("DELETE", "hub/elsewhere/x"),
        ] {
            let mut request = http().request(
                method.parse().unwrap(),
                hub.http(&format!("/api/v1/resources/{id}")),
            );
            if let Some(bearer) = bearer {
                request = request.insert_header(("Authorization", bearer));
            }
            let mut response = if method == "POST" {
                request.send_json(&json!({"status": "down"})).await.unwrap()
            } else {
                request.send().await.unwrap()
            };
            let answer: Value = serde_json::from_slice(&response.body().await.unwrap()).unwrap();
            assert_eq!(
                response.status(),
                StatusCode::FORBIDDEN,
                "{method} {id}: {answer}"
            );
            assert_eq!(
                answer,
                json!({"error": {"code": "forbidden",
                    "message": format!("`{id}` is under hub/, which only the hub itself writes")}}),
                "{method} {id} (auth: {})",
                bearer.is_some()
            );
        }
        // The hub itself still reports there: a later report is a delta.
        let update = loop {
            match next(&mut watcher).await {
                ServerFrame::Delta(update) => break update,
                ServerFrame::Snapshot(_) => {}
                other => panic!("expected the hub's next report, got {other:?}"),
            }
        };
        assert!(update.resource.starts_with("hub/"), "{update:?}");
    }
}

#[actix_web::test]
async fn a_rest_publish_refuses_names_outside_the_grammar_and_floats_that_are_not_finite() {
    let hub = TestHub::start().await;
    let (status, answer) = post_json(
        &hub.http("/api/v1/resources/svc/a"),
        &json!({"status": "up", "fields": {"cpu load": 1}}),
    )
    .await;
    assert_eq!(
        (status, answer),
        (
            StatusCode::BAD_REQUEST,
            json!({"error": {"code": "invalid",
                "message": "field name `cpu load` must match [A-Za-z0-9][A-Za-z0-9_.:-]*"}})
        )
    );
    let (status, answer) = post_json(
        &hub.http("/api/v1/resources/svc/a"),
        &json!({"labels": {"team/x": "ops"}}),
    )
    .await;
    assert_eq!(
        (status, answer["error"]["message"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("label name `team/x` must match [A-Za-z0-9][A-Za-z0-9_.:-]*")
        )
    );
    let mut nan_fields = fillstack_protocol::FieldChanges::new();
    nan_fields.insert("ratio".into(), Some(Scalar::Float(f64::NAN)));
    let body = fillstack_protocol::PublishFrame {
        fields: Some(nan_fields),
        ..Default::default()
    };
    let mut response = http()
        .post(hub.http("/api/v1/resources/svc/a"))
        .insert_header(("Content-Type", "application/msgpack"))
        .send_body(Codec::MsgPack.encode(&body))
        .await
        .unwrap();
    let answer: Value = serde_json::from_slice(&response.body().await.unwrap()).unwrap();
    assert_eq!(
        (response.status(), answer),
        (
            StatusCode::BAD_REQUEST,
            json!({"error": {"code": "invalid",
                "message": "field `ratio` is NaN; floats must be finite"}})
        )
    );
    let (status, _) = get_json(&hub.http("/api/v1/resources/svc/a")).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "no refused publish created it"
    );
}
