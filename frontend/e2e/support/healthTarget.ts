/**
 * A tiny HTTP service for the hub's probes to check: `GET /health` answers with the status
 * the test sets (200 until told otherwise), on 127.0.0.1 and a free port.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export class HealthTarget {
  /** The status `/health` answers with now. */
  status = 200;
  /** How many checks reached `/health`. */
  checks = 0;

  private constructor(private readonly server: Server) {}

  static async start(): Promise<HealthTarget> {
    const target: HealthTarget = new HealthTarget(
      createServer((request, response) => {
        if (request.url !== "/health") {
          response.writeHead(404).end();
          return;
        }
        target.checks += 1;
        response
          .writeHead(target.status, { "Content-Type": "text/plain" })
          .end(target.status < 400 ? "ok" : "failing");
      }),
    );
    await new Promise<void>((listening) => target.server.listen(0, "127.0.0.1", listening));
    return target;
  }

  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${String(port)}/health`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((closed) => this.server.close(closed));
  }
}
