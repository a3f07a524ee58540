//! The alert state of one (alert, member) pair: when it fires, resolves and
//! flaps. Pure: the member's statuses and the time come in as arguments, the
//! notices to send come out; the resource actor wires it to timers, webhooks and
//! the store.
//!
//! - A member is *in* an alert while its status is one of the alert's `on`
//!   (never while in `maintenance`). It fires once it has been in for `after`,
//!   and resolves when it leaves (any other status, maintenance or deletion).
//! - More than `flap_max` fires within `flap_window` make it *flapping*: one
//!   `flapping` notice, then none until it has held one state for a whole
//!   window, then a notice of that state.

use std::collections::VecDeque;
use std::time::Duration;

use fillstack_protocol::Status;
use serde::{Deserialize, Serialize};

/// What an alert rule says about timing (the rest of its spec is I/O).
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub on: Vec<Status>,
    pub after: Duration,
    pub flap_window: Duration,
    pub flap_max: u32,
}

impl Rule {
    fn holds(&self, status: Option<Status>) -> bool {
        status.is_some_and(|s| s != Status::Maintenance && self.on.contains(&s))
    }
}

/// What to tell the alert's receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Notice {
    Firing,
    Resolved,
    Flapping,
}

impl Notice {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Firing => "firing",
            Self::Resolved => "resolved",
            Self::Flapping => "flapping",
        }
    }
}

/// One (alert, member) pair's state; stored, so a restart neither fires twice
/// nor forgets an open alert.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemberAlert {
    /// Whether the member's status is in the alert's `on`, and since when.
    pub inside: bool,
    pub inside_since: u64,
    /// When the current episode fired (its id), while firing.
    pub firing_since: Option<u64>,
    /// When recent fires happened, for flap detection (within one window).
    pub fires: VecDeque<u64>,
    pub flapping: bool,
    /// When `inside` last changed: a flapping member calms down once it has
    /// held one state for a whole window.
    pub held_since: u64,
}

impl MemberAlert {
    /// The member's status is now `status` (`None`: deleted), which began at
    /// `status_since`; `now` is the hub's time.
    pub fn observe(
        &mut self,
        rule: &Rule,
        status: Option<Status>,
        status_since: u64,
        now: u64,
    ) -> Vec<Notice> {
        let inside = rule.holds(status);
        let mut notices = Vec::new();
        if inside != self.inside {
            self.inside = inside;
            self.held_since = now;
            if inside {
                self.inside_since = status_since.min(now);
            } else if self.firing_since.take().is_some() && !self.flapping {
                notices.push(Notice::Resolved);
            }
        }
        notices.extend(self.tick(rule, now));
        notices
    }

    /// Time passed: fires a member in for `after`; calms a flapping one.
    pub fn tick(&mut self, rule: &Rule, now: u64) -> Vec<Notice> {
        let mut notices = Vec::new();
        if self.inside && self.firing_since.is_none() && now >= self.fire_at(rule) {
            self.firing_since = Some(now);
            let window = millis(rule.flap_window);
            self.fires.push_back(now);
            while self.fires.front().is_some_and(|at| *at + window <= now) {
                self.fires.pop_front();
            }
            if self.flapping {
                // Still flapping: nothing until it calms down.
            } else if self.fires.len() > rule.flap_max as usize {
                self.flapping = true;
                notices.push(Notice::Flapping);
            } else {
                notices.push(Notice::Firing);
            }
        }
        if self.flapping && now >= self.held_since + millis(rule.flap_window) {
            self.flapping = false;
            self.fires.clear();
            notices.push(if self.firing_since.is_some() {
                Notice::Firing
            } else {
                Notice::Resolved
            });
        }
        notices
    }

    fn fire_at(&self, rule: &Rule) -> u64 {
        self.inside_since.saturating_add(millis(rule.after))
    }

    /// When `tick` next has something to do, if ever.
    pub fn deadline(&self, rule: &Rule) -> Option<u64> {
        let fire = (self.inside && self.firing_since.is_none()).then(|| self.fire_at(rule));
        let calm = self
            .flapping
            .then(|| self.held_since + millis(rule.flap_window));
        fire.into_iter().chain(calm).min()
    }

    /// Whether the pair is firing now (its alert resource is `down`).
    pub fn is_firing(&self) -> bool {
        self.firing_since.is_some()
    }

    /// Whether there is nothing to remember (the record can be dropped).
    pub fn is_quiet(&self) -> bool {
        !self.inside && self.firing_since.is_none() && !self.flapping && self.fires.is_empty()
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rule(after_ms: u64) -> Rule {
        Rule {
            on: vec![Status::Down, Status::Stale],
            after: Duration::from_millis(after_ms),
            flap_window: Duration::from_millis(10_000),
            flap_max: 3,
        }
    }

    #[test]
    fn a_member_fires_after_holding_and_resolves_once_when_it_leaves() {
        let rule = rule(1000);
        let mut alert = MemberAlert::default();
        assert!(alert.observe(&rule, Some(Status::Up), 0, 0).is_empty());
        assert!(
            alert
                .observe(&rule, Some(Status::Down), 100, 100)
                .is_empty()
        );
        assert_eq!(alert.deadline(&rule), Some(1100));
        assert!(alert.tick(&rule, 1099).is_empty());
        assert_eq!(alert.tick(&rule, 1100), [Notice::Firing]);
        // Down to stale is still inside: no second fire.
        assert!(
            alert
                .observe(&rule, Some(Status::Stale), 2000, 2000)
                .is_empty()
        );
        assert_eq!(
            alert.observe(&rule, Some(Status::Up), 3000, 3000),
            [Notice::Resolved]
        );
        assert!(alert.observe(&rule, None, 3000, 4000).is_empty());
    }

    #[test]
    fn leaving_before_after_sends_nothing_and_maintenance_resolves() {
        let rule = rule(1000);
        let mut alert = MemberAlert::default();
        alert.observe(&rule, Some(Status::Down), 0, 0);
        assert!(alert.observe(&rule, Some(Status::Up), 500, 500).is_empty());
        assert_eq!(alert.deadline(&rule), None);
        alert.observe(&rule, Some(Status::Down), 600, 600);
        assert_eq!(alert.tick(&rule, 1600), [Notice::Firing]);
        assert_eq!(
            alert.observe(&rule, Some(Status::Maintenance), 1700, 1700),
            [Notice::Resolved]
        );
    }

    #[test]
    fn a_status_held_before_the_rule_existed_counts_toward_after() {
        let rule = rule(1000);
        let mut alert = MemberAlert::default();
        assert_eq!(
            alert.observe(&rule, Some(Status::Down), 0, 5000),
            [Notice::Firing]
        );
    }

    proptest! {
        /// Whatever the member does: resolves never outnumber fires, a resolve
        /// always follows a fire, notices while flapping are one `flapping` per
        /// episode, and within any window at most `flap_max` firings are sent.
        #[test]
        fn notices_follow_the_rules(steps in prop::collection::vec((0u8..4, 1u64..3000), 1..200)) {
            let rule = rule(0);
            let mut alert = MemberAlert::default();
            let mut now = 0;
            let mut sent: Vec<(u64, Notice)> = Vec::new();
            // What the receiver believes: nothing open, an open alert, or flapping.
            let mut told = Notice::Resolved;
            for (status, wait) in steps {
                now += wait;
                let status = [Some(Status::Up), Some(Status::Down), Some(Status::Maintenance), None][status as usize];
                let mut notices = alert.tick(&rule, now);
                notices.extend(alert.observe(&rule, status, now, now));
                for notice in notices {
                    prop_assert_ne!(notice, told, "the same notice twice in a row at {}", now);
                    told = notice;
                    sent.push((now, notice));
                }
                prop_assert_eq!(alert.is_firing(), rule.holds(status));
                if !alert.flapping {
                    let expected = if alert.is_firing() { Notice::Firing } else { Notice::Resolved };
                    prop_assert_eq!(told, expected, "the receiver is out of date at {}", now);
                }
            }
            for (at, _) in &sent {
                let firings = sent.iter().filter(|(t, n)| *n == Notice::Firing && *t >= *at && *t < *at + 10_000).count();
                prop_assert!(firings <= rule.flap_max as usize + 1, "{firings} firings within a window from {at}");
            }
        }
    }
}
