/**
 * The real hub binary as a child process: `fillstack serve --listen 127.0.0.1:PORT --data DIR`.
 * It is ready once it prints `listening on http://ADDR`; it is stopped by its PID (SIGTERM,
 * then SIGKILL), and can be killed outright and started again on the same port and data.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

const frontend = resolve(import.meta.dirname, "../..");

/** FILLSTACK_BIN, or the debug build next to the frontend. */
export const hubBinary = resolve(
  frontend,
  process.env.FILLSTACK_BIN ?? "../target/debug/fillstack",
);

const READY_WITHIN_MS = 30_000;

export interface HubOptions {
  /** Extra flags after `serve --listen ... --data ...`. */
  flags?: string[];
  env?: Record<string, string>;
}

export class HubProcess {
  readonly dataDir = mkdtempSync(join(tmpdir(), "fillstack-e2e-"));
  private child: ChildProcess | null = null;
  private stderrTail: string[] = [];
  /** `127.0.0.1:PORT`, known once started. */
  address = "";

  constructor(private readonly options: HubOptions = {}) {
    if (!existsSync(hubBinary)) {
      throw new Error(
        `the hub binary ${hubBinary} does not exist: build it (cargo build) or set FILLSTACK_BIN`,
      );
    }
  }

  get httpUrl() {
    return `http://${this.address}`;
  }

  /** Starts the hub (on `listen`, default a free port) and waits for its `listening on` line. */
  async start(listen = this.address || "127.0.0.1:0"): Promise<void> {
    const child = spawn(
      hubBinary,
      ["serve", "--listen", listen, "--data", this.dataDir, ...(this.options.flags ?? [])],
      { env: { ...process.env, ...this.options.env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    this.child = child;
    this.stderrTail = [];
    child.stderr.on("data", (chunk: Buffer) => {
      this.stderrTail = [...this.stderrTail, chunk.toString()].slice(-20);
    });
    this.address = await new Promise<string>((ready, fail) => {
      const timer = setTimeout(() => {
        fail(new Error(`the hub printed no "listening on" line within 30 s:\n${this.stderr()}`));
      }, READY_WITHIN_MS);
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        fail(
          new Error(
            `the hub exited (${String(code ?? signal)}) before listening:\n${this.stderr()}`,
          ),
        );
      });
      createInterface({ input: child.stdout }).on("line", (line) => {
        const match = /^listening on http:\/\/(\S+)$/.exec(line.trim());
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          ready(match[1]);
        }
      });
    });
  }

  stderr(): string {
    return this.stderrTail.join("");
  }

  /** Kills the hub with SIGKILL (a crash) and waits until the process is gone. */
  async kill(): Promise<void> {
    await this.signal("SIGKILL", 10_000);
  }

  /**
   * SIGTERM (the hub closes its sessions with 1001 and shuts down) and waits until the
   * process is gone; keeps the data directory, so `start(this.address)` brings the same hub
   * back on the same port.
   */
  async terminate(): Promise<void> {
    await this.signal("SIGTERM", 15_000);
  }

  /** SIGTERM, then SIGKILL after 10 s; removes the data directory. */
  async stop(): Promise<void> {
    try {
      await this.signal("SIGTERM", 10_000);
    } catch {
      await this.signal("SIGKILL", 5_000);
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  private async signal(signal: NodeJS.Signals, withinMs: number): Promise<void> {
    const child = this.child;
    if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((done, fail) => {
      const timer = setTimeout(() => {
        fail(new Error(`the hub did not exit within ${String(withinMs)} ms of ${signal}`));
      }, withinMs);
      child.once("exit", () => {
        clearTimeout(timer);
        done();
      });
    });
    process.kill(child.pid, signal);
    await exited;
    this.child = null;
  }
}
