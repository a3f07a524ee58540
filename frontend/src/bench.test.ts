import { it } from "vitest";
import { makeStore } from "./app/store";
import { deltaReceived, snapshotReceived } from "./features/resources/resourcesSlice";

it("bench", () => {
  const store = makeStore(undefined, { openSocket: () => ({ send() {}, close() {} }) });
  let t = performance.now();
  for (let i = 0; i < 10000; i++) {
    store.dispatch(snapshotReceived({ t: "snapshot", resource: `load/r-${i}`, seq: 1, status: "up", fields: { cpu: 0.5, n: i }, labels: { zone: "a" }, updated_at: 1, reset: false }));
  }
  console.log("10k snapshots", performance.now() - t);
  t = performance.now();
  for (let i = 0; i < 5000; i++) {
    store.dispatch(deltaReceived({ t: "delta", resource: `load/r-${i}`, seq: 2, at: 2, fields: { cpu: 0.7 } }));
  }
  console.log("5k deltas", performance.now() - t);
});
