/**
 * Sandbox probe: tries each capability the raw-data and courier processes must not (or must)
 * have, and prints one JSON object `{attempt: outcome}` on stdout, where outcome is `"ok"`,
 * `"NotCapable"` (Deno's permissions refused it) or the class name of another error.
 *
 * Usage: deno run <flags> capability_probe.ts '{"read": "<file>", "write": "<file>", "port": <n>}'
 * (`port`: a live local HTTP server, so a refused fetch is the permission and not the network.)
 * @module
 */
const { read, write, port } = JSON.parse(Deno.args[0]) as {
  read: string;
  write?: string;
  port: number;
};

async function attempt(f: () => Promise<unknown> | unknown): Promise<string> {
  try {
    const r = await f();
    if (r instanceof Response) await r.body?.cancel();
    if (r && typeof r === "object" && "close" in r && typeof r.close === "function") r.close();
    return "ok";
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) return "NotCapable";
    return e instanceof Error ? e.constructor.name : typeof e;
  }
}

const outcomes: Record<string, string> = {
  fetch: await attempt(() => fetch(`http://127.0.0.1:${port}/`)),
  connect: await attempt(() => Deno.connect({ hostname: "127.0.0.1", port })),
  connectPort1: await attempt(() => Deno.connect({ port: 1 })),
  listen: await attempt(() => Deno.listen({ hostname: "127.0.0.1", port: 0 })),
  resolveDns: await attempt(() => Deno.resolveDns("example.org", "A")),
  // an absolute path: a child of the launcher has no PATH to look a bare name up in
  command: await attempt(() => new Deno.Command("/bin/sh", { args: ["-c", "true"] }).output()),
  envGet: await attempt(() => Deno.env.get("HOME")),
  dlopen: await attempt(() => Deno.dlopen("libc.so.6", {})),
  sys: await attempt(() => Deno.hostname()),
  dynamicImport: await attempt(() => import(`http://127.0.0.1:${port}/x.js`)),
  read: await attempt(() => Deno.readFile(read)),
  write: write ? await attempt(() => Deno.writeTextFile(write, "x")) : "skipped",
};
console.log(JSON.stringify(outcomes));
