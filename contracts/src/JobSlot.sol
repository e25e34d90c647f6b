// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {JobStatus} from "./PondTypes.sol";

/// @title JobSlot
/// @notice A job lives in one storage word:
///         status (bits 0-7) | time (8-47) | amount (48-143) | creator id (144-175) | provider id (176-207) |
///         result tag (208-255).
///         - Reserved: time = authorization deadline, amount = maxPrice; no provider, no tag.
///         - Reported: time = end of the challenge window, amount = the provider's claim, result tag = the top 48
///           bits of the result hash (the full hash is in ResultSubmitted and in the submitResults calldata).
///         - Challenged: time = mediation deadline; the challenge record holds the rest.
///         - Settled, Released, Refunded: status only, never zero again, so a job id is never reused.
/// @dev Why: a new storage slot costs 22,100 gas and each update 5,000, so the lifecycle budget (60,000 gas per job)
///      allows one word per job. Parties are named by ids (AccountWord, ProviderRegistry) to fit, and amounts by
///      96 bits (far above all ETH). The result tag is not a security boundary on its own: a challenge must also
///      present the provider's signature over the full hash (see Challenges).
library JobSlot {
    uint256 private constant TIME_SHIFT = 8;
    uint256 private constant AMOUNT_SHIFT = 48;
    uint256 private constant CREATOR_SHIFT = 144;
    uint256 private constant PROVIDER_SHIFT = 176;
    uint256 private constant TAG_SHIFT = 208;
    uint256 private constant TIME_MASK = (1 << 40) - 1;
    uint256 private constant AMOUNT_MASK = (1 << 96) - 1;
    uint256 private constant ID_MASK = (1 << 32) - 1;

    /// @notice The latest time a word can hold (year 36,812): later authorization deadlines are refused.
    uint256 internal constant MAX_TIME = TIME_MASK;

    function reserved(uint256 deadline, uint256 maxPrice, uint256 creatorId) internal pure returns (uint256) {
        return uint256(JobStatus.Reserved) | (deadline << TIME_SHIFT) | (maxPrice << AMOUNT_SHIFT) | (creatorId << CREATOR_SHIFT);
    }

    function reported(uint256 challengeEnd, uint256 amount, uint256 creatorId, uint256 providerId, bytes32 resultHash)
        internal
        pure
        returns (uint256)
    {
        return uint256(JobStatus.Reported) | (challengeEnd << TIME_SHIFT) | (amount << AMOUNT_SHIFT)
            | (creatorId << CREATOR_SHIFT) | (providerId << PROVIDER_SHIFT) | ((uint256(resultHash) >> TAG_SHIFT) << TAG_SHIFT);
    }

    /// @notice A Reported word turned Challenged: same parties and amount, the mediation deadline as its time.
    function challenged(uint256 slot, uint256 respondBy) internal pure returns (uint256) {
        return (slot & ~((TIME_MASK << TIME_SHIFT) | 0xff)) | (respondBy << TIME_SHIFT) | uint256(JobStatus.Challenged);
    }

    function terminal(JobStatus status) internal pure returns (uint256) {
        return uint256(status);
    }

    function statusOf(uint256 slot) internal pure returns (JobStatus) {
        return JobStatus(uint8(slot));
    }

    function timeOf(uint256 slot) internal pure returns (uint256) {
        return (slot >> TIME_SHIFT) & TIME_MASK;
    }

    /// @notice maxPrice while Reserved; the provider's claim once Reported.
    function amountOf(uint256 slot) internal pure returns (uint256) {
        return (slot >> AMOUNT_SHIFT) & AMOUNT_MASK;
    }

    function creatorIdOf(uint256 slot) internal pure returns (uint256) {
        return (slot >> CREATOR_SHIFT) & ID_MASK;
    }

    function providerIdOf(uint256 slot) internal pure returns (uint256) {
        return (slot >> PROVIDER_SHIFT) & ID_MASK;
    }

    /// @notice Whether `resultHash` has the tag the word recorded.
    function tagMatches(uint256 slot, bytes32 resultHash) internal pure returns (bool) {
        return (slot >> TAG_SHIFT) == (uint256(resultHash) >> TAG_SHIFT);
    }
}
