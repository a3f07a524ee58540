/**
 * Who the dashboard signs in as. The token lives in this slice and in sessionStorage (never a
 * cookie; see `app/persistence.ts`), and goes to the hub only inside `hello`. The hub decides:
 * when it refuses a hello (error `unauthorized`, close 4001) or a token runs out (close 4002),
 * the middleware reports `signInRequired` and the app shows the sign-in page.
 */
import { createSlice, type PayloadAction } from "@reduxjs/toolkit";

export type SignInReason = "unauthorized" | "expired" | "signedOut";

export interface AuthState {
  token: string | null;
  /** Set once the hub has asked for a token; until then the app assumes auth is off. */
  signInReason: SignInReason | null;
  /** The hub's words when it refused, for the sign-in page. */
  message: string | null;
}

const initialState: AuthState = { token: null, signInReason: null, message: null };

export const authSlice = createSlice({
  name: "auth",
  initialState,
  reducers: {
    tokenSubmitted(state, { payload }: PayloadAction<{ token: string }>) {
      state.token = payload.token.trim();
      state.signInReason = null;
      state.message = null;
    },
    signedOut(state) {
      state.token = null;
      state.signInReason = "signedOut";
      state.message = null;
    },
    /** Try the hub without a token (it may have auth off after all). */
    signInSkipped(state) {
      state.signInReason = null;
      state.message = null;
    },
    signInRequired(
      state,
      { payload }: PayloadAction<{ reason: "unauthorized" | "expired"; message: string }>,
    ) {
      state.token = null;
      state.signInReason = payload.reason;
      state.message = payload.message;
    },
  },
  selectors: {
    selectToken: (auth) => auth.token,
    selectSignInReason: (auth) => auth.signInReason,
    selectAuthMessage: (auth) => auth.message,
  },
});

export const { tokenSubmitted, signedOut, signInSkipped, signInRequired } = authSlice.actions;
export const { selectToken, selectSignInReason, selectAuthMessage } = authSlice.selectors;
