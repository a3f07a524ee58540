import CssBaseline from "@mui/material/CssBaseline";
import { ThemeProvider } from "@mui/material/styles";
import { useMemo, type ReactNode } from "react";
import { selectThemeMode } from "../features/preferences/preferencesSlice";
import { useAppSelector } from "./hooks";
import { makeTheme } from "./theme";

/** The MUI theme for the operator's chosen mode. */
export function ThemeRoot({ children }: { children: ReactNode }) {
  const mode = useAppSelector(selectThemeMode);
  const theme = useMemo(() => makeTheme(mode), [mode]);
  return (
    <ThemeProvider theme={theme}>
      <CssBaseline />
      {children}
    </ThemeProvider>
  );
}
