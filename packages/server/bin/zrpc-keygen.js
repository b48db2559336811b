#!/usr/bin/env node
// The zrpc-keygen command, compiled to dist/ (see zrpc-server.js beside it).
import '../dist/keygen.js';
