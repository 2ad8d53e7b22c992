/**
 * The offline gateway bundle (`deno task bundle:gateway --out <file.tar.gz>`): one archive
 * that installs and runs a clinic gateway (and, for tests or a small site, the server on the
 * `wasm` engine) on a machine with no network access except to the server.
 *
 * ```
 * splitgate/splitgate        start script (deploy/bundle/splitgate): deno task of app/deno.json
 * splitgate/bin/deno         the Deno binary of the npm package deno@<version> (what npx runs)
 * splitgate/deno_dir/npm/…   Deno's npm cache with only the packages the entry points import
 * splitgate/app/             deno.json, deno.lock, mod.ts, models/, crypto/, runtime/
 * splitgate/deploy/          systemd units, container recipe, install notes
 * ```
 *
 * Left out, to keep the archive small: tests/, bench/, data/, docs/ (a clinic brings its own
 * data), onnxruntime-node (a Node-API addon of ~580 MB for every platform: the gateway's raw
 * side runs on onnxruntime-web's `wasm` engine, and a native-engine server is installed from
 * the repository, deploy/container/Containerfile), and of onnxruntime-web's `dist/` everything
 * but the files the `wasm` engine loads in Deno.
 *
 * @example
 * ```ts
 * import { buildGatewayBundle } from "./gateway_bundle.ts";
 * // const { bytes } = await buildGatewayBundle({ out: "/tmp/splitgate-gateway.tar.gz" });
 * ```
 * @module
 */
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The code that runs: copied into `app/`. */
export const BUNDLE_CODE = [
  "deno.json",
  "deno.lock",
  "mod.ts",
  "models",
  "crypto",
  "runtime",
] as const;

/**
 * The entry points whose module graphs decide which npm packages go into the cache: the
 * `server` and `client` tasks, and the two processes the client launcher spawns.
 */
export const BUNDLE_ENTRY_POINTS = [
  "runtime/cli/server_launch.ts",
  "runtime/cli/server.ts",
  "runtime/cli/client.ts",
  "runtime/cli/keygen.ts",
  "runtime/client/raw_side/main.ts",
  "runtime/client/courier_main.ts",
] as const;

/** npm packages imported by the graph but not bundled (see the module doc). */
export const BUNDLE_EXCLUDED_PACKAGES: ReadonlySet<string> = new Set(["onnxruntime-node"]);

/**
 * Of onnxruntime-web's `dist/`, the files Deno loads for `import "onnxruntime-web"` (the
 * package's `exports["."].node.import`) and the wasm engine's WebAssembly module and its
 * loader (`exports["./ort-wasm-simd-threaded.{wasm,mjs}"]`); the other 120 MB serve browsers,
 * WebGL, WebGPU (JSEP) and JSPI.
 */
export const ORT_WEB_DIST_KEEP: ReadonlySet<string> = new Set([
  "ort.node.min.mjs",
  "ort-wasm-simd-threaded.mjs",
  "ort-wasm-simd-threaded.wasm",
]);

/**
 * Options of {@linkcode buildGatewayBundle}.
 *
 * @example
 * ```ts
 * import type { BundleOptions } from "./gateway_bundle.ts";
 * const o: BundleOptions = { out: "splitgate-gateway.tar.gz" };
 * ```
 */
export interface BundleOptions {
  /** The archive to write (`.tar.gz`). */
  out: string;
  /** The Deno binary to ship (default: the one running, `Deno.execPath()`). */
  deno?: string;
  /** Each step, for the operator (default: nothing). */
  log?: (line: string) => void;
}

/** One npm package of Deno's cache, as `deno info --json` lists it. */
interface NpmPackage {
  name: string;
  version: string;
  dependencies: string[];
  localPath: string;
}

/**
 * Builds the archive; returns its size and the npm packages it holds.
 *
 * @throws {Error} naming the step that failed (`deno info`, a missing cache folder, `tar`)
 * @example
 * ```ts
 * import { buildGatewayBundle } from "./gateway_bundle.ts";
 * // const r = await buildGatewayBundle({ out: "gw.tar.gz", log: console.log });
 * // r.packages // ["@noble/ciphers@2.4.0", ..., "onnxruntime-web@1.30.0", ...]
 * ```
 */
export async function buildGatewayBundle(
  opts: BundleOptions,
): Promise<{ bytes: number; packages: string[] }> {
  const log = opts.log ?? (() => {});
  const deno = opts.deno ?? Deno.execPath();
  const stage = await Deno.makeTempDir({ prefix: "splitgate_bundle_" });
  try {
    const top = join(stage, "splitgate");
    await Deno.mkdir(join(top, "bin"), { recursive: true });
    await Deno.copyFile(deno, join(top, "bin", "deno"));
    await Deno.chmod(join(top, "bin", "deno"), 0o755);
    log(`deno: ${deno}`);
    for (const entry of BUNDLE_CODE) await copyTree(join(ROOT, entry), join(top, "app", entry));
    await copyTree(join(ROOT, "deploy"), join(top, "deploy"));
    await Deno.copyFile(join(ROOT, "deploy", "bundle", "splitgate"), join(top, "splitgate"));
    await Deno.chmod(join(top, "splitgate"), 0o755);
    const { npmCache, packages } = await npmPackagesOf(deno);
    for (const p of packages) {
      const rel = relative(npmCache, p.localPath);
      if (rel.startsWith("..")) {
        throw new Error(
          `npm package ${p.name}@${p.version}: ${p.localPath} is outside ${npmCache}`,
        );
      }
      const dest = join(top, "deno_dir", "npm", rel);
      await copyTree(
        p.localPath,
        dest,
        p.name === "onnxruntime-web" ? ortWebFilter(p.localPath) : notMarker,
      );
      // The package's registry metadata, which Deno reads to resolve versions.
      const meta = join(dirname(p.localPath), "registry.json");
      await Deno.copyFile(meta, join(dirname(dest), "registry.json")).catch(() => {});
    }
    // Deno caches every package its lockfile names before it runs anything, so the app's
    // deno.json and deno.lock may name only the bundled ones.
    const names = new Set(packages.map((p) => p.name));
    const app = join(top, "app");
    await Deno.writeTextFile(
      join(app, "deno.json"),
      trimConfig(await Deno.readTextFile(join(app, "deno.json")), names),
    );
    await Deno.writeTextFile(
      join(app, "deno.lock"),
      trimLock(await Deno.readTextFile(join(app, "deno.lock")), names),
    );
    log(
      `npm packages: ${packages.length} (${
        packages.map((p) => `${p.name}@${p.version}`).join(", ")
      })`,
    );
    await tar(stage, opts.out);
    const bytes = (await Deno.stat(opts.out)).size;
    log(`wrote ${opts.out} (${(bytes / 1e6).toFixed(1)} MB)`);
    return { bytes, packages: packages.map((p) => `${p.name}@${p.version}`) };
  } finally {
    await Deno.remove(stage, { recursive: true });
  }
}

/** The npm packages the entry points need (their dependency closure), minus the excluded. */
async function npmPackagesOf(deno: string): Promise<{ npmCache: string; packages: NpmPackage[] }> {
  const info = async (args: string[]) => {
    const out = await new Deno.Command(deno, {
      args: ["info", "--json", `--config=${join(ROOT, "deno.json")}`, ...args],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    if (!out.success) {
      const err = new TextDecoder().decode(out.stderr).trim().split("\n")[0];
      throw new Error(`deno info ${args.join(" ")}: ${err}`);
    }
    return JSON.parse(new TextDecoder().decode(out.stdout));
  };
  const npmCache: string = (await info([])).npmCache;
  const all = new Map<string, NpmPackage>();
  const roots = new Set<string>();
  for (const entry of BUNDLE_ENTRY_POINTS) {
    const graph = await info([join(ROOT, entry)]);
    for (const [id, p] of Object.entries(graph.npmPackages ?? {})) all.set(id, p as NpmPackage);
    for (const m of graph.modules ?? []) if (m.npmPackage) roots.add(m.npmPackage);
  }
  const keep = new Map<string, NpmPackage>();
  const visit = (id: string) => {
    const p = all.get(id);
    if (!p) throw new Error(`deno info: npm package ${id} is imported but not listed`);
    if (keep.has(id) || BUNDLE_EXCLUDED_PACKAGES.has(p.name)) return;
    keep.set(id, p);
    for (const d of p.dependencies) visit(d);
  };
  for (const id of roots) visit(id);
  return { npmCache, packages: [...keep.values()].sort((a, b) => a.name.localeCompare(b.name)) };
}

/** The npm package name of a specifier or lockfile key: `npm:/@a/b@1.0/x.js` → `@a/b`. */
export function npmPackageName(spec: string): string {
  const s = spec.replace(/^npm:\/?/, "");
  const at = s.indexOf("@", s.startsWith("@") ? 1 : 0);
  return at < 0 ? s.split("/")[0] : s.slice(0, at);
}

/** The bundle's deno.json: imports of bundled packages only, and the tasks an install runs. */
export function trimConfig(text: string, packages: ReadonlySet<string>): string {
  const c = JSON.parse(text);
  c.imports = Object.fromEntries(
    Object.entries(c.imports as Record<string, string>).filter(([, v]) =>
      !v.startsWith("npm:") || packages.has(npmPackageName(v))
    ),
  );
  c.tasks = Object.fromEntries(
    Object.entries(c.tasks as Record<string, string>).filter(([k]) => BUNDLE_TASKS.includes(k)),
  );
  return JSON.stringify(c, null, 2) + "\n";
}

/** The tasks the bundle's deno.json keeps (the others need tests/, bench/ or data/). */
export const BUNDLE_TASKS: readonly string[] = ["server", "client", "keygen"];

/** The bundle's deno.lock (format 5): entries of bundled packages only, integrity kept. */
export function trimLock(text: string, packages: ReadonlySet<string>): string {
  const l = JSON.parse(text);
  if (l.version !== "5") {
    throw new Error(`deno.lock: expected version "5", found ${JSON.stringify(l.version)}`);
  }
  const keep = (spec: string) => packages.has(npmPackageName(spec));
  l.specifiers = Object.fromEntries(Object.entries(l.specifiers ?? {}).filter(([k]) => keep(k)));
  l.npm = Object.fromEntries(Object.entries(l.npm ?? {}).filter(([k]) => keep(k)));
  if (l.workspace?.dependencies) l.workspace.dependencies = l.workspace.dependencies.filter(keep);
  return JSON.stringify(l, null, 2) + "\n";
}

function ortWebFilter(pkgDir: string): (path: string) => boolean {
  const dist = join(pkgDir, "dist");
  return (path) =>
    notMarker(path) && (dirname(path) !== dist || ORT_WEB_DIST_KEEP.has(basename(path)));
}

/** Deno's `.scripts-warned-<hash>` markers belong to the build machine's project paths. */
function notMarker(path: string): boolean {
  return !basename(path).startsWith(".scripts-warned-");
}

/** Copies a file or folder tree; `keep` may leave files out. Symlinks are copied as files. */
async function copyTree(from: string, to: string, keep?: (path: string) => boolean): Promise<void> {
  const st = await Deno.stat(from).catch((e) => {
    throw new Error(`bundle: ${from}: ${(e as Error).message}`);
  });
  if (st.isFile) {
    if (keep && !keep(from)) return;
    await Deno.mkdir(dirname(to), { recursive: true });
    await Deno.copyFile(from, to);
    return;
  }
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    await copyTree(join(from, e.name), join(to, e.name), keep);
  }
}

async function tar(stage: string, out: string): Promise<void> {
  const r = await new Deno.Command("tar", {
    // gzip -1: measured on this bundle, 57.0 MB in 9.8 s against 51.6 MB in 22.7 s at level 6.
    args: ["-cf", out, "-I", "gzip -1", "-C", stage, "--owner=0", "--group=0", "splitgate"],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!r.success) {
    throw new Error(`tar ${out}: ${new TextDecoder().decode(r.stderr).trim().split("\n")[0]}`);
  }
}
