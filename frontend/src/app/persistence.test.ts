import { afterEach, describe, expect, it } from "vitest";
import { signedOut, tokenSubmitted } from "../features/auth/authSlice";
import { themeModeChanged } from "../features/preferences/preferencesSlice";
import { silentSocket } from "../test/renderWithProviders";
import { loadPersistedState, persistChanges } from "./persistence";
import { makeStore } from "./store";

afterEach(() => {
  sessionStorage.clear();
  localStorage.clear();
});

describe("persistence", () => {
  it("keeps the token in sessionStorage (never a cookie) and the theme in localStorage", () => {
    const store = makeStore(loadPersistedState(), { openSocket: silentSocket });
    persistChanges(store);
    store.dispatch(tokenSubmitted({ token: "a.b.c" }));
    store.dispatch(themeModeChanged("dark"));
    expect(sessionStorage.getItem("fillstack.token")).toBe("a.b.c");
    expect(localStorage.getItem("fillstack.theme")).toBe("dark");
    expect(document.cookie).toBe("");

    expect(loadPersistedState()).toMatchObject({
      auth: { token: "a.b.c" },
      preferences: { themeMode: "dark" },
    });
  });

  it("forgets the token on sign-out", () => {
    const store = makeStore(undefined, { openSocket: silentSocket });
    persistChanges(store);
    store.dispatch(tokenSubmitted({ token: "a.b.c" }));
    store.dispatch(signedOut());
    expect(sessionStorage.getItem("fillstack.token")).toBeNull();
  });
});
