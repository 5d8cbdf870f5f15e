/** The `tsdl` command line. Sub-commands are added by the kernel and runner issues. */
export async function main(argv: string[]): Promise<void> {
  const [cmd] = argv;
  switch (cmd) {
    default:
      process.stderr.write(`tsdl: unknown command ${JSON.stringify(cmd ?? "")}\n`);
      process.exitCode = 2;
  }
}
