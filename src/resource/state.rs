//! The pure core of a resource: `decide` turns a requested change into a delta (or
//! nothing), `apply` folds a delta into the state. No actix and no clock here: time
//! is an argument, so TTL expiry is tested without sleeping.

use std::time::Duration;

use fillstack_protocol::{
    DeltaFrame, FieldChanges, Fields, HistoryEntry, LabelChanges, Labels, RemovedFrame, ResourceId,
    Seq, SnapshotFrame, Status,
};
use serde::{Deserialize, Serialize};

use crate::error::Rejection;

/// Most fields a resource may hold.
pub const MAX_FIELDS: usize = 64;
/// Most labels a resource may hold.
pub const MAX_LABELS: usize = 32;

/// What a publish asks for. Fields and labels merge (`None` removes), status replaces.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Change {
    /// The new status.
    pub status: Option<Status>,
    /// Fields to set or remove.
    pub fields: FieldChanges,
    /// Labels to set or remove.
    pub labels: LabelChanges,
    /// `Some(None)` clears the TTL, `Some(Some(ttl))` sets it.
    pub ttl: Option<Option<Duration>>,
}

/// An accepted change with its seq: what the log keeps and subscribers receive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    /// The seq this change produced.
    pub seq: Seq,
    /// When it was accepted, unix milliseconds.
    pub at: u64,
    /// What changed.
    pub kind: DeltaKind,
}

/// The two kinds of accepted change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DeltaKind {
    /// Status, fields, labels or TTL changed (or the TTL was refreshed).
    Change {
        /// True when this change brought the resource into existence.
        created: bool,
        status: Option<Status>,
        fields: FieldChanges,
        labels: LabelChanges,
        ttl: Option<Option<Duration>>,
        /// On a creation by a token's subject: that subject, whose quota the
        /// resource counts against for as long as it exists.
        #[serde(default)]
        creator: Option<String>,
    },
    /// The resource was deleted; its seq lives on so `since` never lies.
    Removed,
}

/// A resource's state at `seq`. When `exists` is false it is a tombstone: the
/// resource was deleted (or never committed) and only its seq is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceState {
    pub seq: Seq,
    pub exists: bool,
    pub status: Status,
    pub fields: Fields,
    pub labels: Labels,
    pub updated_at: u64,
    pub ttl: Option<Duration>,
    /// When the current status began (unix ms): for uptime and alerts.
    #[serde(default)]
    pub status_since: u64,
    /// The token subject that created it, if one did (for its quota).
    #[serde(default)]
    pub creator: Option<String>,
    /// Cluster mode: the stream sequence of the last message applied to this state
    /// (the expected last subject sequence of the next publish); 0 on one node.
    #[serde(default)]
    pub stream_seq: u64,
}

impl Default for ResourceState {
    fn default() -> Self {
        Self {
            seq: 0,
            exists: false,
            status: Status::Unknown,
            fields: Fields::new(),
            labels: Labels::new(),
            updated_at: 0,
            ttl: None,
            status_since: 0,
            creator: None,
            stream_seq: 0,
        }
    }
}

impl ResourceState {
    /// The delta `change` makes, or `None` when it changes nothing and refreshes no TTL.
    pub fn decide(&self, change: &Change, now_ms: u64) -> Result<Option<Delta>, Rejection> {
        let created = !self.exists;
        let status = match change.status {
            _ if created => Some(change.status.unwrap_or(Status::Unknown)),
            Some(status) if status != self.status => Some(status),
            _ => None,
        };
        let fields = changed(&self.fields, &change.fields, created);
        let labels = changed(&self.labels, &change.labels, created);
        let ttl = change.ttl.filter(|ttl| *ttl != self.ttl || created);
        self.check_limits(&fields, &labels)?;
        let refreshes_ttl = ttl.flatten().or(self.ttl).is_some();
        if !created
            && status.is_none()
            && fields.is_empty()
            && labels.is_empty()
            && ttl.is_none()
            && !refreshes_ttl
        {
            return Ok(None);
        }
        let kind = DeltaKind::Change {
            created,
            status,
            fields,
            labels,
            ttl,
            creator: None,
        };
        Ok(Some(Delta {
            seq: self.seq + 1,
            at: now_ms,
            kind,
        }))
    }

    fn check_limits(&self, fields: &FieldChanges, labels: &LabelChanges) -> Result<(), Rejection> {
        let field_count = count_after(&self.fields, fields);
        if field_count > MAX_FIELDS {
            return Err(Rejection::invalid(format!(
                "the resource would have {field_count} fields; the limit is {MAX_FIELDS}"
            )));
        }
        let label_count = count_after(&self.labels, labels);
        if label_count > MAX_LABELS {
            return Err(Rejection::invalid(format!(
                "the resource would have {label_count} labels; the limit is {MAX_LABELS}"
            )));
        }
        Ok(())
    }

    /// The deletion delta, or `None` when there is nothing to delete.
    pub fn decide_removal(&self, now_ms: u64) -> Option<Delta> {
        self.exists.then(|| Delta {
            seq: self.seq + 1,
            at: now_ms,
            kind: DeltaKind::Removed,
        })
    }

    /// When the TTL runs out: unix ms, if the resource has a TTL and is not stale
    /// yet. A resource in maintenance never goes stale.
    pub fn expires_at(&self) -> Option<u64> {
        let ttl = self.ttl.filter(|_| {
            self.exists && !matches!(self.status, Status::Stale | Status::Maintenance)
        })?;
        Some(
            self.updated_at
                .saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX)),
        )
    }

    /// The `stale` delta once the TTL has run out at `now_ms`.
    pub fn decide_expiry(&self, now_ms: u64) -> Option<Delta> {
        let deadline = self.expires_at()?;
        (now_ms >= deadline).then(|| Delta {
            seq: self.seq + 1,
            at: now_ms,
            kind: DeltaKind::Change {
                created: false,
                status: Some(Status::Stale),
                fields: FieldChanges::new(),
                labels: LabelChanges::new(),
                ttl: None,
                creator: None,
            },
        })
    }

    /// Folds a delta (made by `decide*` on this state) into the state.
    pub fn apply(&mut self, delta: &Delta) {
        debug_assert_eq!(delta.seq, self.seq + 1, "deltas apply in seq order");
        self.seq = delta.seq;
        self.updated_at = delta.at;
        match &delta.kind {
            DeltaKind::Change {
                created,
                status,
                fields,
                labels,
                ttl,
                creator,
            } => {
                if *created {
                    *self = Self {
                        seq: self.seq,
                        updated_at: self.updated_at,
                        creator: creator.clone(),
                        ..Self::default()
                    };
                }
                if *created {
                    self.status_since = delta.at;
                }
                self.exists = true;
                if let Some(status) = status {
                    if *status != self.status {
                        self.status_since = delta.at;
                    }
                    self.status = *status;
                }
                merge(&mut self.fields, fields);
                merge(&mut self.labels, labels);
                if let Some(ttl) = ttl {
                    self.ttl = *ttl;
                }
            }
            DeltaKind::Removed => {
                *self = Self {
                    seq: self.seq,
                    updated_at: self.updated_at,
                    ..Self::default()
                };
            }
        }
    }

    /// The whole state as a `snapshot` frame.
    pub fn to_snapshot(&self, id: &ResourceId, reset: bool) -> SnapshotFrame {
        SnapshotFrame {
            id: None,
            resource: id.to_string(),
            seq: self.seq,
            status: self.status,
            fields: self.fields.clone(),
            labels: self.labels.clone(),
            updated_at: self.updated_at,
            ttl_ms: self.ttl.map(as_millis),
            reset,
        }
    }
}

impl Delta {
    /// The delta as it appears in a `history` answer (and as a `delta`/`removed` frame).
    pub fn to_entry(&self, id: &ResourceId) -> HistoryEntry {
        match &self.kind {
            DeltaKind::Change {
                status,
                fields,
                labels,
                ttl,
                ..
            } => HistoryEntry::Delta(DeltaFrame {
                resource: id.to_string(),
                seq: self.seq,
                at: self.at,
                status: *status,
                fields: (!fields.is_empty()).then(|| fields.clone()),
                labels: (!labels.is_empty()).then(|| labels.clone()),
                ttl_ms: ttl.map(|ttl| ttl.map_or(0, as_millis)),
            }),
            DeltaKind::Removed => HistoryEntry::Removed(RemovedFrame {
                resource: id.to_string(),
                seq: self.seq,
            }),
        }
    }

    /// Whether this delta brought its resource into existence.
    pub fn is_creation(&self) -> bool {
        matches!(self.kind, DeltaKind::Change { created: true, .. })
    }
}

fn as_millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX)
}

/// The entries of `changes` that would alter `current` (all sets, when `fresh`).
fn changed<V: PartialEq + Clone>(
    current: &std::collections::BTreeMap<String, V>,
    changes: &std::collections::BTreeMap<String, Option<V>>,
    fresh: bool,
) -> std::collections::BTreeMap<String, Option<V>> {
    changes
        .iter()
        .filter(|(name, value)| match (fresh, value) {
            (true, value) => value.is_some(),
            (false, Some(value)) => current.get(*name) != Some(value),
            (false, None) => current.contains_key(*name),
        })
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// How many entries `current` holds once the (already filtered) `changes` apply.
fn count_after<V>(
    current: &std::collections::BTreeMap<String, V>,
    changes: &std::collections::BTreeMap<String, Option<V>>,
) -> usize {
    let added = changes
        .iter()
        .filter(|(name, value)| value.is_some() && !current.contains_key(*name))
        .count();
    let removed = changes
        .iter()
        .filter(|(name, value)| value.is_none() && current.contains_key(*name))
        .count();
    current.len() + added - removed
}

fn merge<V: Clone>(
    current: &mut std::collections::BTreeMap<String, V>,
    changes: &std::collections::BTreeMap<String, Option<V>>,
) {
    for (name, value) in changes {
        match value {
            Some(value) => current.insert(name.clone(), value.clone()),
            None => current.remove(name),
        };
    }
}

#[cfg(test)]
mod tests {
    use fillstack_protocol::Scalar;

    use super::*;

    const T0: u64 = 1_000_000;

    fn change(status: Option<Status>, fields: &[(&str, Option<Scalar>)]) -> Change {
        Change {
            status,
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            ..Change::default()
        }
    }

    fn decide_apply(state: &mut ResourceState, change: &Change, now: u64) -> Option<Delta> {
        let delta = state.decide(change, now).unwrap()?;
        state.apply(&delta);
        Some(delta)
    }

    #[test]
    fn the_first_publish_creates_the_resource_at_seq_1_with_unknown_status_by_default() {
        let mut state = ResourceState::default();
        let delta = decide_apply(
            &mut state,
            &change(None, &[("cpu", Some(Scalar::Int(3)))]),
            T0,
        )
        .unwrap();
        assert!(delta.is_creation());
        assert_eq!(
            (state.seq, state.status, state.exists),
            (1, Status::Unknown, true)
        );
        assert_eq!(state.fields["cpu"], Scalar::Int(3));
    }

    #[test]
    fn fields_merge_nil_removes_status_replaces_and_only_changes_are_in_the_delta() {
        let mut state = ResourceState::default();
        let first = change(
            Some(Status::Up),
            &[("a", Some(Scalar::Int(1))), ("b", Some(Scalar::Bool(true)))],
        );
        decide_apply(&mut state, &first, T0);
        let second = change(
            Some(Status::Up),
            &[
                ("a", Some(Scalar::Int(1))),
                ("b", None),
                ("c", Some("x".into())),
            ],
        );
        let delta = decide_apply(&mut state, &second, T0 + 1).unwrap();
        let DeltaKind::Change { status, fields, .. } = &delta.kind else {
            panic!("a change")
        };
        assert_eq!(*status, None, "status did not change");
        assert_eq!(fields.len(), 2, "a is unchanged: {fields:?}");
        assert_eq!(fields["b"], None);
        assert_eq!(state.fields.keys().collect::<Vec<_>>(), vec!["a", "c"]);
        assert_eq!(state.seq, 2);
    }

    #[test]
    fn a_publish_that_changes_nothing_gets_no_new_seq_unless_it_refreshes_a_ttl() {
        let mut state = ResourceState::default();
        decide_apply(&mut state, &change(Some(Status::Up), &[]), T0);
        assert_eq!(
            state
                .decide(&change(Some(Status::Up), &[]), T0 + 5)
                .unwrap(),
            None
        );
        let with_ttl = Change {
            ttl: Some(Some(Duration::from_secs(10))),
            ..change(None, &[])
        };
        decide_apply(&mut state, &with_ttl, T0 + 6).unwrap();
        let refresh = decide_apply(&mut state, &change(Some(Status::Up), &[]), T0 + 7).unwrap();
        assert_eq!((refresh.seq, state.updated_at), (3, T0 + 7));
    }

    #[test]
    fn silence_past_the_ttl_turns_the_resource_stale_once() {
        let mut state = ResourceState::default();
        let publish = Change {
            ttl: Some(Some(Duration::from_millis(500))),
            ..change(Some(Status::Up), &[])
        };
        decide_apply(&mut state, &publish, T0);
        assert_eq!(state.expires_at(), Some(T0 + 500));
        assert_eq!(state.decide_expiry(T0 + 499), None);
        let stale = state.decide_expiry(T0 + 500).unwrap();
        state.apply(&stale);
        assert_eq!((state.status, state.seq), (Status::Stale, 2));
        assert_eq!(
            state.expires_at(),
            None,
            "a stale resource does not expire again"
        );
        decide_apply(&mut state, &change(Some(Status::Up), &[]), T0 + 900);
        assert_eq!(
            state.expires_at(),
            Some(T0 + 1400),
            "a publish re-arms the TTL"
        );
    }

    #[test]
    fn removal_keeps_the_seq_and_recreation_starts_from_an_empty_state() {
        let mut state = ResourceState::default();
        decide_apply(
            &mut state,
            &change(Some(Status::Down), &[("x", Some(Scalar::Int(1)))]),
            T0,
        );
        let removal = state.decide_removal(T0 + 1).unwrap();
        state.apply(&removal);
        assert_eq!((state.exists, state.seq), (false, 2));
        assert_eq!(state.decide_removal(T0 + 2), None, "nothing left to remove");
        let delta = decide_apply(
            &mut state,
            &change(None, &[("y", Some(Scalar::Int(2)))]),
            T0 + 3,
        )
        .unwrap();
        assert!(delta.is_creation());
        assert_eq!((state.seq, state.status), (3, Status::Unknown));
        assert_eq!(state.fields.keys().collect::<Vec<_>>(), vec!["y"]);
    }

    #[test]
    fn more_than_64_fields_is_invalid_and_names_the_limit() {
        let mut state = ResourceState::default();
        let many: Vec<(String, Option<Scalar>)> = (0..64)
            .map(|i| (format!("f{i}"), Some(Scalar::Int(i))))
            .collect();
        let fill = Change {
            fields: many.into_iter().collect(),
            ..Change::default()
        };
        decide_apply(&mut state, &fill, T0);
        let one_more = change(None, &[("extra", Some(Scalar::Int(0)))]);
        let error = state.decide(&one_more, T0).unwrap_err();
        assert_eq!(
            error.message,
            "the resource would have 65 fields; the limit is 64"
        );
        let swap = change(None, &[("extra", Some(Scalar::Int(0))), ("f0", None)]);
        assert!(
            state.decide(&swap, T0).unwrap().is_some(),
            "removing one makes room"
        );
    }
}
