/**
 * Library code the first page would load and never run, left out of the build. Each trim is
 * checked: when a library upgrade moves what it relies on, the build fails and says so, rather
 * than quietly shipping the code again (the script budget, `bundleBudget.ts`, would catch the
 * bytes; this names the cause).
 */
import type { Plugin } from "vite";

/**
 * MUI's theme code without its CSS-variables mode, which the dashboard does not use: its
 * theme is `createTheme({ palette, ... })` with neither `cssVariables` nor `colorSchemes`, so
 * `createTheme` returns `createThemeNoVars(...)` and `ThemeProvider` renders its no-vars
 * provider. Both still import the CSS-variables code (`createThemeWithVars`,
 * `CssVarsProvider`, the color-scheme script and storage), about 25 kB of the first page's
 * script that never runs. This plugin replaces those two imports with functions that throw,
 * so a theme that does ask for CSS variables fails loudly instead of rendering unstyled.
 *
 * Each replaced line must be found as written.
 */

interface Replacement {
  /** The end of the module's path under node_modules. */
  module: string;
  /** The import line, exactly as MUI writes it. */
  line: string;
  /** What stands in for it. */
  stub: string;
}

const unsupported = (name: string) =>
  `const ${name} = () => { throw new Error("MUI's CSS-variables mode is left out of this build (bundleTrims.ts): ${name} is not available"); };`;

export const REPLACEMENTS: readonly Replacement[] = [
  {
    module: "/@mui/material/styles/createTheme.mjs",
    line: 'import createThemeWithVars from "./createThemeWithVars.mjs";',
    stub: unsupported("createThemeWithVars"),
  },
  {
    module: "/@mui/material/styles/ThemeProvider.mjs",
    line: 'import { CssVarsProvider } from "./ThemeProviderWithVars.mjs";',
    stub: unsupported("CssVarsProvider"),
  },
];

/** `code` of module `id` with its replacement applied, or null when none applies to `id`. */
export function withoutCssVariables(id: string, code: string): string | null {
  const replacement = REPLACEMENTS.find(({ module }) => id.endsWith(module));
  if (replacement === undefined) return null;
  if (!code.includes(replacement.line)) {
    throw new Error(
      `muiWithoutCssVariables: ${replacement.module} no longer has the line \`${replacement.line}\`; update bundleTrims.ts for this MUI version`,
    );
  }
  return code.replace(replacement.line, replacement.stub);
}

export function muiWithoutCssVariables(): Plugin {
  const replaced = new Set<string>();
  return {
    name: "fillstack-mui-without-css-variables",
    apply: "build",
    buildStart() {
      replaced.clear();
    },
    transform(code, id) {
      const result = withoutCssVariables(id.split("?")[0] ?? id, code);
      if (result === null) return null;
      replaced.add(REPLACEMENTS.find(({ module }) => id.includes(module))?.module ?? id);
      return { code: result, map: null };
    },
    buildEnd(error) {
      if (error !== undefined) return;
      const missing = REPLACEMENTS.filter(({ module }) => !replaced.has(module));
      if (missing.length > 0) {
        this.error(
          `muiWithoutCssVariables: never saw ${missing.map(({ module }) => module).join(", ")}; update bundleTrims.ts for this MUI version`,
        );
      }
    },
  };
}

/**
 * Packages whose modules only define things, but which declare no `"sideEffects": false`, so
 * a bare `import "package"` keeps them: `@emotion/react` imports `hoist-non-react-statics`
 * that way (with its copy of `react-is`, about 3 kB) though only its unused `withTheme` calls
 * it. Marked free of side effects, they stay only where something uses them.
 */
export const SIDE_EFFECT_FREE = ["hoist-non-react-statics"] as const;

export function sideEffectFree(packages: readonly string[] = SIDE_EFFECT_FREE): Plugin {
  const seen = new Set<string>();
  return {
    name: "fillstack-side-effect-free",
    apply: "build",
    buildStart() {
      seen.clear();
    },
    transform(code, id) {
      const name = packages.find((pkg) => id.includes(`/node_modules/${pkg}/`));
      if (name === undefined) return null;
      seen.add(name);
      return { code, map: null, moduleSideEffects: false };
    },
    buildEnd(error) {
      if (error !== undefined) return;
      const unseen = packages.filter((pkg) => !seen.has(pkg));
      if (unseen.length > 0) {
        this.error(
          `sideEffectFree: no module of ${unseen.join(", ")} was bundled; drop it from bundleTrims.ts`,
        );
      }
    },
  };
}
