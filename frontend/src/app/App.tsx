import DarkModeIcon from "@mui/icons-material/DarkMode";
import LightModeIcon from "@mui/icons-material/LightMode";
import AppBar from "@mui/material/AppBar";
import Box from "@mui/material/Box";
import IconButton from "@mui/material/IconButton";
import Tab from "@mui/material/Tab";
import Tabs from "@mui/material/Tabs";
import Toolbar from "@mui/material/Toolbar";
import Tooltip from "@mui/material/Tooltip";
import Typography from "@mui/material/Typography";
import { useEffect } from "react";
import { routeHref, useRoute, type Route } from "../common/hashRoute";
import { AccountMenu } from "../features/auth/AccountMenu";
import { selectSignInReason, selectToken } from "../features/auth/authSlice";
import { SignIn } from "../features/auth/SignIn";
import { OverviewPage } from "../features/overview/OverviewPage";
import { selectThemeMode, themeModeChanged } from "../features/preferences/preferencesSlice";
import { PublishForm } from "../features/publish/PublishForm";
import { selectStatusCounts } from "../features/resources/resourcesSlice";
import { ResourcesPage } from "../features/resources/ResourcesPage";
import { ConnectionBanner } from "../features/session/ConnectionBanner";
import { RefusedSubscriptions } from "../features/session/RefusedSubscriptions";
import { SystemPage } from "../features/system/SystemPage";
import { connectRequested, selectCanPublish, subscriptionRequested } from "../hub/hubSlice";
import { useAppDispatch, useAppSelector } from "./hooks";

/**
 * The dashboard watches everything the session may see (the middleware narrows this to the
 * token's `res`); the table filters locally.
 */
const EVERYTHING = "**";

function Page({ route }: { route: Route }) {
  const canPublish = useAppSelector(selectCanPublish);
  switch (route.view) {
    case "overview":
      return <OverviewPage />;
    case "resources":
      return <ResourcesPage selected={route.resource} />;
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

/** Puts the number of down resources in the tab title, for an operator on another tab. */
function useTitle() {
  const { down } = useAppSelector(selectStatusCounts);
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
  useTitle();

  useEffect(() => {
    dispatch(subscriptionRequested({ pattern: EVERYTHING }));
    dispatch(connectRequested());
  }, [dispatch]);

  const isSigningIn = signInReason !== null && token === null;
  const tabs: { view: Route["view"]; label: string }[] = [
    { view: "overview", label: "Overview" },
    { view: "resources", label: "Resources" },
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
          <Tooltip title={`Switch to the ${nextMode} theme`}>
            <IconButton
              aria-label={`Switch to the ${nextMode} theme`}
              onClick={() => dispatch(themeModeChanged(nextMode))}
            >
              {themeMode === "dark" ? (
                <LightModeIcon fontSize="small" />
              ) : (
                <DarkModeIcon fontSize="small" />
              )}
            </IconButton>
          </Tooltip>
        </Toolbar>
      </AppBar>
      <ConnectionBanner />
      <Box component="main" sx={{ flex: 1, display: "flex", minHeight: 0, position: "relative" }}>
        {isSigningIn ? <SignIn /> : <Page route={route} />}
      </Box>
      <RefusedSubscriptions />
    </Box>
  );
}
