/**
 * The store: one reducer per feature, RTK Query's cache for REST, and the hub middleware that
 * owns the socket. `makeStore` is called once by `main.tsx` and once per test.
 */
import { combineSlices, configureStore } from "@reduxjs/toolkit";
import { restApi } from "../common/restApi";
import { authSlice } from "../features/auth/authSlice";
import { preferencesSlice } from "../features/preferences/preferencesSlice";
import { publishSlice } from "../features/publish/publishSlice";
import { resourcesSlice } from "../features/resources/resourcesSlice";
import { createHubMiddleware, type HubMiddlewareOptions } from "../hub/hubMiddleware";
import { hubSlice } from "../hub/hubSlice";

const rootReducer = combineSlices(
  hubSlice,
  resourcesSlice,
  authSlice,
  publishSlice,
  preferencesSlice,
  restApi,
);

export type RootState = ReturnType<typeof rootReducer>;

export function makeStore(preloadedState?: Partial<RootState>, hub: HubMiddlewareOptions = {}) {
  return configureStore({
    reducer: rootReducer,
    ...(preloadedState === undefined ? {} : { preloadedState }),
    middleware: (getDefaultMiddleware) =>
      getDefaultMiddleware({
        // Both dev-only checks walk the whole state on every action: with 10,000 resources
        // that is the slowest thing in the app, and the resources slice is written by Immer.
        immutableCheck: false,
        serializableCheck: false,
      }).concat(restApi.middleware, createHubMiddleware(hub)),
  });
}

export type AppStore = ReturnType<typeof makeStore>;
export type AppDispatch = AppStore["dispatch"];
