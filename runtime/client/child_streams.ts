/**
 * The launcher's plumbing between a clinic's (or a vertical party's) two child processes: the
 * byte relay from one process's stdout to the other's stdin, seen on the way for traffic
 * counts, and the line reader of a child's stderr.
 *
 * @example
 * ```ts
 * import { lines, tap } from "./child_streams.ts";
 * // await Promise.all([tap(raw.stdout, courier.stdin), lines(raw.stderr, console.error)]);
 * ```
 * @module
 */

/**
 * Calls `onLine` for every line of `stream` (the last one too when it has no newline).
 *
 * @example
 * ```ts
 * import { lines } from "./child_streams.ts";
 * const got: string[] = [];
 * await lines(ReadableStream.from([new TextEncoder().encode("a\nb")]), (l) => got.push(l));
 * console.log(got); // ["a", "b"]
 * ```
 */
export async function lines(stream: ReadableStream<Uint8Array>, onLine: (l: string) => void): Promise<void> {
  let partial = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const ls = (partial + text).split("\n");
    partial = ls.pop()!;
    for (const l of ls) onLine(l);
  }
  if (partial) onLine(partial);
}

/**
 * Pipes `from` into `to`, showing each chunk to `see` on the way; a closed end ends the relay
 * quietly (the child's exit code tells what happened).
 *
 * @example
 * ```ts
 * import { tap } from "./child_streams.ts";
 * // await tap(raw.stdout, courier.stdin, (b) => bytes += b.length);
 * ```
 */
export function tap(
  from: ReadableStream<Uint8Array>,
  to: WritableStream<Uint8Array>,
  see?: (b: Uint8Array) => void,
): Promise<void> {
  const src = see
    ? from.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, ctl) {
        see(chunk);
        ctl.enqueue(chunk);
      },
    }))
    : from;
  return src.pipeTo(to).catch(() => {});
}
