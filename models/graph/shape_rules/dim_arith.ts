/**
 * Integer arithmetic on tracked shape values that may be symbolic, so that the shape
 * computations PyTorch's exporter writes around a dynamic batch axis stay known: attention's
 * `(length, batch·heads, head size)` reshape (`Mul(N, heads)`), and `expand(n, -1, -1)`,
 * which exports as `Where(Equal(shape, -1), 1, shape) → Expand`.
 *
 * A symbolic dimension is a product of symbols and one numeric factor, written as `dims.ts`
 * writes products (`"N"`, `"N*16"`, symbols first, the number last). Mul multiplies such
 * products, Div cancels a factor that divides exactly, Add and Sub fold only with 0; anything
 * else is `undefined` (not known), never a guess. A dimension is never negative, so a symbol
 * compared with a negative number (PyTorch's `-1` "keep this axis") is known to differ.
 *
 * @example
 * ```ts
 * import { foldDims } from "./dim_arith.ts";
 * foldDims("Mul", "N", 2); // "N*2"
 * foldDims("Div", "N*16", 8); // "N*2"
 * foldDims("Equal", "N", -1); // 0
 * ```
 * @module
 */
import type { Dim } from "../ir.ts";
import { product } from "./dims.ts";

/**
 * A dimension split into its symbols (sorted, so equal products compare equal as strings)
 * and its numeric factor; `"N*2*3"` → `{ sym: ["N"], num: 6 }`.
 *
 * @example
 * ```ts
 * import { dimFactors } from "./dim_arith.ts";
 * dimFactors("N*2"); // { sym: ["N"], num: 2 }
 * ```
 */
export function dimFactors(d: Dim): { sym: string[]; num: number } {
  if (typeof d === "number") return { sym: [], num: d };
  const sym: string[] = [];
  let num = 1;
  for (const f of d.split("*")) /^-?\d+$/.test(f) ? (num *= Number(f)) : sym.push(f);
  return { sym: sym.sort(), num };
}

/** A product dimension back from its factors, in `dims.ts`'s canonical writing. */
const fromFactors = (sym: string[], num: number): Dim =>
  num === 0 ? 0 : product([...[...sym].sort(), num]);

/** `a · b` for products of symbols. A sum (`"a+b"`, from Concat) is left unknown. */
function mul(a: Dim, b: Dim): Dim | undefined {
  if (isSum(a) || isSum(b)) return undefined;
  const fa = dimFactors(a), fb = dimFactors(b);
  return fromFactors([...fa.sym, ...fb.sym], fa.num * fb.num);
}

/** `a / b` when every symbol of `b` cancels and the numeric parts divide exactly. */
function div(a: Dim, b: Dim): Dim | undefined {
  if (typeof a === "number" && typeof b === "number") {
    return b === 0 ? undefined : Math.trunc(a / b);
  }
  if (isSum(a) || isSum(b)) return undefined;
  const fa = dimFactors(a), fb = dimFactors(b);
  const rest = [...fa.sym];
  for (const s of fb.sym) {
    const i = rest.indexOf(s);
    if (i < 0) return undefined;
    rest.splice(i, 1);
  }
  if (fb.num === 0 || fa.num % fb.num !== 0) return undefined;
  return fromFactors(rest, fa.num / fb.num);
}

const isSum = (d: Dim) => typeof d === "string" && d.includes("+");

/**
 * Equal of two dimensions as 1 or 0: known when both are numbers, when both are the same
 * symbolic product, or when a symbolic dimension (≥ 0) meets a negative number.
 */
function equal(a: Dim, b: Dim): Dim | undefined {
  if (typeof a === "number" && typeof b === "number") return a === b ? 1 : 0;
  if (typeof a === "string" && typeof b === "string" && a === b) return 1;
  if ((typeof a === "number" && a < 0) || (typeof b === "number" && b < 0)) return 0;
  return undefined;
}

const FOLDS: Readonly<Record<string, (a: Dim, b: Dim) => Dim | undefined>> = {
  Add: (a, b) =>
    typeof a === "number" && typeof b === "number" ? a + b : b === 0 ? a : a === 0 ? b : undefined,
  Sub: (a, b) =>
    typeof a === "number" && typeof b === "number" ? a - b : b === 0 ? a : a === b ? 0 : undefined,
  Mul: mul,
  Div: div,
  Equal: equal,
};

/**
 * `a op b` for one pair of tracked dimensions; `undefined` when not known.
 *
 * @param op `Add`, `Sub`, `Mul`, `Div` (ONNX integer Div truncates) or `Equal` (1 or 0)
 * @example
 * ```ts
 * import { foldDims } from "./dim_arith.ts";
 * foldDims("Div", 7, 2); // 3
 * foldDims("Add", "N", 1); // undefined
 * ```
 */
export function foldDims(op: string, a: Dim, b: Dim): Dim | undefined {
  return FOLDS[op]?.(a, b);
}

/**
 * Elementwise `a op b` over two tracked value lists, a length-1 side broadcast (ONNX
 * multidirectional broadcasting of 1-D tensors); `undefined` when any element is not known.
 *
 * @example
 * ```ts
 * import { foldValues } from "./dim_arith.ts";
 * foldValues("Mul", ["N", 7], [2]); // ["N*2", 14]
 * foldValues("Equal", ["N", -1, -1], [-1]); // [0, 1, 1]
 * ```
 */
export function foldValues(op: string, a?: Dim[], b?: Dim[]): Dim[] | undefined {
  if (!a || !b || !FOLDS[op]) return undefined;
  if (a.length !== b.length && a.length !== 1 && b.length !== 1) return undefined;
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const v = foldDims(op, a[a.length === 1 ? 0 : i], b[b.length === 1 ? 0 : i]);
    if (v === undefined) return undefined;
    out.push(v);
  }
  return out;
}

/**
 * Where-16 over tracked values: `x` where the condition is non-zero, else `y`, each of
 * length 1 or the common length; `undefined` unless all three are known.
 *
 * @example
 * ```ts
 * import { whereValues } from "./dim_arith.ts";
 * whereValues([0, 1, 1], [1], ["N", -1, -1]); // ["N", 1, 1]
 * ```
 */
export function whereValues(c?: Dim[], x?: Dim[], y?: Dim[]): Dim[] | undefined {
  if (!c || !x || !y) return undefined;
  const n = Math.max(c.length, x.length, y.length);
  const at = (v: Dim[], i: number) => v[v.length === 1 ? 0 : i];
  if ([c, x, y].some((v) => v.length !== 1 && v.length !== n)) return undefined;
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const ci = at(c, i);
    if (typeof ci !== "number") return undefined;
    out.push(ci !== 0 ? at(x, i) : at(y, i));
  }
  return out;
}
