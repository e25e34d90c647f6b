// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {JobStatus} from "./PondTypes.sol";

/// @title JobSlot
/// @notice A job lives in one storage word:
///         status (bits 0-6) | tolerant (bit 7) | time (8-47) | amount (48-143) | creator id (144-175) |
///         provider id (176-207) | result tag (208-255).
///         - Reserved: time = authorization deadline, amount = maxPrice; no provider, no tag. The tolerant flag is
///           the creator's signed JobAuthorization.tolerant: a challenge is judged by the mediator's verdict rather
///           than by comparing result hashes (see Challenges).
///         - Reported: time = end of the challenge window, amount = the provider's claim, result tag = the top 48
///           bits of the result hash (the full hash is in ResultSubmitted and in the submitResults calldata).
///         - Challenged: time = mediation deadline; the challenge record holds the rest.
///         - Settled, Released, Refunded: status only (the flag too is dropped: nothing is left to judge), never
///           zero again, so a job id is never reused.
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
    /// @dev The status byte's top bit: JobStatus needs 3 bits, so the flag costs no room.
    uint256 private constant TOLERANT = 1 << 7;
    uint256 private constant STATUS_MASK = TOLERANT - 1;

    /// @notice The latest time a word can hold (year 36,812): later authorization deadlines are refused.
    uint256 internal constant MAX_TIME = TIME_MASK;

    function reserved(uint256 deadline, uint256 maxPrice, uint256 creatorId, bool tolerant) internal pure returns (uint256 slot) {
        slot = uint256(JobStatus.Reserved) | (deadline << TIME_SHIFT) | (maxPrice << AMOUNT_SHIFT) | (creatorId << CREATOR_SHIFT);
        if (tolerant) slot |= TOLERANT;
    }

    /// @notice A Reserved word turned Reported: its creator and tolerant flag kept, the provider's claim recorded.
    function reported(uint256 reservedSlot, uint256 challengeEnd, uint256 amount, uint256 providerId, bytes32 resultHash)
        internal
        pure
        returns (uint256)
    {
        return (reservedSlot & ((ID_MASK << CREATOR_SHIFT) | TOLERANT)) | uint256(JobStatus.Reported) | (challengeEnd << TIME_SHIFT)
            | (amount << AMOUNT_SHIFT) | (providerId << PROVIDER_SHIFT) | ((uint256(resultHash) >> TAG_SHIFT) << TAG_SHIFT);
    }

    /// @notice A Reported word turned Challenged: same parties, amount and flag, the mediation deadline as its time.
    function challenged(uint256 slot, uint256 respondBy) internal pure returns (uint256) {
        return (slot & ~((TIME_MASK << TIME_SHIFT) | STATUS_MASK)) | (respondBy << TIME_SHIFT) | uint256(JobStatus.Challenged);
    }

    function terminal(JobStatus status) internal pure returns (uint256) {
        return uint256(status);
    }

    function statusOf(uint256 slot) internal pure returns (JobStatus) {
        return JobStatus(slot & STATUS_MASK);
    }

    /// @notice Whether the job's challenge is judged by a verdict (true) or by result hashes (false).
    function isTolerant(uint256 slot) internal pure returns (bool) {
        return (slot & TOLERANT) != 0;
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
