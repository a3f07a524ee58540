import AccountCircleIcon from "@mui/icons-material/AccountCircle";
import LogoutIcon from "@mui/icons-material/Logout";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Divider from "@mui/material/Divider";
import Menu from "@mui/material/Menu";
import MenuItem from "@mui/material/MenuItem";
import { useState } from "react";
import { useAppDispatch, useAppSelector } from "../../app/hooks";
import { selectRoles } from "../../hub/hubSlice";
import { selectToken, signedOut } from "./authSlice";
import { ClaimsPreview } from "./SignIn";
import { readTokenClaims } from "./tokenClaims";

/** Who the dashboard is signed in as, and sign-out; with auth off, just the session's roles. */
export function AccountMenu() {
  const dispatch = useAppDispatch();
  const token = useAppSelector(selectToken);
  const roles = useAppSelector(selectRoles);
  const [anchor, setAnchor] = useState<HTMLElement | null>(null);
  const claims = token === null ? null : readTokenClaims(token);

  if (claims === null) {
    return roles.length === 0 ? null : (
      <Box
        component="span"
        sx={{ fontSize: "0.8rem", color: "text.secondary", whiteSpace: "nowrap" }}
        title="No token: the hub has auth off"
      >
        {roles.join(", ")}
      </Box>
    );
  }
  return (
    <>
      <Button
        color="inherit"
        startIcon={<AccountCircleIcon />}
        onClick={(event) => {
          setAnchor(event.currentTarget);
        }}
        aria-haspopup="menu"
      >
        {claims.sub ?? "signed in"}
      </Button>
      <Menu
        anchorEl={anchor}
        open={anchor !== null}
        onClose={() => {
          setAnchor(null);
        }}
      >
        <Box sx={{ px: 2, py: 1, minWidth: 320 }}>
          <ClaimsPreview claims={claims} />
        </Box>
        <Divider />
        <MenuItem
          onClick={() => {
            setAnchor(null);
            dispatch(signedOut());
          }}
        >
          <LogoutIcon fontSize="small" sx={{ mr: 1 }} />
          Sign out
        </MenuItem>
      </Menu>
    </>
  );
}
