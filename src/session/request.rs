//! Checked requests: wire frames turned into domain values, or `invalid` naming the
//! field and the limit. Shape errors were caught earlier by the codec (`bad_frame`).

use std::collections::BTreeMap;
use std::time::Duration;

use fillstack_protocol::{
    ClientFrame, FieldChanges, LabelChanges, Pattern, PublishFrame, RequestId, ResourceId, Scalar,
    Seq, Status,
};

use crate::error::Rejection;
use crate::resource::state::{Change, MAX_FIELDS, MAX_LABELS};

/// Longest field or label name, in bytes.
pub const MAX_NAME_BYTES: usize = 64;
/// Longest string field value or label value, in bytes.
pub const MAX_VALUE_BYTES: usize = 256;
/// Longest TTL a publish may set: 30 days.
pub const MAX_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// Most deltas one `history` answer carries.
pub const MAX_HISTORY_LIMIT: u64 = 1000;
/// Deltas a `history` answer carries when `limit` is absent.
pub const DEFAULT_HISTORY_LIMIT: u64 = 100;

/// A client request whose values are known to be in range.
#[derive(Debug)]
pub enum Request {
    Hello {
        id: RequestId,
        token: Option<String>,
    },
    Subscribe {
        id: RequestId,
        pattern: Pattern,
        since: BTreeMap<ResourceId, Seq>,
        /// The epoch `since` was seen under, when the client knows one.
        epoch: Option<String>,
        /// More of `since` follows in later `sub` frames of this pattern.
        more: bool,
    },
    Unsubscribe {
        id: RequestId,
        pattern: Pattern,
    },
    Publish {
        id: RequestId,
        resource: ResourceId,
        change: Change,
    },
    Get {
        id: RequestId,
        resource: ResourceId,
    },
    History {
        id: RequestId,
        resource: ResourceId,
        since: Seq,
        limit: usize,
    },
    Ping {
        id: RequestId,
    },
}

impl Request {
    /// The request's id, echoed in its answer.
    pub fn id(&self) -> RequestId {
        match self {
            Self::Hello { id, .. }
            | Self::Subscribe { id, .. }
            | Self::Unsubscribe { id, .. }
            | Self::Publish { id, .. }
            | Self::Get { id, .. }
            | Self::History { id, .. }
            | Self::Ping { id } => *id,
        }
    }
}

impl TryFrom<ClientFrame> for Request {
    type Error = Rejection;

    fn try_from(frame: ClientFrame) -> Result<Self, Rejection> {
        Ok(match frame {
            ClientFrame::Hello { id, token, .. } => Self::Hello { id, token },
            ClientFrame::Sub {
                id,
                pattern,
                since,
                epoch,
                more,
            } => {
                let since = since
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(id, seq)| Ok((resource_id(&id)?, seq)));
                Self::Subscribe {
                    id,
                    pattern: pattern_of(&pattern)?,
                    since: since.collect::<Result<_, Rejection>>()?,
                    epoch,
                    more,
                }
            }
            ClientFrame::Unsub { id, pattern } => Self::Unsubscribe {
                id,
                pattern: pattern_of(&pattern)?,
            },
            ClientFrame::Pub(PublishFrame {
                id,
                resource,
                status,
                fields,
                labels,
                ttl_ms,
            }) => Self::Publish {
                id,
                resource: resource_id(&resource)?,
                change: check_change(status.as_deref(), fields, labels, ttl_ms)?,
            },
            ClientFrame::Get { id, resource } => Self::Get {
                id,
                resource: resource_id(&resource)?,
            },
            ClientFrame::History {
                id,
                resource,
                since,
                limit,
            } => Self::History {
                id,
                resource: resource_id(&resource)?,
                since,
                limit: history_limit(limit)?,
            },
            ClientFrame::Ping { id } => Self::Ping { id },
        })
    }
}

/// A resource id, or `invalid` naming what is wrong with it.
pub fn resource_id(text: &str) -> Result<ResourceId, Rejection> {
    ResourceId::parse(text).map_err(|e| Rejection::invalid(e.to_string()))
}

fn pattern_of(text: &str) -> Result<Pattern, Rejection> {
    Pattern::parse(text).map_err(|e| Rejection::invalid(e.to_string()))
}

/// `limit` of a history request: 1 to 1000, 100 when absent.
pub fn history_limit(limit: Option<u64>) -> Result<usize, Rejection> {
    match limit.unwrap_or(DEFAULT_HISTORY_LIMIT) {
        limit @ 1..=MAX_HISTORY_LIMIT => Ok(usize::try_from(limit).unwrap_or(usize::MAX)),
        other => Err(Rejection::invalid(format!(
            "limit {other} is out of range 1..={MAX_HISTORY_LIMIT}"
        ))),
    }
}

/// The checked change of a publish (from a `pub` frame or a REST body).
pub fn check_change(
    status: Option<&str>,
    fields: Option<FieldChanges>,
    labels: Option<LabelChanges>,
    ttl_ms: Option<u64>,
) -> Result<Change, Rejection> {
    let status = status
        .map(|text| {
            Status::parse(text).ok_or_else(|| {
                Rejection::invalid(format!(
                    "status `{text}` is not one of up, degraded, down, unknown, stale, maintenance"
                ))
            })
        })
        .transpose()?;
    let fields = fields.unwrap_or_default();
    check_map("fields", &fields, MAX_FIELDS, |value| match value {
        Some(Scalar::Str(text)) => text.len(),
        _ => 0,
    })?;
    check_finite(&fields)?;
    let labels = labels.unwrap_or_default();
    check_map("labels", &labels, MAX_LABELS, |value| {
        value.as_ref().map_or(0, String::len)
    })?;
    let ttl = ttl_ms
        .map(|ms| match Duration::from_millis(ms) {
            ttl if ttl > MAX_TTL => Err(Rejection::invalid(format!(
                "ttl_ms {ms} is longer than {} (30 days)",
                MAX_TTL.as_millis()
            ))),
            ttl if ttl.is_zero() => Ok(None),
            ttl => Ok(Some(ttl)),
        })
        .transpose()?;
    Ok(Change {
        status,
        fields,
        labels,
        ttl,
    })
}

fn check_map<V>(
    what: &str,
    map: &BTreeMap<String, V>,
    max_entries: usize,
    value_bytes: impl Fn(&V) -> usize,
) -> Result<(), Rejection> {
    if map.len() > max_entries {
        return Err(Rejection::invalid(format!(
            "{what} has {} entries; the limit is {max_entries}",
            map.len()
        )));
    }
    let singular = what.trim_end_matches('s');
    for (name, value) in map {
        if name.is_empty() || name.len() > MAX_NAME_BYTES {
            return Err(Rejection::invalid(format!(
                "{singular} name `{name}` is {} bytes; names are 1 to {MAX_NAME_BYTES} bytes",
                name.len()
            )));
        }
        if !is_name(name) {
            return Err(Rejection::invalid(format!(
                "{singular} name `{name}` must match {NAME_GRAMMAR}"
            )));
        }
        let bytes = value_bytes(value);
        if bytes > MAX_VALUE_BYTES {
            return Err(Rejection::invalid(format!(
                "{singular} `{name}` is {bytes} bytes; the limit is {MAX_VALUE_BYTES}"
            )));
        }
    }
    Ok(())
}

/// The grammar of field and label names: the id segment's (amended "Resources").
const NAME_GRAMMAR: &str = "[A-Za-z0-9][A-Za-z0-9_.:-]*";

/// Whether `name` matches `NAME_GRAMMAR` (its length is checked apart).
fn is_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|first| first.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b))
}

/// Float fields must be finite: NaN and the infinities (which only MessagePack can
/// carry) would not survive JSON, where they have no literal.
fn check_finite(fields: &FieldChanges) -> Result<(), Rejection> {
    let not_finite = fields.iter().find_map(|(name, value)| match value {
        Some(Scalar::Float(float)) if !float.is_finite() => Some((name, float)),
        _ => None,
    });
    match not_finite {
        Some((name, float)) => Err(Rejection::invalid(format!(
            "field `{name}` is {float}; floats must be finite"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_id_segment_grammar() {
        for good in ["cpu", "CPU_2", "load.1m", "a:b-c", "9lives"] {
            assert!(is_name(good), "{good}");
        }
        for bad in ["", "_x", "-x", ".x", "a b", "a/b", "é", "x\u{0}", "cpu%"] {
            assert!(!is_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_float_field_must_be_finite() {
        let with = |value: f64| {
            let fields = FieldChanges::from([("cpu".to_owned(), Some(Scalar::Float(value)))]);
            check_change(None, Some(fields), None, None).map(|_| ())
        };
        assert!(with(0.5).is_ok());
        assert_eq!(
            with(f64::NEG_INFINITY).unwrap_err().message,
            "field `cpu` is -inf; floats must be finite"
        );
    }
}
