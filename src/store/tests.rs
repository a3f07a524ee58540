use super::*;

fn commit(key: &str, seq: u64) -> Commit {
    Commit {
        key: key.into(),
        seq,
        state: Bytes::from(format!("{key}@{seq}")),
        entry: Bytes::from(format!("entry {seq}")),
    }
}

async fn commit_all(store: &Store, key: &str, seqs: std::ops::RangeInclusive<u64>) {
    let tickets: Vec<_> = seqs
        .map(|seq| store.commit(commit(key, seq)).unwrap())
        .collect();
    for ticket in tickets {
        ticket.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn committed_records_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), 8 << 20, 1000).unwrap();
        commit_all(&store, "svc/a", 1..=3).await;
        commit_all(&store, "svc/b", 1..=1).await;
    }
    // The committer thread holds a handle until its queue closes; give it a moment
    // by reopening through a fresh directory handle (sled allows one opener).
    let store = reopen(dir.path());
    let states: Vec<_> = store.states().map(Result::unwrap).collect();
    assert_eq!(states.len(), 2);
    assert_eq!(
        store.state("svc/a").unwrap().unwrap(),
        Bytes::from("svc/a@3")
    );
    let entries = store.entries("svc/a", 0, 3, 100).unwrap();
    assert_eq!(
        entries.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
}

fn reopen(dir: &std::path::Path) -> Store {
    // sled refuses a second opener while the first committer thread still holds
    // the database; it lets go as soon as its queue is closed, which happened above.
    for _ in 0..100 {
        if let Ok(store) = Store::open(dir, 8 << 20, 1000) {
            return store;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("the store did not reopen");
}

#[tokio::test]
async fn the_log_keeps_only_the_last_entries() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 8 << 20, 5).unwrap();
    commit_all(&store, "job/x", 1..=12).await;
    assert_eq!(store.oldest_entry("job/x").unwrap(), Some(8));
    let entries = store.entries("job/x", 9, 12, 2).unwrap();
    assert_eq!(
        entries.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
        vec![10, 11]
    );
    assert!(store.entries("job/x", 12, 12, 10).unwrap().is_empty());
}

#[tokio::test]
async fn keys_that_share_a_prefix_keep_separate_logs() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 8 << 20, 100).unwrap();
    commit_all(&store, "a", 1..=2).await;
    commit_all(&store, "a/b", 1..=3).await;
    assert_eq!(store.entries("a", 0, 10, 10).unwrap().len(), 2);
    assert_eq!(store.oldest_entry("a/b").unwrap(), Some(1));
}

#[tokio::test]
async fn a_long_log_is_sealed_in_chunks_and_old_chunks_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 8 << 20, 20).unwrap();
    // Handed in together, so batches hold several commits of one key.
    commit_all(&store, "job/x", 1..=50).await;
    for seq in 51..=61 {
        commit_all(&store, "job/x", seq..=seq).await;
    }
    let seqs = |after, upto, limit| -> Vec<u64> {
        let entries = store.entries("job/x", after, upto, limit).unwrap();
        entries.iter().map(|(seq, _)| *seq).collect()
    };
    assert_eq!(seqs(0, 61, 100), (42..=61).collect::<Vec<_>>());
    assert_eq!(seqs(44, 61, 3), vec![45, 46, 47]);
    assert_eq!(seqs(50, 55, 100), (51..=55).collect::<Vec<_>>());
    assert_eq!(store.oldest_entry("job/x").unwrap(), Some(42));
    let entry = &store.entries("job/x", 56, 57, 1).unwrap()[0];
    assert_eq!(entry, &(57, Bytes::from("entry 57")));
    assert_eq!(store.state("job/x").unwrap(), Some(Bytes::from("job/x@61")));
    // 20 entries kept: at most 20 / CHUNK + 1 chunks besides the head.
    let chunks = store.db.scan_prefix(b"l\0").count();
    assert!(chunks <= 20 / CHUNK + 1, "{chunks} chunks kept");
}

#[test]
fn a_store_in_an_older_layout_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = sled::open(dir.path()).unwrap();
        db.insert(b"s\0svc/api", &b"state"[..]).unwrap();
        db.flush().unwrap();
    }
    let Err(error) = Store::open(dir.path(), 8 << 20, 100) else {
        panic!("an old store opened");
    };
    let message = error.to_string();
    assert!(message.contains("layout version 1"), "{message}");
    assert!(
        message.contains(&dir.path().display().to_string()),
        "{message}"
    );
}

#[tokio::test]
async fn side_records_are_put_added_to_and_removed_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 8 << 20, 1000).unwrap();
    // Additions queued back to back are all counted, whatever the batching.
    let tickets: Vec<_> = (0..100)
        .map(|i| store.add("u\0svc/a\0day", vec![1, i]).unwrap())
        .collect();
    for ticket in tickets {
        ticket.await.unwrap().unwrap();
    }
    assert_eq!(store.counters("u\0svc/a\0day").unwrap(), vec![100, 4950]);
    store
        .add("u\0svc/a\0day", vec![0, 0, 7])
        .unwrap()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.counters("u\0svc/a\0day").unwrap(), vec![100, 4950, 7]);
    store
        .put("a\0svc/a\0x", Some(Bytes::from("first")))
        .unwrap();
    store.put("a\0svc/a\0y", Some(Bytes::from("y"))).unwrap();
    let last = store
        .put("a\0svc/a\0x", Some(Bytes::from("second")))
        .unwrap();
    last.await.unwrap().unwrap();
    assert_eq!(
        store.get("a\0svc/a\0x").unwrap(),
        Some(Bytes::from("second"))
    );
    let keys: Vec<_> = store
        .scan("a\0svc/a\0")
        .unwrap()
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    assert_eq!(keys, ["a\0svc/a\0x", "a\0svc/a\0y"]);
    store
        .put("a\0svc/a\0y", None)
        .unwrap()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.get("a\0svc/a\0y").unwrap(), None);
    store
        .remove_range("u\0svc/a\0", "u\0svc/a\0zzz")
        .unwrap()
        .await
        .unwrap()
        .unwrap();
    assert!(store.counters("u\0svc/a\0day").unwrap().is_empty());
    // Side records are not resources.
    assert_eq!(store.states().count(), 0);
}
