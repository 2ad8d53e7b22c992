/**
 * A request body that never finishes in time: the slow-body attack of the server tests and of
 * the soak test's adversary.
 * @module
 */

/** A body that announces a 1000-byte frame, then sends one byte every `everyMs`. */
export function trickle(everyMs: number): { body: ReadableStream<Uint8Array>; stop: () => void } {
  let timer: ReturnType<typeof setInterval> | undefined;
  let controller: ReadableStreamDefaultController<Uint8Array>;
  let open = true;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      c.enqueue(Uint8Array.of(0, 0, 0x03, 0xe8)); // u32 big-endian frame length 1000
      timer = setInterval(() => c.enqueue(Uint8Array.of(0)), everyMs);
    },
    cancel() {
      open = false;
      clearInterval(timer);
    },
  });
  return {
    body,
    stop() {
      clearInterval(timer);
      if (open) {
        open = false;
        try {
          controller.close();
        } catch { /* already errored by the aborted upload */ }
      }
    },
  };
}
