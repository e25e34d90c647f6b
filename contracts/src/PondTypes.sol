// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

// Types shared by the market's modules and by its callers (the relayer, the
// indexer, the SDK): the records passed in calldata, the enums that events
// carry, and the views' return shapes.

/// @notice Where a job stands on chain. Kept in the low byte of the job's one storage slot.
/// @dev Reserved → Reported → (Challenged →) Settled | Refunded, or Reserved → Released.
///      Settled, Released and Refunded are terminal: the slot stays non-zero, so a job id can never be reused.
enum JobStatus {
    None,
    Reserved,
    Reported,
    Challenged,
    Settled,
    Released,
    Refunded
}

/// @notice Why a reservation went back to the creator without a payment.
enum ReleaseReason {
    /// The relayer released a job that has no result (failed, canceled, or timed out off chain).
    Canceled,
    /// The authorization deadline plus the release grace period passed without a result.
    Expired,
    /// A mediator's re-run did not match the provider's result: the provider was slashed.
    ResultRejected
}

/// @notice Why an internal balance was credited (job payments themselves are told by JobSettled).
enum CreditReason {
    /// Protocol fees, credited to the treasury once per settlement batch or per resolved challenge.
    ProtocolFee,
    /// A challenger's bond back: the challenge was upheld or voided.
    BondReturned,
    /// The part of a lost bond that pays the provider whose result was upheld.
    BondToProvider,
    /// What the mediator earns: a share of the bond (result upheld) or of the slash (result rejected).
    MediatorReward,
    /// The creator's share of a slashed provider's stake.
    SlashCompensation
}

/// @notice How a challenge ended.
enum ChallengeOutcome {
    /// The mediator's re-run produced the provider's result hash (exact job), or the mediator judged its outputs to
    /// agree (tolerant job): the provider is paid and earns most of the bond.
    ResultUpheld,
    /// The mediator's re-run differed (exact), or disagreed beyond the declared tolerance (tolerant): the provider is
    /// slashed and the creator refunded.
    ResultRejected,
    /// No mediator answered before the deadline: the bond goes back and the provider is paid.
    Voided
}

/// @notice An EIP-2098 compact signature (viem: `signatureToCompactSignature(parseSignature(sig))`).
/// @dev Batched records carry signatures in this fixed-size form: 64 bytes in place of a dynamic `bytes` field's
///      offset, length and padded 65 bytes, which saves about 1,000 gas of calldata and decoding per signature.
struct CompactSignature {
    bytes32 r;
    bytes32 yParityAndS;
}

/// @notice A creator's signed JobAuthorization, as the relayer posts it to reserve escrow.
struct Reservation {
    bytes32 jobId;
    address creator;
    bytes32 specHash;
    uint256 maxPrice;
    uint64 deadline;
    /// Whether a challenge of the job is judged by the mediator's signed verdict (the spec declares a tolerant
    /// comparison of outputs) instead of by comparing result hashes. Signed by the creator, so no one can change
    /// how a job is judged once it runs.
    bool tolerant;
    /// EIP-712 signature of JobAuthorization(jobId, specHash, maxPrice, deadline, tolerant) by `creator`.
    CompactSignature creatorSignature;
}

/// @notice A provider's signed JobResult, as the relayer posts it.
struct ResultSubmission {
    bytes32 jobId;
    bytes32 resultHash;
    uint256 amount;
    /// EIP-712 signature of JobResult(jobId, resultHash, amount) by the provider.
    CompactSignature providerSignature;
}

/// @notice A job as `jobOf` returns it, decoded from its storage word.
struct JobView {
    JobStatus status;
    /// Reserved: the authorization deadline; Reported: the end of the challenge window; Challenged: the mediation
    /// deadline; zero once terminal.
    uint64 time;
    address creator;
    /// Zero until a result is reported.
    address provider;
    /// Reserved: maxPrice; Reported or Challenged: the provider's claim; zero once terminal.
    uint256 amount;
    /// Whether a challenge is judged by a verdict (judgeChallenge) rather than by result hashes (resolveChallenge),
    /// as the creator signed it; false once terminal.
    bool tolerant;
}

/// @notice The rules fixed at deployment. Immutable, so no one can change them under open jobs.
struct MarketParams {
    /// Least stake a provider needs to be registered (to report results and to mediate).
    uint256 minStake;
    /// Least bond a creator posts to challenge a result.
    uint256 challengeBond;
    /// Seconds after a result during which the creator may challenge it.
    uint32 challengeWindow;
    /// Seconds between requestUnbond and completeUnbond. Must exceed challengeWindow.
    uint32 unbondingDelay;
    /// Seconds after a challenge within which a mediator must be drawn and answer.
    uint32 mediationTimeout;
    /// Seconds after an authorization's deadline before anyone may release a job that has no result.
    uint32 releaseGrace;
    /// A rejected result costs the provider min(its available stake, slashMultiplier × amount).
    uint16 slashMultiplier;
    /// Share of a lost bond (result upheld) paid to the mediator, in basis points; the rest goes to the provider.
    uint16 mediatorBondShareBps;
    /// Share of a slash (result rejected) paid to the mediator, in basis points; the rest goes to the creator.
    uint16 mediatorSlashShareBps;
}

/// @notice A provider's stake and on-chain reputation, as `providerInfo` returns it.
struct ProviderInfo {
    bool registered;
    uint256 stake;
    uint256 lockedStake;
    uint256 unbonding;
    uint64 unbondReadyAt;
    uint32 jobsSettled;
    uint32 jobsChallenged;
    uint32 jobsSlashed;
    /// How job words (JobSlot) name the provider; zero if it never registered.
    uint32 id;
}

/// @notice An open challenge as `challengeOf` returns it (all zero when there is none).
struct ChallengeView {
    address creator;
    address provider;
    /// Zero until assignMediator draws one.
    address mediator;
    uint256 amount;
    uint256 bond;
    uint256 lockedStake;
    /// The result hash the provider signed: an exact job's mediator re-run must produce it; a tolerant job's
    /// mediator signs its verdict over it.
    bytes32 resultHash;
    /// The block whose hash will draw the mediator.
    uint64 seedBlock;
    uint64 respondBy;
    /// Whether the mediator answers with a verdict (judgeChallenge) rather than its result hash (resolveChallenge).
    bool tolerant;
}
