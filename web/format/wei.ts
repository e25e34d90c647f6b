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

const GWEI = 10n ** 9n;
const SMALLEST_ETH_SHOWN = 10n ** 14n;

/** A price or payment: ETH down to 0.0001, then gwei, then wei, so small amounts still read as numbers. */
export function formatWei(wei: string | bigint): string {
  const value = BigInt(wei);
  if (value === 0n || value >= SMALLEST_ETH_SHOWN) return formatEth(value);
  if (value >= GWEI / 1000n) {
    const whole = value / GWEI;
    const fraction = (value % GWEI).toString().padStart(9, "0").slice(0, 3).replace(/0+$/, "");
    return `${whole.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",")}${fraction ? `.${fraction}` : ""} gwei`;
  }
  return `${value} wei`;
}
