// Wei for people, exactly: BigInt arithmetic, never a float.
const WEI_PER_ETH = 10n ** 18n;

/** "1.2345 ETH": at most `digits` decimals, trailing zeros dropped, thousands grouped; "< 0.0001 ETH" for dust. */
export function formatEth(wei: string | bigint, digits = 4): string {
  const value = BigInt(wei);
  const whole = value / WEI_PER_ETH;
  const fraction = (value % WEI_PER_ETH).toString().padStart(18, "0").slice(0, digits).replace(/0+$/, "");
  if (whole === 0n && fraction === "" && value > 0n) return `< 0.${"0".repeat(digits - 1)}1 ETH`;
  const grouped = whole.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${grouped}${fraction ? `.${fraction}` : ""} ETH`;
}
