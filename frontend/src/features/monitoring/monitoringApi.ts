/**
 * What the hub itself watches, from its configuration file: `GET /api/v1/monitoring` lists the
 * probes (which resources the hub checks, how and how often), the alert rules and the rollups.
 * The configuration changes only when the hub reloads it, so a view that mounts refetches an
 * answer older than a minute and otherwise reads the cached one. A body without the
 * contract's shape comes back as null, so views say so instead of guessing.
 */
import { isStatus, type Status } from "@protocol/frames";
import { isAbsentOr, isCount, isListOf, isMap, isText } from "../../common/jsonGuards";
import { restApi } from "../../common/restApi";

export type ProbeKind = "http" | "tcp";

/** One `[[probe]]`: the hub checks `target` every `interval_ms` and publishes into `resource`. */
export interface Probe {
  resource: string;
  kind: ProbeKind;
  /** A URL for http probes, `HOST:PORT` for tcp ones. */
  target: string;
  interval_ms: number;
  timeout_ms: number;
  /** http: slower than this (with the expected status) is `degraded`. */
  degraded_after_ms?: number;
  /** http: the status that counts as up; any 2xx when absent. */
  expect_status?: number;
  /** http: text the body must hold. */
  body_contains?: string;
}

/** One `[[alert]]`: members of `pattern` whose status stays in `on` for `after_ms` fire. */
export interface AlertRule {
  name: string;
  pattern: string;
  on: Status[];
  after_ms: number;
  format: "json" | "slack";
  flap_window_ms: number;
  flap_max: number;
}

/** One `[[rollup]]`: `resource` counts the statuses of the members of `pattern`. */
export interface Rollup {
  resource: string;
  pattern: string;
}

/** The body of `GET /api/v1/monitoring`. */
export interface MonitoringBody {
  probes: Probe[];
  alerts: AlertRule[];
  rollups: Rollup[];
}

const isProbeKind = (value: unknown): value is ProbeKind => value === "http" || value === "tcp";

const isProbe = (value: unknown): value is Probe =>
  isMap(value) &&
  isText(value.resource) &&
  isProbeKind(value.kind) &&
  isText(value.target) &&
  isCount(value.interval_ms) &&
  isCount(value.timeout_ms) &&
  isAbsentOr(isCount)(value.degraded_after_ms) &&
  isAbsentOr(isCount)(value.expect_status) &&
  isAbsentOr(isText)(value.body_contains);

const isAlertRule = (value: unknown): value is AlertRule =>
  isMap(value) &&
  isText(value.name) &&
  isText(value.pattern) &&
  isListOf(isStatus)(value.on) &&
  isCount(value.after_ms) &&
  (value.format === "json" || value.format === "slack") &&
  isCount(value.flap_window_ms) &&
  isCount(value.flap_max);

const isRollup = (value: unknown): value is Rollup =>
  isMap(value) && isText(value.resource) && isText(value.pattern);

/** Whether `value` is the body of `GET /api/v1/monitoring`. */
export function isMonitoringBody(value: unknown): value is MonitoringBody {
  return (
    isMap(value) &&
    isListOf(isProbe)(value.probes) &&
    isListOf(isAlertRule)(value.alerts) &&
    isListOf(isRollup)(value.rollups)
  );
}

/** A mounting view refetches a configuration older than this (seconds). */
const FRESH_FOR_S = 60;

export const monitoringApi = restApi.injectEndpoints({
  endpoints: (build) => ({
    getMonitoring: build.query<MonitoringBody | null, undefined>({
      query: () => "monitoring",
      transformResponse: (body: unknown) => (isMonitoringBody(body) ? body : null),
    }),
  }),
});

/** The hub's monitoring configuration, as cached for every view that shows part of it. */
export function useMonitoring() {
  return monitoringApi.useGetMonitoringQuery(undefined, {
    refetchOnMountOrArgChange: FRESH_FOR_S,
  });
}

/** Whether a failed request means this hub has no monitoring route (an older hub). */
export function isMissingRoute(error: unknown): boolean {
  return isMap(error) && error.status === 404;
}
