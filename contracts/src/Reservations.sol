// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccountWord} from "./AccountWord.sol";
import {JobSlot} from "./JobSlot.sol";
import {ProviderRegistry} from "./ProviderRegistry.sol";
import {JobStatus, JobView, ReleaseReason, Reservation} from "./PondTypes.sol";
import {TypedSignatures} from "./TypedSignatures.sol";

/// @title Reservations
/// @notice Creators' signed authorizations become reservations of escrow, and reservations that never got a result
///         go back to their creator.
/// @dev Release rule: the relayer may release a reserved job that has no result at any time (the job failed, was
///      canceled or timed out off chain); anyone may release it once its authorization deadline plus the release
///      grace period has passed without a result, so a creator never depends on the relayer to get funds back.
abstract contract Reservations is ProviderRegistry, TypedSignatures {
    using AccountWord for uint256;
    using JobSlot for uint256;

    /// @dev One word per job: see JobSlot.
    mapping(bytes32 jobId => uint256) internal _jobs;

    event JobReserved(bytes32 indexed jobId, address indexed creator, uint256 maxPrice, uint64 deadline);
    /// @notice The job's reservation (`amount`) went back to the creator's free balance; no payment was made.
    event JobReleased(bytes32 indexed jobId, address indexed creator, uint256 amount, ReleaseReason reason);

    error AuthorizationExpired(bytes32 jobId, uint256 deadline);
    error DeadlineOutOfRange(bytes32 jobId, uint256 deadline);
    error JobIdUsed(bytes32 jobId);
    error InvalidCreatorSignature(bytes32 jobId);
    error NoEscrowAccount(bytes32 jobId, address creator);
    error InsufficientEscrow(bytes32 jobId, address creator, uint256 available, uint256 maxPrice);
    error UnknownJob(bytes32 jobId);
    error ReleaseNotYetAllowed(bytes32 jobId, uint256 allowedAfter);

    /// @notice Reserves escrow for each job a creator authorized. Relayer only, and paused with new work.
    /// @dev Checks each creator's JobAuthorization signature (its tolerant flag included: the job word keeps it, and
    ///      it decides how a challenge is judged), that its deadline has not passed, that the job id was
    ///      never used, and that the creator's unreserved balance covers maxPrice. Any failure reverts the batch:
    ///      these are not races but mistakes (or forgeries) to surface. Restricted to the relayer so that no one
    ///      can front-run its batch with one of the same signed authorizations and make the batch revert.
    ///      maxPrice fits the job word's 96 bits because it is covered by a balance (all ETH is below 2^96 wei).
    function reserveJobs(Reservation[] calldata reservations) external onlyRelayer whenNotPaused {
        for (uint256 i; i < reservations.length; ++i) {
            Reservation calldata r = reservations[i];
            (bytes32 jobId, address creator, uint256 maxPrice, uint256 deadline) = (r.jobId, r.creator, r.maxPrice, r.deadline);
            if (block.timestamp > deadline) revert AuthorizationExpired(jobId, deadline);
            if (deadline > JobSlot.MAX_TIME) revert DeadlineOutOfRange(jobId, deadline);
            if (_jobs[jobId] != 0) revert JobIdUsed(jobId);
            bool tolerant = r.tolerant;
            address signer = _signerOf(_jobAuthorizationHash(jobId, r.specHash, maxPrice, deadline, tolerant), r.creatorSignature);
            if (signer == address(0) || signer != creator) revert InvalidCreatorSignature(jobId);
            uint256 account = _accounts[creator];
            uint256 creatorId = account.idOf();
            if (creatorId == 0) revert NoEscrowAccount(jobId, creator);
            uint256 available = account.availableOf();
            if (maxPrice > available) revert InsufficientEscrow(jobId, creator, available, maxPrice);
            _accounts[creator] = account.reserved(maxPrice);
            _jobs[jobId] = JobSlot.reserved(deadline, maxPrice, creatorId, tolerant);
            emit JobReserved(jobId, creator, maxPrice, uint64(deadline));
        }
    }

    /// @notice Gives each job's whole reservation back to its creator. The relayer may do so any time before a
    ///         result; anyone may once the authorization deadline plus the release grace period has passed.
    /// @dev Jobs no longer reserved (a result came first, or already released) are skipped, so a batch survives a
    ///      race with a result or with another releaser. Unknown job ids revert.
    function releaseJobs(bytes32[] calldata jobIds) external {
        bool byRelayer = msg.sender == relayer;
        for (uint256 i; i < jobIds.length; ++i) {
            bytes32 jobId = jobIds[i];
            uint256 slot = _jobs[jobId];
            JobStatus status = slot.statusOf();
            if (status == JobStatus.None) revert UnknownJob(jobId);
            if (status != JobStatus.Reserved) continue;
            uint256 openAt = slot.timeOf() + RELEASE_GRACE;
            bool expired = block.timestamp > openAt;
            if (!byRelayer && !expired) revert ReleaseNotYetAllowed(jobId, openAt);
            address creator = _creatorById[slot.creatorIdOf()];
            uint256 maxPrice = slot.amountOf();
            _jobs[jobId] = JobSlot.terminal(JobStatus.Released);
            _accounts[creator] = _accounts[creator].released(maxPrice);
            emit JobReleased(jobId, creator, maxPrice, expired ? ReleaseReason.Expired : ReleaseReason.Canceled);
        }
    }

    /// @notice A job decoded from its storage word.
    function jobOf(bytes32 jobId) external view returns (JobView memory) {
        uint256 slot = _jobs[jobId];
        return JobView({
            status: slot.statusOf(),
            time: uint64(slot.timeOf()),
            creator: _creatorById[slot.creatorIdOf()],
            provider: _providerById[slot.providerIdOf()],
            amount: slot.amountOf(),
            tolerant: slot.isTolerant()
        });
    }
}
