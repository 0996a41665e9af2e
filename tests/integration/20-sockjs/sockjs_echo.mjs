// sockjs_echo.mjs URL TRANSPORT MESSAGES_JSON
//
// The real sockjs-client (npm) in Node: opens URL over TRANSPORT only,
// sends each message of MESSAGES_JSON (a JSON array of strings) in turn,
// waits for every echo, then closes.  Prints one JSON line:
// {"transport": the transport sockjs-client used, "received": [...],
//  "close": {"code", "reason"}} and exits 0; exits 1 with a reason on a
// timeout or an unexpected close.  Used by test_sockjs_client.py.
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.CHAT_NODE_MODULES || '.', 'noop.js'));
const SockJS = require('sockjs-client');

const [url, transport, messagesJson] = process.argv.slice(2);
const messages = JSON.parse(messagesJson);
const received = [];
// Exit only once the line is written: stdout to a pipe is asynchronous.
const finish = (result, code) => process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(code));
const timer = setTimeout(() => finish({ error: 'timeout', received: received.length }, 1), 30000);

const sock = new SockJS(url, null, { transports: [transport] });
let used = null;
sock.onopen = () => {
  used = sock.transport;
  for (const m of messages) sock.send(m);
};
sock.onmessage = (e) => {
  received.push(e.data);
  if (received.length === messages.length) sock.close(1000, 'done');
};
sock.onclose = (e) => {
  clearTimeout(timer);
  finish({ transport: used, received, close: { code: e.code, reason: e.reason } },
    e.code === 1000 && received.length === messages.length ? 0 : 1);
};
