//! Monitoring: the hub watching services itself. Probes, alerts and rollups come
//! from the config file; each runs where its data is:
//!
//! - a probe is a timer of its resource's actor, which publishes each result;
//! - an alert's state for one member lives in that member's actor, which sees
//!   every status change in order, keeps the state in the store and sends the
//!   webhooks;
//! - a rollup's counts are moved by its members' actors as their statuses
//!   change, and a small publisher writes them into the rollup's resource;
//! - uptime is added up by each resource's actor into day buckets in the store.
//!
//! The pure cores (`alert`, `rollup`, `uptime`, `probe::outcome`, `spec`) hold
//! every decision; `Rules` is the installed set, replaced whole by a reload.

pub mod alert;
pub mod probe;
pub mod rollup;
pub mod spec;
pub mod uptime;
pub mod webhook;

use std::collections::HashMap;
use std::sync::Arc;

use fillstack_protocol::{Pattern, ResourceId};

use rollup::Rollup;
use spec::{AlertSpec, MonitorSpec, ProbeSpec};

/// The installed probes, alerts and rollups.
#[derive(Debug, Default)]
pub struct Rules {
    pub spec: MonitorSpec,
    probes: HashMap<ResourceId, Arc<ProbeSpec>>,
    alerts: Vec<Arc<AlertSpec>>,
    rollups: Vec<Arc<Rollup>>,
}

/// What a reload changed: the resources whose actors must look at the rules again.
#[derive(Debug, Default)]
pub struct Changed {
    /// Patterns of added, changed or removed alerts and rollups.
    pub patterns: Vec<Pattern>,
    /// Resources whose probe was added, changed or removed.
    pub probed: Vec<ResourceId>,
    /// Rollups that no longer exist (their publishers stop, their resources go).
    pub retired: Vec<Arc<Rollup>>,
    /// Rollups new in this set (their publishers start).
    pub started: Vec<Arc<Rollup>>,
}

impl Rules {
    /// The rules of `spec`, reusing the rollups of `previous` whose spec is the
    /// same (their counts go on).
    pub fn new(spec: MonitorSpec, previous: Option<&Self>) -> (Self, Changed) {
        let mut changed = Changed::default();
        let rollups: Vec<Arc<Rollup>> = spec
            .rollups
            .iter()
            .map(|wanted| {
                previous
                    .and_then(|p| p.rollups.iter().find(|r| r.spec == *wanted).cloned())
                    .unwrap_or_else(|| {
                        let rollup = Rollup::new(wanted.clone());
                        changed.patterns.push(wanted.pattern.clone());
                        changed.started.push(rollup.clone());
                        rollup
                    })
            })
            .collect();
        let alerts: Vec<Arc<AlertSpec>> = spec.alerts.iter().cloned().map(Arc::new).collect();
        let probes: HashMap<ResourceId, Arc<ProbeSpec>> = spec
            .probes
            .iter()
            .map(|probe| (probe.resource.clone(), Arc::new(probe.clone())))
            .collect();
        if let Some(previous) = previous {
            for old in &previous.rollups {
                if !rollups.iter().any(|r| Arc::ptr_eq(r, old)) {
                    changed.patterns.push(old.spec.pattern.clone());
                    changed.retired.push(old.clone());
                }
            }
            for alert in spec
                .alerts
                .iter()
                .filter(|a| !previous.spec.alerts.contains(a))
            {
                changed.patterns.push(alert.pattern.clone());
            }
            for alert in previous
                .spec
                .alerts
                .iter()
                .filter(|a| !spec.alerts.contains(a))
            {
                changed.patterns.push(alert.pattern.clone());
            }
            for (id, probe) in &probes {
                if previous.probes.get(id).is_none_or(|old| old != probe) {
                    changed.probed.push(id.clone());
                }
            }
            changed.probed.extend(
                previous
                    .probes
                    .keys()
                    .filter(|id| !probes.contains_key(*id))
                    .cloned(),
            );
        } else {
            changed.probed.extend(probes.keys().cloned());
        }
        let rules = Self {
            spec,
            probes,
            alerts,
            rollups,
        };
        (rules, changed)
    }

    /// The probe of `id`, if it has one.
    pub fn probe_for(&self, id: &ResourceId) -> Option<&Arc<ProbeSpec>> {
        self.probes.get(id)
    }

    /// The alerts watching `id` (never an alert's own resource).
    pub fn alerts_for<'a>(
        &'a self,
        id: &'a ResourceId,
    ) -> impl Iterator<Item = &'a Arc<AlertSpec>> {
        let eligible = spec::reserved_prefix(id) != Some("alert");
        self.alerts
            .iter()
            .filter(move |alert| eligible && alert.pattern.matches(id))
    }

    /// The alert named `name`.
    pub fn alert(&self, name: &str) -> Option<&Arc<AlertSpec>> {
        self.alerts.iter().find(|alert| alert.name == name)
    }

    /// The rollups `id` is a member of (never one's own resource, never an alert's).
    pub fn rollups_for<'a>(&'a self, id: &'a ResourceId) -> impl Iterator<Item = &'a Arc<Rollup>> {
        let eligible = spec::reserved_prefix(id) != Some("alert");
        self.rollups.iter().filter(move |rollup| {
            eligible && rollup.spec.resource != *id && rollup.spec.pattern.matches(id)
        })
    }

    /// Every installed rollup.
    pub fn rollups(&self) -> &[Arc<Rollup>] {
        &self.rollups
    }

    /// Whether only the hub writes `id`: `hub/**`, `alert/**` and rollups.
    pub fn is_hub_owned(&self, id: &ResourceId) -> bool {
        spec::reserved_prefix(id).is_some() || self.spec.is_rollup(id)
    }
}

/// The resource of one (alert, member) pair: `alert/<name>/<member with / as .>`,
/// shortened with a hash of the member id when it would pass 128 bytes.
pub fn alert_resource(alert: &str, member: &ResourceId) -> ResourceId {
    let flat = member.as_str().replace('/', ".");
    let full = format!("alert/{alert}/{flat}");
    if let Ok(id) = ResourceId::parse(&full) {
        return id;
    }
    // FNV-1a: stable across builds and machines, unlike the std hasher.
    let hash = member
        .as_str()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    let suffix = format!("-{hash:016x}");
    let room = fillstack_protocol::MAX_ID_BYTES - "alert/".len() - alert.len() - 1 - suffix.len();
    let mut cut = room.min(flat.len());
    while !flat.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = flat[..cut].trim_end_matches(['.', '-', '_', ':']);
    ResourceId::parse(&format!("alert/{alert}/{head}{suffix}"))
        .unwrap_or_else(|_| unreachable!("a shortened alert id is valid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_resources_flatten_the_member_and_shorten_long_ones() {
        let member = ResourceId::parse("svc/api/health").unwrap();
        assert_eq!(
            alert_resource("web-down", &member).as_str(),
            "alert/web-down/svc.api.health"
        );
        let long = ResourceId::parse(&format!("svc/{}", "x".repeat(120))).unwrap();
        let id = alert_resource("web-down", &long);
        assert!(id.as_str().len() <= 128);
        assert_ne!(
            id,
            alert_resource(
                "web-down",
                &ResourceId::parse(&format!("svc/{}y", "x".repeat(119))).unwrap()
            )
        );
    }
}
