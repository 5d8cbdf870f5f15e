#!/usr/bin/env node
// The `tsdl` command. The TypeScript sources compile to dist/ on `npm install` (the prepare script).
"use strict";
require("../../dist/kernel/cli.js").main(process.argv.slice(2));
