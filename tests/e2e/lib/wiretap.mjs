// A loopback TCP relay in front of the real server that records what clients send
// on its WebSocket: each socket's handshake and every text frame a client sends
// (`subscribe_quiz`, `unsubscribe_quiz`, `ping`), so a test sees at the server's door
// what the extension asked for. Bytes are relayed unchanged both ways; only the
// client's side is read.

import net from 'node:net';

/**
 * Starts a relay on a free loopback port to `target` (a started server:
 * { port }). Returns { port, url, sockets(), sent(), close() }: `sockets()` lists
 * { id, at, path, closedAt } per WebSocket handshake, `sent()` lists
 * { socket, at, text } per client text frame, oldest first. `drop` names client
 * message types the relay keeps from the server (e.g. ['ping']: a server that never
 * answers pings, which the contract allows); they are still recorded.
 */
export async function startWiretap(target, { drop = [] } = {}) {
  const sockets = [];
  const sent = [];
  const conns = new Set();
  let nextId = 1;
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: target.port });
    conns.add(client);
    conns.add(upstream);
    const reader = clientReader((event) => {
      if (event.kind === 'handshake') {
        const socket = { id: nextId++, at: Date.now(), path: event.path, closedAt: null };
        sockets.push(socket);
        reader.socket = socket;
        return true;
      }
      if (event.kind === 'text' && reader.socket) {
        sent.push({ socket: reader.socket.id, at: Date.now(), text: event.text });
        let type = null;
        try {
          type = JSON.parse(event.text)?.type ?? null;
        } catch {
          // not JSON: relayed as it is
        }
        return !drop.includes(type);
      }
      return true;
    });
    client.on('data', (chunk) => {
      for (const bytes of reader.push(chunk)) upstream.write(bytes);
    });
    upstream.on('data', (chunk) => client.write(chunk));
    const end = () => {
      if (reader.socket && reader.socket.closedAt === null) reader.socket.closedAt = Date.now();
      client.destroy();
      upstream.destroy();
      conns.delete(client);
      conns.delete(upstream);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    sockets: () => sockets.map((s) => ({ ...s })),
    sent: () => sent.map((m) => ({ ...m })),
    /** The client messages of type `type` (parsed), with their socket and time. */
    messages(type) {
      return sent
        .map((m) => {
          try {
            return { ...JSON.parse(m.text), socket: m.socket, at: m.at };
          } catch {
            return null;
          }
        })
        .filter((m) => m && m.type === type);
    },
    async close() {
      for (const conn of conns) conn.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * Reads a client's byte stream: HTTP requests until one upgrades to a WebSocket
 * (reported as { kind: 'handshake', path }), then the client's frames (masked, as
 * clients must send them), text frames reported as { kind: 'text', text } with
 * fragments joined. `push(chunk)` returns the bytes to relay: everything, but the
 * frames of a message `report` answered `false` for (a fragmented message is relayed
 * as it comes).
 */
function clientReader(report) {
  let buffer = Buffer.alloc(0);
  let upgraded = false;
  let fragments = null;
  const reader = {
    socket: null,
    push(chunk) {
      const relay = [];
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (!upgraded) {
          const end = buffer.indexOf('\r\n\r\n');
          if (end < 0) break;
          const head = buffer.subarray(0, end).toString('latin1');
          const [requestLine] = head.split('\r\n');
          const [, path = ''] = requestLine.split(' ');
          if (/^upgrade:\s*websocket\s*$/im.test(head)) {
            relay.push(buffer.subarray(0, end + 4));
            buffer = buffer.subarray(end + 4);
            upgraded = true;
            report({ kind: 'handshake', path: path.split('?')[0] });
            continue;
          }
          // A plain request: relayed with its body (by its length) once that is here.
          const length = Number(/^content-length:\s*(\d+)\s*$/im.exec(head)?.[1] ?? 0);
          if (buffer.length < end + 4 + length) break;
          relay.push(buffer.subarray(0, end + 4 + length));
          buffer = buffer.subarray(end + 4 + length);
          continue;
        }
        const frame = readFrame(buffer);
        if (!frame) break;
        const raw = buffer.subarray(0, frame.size);
        buffer = buffer.subarray(frame.size);
        let keep = true;
        if (frame.opcode === 0x1) {
          if (frame.fin) keep = report({ kind: 'text', text: frame.payload.toString('utf8') });
          else fragments = [frame.payload];
        } else if (frame.opcode === 0x0 && fragments) {
          fragments.push(frame.payload);
          if (frame.fin) {
            report({ kind: 'text', text: Buffer.concat(fragments).toString('utf8') });
            fragments = null;
          }
        }
        if (keep) relay.push(raw);
      }
      return relay;
    },
  };
  return reader;
}

/** One WebSocket frame from the start of `bytes`, unmasked; null until it is whole. */
function readFrame(bytes) {
  if (bytes.length < 2) return null;
  const fin = (bytes[0] & 0x80) !== 0;
  const opcode = bytes[0] & 0x0f;
  const masked = (bytes[1] & 0x80) !== 0;
  let length = bytes[1] & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (bytes.length < 4) return null;
    length = bytes.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (bytes.length < 10) return null;
    length = Number(bytes.readBigUInt64BE(2));
    offset = 10;
  }
  const mask = masked ? bytes.subarray(offset, offset + 4) : null;
  if (masked) offset += 4;
  if (bytes.length < offset + length) return null;
  const payload = Buffer.from(bytes.subarray(offset, offset + length));
  if (mask) for (let i = 0; i < payload.length; i += 1) payload[i] ^= mask[i % 4];
  return { fin, opcode, payload, size: offset + length };
}
