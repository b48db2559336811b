#!/usr/bin/env node
// The zrpc command. The CLI is compiled to dist/; this small file is what the
// package's `bin` names, so that installing the package (in this repository,
// before the build) finds the command's file in place.
import '../dist/cli.js';
