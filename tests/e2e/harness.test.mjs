// The harness itself: the reference-server helper that later suites build on.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SERVER_BIN, startServer } from './lib/harness.mjs';

test(
  'startServer runs the built reference server on a free loopback port with demo data',
  { skip: SERVER_BIN ? false : 'no server binary (QUIZPULSE_SERVER_BIN; cargo xtask test sets it)' },
  async () => {
    const server = await startServer();
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const response = await fetch(`${server.url}/api/token/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'alice', password: 'alice-pass' }),
        signal: AbortSignal.timeout(10_000),
      });
      assert.equal(response.status, 200);
      const tokens = await response.json();
      assert.equal(typeof tokens.access, 'string');
      assert.equal(typeof tokens.refresh, 'string');
    } finally {
      await server.stop();
    }
  },
);
