/**
 * The store: one reducer per feature, the hub middleware that owns the socket, and RTK
 * Query's cache for REST once a view that uses it is loaded. `makeStore` is called once by
 * `main.tsx` and once per test.
 */
import {
  combineSlices,
  configureStore,
  createAction,
  createDynamicMiddleware,
  type Dispatch,
  type ThunkAction,
  type UnknownAction,
  type WithSlice,
} from "@reduxjs/toolkit";
import type { restApi } from "../common/restApi";
import { authSlice } from "../features/auth/authSlice";
import { monitoringSlice } from "../features/monitoring/monitoringApi";
import { preferencesSlice } from "../features/preferences/preferencesSlice";
import { publishSlice } from "../features/publish/publishSlice";
import { resourcesSlice } from "../features/resources/resourcesSlice";
import { createHubMiddleware, type HubMiddlewareOptions } from "../hub/hubMiddleware";
import { hubSlice } from "../hub/hubSlice";

/**
 * What joins the store later, with the chunk that needs it: RTK Query's API (`restApi.ts`),
 * loaded with the views that read REST through it, so the first page does not load it.
 */
type LazyParts = WithSlice<typeof restApi>;

const rootReducer = combineSlices(
  hubSlice,
  resourcesSlice,
  authSlice,
  publishSlice,
  preferencesSlice,
  monitoringSlice,
).withLazyLoadedSlices<LazyParts>();

export type RootState = ReturnType<typeof rootReducer>;

/** The middleware of the lazy parts, added as they load. */
const lazyMiddleware = createDynamicMiddleware();

/** Every store made, held weakly, so a part that loads later reaches each one's state. */
const stores = new Set<WeakRef<{ dispatch: Dispatch }>>();

/** Tells a store that a lazy part joined it, so its state holds that part at once. */
export const lazyPartLoaded = createAction<string>("app/lazyPartLoaded");

/**
 * Adds a lazily loaded part (reducer and middleware) to every store, those already made
 * included: its chunk calls this once, when loaded, before any view of it renders.
 */
export function injectLazyPart(part: typeof restApi) {
  rootReducer.inject(part);
  lazyMiddleware.addMiddleware(part.middleware);
  for (const ref of stores) {
    const store = ref.deref();
    if (store === undefined) stores.delete(ref);
    else store.dispatch(lazyPartLoaded(part.reducerPath));
  }
}

export function makeStore(preloadedState?: Partial<RootState>, hub: HubMiddlewareOptions = {}) {
  const store = configureStore({
    reducer: rootReducer,
    ...(preloadedState === undefined ? {} : { preloadedState }),
    middleware: (getDefaultMiddleware) =>
      getDefaultMiddleware({
        // Both dev-only checks walk the whole state on every action: with 10,000 resources
        // that is the slowest thing in the app, and the resources slice is written by Immer.
        immutableCheck: false,
        serializableCheck: false,
      }).concat(lazyMiddleware.middleware, createHubMiddleware(hub)),
  });
  stores.add(new WeakRef(store));
  return store;
}

export type AppStore = ReturnType<typeof makeStore>;
export type AppDispatch = AppStore["dispatch"];
export type AppThunk<Result = void> = ThunkAction<Result, RootState, unknown, UnknownAction>;
