/** The `tsdl` command line. Sub-commands are added by the kernel and runner issues. */

// Each sub-command lives in its own module and is loaded only when used, so `tsdl kernel` does
// not pay for the report renderer's libraries (and the reverse).
type ReportCommand = typeof import("./report/command");

export async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    // Runner and reports (kernel/runner, kernel/report): each parses its own arguments.
    case "report":
      process.exitCode = await (require("./report/command") as ReportCommand).reportCommand(rest);
      return;
    default:
      process.stderr.write(`tsdl: unknown command ${JSON.stringify(cmd ?? "")}\n`);
      process.exitCode = 2;
  }
}
