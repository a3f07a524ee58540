import { render, type RenderOptions } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { ReactElement, ReactNode } from "react";
import { Provider } from "react-redux";
import { makeStore, type AppStore, type RootState } from "../app/store";
import { ThemeRoot } from "../app/ThemeRoot";
import type { OpenSocket } from "../hub/connection";

/** A socket that never opens: components under test see a hub that is still connecting. */
export const silentSocket: OpenSocket = () => ({
  send: () => undefined,
  close: () => undefined,
});

interface ProviderOptions extends Omit<RenderOptions, "queries"> {
  preloadedState?: Partial<RootState>;
  store?: AppStore;
}

/** Renders `ui` inside the real store (silent socket) and theme, like main.tsx does. */
export function renderWithProviders(
  ui: ReactElement,
  {
    preloadedState,
    store = makeStore(preloadedState, { openSocket: silentSocket }),
    ...options
  }: ProviderOptions = {},
) {
  function Wrapper({ children }: { children: ReactNode }) {
    return (
      <Provider store={store}>
        <ThemeRoot>{children}</ThemeRoot>
      </Provider>
    );
  }
  return { store, user: userEvent.setup(), ...render(ui, { wrapper: Wrapper, ...options }) };
}
