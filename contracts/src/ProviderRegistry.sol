// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Escrow} from "./Escrow.sol";
import {ProviderInfo} from "./PondTypes.sol";

/// @title ProviderRegistry
/// @notice Providers stake ETH to report results and to be drawn as mediators. Stake leaves through a two-step
///         unbonding whose delay outlasts the challenge window, and stake an open challenge could slash is locked.
///         Reputation (jobs settled, challenged, slashed) is counted here, on chain, for the matchmaker.
/// @dev A provider is registered exactly while it is in `_providerList` (swap-and-pop, so removal is O(1)), and
///      it is removed as soon as its stake drops below the minimum. Invariant: lockedStake <= stake.
abstract contract ProviderRegistry is Escrow {
    struct Provider {
        // Word 0: read on every result, written on every settlement.
        uint96 stake;
        /// Index in `_providerList` plus one; zero when not registered.
        uint32 listPosition;
        uint32 jobsSettled;
        uint32 jobsChallenged;
        uint32 jobsSlashed;
        /// Assigned on first registration and kept for good: how job words (JobSlot) name the provider.
        uint32 id;
        // Word 1: touched only by unbonding and challenges.
        uint96 unbonding;
        uint96 lockedStake;
        uint40 unbondReadyAt;
    }

    mapping(address provider => Provider) internal _providers;
    mapping(uint256 providerId => address) internal _providerById;
    address[] internal _providerList;
    uint256 internal _providerIdCount;

    event ProviderRegistered(address indexed provider, uint256 stake);
    event ProviderDeregistered(address indexed provider, uint256 stake);
    event StakeAdded(address indexed provider, uint256 amount, uint256 stake);
    event UnbondRequested(address indexed provider, uint256 amount, uint256 unbonding, uint64 readyAt);
    /// @notice Unbonded stake was credited to the provider's balance, ready to withdraw.
    event Unbonded(address indexed provider, uint256 amount);
    /// @notice A challenge needed stake that was unbonding: `amount` went back to stake, where it is locked.
    event UnbondingReclaimed(address indexed provider, uint256 amount);

    error AlreadyRegistered(address provider);
    error NotRegistered(address provider);
    error StakeBelowMinimum(uint256 stake, uint256 minStake);
    error InsufficientUnlockedStake(uint256 available, uint256 requested);
    error NothingUnbonding(address provider);
    error UnbondingNotReady(uint256 readyAt);

    /// @notice Joins the registry with the ETH sent (plus any stake left from before); the total must reach minStake.
    function register() external payable whenNotPaused {
        Provider storage p = _providers[msg.sender];
        if (p.listPosition != 0) revert AlreadyRegistered(msg.sender);
        uint256 stake = p.stake + msg.value;
        if (stake < MIN_STAKE) revert StakeBelowMinimum(stake, MIN_STAKE);
        p.stake = SafeCast.toUint96(stake);
        if (p.id == 0) {
            uint256 id = ++_providerIdCount;
            p.id = SafeCast.toUint32(id);
            _providerById[id] = msg.sender;
        }
        _providerList.push(msg.sender);
        p.listPosition = SafeCast.toUint32(_providerList.length);
        emit ProviderRegistered(msg.sender, stake);
    }

    /// @notice Adds the ETH sent to a registered provider's stake. Works while paused: more collateral is never harmful.
    function addStake() external payable {
        if (msg.value == 0) revert ZeroAmount();
        Provider storage p = _providers[msg.sender];
        if (p.listPosition == 0) revert NotRegistered(msg.sender);
        uint256 stake = p.stake + msg.value;
        p.stake = SafeCast.toUint96(stake);
        emit StakeAdded(msg.sender, msg.value, stake);
    }

    /// @notice Starts unbonding `amount` of unlocked stake. Unbonding stake no longer counts toward minStake; if what
    ///         remains is below it the provider leaves the registry. A new request restarts the delay for the total.
    /// @dev Unbonding stake stays slashable until completeUnbond: a challenge may pull it back (UnbondingReclaimed).
    function requestUnbond(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        Provider storage p = _providers[msg.sender];
        uint256 available = p.stake - p.lockedStake;
        if (amount > available) revert InsufficientUnlockedStake(available, amount);
        p.stake -= uint96(amount);
        uint256 unbonding = p.unbonding + amount;
        p.unbonding = uint96(unbonding);
        uint64 readyAt = uint64(block.timestamp + UNBONDING_DELAY);
        p.unbondReadyAt = uint40(readyAt);
        if (p.listPosition != 0 && p.stake < MIN_STAKE) _deregister(msg.sender, p);
        emit UnbondRequested(msg.sender, amount, unbonding, readyAt);
    }

    /// @notice After the unbonding delay, credits all unbonding stake to the caller's balance (then `withdraw`).
    ///         Works while paused.
    function completeUnbond() external {
        Provider storage p = _providers[msg.sender];
        uint256 amount = p.unbonding;
        if (amount == 0) revert NothingUnbonding(msg.sender);
        if (block.timestamp < p.unbondReadyAt) revert UnbondingNotReady(p.unbondReadyAt);
        p.unbonding = 0;
        _credit(msg.sender, amount);
        emit Unbonded(msg.sender, amount);
    }

    /// @notice A provider's stake and reputation counters in one call.
    function providerInfo(address provider) external view returns (ProviderInfo memory) {
        Provider storage p = _providers[provider];
        return ProviderInfo({
            registered: p.listPosition != 0,
            stake: p.stake,
            lockedStake: p.lockedStake,
            unbonding: p.unbonding,
            unbondReadyAt: p.unbondReadyAt,
            jobsSettled: p.jobsSettled,
            jobsChallenged: p.jobsChallenged,
            jobsSlashed: p.jobsSlashed,
            id: p.id
        });
    }

    /// @notice How many providers are registered; with `providerAt`, lets anyone page through the registry.
    function providerCount() external view returns (uint256) {
        return _providerList.length;
    }

    function providerAt(uint256 index) external view returns (address) {
        return _providerList[index];
    }

    /// @dev Locks up to `wanted` of the provider's stake for a challenge, reclaiming unbonding stake when the free
    ///      stake falls short. Returns what was locked (possibly less than wanted, possibly zero).
    function _lockStake(address provider, uint256 wanted) internal returns (uint256 locked) {
        Provider storage p = _providers[provider];
        uint256 free = p.stake - p.lockedStake;
        if (wanted > free && p.unbonding != 0) {
            uint256 reclaimed = wanted - free;
            if (reclaimed > p.unbonding) reclaimed = p.unbonding;
            p.unbonding -= uint96(reclaimed);
            p.stake += uint96(reclaimed);
            free += reclaimed;
            emit UnbondingReclaimed(provider, reclaimed);
        }
        locked = wanted < free ? wanted : free;
        p.lockedStake += uint96(locked);
    }

    /// @dev Ends a challenge's lock, taking `slashed` (at most `locked`) out of the stake.
    function _unlockStake(address provider, uint256 locked, uint256 slashed) internal {
        Provider storage p = _providers[provider];
        p.lockedStake -= uint96(locked);
        if (slashed == 0) return;
        p.stake -= uint96(slashed);
        if (p.listPosition != 0 && p.stake < MIN_STAKE) _deregister(provider, p);
    }

    /// @dev Draws a registered provider other than `creator` and `provider` from `seed`. Probing at most three
    ///      consecutive entries is enough, since at most two are excluded. Returns zero when no one is eligible.
    ///      (An excluded entry's successor is twice as likely; with many providers that bias is negligible.)
    function _drawMediator(uint256 seed, address creator, address provider) internal view returns (address) {
        uint256 count = _providerList.length;
        if (count == 0) return address(0);
        uint256 start = seed % count;
        uint256 probes = count < 3 ? count : 3;
        for (uint256 i; i < probes; ++i) {
            address candidate = _providerList[(start + i) % count];
            if (candidate != creator && candidate != provider) return candidate;
        }
        return address(0);
    }

    function _deregister(address provider, Provider storage p) private {
        uint256 index = p.listPosition - 1;
        uint256 last = _providerList.length - 1;
        if (index != last) {
            address moved = _providerList[last];
            _providerList[index] = moved;
            _providers[moved].listPosition = uint32(index + 1);
        }
        _providerList.pop();
        p.listPosition = 0;
        emit ProviderDeregistered(provider, p.stake);
    }
}
