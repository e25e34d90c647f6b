// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {MarketParams} from "./PondTypes.sol";

/// @title MarketConfig
/// @notice The market's rules and the owner's few levers. The owner can pause new work, name the relayer and the
///         treasury, and set the protocol fee below a hard cap. Nothing here, or anywhere else, lets the owner move
///         a user's funds: every balance is withdrawn only by its holder.
/// @dev The economic rules (stake, bond, windows, slashing) are immutables: a rule cannot change while jobs that
///      were priced under it are still open.
abstract contract MarketConfig is Ownable2Step, Pausable {
    /// @notice The protocol fee can never exceed 10% of a job's amount, whatever the owner sets.
    uint16 public constant MAX_PROTOCOL_FEE_BPS = 1_000;
    uint256 internal constant BPS = 10_000;

    uint256 internal immutable MIN_STAKE;
    uint256 internal immutable CHALLENGE_BOND;
    uint32 internal immutable CHALLENGE_WINDOW;
    uint32 internal immutable UNBONDING_DELAY;
    uint32 internal immutable MEDIATION_TIMEOUT;
    uint32 internal immutable RELEASE_GRACE;
    uint16 internal immutable SLASH_MULTIPLIER;
    uint16 internal immutable MEDIATOR_BOND_SHARE_BPS;
    uint16 internal immutable MEDIATOR_SLASH_SHARE_BPS;

    /// @notice The operator's hot key: the only caller of reserveJobs, the only one who may post results before a
    ///         job's authorization deadline, and the only one who may release (cancel) a job before it expires.
    address public relayer;
    /// @notice Fee on each settled job's amount, in basis points, read at settlement.
    uint16 public protocolFeeBps;
    /// @notice Where protocol fees are credited.
    address public treasury;

    event RelayerChanged(address indexed previousRelayer, address indexed newRelayer);
    event TreasuryChanged(address indexed previousTreasury, address indexed newTreasury);
    event ProtocolFeeChanged(uint16 previousFeeBps, uint16 newFeeBps);

    error NotRelayer(address caller);
    error ZeroAddress();
    error FeeAboveCap(uint256 feeBps, uint256 capBps);
    error InvalidParameter(string name);

    constructor(address initialOwner, address initialRelayer, address initialTreasury, uint16 feeBps, MarketParams memory params)
        Ownable(initialOwner)
    {
        if (params.minStake == 0 || params.minStake > type(uint96).max) revert InvalidParameter("minStake");
        if (params.challengeBond == 0 || params.challengeBond > type(uint96).max) revert InvalidParameter("challengeBond");
        if (params.challengeWindow == 0) revert InvalidParameter("challengeWindow");
        // Stake must still be in the contract when the last possible challenge comes to lock it.
        if (params.unbondingDelay <= params.challengeWindow) revert InvalidParameter("unbondingDelay");
        if (params.mediationTimeout == 0) revert InvalidParameter("mediationTimeout");
        if (params.slashMultiplier == 0) revert InvalidParameter("slashMultiplier");
        if (params.mediatorBondShareBps > BPS) revert InvalidParameter("mediatorBondShareBps");
        if (params.mediatorSlashShareBps > BPS) revert InvalidParameter("mediatorSlashShareBps");
        MIN_STAKE = params.minStake;
        CHALLENGE_BOND = params.challengeBond;
        CHALLENGE_WINDOW = params.challengeWindow;
        UNBONDING_DELAY = params.unbondingDelay;
        MEDIATION_TIMEOUT = params.mediationTimeout;
        RELEASE_GRACE = params.releaseGrace;
        SLASH_MULTIPLIER = params.slashMultiplier;
        MEDIATOR_BOND_SHARE_BPS = params.mediatorBondShareBps;
        MEDIATOR_SLASH_SHARE_BPS = params.mediatorSlashShareBps;
        _setRelayer(initialRelayer);
        _setTreasury(initialTreasury);
        _setProtocolFee(feeBps);
    }

    modifier onlyRelayer() {
        if (msg.sender != relayer) revert NotRelayer(msg.sender);
        _;
    }

    /// @notice The rules fixed at deployment, in one call.
    function marketParams() external view returns (MarketParams memory) {
        return MarketParams({
            minStake: MIN_STAKE,
            challengeBond: CHALLENGE_BOND,
            challengeWindow: CHALLENGE_WINDOW,
            unbondingDelay: UNBONDING_DELAY,
            mediationTimeout: MEDIATION_TIMEOUT,
            releaseGrace: RELEASE_GRACE,
            slashMultiplier: SLASH_MULTIPLIER,
            mediatorBondShareBps: MEDIATOR_BOND_SHARE_BPS,
            mediatorSlashShareBps: MEDIATOR_SLASH_SHARE_BPS
        });
    }

    /// @notice Names a new relayer. The zero address disables the relayer-only paths (an emergency stop for a leaked key).
    function setRelayer(address newRelayer) external onlyOwner {
        _setRelayer(newRelayer);
    }

    /// @notice Fees settled from now on are credited to `newTreasury`; fees already credited stay where they are.
    function setTreasury(address newTreasury) external onlyOwner {
        _setTreasury(newTreasury);
    }

    /// @notice Sets the fee taken from each job settled from now on, never above MAX_PROTOCOL_FEE_BPS.
    function setProtocolFee(uint16 feeBps) external onlyOwner {
        _setProtocolFee(feeBps);
    }

    /// @notice Stops new work (deposits, reservations, registrations). Withdrawals, results, settlement,
    ///         releases, challenges and unbonding keep working, so a pause can never trap anyone's funds.
    function pause() external onlyOwner {
        _pause();
    }

    function unpause() external onlyOwner {
        _unpause();
    }

    function _setRelayer(address newRelayer) private {
        emit RelayerChanged(relayer, newRelayer);
        relayer = newRelayer;
    }

    function _setTreasury(address newTreasury) private {
        // Fees credited to the zero address could never be withdrawn.
        if (newTreasury == address(0)) revert ZeroAddress();
        emit TreasuryChanged(treasury, newTreasury);
        treasury = newTreasury;
    }

    function _setProtocolFee(uint16 feeBps) private {
        if (feeBps > MAX_PROTOCOL_FEE_BPS) revert FeeAboveCap(feeBps, MAX_PROTOCOL_FEE_BPS);
        emit ProtocolFeeChanged(protocolFeeBps, feeBps);
        protocolFeeBps = feeBps;
    }
}
