// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title AccountWord
/// @notice An escrow account packed in one storage word:
///         balance (bits 0-111) | reserved (112-223) | creator id (224-254) | opened flag (255).
/// @dev Why one raw word: a reservation, a settlement or a credit is then exactly one SLOAD and one SSTORE per
///      party, which batches of 100 jobs repeat for every job.
///      Why the flag: it is set on every credit and never cleared, so the word stays non-zero after a full
///      withdrawal and the next credit costs 2,900 gas instead of 20,000 (EIP-2200); providers are paid again and
///      again.
///      Why an id: a job's storage word names its creator by this 31-bit id instead of a 160-bit address (see
///      JobSlot); it is assigned on the account's first deposit and never changes.
///      Bounds: every amount is at most the ETH the contract holds, far below 2^112, so no field can overflow into
///      the next. Callers check that a debit is covered before making it; the functions here do not.
library AccountWord {
    uint256 private constant AMOUNT_MASK = (1 << 112) - 1;
    uint256 private constant RESERVED_SHIFT = 112;
    uint256 private constant ID_SHIFT = 224;
    uint256 private constant ID_MASK = (1 << 31) - 1;
    uint256 private constant OPENED = 1 << 255;

    /// @notice The largest creator id a word can hold.
    uint256 internal constant MAX_ID = ID_MASK;

    function balanceOf(uint256 word) internal pure returns (uint256) {
        return word & AMOUNT_MASK;
    }

    function reservedOf(uint256 word) internal pure returns (uint256) {
        return (word >> RESERVED_SHIFT) & AMOUNT_MASK;
    }

    /// @notice The part of the balance no open job reserves: what may be withdrawn or newly reserved.
    function availableOf(uint256 word) internal pure returns (uint256) {
        return balanceOf(word) - reservedOf(word);
    }

    function idOf(uint256 word) internal pure returns (uint256) {
        return (word >> ID_SHIFT) & ID_MASK;
    }

    function withId(uint256 word, uint256 id) internal pure returns (uint256) {
        return word | (id << ID_SHIFT);
    }

    function credited(uint256 word, uint256 amount) internal pure returns (uint256) {
        unchecked {
            return (word + amount) | OPENED;
        }
    }

    /// @dev The caller has checked amount <= availableOf(word), or that a reservation it is releasing covers it.
    function debited(uint256 word, uint256 amount) internal pure returns (uint256) {
        unchecked {
            return word - amount;
        }
    }

    /// @dev The caller has checked amount <= availableOf(word).
    function reserved(uint256 word, uint256 amount) internal pure returns (uint256) {
        unchecked {
            return word + (amount << RESERVED_SHIFT);
        }
    }

    /// @dev The caller knows `amount` is reserved: it was reserved for a job that is ending or shrinking.
    function released(uint256 word, uint256 amount) internal pure returns (uint256) {
        unchecked {
            return word - (amount << RESERVED_SHIFT);
        }
    }
}
