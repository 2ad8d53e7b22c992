import assert from "node:assert/strict";
import fc from "fast-check";
import {
  cutNoiseAccount,
  gaussianRdp,
  PrivacyBudgetError,
  RdpAccountant,
  rdpToDp,
  sampledGaussianRdp,
} from "../../../runtime/privacy/rdp_accountant.ts";
import { accountOfTurns, checkBudget, describeAccount, privacyAccount } from "../../../runtime/privacy/privacy_budget.ts";

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

// Standard normal CDF through erf (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7), for the exact
// (ε, δ) of the Gaussian mechanism (Balle & Wang, ICML 2018, Theorem 8).
function phi(x: number): number {
  const z = Math.abs(x) / Math.SQRT2, t = 1 / (1 + 0.3275911 * z);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return x >= 0 ? (1 + y) / 2 : (1 - y) / 2;
}
function exactGaussianEpsilon(sigma: number, delta: number): number {
  const d = (eps: number) => phi(-eps * sigma + 1 / (2 * sigma)) - Math.exp(eps) * phi(-eps * sigma - 1 / (2 * sigma));
  let lo = 0, hi = 100;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (d(mid) > delta) lo = mid;
    else hi = mid;
  }
  return hi;
}

Deno.test("RDP of the Gaussian mechanism is α/(2σ²) (Mironov 2017, Prop. 7)", () => {
  for (const [a, s] of [[2, 1], [10, 1], [32, 4], [1.5, 0.5]]) close(gaussianRdp(a, s), a / (2 * s * s), 1e-15, `α ${a} σ ${s}`);
  assert.throws(() => gaussianRdp(1, 1), PrivacyBudgetError);
  assert.throws(() => gaussianRdp(2, 0), /σ must be a finite number > 0/);
});

Deno.test("sampled Gaussian RDP: closed forms at α = 2 and 3 (Mironov, Talwar & Zhang 2019), and q = 1 is the Gaussian", () => {
  for (const [q, s] of [[0.01, 1], [0.1, 2], [0.5, 0.8], [0.004, 1.1]]) {
    // A_2 = (1−q)² + 2q(1−q) + q²e^{1/σ²} = 1 + q²(e^{1/σ²} − 1); ε(2) = log A_2.
    close(sampledGaussianRdp(2, q, s), Math.log(1 + q * q * (Math.exp(1 / (s * s)) - 1)), 1e-12, `α 2 q ${q} σ ${s}`);
    // A_3 = (1−q)³ + 3q(1−q)² + 3q²(1−q)e^{1/σ²} + q³e^{3/σ²}; ε(3) = log(A_3)/2.
    const a3 = (1 - q) ** 3 + 3 * q * (1 - q) ** 2 + 3 * q * q * (1 - q) * Math.exp(1 / (s * s)) + q ** 3 * Math.exp(3 / (s * s));
    close(sampledGaussianRdp(3, q, s), Math.log(a3) / 2, 1e-12, `α 3 q ${q} σ ${s}`);
  }
  fc.assert(fc.property(fc.integer({ min: 2, max: 64 }), fc.double({ min: 0.3, max: 10, noNaN: true }), (a, s) => {
    close(sampledGaussianRdp(a, 1, s), a / (2 * s * s), 1e-12, "q = 1");
    // Subsampling never hurts, and ε(α) grows with q.
    return sampledGaussianRdp(a, 0.05, s) <= sampledGaussianRdp(a, 0.2, s) + 1e-12 && sampledGaussianRdp(a, 0.2, s) <= a / (2 * s * s) + 1e-9;
  }));
  assert.equal(sampledGaussianRdp(8, 0, 1), 0);
  assert.throws(() => sampledGaussianRdp(2.5, 0.1, 1), /integer order/);
});

Deno.test("RDP → (ε, δ): Mironov 2017 Prop. 3 and Balle et al. 2020 Thm. 21 at one order; bounds the exact Gaussian ε", () => {
  // One order: min(0.5 + log(1e5), 0.5 + log(1/2) − (log 1e-5 + log 2)).
  const one = rdpToDp([2], [0.5], 1e-5);
  close(one.epsilon, Math.min(0.5 + Math.log(1e5), 0.5 + Math.log(0.5) - (Math.log(1e-5) + Math.log(2))), 1e-12, "one order");
  close(one.epsilon, 10.6267, 1e-4, "one order, numerically");
  for (const [sigma, delta] of [[1, 1e-5], [2, 1e-5], [5, 1e-6], [0.8, 1e-3]]) {
    const acc = new RdpAccountant();
    acc.addGaussian(sigma, 1, 1);
    const eps = acc.epsilon(delta).epsilon;
    // Mironov's bound minimised over a continuous α: 1/(2σ²) + √(2 log(1/δ))/σ.
    const mironov = 1 / (2 * sigma * sigma) + Math.sqrt(2 * Math.log(1 / delta)) / sigma;
    assert.ok(eps <= mironov * 1.02, `σ ${sigma}: ${eps} above Mironov's ${mironov}`);
    // No RDP conversion can beat the exact privacy profile of the Gaussian mechanism.
    const exact = exactGaussianEpsilon(sigma, delta);
    assert.ok(eps >= exact - 1e-6, `σ ${sigma}: ${eps} below the exact ${exact}`);
    assert.ok(eps <= exact * 1.6, `σ ${sigma}: ${eps} far above the exact ${exact}`);
  }
  assert.throws(() => rdpToDp([2], [1], 0), /δ must be in \(0, 1\)/);
});

Deno.test("composition adds RDP: k runs at σ equal one run at σ/√k", () => {
  const a = new RdpAccountant(), b = new RdpAccountant();
  a.addGaussian(3, 1, 9);
  b.addGaussian(1, 1, 1);
  close(a.epsilon(1e-5).epsilon, b.epsilon(1e-5).epsilon, 1e-9, "9 × σ=3 vs σ=1");
  // The cut noise: multiplier σ/2 per epoch (substitution moves a clipped row by 2C).
  const c = new RdpAccountant();
  c.addGaussian(0.5, 1, 3);
  close(cutNoiseAccount(1, 3, 1e-5).epsilon, c.epsilon(1e-5).epsilon, 1e-12, "cut noise");
  assert.equal(cutNoiseAccount(1, 0, 1e-5).epsilon, 0);
  assert.equal(cutNoiseAccount(0, 1, 1e-5).epsilon, Infinity);
});

Deno.test("privacy budget: the account per defence, and the epoch that would overspend is refused", () => {
  const d = { noise: { clip: 20, sigma: 4 }, budget: { epsilon: 5, delta: 1e-5 } };
  const e1 = privacyAccount(d, 1).features!.epsilon, e3 = privacyAccount(d, 3).features!.epsilon;
  assert.ok(e1 < e3, `${e1} < ${e3}`);
  let last = 0;
  for (let e = 1; e <= 50; e++) {
    try {
      checkBudget(d, e);
      last = e;
    } catch (err) {
      assert.ok(err instanceof PrivacyBudgetError && err.code === "BUDGET_SPENT");
      assert.match(err.message, new RegExp(`epoch ${e} would bring the cut noise to ε = [0-9.]+ at δ = 0.00001, over the budget ε = 5`));
      break;
    }
  }
  assert.ok(last >= 1 && last < 50, `stopped after ${last} epochs`);
  assert.ok(privacyAccount(d, last).features!.epsilon <= 5 && privacyAccount(d, last + 1).features!.epsilon > 5);
  assert.throws(() => checkBudget({ labelDefence: { kind: "rr", epsilon: 2 }, budget: { epsilon: 1, delta: 1e-5 } }, 1), /label-DP ε = 2 is over the budget ε = 1/);
  assert.deepEqual(privacyAccount({ labelDefence: { kind: "marvell", scale: 1 } }, 2).notAccounted, ["marvell"]);
  // A gateway run: 3 turns at 2 turns an epoch = 2 epochs started.
  assert.equal(accountOfTurns(d, 3, 2).features!.epsilon, privacyAccount(d, 2).features!.epsilon);
  assert.equal(describeAccount(privacyAccount({ noise: { clip: 1, sigma: 4 } }, 2)), "features ε = 3.19 at δ = 0.00001");
});
