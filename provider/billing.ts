// What a provider claims for a job: its agreed rate over the seconds the
// container ran (rounded up), never more than the most the offer allowed.
export function claimAmountWei(rateWeiPerSecond: bigint, runMs: number, maxAmountWei: bigint): bigint {
  const seconds = BigInt(Math.max(1, Math.ceil(runMs / 1000)));
  const amount = rateWeiPerSecond * seconds;
  return amount < maxAmountWei ? amount : maxAmountWei;
}
