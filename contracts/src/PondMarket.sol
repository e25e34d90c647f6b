// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Challenges} from "./Challenges.sol";
import {MarketConfig} from "./MarketConfig.sol";
import {MarketParams} from "./PondTypes.sol";

/// @title PondMarket
/// @notice Pond's one deployed contract: creators' escrow, the provider registry, batched reservations, results
///         and settlement, and the challenge game. Each concern lives in its own abstract contract:
///         MarketConfig → Escrow → ProviderRegistry → Reservations (with TypedSignatures) → Settlement → Challenges.
/// @dev Plain ETH sent without calling `deposit` is refused (no receive function), so the contract's balance is
///      exactly what it owes: internal balances, stakes, unbonding stake and open bonds.
contract PondMarket is Challenges {
    constructor(address initialOwner, address initialRelayer, address initialTreasury, uint16 protocolFeeBps, MarketParams memory params)
        MarketConfig(initialOwner, initialRelayer, initialTreasury, protocolFeeBps, params)
    {}
}
