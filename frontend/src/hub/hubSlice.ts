/**
 * The connection to the hub as the UI sees it: the link's phase, the session the hub granted
 * (roles, limits), the patterns the UI asked to watch and the subscriptions the session holds
 * for them, and when the next reconnect attempt is due.
 * Intents (`connectRequested`, `subscriptionRequested`, ...) are handled by `hubMiddleware.ts`;
 * everything else here is an event the middleware reports.
 */
import {
  createAction,
  createSelector,
  createSlice,
  isAnyOf,
  type PayloadAction,
} from "@reduxjs/toolkit";
import { isRole, type ErrorCode, type Role, type WelcomeFrame } from "@protocol/frames";
import { emptyRecord } from "../common/records";
import { signInRequired, signedOut } from "../features/auth/authSlice";

/**
 * - `idle`: never asked to connect.
 * - `connecting`: socket opening, or open and waiting for `welcome`.
 * - `live`: welcomed; subscriptions flow.
 * - `waiting`: lost; a reconnect is scheduled at `retryAt`.
 * - `signedOut`: the hub wants a (new) token; nothing happens until one is given.
 */
export type Link = "idle" | "connecting" | "live" | "waiting" | "signedOut";

/** What the hub granted in `welcome`. */
export interface Session {
  session: string;
  server: string;
  heartbeatMs: number;
  maxFrameBytes: number;
  roles: Role[];
  /** The hub store's incarnation: another one than before means its data was replaced. */
  epoch: string;
}

/** One `sub` of the current session: a requested pattern narrowed to the token's scope. */
export interface Subscription {
  pattern: string;
  /**
   * `pending` until the hub answers `ok` on the current socket; `refused` when it answered
   * with an `error` instead (for example `forbidden`: wider than the token's scope).
   */
  state: "pending" | "active" | "refused";
  /** How many resources matched when the hub took the subscription. */
  count: number | null;
  /** The hub's answer when it refused the subscription. */
  refusal: { code: ErrorCode; message: string } | null;
}

export interface HubState {
  link: Link;
  /** Consecutive failed attempts; 0 once welcomed. */
  attempt: number;
  /** Unix ms of the next reconnect attempt while `waiting`. */
  retryAt: number | null;
  lastClose: { code: number; reason: string } | null;
  session: Session | null;
  /**
   * The patterns the UI asked to watch (intents). The middleware subscribes each one within
   * the token's scope: `**` with a token whose `res` is `[svc/**, host/a]` becomes two `sub`s.
   */
  requested: string[];
  /**
   * The session's subscriptions by pattern, as sent on the current socket (prototype-free:
   * a token's `res` may name `constructor`).
   */
  subscriptions: Record<string, Subscription>;
  /** Hub clock minus browser clock, measured with `ping`/`pong`. */
  clockOffsetMs: number;
  /** The last `error` frame that answered no request of ours. */
  lastError: { code: ErrorCode; message: string } | null;
  /**
   * Messages from the hub the dashboard could not read (not MessagePack, or not a frame of
   * the contract), over the page's life, and why the last one was not: each lost frame may
   * hide a change, so the banner says so instead of only the console.
   */
  unreadable: { count: number; lastReason: string | null };
}

const initialState: HubState = {
  link: "idle",
  attempt: 0,
  retryAt: null,
  lastClose: null,
  session: null,
  requested: [],
  subscriptions: emptyRecord(),
  clockOffsetMs: 0,
  lastError: null,
  unreadable: { count: 0, lastReason: null },
};

export const hubSlice = createSlice({
  name: "hub",
  initialState,
  reducers: {
    // ---- intents, handled by the middleware (connect intents are plain actions below)
    subscriptionRequested(state, { payload }: PayloadAction<{ pattern: string }>) {
      if (!state.requested.includes(payload.pattern)) state.requested.push(payload.pattern);
    },
    unsubscriptionRequested(state, { payload }: PayloadAction<{ pattern: string }>) {
      state.requested = state.requested.filter((pattern) => pattern !== payload.pattern);
    },

    // ---- events
    connecting(state) {
      state.link = "connecting";
      state.retryAt = null;
    },
    welcomed(state, { payload }: PayloadAction<WelcomeFrame>) {
      state.link = "live";
      state.attempt = 0;
      state.lastError = null;
      // A new session holds no subscription yet; the middleware sends them next.
      state.subscriptions = emptyRecord();
      state.session = {
        session: payload.session,
        server: payload.server,
        heartbeatMs: payload.heartbeat_ms,
        maxFrameBytes: payload.max_frame_bytes,
        roles: payload.roles.filter(isRole),
        epoch: payload.epoch,
      };
    },
    subscriptionSent(state, { payload }: PayloadAction<{ pattern: string }>) {
      state.subscriptions[payload.pattern] = {
        pattern: payload.pattern,
        state: "pending",
        count: null,
        refusal: null,
      };
    },
    subscriptionConfirmed(state, { payload }: PayloadAction<{ pattern: string; count: number }>) {
      const subscription = state.subscriptions[payload.pattern];
      if (subscription === undefined) return;
      subscription.state = "active";
      subscription.count = payload.count;
    },
    subscriptionRefused(
      state,
      { payload }: PayloadAction<{ pattern: string; code: ErrorCode; message: string }>,
    ) {
      const subscription = state.subscriptions[payload.pattern];
      if (subscription === undefined) return;
      subscription.state = "refused";
      subscription.refusal = { code: payload.code, message: payload.message };
    },
    subscriptionDropped(state, { payload }: PayloadAction<{ pattern: string }>) {
      // Forget it at once: the hub's `ok` confirms nothing the UI needs to wait for.
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- keyed by pattern
      delete state.subscriptions[payload.pattern];
    },
    connectionLost(state, { payload }: PayloadAction<{ code: number; reason: string }>) {
      // The last session stays: its roles still decide what the UI offers while reconnecting.
      state.lastClose = payload;
      if (state.link !== "signedOut") state.link = "waiting";
      // A refusal stays on show: it is the hub's last word on that pattern.
      for (const subscription of Object.values(state.subscriptions)) {
        if (subscription.state === "active") subscription.state = "pending";
      }
    },
    reconnectScheduled(state, { payload }: PayloadAction<{ retryAt: number }>) {
      state.link = "waiting";
      state.attempt += 1;
      state.retryAt = payload.retryAt;
    },
    clockMeasured(state, { payload }: PayloadAction<{ offsetMs: number }>) {
      state.clockOffsetMs = payload.offsetMs;
    },
    errorReceived(state, { payload }: PayloadAction<{ code: ErrorCode; message: string }>) {
      state.lastError = payload;
    },
    frameUnreadable(state, { payload }: PayloadAction<{ reason: string }>) {
      state.unreadable.count += 1;
      state.unreadable.lastReason = payload.reason;
    },
  },
  extraReducers: (builder) => {
    builder.addMatcher(isAnyOf(signInRequired, signedOut), (state) => {
      state.link = "signedOut";
      state.retryAt = null;
      state.session = null;
      state.subscriptions = emptyRecord();
    });
  },
  selectors: {
    selectLink: (hub) => hub.link,
    selectSession: (hub) => hub.session,
    selectRetryAt: (hub) => hub.retryAt,
    selectAttempt: (hub) => hub.attempt,
    selectLastClose: (hub) => hub.lastClose,
    selectRequestedPatterns: (hub) => hub.requested,
    selectSubscriptions: (hub) => hub.subscriptions,
    selectClockOffsetMs: (hub) => hub.clockOffsetMs,
    selectLastHubError: (hub) => hub.lastError,
    selectUnreadableFrames: (hub) => hub.unreadable,
    selectRoles: (hub): readonly Role[] => hub.session?.roles ?? noRoles,
    /** Publishers and admins may publish. */
    selectCanPublish: (hub) =>
      hub.session?.roles.some((role) => role === "publisher" || role === "admin") ?? false,
    selectIsAdmin: (hub) => hub.session?.roles.includes("admin") ?? false,
  },
});

const noRoles: readonly Role[] = [];

/** Intent: open the socket (the app does this once on start). */
export const connectRequested = createAction("hub/connectRequested");
/** Intent: skip the rest of the backoff and reconnect now. */
export const reconnectRequested = createAction("hub/reconnectRequested");

export const {
  subscriptionRequested,
  unsubscriptionRequested,
  connecting,
  welcomed,
  subscriptionSent,
  subscriptionConfirmed,
  subscriptionRefused,
  subscriptionDropped,
  connectionLost,
  reconnectScheduled,
  clockMeasured,
  errorReceived,
  frameUnreadable,
} = hubSlice.actions;

export const {
  selectLink,
  selectSession,
  selectRetryAt,
  selectAttempt,
  selectLastClose,
  selectRequestedPatterns,
  selectSubscriptions,
  selectClockOffsetMs,
  selectLastHubError,
  selectUnreadableFrames,
  selectRoles,
  selectCanPublish,
  selectIsAdmin,
} = hubSlice.selectors;

/** The session's subscriptions the hub refused, in the order they were sent. */
export const selectRefusedSubscriptions = createSelector([selectSubscriptions], (subscriptions) =>
  Object.values(subscriptions).filter((subscription) => subscription.state === "refused"),
);
