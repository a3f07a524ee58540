/**
 * Every resource the session watches, normalised by resource id, kept current by the hub's
 * `snapshot`, `delta` and `removed` frames (reported by the middleware as events), plus the
 * table's filter. Per resource, seq only grows: a delta at or below the current seq was
 * already applied and is ignored; a gap is always followed by a `reset` snapshot from the hub.
 * Resource ids, field names and label names come from publishers, so every map keyed by them
 * (the entities, each resource's fields and labels) is prototype-free (`common/records.ts`):
 * a resource `toString` or a field `__proto__` is stored, shown and removed like any other.
 */
import {
  createEntityAdapter,
  createSelector,
  createSlice,
  isAnyOf,
  prepareAutoBatched,
  type PayloadAction,
} from "@reduxjs/toolkit";
import type { DeltaFrame, RemovedFrame, Seq, SnapshotFrame, Status } from "@protocol/frames";
import { STATUSES } from "@protocol/frames";
import { checkPattern, matchesPattern } from "../../common/pattern";
import { emptyRecord, hasEntry, recordOf } from "../../common/records";
import { signedOut, tokenSubmitted } from "../auth/authSlice";

/** What the last change of a resource touched, for the detail panel. */
export interface LastChange {
  seq: Seq;
  at: number;
  /** The status before this change, when the change replaced it. */
  previousStatus: Status | null;
  /** `status`, `ttl_ms`, `fields.NAME` and `labels.NAME` for each key the change touched. */
  keys: string[];
}

/** One resource's state as the SPA holds it: a snapshot's state, plus what changed last. */
export interface Resource extends Pick<
  SnapshotFrame,
  "resource" | "seq" | "status" | "fields" | "labels" | "updated_at"
> {
  ttl_ms: number | null;
  lastChange: LastChange | null;
}

/** The frames that change the set of resources or their state. */
export type ResourceFrame = SnapshotFrame | DeltaFrame | RemovedFrame;

export type SortKey = "status" | "resource" | "updated_at";

export interface ResourceFilter {
  /** A pattern (`svc/**`); empty or invalid shows everything. */
  pattern: string;
  /** Statuses to show; empty shows all. */
  statuses: Status[];
  /** Case-insensitive text looked up in ids, field values and labels. */
  search: string;
  sortKey: SortKey;
  sortDescending: boolean;
}

const resources = createEntityAdapter({ selectId: (resource: Resource) => resource.resource });

const initialFilter: ResourceFilter = {
  pattern: "",
  statuses: [],
  search: "",
  sortKey: "status",
  sortDescending: false,
};

/**
 * No resources. The adapter's own `entities` is `{}`, on which `"toString" in entities` holds
 * and `setOne` would then never list a resource `toString`; this one has no prototype. The
 * adapter's `setOne`, `removeOne` and `removeMany` keep the object they are given (`removeAll`
 * and `setAll` would put a `{}` back, so the slice uses neither).
 */
const noResources = () => ({
  ...resources.getInitialState(),
  entities: emptyRecord<Resource>(),
});

export const resourcesSlice = createSlice({
  name: "resources",
  initialState: { ...noResources(), filter: initialFilter },
  reducers: {
    /**
     * One burst of `snapshot`, `delta` and `removed` frames, in the order the hub sent them.
     * The middleware gathers a burst into one action because every write to a large
     * entity map copies it: per frame, 10,000 resources would cost milliseconds each.
     */
    framesReceived: {
      reducer(state, { payload: frames }: PayloadAction<ResourceFrame[]>) {
        for (const frame of frames) {
          if (frame.t === "snapshot") applySnapshot(state, frame);
          else if (frame.t === "delta") applyDelta(state, frame);
          else resources.removeOne(state, frame.resource);
        }
      },
      // Notify subscribers once per burst, not once per action.
      prepare: prepareAutoBatched<ResourceFrame[]>(),
    },
    /**
     * Resources whose state nothing vouches for any more (the hub's data was replaced, or a
     * resume could not name them); the hub's snapshots bring back those that still exist.
     */
    resourcesForgotten(state, { payload: ids }: PayloadAction<string[]>) {
      resources.removeMany(state, ids);
    },
    filterChanged(state, { payload }: PayloadAction<Partial<ResourceFilter>>) {
      Object.assign(state.filter, payload);
    },
  },
  extraReducers: (builder) => {
    // Another token may see other resources: start again from the hub's snapshots.
    builder.addMatcher(isAnyOf(tokenSubmitted, signedOut), (state) => {
      Object.assign(state, noResources());
    });
  },
});

type ResourcesState = ReturnType<typeof resourcesSlice.reducer>;

/** The resource `id` as held, if held (never a property every object has). */
const heldResource = (state: ResourcesState, id: string): Resource | undefined =>
  hasEntry(state.entities, id) ? state.entities[id] : undefined;

function applySnapshot(state: ResourcesState, snapshot: SnapshotFrame) {
  const current = heldResource(state, snapshot.resource);
  // A plain snapshot older than what we hold is a late echo; a reset always wins.
  if (current !== undefined && !snapshot.reset && snapshot.seq < current.seq) return;
  resources.setOne(state, {
    resource: snapshot.resource,
    seq: snapshot.seq,
    status: snapshot.status,
    fields: recordOf(snapshot.fields),
    labels: recordOf(snapshot.labels),
    updated_at: snapshot.updated_at,
    ttl_ms: snapshot.ttl_ms ?? null,
    lastChange:
      current === undefined ? null : (changeBetween(current, snapshot) ?? current.lastChange),
  });
}

function applyDelta(state: ResourcesState, delta: DeltaFrame) {
  const current = heldResource(state, delta.resource);
  // Unknown or already seen: the hub follows any gap with a snapshot.
  if (current === undefined || delta.seq <= current.seq) return;
  const keys: string[] = [];
  const previousStatus = current.status;
  current.seq = delta.seq;
  current.updated_at = delta.at;
  if (delta.status !== undefined) {
    current.status = delta.status;
    keys.push("status");
  }
  if (delta.ttl_ms !== undefined) {
    current.ttl_ms = delta.ttl_ms === 0 ? null : delta.ttl_ms;
    keys.push("ttl_ms");
  }
  mergeMap(current.fields, delta.fields, "fields", keys); // a null value removes the key
  mergeMap(current.labels, delta.labels, "labels", keys);
  current.lastChange = {
    seq: delta.seq,
    at: delta.at,
    previousStatus: delta.status !== undefined ? previousStatus : null,
    keys,
  };
}

function mergeMap<V>(
  target: Record<string, V>,
  changes: Record<string, V | null> | undefined,
  name: string,
  keys: string[],
) {
  if (changes === undefined) return;
  for (const [key, value] of Object.entries(changes)) {
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- fields and labels are maps
    if (value === null) delete target[key];
    else target[key] = value;
    keys.push(`${name}.${key}`);
  }
}

/** The keys a snapshot changed against what we held, or null when it changed nothing. */
function changeBetween(current: Resource, snapshot: SnapshotFrame): LastChange | null {
  const keys: string[] = [];
  if (current.status !== snapshot.status) keys.push("status");
  if (current.ttl_ms !== (snapshot.ttl_ms ?? null)) keys.push("ttl_ms");
  diffKeys(current.fields, snapshot.fields, "fields", keys);
  diffKeys(current.labels, snapshot.labels, "labels", keys);
  if (keys.length === 0) return null;
  return {
    seq: snapshot.seq,
    at: snapshot.updated_at,
    previousStatus: current.status !== snapshot.status ? current.status : null,
    keys,
  };
}

function diffKeys<V>(
  before: Record<string, V>,
  after: Record<string, V>,
  name: string,
  keys: string[],
) {
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    // Own entries only: a snapshot's plain map answers `constructor` even without one.
    const differs = hasEntry(before, key) !== hasEntry(after, key) || before[key] !== after[key];
    if (differs) keys.push(`${name}.${key}`);
  }
}

export const { framesReceived, resourcesForgotten, filterChanged } = resourcesSlice.actions;

// ---------------------------------------------------------------- selectors
interface WithResources {
  resources: ResourcesState;
}

export const {
  selectAll: selectAllResources,
  selectById: selectResourceById,
  selectTotal: selectResourceTotal,
} = resources.getSelectors((state: WithResources) => state.resources);

export const selectResourceFilter = (state: WithResources) => state.resources.filter;

/** Severity order for the overview and the default sort: down and stale first. */
export const STATUS_ORDER: readonly Status[] = [
  "down",
  "stale",
  "degraded",
  "unknown",
  "maintenance",
  "up",
];
const severity = Object.fromEntries(STATUS_ORDER.map((status, rank) => [status, rank])) as Record<
  Status,
  number
>;

export type StatusCounts = Record<Status, number>;

/** How many of `resources` are in each status. */
export function countByStatus(resources: readonly Resource[]): StatusCounts {
  const counts = Object.fromEntries(STATUSES.map((status) => [status, 0])) as StatusCounts;
  for (const resource of resources) counts[resource.status] += 1;
  return counts;
}

export const selectStatusCounts = createSelector([selectAllResources], countByStatus);

const byResourceId = (a: Resource, b: Resource) =>
  a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0;
const comparators: Record<SortKey, (a: Resource, b: Resource) => number> = {
  resource: byResourceId,
  status: (a, b) => severity[a.status] - severity[b.status] || byResourceId(a, b),
  updated_at: (a, b) => b.updated_at - a.updated_at || byResourceId(a, b),
};

/** Whether `resource` passes the table's search text. */
function isFound(resource: Resource, needle: string): boolean {
  if (resource.resource.toLowerCase().includes(needle)) return true;
  for (const [key, value] of Object.entries(resource.labels)) {
    if (key.toLowerCase().includes(needle) || value.toLowerCase().includes(needle)) return true;
  }
  for (const [key, value] of Object.entries(resource.fields)) {
    if (key.toLowerCase().includes(needle) || String(value).toLowerCase().includes(needle)) {
      return true;
    }
  }
  return false;
}

const isSameList = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((id, index) => id === b[index]);

/**
 * Ids of the resources the table shows, filtered and sorted. The same array comes back while
 * the list is unchanged, so a burst of deltas that moves no row does not re-render the table.
 */
export const selectVisibleResourceIds = createSelector(
  [selectAllResources, selectResourceFilter],
  (all, filter): string[] => {
    const statuses = new Set(filter.statuses);
    const needle = filter.search.trim().toLowerCase();
    const pattern = filter.pattern.trim();
    const effectivePattern = pattern !== "" && checkPattern(pattern) === null ? pattern : "**";
    const shown = all.filter(
      (resource) =>
        (statuses.size === 0 || statuses.has(resource.status)) &&
        matchesPattern(effectivePattern, resource.resource) &&
        (needle === "" || isFound(resource, needle)),
    );
    const compare = comparators[filter.sortKey];
    shown.sort(filter.sortDescending ? (a, b) => compare(b, a) : compare);
    return shown.map((resource) => resource.resource);
  },
  { memoizeOptions: { resultEqualityCheck: isSameList } },
);

/** Resources matching `pattern`, sorted by id (the system page uses `hub/**`). */
export const selectResourcesMatching = createSelector(
  [selectAllResources, (_: WithResources, pattern: string) => pattern],
  (all, pattern) =>
    all.filter((resource) => matchesPattern(pattern, resource.resource)).sort(byResourceId),
);
