/**
 * Publishes asked for from this dashboard and what the hub answered. A form dispatches
 * `publishRequested` with a ticket of its own; the middleware sends the `pub` frame and reports
 * `publishAcknowledged` (the change is durable, at `seq`) or `publishRejected`.
 */
import { createSlice, nanoid, type PayloadAction } from "@reduxjs/toolkit";
import type { ErrorCode, FieldChanges, LabelChanges, Seq, Status } from "@protocol/frames";

/** A change to one resource, as the `pub` frame carries it (without `t` and `id`). */
export interface Change {
  resource: string;
  status?: Status;
  fields?: FieldChanges;
  labels?: LabelChanges;
  ttl_ms?: number;
}

export type PublishOutcome =
  | { state: "pending"; resource: string }
  | { state: "acknowledged"; resource: string; seq: Seq }
  | { state: "rejected"; resource: string; code: ErrorCode; message: string };

/** The outcomes kept: enough for every form on screen, never a growing log. */
const KEPT_OUTCOMES = 20;

export interface PublishState {
  outcomes: Record<string, PublishOutcome>;
  /** Tickets, oldest first, to drop the oldest outcome past the bound. */
  tickets: string[];
}

const initialState: PublishState = { outcomes: {}, tickets: [] };

export const publishSlice = createSlice({
  name: "publish",
  initialState,
  reducers: {
    publishRequested: {
      reducer(state, { payload }: PayloadAction<{ ticket: string; change: Change }>) {
        state.outcomes[payload.ticket] = { state: "pending", resource: payload.change.resource };
        state.tickets.push(payload.ticket);
        while (state.tickets.length > KEPT_OUTCOMES) {
          const oldest = state.tickets.shift();
          // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- keyed by ticket
          if (oldest !== undefined) delete state.outcomes[oldest];
        }
      },
      prepare: (change: Change) => ({ payload: { ticket: nanoid(), change } }),
    },
    publishAcknowledged(state, { payload }: PayloadAction<{ ticket: string; seq: Seq }>) {
      const outcome = state.outcomes[payload.ticket];
      if (outcome === undefined) return;
      state.outcomes[payload.ticket] = {
        state: "acknowledged",
        resource: outcome.resource,
        seq: payload.seq,
      };
    },
    publishRejected(
      state,
      { payload }: PayloadAction<{ ticket: string; code: ErrorCode; message: string }>,
    ) {
      const outcome = state.outcomes[payload.ticket];
      if (outcome === undefined) return;
      state.outcomes[payload.ticket] = {
        state: "rejected",
        resource: outcome.resource,
        code: payload.code,
        message: payload.message,
      };
    },
  },
  selectors: {
    selectPublishOutcome: (publish, ticket: string | null): PublishOutcome | null =>
      ticket === null ? null : (publish.outcomes[ticket] ?? null),
  },
});

export const { publishRequested, publishAcknowledged, publishRejected } = publishSlice.actions;
export const { selectPublishOutcome } = publishSlice.selectors;
