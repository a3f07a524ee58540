/**
 * What outlives a page load: the token in sessionStorage (this tab only, gone with it; never a
 * cookie, so the hub never receives it unasked) and the theme in localStorage.
 */
import type { ThemeMode } from "../features/preferences/preferencesSlice";
import type { AppStore, RootState } from "./store";

const TOKEN_KEY = "fillstack.token";
const THEME_KEY = "fillstack.theme";

/** Storage can throw (privacy modes, quotas); a dashboard that forgets is still a dashboard. */
function read(storage: () => Storage, key: string): string | null {
  try {
    return storage().getItem(key);
  } catch {
    return null;
  }
}

function write(storage: () => Storage, key: string, value: string | null) {
  try {
    if (value === null) storage().removeItem(key);
    else storage().setItem(key, value);
  } catch {
    // Not remembered; nothing else depends on it.
  }
}

const session = () => window.sessionStorage;
const local = () => window.localStorage;

/** The state a new page starts from. */
export function loadPersistedState(): Partial<RootState> {
  const stored = read(local, THEME_KEY);
  const prefersDark = window.matchMedia("(prefers-color-scheme: dark)").matches;
  const themeMode: ThemeMode =
    stored === "dark" || stored === "light" ? stored : prefersDark ? "dark" : "light";
  return {
    auth: { token: read(session, TOKEN_KEY), signInReason: null, message: null },
    preferences: { themeMode },
  };
}

/** Writes the token and theme whenever they change. */
export function persistChanges(store: AppStore): () => void {
  let { auth, preferences } = store.getState();
  return store.subscribe(() => {
    const state = store.getState();
    if (state.auth.token !== auth.token) write(session, TOKEN_KEY, state.auth.token);
    if (state.preferences.themeMode !== preferences.themeMode) {
      write(local, THEME_KEY, state.preferences.themeMode);
    }
    ({ auth, preferences } = state);
  });
}
