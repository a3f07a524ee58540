/* global window, btoa, URL -- runs in the page, not in Node */
/**
 * Page init script (`page.addInitScript({ path })`): wraps the page's WebSocket so a spec can
 * read every binary frame the SPA sent and received, and how each socket closed, per socket
 * (frames as base64, decoded in Node with @msgpack/msgpack), and can hold the SPA off the hub.
 *
 * While `hold` is true, a new socket asks the same origin for `HELD_PATH` instead of `/ws`:
 * a real connection attempt, allowed by the page's Content-Security-Policy (`connect-src
 * 'self'`), that fails in the browser's own way whether the hub is down (connection refused)
 * or up (no WebSocket there, so the handshake fails): the page sees an error and a close
 * (1006), as if the hub were still unreachable. (A socket to another port would break the
 * policy, and the browser would throw from `new WebSocket` instead of failing the attempt.)
 *
 * The recorder listens with `addEventListener`, beside the page's own `on...` handlers: it
 * neither swallows nor delays an event the SPA sees.
 */
(() => {
  const Native = window.WebSocket;
  const HELD_PATH = "/e2e-held-off";
  /**
   * sent, received: [socket, base64 of a binary frame]; closes: [socket, code, reason];
   * urls: [socket, the URL it asked for]; sockets: how many were made; hold: see above.
   */
  const wire = { sent: [], received: [], closes: [], urls: [], sockets: 0, hold: false };
  window.__fillstackWire = wire;

  const base64 = (data) => {
    const bytes =
      data instanceof ArrayBuffer
        ? new Uint8Array(data)
        : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    let text = "";
    for (let start = 0; start < bytes.length; start += 8192) {
      text += String.fromCharCode(...bytes.subarray(start, start + 8192));
    }
    return btoa(text);
  };

  const heldOff = (url) => {
    const held = new URL(String(url), window.location.href);
    held.pathname = HELD_PATH;
    return held.href;
  };

  class RecordedWebSocket extends Native {
    constructor(url, protocols) {
      const target = wire.hold ? heldOff(url) : String(url);
      super(target, protocols);
      const socketIndex = wire.sockets++;
      this.socketIndex = socketIndex;
      wire.urls.push([socketIndex, target]);
      this.addEventListener("message", ({ data }) => {
        if (typeof data !== "string") wire.received.push([socketIndex, base64(data)]);
      });
      this.addEventListener("close", ({ code, reason }) => {
        wire.closes.push([socketIndex, code, reason]);
      });
    }
    send(data) {
      if (typeof data !== "string") wire.sent.push([this.socketIndex, base64(data)]);
      super.send(data);
    }
  }
  window.WebSocket = RecordedWebSocket;
})();
