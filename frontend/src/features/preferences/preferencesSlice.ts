/** The operator's display preferences, remembered across visits by `app/persistence.ts`. */
import { createSlice, type PayloadAction } from "@reduxjs/toolkit";

export type ThemeMode = "light" | "dark";

export interface PreferencesState {
  themeMode: ThemeMode;
}

const initialState: PreferencesState = { themeMode: "light" };

export const preferencesSlice = createSlice({
  name: "preferences",
  initialState,
  reducers: {
    themeModeChanged(state, { payload }: PayloadAction<ThemeMode>) {
      state.themeMode = payload;
    },
  },
  selectors: {
    selectThemeMode: (preferences) => preferences.themeMode,
  },
});

export const { themeModeChanged } = preferencesSlice.actions;
export const { selectThemeMode } = preferencesSlice.selectors;
