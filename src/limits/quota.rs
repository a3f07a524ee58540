//! Quotas: how many resources the hub holds, how many of them each token subject
//! created, how many WebSocket sessions the hub holds, and how many each subject
//! holds. Unlike rate limits they
//! always apply (with no auth, only the hub-wide count has a subject-free meaning).
//!
//! A count is held by a guard: a resource actor holds one while its head exists,
//! a session one of the hub's from its upgrade and one of its subject's while it
//! is authenticated; dropping the guard gives the unit back,
//! so no count can drift from what is alive, whatever path an actor ends by.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use dashmap::DashMap;
use fillstack_protocol::ErrorCode;

use crate::error::Rejection;

/// The quotas' sizes; `[limits]` keys of the same names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaSettings {
    /// Resources that may exist in the hub.
    pub resources_total: usize,
    /// Existing resources one token subject may have created.
    pub resources_per_subject: usize,
    /// Live sessions one token subject may hold.
    pub sessions_per_subject: usize,
    /// Live WebSocket sessions the hub holds, authenticated or not.
    pub sessions_total: usize,
}

impl Default for QuotaSettings {
    fn default() -> Self {
        Self {
            resources_total: 1_000_000,
            resources_per_subject: 100_000,
            sessions_per_subject: 1000,
            sessions_total: 100_000,
        }
    }
}

/// How long a client refused by `sessions_total` is told to wait.
const SESSIONS_FULL_RETRY: Duration = Duration::from_secs(1);

/// Who writes a change, for the quotas a creation counts against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Writer {
    /// The hub itself (probes, rollups, alerts, its own health): counted in the
    /// hub's total, never refused, since its configuration asked for them.
    Hub,
    /// A client of a hub with no auth: the hub's total applies.
    Anonymous,
    /// A client whose token names this subject: both resource quotas apply.
    Subject(Arc<str>),
}

impl Writer {
    /// The subject a created resource is counted against, if any.
    pub fn subject(&self) -> Option<&Arc<str>> {
        match self {
            Self::Subject(subject) => Some(subject),
            Self::Hub | Self::Anonymous => None,
        }
    }
}

/// The live counts, shared by every resource actor and session.
#[derive(Debug)]
pub struct Quotas {
    settings: QuotaSettings,
    resources: AtomicUsize,
    created: DashMap<Arc<str>, usize>,
    sessions: DashMap<Arc<str>, usize>,
    connections: AtomicUsize,
}

impl Quotas {
    /// Empty counts with these sizes.
    pub fn new(settings: QuotaSettings) -> Arc<Self> {
        Arc::new(Self {
            settings,
            resources: AtomicUsize::new(0),
            created: DashMap::new(),
            sessions: DashMap::new(),
            connections: AtomicUsize::new(0),
        })
    }

    /// The sizes.
    pub fn settings(&self) -> QuotaSettings {
        self.settings
    }

    /// Resources counted now.
    pub fn resources(&self) -> usize {
        self.resources.load(Ordering::Acquire)
    }

    /// A new resource written by `writer`, if the quotas have room for it.
    pub fn admit_resource(self: &Arc<Self>, writer: &Writer) -> Result<ResourceHold, Rejection> {
        let total = self.settings.resources_total;
        let checked = !matches!(writer, Writer::Hub);
        let admitted = self
            .resources
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                (!checked || held < total).then_some(held + 1)
            });
        if admitted.is_err() {
            return Err(over(format!(
                "the hub holds {total} resources, its limit (limits.resources_total); \
                 delete some or raise the limit"
            )));
        }
        let Some(subject) = writer.subject() else {
            return Ok(ResourceHold {
                quotas: self.clone(),
                creator: None,
            });
        };
        let most = self.settings.resources_per_subject;
        let mut created = self.created.entry(subject.clone()).or_insert(0);
        if *created >= most {
            let refusal = over(format!(
                "this token's subject created {most} resources that still exist, its limit \
                 (limits.resources_per_subject); delete some or raise the limit"
            ));
            drop(created);
            self.forget_if_none(&self.created, subject);
            self.resources.fetch_sub(1, Ordering::AcqRel);
            return Err(refusal);
        }
        *created += 1;
        Ok(ResourceHold {
            quotas: self.clone(),
            creator: Some(subject.clone()),
        })
    }

    /// An existing resource (loaded from the store, or restored after a failed
    /// commit), counted whatever the quotas say: it exists already.
    pub fn hold_resource(self: &Arc<Self>, creator: Option<&str>) -> ResourceHold {
        self.resources.fetch_add(1, Ordering::AcqRel);
        let creator = creator.map(Arc::<str>::from);
        if let Some(subject) = &creator {
            *self.created.entry(subject.clone()).or_insert(0) += 1;
        }
        ResourceHold {
            quotas: self.clone(),
            creator,
        }
    }

    /// WebSocket sessions counted now.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Acquire)
    }

    /// A new WebSocket session, if the hub holds fewer than `sessions_total`;
    /// taken before the upgrade is answered, so a refusal is a plain 503.
    pub fn admit_connection(self: &Arc<Self>) -> Result<ConnectionHold, Rejection> {
        let total = self.settings.sessions_total;
        self.connections
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                (held < total).then_some(held + 1)
            })
            .map(|_| ConnectionHold {
                quotas: self.clone(),
            })
            .map_err(|_| {
                Rejection::unavailable(
                    format!(
                        "the hub holds {total} WebSocket sessions, its limit \
                         (limits.sessions_total); retry later or connect to another hub"
                    ),
                    SESSIONS_FULL_RETRY,
                )
            })
    }

    /// A new session of `subject`, if it holds fewer than its quota.
    pub fn admit_session(self: &Arc<Self>, subject: &str) -> Result<SessionHold, Rejection> {
        let most = self.settings.sessions_per_subject;
        let subject = Arc::<str>::from(subject);
        let mut held = self.sessions.entry(subject.clone()).or_insert(0);
        if *held >= most {
            drop(held);
            self.forget_if_none(&self.sessions, &subject);
            return Err(over(format!(
                "this token's subject holds {most} sessions, its limit \
                 (limits.sessions_per_subject); close some or raise the limit"
            )));
        }
        *held += 1;
        Ok(SessionHold {
            quotas: self.clone(),
            subject,
        })
    }

    /// Subjects with a count, for watching that the maps stay bounded.
    pub fn tracked_subjects(&self) -> usize {
        self.created.len() + self.sessions.len()
    }

    fn give_back(counts: &DashMap<Arc<str>, usize>, subject: &Arc<str>) {
        if let Some(mut count) = counts.get_mut(subject) {
            *count = count.saturating_sub(1);
        }
        counts.remove_if(subject, |_, count| *count == 0);
    }

    fn forget_if_none(&self, counts: &DashMap<Arc<str>, usize>, subject: &Arc<str>) {
        counts.remove_if(subject, |_, count| *count == 0);
    }
}

fn over(message: String) -> Rejection {
    Rejection::new(ErrorCode::TooLarge, message)
}

/// One resource counted; given back when dropped.
#[derive(Debug)]
pub struct ResourceHold {
    quotas: Arc<Quotas>,
    creator: Option<Arc<str>>,
}

impl ResourceHold {
    /// The subject this resource counts against, if any.
    pub fn creator(&self) -> Option<&str> {
        self.creator.as_deref()
    }
}

impl Drop for ResourceHold {
    fn drop(&mut self) {
        self.quotas.resources.fetch_sub(1, Ordering::AcqRel);
        if let Some(subject) = &self.creator {
            Quotas::give_back(&self.quotas.created, subject);
        }
    }
}

/// One session counted against its subject; given back when dropped.
#[derive(Debug)]
pub struct SessionHold {
    quotas: Arc<Quotas>,
    subject: Arc<str>,
}

impl SessionHold {
    /// The subject it counts against.
    pub fn subject(&self) -> &str {
        &self.subject
    }
}

impl Drop for SessionHold {
    fn drop(&mut self) {
        Quotas::give_back(&self.quotas.sessions, &self.subject);
    }
}

/// One WebSocket session counted against the hub's total; given back when dropped.
#[derive(Debug)]
pub struct ConnectionHold {
    quotas: Arc<Quotas>,
}

impl Drop for ConnectionHold {
    fn drop(&mut self) {
        self.quotas.connections.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Arc<Quotas> {
        Quotas::new(QuotaSettings {
            resources_total: 3,
            resources_per_subject: 2,
            sessions_per_subject: 1,
            sessions_total: 2,
        })
    }

    fn subject(name: &str) -> Writer {
        Writer::Subject(Arc::from(name))
    }

    #[test]
    fn a_subject_past_its_share_is_refused_naming_the_key_and_a_drop_gives_room_back() {
        let quotas = small();
        let first = quotas.admit_resource(&subject("a")).unwrap();
        let _second = quotas.admit_resource(&subject("a")).unwrap();
        let refused = quotas.admit_resource(&subject("a")).unwrap_err();
        assert_eq!(refused.code, ErrorCode::TooLarge);
        assert!(refused.message.contains("limits.resources_per_subject"));
        assert_eq!(quotas.resources(), 2, "a refusal holds nothing");
        drop(first);
        assert!(quotas.admit_resource(&subject("a")).is_ok());
    }

    #[test]
    fn the_total_binds_everyone_but_the_hub_itself() {
        let quotas = small();
        let held: Vec<_> = ["a", "b", "c"]
            .iter()
            .map(|name| quotas.admit_resource(&subject(name)).unwrap())
            .collect();
        let refused = quotas.admit_resource(&Writer::Anonymous).unwrap_err();
        assert!(refused.message.contains("limits.resources_total"));
        assert!(quotas.admit_resource(&subject("d")).is_err());
        let own = quotas.admit_resource(&Writer::Hub).unwrap();
        assert_eq!(quotas.resources(), 4);
        drop((held, own));
        assert_eq!((quotas.resources(), quotas.tracked_subjects()), (0, 0));
    }

    #[test]
    fn sessions_count_per_subject_and_leave_no_entry_behind() {
        let quotas = small();
        let held = quotas.admit_session("a").unwrap();
        let refused = quotas.admit_session("a").unwrap_err();
        assert!(refused.message.contains("limits.sessions_per_subject"));
        let other = quotas.admit_session("b").unwrap();
        drop((held, other));
        assert_eq!(quotas.tracked_subjects(), 0);
        assert!(quotas.admit_session("a").is_ok());
    }

    #[test]
    fn the_hubs_sessions_are_bounded_and_a_drop_gives_room_back() {
        let quotas = small();
        let first = quotas.admit_connection().unwrap();
        let _second = quotas.admit_connection().unwrap();
        let refused = quotas.admit_connection().unwrap_err();
        assert_eq!(refused.code, ErrorCode::Unavailable);
        assert!(refused.retry_after.is_some());
        assert!(refused.message.contains("limits.sessions_total"));
        assert_eq!(quotas.connections(), 2, "a refusal holds nothing");
        drop(first);
        assert!(quotas.admit_connection().is_ok());
    }

    #[test]
    fn loaded_resources_count_even_past_the_quota() {
        let quotas = small();
        let held: Vec<_> = (0..5).map(|_| quotas.hold_resource(Some("a"))).collect();
        assert_eq!(quotas.resources(), 5);
        assert!(quotas.admit_resource(&subject("a")).is_err());
        drop(held);
        assert_eq!((quotas.resources(), quotas.tracked_subjects()), (0, 0));
    }

    #[derive(Debug, Clone)]
    enum Op {
        /// A creation by writer 0 (hub), 1 (anonymous) or 2.. (subjects).
        Create(usize),
        /// The resource held at this index (modulo) is deleted.
        Delete(usize),
        /// A session of subject `n`.
        Open(usize),
        /// The session held at this index (modulo) closes.
        Close(usize),
        /// A WebSocket upgrade.
        Connect,
        /// The WebSocket session held at this index (modulo) ends.
        Disconnect(usize),
    }

    /// What a sequence holds, by who holds it (writer or subject number).
    #[derive(Default)]
    struct Held {
        resources: Vec<(usize, ResourceHold)>,
        sessions: Vec<(usize, SessionHold)>,
        connections: Vec<ConnectionHold>,
    }

    impl Held {
        /// Applies `op`, checking that it is admitted exactly when the model has room.
        fn step(
            &mut self,
            quotas: &Arc<Quotas>,
            settings: QuotaSettings,
            op: Op,
        ) -> Result<(), proptest::test_runner::TestCaseError> {
            use proptest::prelude::*;
            let writer = |n: usize| match n {
                0 => Writer::Hub,
                1 => Writer::Anonymous,
                n => Writer::Subject(Arc::from(format!("s{n}"))),
            };
            match op {
                Op::Create(who) => {
                    let created = self.resources.iter().filter(|(w, _)| *w == who).count();
                    let room = who == 0
                        || (self.resources.len() < settings.resources_total
                            && (who == 1 || created < settings.resources_per_subject));
                    let admitted = quotas.admit_resource(&writer(who));
                    prop_assert_eq!(admitted.is_ok(), room, "creation by {}", who);
                    self.resources.extend(admitted.ok().map(|hold| (who, hold)));
                }
                Op::Delete(at) if !self.resources.is_empty() => {
                    self.resources.remove(at % self.resources.len());
                }
                Op::Open(who) => {
                    let held = self.sessions.iter().filter(|(w, _)| *w == who).count();
                    let admitted = quotas.admit_session(&format!("s{who}"));
                    prop_assert_eq!(admitted.is_ok(), held < settings.sessions_per_subject);
                    self.sessions.extend(admitted.ok().map(|hold| (who, hold)));
                }
                Op::Close(at) if !self.sessions.is_empty() => {
                    self.sessions.remove(at % self.sessions.len());
                }
                Op::Connect => {
                    let admitted = quotas.admit_connection();
                    let room = self.connections.len() < settings.sessions_total;
                    prop_assert_eq!(admitted.is_ok(), room);
                    self.connections.extend(admitted.ok());
                }
                Op::Disconnect(at) if !self.connections.is_empty() => {
                    self.connections.remove(at % self.connections.len());
                }
                Op::Delete(_) | Op::Close(_) | Op::Disconnect(_) => {}
            }
            Ok(())
        }

        /// The counts match what is held, and no client passed a bound.
        fn check(
            &self,
            quotas: &Quotas,
            settings: QuotaSettings,
        ) -> Result<(), proptest::test_runner::TestCaseError> {
            use proptest::prelude::*;
            prop_assert_eq!(quotas.connections(), self.connections.len());
            prop_assert_eq!(quotas.resources(), self.resources.len());
            let by_clients = self.resources.iter().filter(|(w, _)| *w != 0).count();
            prop_assert!(by_clients <= settings.resources_total);
            let mut per: std::collections::HashMap<usize, usize> = Default::default();
            for (who, _) in self.resources.iter().filter(|(w, _)| *w >= 2) {
                *per.entry(*who).or_default() += 1;
            }
            prop_assert!(per.values().all(|n| *n <= settings.resources_per_subject));
            Ok(())
        }
    }

    /// Any sequence of creations, deletions, opens, closes, upgrades and their
    /// ends: each is admitted exactly when the model has room, the counts match
    /// the model after every step, no bound is ever passed by a client, and
    /// nothing is left at the end.
    #[test]
    fn every_sequence_keeps_the_counts_of_the_model_and_within_every_bound() {
        use proptest::prelude::*;

        let ops = proptest::collection::vec(
            prop_oneof![
                (0usize..5).prop_map(Op::Create),
                any::<usize>().prop_map(Op::Delete),
                (0usize..3).prop_map(Op::Open),
                any::<usize>().prop_map(Op::Close),
                Just(Op::Connect),
                any::<usize>().prop_map(Op::Disconnect),
            ],
            0..200,
        );
        let settings = QuotaSettings {
            resources_total: 12,
            resources_per_subject: 4,
            sessions_per_subject: 2,
            sessions_total: 5,
        };
        let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
            cases: 512,
            ..Default::default()
        });
        runner
            .run(&ops, |ops| {
                let quotas = Quotas::new(settings);
                let mut held = Held::default();
                for op in ops {
                    held.step(&quotas, settings, op)?;
                    held.check(&quotas, settings)?;
                }
                drop(held);
                prop_assert_eq!((quotas.resources(), quotas.tracked_subjects()), (0, 0));
                prop_assert_eq!(quotas.connections(), 0);
                Ok(())
            })
            .unwrap();
    }
}
