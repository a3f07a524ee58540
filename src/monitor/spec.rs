//! The monitoring part of the config file: `[[probe]]`, `[[alert]]` and
//! `[[rollup]]` tables, checked once. Every problem names the table as written,
//! counted from 1, and the key (`probe[3].target: ...`).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use fillstack_protocol::{Pattern, ResourceId, Status};
use serde::Deserialize;

use crate::config::ConfigError;

/// Shortest probe interval.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// A probe's timeout when the file gives none (never more than its interval).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Webhook tries before a notification counts as failed, and the first wait
/// between two (it doubles, with jitter): 5 tries over about a minute.
const DEFAULT_TRIES: u32 = 5;
const DEFAULT_BACKOFF: Duration = Duration::from_secs(4);

/// Every probe, alert and rollup of the file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MonitorSpec {
    pub probes: Vec<ProbeSpec>,
    pub alerts: Vec<AlertSpec>,
    pub rollups: Vec<RollupSpec>,
}

/// One `[[probe]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeSpec {
    /// The resource its results are published into.
    pub resource: ResourceId,
    pub check: Check,
    pub interval: Duration,
    pub timeout: Duration,
    /// Slower than this (but otherwise fine) is `degraded`.
    pub degraded_after: Option<Duration>,
}

/// What a probe does.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// A GET of `url`.
    Http {
        url: String,
        /// `None`: any 2xx.
        expect_status: Option<u16>,
        body_contains: Option<String>,
        headers: Vec<(String, String)>,
    },
    /// A TCP connect to `address` (`HOST:PORT`).
    Tcp { address: String },
}

impl Check {
    /// `http` or `tcp`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Http { .. } => "http",
            Self::Tcp { .. } => "tcp",
        }
    }

    /// The URL or address, as configured.
    pub fn target(&self) -> &str {
        match self {
            Self::Http { url, .. } => url,
            Self::Tcp { address } => address,
        }
    }
}

/// How a webhook's body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The contract's JSON body.
    Json,
    /// `{"text": ...}` for a Slack incoming webhook.
    Slack,
}

/// One `[[alert]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertSpec {
    /// One id segment, unique among alerts.
    pub name: String,
    pub pattern: Pattern,
    /// Statuses that fire (never `maintenance`, whatever the file says).
    pub on: Vec<Status>,
    pub url: String,
    pub after: Duration,
    pub format: Format,
    pub flap_window: Duration,
    pub flap_max: u32,
    /// Tries per notification before it counts as failed.
    pub tries: u32,
    /// The first wait between two tries; doubles with jitter.
    pub backoff: Duration,
}

/// One `[[rollup]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct RollupSpec {
    /// The derived resource.
    pub resource: ResourceId,
    /// Its members.
    pub pattern: Pattern,
}

/// The tables as the file has them.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RawTables {
    #[serde(default)]
    pub probe: Vec<toml::Table>,
    #[serde(default)]
    pub alert: Vec<toml::Table>,
    #[serde(default)]
    pub rollup: Vec<toml::Table>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProbe {
    resource: String,
    kind: String,
    target: String,
    interval: String,
    timeout: Option<String>,
    expect_status: Option<i64>,
    degraded_after: Option<String>,
    body_contains: Option<String>,
    headers: Option<HashMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlert {
    name: Option<String>,
    pattern: String,
    on: Vec<String>,
    url: String,
    after: Option<String>,
    format: Option<String>,
    flap_window: Option<String>,
    flap_max: Option<i64>,
    tries: Option<i64>,
    backoff: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRollup {
    resource: String,
    pattern: String,
}

/// Where a problem is: `probe[3]`, counted from 1 as the file has them.
struct At<'a> {
    table: &'a str,
    index: usize,
}

impl At<'_> {
    fn error(&self, key: &str, problem: impl Into<String>) -> ConfigError {
        ConfigError {
            option: format!("{}[{}].{key}", self.table, self.index + 1),
            problem: problem.into(),
        }
    }

    /// A table that does not have the expected keys (serde's message names them).
    fn shape(&self, error: toml::de::Error) -> ConfigError {
        ConfigError {
            option: format!("{}[{}]", self.table, self.index + 1),
            problem: error.message().to_owned(),
        }
    }

    fn duration(&self, key: &str, text: &str) -> Result<Duration, ConfigError> {
        humantime::parse_duration(text).map_err(|e| {
            self.error(
                key,
                format!("`{text}` is not a duration such as 500ms, 10s or 5m: {e}"),
            )
        })
    }

    fn id(&self, key: &str, text: &str) -> Result<ResourceId, ConfigError> {
        ResourceId::parse(text).map_err(|e| self.error(key, e.to_string()))
    }

    /// A resource id the file may give a probe or a rollup: not under `hub/` or
    /// `alert/`, which the hub writes itself.
    fn own_id(&self, key: &str, text: &str) -> Result<ResourceId, ConfigError> {
        let id = self.id(key, text)?;
        if let Some(prefix) = reserved_prefix(&id) {
            return Err(self.error(
                key,
                format!("`{id}` is under {prefix}/, which the hub writes itself"),
            ));
        }
        Ok(id)
    }

    fn url(&self, key: &str, text: &str) -> Result<String, ConfigError> {
        let uri: awc::http::Uri = text
            .parse()
            .map_err(|e| self.error(key, format!("`{text}` is not a URL: {e}")))?;
        match uri.scheme_str() {
            Some("http" | "https") => {}
            Some(other) => {
                return Err(self.error(
                    key,
                    format!(
                        "`{text}`: the scheme `{other}` is not supported; use http:// or https://"
                    ),
                ));
            }
            None => {
                return Err(self.error(
                    key,
                    format!("`{text}` is not a URL such as http://127.0.0.1:9000/healthz"),
                ));
            }
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(self.error(key, format!("`{text}` names no host")));
        }
        Ok(text.to_owned())
    }
}

/// The first segments that only the hub writes: its own health, and alerts.
pub fn reserved_prefix(id: &ResourceId) -> Option<&'static str> {
    match id.segments().next() {
        Some("hub") => Some("hub"),
        Some("alert") => Some("alert"),
        _ => None,
    }
}

impl MonitorSpec {
    /// Checks every table; the first problem found is the error.
    pub fn parse(raw: &RawTables) -> Result<Self, ConfigError> {
        let mut spec = Self::default();
        let mut probed: HashMap<ResourceId, usize> = HashMap::new();
        for (index, table) in raw.probe.iter().enumerate() {
            let at = At {
                table: "probe",
                index,
            };
            let probe = parse_probe(&at, table)?;
            if let Some(first) = probed.insert(probe.resource.clone(), index) {
                return Err(at.error(
                    "resource",
                    format!(
                        "`{}` is already probed by probe[{}]; one probe per resource",
                        probe.resource,
                        first + 1
                    ),
                ));
            }
            spec.probes.push(probe);
        }
        let mut names = HashMap::new();
        for (index, table) in raw.alert.iter().enumerate() {
            let at = At {
                table: "alert",
                index,
            };
            let alert = parse_alert(&at, table)?;
            if let Some(first) = names.insert(alert.name.clone(), index) {
                return Err(at.error(
                    "name",
                    format!(
                        "`{}` is already the name of alert[{}]; alert names are unique",
                        alert.name,
                        first + 1
                    ),
                ));
            }
            spec.alerts.push(alert);
        }
        for (index, table) in raw.rollup.iter().enumerate() {
            let at = At {
                table: "rollup",
                index,
            };
            let rollup = parse_rollup(&at, table)?;
            if let Some(probe) = probed.get(&rollup.resource) {
                return Err(at.error(
                    "resource",
                    format!(
                        "`{}` is probed by probe[{}]; a rollup's resource is written by the hub alone",
                        rollup.resource,
                        probe + 1
                    ),
                ));
            }
            if let Some(first) = spec
                .rollups
                .iter()
                .position(|other| other.resource == rollup.resource)
            {
                return Err(at.error(
                    "resource",
                    format!(
                        "`{}` is already the resource of rollup[{}]",
                        rollup.resource,
                        first + 1
                    ),
                ));
            }
            spec.rollups.push(rollup);
        }
        check_rollup_cycles(&spec.rollups)?;
        Ok(spec)
    }

    /// Parses the monitoring tables of a TOML text (other keys are ignored).
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let raw: RawTables = toml::from_str(text).map_err(|e| ConfigError {
            option: "--config".to_owned(),
            problem: e.message().to_owned(),
        })?;
        Self::parse(&raw)
    }

    /// Whether `id` is a rollup's resource.
    pub fn is_rollup(&self, id: &ResourceId) -> bool {
        self.rollups.iter().any(|rollup| rollup.resource == *id)
    }
}

fn parse_probe(at: &At<'_>, table: &toml::Table) -> Result<ProbeSpec, ConfigError> {
    let raw: RawProbe = toml::Value::Table(table.clone())
        .try_into()
        .map_err(|e| at.shape(e))?;
    let resource = at.own_id("resource", &raw.resource)?;
    let interval = at.duration("interval", &raw.interval)?;
    if interval < MIN_INTERVAL {
        return Err(at.error(
            "interval",
            format!("`{}` is under the shortest interval, 1s", raw.interval),
        ));
    }
    let timeout = match &raw.timeout {
        Some(text) => at.duration("timeout", text)?,
        None => DEFAULT_TIMEOUT.min(interval),
    };
    if timeout.is_zero() {
        return Err(at.error("timeout", "must be more than 0s"));
    }
    let degraded_after = raw
        .degraded_after
        .as_deref()
        .map(|text| at.duration("degraded_after", text))
        .transpose()?;
    let http_only = |key: &str, given: bool| {
        if given {
            Err(at.error(key, "only http probes take this key"))
        } else {
            Ok(())
        }
    };
    let check = match raw.kind.as_str() {
        "http" => http_check(at, &raw)?,
        "tcp" => {
            http_only("expect_status", raw.expect_status.is_some())?;
            http_only("body_contains", raw.body_contains.is_some())?;
            http_only("headers", raw.headers.is_some())?;
            Check::Tcp {
                address: tcp_address(at, &raw.target)?,
            }
        }
        other => {
            return Err(at.error(
                "kind",
                format!("`{other}` is not a probe kind; use http or tcp"),
            ));
        }
    };
    Ok(ProbeSpec {
        resource,
        check,
        interval,
        timeout,
        degraded_after,
    })
}

fn http_check(at: &At<'_>, raw: &RawProbe) -> Result<Check, ConfigError> {
    let expect_status = raw
        .expect_status
        .map(|status| {
            u16::try_from(status)
                .ok()
                .filter(|status| (100..=599).contains(status))
                .ok_or_else(|| {
                    at.error(
                        "expect_status",
                        format!("{status} is not an HTTP status (100 to 599)"),
                    )
                })
        })
        .transpose()?;
    let mut headers: Vec<(String, String)> = raw
        .headers
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    headers.sort();
    for (name, value) in &headers {
        if awc::http::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(at.error("headers", format!("`{name}` is not a header name")));
        }
        if awc::http::header::HeaderValue::from_str(value).is_err() {
            return Err(at.error(
                "headers",
                format!("the value of `{name}` is not a valid header value"),
            ));
        }
    }
    Ok(Check::Http {
        url: at.url("target", &raw.target)?,
        expect_status,
        body_contains: raw.body_contains.clone(),
        headers,
    })
}

/// `HOST:PORT` with a port from 1 to 65535.
fn tcp_address(at: &At<'_>, text: &str) -> Result<String, ConfigError> {
    let bad = || {
        at.error(
            "target",
            format!("`{text}` is not HOST:PORT, such as 127.0.0.1:5432"),
        )
    };
    let (host, port) = text.rsplit_once(':').ok_or_else(bad)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host.contains('/') || port.parse::<u16>().ok().is_none_or(|p| p == 0) {
        return Err(bad());
    }
    Ok(text.to_owned())
}

fn parse_alert(at: &At<'_>, table: &toml::Table) -> Result<AlertSpec, ConfigError> {
    let raw: RawAlert = toml::Value::Table(table.clone())
        .try_into()
        .map_err(|e| at.shape(e))?;
    let name = raw
        .name
        .unwrap_or_else(|| format!("alert-{}", at.index + 1));
    if name.contains('/') || ResourceId::parse(&name).is_err() || name.len() > 64 {
        return Err(at.error(
            "name",
            format!(
                "`{name}` is not one id segment ([A-Za-z0-9][A-Za-z0-9_.:-]*, at most 64 bytes)"
            ),
        ));
    }
    let pattern = Pattern::parse(&raw.pattern).map_err(|e| at.error("pattern", e.to_string()))?;
    if raw.on.is_empty() {
        return Err(at.error(
            "on",
            "names no status; give at least one, such as [\"down\"]",
        ));
    }
    let mut on = Vec::new();
    for status in &raw.on {
        let status = Status::parse(status).ok_or_else(|| {
            at.error(
                "on",
                format!(
                    "`{status}` is not a status (up, degraded, down, unknown, stale, maintenance)"
                ),
            )
        })?;
        if !on.contains(&status) {
            on.push(status);
        }
    }
    let format = match raw.format.as_deref() {
        None | Some("json") => Format::Json,
        Some("slack") => Format::Slack,
        Some(other) => {
            return Err(at.error(
                "format",
                format!("`{other}` is not a format; use json or slack"),
            ));
        }
    };
    let positive = |key: &str, value: Option<i64>, default: u32, max: u32| {
        value.map_or(Ok(default), |value| {
            u32::try_from(value)
                .ok()
                .filter(|value| (1..=max).contains(value))
                .ok_or_else(|| at.error(key, format!("{value} is out of range 1..={max}")))
        })
    };
    let flap_window = match &raw.flap_window {
        Some(text) => at.duration("flap_window", text)?,
        None => Duration::from_secs(600),
    };
    if flap_window.is_zero() {
        return Err(at.error("flap_window", "must be more than 0s"));
    }
    Ok(AlertSpec {
        name,
        pattern,
        on,
        url: at.url("url", &raw.url)?,
        after: match &raw.after {
            Some(text) => at.duration("after", text)?,
            None => Duration::ZERO,
        },
        format,
        flap_window,
        flap_max: positive("flap_max", raw.flap_max, 5, 1000)?,
        tries: positive("tries", raw.tries, DEFAULT_TRIES, 20)?,
        backoff: match &raw.backoff {
            Some(text) => at.duration("backoff", text)?,
            None => DEFAULT_BACKOFF,
        },
    })
}

fn parse_rollup(at: &At<'_>, table: &toml::Table) -> Result<RollupSpec, ConfigError> {
    let raw: RawRollup = toml::Value::Table(table.clone())
        .try_into()
        .map_err(|e| at.shape(e))?;
    let resource = at.own_id("resource", &raw.resource)?;
    let pattern = Pattern::parse(&raw.pattern).map_err(|e| at.error("pattern", e.to_string()))?;
    if pattern.matches(&resource) {
        return Err(at.error(
            "pattern",
            format!("`{pattern}` matches the rollup's own resource `{resource}`; a rollup is never its own member"),
        ));
    }
    Ok(RollupSpec { resource, pattern })
}

/// A rollup whose members include, through other rollups, itself.
fn check_rollup_cycles(rollups: &[RollupSpec]) -> Result<(), ConfigError> {
    // Rollup i has rollup j as a member when i's pattern matches j's resource.
    let members = |i: usize| {
        rollups
            .iter()
            .enumerate()
            .filter(move |(j, other)| *j != i && rollups[i].pattern.matches(&other.resource))
            .map(|(j, _)| j)
    };
    for (start, rollup) in rollups.iter().enumerate() {
        let mut seen = HashSet::new();
        let mut stack: Vec<usize> = members(start).collect();
        while let Some(next) = stack.pop() {
            if next == start {
                let at = At {
                    table: "rollup",
                    index: start,
                };
                return Err(at.error(
                    "pattern",
                    format!(
                        "`{}` has `{}` as a member through other rollups; rollups may not form a cycle",
                        rollup.pattern, rollup.resource
                    ),
                ));
            }
            if seen.insert(next) {
                stack.extend(members(next));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<MonitorSpec, String> {
        let raw: RawTables = toml::from_str(text).map_err(|e| e.to_string())?;
        MonitorSpec::parse(&raw).map_err(|e| e.to_string())
    }

    const PROBE: &str = "[[probe]]\nresource = \"svc/a\"\nkind = \"http\"\ntarget = \"http://127.0.0.1:9/h\"\ninterval = \"1s\"\n";

    #[test]
    fn a_full_file_parses_with_defaults() {
        let spec = parse(&format!(
            "{PROBE}[[probe]]\nresource = \"db/main\"\nkind = \"tcp\"\ntarget = \"127.0.0.1:5432\"\ninterval = \"10s\"\ntimeout = \"2s\"\n\
             [[alert]]\npattern = \"svc/**\"\non = [\"down\", \"stale\"]\nurl = \"http://127.0.0.1:9001/hook\"\n\
             [[rollup]]\nresource = \"rollup/all\"\npattern = \"svc/**\"\n"
        ))
        .unwrap();
        assert_eq!(spec.probes.len(), 2);
        assert_eq!(spec.probes[0].timeout, Duration::from_secs(1));
        assert_eq!(spec.alerts[0].name, "alert-1");
        assert_eq!(spec.alerts[0].after, Duration::ZERO);
        assert_eq!(
            (spec.alerts[0].flap_max, spec.alerts[0].tries),
            (5, DEFAULT_TRIES)
        );
        assert!(spec.is_rollup(&ResourceId::parse("rollup/all").unwrap()));
    }

    #[test]
    fn each_mistake_names_its_table_counted_from_one_and_its_key() {
        let cases = [
            (
                format!("{PROBE}[[probe]]\nresource = \"x\"\nkind = \"icmp\"\ntarget = \"h\"\ninterval = \"1s\"\n"),
                "probe[2].kind: `icmp` is not a probe kind",
            ),
            (
                PROBE.replace("http://127.0.0.1:9/h", "127.0.0.1:9"),
                "probe[1].target: `127.0.0.1:9` is not a URL such as",
            ),
            (
                PROBE.replace("\"1s\"", "\"500ms\""),
                "probe[1].interval: `500ms` is under the shortest interval, 1s",
            ),
            (
                format!("{PROBE}{PROBE}"),
                "probe[2].resource: `svc/a` is already probed by probe[1]",
            ),
            (
                PROBE.replace("svc/a", "alert/x"),
                "probe[1].resource: `alert/x` is under alert/",
            ),
            (
                "[[alert]]\npattern = \"svc/***\"\non = [\"down\"]\nurl = \"http://h/\"\n".into(),
                "alert[1].pattern: pattern `svc/***`",
            ),
            (
                "[[alert]]\nname = \"a\"\npattern = \"**\"\non = [\"down\"]\nurl = \"http://h/\"\n[[alert]]\nname = \"a\"\npattern = \"**\"\non = [\"down\"]\nurl = \"http://h/\"\n".into(),
                "alert[2].name: `a` is already the name of alert[1]",
            ),
            (
                "[[alert]]\npattern = \"**\"\non = [\"broken\"]\nurl = \"http://h/\"\n".into(),
                "alert[1].on: `broken` is not a status",
            ),
            (
                "[[rollup]]\nresource = \"r/a\"\npattern = \"r/b\"\n[[rollup]]\nresource = \"r/b\"\npattern = \"r/a\"\n".into(),
                "rollup[1].pattern: `r/b` has `r/a` as a member through other rollups",
            ),
            (
                "[[rollup]]\nresource = \"r/a\"\npattern = \"r/**\"\n".into(),
                "rollup[1].pattern: `r/**` matches the rollup's own resource",
            ),
            (
                PROBE.replace("interval", "intervl"),
                "probe[1]: unknown field `intervl`",
            ),
        ];
        for (text, expected) in cases {
            let error = parse(&text).unwrap_err();
            assert!(
                error.starts_with(expected),
                "{error}\n  expected: {expected}"
            );
        }
    }
}
