import LoginIcon from "@mui/icons-material/Login";
import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Paper from "@mui/material/Paper";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import { useState, type SyntheticEvent } from "react";
import { useAppDispatch, useAppSelector } from "../../app/hooks";
import { monospace } from "../../app/theme";
import { formatTimestamp } from "../../common/time";
import { useNow } from "../../common/useNow";
import { selectAuthMessage, selectSignInReason, signInSkipped, tokenSubmitted } from "./authSlice";
import { readTokenClaims, type TokenClaims } from "./tokenClaims";

const REASONS = {
  unauthorized: "The hub needs a valid token.",
  expired: "Your token expired.",
  signedOut: "You signed out.",
} as const;

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

/** Paste a JWT; it is kept in this tab's sessionStorage and sent to the hub in `hello` only. */
export function SignIn() {
  const dispatch = useAppDispatch();
  const reason = useAppSelector(selectSignInReason);
  const message = useAppSelector(selectAuthMessage);
  const [token, setToken] = useState("");
  const claims = token.trim() === "" ? null : readTokenClaims(token);

  const submit = (event: SyntheticEvent) => {
    event.preventDefault();
    if (claims !== null) dispatch(tokenSubmitted({ token }));
  };

  return (
    <Box
      sx={{
        flex: 1,
        display: "flex",
        justifyContent: "center",
        alignItems: "flex-start",
        p: 4,
        overflowY: "auto",
      }}
    >
      <Paper
        component="form"
        aria-label="Sign in"
        onSubmit={submit}
        sx={{
          p: 3,
          width: "100%",
          maxWidth: 560,
          display: "flex",
          flexDirection: "column",
          gap: 2,
        }}
      >
        <Typography variant="h1">Sign in to the hub</Typography>
        {reason !== null && (
          <Alert severity={reason === "signedOut" ? "info" : "warning"}>
            {REASONS[reason]}
            {message !== null && ` The hub said: ${message}`}
          </Alert>
        )}
        <TextField
          label="Token (JWT)"
          multiline
          minRows={4}
          value={token}
          onChange={(event) => {
            setToken(event.target.value);
          }}
          error={token.trim() !== "" && claims === null}
          helperText={
            token.trim() !== "" && claims === null
              ? "This is not a JWT (three base64url parts, a JSON payload)."
              : "Ask your hub's admin, or run: fillstack token --sub NAME --roles viewer"
          }
          slotProps={{
            htmlInput: {
              spellCheck: false,
              autoComplete: "off",
              style: { fontFamily: monospace, fontSize: "0.8rem", wordBreak: "break-all" },
            },
          }}
          autoFocus
        />
        {claims !== null && <ClaimsPreview claims={claims} />}
        <Typography variant="caption" color="text.secondary">
          Kept in this tab only (sessionStorage), never in a cookie. The claims above are read here
          for display; the hub checks the signature.
        </Typography>
        <Box sx={{ display: "flex", gap: 1 }}>
          <Button
            type="submit"
            variant="contained"
            startIcon={<LoginIcon />}
            disabled={claims === null}
          >
            Sign in
          </Button>
          <Button onClick={() => dispatch(signInSkipped())}>Try without a token</Button>
        </Box>
      </Paper>
    </Box>
  );
}
