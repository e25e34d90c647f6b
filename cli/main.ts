// `pond`: the command line for job creators and providers, built on the SDK.
//   pond login --api http://127.0.0.1:8787
//   pond run pond/echo@1.0.0 -p message=hi
//   pond run --image busybox --output out -- sh -c 'echo hi > /outputs/hi.txt'
//   pond jobs list | get | cancel | logs | outputs | download
// Every command takes --json; exit codes are listed in `pond --help`.
import { Command, CommanderError } from "commander";
import { registerAccount } from "./commands/account.ts";
import { registerJobs } from "./commands/jobs.ts";
import { registerProvider } from "./commands/provider.ts";
import { registerRun } from "./commands/run.ts";
import { registerSweep } from "./commands/sweep.ts";
import { registerTemplates } from "./commands/templates.ts";
import { registerVerify } from "./commands/verify.ts";
import { registerWebhooks } from "./commands/webhooks.ts";
import { contextOf } from "./context.ts";
import { reportCliError } from "./errors.ts";
import { exitCodeHelp, exitCodes } from "./exitCodes.ts";

const program = new Command("pond")
  .description("Send GPU jobs to the Pond network, and run a provider")
  .option("--api <url>", "the Pond API (default: the one from `pond login`)")
  .option("--json", "print results as JSON (errors as JSON on stderr)")
  .addHelpText("after", exitCodeHelp)
  .showHelpAfterError("(pond --help lists every command)")
  .exitOverride();

const ctx = () => contextOf(program);
registerAccount(program, ctx);
registerRun(program, ctx);
registerJobs(program, ctx);
registerSweep(program, ctx);
registerWebhooks(program, ctx);
registerTemplates(program, ctx);
registerProvider(program, ctx);
registerVerify(program, ctx);
// Subcommands inherit the top-level behaviour: throw instead of exiting, so exit codes stay ours.
for (const command of program.commands) command.exitOverride().showHelpAfterError();

program.parseAsync().catch((error: unknown) => {
  if (error instanceof CommanderError) {
    // Commander has already printed what was wrong (or the help that was asked for).
    process.exitCode = error.code === "commander.helpDisplayed" || error.code === "commander.help" || error.code === "commander.version" ? exitCodes.ok : exitCodes.usage;
    return;
  }
  process.exitCode = reportCliError(error, { debug: Boolean(process.env.POND_DEBUG), json: Boolean(program.opts<{ json?: boolean }>().json) });
});
