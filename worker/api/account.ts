// The chain a creator pays on, and their escrow as Pond has indexed it.
import { createRoute } from "@hono/zod-openapi";
import { AccountInfo as Account, ChainInfo } from "../../protocol/account.ts";
import { requireApiKey } from "../auth/requireApiKey.ts";
import { escrowOf } from "../chain/balances.ts";
import { indexerOf } from "../bindings/objects.ts";
import { chainOf, marketDomain } from "../config/chains.ts";
import { isChainConfigured } from "../config/config.ts";
import { bearer, createRouter, problems } from "./openapi.ts";

const chainRoute = createRoute({
  method: "get",
  path: "/chain",
  operationId: "getChain",
  security: [],
  summary: "The chain and contract jobs settle on, and the EIP-712 domain to sign job authorizations under",
  responses: { 200: { description: "Chain information", content: { "application/json": { schema: ChainInfo } } } },
});

const accountRoute = createRoute({
  method: "get",
  path: "/account",
  operationId: "getAccount",
  summary: "Your escrow: deposited, reserved by jobs on chain, about to be reserved, and free",
  security: bearer,
  middleware: [requireApiKey] as const,
  responses: { 200: { description: "The account", content: { "application/json": { schema: Account } } }, 401: problems[401] },
});

export const accountRoutes = createRouter()
  .openapi(chainRoute, (c) => {
    const config = c.get("config");
    const domain = marketDomain(config);
    return c.json(
      {
        settles_on_chain: isChainConfigured(config),
        chain: config.chain.name,
        chain_id: chainOf(config).id,
        market_address: config.chain.marketAddress ?? null,
        relayer_address: config.chain.relayerAddress ?? null,
        eip712_domain: { name: String(domain.name), version: String(domain.version), chainId: Number(domain.chainId), verifyingContract: String(domain.verifyingContract) },
      },
      200,
    );
  })
  .openapi(accountRoute, async (c) => {
    if (isChainConfigured(c.get("config"))) c.executionCtx.waitUntil(indexerOf(c.env).ensureRunning());
    const escrow = await escrowOf(c.get("db"), c.get("account"));
    return c.json(
      {
        address: c.get("account"),
        escrow: {
          balance_wei: escrow.balanceWei.toString(),
          reserved_wei: escrow.reservedWei.toString(),
          reserving_wei: escrow.reservingWei.toString(),
          available_wei: escrow.availableWei.toString(),
        },
      },
      200,
    );
  });
