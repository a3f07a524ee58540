import { act, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { signInRequired } from "../features/auth/authSlice";
import { framesReceived } from "../features/resources/resourcesSlice";
import { welcomed } from "../hub/hubSlice";
import { snapshot, welcome } from "../test/frames";
import { renderWithProviders } from "../test/renderWithProviders";
import { App } from "./App";

const base64Url = (value: unknown) =>
  btoa(JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const token = `${base64Url({ alg: "HS256" })}.${base64Url({ sub: "ops", roles: ["viewer"], res: ["svc/**"], exp: 4_000_000_000 })}.sig`;

afterEach(() => {
  window.location.hash = "";
});

describe("App", () => {
  it("goes straight to the data when the hub has auth off", async () => {
    const { store } = renderWithProviders(<App />);
    act(() => {
      store.dispatch(welcomed(welcome({ roles: ["admin"] })));
      store.dispatch(framesReceived([snapshot("svc/api", { status: "down" })]));
    });
    expect(await screen.findByTestId("status-count-down")).toHaveTextContent("1");
    expect(screen.getByRole("tab", { name: "Publish" })).toBeVisible();
    expect(screen.queryByRole("form", { name: "Sign in" })).toBeNull();
  });

  it("hides publishing from a session whose roles lack publisher and admin", () => {
    const { store } = renderWithProviders(<App />);
    act(() => {
      store.dispatch(welcomed(welcome({ roles: ["viewer"] })));
    });
    expect(screen.getByRole("tab", { name: "Resources" })).toBeVisible();
    expect(screen.queryByRole("tab", { name: "Publish" })).toBeNull();
  });

  it("asks for a token when the hub refuses, shows its claims, and signs in with it", async () => {
    const { store, user } = renderWithProviders(<App />);
    act(() => {
      store.dispatch(signInRequired({ reason: "unauthorized", message: "a token is required" }));
    });
    // The sign-in view is its own chunk: it shows once loaded.
    expect(await screen.findByRole("form", { name: "Sign in" })).toBeVisible();
    expect(screen.getByText(/a token is required/)).toBeVisible();

    await user.click(screen.getByLabelText("Token (JWT)"));
    await user.paste(token);
    const claims = screen.getByLabelText("Token claims");
    expect(claims).toHaveTextContent("ops");
    expect(claims).toHaveTextContent("viewer");
    expect(claims).toHaveTextContent("svc/**");

    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(store.getState().auth.token).toBe(token);
    expect(screen.queryByRole("form", { name: "Sign in" })).toBeNull();
  });

  it("switches between light and dark themes", async () => {
    const { store, user } = renderWithProviders(<App />);
    await user.click(screen.getByRole("button", { name: "Switch to the dark theme" }));
    expect(store.getState().preferences.themeMode).toBe("dark");
    expect(screen.getByRole("button", { name: "Switch to the light theme" })).toBeVisible();
  });
});
