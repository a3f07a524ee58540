/**
 * Light and dark themes for a tool kept open all day: quiet surfaces, dense controls, and
 * status colours that always come with an icon and a word (never colour alone).
 */
import { createTheme, type Theme } from "@mui/material/styles";
import type { Status } from "@protocol/frames";
import type { ThemeMode } from "../features/preferences/preferencesSlice";

/** Foreground colour per status, chosen for contrast on each background. */
const statusColors: Record<ThemeMode, Record<Status, string>> = {
  light: {
    up: "#1b7a3d",
    degraded: "#a15c00",
    down: "#c62828",
    unknown: "#5f6b76",
    stale: "#7b3fa0",
    maintenance: "#1f5fa8",
  },
  dark: {
    up: "#6fd08c",
    degraded: "#ffb74d",
    down: "#ff7b72",
    unknown: "#a9b4be",
    stale: "#d2a8ff",
    maintenance: "#79b8ff",
  },
};

export const monospace =
  'ui-monospace, "SFMono-Regular", "JetBrains Mono", "Cascadia Mono", Menlo, Consolas, monospace';

export function statusColor(theme: Theme, status: Status): string {
  return statusColors[theme.palette.mode][status];
}

export function makeTheme(mode: ThemeMode): Theme {
  const isDark = mode === "dark";
  return createTheme({
    palette: {
      mode,
      primary: { main: isDark ? "#5cc8a8" : "#1f6f5c" },
      background: isDark
        ? { default: "#0f1417", paper: "#161d21" }
        : { default: "#f4f6f7", paper: "#ffffff" },
      divider: isDark ? "rgba(255,255,255,0.10)" : "rgba(0,0,0,0.10)",
    },
    shape: { borderRadius: 6 },
    typography: {
      fontFamily:
        'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
      fontSize: 13,
      h1: { fontSize: "1.25rem", fontWeight: 600 },
      h2: { fontSize: "1.05rem", fontWeight: 600 },
      h3: { fontSize: "0.95rem", fontWeight: 600 },
    },
    components: {
      MuiAppBar: { defaultProps: { elevation: 0, color: "default" } },
      MuiPaper: { defaultProps: { variant: "outlined" } },
      MuiButton: {
        defaultProps: { size: "small", disableElevation: true },
        styleOverrides: { root: { textTransform: "none", fontWeight: 600 } },
      },
      MuiToggleButton: { styleOverrides: { root: { textTransform: "none" } } },
      MuiTab: { styleOverrides: { root: { textTransform: "none" } } },
      MuiTextField: { defaultProps: { size: "small" } },
      MuiChip: { defaultProps: { size: "small" } },
      MuiTooltip: { defaultProps: { arrow: true } },
    },
  });
}
