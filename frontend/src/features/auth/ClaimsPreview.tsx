import Box from "@mui/material/Box";
import { monospace } from "../../app/theme";
import { formatTimestamp } from "../../common/time";
import { useNow } from "../../common/useNow";
import type { TokenClaims } from "./tokenClaims";

/** What a pasted token claims, shown before it is sent (the hub still decides). */
export function ClaimsPreview({ claims }: { claims: TokenClaims }) {
  const now = useNow();
  return (
    <Box
      component="dl"
      aria-label="Token claims"
      sx={{
        display: "grid",
        gridTemplateColumns: "90px 1fr",
        rowGap: 0.5,
        m: 0,
        fontSize: "0.85rem",
      }}
    >
      <Box component="dt" sx={{ color: "text.secondary" }}>
        sub
      </Box>
      <Box component="dd" sx={{ m: 0, fontFamily: monospace }}>
        {claims.sub ?? "(none)"}
      </Box>
      <Box component="dt" sx={{ color: "text.secondary" }}>
        roles
      </Box>
      <Box component="dd" sx={{ m: 0, fontFamily: monospace }}>
        {claims.roles.join(", ") || "(none)"}
      </Box>
      <Box component="dt" sx={{ color: "text.secondary" }}>
        res
      </Box>
      <Box component="dd" sx={{ m: 0, fontFamily: monospace }}>
        {claims.res.join(", ")}
      </Box>
      <Box component="dt" sx={{ color: "text.secondary" }}>
        expires
      </Box>
      <Box component="dd" sx={{ m: 0 }}>
        {claims.expiresAt === null
          ? "never (the hub will refuse a token without exp)"
          : formatTimestamp(claims.expiresAt)}
        {claims.expiresAt !== null && claims.expiresAt < now && " (already expired)"}
      </Box>
    </Box>
  );
}
