// ws_sessions.mjs - new WebSocket sessions are limited per client address
// (sessions_per_addr_rate / _burst), as the HTTP transports are: chat-ws
// sees the front server on 127.0.0.1 and takes the client's address from the
// X-Forwarded-For the front adds.  Past the burst a new socket is closed
// with 1013 "Try again later"; a client at another address is let in.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { Inbox, frontMissing, startStack } from '../lib/stack.mjs';

const BURST = 3;

function open(url, localAddress) {
	const ws = new WebSocket(url, localAddress ? { localAddress } : {});
	const msgs = new Inbox();
	ws.on('message', (d) => msgs.push(d.toString()));
	ws.on('error', () => {});
	const closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
	return new Promise((resolve, reject) => {
		ws.on('open', () => resolve({ ws, msgs, closed }));
		ws.on('unexpected-response', (req, res) => { res.resume(); reject(new Error(`HTTP ${res.statusCode}`)); });
	});
}

for (const front of ['lighttpd', 'apache-fcgid']) {
	const skip = frontMissing(front) || false;
	describe(front, () => {
		let s;
		before(async () => {
			if (!skip)
				s = await startStack({ front, options: { sessions_per_addr_rate: 0, sessions_per_addr_burst: BURST } });
		});
		after(async () => { await s?.stop(); });

		test(`${front}: past the burst a new WebSocket from one address is closed 1013; another address is let in`,
			{ skip, timeout: 60000 }, async () => {
				const kept = [];
				for (let i = 0; i < BURST; i++) {
					const c = await open(`${s.ws}/echo/websocket`);
					c.ws.send(`hi ${i}`);
					assert.equal(await c.msgs.next(), `hi ${i}`);
					kept.push(c);
				}
				const over = await open(`${s.ws}/echo/websocket`);
				const why = await over.closed;
				assert.equal(why.code, 1013);
				assert.equal(why.reason, 'Try again later');
				const other = await open(`${s.ws}/echo/websocket`, '127.0.0.2');
				other.ws.send('still here');
				assert.equal(await other.msgs.next(), 'still here');
				for (const c of [...kept, other])
					c.ws.close();
			});
	});
}
