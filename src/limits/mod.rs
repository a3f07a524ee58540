//! Rate limits (governor): per-IP upgrades before auth, per-session frames and
//! publishes, subscriptions per session, and REST requests per token (or per IP
//! when anonymous). Over a rate the request gets `rate_limited` with the time to
//! wait; a session that keeps hammering is closed 4008.
//!
//! On by default whenever auth is configured, with budgets a normal dashboard or
//! agent never meets; off without auth unless the configuration sets them, so a
//! load test on loopback measures the hub and not the limiter.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use fillstack_protocol::ErrorCode;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota};
use serde::Deserialize;

use crate::error::Rejection;

pub mod quota;

pub use quota::{QuotaSettings, Quotas, Writer};

/// Budgets, per second with a burst; `[limits]` in the configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitSettings {
    /// WebSocket upgrades per second from one IP address.
    pub upgrades_per_ip: u32,
    /// Frames per second one session may send (every frame counts).
    pub frames_per_session: u32,
    /// Publishes per second one session may send.
    pub publishes_per_session: u32,
    /// Patterns one session may subscribe at once.
    pub subscriptions_per_session: u32,
    /// REST requests per second per token subject, counted after the token verifies.
    pub rest_per_client: u32,
    /// REST requests per second from one IP address, counted before any token is
    /// looked at, so bad tokens cannot buy signature checks without limit.
    pub rest_per_ip: u32,
    /// Resources per second one session's `sub` and `unsub` may reach: a pattern
    /// matching many resources is charged for each, and waits for budget.
    pub sub_resources_per_session: u32,
    /// Refused frames in a row after which a session is closed 4008.
    pub abuse_after: u32,
    /// Quota: resources that may exist in the hub (always applies).
    pub resources_total: usize,
    /// Quota: existing resources one token subject may have created.
    pub resources_per_subject: usize,
    /// Quota: live sessions one token subject may hold.
    pub sessions_per_subject: usize,
    /// Quota: live WebSocket sessions the hub holds (always applies).
    pub sessions_total: usize,
}

impl LimitSettings {
    /// The quotas of this table.
    pub fn quotas(&self) -> QuotaSettings {
        QuotaSettings {
            resources_total: self.resources_total,
            resources_per_subject: self.resources_per_subject,
            sessions_per_subject: self.sessions_per_subject,
            sessions_total: self.sessions_total,
        }
    }
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            upgrades_per_ip: 20,
            frames_per_session: 500,
            publishes_per_session: 200,
            subscriptions_per_session: 1000,
            rest_per_client: 200,
            rest_per_ip: 200,
            sub_resources_per_session: 10_000,
            abuse_after: 1000,
            resources_total: QuotaSettings::default().resources_total,
            resources_per_subject: QuotaSettings::default().resources_per_subject,
            sessions_per_subject: QuotaSettings::default().sessions_per_subject,
            sessions_total: QuotaSettings::default().sessions_total,
        }
    }
}

fn quota(per_second: u32) -> Quota {
    let rate = NonZeroU32::new(per_second.max(1)).unwrap_or(NonZeroU32::MIN);
    // A burst of one second's worth: a reconnecting dashboard's first seconds fit.
    Quota::per_second(rate).allow_burst(rate)
}

fn limited(what: &str, per_second: u32, wait: Duration) -> Rejection {
    Rejection {
        retry_after: Some(wait.max(Duration::from_millis(1))),
        ..Rejection::new(
            ErrorCode::RateLimited,
            format!("{what} is over {per_second}/s; retry later"),
        )
    }
}

/// The hub-wide limiters (keyed), shared by every worker.
pub struct Limits {
    settings: LimitSettings,
    upgrades: DefaultKeyedRateLimiter<IpAddr>,
    rest_ips: DefaultKeyedRateLimiter<IpAddr>,
    rest: DefaultKeyedRateLimiter<String>,
}

impl Limits {
    /// Limiters with these budgets.
    pub fn new(settings: LimitSettings) -> Arc<Self> {
        Arc::new(Self {
            settings,
            upgrades: DefaultKeyedRateLimiter::keyed(quota(settings.upgrades_per_ip)),
            rest_ips: DefaultKeyedRateLimiter::keyed(quota(settings.rest_per_ip)),
            rest: DefaultKeyedRateLimiter::keyed(quota(settings.rest_per_client)),
        })
    }

    /// The budgets.
    pub fn settings(&self) -> LimitSettings {
        self.settings
    }

    /// May `ip` open another socket now?
    pub fn take_upgrade(&self, ip: IpAddr) -> Result<(), Rejection> {
        self.upgrades.check_key(&ip).map_err(|until| {
            limited(
                "opening sockets from this address",
                self.settings.upgrades_per_ip,
                until.wait_time_from(DefaultClock::default().now()),
            )
        })
    }

    /// May `ip` make another REST request now? Asked before any token is read.
    pub fn take_rest_ip(&self, ip: IpAddr) -> Result<(), Rejection> {
        self.rest_ips.check_key(&ip).map_err(|until| {
            limited(
                "REST requests from this address",
                self.settings.rest_per_ip,
                until.wait_time_from(DefaultClock::default().now()),
            )
        })
    }

    /// May this token subject make another REST request now?
    pub fn take_rest(&self, subject: &str) -> Result<(), Rejection> {
        self.rest.check_key(&subject.to_owned()).map_err(|until| {
            limited(
                "REST requests of this client",
                self.settings.rest_per_client,
                until.wait_time_from(DefaultClock::default().now()),
            )
        })
    }

    /// Forgets keys idle long enough to be back at full budget; run on a timer so
    /// a sweep of source addresses cannot grow memory without bound.
    pub fn forget_idle(&self) {
        self.upgrades.retain_recent();
        self.rest_ips.retain_recent();
        self.rest.retain_recent();
    }

    /// Keys held (addresses and REST clients), for watching memory.
    pub fn tracked_keys(&self) -> usize {
        self.upgrades.len() + self.rest_ips.len() + self.rest.len()
    }

    /// The per-session limiters for a new session.
    pub fn for_session(&self) -> SessionLimits {
        SessionLimits {
            settings: self.settings,
            frames: DefaultDirectRateLimiter::direct(quota(self.settings.frames_per_session)),
            publishes: DefaultDirectRateLimiter::direct(quota(self.settings.publishes_per_session)),
            sub_work: Arc::new(SubWork::new(self.settings.sub_resources_per_session)),
            refused_in_a_row: 0,
        }
    }
}

/// One session's budgets.
pub struct SessionLimits {
    settings: LimitSettings,
    frames: DefaultDirectRateLimiter,
    publishes: DefaultDirectRateLimiter,
    sub_work: Arc<SubWork>,
    refused_in_a_row: u32,
}

/// A session's budget of resources reached by `sub` and `unsub`, spent a chunk at
/// a time by its control path (which waits when it runs out).
pub struct SubWork {
    per_second: u32,
    limiter: DefaultDirectRateLimiter,
}

impl SubWork {
    fn new(per_second: u32) -> Self {
        Self {
            per_second: per_second.max(1),
            limiter: DefaultDirectRateLimiter::direct(quota(per_second)),
        }
    }

    /// The most resources one chunk may reach: never more than the burst.
    pub fn chunk(&self, most: usize) -> usize {
        most.min(self.per_second as usize).max(1)
    }

    /// Spends `count` (at most [`SubWork::chunk`]), waiting until the budget has it.
    pub async fn spend(&self, count: usize) {
        let Some(count) = u32::try_from(count).ok().and_then(NonZeroU32::new) else {
            return;
        };
        loop {
            match self.limiter.check_n(count) {
                Ok(Ok(())) | Err(_) => return,
                Ok(Err(until)) => {
                    let wait = until.wait_time_from(DefaultClock::default().now());
                    tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
                }
            }
        }
    }
}

/// What a session must do about a frame over its budget.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Answer with this rejection and carry on.
    Refuse(Rejection),
    /// Too many refusals in a row: close 4008.
    Abuse,
}

impl SessionLimits {
    /// Counts one frame (and one publish when `is_publish`).
    pub fn take_frame(&mut self, is_publish: bool) -> Result<(), Verdict> {
        let now = || DefaultClock::default().now();
        let outcome = self
            .frames
            .check()
            .map_err(|until| {
                limited(
                    "frames of this session",
                    self.settings.frames_per_session,
                    until.wait_time_from(now()),
                )
            })
            .and_then(|()| match is_publish {
                true => self.publishes.check().map_err(|until| {
                    limited(
                        "publishes of this session",
                        self.settings.publishes_per_session,
                        until.wait_time_from(now()),
                    )
                }),
                false => Ok(()),
            });
        match outcome {
            Ok(()) => {
                self.refused_in_a_row = 0;
                Ok(())
            }
            Err(rejection) => {
                self.refused_in_a_row += 1;
                if self.refused_in_a_row >= self.settings.abuse_after {
                    Err(Verdict::Abuse)
                } else {
                    Err(Verdict::Refuse(rejection))
                }
            }
        }
    }

    /// The budget its `sub` and `unsub` spend, per resource reached.
    pub fn sub_work(&self) -> Arc<SubWork> {
        self.sub_work.clone()
    }

    /// May the session hold `count + 1` subscriptions?
    pub fn allow_subscription(&self, count: usize) -> Result<(), Rejection> {
        let limit = self.settings.subscriptions_per_session as usize;
        if count < limit {
            Ok(())
        } else {
            Err(Rejection::new(
                ErrorCode::RateLimited,
                format!("this session already holds {count} subscriptions; the limit is {limit}"),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_over_its_publish_budget_is_told_when_to_retry_then_closed_when_it_keeps_on() {
        let limits = Limits::new(LimitSettings {
            publishes_per_session: 3,
            abuse_after: 5,
            ..LimitSettings::default()
        });
        let mut session = limits.for_session();
        for _ in 0..3 {
            assert_eq!(session.take_frame(true), Ok(()));
        }
        let Err(Verdict::Refuse(rejection)) = session.take_frame(true) else {
            panic!("over budget")
        };
        assert_eq!(
            (rejection.code, rejection.message.as_str()),
            (
                ErrorCode::RateLimited,
                "publishes of this session is over 3/s; retry later"
            )
        );
        assert!(rejection.retry_after.unwrap() <= Duration::from_millis(334));
        assert_eq!(session.take_frame(false), Ok(()), "other frames still pass");
        for _ in 0..4 {
            let _ = session.take_frame(true);
        }
        assert_eq!(session.take_frame(true), Err(Verdict::Abuse));
    }

    #[test]
    fn keyed_budgets_are_per_address_and_idle_keys_are_forgotten() {
        let limits = Limits::new(LimitSettings {
            upgrades_per_ip: 2,
            ..LimitSettings::default()
        });
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(limits.take_upgrade(a).is_ok() && limits.take_upgrade(a).is_ok());
        assert!(limits.take_upgrade(a).is_err());
        assert!(
            limits.take_upgrade(b).is_ok(),
            "another address has its own budget"
        );
        assert_eq!(limits.tracked_keys(), 2);
        // A full budget again after one second (its burst is one second's worth).
        std::thread::sleep(Duration::from_millis(1600));
        limits.forget_idle();
        assert_eq!(limits.tracked_keys(), 0);
    }
}
