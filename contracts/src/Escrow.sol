// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {AccountWord} from "./AccountWord.sol";
import {MarketConfig} from "./MarketConfig.sol";
import {CreditReason} from "./PondTypes.sol";

/// @title Escrow
/// @notice One internal balance per address holds a creator's escrow and everything the market owes anyone:
///         provider earnings, refunds, bonds, mediator rewards, protocol fees, unbonded stake. Money leaves the
///         contract only through `withdraw`, called by the balance's holder (pull payments): no transfer to a
///         third party can fail a settlement or be used to re-enter it.
/// @dev `reserved` is the part of `balance` that open jobs may still spend. Invariant: reserved <= balance.
///      Each account is one storage word (AccountWord). A depositor gets a creator id on its first deposit, so
///      jobs can name it in 32 bits (JobSlot).
abstract contract Escrow is MarketConfig, ReentrancyGuardTransient {
    using AccountWord for uint256;

    mapping(address account => uint256 word) internal _accounts;
    mapping(uint256 creatorId => address) internal _creatorById;
    uint256 internal _creatorCount;

    event Deposited(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice A balance grew for a reason other than a deposit, a settled job (JobSettled), a released
    ///         reservation (JobReleased, which frees escrow without moving it) or unbonding (Unbonded).
    event Credited(address indexed account, bytes32 indexed jobId, uint256 amount, CreditReason reason);

    error ZeroAmount();
    error InsufficientFreeBalance(uint256 available, uint256 requested);
    error TransferFailed(address to, uint256 amount);
    error TooManyCreators();

    /// @notice Adds the ETH sent to the caller's balance (its job escrow). Paused with the rest of new work.
    function deposit() external payable whenNotPaused {
        if (msg.value == 0) revert ZeroAmount();
        uint256 word = _accounts[msg.sender];
        if (word.idOf() == 0) {
            uint256 id = ++_creatorCount;
            if (id > AccountWord.MAX_ID) revert TooManyCreators();
            _creatorById[id] = msg.sender;
            word = word.withId(id);
        }
        _accounts[msg.sender] = word.credited(msg.value);
        emit Deposited(msg.sender, msg.value);
    }

    /// @notice Sends `amount` of the caller's balance that no open job reserves. Works while paused.
    /// @dev Checks, effects, then the one external call of the whole contract, behind a reentrancy guard.
    function withdraw(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint256 word = _accounts[msg.sender];
        uint256 available = word.availableOf();
        if (amount > available) revert InsufficientFreeBalance(available, amount);
        _accounts[msg.sender] = word.debited(amount);
        emit Withdrawn(msg.sender, amount);
        (bool sent,) = payable(msg.sender).call{value: amount}("");
        if (!sent) revert TransferFailed(msg.sender, amount);
    }

    /// @notice An address's balance and the part of it open jobs reserve; `balance - reserved` is withdrawable.
    function accountOf(address account) external view returns (uint256 balance, uint256 reserved) {
        uint256 word = _accounts[account];
        return (word.balanceOf(), word.reservedOf());
    }

    /// @dev Every amount credited is held by the contract (a deposit, a reservation, a bond, a stake), so no
    ///      balance can reach 2^112.
    function _credit(address account, uint256 amount) internal {
        _accounts[account] = _accounts[account].credited(amount);
    }

    function _creditFor(address account, bytes32 jobId, uint256 amount, CreditReason reason) internal {
        if (amount == 0) return;
        _credit(account, amount);
        emit Credited(account, jobId, amount, reason);
    }
}
