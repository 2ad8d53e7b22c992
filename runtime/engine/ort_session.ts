/**
 * The part of every engine that is the same across ONNX Runtime packages: an
 * {@linkcode Engine} over one package's `InferenceSession`, checking feeds against the graph
 * before ORT sees them, converting tensors without copies, and rewrapping ORT's errors into
 * {@linkcode EngineError}s that name the engine, the model and the input.
 *
 * The three engine files only choose the package, the execution providers and the
 * process-wide settings.
 *
 * @example
 * ```ts
 * import * as ort from "onnxruntime-web";
 * import { OrtEngine } from "./ort_session.ts";
 * const engine = new OrtEngine("wasm", ort, { executionProviders: ["wasm"] });
 * const s = await engine.load(Deno.readFileSync("tests/fixtures/models/pneumonia_cnn.onnx"));
 * console.log(s.inputs); // [{ name: "image", dtype: "float32", shape: ["N", 1, 28, 28] }]
 * await engine.dispose();
 * ```
 * @module
 */

import type {
  InferenceSession as OrtInferenceSession,
  Tensor as OrtTensor,
} from "onnxruntime-common";
import { sizeOf, type Tensor } from "../../models/tensor.ts";
import type { Engine, EngineName, LoadOptions, Session, ValueInfo } from "./engine_types.ts";
import { causeMessage, EngineError } from "./engine_error.ts";
import { fromOrtTensor, type OrtTensorConstructor, toOrtTensor } from "./ort_tensor.ts";

/** The two values every ONNX Runtime JavaScript package exports that an engine needs. */
export interface OrtModule {
  /** `ort.InferenceSession` */
  readonly InferenceSession: {
    create(
      buffer: Uint8Array,
      options?: OrtInferenceSession.SessionOptions,
    ): Promise<OrtInferenceSession>;
  };
  /** `ort.Tensor` */
  readonly Tensor: OrtTensorConstructor;
}

/**
 * A hook an engine may give to explain a load failure better than ORT does (e.g. a missing
 * CUDA provider library). Returns `undefined` to keep the default `MODEL_INVALID` error.
 */
export type LoadFailureExplainer = (cause: unknown, modelName: string) => EngineError | undefined;

/** What differs between packages beyond session options. */
export interface OrtEngineQuirks {
  /** Turns a load failure into a clearer error (e.g. a missing CUDA provider library). */
  explain?: LoadFailureExplainer;
  /** Feed float16 as `Uint16Array` rather than `Float16Array` (onnxruntime-node). */
  float16Bits?: boolean;
  /**
   * Adapts a model before ONNX Runtime sees it (a workaround for a runtime bug); may throw an
   * {@linkcode EngineError} for a model this engine cannot run safely.
   */
  prepare?: (model: Uint8Array, modelName: string) => Uint8Array;
}

/**
 * An {@linkcode Engine} over one ONNX Runtime package.
 *
 * @example
 * ```ts
 * import * as ort from "onnxruntime-node";
 * import { OrtEngine } from "./ort_session.ts";
 * const engine = new OrtEngine("native", ort, { executionProviders: ["cpu"] });
 * await engine.dispose();
 * ```
 */
export class OrtEngine implements Engine {
  readonly name: EngineName;
  #ort: OrtModule;
  #options: OrtInferenceSession.SessionOptions;
  #quirks: OrtEngineQuirks;
  #sessions = new Set<OrtSession>();
  #disposed = false;

  /**
   * @param name the engine name, for messages
   * @param ort the package's module namespace
   * @param options session options; `graphOptimizationLevel` defaults to `"all"`
   * @param quirks what this package needs beyond session options
   */
  constructor(
    name: EngineName,
    ort: OrtModule,
    options: OrtInferenceSession.SessionOptions,
    quirks: OrtEngineQuirks = {},
  ) {
    this.name = name;
    this.#ort = ort;
    this.#options = { graphOptimizationLevel: "all", ...options };
    this.#quirks = quirks;
  }

  async load(model: Uint8Array, opts: LoadOptions = {}): Promise<Session> {
    if (!(model instanceof Uint8Array)) {
      throw new TypeError(
        `model must be the ONNX bytes as a Uint8Array, got ${
          Object.prototype.toString.call(model)
        }`,
      );
    }
    const modelName = opts.name ?? `model (${model.byteLength} bytes)`;
    if (this.#disposed) {
      throw new EngineError(
        "DISPOSED",
        `cannot load ${modelName}: the ${this.name} engine was disposed`,
      );
    }
    if (model.byteLength === 0) {
      throw new EngineError(
        "MODEL_INVALID",
        `cannot load ${modelName} on the ${this.name} engine: the model bytes are empty`,
      );
    }
    if (this.#quirks.prepare) model = this.#quirks.prepare(model, modelName);
    let inner: OrtInferenceSession;
    // onnxruntime-web's Emscripten glue sees Deno's `process.versions.node` and, when its
    // module first initialises (inside the first `create`), sets `global.Worker =
    // worker_threads.Worker` so its pthreads are node workers. That would leave every later
    // `new Worker(url, { type: "module" })` in this process a node worker without
    // addEventListener, whose messages never arrive. Its thread pool (numThreads - 1 workers)
    // is spawned during that same initialisation, so Deno's Worker is put back afterwards.
    const webWorker = globalThis.Worker;
    try {
      inner = await this.#ort.InferenceSession.create(model, this.#options);
    } catch (e) {
      const explained = this.#quirks.explain?.(e, modelName);
      if (explained) throw explained;
      if (/no available backend found/.test(causeMessage(e))) {
        // onnxruntime-common's wording when the backend itself failed to initialise.
        throw new EngineError(
          "ENGINE_UNAVAILABLE",
          `the ${this.name} runtime could not start while loading ${modelName}: ${causeMessage(e)}`,
          { cause: e },
        );
      }
      throw new EngineError(
        "MODEL_INVALID",
        `cannot load ${modelName} on the ${this.name} engine: ${causeMessage(e)}`,
        { cause: e },
      );
    } finally {
      if (globalThis.Worker !== webWorker) globalThis.Worker = webWorker;
    }
    const session = new OrtSession(
      this.name,
      modelName,
      inner,
      (t) => toOrtTensor(this.#ort.Tensor, t, this.#quirks.float16Bits),
      () => this.#sessions.delete(session),
    );
    this.#sessions.add(session);
    return session;
  }

  async dispose(): Promise<void> {
    this.#disposed = true;
    const open = [...this.#sessions];
    this.#sessions.clear();
    await Promise.all(open.map((s) => s.release()));
  }
}

function valueInfo(m: OrtInferenceSession.ValueMetadata): ValueInfo {
  if (!m.isTensor) return { name: m.name, dtype: "non-tensor", shape: [] };
  return { name: m.name, dtype: m.type, shape: [...m.shape] };
}

function shapeText(shape: readonly (number | string)[]): string {
  return `[${shape.join(", ")}]`;
}

/**
 * A loaded model on one ONNX Runtime package; made by {@linkcode OrtEngine.load}.
 *
 * @example
 * ```ts
 * import * as ort from "onnxruntime-web";
 * import { OrtEngine } from "./ort_session.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const engine = new OrtEngine("wasm", ort, { executionProviders: ["wasm"] });
 * const s = await engine.load(Deno.readFileSync("tests/fixtures/models/pneumonia_cnn.onnx"), { name: "cnn" });
 * await s.run({ image: tensor("float32", [1, 1, 28, 28]) }).catch(console.error);
 * await engine.dispose();
 * ```
 */
export class OrtSession implements Session {
  readonly engine: EngineName;
  readonly name: string;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  #inner: OrtInferenceSession | undefined;
  #toOrt: (t: Tensor) => OrtTensor;
  #onRelease: () => void;

  /**
   * @param engine the engine name, for messages
   * @param name the model name, for messages
   * @param inner the ORT session
   * @param toOrt wraps a feed as a tensor of the same package as `inner`
   * @param onRelease called once when released
   */
  constructor(
    engine: EngineName,
    name: string,
    inner: OrtInferenceSession,
    toOrt: (t: Tensor) => OrtTensor,
    onRelease: () => void,
  ) {
    this.engine = engine;
    this.name = name;
    this.#inner = inner;
    this.#toOrt = toOrt;
    this.#onRelease = onRelease;
    this.inputNames = [...inner.inputNames];
    this.outputNames = [...inner.outputNames];
    this.inputs = inner.inputMetadata.map(valueInfo);
    this.outputs = inner.outputMetadata.map(valueInfo);
  }

  async run(
    feeds: Readonly<Record<string, Tensor>>,
    outputs?: readonly string[],
  ): Promise<Record<string, Tensor>> {
    const inner = this.#inner;
    const where = `${this.name} on the ${this.engine} engine`;
    if (!inner) throw new EngineError("DISPOSED", `cannot run ${where}: the session was released`);
    const ortFeeds: Record<string, OrtTensor> = {};
    for (const key of Object.keys(feeds)) {
      if (!this.inputNames.includes(key)) {
        throw new EngineError(
          "INPUT_UNKNOWN",
          `${where}: feed '${key}' is not a graph input; inputs are ${
            this.inputNames.map((n) => `'${n}'`).join(", ")
          }`,
        );
      }
    }
    for (const info of this.inputs) {
      const t = feeds[info.name];
      if (t === undefined) {
        throw new EngineError(
          "INPUT_MISSING",
          `${where}: input '${info.name}' is missing from feeds (expected ${info.dtype} ${
            shapeText(info.shape)
          })`,
        );
      }
      this.#checkFeed(where, info, t);
      ortFeeds[info.name] = this.#toOrt(t);
    }
    const fetches = outputs === undefined ? this.outputNames : [...outputs];
    for (const o of fetches) {
      if (!this.outputNames.includes(o)) {
        throw new EngineError(
          "OUTPUT_UNKNOWN",
          `${where}: '${o}' is not a graph output; outputs are ${
            this.outputNames.map((n) => `'${n}'`).join(", ")
          }`,
        );
      }
    }
    let result: OrtInferenceSession.ReturnType;
    try {
      result = await inner.run(ortFeeds, fetches);
    } catch (e) {
      throw new EngineError("RUN_FAILED", `${where}: run failed: ${causeMessage(e)}`, { cause: e });
    }
    const out: Record<string, Tensor> = {};
    for (const o of fetches) out[o] = fromOrtTensor(result[o], o);
    return out;
  }

  /** Checks a feed against the graph input so ORT's terser errors are never the user's clue. */
  #checkFeed(where: string, info: ValueInfo, t: Tensor): void {
    if (t.dtype !== info.dtype) {
      throw new EngineError(
        "INPUT_DTYPE",
        `${where}: input '${info.name}' has dtype ${t.dtype}, expected ${info.dtype}`,
      );
    }
    let n: number;
    try {
      n = sizeOf(t.dims);
    } catch (e) {
      throw new EngineError("INPUT_SHAPE", `${where}: input '${info.name}': ${causeMessage(e)}`, {
        cause: e,
      });
    }
    if (t.data.length !== n) {
      throw new EngineError(
        "INPUT_SHAPE",
        `${where}: input '${info.name}' has ${t.data.length} elements but dims ${
          shapeText(t.dims)
        } need ${n}`,
      );
    }
    // ORT reports [] both for scalars and for undeclared shapes, so only a declared rank is checked.
    if (info.shape.length === 0) return;
    const fixedMismatch = info.shape.some((d, i) => typeof d === "number" && d !== t.dims[i]);
    if (t.dims.length !== info.shape.length || fixedMismatch) {
      throw new EngineError(
        "INPUT_SHAPE",
        `${where}: input '${info.name}' has dims ${shapeText(t.dims)}, expected ${
          shapeText(info.shape)
        }`,
      );
    }
  }

  async release(): Promise<void> {
    const inner = this.#inner;
    if (!inner) return;
    this.#inner = undefined;
    this.#onRelease();
    await inner.release();
  }
}
