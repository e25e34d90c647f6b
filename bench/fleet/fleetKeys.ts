// The fleet's provider keys: derived from an index, so every run has the same
// addresses (and so the same hub shards), and the benchmark can stake them on
// the local chain before the fleet process signs in with them.
import { keccak256, stringToHex } from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";

export function fleetAccount(index: number): PrivateKeyAccount {
  return privateKeyToAccount(keccak256(stringToHex(`pond-fleet-provider:${index}`)));
}
