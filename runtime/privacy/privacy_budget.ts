/**
 * A clinic's privacy account as training goes, and its budget (`defence.budget`):
 *
 * - features: the cut noise (`defence.noise`) accounted by RDP (`rdp_accountant.ts`:
 *   Gaussian mechanism with multiplier σ/2 per record per epoch, substitution adjacency,
 *   converted at δ) — `null` without cut noise;
 * - labels: randomised response (`defence.labelDefence` `rr`) is ε-label-DP once for the whole
 *   run (each label drawn once) — `null` without it.
 *
 * Marvell, max-norm and NoPeek fit their perturbation to the data and have no ε: they are
 * reported as not accounted. The budget is checked before every epoch: an epoch whose ε (either
 * account) would exceed `budget.epsilon` does not start (`PrivacyBudgetError` `BUDGET_SPENT`
 * from {@linkcode checkBudget}; the trainer stops and records why).
 *
 * δ: the budget's δ, or {@linkcode DEFAULT_DELTA} when no budget is set.
 *
 * @example
 * ```ts
 * import { privacyAccount } from "./privacy_budget.ts";
 * privacyAccount({ labelDefence: { kind: "rr", epsilon: 1 } }, 3).labels?.epsilon; // 1
 * ```
 * @module
 */
import type { DefenceConfig } from "./defence_config.ts";
import { cutNoiseAccount, type DpGuarantee, PrivacyBudgetError } from "./rdp_accountant.ts";

/** δ at which ε is reported when the clinic sets no budget (1e-5). */
export const DEFAULT_DELTA = 1e-5;

/** What a clinic's training has spent after some epochs. */
export interface PrivacyAccount {
  epochs: number;
  /** (ε, δ) of the cut activations sent, or null without cut noise. */
  features: DpGuarantee | null;
  /** ε-label-DP of randomised response, or null without it. */
  labels: { epsilon: number } | null;
  /** Defences in force with no accounted ε. */
  notAccounted: string[];
  budget: { epsilon: number; delta: number } | null;
}

/**
 * The account of `defence` after `epochs` epochs.
 *
 * @example
 * ```ts
 * import { privacyAccount } from "./privacy_budget.ts";
 * privacyAccount({}, 5).features; // null
 * ```
 */
export function privacyAccount(defence: DefenceConfig, epochs: number): PrivacyAccount {
  const delta = defence.budget?.delta ?? DEFAULT_DELTA;
  const ld = defence.labelDefence;
  const notAccounted = [
    ...(ld && ld.kind !== "rr" ? [ld.kind] : []),
    ...(defence.nopeek && defence.nopeek.weight > 0 ? ["nopeek"] : []),
    ...(defence.labelProtection === "norm-equalise" ? ["norm-equalise"] : []),
  ];
  return {
    epochs,
    features: defence.noise ? cutNoiseAccount(defence.noise.sigma, epochs, delta) : null,
    labels: ld?.kind === "rr" ? { epsilon: ld.epsilon } : null,
    notAccounted,
    budget: defence.budget ?? null,
  };
}

/**
 * Throws when training `epochs` epochs would exceed the clinic's budget.
 *
 * @throws {PrivacyBudgetError} `BUDGET_SPENT` naming the ε reached and the budget
 * @example
 * ```ts
 * import { checkBudget } from "./privacy_budget.ts";
 * checkBudget({ budget: { epsilon: 2, delta: 1e-5 }, labelDefence: { kind: "rr", epsilon: 1 } }, 10); // ok
 * ```
 */
export function checkBudget(defence: DefenceConfig, epochs: number): void {
  const b = defence.budget;
  if (!b) return;
  const a = privacyAccount(defence, epochs);
  if (a.features && a.features.epsilon > b.epsilon) {
    throw new PrivacyBudgetError(
      "BUDGET_SPENT",
      `privacy budget spent: epoch ${epochs} would bring the cut noise to ε = ${a.features.epsilon.toFixed(3)} at δ = ${b.delta}, over the budget ε = ${b.epsilon}`,
    );
  }
  if (a.labels && a.labels.epsilon > b.epsilon) {
    throw new PrivacyBudgetError(
      "BUDGET_SPENT",
      `privacy budget spent: randomised response at label-DP ε = ${a.labels.epsilon} is over the budget ε = ${b.epsilon}`,
    );
  }
}

/**
 * One line for a log or table: "ε 3.21 (δ 1e-5) features; ε 1 labels".
 *
 * @example
 * ```ts
 * import { describeAccount, privacyAccount } from "./privacy_budget.ts";
 * describeAccount(privacyAccount({}, 1)); // "no accounted noise"
 * ```
 */
export function describeAccount(a: PrivacyAccount): string {
  const parts = [
    ...(a.features ? [`features ε = ${Number.isFinite(a.features.epsilon) ? a.features.epsilon.toFixed(2) : "∞"} at δ = ${a.features.delta}`] : []),
    ...(a.labels ? [`labels ε = ${a.labels.epsilon} (label DP, δ = 0)`] : []),
  ];
  const na = a.notAccounted.length ? `; not accounted: ${a.notAccounted.join(", ")}` : "";
  return (parts.length ? parts.join("; ") : "no accounted noise") + na;
}

/**
 * The account of a gateway clinic's finished run: `turns` completed turns at `turnsPerEpoch`
 * turns an epoch, a started epoch counted whole (its records may all have been sent).
 *
 * @example
 * ```ts
 * import { accountOfTurns } from "./privacy_budget.ts";
 * accountOfTurns({ labelDefence: { kind: "rr", epsilon: 1 } }, 3, 2).epochs; // 2
 * ```
 */
export function accountOfTurns(defence: DefenceConfig, turns: number, turnsPerEpoch: number): PrivacyAccount {
  return privacyAccount(defence, Math.ceil(turns / Math.max(1, turnsPerEpoch)));
}
