/**
 * The dashboard's views live in the URL hash (`#/resources/host/web-1`), so a view can be
 * bookmarked and shared, the back button works, and the hub's SPA fallback never sees them.
 */
import { useCallback, useSyncExternalStore } from "react";

export type Route =
  | { view: "overview" }
  | { view: "resources"; resource: string | null }
  | { view: "alerts" }
  | { view: "system" }
  | { view: "publish"; resource: string | null };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#\/?/, "");
  const [view = "", ...rest] = path.split("/");
  const resource = rest.length > 0 ? rest.map(decodeURIComponent).join("/") : null;
  switch (view) {
    case "resources":
      return { view: "resources", resource };
    case "alerts":
      return { view: "alerts" };
    case "system":
      return { view: "system" };
    case "publish":
      return { view: "publish", resource };
    default:
      return { view: "overview" };
  }
}

export function routeHref(route: Route): string {
  const resource =
    "resource" in route && route.resource !== null
      ? `/${route.resource.split("/").map(encodeURIComponent).join("/")}`
      : "";
  return route.view === "overview" ? "#/" : `#/${route.view}${resource}`;
}

function subscribe(listener: () => void) {
  window.addEventListener("hashchange", listener);
  return () => {
    window.removeEventListener("hashchange", listener);
  };
}

/** The current route, and a function to go to another one. */
export function useRoute(): [Route, (route: Route) => void] {
  const hash = useSyncExternalStore(subscribe, () => window.location.hash);
  const navigate = useCallback((route: Route) => {
    window.location.hash = routeHref(route);
  }, []);
  return [parseRoute(hash), navigate];
}
