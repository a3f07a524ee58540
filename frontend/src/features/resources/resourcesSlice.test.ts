import { describe, expect, it } from "vitest";
import { makeStore } from "../../app/store";
import { delta, snapshot } from "../../test/frames";
import { mapOf, PROTOTYPE_NAMES } from "../../test/hostileFrames";
import { silentSocket } from "../../test/renderWithProviders";
import { signedOut, tokenSubmitted } from "../auth/authSlice";
import {
  filterChanged,
  framesReceived,
  resourcesForgotten,
  selectAllResources,
  selectResourceById,
  selectStatusCounts,
  selectVisibleResourceIds,
} from "./resourcesSlice";

const storeWith = (...frames: Parameters<typeof framesReceived>[0]) => {
  const store = makeStore(undefined, { openSocket: silentSocket });
  store.dispatch(framesReceived(frames));
  return store;
};

describe("resources slice", () => {
  it("a snapshot creates the resource with its whole state", () => {
    const store = storeWith(
      snapshot("host/web-1", {
        seq: 4,
        status: "degraded",
        fields: { cpu: 0.9 },
        labels: { zone: "a" },
        ttl_ms: 30_000,
      }),
    );
    expect(selectResourceById(store.getState(), "host/web-1")).toMatchObject({
      seq: 4,
      status: "degraded",
      fields: { cpu: 0.9 },
      labels: { zone: "a" },
      ttl_ms: 30_000,
      lastChange: null,
    });
  });

  it("a delta merges only what changed, and a null field or label removes the key", () => {
    const store = storeWith(
      snapshot("svc/api", {
        seq: 1,
        fields: { latency_ms: 12, error: "timeout" },
        labels: { team: "core", tier: "1" },
      }),
      delta("svc/api", 2, {
        status: "down",
        fields: { latency_ms: 900, error: null },
        labels: { tier: null },
      }),
    );
    const resource = selectResourceById(store.getState(), "svc/api");
    expect(resource).toMatchObject({
      seq: 2,
      status: "down",
      fields: { latency_ms: 900 },
      labels: { team: "core" },
      updated_at: delta("svc/api", 2).at,
    });
    expect(resource?.lastChange).toEqual({
      seq: 2,
      at: delta("svc/api", 2).at,
      previousStatus: "up",
      keys: ["status", "fields.latency_ms", "fields.error", "labels.tier"],
    });
  });

  it("ignores a delta at or below the current seq (already applied, e.g. replayed on resume)", () => {
    const store = storeWith(
      snapshot("svc/api", { seq: 5, status: "up" }),
      delta("svc/api", 5, { status: "down" }),
      delta("svc/api", 3, { status: "down" }),
    );
    expect(selectResourceById(store.getState(), "svc/api")).toMatchObject({ seq: 5, status: "up" });
  });

  it("ignores a delta for a resource it has no snapshot of", () => {
    const store = storeWith(delta("svc/unknown", 2, { status: "down" }));
    expect(selectResourceById(store.getState(), "svc/unknown")).toBeUndefined();
  });

  it("a reset snapshot replaces the state even at a lower seq (the hub's data was reset)", () => {
    const store = storeWith(
      snapshot("svc/api", { seq: 9, status: "down", fields: { old: 1 } }),
      snapshot("svc/api", { seq: 2, status: "up", fields: { new: 2 }, reset: true }),
    );
    expect(selectResourceById(store.getState(), "svc/api")).toMatchObject({
      seq: 2,
      status: "up",
      fields: { new: 2 },
    });
  });

  it("a plain snapshot older than the held state is ignored", () => {
    const store = storeWith(
      snapshot("svc/api", { seq: 9, status: "down" }),
      snapshot("svc/api", { seq: 2 }),
    );
    expect(selectResourceById(store.getState(), "svc/api")).toMatchObject({
      seq: 9,
      status: "down",
    });
  });

  it("removed drops the resource", () => {
    const store = storeWith(snapshot("svc/api"), { t: "removed", resource: "svc/api", seq: 2 });
    expect(selectResourceById(store.getState(), "svc/api")).toBeUndefined();
  });

  it("removed drops a known resource whatever its seq (a replaced hub removes the ghosts)", () => {
    const store = storeWith(snapshot("svc/ghost", { seq: 40 }), {
      t: "removed",
      resource: "svc/ghost",
      seq: 1,
    });
    expect(selectResourceById(store.getState(), "svc/ghost")).toBeUndefined();
  });

  it("a resource removed and created again within a replay comes back from its snapshot", () => {
    const store = storeWith(
      snapshot("svc/api", { seq: 7, status: "down" }),
      { t: "removed", resource: "svc/api", seq: 8 },
      snapshot("svc/api", { seq: 1, status: "up" }),
    );
    expect(selectResourceById(store.getState(), "svc/api")).toMatchObject({
      seq: 1,
      status: "up",
      lastChange: null,
    });
  });

  it("forgets the resources it is told to, and only those", () => {
    const store = storeWith(snapshot("svc/a"), snapshot("svc/b"), snapshot("svc/c"));
    store.dispatch(resourcesForgotten(["svc/a", "svc/c", "svc/never-known"]));
    expect(selectVisibleResourceIds(store.getState())).toEqual(["svc/b"]);
  });

  it("a ttl_ms of 0 in a delta clears the TTL", () => {
    const store = storeWith(snapshot("job/x", { ttl_ms: 1000 }), delta("job/x", 2, { ttl_ms: 0 }));
    expect(selectResourceById(store.getState(), "job/x")?.ttl_ms).toBeNull();
  });

  it("a new token forgets every resource (it may see others)", () => {
    const store = storeWith(snapshot("svc/api"));
    store.dispatch(tokenSubmitted({ token: "a.b.c" }));
    expect(selectResourceById(store.getState(), "svc/api")).toBeUndefined();
  });
});

describe("resource selectors", () => {
  const store = storeWith(
    snapshot("svc/api", { status: "down", updated_at: 10 }),
    snapshot("svc/db", { status: "up", fields: { engine: "postgres" } }),
    snapshot("host/web-1", { status: "stale", updated_at: 20 }),
    snapshot("host/web-2", { status: "up", labels: { zone: "eu-west" } }),
    snapshot("hub/store", { status: "degraded" }),
  );

  it("counts resources per status", () => {
    expect(selectStatusCounts(store.getState())).toEqual({
      up: 2,
      degraded: 1,
      down: 1,
      unknown: 0,
      stale: 1,
      maintenance: 0,
    });
  });

  it("sorts worst first by default: down, stale, degraded, ..., up", () => {
    expect(selectVisibleResourceIds(store.getState())).toEqual([
      "svc/api",
      "host/web-1",
      "hub/store",
      "host/web-2",
      "svc/db",
    ]);
  });

  it("filters by pattern, status and search text over ids, fields and labels", () => {
    store.dispatch(filterChanged({ pattern: "host/*" }));
    expect(selectVisibleResourceIds(store.getState())).toEqual(["host/web-1", "host/web-2"]);
    store.dispatch(filterChanged({ pattern: "", statuses: ["up"] }));
    expect(selectVisibleResourceIds(store.getState())).toEqual(["host/web-2", "svc/db"]);
    store.dispatch(filterChanged({ statuses: [], search: "postgres" }));
    expect(selectVisibleResourceIds(store.getState())).toEqual(["svc/db"]);
    store.dispatch(filterChanged({ search: "EU-WEST" }));
    expect(selectVisibleResourceIds(store.getState())).toEqual(["host/web-2"]);
    store.dispatch(filterChanged({ search: "", pattern: "not a/pattern/***" }));
    expect(selectVisibleResourceIds(store.getState())).toHaveLength(5);
  });

  it("sorts by id or by last change, either way round", () => {
    store.dispatch(filterChanged({ pattern: "", sortKey: "resource", sortDescending: true }));
    expect(selectVisibleResourceIds(store.getState())[0]).toBe("svc/db");
    store.dispatch(filterChanged({ sortKey: "updated_at", sortDescending: false }));
    expect(selectVisibleResourceIds(store.getState()).slice(-2)).toEqual(["host/web-1", "svc/api"]);
  });

  it("keeps the same id list while a delta moves no row, so the table does not re-render", () => {
    store.dispatch(filterChanged({ sortKey: "resource", sortDescending: false }));
    const before = selectVisibleResourceIds(store.getState());
    store.dispatch(framesReceived([delta("svc/db", 2, { fields: { engine: "postgres 17" } })]));
    expect(selectVisibleResourceIds(store.getState())).toBe(before);
  });
});

describe("a burst of 10,000 resources", () => {
  it("is applied as one action", () => {
    const frames = Array.from({ length: 10_000 }, (_, index) =>
      snapshot(`load/r-${String(index).padStart(5, "0")}`, { fields: { n: index } }),
    );
    const store = storeWith(...frames);
    expect(selectVisibleResourceIds(store.getState())).toHaveLength(10_000);
    store.dispatch(
      framesReceived(
        frames.slice(0, 5000).map((frame) => delta(frame.resource, 2, { status: "down" })),
      ),
    );
    expect(selectStatusCounts(store.getState()).down).toBe(5000);
  });

  describe("names every object answers to", () => {
    it("are resources like any other: listed, counted, changed and removed", () => {
      const ids = PROTOTYPE_NAMES.filter((name) => name !== "__proto__");
      const store = storeWith(
        ...ids.map((id) => snapshot(id, { status: "down" })),
        snapshot("__proto__", { status: "down" }),
        delta("toString", 2, { status: "degraded" }),
      );
      const state = () => store.getState();
      expect(selectAllResources(state()).map((resource) => resource.resource)).toEqual([
        ...ids,
        "__proto__",
      ]);
      expect(selectStatusCounts(state())).toMatchObject({ down: 6, degraded: 1 });
      expect(selectResourceById(state(), "toString")?.status).toBe("degraded");
      expect(selectResourceById(state(), "svc/unknown")).toBeUndefined();

      store.dispatch(
        framesReceived([
          { t: "removed", resource: "constructor", seq: 2 },
          { t: "removed", resource: "__proto__", seq: 2 },
        ]),
      );
      store.dispatch(resourcesForgotten(["valueOf"]));
      expect(selectAllResources(state()).map((resource) => resource.resource)).toEqual([
        "prototype",
        "toString",
        "hasOwnProperty",
        "isPrototypeOf",
      ]);
      expect(selectResourceById(state(), "constructor")).toBeUndefined();

      // Starting again keeps the map free of them too.
      store.dispatch(signedOut());
      store.dispatch(framesReceived([snapshot("hasOwnProperty", { status: "up" })]));
      expect(selectAllResources(state()).map((resource) => resource.resource)).toEqual([
        "hasOwnProperty",
      ]);
    });

    it("are fields and labels like any other: set, changed and removed by deltas", () => {
      const store = storeWith(
        snapshot("svc/api", {
          status: "down",
          fields: mapOf(PROTOTYPE_NAMES.map((name) => [name, 1])),
          labels: mapOf([["__proto__", "x"]]),
        }),
      );
      store.dispatch(
        framesReceived([
          delta("svc/api", 2, {
            fields: mapOf([
              ["__proto__", null],
              ["toString", 2],
              ["valueOf", null],
            ]),
            labels: mapOf([
              ["__proto__", "y"],
              ["constructor", "z"],
            ]),
          }),
        ]),
      );
      const resource = selectResourceById(store.getState(), "svc/api");
      expect(resource?.status).toBe("down");
      expect(Object.entries(resource?.fields ?? {})).toEqual([
        ["constructor", 1],
        ["prototype", 1],
        ["toString", 2],
        ["hasOwnProperty", 1],
        ["isPrototypeOf", 1],
      ]);
      expect(Object.entries(resource?.labels ?? {})).toEqual([
        ["__proto__", "y"],
        ["constructor", "z"],
      ]);
      expect(resource?.lastChange?.keys).toEqual([
        "fields.__proto__",
        "fields.toString",
        "fields.valueOf",
        "labels.__proto__",
        "labels.constructor",
      ]);
      expect(Object.keys(Object.prototype)).toEqual([]);
    });

    it("are compared as entries when a snapshot replaces the state", () => {
      const store = storeWith(snapshot("svc/api", { fields: { cpu: 1 } }));
      store.dispatch(
        framesReceived([
          snapshot("svc/api", {
            seq: 2,
            fields: mapOf([
              ["cpu", 1],
              ["constructor", 3],
            ]),
          }),
        ]),
      );
      expect(selectResourceById(store.getState(), "svc/api")?.lastChange?.keys).toEqual([
        "fields.constructor",
      ]);
    });
  });
});
