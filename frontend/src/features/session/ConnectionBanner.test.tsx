import { act, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { renderWithProviders } from "../../test/renderWithProviders";
import { welcome } from "../../test/frames";
import { signInRequired } from "../auth/authSlice";
import { connectionLost, errorReceived, reconnectScheduled, welcomed } from "../../hub/hubSlice";
import { ConnectionBanner } from "./ConnectionBanner";

describe("ConnectionBanner", () => {
  it("says live, with the hub's name", () => {
    const { store } = renderWithProviders(<ConnectionBanner />);
    act(() => {
      store.dispatch(welcomed(welcome({ server: "fillstack/9.9" })));
    });
    expect(screen.getByTestId("connection-banner")).toHaveTextContent(
      "Live · fillstack/9.9 · 0 resources",
    );
  });

  it("shows an error the hub sent outside any request of ours", () => {
    const { store } = renderWithProviders(<ConnectionBanner />);
    act(() => {
      store.dispatch(welcomed(welcome()));
      store.dispatch(
        errorReceived({ code: "forbidden", message: "pattern `x/**` is outside res" }),
      );
    });
    expect(screen.getByTestId("connection-banner")).toHaveTextContent(
      "the hub refused a request (forbidden): pattern `x/**` is outside res",
    );
  });

  it("counts down to the next attempt after a drop, and offers to retry now", () => {
    const { store } = renderWithProviders(<ConnectionBanner />);
    act(() => {
      store.dispatch(connectionLost({ code: 1001, reason: "" }));
    });
    act(() => {
      store.dispatch(reconnectScheduled({ retryAt: Date.now() + 4000 }));
    });
    const banner = screen.getByTestId("connection-banner");
    expect(banner).toHaveAttribute("data-link", "waiting");
    expect(banner).toHaveTextContent(/the hub is restarting \(1001\)/);
    expect(banner).toHaveTextContent(/Reconnecting in [34] s/);
    expect(screen.getByRole("button", { name: "Retry now" })).toBeVisible();
  });

  it.each([
    [1002, "the hub saw a WebSocket protocol error"],
    [1003, "the hub got a frame of the wrong type"],
    [4010, "the hub missed the dashboard's heartbeat"],
  ])("says why in words after close %i, and offers to retry now", (code, words) => {
    const { store } = renderWithProviders(<ConnectionBanner />);
    act(() => {
      store.dispatch(connectionLost({ code, reason: "" }));
      store.dispatch(reconnectScheduled({ retryAt: Date.now() + 1000 }));
    });
    expect(screen.getByTestId("connection-banner")).toHaveTextContent(
      `Disconnected: ${words} (${String(code)})`,
    );
    expect(screen.getByRole("button", { name: "Retry now" })).toBeVisible();
  });

  it("says signed out when the hub wants a token", () => {
    const { store } = renderWithProviders(<ConnectionBanner />);
    act(() => {
      store.dispatch(signInRequired({ reason: "unauthorized", message: "token required" }));
    });
    expect(screen.getByTestId("connection-banner")).toHaveTextContent("Signed out");
  });
});
