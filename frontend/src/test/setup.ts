import "@testing-library/jest-dom/vitest";
import { cleanup } from "@testing-library/react";
import { afterEach } from "vitest";

afterEach(() => {
  cleanup();
});

// jsdom has neither: the virtualised table observes its size, persistence asks for the scheme.
if (!("ResizeObserver" in globalThis)) {
  globalThis.ResizeObserver = class {
    observe = () => undefined;
    unobserve = () => undefined;
    disconnect = () => undefined;
  };
}
if (typeof window !== "undefined" && typeof window.matchMedia !== "function") {
  Object.defineProperty(window, "matchMedia", {
    value: (query: string) => ({
      matches: false,
      media: query,
      onchange: null,
      addEventListener: () => undefined,
      removeEventListener: () => undefined,
      dispatchEvent: () => false,
    }),
  });
}

// jsdom has no layout: the virtualised table's scroller gets a viewport of 600 × 1200 px
// (the virtualizer measures clientHeight/clientWidth), everything else stays 0 as before.
if (typeof HTMLElement !== "undefined") {
  const isTableViewport = (element: HTMLElement) => element.dataset.testid === "resource-table";
  Object.defineProperty(HTMLElement.prototype, "clientHeight", {
    get(this: HTMLElement) {
      return isTableViewport(this) ? 600 : 0;
    },
  });
  Object.defineProperty(HTMLElement.prototype, "clientWidth", {
    get(this: HTMLElement) {
      return isTableViewport(this) ? 1200 : 0;
    },
  });
}
