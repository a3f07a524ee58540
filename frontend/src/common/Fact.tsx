import Box from "@mui/material/Box";
import type { ReactNode } from "react";

/** One entry of a definition list (`<dl>` laid out as a two-column grid): a label and a value. */
export function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <>
      <Box component="dt" sx={{ color: "text.secondary", minWidth: 0, overflowWrap: "anywhere" }}>
        {label}
      </Box>
      <Box component="dd" sx={{ m: 0, minWidth: 0, overflowWrap: "anywhere" }}>
        {children}
      </Box>
    </>
  );
}
