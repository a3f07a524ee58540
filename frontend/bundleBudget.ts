/**
 * The first page's script budget, checked by every `vite build`: the entry chunk, the chunk
 * of the view the first page shows (lazily loaded, but always at once) and every chunk those
 * import statically, summed in bytes as written to dist/. Past the budget the build fails and
 * names the files, so a new import into the shell cannot quietly undo the split.
 */
import type { Plugin, Rollup } from "vite";

export interface ScriptSize {
  fileName: string;
  bytes: number;
}

/** The chunk shape the walk needs (a subset of Rollup's `OutputChunk`, so tests can build one). */
type Chunk = Pick<
  Rollup.OutputChunk,
  "fileName" | "code" | "imports" | "isEntry" | "isDynamicEntry" | "facadeModuleId"
>;

/**
 * The scripts the first page loads, largest first: the entry, the dynamic entry whose module
 * path ends with `firstView`, and what they import statically, transitively.
 */
export function firstPageScripts(chunks: readonly Chunk[], firstView: string): ScriptSize[] {
  const entry = chunks.find((chunk) => chunk.isEntry);
  const view = chunks.find(
    (chunk) => chunk.isDynamicEntry && chunk.facadeModuleId?.endsWith(firstView) === true,
  );
  if (entry === undefined) throw new Error("the bundle has no entry chunk");
  if (view === undefined) {
    throw new Error(`no lazily loaded chunk comes from ${firstView}: is the view still lazy?`);
  }
  return staticallyLoaded(chunks, [entry.fileName, view.fileName]);
}

/** The chunks `roots` name and every chunk they import statically, largest first. */
export function staticallyLoaded(chunks: readonly Chunk[], roots: readonly string[]): ScriptSize[] {
  const byFile = new Map(chunks.map((chunk) => [chunk.fileName, chunk]));
  const loaded = new Map<string, number>();
  const visit = (fileName: string) => {
    const chunk = byFile.get(fileName);
    if (chunk === undefined || loaded.has(fileName)) return;
    loaded.set(fileName, Buffer.byteLength(chunk.code, "utf8"));
    for (const imported of chunk.imports) visit(imported);
  };
  for (const root of roots) visit(root);
  return [...loaded]
    .map(([fileName, bytes]) => ({ fileName, bytes }))
    .sort((a, b) => b.bytes - a.bytes);
}

const sum = (scripts: readonly ScriptSize[]) =>
  scripts.reduce((total, script) => total + script.bytes, 0);

const kB = (bytes: number) => `${(bytes / 1000).toFixed(2)} kB`;

/** Fails the build when the first page's scripts pass `maxBytes` (1 kB = 1000 bytes). */
export function bundleBudget({
  maxBytes,
  firstView,
}: {
  maxBytes: number;
  firstView: string;
}): Plugin {
  return {
    name: "fillstack-bundle-budget",
    apply: "build",
    // Once written: Vite fills in its preload lists last, so the sizes are those of dist/.
    writeBundle(_options, bundle) {
      const chunks = Object.values(bundle).filter(
        (output): output is Rollup.OutputChunk => output.type === "chunk",
      );
      const scripts = firstPageScripts(chunks, firstView);
      const total = sum(scripts);
      const entry = chunks.find((chunk) => chunk.isEntry)?.fileName ?? "";
      const shell = sum(staticallyLoaded(chunks, [entry]));
      const lines = scripts.map(
        (script) => `  ${kB(script.bytes).padStart(10)}  ${script.fileName}`,
      );
      const report = [
        `first page (${firstView}) loads ${kB(total)} of script in ${String(scripts.length)} files (budget ${kB(maxBytes)}; entry and its static imports alone: ${kB(shell)}):`,
        ...lines,
      ].join("\n");
      if (total > maxBytes) this.error(`over the script budget: ${report}`);
      console.log(report);
    },
  };
}
