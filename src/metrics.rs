//! Every exported metric, registered in one place.
//!
//! Names follow Prometheus conventions (`fillstack_` prefix, base units, `_total`
//! counters). No label ever carries a resource id, session id or token subject, so
//! the number of series stays bounded however many resources exist. Labelled
//! children are resolved once here, so the hot path only does atomic adds.

use std::sync::LazyLock;

use fillstack_protocol::{ErrorCode, Status};
use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// The hub's metrics.
pub struct Metrics {
    registry: Registry,
    /// Live sessions, by codec (`msgpack`, `json`).
    pub sessions_msgpack: IntGauge,
    pub sessions_json: IntGauge,
    /// (session, pattern) subscriptions.
    pub subscriptions: IntGauge,
    resources: [IntGauge; 6],
    /// Publishes by outcome.
    pub publishes_changed: IntCounter,
    pub publishes_unchanged: IntCounter,
    pub publishes_refused: IntCounter,
    /// Frames written to sockets, and their bytes.
    pub deliveries: IntCounter,
    pub delivered_bytes: IntCounter,
    /// Times a session's queued deltas of a resource became one reset.
    pub conflations: IntCounter,
    closes: IntCounterVec,
    rejections: IntCounterVec,
    /// From receiving a publish to its ack, seconds.
    pub publish_ack_seconds: Histogram,
    /// One store batch: write and flush, seconds.
    pub store_commit_seconds: Histogram,
    /// Commits per store batch.
    pub store_commit_batch: Histogram,
    /// Bytes queued in all outboxes.
    pub outbox_queued_bytes: IntGauge,
    /// Per session, the most bytes its outbox held (observed when it ends).
    pub outbox_high_water_bytes: Histogram,
    arbiter_actors: IntGaugeVec,
    /// Resources turned stale by their TTL.
    pub ttl_expiries: IntCounter,
    /// Keys held by keyed rate limiters.
    pub rate_limit_keys: IntGauge,
    probe_checks: IntCounterVec,
    /// One probe check, seconds.
    pub probe_check_seconds: Histogram,
    alert_notifications: IntCounterVec,
    alert_failures: IntCounterVec,
    /// Cluster mode: live nodes in the node bucket.
    pub cluster_nodes: IntGauge,
    /// Cluster mode: from a publish to the broker's ack, seconds.
    pub cluster_publish_seconds: Histogram,
    /// Cluster mode: stream messages not yet applied here.
    pub cluster_lag_messages: IntGauge,
}

fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    let counter = IntCounter::new(name, help).expect("valid metric");
    registry
        .register(Box::new(counter.clone()))
        .expect("registered once");
    counter
}

fn counter_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let counter = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry
        .register(Box::new(counter.clone()))
        .expect("registered once");
    counter
}

fn gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    let gauge = IntGauge::new(name, help).expect("valid metric");
    registry
        .register(Box::new(gauge.clone()))
        .expect("registered once");
    gauge
}

fn histogram(registry: &Registry, name: &str, help: &str, buckets: Vec<f64>) -> Histogram {
    let histogram = Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets))
        .expect("valid metric");
    registry
        .register(Box::new(histogram.clone()))
        .expect("registered once");
    histogram
}

impl Metrics {
    #[expect(
        clippy::too_many_lines,
        reason = "one registration per metric, in one list"
    )]
    fn new() -> Self {
        let registry = Registry::new();
        let sessions = IntGaugeVec::new(
            Opts::new("fillstack_sessions", "Live WebSocket sessions, by codec."),
            &["codec"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(sessions.clone()))
            .expect("registered once");
        let resources = IntGaugeVec::new(
            Opts::new("fillstack_resources", "Resources that exist, by status."),
            &["status"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(resources.clone()))
            .expect("registered once");
        let publishes = IntCounterVec::new(
            Opts::new(
                "fillstack_publishes_total",
                "Publishes, by outcome: changed, unchanged, refused.",
            ),
            &["outcome"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(publishes.clone()))
            .expect("registered once");
        let closes = IntCounterVec::new(
            Opts::new(
                "fillstack_sessions_closed_total",
                "Sessions closed by the hub, by close code.",
            ),
            &["code"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(closes.clone()))
            .expect("registered once");
        let rejections = IntCounterVec::new(
            Opts::new(
                "fillstack_rejections_total",
                "Requests refused, by error code.",
            ),
            &["code"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(rejections.clone()))
            .expect("registered once");
        let arbiter_actors = IntGaugeVec::new(
            Opts::new(
                "fillstack_resource_actors",
                "Resource actors started, by arbiter (thread) index.",
            ),
            &["arbiter"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(arbiter_actors.clone()))
            .expect("registered once");
        #[cfg(target_os = "linux")]
        registry
            .register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))
            .expect("registered once");
        let latency = vec![
            0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0,
        ];
        Self {
            sessions_msgpack: sessions.with_label_values(&["msgpack"]),
            sessions_json: sessions.with_label_values(&["json"]),
            subscriptions: gauge(
                &registry,
                "fillstack_subscriptions",
                "Subscriptions: (session, pattern) pairs.",
            ),
            resources: Status::ALL.map(|status| resources.with_label_values(&[status.as_str()])),
            publishes_changed: publishes.with_label_values(&["changed"]),
            publishes_unchanged: publishes.with_label_values(&["unchanged"]),
            publishes_refused: publishes.with_label_values(&["refused"]),
            deliveries: counter(
                &registry,
                "fillstack_deliveries_total",
                "Frames written to sockets.",
            ),
            delivered_bytes: counter(
                &registry,
                "fillstack_delivered_bytes_total",
                "Bytes of frames written to sockets.",
            ),
            conflations: counter(
                &registry,
                "fillstack_outbox_conflations_total",
                "Times a session's queued deltas of a resource became one reset snapshot.",
            ),
            closes,
            rejections,
            publish_ack_seconds: histogram(
                &registry,
                "fillstack_publish_ack_seconds",
                "From a publish reaching its resource to its ack (durable and fanned out).",
                latency.clone(),
            ),
            cluster_publish_seconds: histogram(
                &registry,
                "fillstack_cluster_publish_seconds",
                "Cluster mode: from publishing a change to the broker's ack (stored with its replicas).",
                latency.clone(),
            ),
            store_commit_seconds: histogram(
                &registry,
                "fillstack_store_commit_seconds",
                "One store batch: write and flush.",
                latency,
            ),
            cluster_nodes: gauge(
                &registry,
                "fillstack_cluster_nodes",
                "Cluster mode: live nodes (1 on one node).",
            ),
            cluster_lag_messages: gauge(
                &registry,
                "fillstack_cluster_lag_messages",
                "Cluster mode: messages of the cluster's stream not yet applied by this hub.",
            ),
            store_commit_batch: histogram(
                &registry,
                "fillstack_store_commit_batch_size",
                "Commits written by one store batch.",
                vec![
                    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 4096.0,
                    8192.0,
                ],
            ),
            outbox_queued_bytes: gauge(
                &registry,
                "fillstack_outbox_queued_bytes",
                "Bytes queued in all session outboxes.",
            ),
            outbox_high_water_bytes: histogram(
                &registry,
                "fillstack_outbox_high_water_bytes",
                "Per session, the most bytes its outbox held, observed when the session ends.",
                prometheus::exponential_buckets(1024.0, 4.0, 8).expect("valid buckets"),
            ),
            arbiter_actors,
            ttl_expiries: counter(
                &registry,
                "fillstack_ttl_expiries_total",
                "Resources turned stale by their TTL.",
            ),
            rate_limit_keys: gauge(
                &registry,
                "fillstack_rate_limit_keys",
                "Keys held by the keyed rate limiters.",
            ),
            probe_checks: counter_vec(
                &registry,
                "fillstack_probe_checks_total",
                "Probe checks, by kind and the status they found.",
                &["kind", "status"],
            ),
            probe_check_seconds: histogram(
                &registry,
                "fillstack_probe_check_seconds",
                "One probe check, from its start to its answer or timeout.",
                prometheus::exponential_buckets(0.000_25, 4.0, 9).expect("valid buckets"),
            ),
            alert_notifications: counter_vec(
                &registry,
                "fillstack_alert_notifications_total",
                "Alert webhooks delivered, by alert and state (firing, resolved, flapping).",
                &["alert", "state"],
            ),
            alert_failures: counter_vec(
                &registry,
                "fillstack_alert_notification_failures_total",
                "Alert webhooks given up after every try, by alert.",
                &["alert"],
            ),
            registry,
        }
    }

    /// The gauge of resources with `status`.
    pub fn resources(&self, status: Status) -> &IntGauge {
        let index = Status::ALL.iter().position(|s| *s == status).unwrap_or(0);
        &self.resources[index]
    }

    /// Counts a session closed by the hub with `code`.
    pub fn closed(&self, code: u16) {
        self.closes.with_label_values(&[&code.to_string()]).inc();
    }

    /// Counts a refused request.
    pub fn rejected(&self, code: ErrorCode) {
        self.rejections.with_label_values(&[code.as_str()]).inc();
    }

    /// Counts a probe check of `kind` that found `status`.
    pub fn probe_checked(&self, kind: &str, status: &str) {
        self.probe_checks.with_label_values(&[kind, status]).inc();
    }

    /// Counts a delivered alert notification.
    pub fn alert_sent(&self, alert: &str, state: &str) {
        self.alert_notifications
            .with_label_values(&[alert, state])
            .inc();
    }

    /// Counts an alert notification given up after every try.
    pub fn alert_failed(&self, alert: &str) {
        self.alert_failures.with_label_values(&[alert]).inc();
    }

    /// One more resource actor on arbiter `index`.
    pub fn actor_started(&self, index: usize) {
        self.arbiter_actors
            .with_label_values(&[&index.to_string()])
            .inc();
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut text = Vec::new();
        // Encoding into a Vec cannot fail for well-formed families.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut text);
        String::from_utf8(text).unwrap_or_default()
    }
}

/// The metrics of this process.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
