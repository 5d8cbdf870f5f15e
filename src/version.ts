/** The tsdl package version, read from package.json. */
export const version: string = (require("../../package.json") as { version: string }).version;
