// @ts-check
import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import tseslint from "typescript-eslint";

/** Untyped hooks lose RootState and AppDispatch: use app/hooks.ts (the RTK template's rule). */
const untypedReduxHooks = {
  name: "react-redux",
  importNames: ["useSelector", "useDispatch", "useStore"],
  message: "Use useAppSelector / useAppDispatch / useAppStore from app/hooks.ts.",
};

/** The socket belongs to hub/hubMiddleware.ts alone: components dispatch intents instead. */
const socketFromComponents = {
  group: ["**/hub/connection", "**/hub/connection.ts"],
  message: "Components never touch the socket: dispatch an intent (hub/hubSlice.ts) instead.",
};

export default defineConfig(
  { ignores: ["dist", "node_modules", "e2e/artifacts"] },
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/consistent-type-definitions": ["error", "interface"],
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: false }],
    },
  },
  {
    files: ["src/**/*.{ts,tsx}"],
    languageOptions: { globals: globals.browser },
    plugins: { "react-hooks": reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      "no-restricted-imports": ["error", { paths: [untypedReduxHooks] }],
    },
  },
  {
    // Components and feature code: neither untyped hooks nor the socket.
    files: ["src/**/*.tsx", "src/features/**/*.ts", "src/common/**/*.ts"],
    // Test helpers build the store with a fake socket; they render, but are no components.
    ignores: ["src/test/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        { paths: [untypedReduxHooks], patterns: [socketFromComponents] },
      ],
    },
  },
  {
    files: ["src/app/hooks.ts"],
    rules: { "no-restricted-imports": "off" },
  },
  {
    // This file is plain JavaScript outside every tsconfig: lint it without types.
    files: ["**/*.js"],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    files: ["*.{js,ts}", "e2e/**/*.ts", "test/**/*.ts"],
    languageOptions: { globals: globals.node },
  },
  {
    files: ["**/*.test.{ts,tsx}", "src/test/**"],
    rules: {
      // Assertions on values the test itself just built.
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
);
