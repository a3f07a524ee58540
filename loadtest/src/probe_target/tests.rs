use super::*;

fn plan(probes: usize) -> ProbePlan {
    ProbePlan {
        probes,
        interval: Duration::from_secs(1),
        timeout: Duration::from_secs(2),
        prefix: "probe/load".into(),
    }
}

fn request(parsed: Parsed) -> Request {
    match parsed {
        Parsed::Request(request) => request,
        other => panic!("not a whole request: {other:?}"),
    }
}

#[test]
fn the_config_has_one_http_probe_table_per_probe_aimed_at_the_target() {
    let addr: SocketAddr = "127.0.0.1:9000".parse().unwrap();
    let toml = plan(3).config_toml(addr).unwrap();
    assert_eq!(toml.matches("[[probe]]").count(), 3, "{toml}");
    assert!(
        toml.contains(
            "[[probe]]\nresource = \"probe/load/p2\"\nkind = \"http\"\n\
             target = \"http://127.0.0.1:9000/health?i=2\"\ninterval = \"1s\"\n\
             timeout = \"2s\"\n"
        ),
        "{toml}"
    );
    assert!(toml.lines().all(|line| line.is_empty()
        || line.starts_with('#')
        || line == "[[probe]]"
        || line.contains(" = ")));
}

#[test]
fn a_prefix_that_makes_a_bad_resource_id_is_refused_with_the_protocol_message() {
    let addr: SocketAddr = "127.0.0.1:9000".parse().unwrap();
    let bad = ProbePlan {
        prefix: "probe//load".into(),
        ..plan(1)
    };
    let error = bad.config_toml(addr).unwrap_err();
    assert!(error.to_string().contains("empty segment"), "{error}");
}

#[test]
fn durations_read_and_write_as_the_hub_config_has_them() {
    assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(parse_duration("1s"), Ok(Duration::from_secs(1)));
    assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
    for bad in ["", "s", "1", "1h", "1.5s", "-1s"] {
        assert!(parse_duration(bad).is_err(), "{bad:?}");
    }
    assert_eq!(duration_text(Duration::from_secs(2)), "2s");
    assert_eq!(duration_text(Duration::from_millis(1500)), "1500ms");
}

#[test]
fn requests_are_read_whole_one_at_a_time() {
    let check = b"GET /health?i=1 HTTP/1.1\r\nHost: x\r\n\r\n";
    let two = [&check[..], b"GET /stats HTTP/1.1\r\n\r\n"].concat();
    let first = request(parse(&two));
    assert_eq!(first.len, check.len());
    assert!(first.keep_alive && !first.is_stats && !first.is_head);
    let second = request(parse(&two[first.len..]));
    assert!(second.is_stats);
    assert_eq!(parse(&two[..20]), Parsed::Incomplete);
}

#[test]
fn a_body_is_skipped_and_connection_headers_are_obeyed() {
    let posted = b"POST /h HTTP/1.1\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc";
    let whole = request(parse(posted));
    assert_eq!(whole.len, posted.len());
    assert!(!whole.keep_alive);
    assert_eq!(parse(&posted[..posted.len() - 1]), Parsed::Incomplete);
    let old = request(parse(b"HEAD / HTTP/1.0\r\n\r\n"));
    assert!(!old.keep_alive && old.is_head);
    let kept = request(parse(b"GET / HTTP/1.0\r\nconnection: Keep-Alive\r\n\r\n"));
    assert!(kept.keep_alive);
}

#[test]
fn what_the_target_does_not_read_closes_the_connection() {
    for bad in [
        &b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
        b"GET / SPDY/3\r\n\r\n",
        b"GET / HTTP/1.1\r\nno colon\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n",
    ] {
        assert_eq!(
            parse(bad),
            Parsed::Unreadable,
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

/// Reads `n` responses (each ends with its `content-length` body) from `socket`.
async fn responses(socket: &mut TcpStream, n: usize) -> Vec<String> {
    let mut text = String::new();
    let mut chunk = [0u8; 4096];
    let mut found = Vec::new();
    while found.len() < n {
        let read = socket.read(&mut chunk).await.unwrap();
        assert!(read > 0, "closed after {found:?}, then {text:?}");
        text.push_str(std::str::from_utf8(&chunk[..read]).unwrap());
        while let Some(head_end) = text.find("\r\n\r\n") {
            let len: usize = text[..head_end]
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .unwrap()
                .parse()
                .unwrap();
            if text.len() < head_end + 4 + len {
                break;
            }
            found.push(text.drain(..head_end + 4 + len).collect());
        }
    }
    found
}

#[actix_rt::test]
async fn the_target_answers_and_counts_every_check_on_a_kept_connection() {
    let addr = "127.0.0.1:0".parse().unwrap();
    let target = ProbeTarget::bind(addr, &plan(3)).await.unwrap();
    let addr = target.addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = actix_rt::spawn(target.serve(async {
        let _ = stopped.await;
    }));

    let mut socket = TcpStream::connect(addr).await.unwrap();
    for i in 0..3 {
        let check = format!("GET /health?i={i} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        socket.write_all(check.as_bytes()).await.unwrap();
        let reply = responses(&mut socket, 1).await;
        assert!(reply[0].starts_with("HTTP/1.1 200 OK\r\n"), "{reply:?}");
        assert!(reply[0].ends_with("\r\n\r\nok\n"), "{reply:?}");
    }
    socket
        .write_all(b"GET /stats HTTP/1.1\r\n\r\n")
        .await
        .unwrap();
    let stats = responses(&mut socket, 1).await.remove(0);
    let body = &stats[stats.find("\r\n\r\n").unwrap() + 4..];
    let stats: TargetStats = serde_json::from_str(body).unwrap();
    assert_eq!(
        (stats.requests, stats.probes, stats.interval_ms),
        (3, 3, 1000)
    );

    // Two pipelined checks, the second asking to close.
    let mut other = TcpStream::connect(addr).await.unwrap();
    other
        .write_all(b"GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let replies = responses(&mut other, 2).await;
    assert!(replies[1].contains("connection: close\r\n"), "{replies:?}");
    assert_eq!(other.read(&mut [0u8; 16]).await.unwrap(), 0, "closed after");

    let _ = stop.send(());
    let stats = serving.await.unwrap();
    assert_eq!((stats.requests, stats.refused), (5, 0));
}
