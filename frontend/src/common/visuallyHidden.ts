import type { SxProps, Theme } from "@mui/material/styles";

/**
 * Read by screen readers (and tests), not drawn: the words behind a chart, which only shows
 * them in a pointer's tooltip.
 */
export const visuallyHidden: SxProps<Theme> = {
  border: 0,
  clip: "rect(0 0 0 0)",
  height: "1px",
  width: "1px",
  margin: "-1px",
  overflow: "hidden",
  padding: 0,
  position: "absolute",
  whiteSpace: "nowrap",
};
