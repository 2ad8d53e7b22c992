/**
 * The raw-data side as a separate, sandboxed OS process: {@linkcode RawSideProcess} spawns
 * `main.ts` with exactly the permissions of {@linkcode rawSideFlags} and proxies the
 * {@linkcode RawSide} API to it over stdin/stdout frames. The records never leave that process;
 * what comes back over the pipe is what `RawSide` returns (activations, labels in vanilla
 * mode, head-input gradients, sealed weights).
 *
 * Besides the permission flags the command line holds `--cached-only` (the process may not
 * even fetch modules; everything it imports must already be in Deno's cache), `--no-remote`
 * (an `http(s):` or `jsr:` specifier is refused before any request, with or without
 * `--cached-only`), `--frozen` (a new `npm:` specifier cannot be added to `deno.lock`, a file of
 * the code folder) and `--config` (the import map of this repository's `deno.json`); none grants
 * a permission. Module loading is not governed by `--allow-net`, hence these flags and the
 * download sink of `child_env.ts` (docs/design/security_model.md). The process starts with a cleared
 * environment ({@linkcode childEnv}).
 *
 * @example
 * ```ts
 * import { RawSideProcess } from "./process.ts";
 * import type { RawSideProcessConfig } from "./config.ts";
 * async function firstActivation(config: RawSideProcessConfig) {
 *   const side = await RawSideProcess.start(config);
 *   try {
 *     return (await side.forward("1:0", 1, 0)).activation.dims;
 *   } finally {
 *     await side.close();
 *   }
 * }
 * ```
 * @module
 */
import { fileURLToPath } from "node:url";
import type { Tensor } from "../../../models/tensor.ts";
import type { RawSide, RawSideInfo, WeightsRecipient } from "./api.ts";
import type { RawSideProcessConfig } from "./config.ts";
import type { SecureFrontCall, SecureFrontResult } from "./secure_front.ts";
import { RawSideError } from "./error.ts";
import { rawSideFlags } from "./flags.ts";
import { RawSideStub, type RawSideStubOptions } from "./stub.ts";
import { childEnv } from "../child_env.ts";

export { rawSideFlags } from "./flags.ts";

/**
 * Options of {@linkcode RawSideProcess.start}.
 *
 * @example
 * ```ts
 * import type { RawSideProcessOptions } from "./process.ts";
 * const o: RawSideProcessOptions = { onStderr: (line) => console.error(`[clinic-a] ${line}`) };
 * ```
 */
export interface RawSideProcessOptions extends RawSideStubOptions {
  /** The deno executable (default `Deno.execPath()`). */
  denoPath?: string;
  /** Each line the process writes to stderr (default: copied to this process's stderr). */
  onStderr?: (line: string) => void;
  /** Pass `--cached-only` (default true; `--no-remote` and `--frozen` are always passed). */
  cachedOnly?: boolean;
  /** How long to wait for the process to load its data and model (default 120 s). */
  startTimeoutMs?: number;
}

const MAIN = new URL("./main.ts", import.meta.url);
const DENO_JSON = new URL("../../../deno.json", import.meta.url);

/**
 * The full argument list of the raw-side command (`deno <args>`), flags from
 * {@linkcode rawSideFlags}.
 *
 * @example
 * ```ts
 * import { rawSideCommandArgs } from "./process.ts";
 * const args = rawSideCommandArgs({ clinic: "a", dataFile: "/srv/a/records.npz", zoo: "cnn", cuts: [], mode: "vanilla",
 *   loss: "bce", optimizer: { kind: "sgd", lr: 0.1 }, seed: 0, batchSize: 8, wasmFile: "/ort.wasm" });
 * console.log(args.slice(0, 3)); // ["run", "--no-prompt", "--allow-read=/srv/a,/ort.wasm"]
 * ```
 */
export function rawSideCommandArgs(
  config: RawSideProcessConfig,
  opts: { cachedOnly?: boolean } = {},
): string[] {
  const args = ["run", ...rawSideFlags(config)];
  if (opts.cachedOnly ?? true) args.push("--cached-only");
  args.push("--no-remote", "--frozen");
  if (DENO_JSON.protocol === "file:") args.push(`--config=${fileURLToPath(DENO_JSON)}`);
  args.push(MAIN.protocol === "file:" ? fileURLToPath(MAIN) : MAIN.href, JSON.stringify(config));
  return args;
}

/**
 * A {@linkcode RawSide} running in its own sandboxed process.
 *
 * @example
 * ```ts
 * import { RawSideProcess } from "./process.ts";
 * import type { RawSideProcessConfig } from "./config.ts";
 * async function audited(config: RawSideProcessConfig, audit: (dir: string, b: Uint8Array) => void) {
 *   const side = await RawSideProcess.start(config, { onBytes: (dir, b) => audit(dir, b) });
 *   console.log((await side.info()).trainSize, side.pid);
 *   await side.close();
 * }
 * ```
 */
export class RawSideProcess implements RawSide {
  readonly #child: Deno.ChildProcess;
  readonly #stub: RawSideStub;
  readonly #exited: Promise<Deno.CommandStatus>;
  /** What the process announced when it became ready. */
  readonly startInfo: RawSideInfo;

  private constructor(
    child: Deno.ChildProcess,
    stub: RawSideStub,
    exited: Promise<Deno.CommandStatus>,
    info: RawSideInfo,
  ) {
    this.#child = child;
    this.#stub = stub;
    this.#exited = exited;
    this.startInfo = info;
  }

  /** The process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /**
   * Spawns the raw-data process and waits until it has loaded its records and model.
   *
   * @throws {RawSideError} `CLOSED` when the process exits before it is ready (the message
   *   holds the end of its stderr), or does not get ready within `startTimeoutMs`
   * @example
   * ```ts
   * import { RawSideProcess } from "./process.ts";
   * import type { RawSideProcessConfig } from "./config.ts";
   * function start(config: RawSideProcessConfig) { return RawSideProcess.start(config, { startTimeoutMs: 60_000 }); }
   * ```
   */
  static async start(
    config: RawSideProcessConfig,
    opts: RawSideProcessOptions = {},
  ): Promise<RawSideProcess> {
    const cmd = new Deno.Command(opts.denoPath ?? Deno.execPath(), {
      args: rawSideCommandArgs(config, opts),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      clearEnv: true,
      env: childEnv("rawSide"),
    });
    const child = cmd.spawn();
    let tail = "";
    const onLine = opts.onStderr ??
      ((line: string) => console.error(`[raw side ${config.clinic}] ${line}`));
    const stderrDone = (async () => {
      let partial = "";
      for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
        tail = (tail + text).slice(-2000);
        const lines = (partial + text).split("\n");
        partial = lines.pop()!;
        for (const l of lines) onLine(l);
      }
      if (partial) onLine(partial);
    })().catch(() => {});
    const stub = new RawSideStub(child.stdout, child.stdin, opts);
    const exited = child.status.then(async (s) => {
      await stderrDone;
      stub.abort(
        new RawSideError(
          "CLOSED",
          `raw-side process exited with code ${s.code}${s.signal ? ` (${s.signal})` : ""}`,
        ),
      );
      return s;
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const info = await Promise.race([
        // If the pipe ends first, wait for the exit status so the error can quote stderr.
        stub.ready.catch(async () => {
          const s = await exited;
          throw new RawSideError(
            "CLOSED",
            `raw-side process exited with code ${s.code} before it was ready: ${tail.trim()}`,
          );
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new RawSideError(
                  "CLOSED",
                  `raw-side process not ready after ${opts.startTimeoutMs ?? 120_000} ms`,
                ),
              ),
            opts.startTimeoutMs ?? 120_000,
          );
        }),
      ]);
      return new RawSideProcess(child, stub, exited, info);
    } catch (e) {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await exited;
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** {@inheritDoc RawSide.info} */
  info(): Promise<RawSideInfo> {
    return this.#stub.info();
  }
  /** {@inheritDoc RawSide.forward} */
  forward(
    stepId: string,
    epoch: number,
    batch: number,
    decoy?: boolean,
  ): Promise<{ activation: Tensor; labels?: Tensor }> {
    return this.#stub.forward(stepId, epoch, batch, decoy);
  }
  /** {@inheritDoc RawSide.head} */
  head(stepId: string, headInput: Tensor): Promise<{ loss: number; gradHeadInput: Tensor }> {
    return this.#stub.head(stepId, headInput);
  }
  /** {@inheritDoc RawSide.backward} */
  backward(stepId: string, cutGrad: Tensor): Promise<void> {
    return this.#stub.backward(stepId, cutGrad);
  }
  /** {@inheritDoc RawSide.evalForward} */
  evalForward(
    split: "val" | "test",
    batch: number,
  ): Promise<{ activation: Tensor; labels: Tensor }> {
    return this.#stub.evalForward(split, batch);
  }
  /** {@inheritDoc RawSide.evalHead} */
  evalHead(headInput: Tensor): Promise<Tensor> {
    return this.#stub.evalHead(headInput);
  }
  /** {@inheritDoc RawSide.checkpoint} */
  checkpoint(epoch: number): Promise<void> {
    return this.#stub.checkpoint(epoch);
  }
  /** {@inheritDoc RawSide.restore} */
  restore(): Promise<{ epoch: number } | null> {
    return this.#stub.restore();
  }
  /** {@inheritDoc RawSide.exportWeights} */
  exportWeights(to: WeightsRecipient, binding: { run: Uint8Array; epoch: number }): Promise<Uint8Array> {
    return this.#stub.exportWeights(to, binding);
  }
  /** {@inheritDoc RawSide.importWeights} */
  importWeights(
    sealed: Uint8Array,
    from: { run: Uint8Array; peers: ReadonlyMap<string, Uint8Array>; mix?: number },
  ): Promise<{ sender: string; epoch: number; seq: number }> {
    return this.#stub.importWeights(sealed, from);
  }

  /** {@inheritDoc RawSide.exportModel} */
  exportModel(serverWeights: Uint8Array): Promise<{ file: string; bytes: number }> {
    return this.#stub.exportModel(serverWeights);
  }

  /** {@inheritDoc RawSide.secureFront} */
  secureFront(call: SecureFrontCall): Promise<SecureFrontResult> {
    return this.#stub.secureFront(call);
  }

  /**
   * Closes the raw side, waits for the process to exit (killing it after 10 s) and returns its
   * exit status.
   */
  async close(): Promise<void> {
    await this.#stub.close();
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* already gone */ }
    }, 10_000);
    try {
      await this.#exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills the process at once (fault tests); waiting and later calls fail with `CLOSED`. */
  async kill(): Promise<Deno.CommandStatus> {
    try {
      this.#child.kill("SIGKILL");
    } catch { /* already gone */ }
    return await this.#exited;
  }
}
