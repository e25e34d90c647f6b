// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccountWord} from "./AccountWord.sol";
import {JobSlot} from "./JobSlot.sol";
import {CreditReason, JobStatus, ResultSubmission} from "./PondTypes.sol";
import {Reservations} from "./Reservations.sol";

/// @title Settlement
/// @notice Providers' signed results open a challenge window; once it closes, the job pays the provider.
/// @dev A result is bound by two signatures the contract checks: the creator's (on the reservation) and the
///      provider's (on the result), so whoever posts it cannot pay anyone the creator did not authorize, invent a
///      result, or change the amount. Settlement needs no signature: it only finalizes what the window left standing.
abstract contract Settlement is Reservations {
    using AccountWord for uint256;
    using JobSlot for uint256;

    /// @notice The job's reservation shrank from maxPrice to `amount`; the difference is free again.
    event ResultSubmitted(bytes32 indexed jobId, address indexed provider, bytes32 resultHash, uint256 amount, uint64 challengeEnd);
    /// @notice The creator paid `amount` (its reservation for the job ends); the provider was credited
    ///         `amount - fee`, and `fee` goes to the treasury (credited once per batch: Credited, ProtocolFee).
    /// @dev `creator` is not indexed: a fourth topic would cost 119 gas on every job, and the job id names it.
    event JobSettled(bytes32 indexed jobId, address creator, address indexed provider, uint256 amount, uint256 fee);

    error ResultsRelayerOnlyUntil(bytes32 jobId, uint256 deadline);
    error ResultTooLate(bytes32 jobId, uint256 lastAccepted);
    error AmountAboveMaxPrice(bytes32 jobId, uint256 amount, uint256 maxPrice);
    error InvalidProviderSignature(bytes32 jobId);
    error ProviderNotRegistered(bytes32 jobId, address provider);
    error ResultMissing(bytes32 jobId);
    error ChallengeWindowOpen(bytes32 jobId, uint256 challengeEnd);

    /// @notice Records providers' signed results and starts each one's challenge window. The provider is whoever
    ///         signed the JobResult; it must be registered (stake >= minStake). The reservation shrinks to the
    ///         amount claimed.
    /// @dev Who may post: the relayer at any time; anyone else once the job's authorization deadline has passed (a
    ///      fallback if the relayer stalls). With both signatures checked an open door would be safe against
    ///      forgery, but the creator's authorization names no provider: before its deadline any registered provider
    ///      could race the assigned one with its own signed claim, leaving the creator to challenge it. Results are
    ///      accepted until the deadline plus the release grace period, from when anyone may release the job instead.
    ///      Jobs no longer awaiting a result (already reported, released) are skipped, so a batch survives a race;
    ///      anything else wrong reverts the batch.
    function submitResults(ResultSubmission[] calldata results) external {
        bool byRelayer = msg.sender == relayer;
        for (uint256 i; i < results.length; ++i) {
            ResultSubmission calldata s = results[i];
            (bytes32 jobId, bytes32 resultHash, uint256 amount) = (s.jobId, s.resultHash, s.amount);
            uint256 slot = _jobs[jobId];
            JobStatus status = slot.statusOf();
            if (status == JobStatus.None) revert UnknownJob(jobId);
            if (status != JobStatus.Reserved) continue;
            uint256 deadline = slot.timeOf();
            if (!byRelayer && block.timestamp <= deadline) revert ResultsRelayerOnlyUntil(jobId, deadline);
            if (block.timestamp > deadline + RELEASE_GRACE) revert ResultTooLate(jobId, deadline + RELEASE_GRACE);
            uint256 maxPrice = slot.amountOf();
            if (amount > maxPrice) revert AmountAboveMaxPrice(jobId, amount, maxPrice);
            address provider = _signerOf(_jobResultHash(jobId, resultHash, amount), s.providerSignature);
            if (provider == address(0)) revert InvalidProviderSignature(jobId);
            Provider storage p = _providers[provider];
            if (p.listPosition == 0) revert ProviderNotRegistered(jobId, provider);
            if (amount != maxPrice) {
                address creator = _creatorById[slot.creatorIdOf()];
                _accounts[creator] = _accounts[creator].released(maxPrice - amount);
            }
            uint256 challengeEnd = block.timestamp + CHALLENGE_WINDOW;
            _jobs[jobId] = JobSlot.reported(slot, challengeEnd, amount, p.id, resultHash);
            emit ResultSubmitted(jobId, provider, resultHash, amount, uint64(challengeEnd));
        }
    }

    /// @notice Pays every job whose challenge window has closed. Anyone may call it; it works while paused.
    /// @dev Idempotent per job: a job already settled, challenged or refunded is skipped (a no-op), so nothing is
    ///      ever paid twice and a batch survives a race with a challenge or another settler. A job still in its
    ///      window, without a result, or unknown reverts the batch.
    ///      The protocol fee is the one in force now, never above MAX_PROTOCOL_FEE_BPS; the treasury is credited
    ///      once for the whole batch.
    function settleJobs(bytes32[] calldata jobIds) external {
        uint256 feeBps = protocolFeeBps;
        uint256 fees;
        for (uint256 i; i < jobIds.length; ++i) {
            bytes32 jobId = jobIds[i];
            uint256 slot = _jobs[jobId];
            JobStatus status = slot.statusOf();
            if (status == JobStatus.None) revert UnknownJob(jobId);
            if (status == JobStatus.Reserved) revert ResultMissing(jobId);
            if (status != JobStatus.Reported) continue;
            if (block.timestamp < slot.timeOf()) revert ChallengeWindowOpen(jobId, slot.timeOf());
            _jobs[jobId] = JobSlot.terminal(JobStatus.Settled);
            fees += _pay(jobId, _creatorById[slot.creatorIdOf()], _providerById[slot.providerIdOf()], slot.amountOf(), feeBps);
        }
        if (fees != 0) _creditFor(treasury, bytes32(0), fees, CreditReason.ProtocolFee);
    }

    /// @dev Moves `amount` from the creator's balance (ending its reservation for the job) to the provider's, less
    ///      the fee, which is returned for the caller to credit to the treasury. jobsSettled++.
    function _pay(bytes32 jobId, address creator, address provider, uint256 amount, uint256 feeBps) internal returns (uint256 fee) {
        _accounts[creator] = _accounts[creator].released(amount).debited(amount);
        unchecked {
            fee = amount * feeBps / BPS;
            _credit(provider, amount - fee);
            _providers[provider].jobsSettled += 1;
        }
        emit JobSettled(jobId, creator, provider, amount, fee);
    }
}
