import { setAutoFreeze } from "immer"; setAutoFreeze(false);
import { createEntityAdapter, createSlice, configureStore } from "@reduxjs/toolkit";
const a = createEntityAdapter({ selectId: r => r.resource });
const s = createSlice({ name: "r", initialState: a.getInitialState(), reducers: {
  snap(state, { payload }) { a.setOne(state, payload); },
  delta(state, { payload }) { const c = state.entities[payload.resource]; if (!c) return; c.seq = payload.seq; c.fields.cpu = 0.7; },
  many(state, { payload }) { for (const p of payload) a.setOne(state, p); },
}});
const store = configureStore({ reducer: { resources: s.reducer }, middleware: g => g({ immutableCheck: false, serializableCheck: false }) });
let t = performance.now();
for (let i = 0; i < 10000; i++) store.dispatch(s.actions.snap({ resource: `load/r-${i}`, seq: 1, status: "up", fields: { cpu: 0.5, n: i }, labels: { zone: "a" } }));
console.log("10k snapshots", performance.now() - t);
t = performance.now();
for (let i = 0; i < 2000; i++) store.dispatch(s.actions.delta({ resource: `load/r-${i}`, seq: 2 }));
console.log("2k deltas", performance.now() - t);
const batch = []; for (let i = 0; i < 10000; i++) batch.push({ resource: `load/x-${i}`, seq: 1, status: "up", fields: { cpu: 0.5, n: i }, labels: { zone: "a" } });
t = performance.now(); store.dispatch(s.actions.many(batch)); console.log("10k batched", performance.now() - t);
t = performance.now(); store.dispatch(s.actions.delta({ resource: `load/r-5`, seq: 3 })); console.log("1 delta on 20k", performance.now() - t);
