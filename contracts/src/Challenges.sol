// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {AccountWord} from "./AccountWord.sol";
import {JobSlot} from "./JobSlot.sol";
import {ChallengeOutcome, ChallengeView, CompactSignature, CreditReason, JobStatus, ReleaseReason} from "./PondTypes.sol";
import {Settlement} from "./Settlement.sol";

/// @title Challenges
/// @notice Within a result's challenge window its creator may dispute it with a bond. A mediator, drawn from the
///         registry by the hash of a block that did not exist when the challenge was made, re-runs the job and
///         answers in one of two ways, fixed by the tolerant flag the creator signed in its JobAuthorization:
///         - exact job: the mediator signs Mediation(jobId, its result hash) and anyone submits it with
///           `resolveChallenge`; the contract compares it with the provider's hash: equal upholds, different rejects.
///         - tolerant job (outputs that differ in their last bits from one machine to the next, compared as the
///           spec declares): the mediator compares the two runs' outputs itself and signs
///           Verdict(jobId, the provider's result hash, its re-run's hash, upheld); anyone submits it with
///           `judgeChallenge`, and the contract follows it.
///         Each path refuses the other kind of job. Either way:
///         - upheld: the provider is paid as in settlement; the bond pays the mediator (mediatorBondShareBps) and
///           the provider (the rest).
///         - rejected: the provider is slashed min(available stake, slashMultiplier × amount); the creator pays
///           nothing and gets its reservation and bond back, plus the slash less the mediator's share
///           (mediatorSlashShareBps).
///         - no answer by the mediation deadline: the challenge is void; the bond goes back to the creator and the
///           provider is paid as in settlement.
/// @dev Trust: the drawn mediator decides, on both paths. On the exact path it could already sign any hash it
///      liked (a match or a mismatch); a verdict gives it no more power, only a comparison the contract cannot
///      do on chain. What bounds it is the same: it is drawn at random from staked providers, it is never a party,
///      and its signed answer (with the re-run's hash) is public evidence. The flag itself is the creator's signed
///      word, so no party can switch a job to the other rule at challenge time.
///      Neither party picks the mediator: the seed is the hash of the block after the challenge, read by a later
///      `assignMediator` call. prevrandao is not used (it is constant on Arbitrum). On Arbitrum block hashes come
///      from the sequencer, which is trusted not to grind them (see docs/contracts.md).
abstract contract Challenges is Settlement {
    using AccountWord for uint256;
    using JobSlot for uint256;

    /// @dev What a challenge adds to the job word (which keeps the parties, the amount and, as its time, the
    ///      mediation deadline). Three words, paid for by the challenger.
    struct Challenge {
        address mediator;
        uint96 bond;
        uint96 lockedStake;
        uint64 seedBlock;
        bytes32 resultHash;
    }

    mapping(bytes32 jobId => Challenge) internal _challenges;

    event ChallengeOpened(
        bytes32 indexed jobId,
        address indexed creator,
        address indexed provider,
        uint256 bond,
        uint256 lockedStake,
        uint64 seedBlock,
        uint64 respondBy
    );
    /// @notice The seed block's hash was out of reach (older than 256 blocks): the draw waits for a new seed block.
    event MediatorReseeded(bytes32 indexed jobId, uint64 seedBlock);
    event MediatorAssigned(bytes32 indexed jobId, address indexed mediator, uint64 respondBy);
    /// @notice How a challenge ended. Money moved as JobSettled, JobReleased and Credited tell. `mediatorResultHash` is
    ///         the result hash of the mediator's re-run (Mediation's resultHash, or Verdict's rerunHash); zero if voided.
    event ChallengeResolved(
        bytes32 indexed jobId,
        address indexed provider,
        address indexed mediator,
        ChallengeOutcome outcome,
        bytes32 mediatorResultHash,
        uint256 slashed
    );

    error NotChallengeable(bytes32 jobId, JobStatus status);
    error NotJobCreator(bytes32 jobId, address caller);
    error ChallengeWindowClosed(bytes32 jobId, uint256 challengeEnd);
    error BondTooSmall(uint256 sent, uint256 required);
    error ResultNotProven(bytes32 jobId);
    error NotChallenged(bytes32 jobId);
    error MediatorAlreadyAssigned(bytes32 jobId, address mediator);
    error SeedBlockNotMined(bytes32 jobId, uint256 seedBlock);
    error NoEligibleMediator(bytes32 jobId);
    error MediatorNotAssigned(bytes32 jobId);
    error MediationExpired(bytes32 jobId, uint256 respondBy);
    error MediationNotExpired(bytes32 jobId, uint256 respondBy);
    error InvalidMediatorSignature(bytes32 jobId);
    /// @notice resolveChallenge was called for a tolerant job: its mediator's answer is a verdict (judgeChallenge).
    error JobIsTolerant(bytes32 jobId);
    /// @notice judgeChallenge was called for an exact job: its mediator's answer is a result hash (resolveChallenge).
    error JobIsExact(bytes32 jobId);

    /// @notice Disputes a reported job's result. Only its creator, only within the challenge window, with a bond of
    ///         at least challengeBond (all of msg.value is the bond). `resultHash` and `providerSignature` are the
    ///         provider's signed claim exactly as posted in submitResults (its calldata is public; ResultSubmitted
    ///         logs the hash): the job word keeps only a 48-bit tag of the hash, and the signature proves the full
    ///         hash is the provider's. Works while paused: a pause must never stop a creator's defence.
    /// @dev Locks min(available stake, slashMultiplier × amount) of the provider's stake (reclaiming unbonding stake
    ///      if needed) and fixes the seed block (the next one) and the mediation deadline.
    function challenge(bytes32 jobId, bytes32 resultHash, CompactSignature calldata providerSignature) external payable {
        uint256 slot = _jobs[jobId];
        JobStatus status = slot.statusOf();
        if (status != JobStatus.Reported) revert NotChallengeable(jobId, status);
        address creator = _creatorById[slot.creatorIdOf()];
        if (msg.sender != creator) revert NotJobCreator(jobId, msg.sender);
        if (block.timestamp >= slot.timeOf()) revert ChallengeWindowClosed(jobId, slot.timeOf());
        if (msg.value < CHALLENGE_BOND) revert BondTooSmall(msg.value, CHALLENGE_BOND);
        address provider = _providerById[slot.providerIdOf()];
        uint256 amount = slot.amountOf();
        if (!slot.tagMatches(resultHash) || _signerOf(_jobResultHash(jobId, resultHash, amount), providerSignature) != provider) {
            revert ResultNotProven(jobId);
        }

        uint256 locked = _lockStake(provider, SLASH_MULTIPLIER * amount);
        uint64 respondBy = uint64(block.timestamp + MEDIATION_TIMEOUT);
        uint64 seedBlock = uint64(block.number + 1);
        _challenges[jobId] = Challenge({
            mediator: address(0),
            bond: SafeCast.toUint96(msg.value),
            lockedStake: uint96(locked),
            seedBlock: seedBlock,
            resultHash: resultHash
        });
        _jobs[jobId] = slot.challenged(respondBy);
        _providers[provider].jobsChallenged += 1;
        emit ChallengeOpened(jobId, creator, provider, msg.value, locked, seedBlock, respondBy);
    }

    /// @notice Draws the mediator once the seed block exists: a registered provider other than the job's creator
    ///         and provider. Anyone may call it (the creator has the most reason to). If the seed block's hash is
    ///         out of reach (older than 256 blocks), the next block becomes the seed and the zero address is
    ///         returned; call again after it.
    function assignMediator(bytes32 jobId) external returns (address mediator) {
        uint256 slot = _jobs[jobId];
        if (slot.statusOf() != JobStatus.Challenged) revert NotChallenged(jobId);
        Challenge storage c = _challenges[jobId];
        if (c.mediator != address(0)) revert MediatorAlreadyAssigned(jobId, c.mediator);
        if (block.timestamp > slot.timeOf()) revert MediationExpired(jobId, slot.timeOf());
        uint256 seedBlock = c.seedBlock;
        if (block.number <= seedBlock) revert SeedBlockNotMined(jobId, seedBlock);
        bytes32 seedHash = blockhash(seedBlock);
        if (seedHash == bytes32(0)) {
            uint64 newSeedBlock = uint64(block.number + 1);
            c.seedBlock = newSeedBlock;
            emit MediatorReseeded(jobId, newSeedBlock);
            return address(0);
        }
        mediator = _drawMediator(
            uint256(keccak256(abi.encode(seedHash, jobId))), _creatorById[slot.creatorIdOf()], _providerById[slot.providerIdOf()]
        );
        if (mediator == address(0)) revert NoEligibleMediator(jobId);
        c.mediator = mediator;
        emit MediatorAssigned(jobId, mediator, uint64(slot.timeOf()));
    }

    /// @notice Submits the assigned mediator's signed Mediation(jobId, resultHash) for an exact job, before the
    ///         mediation deadline: the result is upheld if `resultHash` is the provider's. Anyone may call it: the
    ///         signature is what counts.
    function resolveChallenge(bytes32 jobId, bytes32 resultHash, bytes calldata mediatorSignature) external {
        (uint256 slot, Challenge memory c) = _answerable(jobId, false);
        if (_signerOf(_mediationHash(jobId, resultHash), mediatorSignature) != c.mediator) revert InvalidMediatorSignature(jobId);
        _resolve(jobId, slot, c, resultHash == c.resultHash, resultHash);
    }

    /// @notice Submits the assigned mediator's signed Verdict(jobId, resultHash, rerunHash, upheld) for a tolerant
    ///         job, before the mediation deadline, where resultHash is the provider's (the challenge's): the result
    ///         is upheld or rejected as the verdict says. `rerunHash` is the mediator's own re-run's result hash,
    ///         kept as evidence (ChallengeResolved.mediatorResultHash). Anyone may call it: the signature is what counts.
    function judgeChallenge(bytes32 jobId, bytes32 rerunHash, bool upheld, bytes calldata mediatorSignature) external {
        (uint256 slot, Challenge memory c) = _answerable(jobId, true);
        if (_signerOf(_verdictHash(jobId, c.resultHash, rerunHash, upheld), mediatorSignature) != c.mediator) {
            revert InvalidMediatorSignature(jobId);
        }
        _resolve(jobId, slot, c, upheld, rerunHash);
    }

    /// @notice Voids a challenge no mediator answered by its deadline: the bond goes back to the creator and the
    ///         provider is paid as in settlement. Anyone may call it.
    function expireChallenge(bytes32 jobId) external {
        uint256 slot = _jobs[jobId];
        if (slot.statusOf() != JobStatus.Challenged) revert NotChallenged(jobId);
        if (block.timestamp <= slot.timeOf()) revert MediationNotExpired(jobId, slot.timeOf());
        Challenge memory c = _challenges[jobId];
        delete _challenges[jobId];
        address provider = _providerById[slot.providerIdOf()];
        _jobs[jobId] = JobSlot.terminal(JobStatus.Settled);
        _unlockStake(provider, c.lockedStake, 0);
        _creditFor(_creatorById[slot.creatorIdOf()], jobId, c.bond, CreditReason.BondReturned);
        _payWithFee(jobId, slot, provider);
        emit ChallengeResolved(jobId, provider, c.mediator, ChallengeOutcome.Voided, bytes32(0), 0);
    }

    /// @notice An open challenge (all zero when there is none).
    function challengeOf(bytes32 jobId) external view returns (ChallengeView memory) {
        uint256 slot = _jobs[jobId];
        if (slot.statusOf() != JobStatus.Challenged) return ChallengeView(address(0), address(0), address(0), 0, 0, 0, 0, 0, 0, false);
        Challenge storage c = _challenges[jobId];
        return ChallengeView({
            creator: _creatorById[slot.creatorIdOf()],
            provider: _providerById[slot.providerIdOf()],
            mediator: c.mediator,
            amount: slot.amountOf(),
            bond: c.bond,
            lockedStake: c.lockedStake,
            resultHash: c.resultHash,
            seedBlock: c.seedBlock,
            respondBy: uint64(slot.timeOf()),
            tolerant: slot.isTolerant()
        });
    }

    /// @dev A challenged job a mediator may answer now, by the path its flag calls for: the job word and the challenge.
    function _answerable(bytes32 jobId, bool byVerdict) private view returns (uint256 slot, Challenge memory c) {
        slot = _jobs[jobId];
        if (slot.statusOf() != JobStatus.Challenged) revert NotChallenged(jobId);
        if (slot.isTolerant() != byVerdict) {
            if (byVerdict) revert JobIsExact(jobId);
            revert JobIsTolerant(jobId);
        }
        c = _challenges[jobId];
        if (c.mediator == address(0)) revert MediatorNotAssigned(jobId);
        if (block.timestamp > slot.timeOf()) revert MediationExpired(jobId, slot.timeOf());
    }

    /// @dev Ends an answered challenge: the same money rules whichever path gave the answer.
    function _resolve(bytes32 jobId, uint256 slot, Challenge memory c, bool upheld, bytes32 mediatorResultHash) private {
        delete _challenges[jobId];
        address provider = _providerById[slot.providerIdOf()];
        if (upheld) _upholdResult(jobId, slot, provider, c);
        else _rejectResult(jobId, slot, provider, c);
        emit ChallengeResolved(
            jobId,
            provider,
            c.mediator,
            upheld ? ChallengeOutcome.ResultUpheld : ChallengeOutcome.ResultRejected,
            mediatorResultHash,
            upheld ? 0 : c.lockedStake
        );
    }

    function _upholdResult(bytes32 jobId, uint256 slot, address provider, Challenge memory c) private {
        _jobs[jobId] = JobSlot.terminal(JobStatus.Settled);
        _unlockStake(provider, c.lockedStake, 0);
        uint256 mediatorReward = uint256(c.bond) * MEDIATOR_BOND_SHARE_BPS / BPS;
        _creditFor(c.mediator, jobId, mediatorReward, CreditReason.MediatorReward);
        _creditFor(provider, jobId, c.bond - mediatorReward, CreditReason.BondToProvider);
        _payWithFee(jobId, slot, provider);
    }

    function _rejectResult(bytes32 jobId, uint256 slot, address provider, Challenge memory c) private {
        _jobs[jobId] = JobSlot.terminal(JobStatus.Refunded);
        uint256 slashed = c.lockedStake;
        _unlockStake(provider, slashed, slashed);
        _providers[provider].jobsSlashed += 1;
        address creator = _creatorById[slot.creatorIdOf()];
        uint256 amount = slot.amountOf();
        _accounts[creator] = _accounts[creator].released(amount);
        emit JobReleased(jobId, creator, amount, ReleaseReason.ResultRejected);
        uint256 mediatorReward = slashed * MEDIATOR_SLASH_SHARE_BPS / BPS;
        _creditFor(c.mediator, jobId, mediatorReward, CreditReason.MediatorReward);
        _creditFor(creator, jobId, c.bond, CreditReason.BondReturned);
        _creditFor(creator, jobId, slashed - mediatorReward, CreditReason.SlashCompensation);
    }

    function _payWithFee(bytes32 jobId, uint256 slot, address provider) private {
        uint256 fee = _pay(jobId, _creatorById[slot.creatorIdOf()], provider, slot.amountOf(), protocolFeeBps);
        _creditFor(treasury, jobId, fee, CreditReason.ProtocolFee);
    }
}
