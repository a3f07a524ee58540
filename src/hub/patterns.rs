//! The pattern index: which subscribers watch which patterns, so a resource created
//! later starts with every subscriber whose pattern matches it.

use std::collections::HashMap;

use fillstack_protocol::{Pattern, ResourceId};

use crate::metrics::METRICS;
use crate::outbox::Outbox;
use crate::resource::messages::SessionId;

/// Subscribers by pattern. Touched by `sub`, `unsub` and resource creation only,
/// never by a publish.
#[derive(Default)]
pub struct PatternIndex {
    patterns: HashMap<Pattern, HashMap<SessionId, Outbox>>,
}

impl PatternIndex {
    /// `subscriber` now watches `pattern`.
    pub fn add(&mut self, pattern: Pattern, subscriber: SessionId, outbox: Outbox) {
        if self
            .patterns
            .entry(pattern)
            .or_default()
            .insert(subscriber, outbox)
            .is_none()
        {
            METRICS.subscriptions.inc();
        }
    }

    /// `subscriber` no longer watches `pattern`.
    pub fn remove(&mut self, pattern: &Pattern, subscriber: SessionId) {
        if let Some(watchers) = self.patterns.get_mut(pattern) {
            if watchers.remove(&subscriber).is_some() {
                METRICS.subscriptions.dec();
            }
            if watchers.is_empty() {
                self.patterns.remove(pattern);
            }
        }
    }

    /// Every (subscriber, outbox, pattern) whose pattern matches `id`.
    pub fn matching(&self, id: &ResourceId) -> Vec<(SessionId, Outbox, Pattern)> {
        self.patterns
            .iter()
            .filter(|(pattern, _)| pattern.matches(id))
            .flat_map(|(pattern, watchers)| {
                watchers
                    .iter()
                    .map(|(subscriber, outbox)| (*subscriber, outbox.clone(), pattern.clone()))
            })
            .collect()
    }

    /// How many (subscriber, pattern) pairs are registered.
    pub fn len(&self) -> usize {
        self.patterns.values().map(HashMap::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use fillstack_protocol::Codec;

    use super::*;
    use crate::outbox::OutboxLimits;

    #[test]
    fn a_new_resource_finds_every_matching_subscriber_once_per_pattern() {
        let outbox = Outbox::new(Codec::MsgPack, OutboxLimits::default());
        let mut index = PatternIndex::default();
        index.add(
            Pattern::parse("svc/**").unwrap(),
            SessionId(1),
            outbox.clone(),
        );
        index.add(
            Pattern::parse("svc/*").unwrap(),
            SessionId(1),
            outbox.clone(),
        );
        index.add(
            Pattern::parse("host/*").unwrap(),
            SessionId(2),
            outbox.clone(),
        );
        index.add(Pattern::parse("**").unwrap(), SessionId(3), outbox.clone());
        let id = ResourceId::parse("svc/api").unwrap();
        let mut found: Vec<_> = index
            .matching(&id)
            .into_iter()
            .map(|(s, _, p)| (s, p.to_string()))
            .collect();
        found.sort();
        assert_eq!(
            found,
            [
                (SessionId(1), "svc/*".into()),
                (SessionId(1), "svc/**".into()),
                (SessionId(3), "**".into())
            ]
        );
        index.remove(&Pattern::parse("**").unwrap(), SessionId(3));
        assert_eq!(index.matching(&id).len(), 2);
        assert_eq!(index.len(), 3);
    }
}
