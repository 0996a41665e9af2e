// shutdown.mjs - SIGTERM to chat-ws closes every socket with 1001 (SockJS
// sockets get c[1001,...] first) and the sidecar exits.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { Inbox, frontMissing, startStack } from '../lib/stack.mjs';

const skip = frontMissing('lighttpd') || false;
let s;
before(async () => { if (!skip) s = await startStack({ front: 'lighttpd' }); });
after(async () => { await s?.stop(); });

function open(url) {
	const ws = new WebSocket(url);
	const msgs = new Inbox();
	const closed = new Inbox();
	ws.on('message', (d) => msgs.push(d.toString()));
	ws.on('close', (code, reason) => closed.push({ code, reason: reason.toString() }));
	return new Promise((resolve, reject) => {
		ws.on('open', () => resolve({ ws, msgs, closed }));
		ws.on('error', reject);
	});
}

test('SIGTERM closes SockJS and raw sockets with 1001, then chat-ws exits', { skip, timeout: 30000 }, async () => {
	const framed = await open(`${s.ws}/echo/000/bye/websocket`);
	const raw = await open(`${s.wsDirect}/echo/websocket`);
	assert.equal(await framed.msgs.next(), 'o');
	raw.ws.send('still here');
	assert.equal(await raw.msgs.next(), 'still here');
	process.kill(s.pids['chat-ws'], 'SIGTERM');
	assert.equal(await framed.msgs.next(), 'c[1001,"Server shutting down"]');
	assert.equal((await framed.closed.next()).code, 1001);
	assert.equal((await raw.closed.next()).code, 1001);
	for (let i = 0; i < 100; i++) {
		try {
			process.kill(s.pids['chat-ws'], 0);
		} catch {
			return; /* gone */
		}
		await new Promise((r) => setTimeout(r, 50));
	}
	assert.fail('chat-ws still runs 5 s after SIGTERM');
});
