import { useSyncExternalStore } from "react";

/**
 * One shared clock for relative times ("12 s ago") and countdowns: every component that
 * shows one re-renders on the same tick, and nothing ticks while nothing shows a time.
 */
const TICK_MS = 1000;
const listeners = new Set<() => void>();
let now = Date.now();
let timer: ReturnType<typeof setInterval> | undefined;

function subscribe(listener: () => void) {
  listeners.add(listener);
  if (timer === undefined) {
    now = Date.now();
    timer = setInterval(() => {
      now = Date.now();
      for (const notify of listeners) notify();
    }, TICK_MS);
  }
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}

/** The current time in unix ms, updated once a second. */
export function useNow(): number {
  return useSyncExternalStore(subscribe, () => now);
}
