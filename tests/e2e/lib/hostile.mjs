// A tiny hostile server for the worker's robustness test: just enough of the contract
// to sign in and connect (token, empty reads, one socket), plus the power to send
// anything down the socket: malformed JSON, unknown types, huge frames, binary frames.
// A test peer only; node's http and crypto, no dependencies.

import { createHash } from 'node:crypto';
import http from 'node:http';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

function b64url(value) {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** An unsigned JWT with the claims the extension reads (it never verifies). */
function jwt(type, lifetimeS) {
  const now = Math.floor(Date.now() / 1000);
  return `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({
    token_type: type,
    exp: now + lifetimeS,
    iat: now,
    jti: `${type}-${now}-${Math.random()}`,
    user_id: '1',
  })}.c2lnbmF0dXJl`;
}

/** One server frame (FIN set, unmasked): opcode 1 text, 2 binary. */
function frame(opcode, payload) {
  const length = payload.length;
  let header;
  if (length < 126) {
    header = Buffer.from([0x80 | opcode, length]);
  } else if (length < 65536) {
    header = Buffer.alloc(4);
    header[0] = 0x80 | opcode;
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x80 | opcode;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([header, payload]);
}

/** Reads the client's (masked) frames from a socket's data stream: text and close. */
function frameReader(onText, onClose) {
  let buffer = Buffer.alloc(0);
  return (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      if (buffer.length < 2) return;
      const opcode = buffer[0] & 0x0f;
      let length = buffer[1] & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffer.length < 4) return;
        length = buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffer.length < 10) return;
        length = Number(buffer.readBigUInt64BE(2));
        offset = 10;
      }
      const masked = (buffer[1] & 0x80) !== 0;
      const maskOffset = offset;
      if (masked) offset += 4;
      if (buffer.length < offset + length) return;
      const payload = Buffer.from(buffer.subarray(offset, offset + length));
      if (masked) {
        for (let i = 0; i < payload.length; i += 1) payload[i] ^= buffer[maskOffset + (i % 4)];
      }
      buffer = buffer.subarray(offset + length);
      if (opcode === 1) onText(payload.toString('utf8'));
      if (opcode === 8) onClose(payload.length >= 2 ? payload.readUInt16BE(0) : 1005, payload.subarray(2).toString('utf8'));
    }
  };
}

/**
 * Starts the hostile server on a free port of loopback `host`. Returns { url, handshakes, connections, open,
 * received, closes, sendText(text), sendBinary(bytes), close() }: `connections` counts
 * socket handshakes, `received` holds the client's text frames, `closes` the close
 * frames it sent ({code, reason}).
 */
export async function startHostileServer({ host = '127.0.0.1' } = {}) {
  const sockets = [];
  const received = [];
  const closes = [];
  let connections = 0;
  const server = http.createServer((request, response) => {
    const reply = (status, body) => {
      response.writeHead(status, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    const path = request.url.split('?')[0];
    if (request.method === 'POST' && path === '/api/token/') {
      request.resume();
      request.on('end', () => reply(200, { access: jwt('access', 3600), refresh: jwt('refresh', 86400) }));
      return;
    }
    if (request.method === 'POST' && path === '/api/token/refresh/') {
      request.resume();
      request.on('end', () => reply(200, { access: jwt('access', 3600) }));
      return;
    }
    if (path === '/api/users/me/performance/') {
      reply(200, { user: { id: '1', username: 'mallory' }, subjects: [], recent_sessions: [] });
      return;
    }
    if (path.startsWith('/api/')) {
      reply(200, []);
      return;
    }
    reply(404, { detail: 'Not found.' });
  });
  server.on('upgrade', (request, socket) => {
    const key = request.headers['sec-websocket-key'];
    if (!request.url.startsWith('/ws/leaderboard/') || !key) {
      socket.destroy();
      return;
    }
    connections += 1;
    const accept = createHash('sha1').update(key + GUID).digest('base64');
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    socket.on(
      'data',
      frameReader(
        (text) => received.push(text),
        (code, reason) => {
          closes.push({ code, reason });
          const echo = Buffer.alloc(2);
          echo.writeUInt16BE(code);
          socket.end(frame(8, echo));
        },
      ),
    );
    socket.on('error', () => {});
    socket.on('close', () => sockets.splice(sockets.indexOf(socket), 1));
    sockets.push(socket);
  });
  const handshakes = [];
  server.on('upgrade', (request) => handshakes.push(request.url));
  await new Promise((resolve) => server.listen(0, host, resolve));
  const { port } = server.address();
  return {
    url: `http://${host}:${port}`,
    /** The URL of every socket handshake (query included). */
    handshakes,
    get connections() {
      return connections;
    },
    get open() {
      return sockets.length;
    },
    received,
    closes,
    sendText(text) {
      for (const s of sockets) s.write(frame(1, Buffer.from(text, 'utf8')));
    },
    sendBinary(bytes) {
      for (const s of sockets) s.write(frame(2, Buffer.from(bytes)));
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
