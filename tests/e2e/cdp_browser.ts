/**
 * A headless Chromium driven over the Chrome DevTools Protocol (chromedevtools.github.io/
 * devtools-protocol: `Page.navigate`, `Runtime.evaluate`, `Page.captureScreenshot`) through
 * a WebSocket from Deno: the system's `chromium` (Debian package `chromium`; `.ci/run`
 * installs it), never a downloaded browser. Started with `--remote-debugging-port=0`, it
 * prints `DevTools listening on ws://…` on stderr; the page target's socket comes from
 * `/json/list`.
 */

/** The browser binary, or null when none is installed (the tests that need it are then ignored). */
export function chromiumPath(): string | null {
  for (const p of ["/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch { /* not there */ }
  }
  return null;
}

/** A running headless browser with one page. */
export class CdpBrowser {
  #id = 0;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(readonly child: Deno.ChildProcess, readonly profileDir: string, readonly ws: WebSocket, readonly log: string[]) {
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data as string) as { id?: number; result?: unknown; error?: { message: string } };
      const p = m.id === undefined ? undefined : this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id!);
      if (m.error) p.reject(new Error(`CDP: ${m.error.message}`));
      else p.resolve(m.result);
    };
  }

  /** Starts the browser (window `width`×`height`) and connects to its page. */
  static async launch(binary: string, width = 1400, height = 1100): Promise<CdpBrowser> {
    const profileDir = await Deno.makeTempDir({ prefix: "splitgate_chromium_" });
    const child = new Deno.Command(binary, {
      args: [
        "--headless=new",
        // As root (CI containers) Chromium refuses its own sandbox; the page is our own.
        ...(Deno.uid?.() === 0 ? ["--no-sandbox"] : []),
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        `--user-data-dir=${profileDir}`,
        `--window-size=${width},${height}`,
        "about:blank",
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const log: string[] = [];
    const endpoint = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`chromium did not start: ${log.join("")}`)), 30_000);
      (async () => {
        for await (const t of child.stderr.pipeThrough(new TextDecoderStream())) {
          log.push(t);
          const m = /DevTools listening on (ws:\/\/\S+)/.exec(log.join(""));
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        }
      })().catch(() => {});
    });
    const port = new URL(endpoint).port;
    const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as { type: string; webSocketDebuggerUrl: string }[];
    const page = targets.find((t) => t.type === "page");
    if (!page) throw new Error(`chromium has no page target: ${JSON.stringify(targets)}`);
    const ws = new WebSocket(page.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error(`cannot connect to ${page.webSocketDebuggerUrl}`));
    });
    return new CdpBrowser(child, profileDir, ws, log);
  }

  /** Sends one CDP command and awaits its result. */
  send<T = Record<string, unknown>>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = ++this.#id;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Opens `url` in the page. */
  async navigate(url: string): Promise<void> {
    await this.send("Page.enable");
    await this.send("Page.navigate", { url });
  }

  /** Evaluates `expression` in the page; its value (JSON-serialisable). */
  async evaluate<T>(expression: string): Promise<T> {
    const r = await this.send<{ result: { value?: T }; exceptionDetails?: { text: string } }>("Runtime.evaluate", { expression, returnByValue: true });
    if (r.exceptionDetails) throw new Error(`page: ${r.exceptionDetails.text} in ${expression}`);
    return r.result.value as T;
  }

  /** A PNG of the whole page. */
  async screenshot(): Promise<Uint8Array> {
    const r = await this.send<{ data: string }>("Page.captureScreenshot", { format: "png", captureBeyondViewport: true });
    return Uint8Array.from(atob(r.data), (ch) => ch.charCodeAt(0));
  }

  /** Closes the page socket and the browser, and removes its profile. */
  async close(): Promise<void> {
    try {
      await Promise.race([this.send("Browser.close"), new Promise((r) => setTimeout(r, 2000))]);
    } catch { /* already gone */ }
    this.ws.close();
    try {
      this.child.kill("SIGKILL");
    } catch { /* exited */ }
    await this.child.status;
    await this.child.stderr.cancel().catch(() => {});
    await Deno.remove(this.profileDir, { recursive: true }).catch(() => {});
  }
}
