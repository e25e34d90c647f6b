// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {CompactSignature} from "./PondTypes.sol";

/// @title TypedSignatures
/// @notice Recovers who signed Pond's EIP-712 messages. The types mirror protocol/eip712.ts exactly
///         (domain: name "Pond", version "1", this chain, this contract), so a signature made for another chain
///         or another deployment recovers a different address and is refused.
/// @dev Malformed or malleable (high-s) signatures recover to the zero address instead of reverting, so each
///      caller reports them with its own error naming the job. Struct hashes are built in free memory without
///      moving the free-memory pointer, so a batch of 100 does not grow memory.
abstract contract TypedSignatures is EIP712 {
    bytes32 internal constant JOB_AUTHORIZATION_TYPEHASH =
        keccak256("JobAuthorization(bytes32 jobId,bytes32 specHash,uint256 maxPrice,uint64 deadline,bool tolerant)");
    bytes32 internal constant JOB_RESULT_TYPEHASH = keccak256("JobResult(bytes32 jobId,bytes32 resultHash,uint256 amount)");
    bytes32 internal constant MEDIATION_TYPEHASH = keccak256("Mediation(bytes32 jobId,bytes32 resultHash)");
    bytes32 internal constant VERDICT_TYPEHASH = keccak256("Verdict(bytes32 jobId,bytes32 resultHash,bytes32 rerunHash,bool upheld)");

    constructor() EIP712("Pond", "1") {}

    /// @notice The EIP-712 domain separator, for clients that want to check they sign for this deployment.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    function _jobAuthorizationHash(bytes32 jobId, bytes32 specHash, uint256 maxPrice, uint256 deadline, bool tolerant)
        internal
        pure
        returns (bytes32 structHash)
    {
        bytes32 typeHash = JOB_AUTHORIZATION_TYPEHASH;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, typeHash)
            mstore(add(ptr, 0x20), jobId)
            mstore(add(ptr, 0x40), specHash)
            mstore(add(ptr, 0x60), maxPrice)
            mstore(add(ptr, 0x80), deadline)
            mstore(add(ptr, 0xa0), tolerant)
            structHash := keccak256(ptr, 0xc0)
        }
    }

    function _jobResultHash(bytes32 jobId, bytes32 resultHash, uint256 amount) internal pure returns (bytes32 structHash) {
        bytes32 typeHash = JOB_RESULT_TYPEHASH;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, typeHash)
            mstore(add(ptr, 0x20), jobId)
            mstore(add(ptr, 0x40), resultHash)
            mstore(add(ptr, 0x60), amount)
            structHash := keccak256(ptr, 0x80)
        }
    }

    function _mediationHash(bytes32 jobId, bytes32 resultHash) internal pure returns (bytes32 structHash) {
        bytes32 typeHash = MEDIATION_TYPEHASH;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, typeHash)
            mstore(add(ptr, 0x20), jobId)
            mstore(add(ptr, 0x40), resultHash)
            structHash := keccak256(ptr, 0x60)
        }
    }

    /// @dev `resultHash` is the provider's signed claim (the challenge record's), so a verdict cannot be replayed
    ///      against another result of the same job.
    function _verdictHash(bytes32 jobId, bytes32 resultHash, bytes32 rerunHash, bool upheld) internal pure returns (bytes32 structHash) {
        bytes32 typeHash = VERDICT_TYPEHASH;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, typeHash)
            mstore(add(ptr, 0x20), jobId)
            mstore(add(ptr, 0x40), resultHash)
            mstore(add(ptr, 0x60), rerunHash)
            mstore(add(ptr, 0x80), upheld)
            structHash := keccak256(ptr, 0xa0)
        }
    }

    /// @dev The signer of a struct hash, from an EIP-2098 compact signature (zero if invalid).
    function _signerOf(bytes32 structHash, CompactSignature calldata signature) internal view returns (address signer) {
        (signer,,) = ECDSA.tryRecover(_hashTypedDataV4(structHash), signature.r, signature.yParityAndS);
    }

    /// @dev The signer of a struct hash, from a 65-byte signature (zero if invalid).
    function _signerOf(bytes32 structHash, bytes calldata signature) internal view returns (address signer) {
        (signer,,) = ECDSA.tryRecoverCalldata(_hashTypedDataV4(structHash), signature);
    }
}
