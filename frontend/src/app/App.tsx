import DarkModeIcon from "@mui/icons-material/DarkMode";
import LightModeIcon from "@mui/icons-material/LightMode";
import AppBar from "@mui/material/AppBar";
import Box from "@mui/material/Box";
import IconButton from "@mui/material/IconButton";
import Tab from "@mui/material/Tab";
import Tabs from "@mui/material/Tabs";
import Toolbar from "@mui/material/Toolbar";
import Typography from "@mui/material/Typography";
import { lazy, Suspense, useEffect } from "react";
import { routeHref, useRoute, type Route } from "../common/hashRoute";
import { selectFiringAlertCount } from "../features/alerts/alertEpisodes";
import { AccountMenu } from "../features/auth/AccountMenu";
import { selectSignInReason, selectToken } from "../features/auth/authSlice";
import { selectThemeMode, themeModeChanged } from "../features/preferences/preferencesSlice";
import { selectMonitoredStatusCounts } from "../features/overview/monitoredResources";
import { ConnectionBanner } from "../features/session/ConnectionBanner";
import { RefusedSubscriptions } from "../features/session/RefusedSubscriptions";
import { connectRequested, selectCanPublish, subscriptionRequested } from "../hub/hubSlice";
import { useAppDispatch, useAppSelector } from "./hooks";

/**
 * The dashboard watches everything the session may see (the middleware narrows this to the
 * token's `res`); the table filters locally.
 */
const EVERYTHING = "**";

/*
 * Each view is its own chunk, loaded when first shown: the first page then loads the shell
 * and its own view, not the table, the charts and the forms of the others.
 */
const SignIn = lazy(() =>
  import("../features/auth/SignIn").then((module) => ({ default: module.SignIn })),
);
const OverviewPage = lazy(() =>
  import("../features/overview/OverviewPage").then((module) => ({ default: module.OverviewPage })),
);
const ResourcesPage = lazy(() =>
  import("../features/resources/ResourcesPage").then((module) => ({
    default: module.ResourcesPage,
  })),
);
const AlertsPage = lazy(() =>
  import("../features/alerts/AlertsPage").then((module) => ({ default: module.AlertsPage })),
);
const SystemPage = lazy(() =>
  import("../features/system/SystemPage").then((module) => ({ default: module.SystemPage })),
);
const PublishForm = lazy(() =>
  import("../features/publish/PublishForm").then((module) => ({ default: module.PublishForm })),
);

function Page({ route }: { route: Route }) {
  const canPublish = useAppSelector(selectCanPublish);
  switch (route.view) {
    case "overview":
      return <OverviewPage />;
    case "resources":
      return <ResourcesPage selected={route.resource} />;
    case "alerts":
      return <AlertsPage />;
    case "system":
      return <SystemPage />;
    case "publish":
      return canPublish ? (
        <PublishForm key={route.resource ?? ""} resource={route.resource} />
      ) : (
        <Typography sx={{ p: 3 }} color="text.secondary">
          Publishing needs the publisher or admin role; this session has neither.
        </Typography>
      );
  }
}

/** Shown while a view's chunk loads (once per view and page load, usually for an instant). */
function PageLoading() {
  return (
    <Typography role="status" color="text.secondary" sx={{ p: 3 }}>
      Loading…
    </Typography>
  );
}

/** Puts the number of down resources in the tab title, for an operator on another tab. */
function useTitle() {
  const { down } = useAppSelector(selectMonitoredStatusCounts);
  useEffect(() => {
    document.title = down > 0 ? `(${String(down)} down) FILLSTACK` : "FILLSTACK";
  }, [down]);
}

export function App() {
  const dispatch = useAppDispatch();
  const [route] = useRoute();
  const signInReason = useAppSelector(selectSignInReason);
  const token = useAppSelector(selectToken);
  const themeMode = useAppSelector(selectThemeMode);
  const canPublish = useAppSelector(selectCanPublish);
  const firingAlerts = useAppSelector(selectFiringAlertCount);
  useTitle();

  useEffect(() => {
    dispatch(subscriptionRequested({ pattern: EVERYTHING }));
    dispatch(connectRequested());
  }, [dispatch]);

  const isSigningIn = signInReason !== null && token === null;
  const tabs: { view: Route["view"]; label: string }[] = [
    { view: "overview", label: "Overview" },
    { view: "resources", label: "Resources" },
    // The count keeps firing alerts in sight from every view.
    {
      view: "alerts",
      label: firingAlerts === 0 ? "Alerts" : `Alerts (${firingAlerts.toLocaleString()})`,
    },
    { view: "system", label: "System" },
    ...(canPublish ? [{ view: "publish" as const, label: "Publish" }] : []),
  ];
  const nextMode = themeMode === "dark" ? "light" : "dark";

  return (
    <Box sx={{ height: "100vh", display: "flex", flexDirection: "column" }}>
      <AppBar
        position="static"
        sx={{ borderBottom: 1, borderColor: "divider", bgcolor: "background.paper" }}
      >
        <Toolbar variant="dense" sx={{ gap: 2 }}>
          <Typography component="span" sx={{ fontWeight: 700, letterSpacing: "0.08em" }}>
            FILLSTACK
          </Typography>
          {!isSigningIn && (
            <Tabs
              component="nav"
              aria-label="Views"
              value={tabs.some((tab) => tab.view === route.view) ? route.view : false}
              sx={{ flex: 1, minHeight: 48 }}
            >
              {tabs.map((tab) => (
                <Tab
                  key={tab.view}
                  value={tab.view}
                  label={tab.label}
                  component="a"
                  href={routeHref(
                    tab.view === "resources" || tab.view === "publish"
                      ? { view: tab.view, resource: null }
                      : { view: tab.view },
                  )}
                  sx={{ minHeight: 48 }}
                />
              ))}
            </Tabs>
          )}
          <Box sx={{ flex: isSigningIn ? 1 : 0 }} />
          <AccountMenu />
          {/* A native title, not MUI's Tooltip: the shell stays free of the popper it needs. */}
          <IconButton
            aria-label={`Switch to the ${nextMode} theme`}
            title={`Switch to the ${nextMode} theme`}
            onClick={() => dispatch(themeModeChanged(nextMode))}
          >
            {themeMode === "dark" ? (
              <LightModeIcon fontSize="small" />
            ) : (
              <DarkModeIcon fontSize="small" />
            )}
          </IconButton>
        </Toolbar>
      </AppBar>
      <ConnectionBanner />
      <Box component="main" sx={{ flex: 1, display: "flex", minHeight: 0, position: "relative" }}>
        <Suspense fallback={<PageLoading />}>
          {isSigningIn ? <SignIn /> : <Page route={route} />}
        </Suspense>
      </Box>
      <RefusedSubscriptions />
    </Box>
  );
}
