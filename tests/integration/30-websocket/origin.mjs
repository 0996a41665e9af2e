// origin.mjs - the `origins` option (conf/serve.sh --origins) refuses
// WebSocket upgrades from other origins with 403 in chat-ws, by the same
// rule chat.fcgi applies to the HTTP transports (core/origin.c).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { Inbox, frontMissing, startStack } from '../lib/stack.mjs';

const skip = frontMissing('lighttpd') || false;
let s;
before(async () => { if (!skip) s = await startStack({ front: 'lighttpd', origins: 'http://good.example, https://also.example' }); });
after(async () => { await s?.stop(); });

function open(url, origin) {
	const ws = new WebSocket(url, origin ? { origin } : {});
	const msgs = new Inbox();
	ws.on('message', (d) => msgs.push(d.toString()));
	ws.on('error', () => {});
	return new Promise((resolve) => {
		ws.on('open', () => resolve({ status: 101, ws, msgs }));
		ws.on('unexpected-response', (req, res) => { res.resume(); resolve({ status: res.statusCode }); });
	});
}

test('an Origin not listed is refused with 403 (SockJS and raw URLs)', { skip, timeout: 30000 }, async () => {
	for (const p of ['/echo/000/abc/websocket', '/echo/websocket', '/chat/000/abc/websocket']) {
		const r = await open(`${s.ws}${p}`, 'http://evil.example');
		assert.equal(r.status, 403, p);
	}
});

test('a listed Origin (any case) and no Origin are let in', { skip, timeout: 30000 }, async () => {
	for (const origin of ['http://good.example', 'HTTPS://ALSO.EXAMPLE', 'null', undefined]) {
		const r = await open(`${s.ws}/echo/websocket`, origin);
		assert.equal(r.status, 101, String(origin));
		r.ws.send('hi');
		assert.equal(await r.msgs.next(), 'hi');
		r.ws.close();
	}
});

test('chat.fcgi refuses the same Origin on the HTTP transports', { skip, timeout: 30000 }, async () => {
	let r = await fetch(`${s.http}/echo/000/abcdefgh/xhr`, { method: 'POST', headers: { origin: 'http://evil.example' } });
	assert.equal(r.status, 403);
	await r.text();
	r = await fetch(`${s.http}/echo/000/abcdefgh/xhr`, { method: 'POST', headers: { origin: 'http://good.example' } });
	assert.equal(r.status, 200);
	assert.equal(await r.text(), 'o\n');
});
