//! Quotas: how many resources the hub holds, how many of them each token subject
//! created, and how many sessions each subject holds. Unlike rate limits they
//! always apply (with no auth, only the hub-wide count has a subject-free meaning).
//!
//! A count is held by a guard: a resource actor holds one while its head exists,
//! a session while it is authenticated; dropping the guard gives the unit back,
//! so no count can drift from what is alive, whatever path an actor ends by.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

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
}

impl Default for QuotaSettings {
    fn default() -> Self {
        Self {
            resources_total: 1_000_000,
            resources_per_subject: 100_000,
            sessions_per_subject: 1000,
        }
    }
}

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
}

impl Quotas {
    /// Empty counts with these sizes.
    pub fn new(settings: QuotaSettings) -> Arc<Self> {
        Arc::new(Self {
            settings,
            resources: AtomicUsize::new(0),
            created: DashMap::new(),
            sessions: DashMap::new(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Arc<Quotas> {
        Quotas::new(QuotaSettings {
            resources_total: 3,
            resources_per_subject: 2,
            sessions_per_subject: 1,
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
    }

    /// Any sequence of creations, deletions, opens and closes: each is admitted
    /// exactly when the model has room, the counts match the model after every
    /// step, no bound is ever passed by a client, and nothing is left at the end.
    #[test]
    fn every_sequence_keeps_the_counts_of_the_model_and_within_every_bound() {
        use proptest::prelude::*;
        use std::collections::HashMap;

        let ops = proptest::collection::vec(
            prop_oneof![
                (0usize..5).prop_map(Op::Create),
                any::<usize>().prop_map(Op::Delete),
                (0usize..3).prop_map(Op::Open),
                any::<usize>().prop_map(Op::Close),
            ],
            0..200,
        );
        let settings = QuotaSettings {
            resources_total: 12,
            resources_per_subject: 4,
            sessions_per_subject: 2,
        };
        let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
            cases: 512,
            ..Default::default()
        });
        runner
            .run(&ops, |ops| {
                let quotas = Quotas::new(settings);
                let writer = |n: usize| match n {
                    0 => Writer::Hub,
                    1 => Writer::Anonymous,
                    n => Writer::Subject(Arc::from(format!("s{n}"))),
                };
                let mut resources: Vec<(usize, ResourceHold)> = Vec::new();
                let mut sessions: Vec<(usize, SessionHold)> = Vec::new();
                for op in ops {
                    let created = |who: usize| resources.iter().filter(|(w, _)| *w == who).count();
                    match op {
                        Op::Create(who) => {
                            let room = who == 0
                                || (resources.len() < settings.resources_total
                                    && (who == 1 || created(who) < settings.resources_per_subject));
                            let admitted = quotas.admit_resource(&writer(who));
                            prop_assert_eq!(admitted.is_ok(), room, "creation by {}", who);
                            if let Ok(hold) = admitted {
                                resources.push((who, hold));
                            }
                        }
                        Op::Delete(at) if !resources.is_empty() => {
                            resources.remove(at % resources.len());
                        }
                        Op::Open(who) => {
                            let held = sessions.iter().filter(|(w, _)| *w == who).count();
                            let admitted = quotas.admit_session(&format!("s{who}"));
                            prop_assert_eq!(admitted.is_ok(), held < settings.sessions_per_subject);
                            if let Ok(hold) = admitted {
                                sessions.push((who, hold));
                            }
                        }
                        Op::Close(at) if !sessions.is_empty() => {
                            sessions.remove(at % sessions.len());
                        }
                        Op::Delete(_) | Op::Close(_) => {}
                    }
                    prop_assert_eq!(quotas.resources(), resources.len());
                    let by_clients = resources.iter().filter(|(w, _)| *w != 0).count();
                    prop_assert!(by_clients <= settings.resources_total);
                    let mut per: HashMap<usize, usize> = HashMap::new();
                    for (who, _) in resources.iter().filter(|(w, _)| *w >= 2) {
                        *per.entry(*who).or_default() += 1;
                    }
                    prop_assert!(per.values().all(|n| *n <= settings.resources_per_subject));
                }
                drop((resources, sessions));
                prop_assert_eq!((quotas.resources(), quotas.tracked_subjects()), (0, 0));
                Ok(())
            })
            .unwrap();
    }
}
