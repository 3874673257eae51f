// The relay the Firefox suite reads the server's side from (lib/wiretap.mjs), against
// the real server with a hand-made client: it records the handshake, every text frame
// the client sends and the close, relays both ways unchanged, and keeps the message
// types it is told to drop from the server.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { SERVER_BIN, startServer } from '../lib/harness.mjs';
import { LIVE_ARGS, accessToken, waitFor } from '../lib/live.mjs';
import { startWiretap } from '../lib/wiretap.mjs';

const skip = SERVER_BIN ? false : 'no server binary (QUIZPULSE_SERVER_BIN; cargo xtask test sets it)';

/** A masked client text frame (split in two fragments when `fragmented`). */
function frame(text, { fragmented = false } = {}) {
  const one = (opcode, fin, payload) => {
    const mask = randomBytes(4);
    const masked = Buffer.from(payload);
    for (let i = 0; i < masked.length; i += 1) masked[i] ^= mask[i % 4];
    const head = masked.length < 126 ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | masked.length]) : null;
    if (!head) throw new Error('test frames are short');
    return Buffer.concat([head, mask, masked]);
  };
  const bytes = Buffer.from(text, 'utf8');
  if (!fragmented) return one(0x1, true, bytes);
  const half = Math.floor(bytes.length / 2);
  return Buffer.concat([one(0x1, false, bytes.subarray(0, half)), one(0x0, true, bytes.subarray(half))]);
}

/** Connects a raw WebSocket client through `relay`; resolves with { socket, received() }. */
async function connect(relay, token) {
  const socket = net.connect({ host: '127.0.0.1', port: relay.port });
  let data = Buffer.alloc(0);
  socket.on('data', (chunk) => (data = Buffer.concat([data, chunk])));
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(
    `GET /ws/leaderboard/?token=${token} HTTP/1.1\r\nHost: 127.0.0.1:${relay.port}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await waitFor(() => data.includes('\r\n\r\n'), 10_000, 'the 101 answer');
  assert.match(data.toString('latin1'), /^HTTP\/1\.1 101/);
  // The server's frames are not masked and short here: read their text payloads.
  const received = () => {
    const body = data.subarray(data.indexOf('\r\n\r\n') + 4);
    const texts = [];
    for (let at = 0; at + 2 <= body.length; ) {
      let length = body[at + 1] & 0x7f;
      let start = at + 2;
      if (length === 126) {
        length = body.readUInt16BE(at + 2);
        start = at + 4;
      }
      if (start + length > body.length) break;
      if ((body[at] & 0x0f) === 0x1) texts.push(JSON.parse(body.subarray(start, start + length).toString('utf8')));
      at = start + length;
    }
    return texts;
  };
  return { socket, received };
}

describe('the relay in front of the server', { skip }, () => {
  let server;
  let token;
  before(async () => {
    server = await startServer({ args: LIVE_ARGS });
    token = await accessToken(server, 'alice');
  });
  after(async () => server?.stop());

  test('records the handshake, each client message (fragments joined) and the close; relays the rest', async () => {
    const tap = await startWiretap(server);
    try {
      const { socket, received } = await connect(tap, token);
      socket.write(frame('{"type": "subscribe_quiz", "quiz_id": "quadratics"}', { fragmented: true }));
      socket.write(frame('{"type": "ping", "id": 7}'));
      await waitFor(() => received().some((m) => m.type === 'pong' && m.id === 7), 10_000, 'the pong through the relay');
      assert.ok(received().some((m) => m.type === 'subscription_confirmed' && m.quiz_id === 'quadratics'));
      const [open] = tap.sockets();
      assert.equal(open.path, '/ws/leaderboard/');
      assert.equal(open.closedAt, null);
      assert.deepEqual(tap.messages('subscribe_quiz').map((m) => [m.quiz_id, m.socket]), [['quadratics', open.id]]);
      socket.destroy();
      await waitFor(() => tap.sockets()[0].closedAt !== null, 10_000, 'the close recorded');
    } finally {
      await tap.close();
    }
  });

  test('keeps the dropped types from the server, and records them', async () => {
    const tap = await startWiretap(server, { drop: ['ping'] });
    try {
      const { socket, received } = await connect(tap, token);
      socket.write(frame('{"type": "ping", "id": 1}'));
      socket.write(frame('{"type": "subscribe_quiz", "quiz_id": "circuits"}'));
      await waitFor(() => received().some((m) => m.type === 'subscription_confirmed'), 10_000, 'the confirmation after the dropped ping');
      // The server answers in order: with the subscription confirmed, a pong would have come first.
      assert.ok(!received().some((m) => m.type === 'pong'), JSON.stringify(received()));
      assert.equal(tap.messages('ping').length, 1);
      socket.destroy();
    } finally {
      await tap.close();
    }
  });
});
