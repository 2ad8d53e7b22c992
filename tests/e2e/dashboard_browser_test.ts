/**
 * A real headless Chromium opens `GET /dashboard` of a server that two
 * real clinics (sandboxed raw side + courier each) train with, receives live updates over
 * Server-Sent Events while steps arrive, shows each clinic's row and loss curve as the server
 * has them, and is photographed. Set SPLITGATE_DASHBOARD_SCREENSHOT=<file.png> to keep the
 * screenshot (docs/dashboard.png was made so).
 *
 * Ignored when no `chromium` is installed (`.ci/run` installs Debian's).
 */
import assert from "node:assert/strict";
import { launchClinic } from "../../runtime/client/launcher.ts";
import { CdpBrowser, chromiumPath } from "./cdp_browser.ts";
import { makeWorld, startInProcessServer } from "./split_harness.ts";

const CHROMIUM = chromiumPath();

interface PageRow {
  name: string;
  steps: number;
  state: string;
  points: number;
}

/** What the page shows: updates received, and per clinic row its steps, state and curve points. */
const READ_PAGE = `(() => document.getElementById("updates") === null ? { updates: 0, rows: [] } : ({
  updates: Number(document.getElementById("updates").textContent),
  rows: [...document.querySelectorAll("tr[data-clinic]")].map((tr) => {
    const name = tr.getAttribute("data-clinic");
    const path = [...document.querySelectorAll("#loss path[data-series]")].find((p) => p.getAttribute("data-series") === name);
    return { name, steps: Number(tr.querySelector(".steps").textContent), state: tr.querySelector(".state").textContent,
      points: path ? Number(path.getAttribute("data-points")) : 0 };
  }),
}))()`;

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() - t0 > ms) throw new Error(`${what}: still ${JSON.stringify(v)} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

Deno.test({
  name: "dashboard: headless Chromium follows two clinics' training live over SSE",
  ignore: CHROMIUM === null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const w = await makeWorld({ mode: "vanilla", n: 192, epochs: 2, batchSize: 8 });
    const server = await startInProcessServer(w, { dashboardIntervalMs: 150 });
    const browser = await CdpBrowser.launch(CHROMIUM!);
    const status = async () => (await (await fetch(`http://127.0.0.1:${w.port}/v1/status`)).json()) as { clinics: { name: string; steps: number }[]; finished: boolean };
    const page = () => browser.evaluate<{ updates: number; rows: PageRow[] }>(READ_PAGE);
    try {
      await browser.navigate(`http://127.0.0.1:${w.port}/dashboard`);
      const first = await until("first update", page, (p) => p.updates >= 1 && p.rows.length === 2);
      assert.deepEqual(first.rows.map((r) => [r.name, r.steps, r.state]), [["clinic-a", 0, "not connected"], ["clinic-b", 0, "not connected"]]);

      // Watch the page while the clinics train: it never shows more than the server has, and
      // it moves on as steps arrive (several different totals between none and all).
      let training = true;
      const seen = new Set<number>();
      const watch = (async () => {
        while (training) {
          const p = await page();
          const s = await status();
          for (const r of p.rows) {
            const server = s.clinics.find((c) => c.name === r.name)!.steps;
            assert.ok(r.steps <= server, `page shows ${r.steps} steps of ${r.name}, the server ${server}`);
          }
          seen.add(p.rows.reduce((a, r) => a + r.steps, 0));
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      try {
        await Promise.all(w.clientConfigs.map((c) => launchClinic(c, "train", { onLine: () => {}, pollMs: 20 })));
      } finally {
        training = false;
        await watch;
      }
      const final = await status();
      assert.ok(final.finished);
      const total = final.clinics.reduce((a, c) => a + c.steps, 0);
      const between = [...seen].filter((n) => n > 0 && n < total);
      assert.ok(between.length >= 2, `live totals seen ${JSON.stringify([...seen])} of ${total}: expected updates as steps arrived`);

      // Once the stream has caught up, the rows and curves are the server's.
      const last = await until("the page catches up", page, (p) =>
        p.rows.every((r) => r.steps === final.clinics.find((c) => c.name === r.name)!.steps && r.state === "done"));
      for (const r of last.rows) assert.equal(r.points, r.steps, `${r.name}: one curve point per step`);
      assert.ok(last.rows.every((r) => r.steps > 0));

      const png = await browser.screenshot();
      assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
      assert.ok(png.length > 20_000, `screenshot of ${png.length} bytes`);
      const keep = Deno.env.get("SPLITGATE_DASHBOARD_SCREENSHOT");
      await Deno.writeFile(keep ?? `${w.root}/dashboard.png`, png);
    } finally {
      await browser.close();
      await server.stop();
      await w.remove();
    }
  },
});
