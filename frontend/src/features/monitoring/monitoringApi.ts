/**
 * What the hub itself watches, from its configuration file: `GET /api/v1/monitoring` lists the
 * probes (which resources the hub checks, how and how often), the alert rules and the rollups.
 * The configuration changes only when the hub reloads it, so a view that mounts refetches an
 * answer older than a minute and otherwise reads the cached one. A body without the
 * contract's shape comes back as null, so views say so instead of guessing.
 *
 * Every view reads it through `useMonitoring` (the overview's rollups, the detail's probe, the
 * Alerts page's rules), cached in this slice and fetched by a small thunk with `restRequest`,
 * rather than through RTK Query like the other REST reads: the overview is the first page,
 * and RTK Query would be the largest library it loads after React DOM (about 50 kB of script).
 * The cache behaves as the RTK Query endpoint did: one request at a time, shared by every view,
 * errors in the same shape (`rest.ts`).
 */
import { createSlice, type PayloadAction } from "@reduxjs/toolkit";
import { isStatus, type Status } from "@protocol/frames";
import { useEffect } from "react";
import { useAppDispatch, useAppSelector } from "../../app/hooks";
import type { AppThunk, RootState } from "../../app/store";
import { isAbsentOr, isCount, isListOf, isMap, isText } from "../../common/jsonGuards";
import { restRequest, type RestError } from "../../common/rest";

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

export interface MonitoringState {
  /** The last answer (null: not the contract's shape); undefined until one came. */
  data?: MonitoringBody | null;
  /** Why the last request failed; cleared by the next answer. */
  error?: RestError;
  /** When the last answer came (ms since the epoch), null before the first. */
  answeredAt: number | null;
  /** Whether a request is under way (a second view mounting then waits for it). */
  pending: boolean;
}

const initialState: MonitoringState = { answeredAt: null, pending: false };

export const monitoringSlice = createSlice({
  name: "monitoring",
  initialState,
  reducers: {
    monitoringRequested(state) {
      state.pending = true;
    },
    monitoringAnswered(state, action: PayloadAction<{ data: MonitoringBody | null; at: number }>) {
      state.pending = false;
      state.data = action.payload.data;
      delete state.error;
      state.answeredAt = action.payload.at;
    },
    monitoringFailed(state, action: PayloadAction<RestError>) {
      state.pending = false;
      state.error = action.payload;
    },
  },
});

const { monitoringRequested, monitoringAnswered, monitoringFailed } = monitoringSlice.actions;

/** Fetches the configuration unless a request is under way or the last answer is fresh. */
export function fetchMonitoring(): AppThunk<Promise<void>> {
  return async (dispatch, getState) => {
    const { pending, answeredAt } = getState().monitoring;
    if (pending || (answeredAt !== null && Date.now() - answeredAt < FRESH_FOR_S * 1000)) return;
    dispatch(monitoringRequested());
    const result = await restRequest("monitoring", getState().auth.token);
    if (result.error !== undefined) dispatch(monitoringFailed(result.error));
    else {
      const data = isMonitoringBody(result.data) ? result.data : null;
      dispatch(monitoringAnswered({ data, at: Date.now() }));
    }
  };
}

/** The cached configuration and the last error, as a view reads them. */
export const selectMonitoring = (state: RootState): Pick<MonitoringState, "data" | "error"> =>
  state.monitoring;

/** The hub's monitoring configuration, as cached for every view that shows part of it. */
export function useMonitoring(): Pick<MonitoringState, "data" | "error"> {
  const dispatch = useAppDispatch();
  useEffect(() => {
    void dispatch(fetchMonitoring());
  }, [dispatch]);
  return useAppSelector(selectMonitoring);
}

/** Whether a failed request means this hub has no monitoring route (an older hub). */
export function isMissingRoute(error: unknown): boolean {
  return isMap(error) && error.status === 404;
}
