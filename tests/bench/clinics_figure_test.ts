import assert from "node:assert/strict";
import { clientsPerServer } from "../../bench/clinics.ts";

Deno.test("clientsPerServer: the largest clinic count whose step up raised throughput by 10 %, past a dip", () => {
  assert.equal(clientsPerServer([{ clinics: 1, samplesPerSec: 100 }, { clinics: 2, samplesPerSec: 190 }, { clinics: 4, samplesPerSec: 200 }]), 2);
  // bench:clinics --quick measured 112 -> 107 -> 192 samples/s at 2, 4, 8 clinics
  assert.equal(clientsPerServer([{ clinics: 8, samplesPerSec: 192 }, { clinics: 2, samplesPerSec: 112 }, { clinics: 4, samplesPerSec: 107 }]), 8);
  assert.equal(clientsPerServer([{ clinics: 1, samplesPerSec: 100 }, { clinics: 2, samplesPerSec: 105 }]), 1);
  assert.equal(clientsPerServer([]), 0);
});
