//! A resource actor as a monitor: its probe's timer, its share of rollups, its
//! alerts' state and webhooks, and its uptime buckets. The decisions are in
//! `crate::monitor`'s pure cores; this file wires them to the actor's timers,
//! the store and other resources.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use bytes::Bytes;
use fillstack_protocol::{ResourceId, Scalar, Status};
use serde::{Deserialize, Serialize};

use super::ResourceActor;
use super::messages::{Publish, ReadUptime, Rejoin, Reply};
use super::pipeline::Applied;
use super::state::Change;
use crate::error::Rejection;
use crate::hub::WeakHub;
use crate::metrics::METRICS;
use crate::monitor::alert::{MemberAlert, Notice, Rule};
use crate::monitor::rollup::Rollup;
use crate::monitor::spec::{AlertSpec, Format, ProbeSpec};
use crate::monitor::webhook::{self, About, Post};
use crate::monitor::{Rules, alert_resource, probe, uptime};
use crate::store::CommitTicket;

/// Notifications one (alert, member) pair may have waiting; past it the oldest
/// is dropped and counted as a failure (flap detection keeps this from filling).
const MAX_QUEUED_POSTS: usize = 16;
/// Wait before publishing an alert's resource again when its mailbox was full.
const ALERT_RESOURCE_RETRY: Duration = Duration::from_millis(100);

/// The monitoring part of a resource actor.
pub struct Monitoring {
    hub: WeakHub,
    rules: Arc<Rules>,
    probe: Option<ProbeRun>,
    rollups: Vec<Arc<Rollup>>,
    /// What this resource counts as in its rollups (`None`: nothing).
    contributed: Option<Status>,
    alerts: Vec<AlertSlot>,
    /// Whether the stored alert records were read (once, when first joined).
    loaded: bool,
    alert_timer: Option<SpawnHandle>,
    /// The status before the current one, for alert bodies.
    previous: Option<Status>,
    /// The newest day whose older buckets were dropped.
    pruned_day: u64,
}

struct ProbeRun {
    spec: Arc<ProbeSpec>,
    timer: Option<SpawnHandle>,
    in_flight: bool,
}

/// One (alert, member) pair.
struct AlertSlot {
    name: String,
    /// `None` once its rule is gone: it resolves what is open, then leaves.
    spec: Option<Arc<AlertSpec>>,
    /// Where a rule that is gone sends its last notices.
    url: String,
    format: Format,
    state: MemberAlert,
    queue: VecDeque<Post>,
    sending: bool,
}

/// An (alert, member) pair as stored.
#[derive(Serialize, Deserialize)]
struct AlertRecord {
    state: MemberAlert,
    queue: VecDeque<Post>,
    url: String,
    slack: bool,
}

impl Monitoring {
    pub fn new(hub: WeakHub, rules: Arc<Rules>) -> Self {
        Self {
            hub,
            rules,
            probe: None,
            rollups: Vec::new(),
            contributed: None,
            alerts: Vec::new(),
            loaded: false,
            alert_timer: None,
            previous: None,
            pruned_day: 0,
        }
    }

    /// Whether the actor must stay although its resource was deleted: its probe
    /// re-creates it, or a webhook is still being delivered.
    pub fn keeps_alive(&self) -> bool {
        self.probe.is_some()
            || self
                .alerts
                .iter()
                .any(|slot| slot.sending || !slot.queue.is_empty())
    }
}

impl Drop for Monitoring {
    /// A resource that goes (retired, or an actor that died) leaves its rollups.
    fn drop(&mut self) {
        for rollup in &self.rollups {
            rollup.moved(self.contributed, None);
        }
    }
}

fn alert_key(member: &ResourceId, alert: &str) -> String {
    format!("a\0{member}\0{alert}")
}

fn rule(spec: &AlertSpec) -> Rule {
    Rule {
        on: spec.on.clone(),
        after: spec.after,
        flap_window: spec.flap_window,
        flap_max: spec.flap_max,
    }
}

impl ResourceActor {
    /// The rules this actor last took up.
    pub(super) fn monitoring_rules(&self) -> Arc<Rules> {
        self.monitoring.rules.clone()
    }

    fn status_now(&self) -> Option<Status> {
        self.committed().exists.then_some(self.committed().status)
    }

    /// Takes up the probe, rollups and alerts that `rules` give this resource.
    pub(super) fn join(&mut self, rules: Arc<Rules>, ctx: &mut Context<Self>) {
        self.monitoring.rules = rules.clone();
        self.join_probe(&rules, ctx);
        let wanted: Vec<Arc<Rollup>> = rules.rollups_for(&self.id).cloned().collect();
        let (contributed, now) = (self.monitoring.contributed, self.status_now());
        for old in &self.monitoring.rollups {
            let kept = wanted.iter().any(|r| Arc::ptr_eq(r, old));
            old.moved(contributed, if kept { now } else { None });
        }
        for new in &wanted {
            if !self.monitoring.rollups.iter().any(|r| Arc::ptr_eq(r, new)) {
                new.moved(None, now);
            }
        }
        self.monitoring.rollups = wanted;
        self.monitoring.contributed = now;
        self.join_alerts(&rules, ctx);
    }

    fn join_probe(&mut self, rules: &Rules, ctx: &mut Context<Self>) {
        let wanted = rules.probe_for(&self.id).cloned();
        let current = self.monitoring.probe.as_ref().map(|run| &run.spec);
        if current.map(|spec| &**spec) == wanted.as_deref() {
            return;
        }
        if let Some(timer) = self.monitoring.probe.take().and_then(|run| run.timer) {
            ctx.cancel_future(timer);
        }
        let Some(spec) = wanted else {
            self.maybe_retire(ctx);
            return;
        };
        // Jittered over one interval, so a thousand probes never fire together.
        let first = spec.interval.mul_f64(rand::random::<f64>());
        let timer = ctx.run_later(first, Self::probe_due);
        self.monitoring.probe = Some(ProbeRun {
            spec,
            timer: Some(timer),
            in_flight: false,
        });
    }

    /// The probe's timer: schedules the next check, then runs this one unless the
    /// last is still running (at most one check in flight).
    fn probe_due(&mut self, ctx: &mut Context<Self>) {
        let does_duties = self.does_duties();
        let Some(run) = self.monitoring.probe.as_mut() else {
            return;
        };
        run.timer = Some(ctx.run_later(run.spec.interval, Self::probe_due));
        if run.in_flight || !does_duties {
            return; // In a cluster, one hub probes each resource.
        }
        run.in_flight = true;
        let spec = run.spec.clone();
        ctx.spawn(
            async move {
                let seen = probe::check(&spec).await;
                (spec, seen)
            }
            .into_actor(self)
            .map(|(spec, seen), resource, ctx| resource.probe_done(&spec, &seen, ctx)),
        );
    }

    fn probe_done(
        &mut self,
        spec: &Arc<ProbeSpec>,
        seen: &probe::Observation,
        ctx: &mut Context<Self>,
    ) {
        let Some(run) = self.monitoring.probe.as_mut() else {
            return;
        };
        run.in_flight = false;
        if !Arc::ptr_eq(&run.spec, spec) {
            return; // A reload changed the probe while this check ran.
        }
        METRICS
            .probe_check_seconds
            .observe(seen.latency.as_secs_f64());
        let head = self.pipeline.head();
        let paused = head.exists && head.status == Status::Maintenance;
        let change = probe::outcome(spec, seen, paused);
        let found = change.status.map_or("maintenance", Status::as_str);
        METRICS.probe_checked(spec.check.kind(), found);
        if self.is_clustered() {
            let intent = super::cluster::Intent::Change {
                change,
                by: crate::limits::Writer::Hub,
                reply: None,
                started: None,
            };
            return self.submit(intent, ctx);
        }
        if let Err(rejection) = self.decide_and_commit(&change, &crate::limits::Writer::Hub, ctx) {
            tracing::warn!(resource = %self.id, message = %rejection.message, "probe result not recorded");
        }
    }

    fn join_alerts(&mut self, rules: &Rules, ctx: &mut Context<Self>) {
        if !self.monitoring.loaded {
            self.monitoring.loaded = true;
            self.load_alerts();
        }
        let wanted: Vec<Arc<AlertSpec>> = rules.alerts_for(&self.id).cloned().collect();
        for slot in &mut self.monitoring.alerts {
            slot.spec = wanted.iter().find(|spec| spec.name == slot.name).cloned();
            if let Some(spec) = &slot.spec {
                slot.url.clone_from(&spec.url);
                slot.format = spec.format;
            }
        }
        for spec in wanted {
            if !self.monitoring.alerts.iter().any(|s| s.name == spec.name) {
                self.monitoring.alerts.push(AlertSlot {
                    name: spec.name.clone(),
                    url: spec.url.clone(),
                    format: spec.format,
                    spec: Some(spec),
                    state: MemberAlert::default(),
                    queue: VecDeque::new(),
                    sending: false,
                });
            }
        }
        let now = self.clock.now_ms();
        for index in 0..self.monitoring.alerts.len() {
            let notices = self.observe_alert(index, now);
            self.after_alert(index, notices, ctx);
        }
        // A pair whose rule is gone and that has nothing left to send leaves,
        // and so does its stored record.
        let (store, member) = (&self.store, &self.id);
        self.monitoring.alerts.retain(|slot| {
            let keep = slot.spec.is_some() || slot.sending || !slot.queue.is_empty();
            if !keep {
                let _ = store.put(&alert_key(member, &slot.name), None);
            }
            keep
        });
        self.arm_alerts(ctx);
    }

    /// Reads this member's stored alert states (a restart forgets nothing).
    fn load_alerts(&mut self) {
        let prefix = alert_key(&self.id, "");
        let records = match self.store.scan(&prefix) {
            Ok(records) => records,
            Err(error) => {
                tracing::error!(resource = %self.id, %error, "cannot read the alert states");
                return;
            }
        };
        for (key, bytes) in records {
            let name = key[prefix.len()..].to_owned();
            let record: AlertRecord = match rmp_serde::from_slice(&bytes) {
                Ok(record) => record,
                Err(error) => {
                    tracing::error!(resource = %self.id, alert = name, %error, "an alert state is unreadable; starting it afresh");
                    continue;
                }
            };
            self.monitoring.alerts.push(AlertSlot {
                name,
                spec: None,
                url: record.url,
                format: if record.slack {
                    Format::Slack
                } else {
                    Format::Json
                },
                state: record.state,
                queue: record.queue,
                sending: false,
            });
        }
    }

    /// Shows slot `index` the member's status now. A slot whose rule is gone
    /// sees the member as out of it, which resolves what was open.
    fn observe_alert(&mut self, index: usize, now: u64) -> Vec<Notice> {
        let status = self.status_now();
        let since = self.committed().status_since;
        let slot = &mut self.monitoring.alerts[index];
        match &slot.spec {
            Some(spec) => slot.state.observe(&rule(spec), status, since, now),
            None => {
                let gone = Rule {
                    on: Vec::new(),
                    after: Duration::ZERO,
                    flap_window: Duration::from_secs(1),
                    flap_max: u32::MAX,
                };
                let mut notices = slot.state.observe(&gone, None, since, now);
                // A rule that is gone sends nothing more once resolved.
                slot.state = MemberAlert::default();
                notices.retain(|notice| *notice == Notice::Resolved);
                notices
            }
        }
    }

    /// Queues the notices of slot `index`, shows them on its resource, stores
    /// the slot, and starts sending.
    fn after_alert(&mut self, index: usize, notices: Vec<Notice>, ctx: &mut Context<Self>) {
        if notices.is_empty() && self.monitoring.alerts[index].queue.is_empty() {
            return;
        }
        if !self.does_duties() {
            // In a cluster every hub follows the alert's state (so a new owner
            // goes on with the same episode), and only the owner notifies.
            self.monitoring.alerts[index].queue.clear();
            self.store_alert(index);
            return;
        }
        let now = self.clock.now_ms();
        for notice in &notices {
            let post = self.render(index, *notice, now);
            let slot = &mut self.monitoring.alerts[index];
            if slot.queue.len() >= MAX_QUEUED_POSTS {
                slot.queue.pop_front();
                METRICS.alert_failed(&slot.name);
            }
            slot.queue.push_back(post);
        }
        if let Some(last) = notices.last() {
            self.show_alert(index, *last, ctx);
        }
        let ticket = self.store_alert(index);
        self.send_next(index, ticket, ctx);
    }

    fn render(&self, index: usize, notice: Notice, now: u64) -> Post {
        let slot = &self.monitoring.alerts[index];
        let state = self.committed();
        let about = About {
            alert: &slot.name,
            episode: format!("{}/{}/{}", slot.name, self.id, slot.state.inside_since),
            resource: self.id.as_str(),
            status: self.status_now(),
            previous: self.monitoring.previous,
            since: state.status_since,
            fields: &state.fields,
            labels: &state.labels,
            at: now,
        };
        Post {
            url: slot.url.clone(),
            body: webhook::body(slot.format, notice, &about),
            state: notice,
        }
    }

    /// Publishes the pair's own resource: `down` while firing, `up` once resolved.
    fn show_alert(&mut self, index: usize, notice: Notice, ctx: &mut Context<Self>) {
        let slot = &self.monitoring.alerts[index];
        let id = alert_resource(&slot.name, &self.id);
        let field = |name: &str, value: Scalar| (name.to_owned(), Some(value));
        let status = self.status_now().map_or("deleted", Status::as_str);
        let change = Change {
            status: Some(if slot.state.is_firing() {
                Status::Down
            } else {
                Status::Up
            }),
            fields: [
                field(
                    "since",
                    Scalar::Int(i64::try_from(slot.state.inside_since).unwrap_or(i64::MAX)),
                ),
                field("state", Scalar::Str(notice.as_str().to_owned())),
                field("status", Scalar::Str(status.to_owned())),
            ]
            .into_iter()
            .collect(),
            labels: [
                ("alert".to_owned(), Some(slot.name.clone())),
                ("resource".to_owned(), Some(self.id.to_string())),
            ]
            .into_iter()
            .collect(),
            ttl: None,
        };
        self.publish_elsewhere(id, change, ctx);
    }

    /// Publishes `change` into another resource the hub owns; a full mailbox is
    /// tried again shortly (the change holds the whole state, so a later one
    /// replaces an earlier one and order is kept by this actor).
    fn publish_elsewhere(&mut self, id: ResourceId, change: Change, ctx: &mut Context<Self>) {
        let Some(hub) = self.monitoring.hub.upgrade() else {
            return;
        };
        let actor = hub.find_or_create(&id);
        let (reply, answer) = Reply::caller();
        drop(answer);
        if let Err(SendError::Full(Publish { change, .. })) = actor.try_send(Publish {
            change,
            by: crate::limits::Writer::Hub,
            reply,
        }) {
            ctx.run_later(ALERT_RESOURCE_RETRY, move |resource, ctx| {
                resource.publish_elsewhere(id, change, ctx);
            });
        }
    }

    /// Stores slot `index` (or drops its record when there is nothing to keep).
    fn store_alert(&mut self, index: usize) -> Option<CommitTicket> {
        let slot = &self.monitoring.alerts[index];
        let key = alert_key(&self.id, &slot.name);
        let value = if slot.state.is_quiet() && slot.queue.is_empty() {
            None
        } else {
            let record = AlertRecord {
                state: slot.state.clone(),
                queue: slot.queue.clone(),
                url: slot.url.clone(),
                slack: slot.format == Format::Slack,
            };
            Some(Bytes::from(
                rmp_serde::to_vec_named(&record).expect("an alert record always encodes"),
            ))
        };
        match self.store.put(&key, value) {
            Ok(ticket) => Some(ticket),
            Err(error) => {
                tracing::error!(resource = %self.id, alert = slot.name, %error, "cannot store the alert state");
                None
            }
        }
    }

    /// Delivers slot `index`'s oldest notification once `stored` is durable (so
    /// a crash after the POST cannot fire it again), then the next.
    fn send_next(&mut self, index: usize, stored: Option<CommitTicket>, ctx: &mut Context<Self>) {
        let slot = &mut self.monitoring.alerts[index];
        if slot.sending {
            return;
        }
        let Some(post) = slot.queue.front().cloned() else {
            return;
        };
        slot.sending = true;
        let name = slot.name.clone();
        let (tries, backoff) = slot
            .spec
            .as_ref()
            .map_or((5, Duration::from_secs(4)), |spec| {
                (spec.tries, spec.backoff)
            });
        ctx.spawn(
            async move {
                if let Some(stored) = stored {
                    let _ = stored.await;
                }
                webhook::deliver(&name, &post, tries, backoff).await;
                name
            }
            .into_actor(self)
            .map(|name, resource, ctx| resource.sent(&name, ctx)),
        );
    }

    fn sent(&mut self, name: &str, ctx: &mut Context<Self>) {
        let Some(index) = self.monitoring.alerts.iter().position(|s| s.name == name) else {
            return;
        };
        let slot = &mut self.monitoring.alerts[index];
        slot.sending = false;
        slot.queue.pop_front();
        let ticket = self.store_alert(index);
        let slot = &self.monitoring.alerts[index];
        if slot.queue.is_empty() && slot.spec.is_none() {
            self.monitoring.alerts.remove(index);
            self.maybe_retire(ctx);
            return;
        }
        self.send_next(index, ticket, ctx);
        self.maybe_retire(ctx);
    }

    /// Sets the alert timer to the earliest deadline of any slot.
    fn arm_alerts(&mut self, ctx: &mut Context<Self>) {
        if let Some(timer) = self.monitoring.alert_timer.take() {
            ctx.cancel_future(timer);
        }
        let deadline = self
            .monitoring
            .alerts
            .iter()
            .filter_map(|slot| {
                slot.spec
                    .as_ref()
                    .and_then(|spec| slot.state.deadline(&rule(spec)))
            })
            .min();
        let Some(deadline) = deadline else {
            return;
        };
        let wait = Duration::from_millis(deadline.saturating_sub(self.clock.now_ms()));
        self.monitoring.alert_timer = Some(ctx.run_later(wait, |resource, ctx| {
            resource.monitoring.alert_timer = None;
            resource.tick_alerts(ctx);
        }));
    }

    fn tick_alerts(&mut self, ctx: &mut Context<Self>) {
        let now = self.clock.now_ms();
        for index in 0..self.monitoring.alerts.len() {
            let slot = &mut self.monitoring.alerts[index];
            let notices = match &slot.spec {
                Some(spec) => slot.state.tick(&rule(spec), now),
                None => Vec::new(),
            };
            if !notices.is_empty() {
                self.after_alert(index, notices, ctx);
            }
        }
        self.arm_alerts(ctx);
    }

    /// A durable change: uptime, rollups and alerts follow its status.
    pub(super) fn monitor_applied(&mut self, applied: &Applied, ctx: &mut Context<Self>) {
        if applied.before == applied.after {
            return;
        }
        if let Some(before) = applied.before {
            self.add_uptime(before, applied.before_since, applied.delta.at);
            self.monitoring.previous = Some(before);
        }
        for rollup in &self.monitoring.rollups {
            rollup.moved(self.monitoring.contributed, applied.after);
        }
        self.monitoring.contributed = applied.after;
        let now = self.clock.now_ms();
        for index in 0..self.monitoring.alerts.len() {
            let notices = self.observe_alert(index, now);
            if !notices.is_empty() {
                self.after_alert(index, notices, ctx);
            }
        }
        self.arm_alerts(ctx);
    }

    /// Adds the time spent in `status` from `from` to `to` to the day buckets,
    /// dropping buckets older than `KEEP_DAYS` when a new day is first written.
    fn add_uptime(&mut self, status: Status, from: u64, to: u64) {
        if from == 0 || to <= from {
            return;
        }
        for (day, counters) in uptime::split(status, from, to) {
            if let Err(error) = self
                .store
                .add(&uptime::day_key(self.id.as_str(), day), counters)
            {
                tracing::warn!(resource = %self.id, %error, "uptime not recorded");
            }
            if day > self.monitoring.pruned_day {
                self.monitoring.pruned_day = day;
                let oldest = day.saturating_sub(uptime::KEEP_DAYS);
                let _ = self.store.remove_range(
                    &uptime::day_key(self.id.as_str(), 0),
                    &uptime::day_key(self.id.as_str(), oldest),
                );
            }
        }
    }
}

impl Handler<Rejoin> for ResourceActor {
    type Result = ();

    fn handle(&mut self, rejoin: Rejoin, ctx: &mut Context<Self>) {
        self.join(rejoin.rules, ctx);
    }
}

impl Handler<ReadUptime> for ResourceActor {
    type Result = ();

    fn handle(&mut self, read: ReadUptime, _: &mut Context<Self>) {
        read.reply.send(self.uptime_report(read.days));
    }
}

impl ResourceActor {
    fn uptime_report(&self, days: u64) -> Result<uptime::Report, Rejection> {
        let state = self.committed();
        if !state.exists {
            return Err(Rejection::not_found(&self.id));
        }
        let now = self.clock.now_ms();
        let today = uptime::day_of(now);
        let mut stored = std::collections::BTreeMap::new();
        for day in today.saturating_sub(days)..=today {
            let counters = self
                .store
                .counters(&uptime::day_key(self.id.as_str(), day))?;
            if !counters.is_empty() {
                stored.insert(day, counters);
            }
        }
        Ok(uptime::report(
            self.id.as_str(),
            &stored,
            Some((state.status, state.status_since)),
            now,
            days,
        ))
    }
}
