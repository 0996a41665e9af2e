// prefixes.mjs - destinations, endpoints and origins as options, with
// Spring's meaning (core/dest.h, core/route.h, core/origin.h), through
// lighttpd (and the two endpoints through Apache mod_fcgid): a stack
// configured as the "/pub" + "/sub" tutorials are, at two endpoints, with
// an origin pattern.  The chat application answers
// under the configured prefixes only, GET /api/config tells a page the
// configuration, every endpoint serves SockJS and its raw WebSocket, and
// the origin pattern (Spring's setAllowedOriginPatterns syntax) is applied
// to the HTTP transports and to WebSocket upgrades alike.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { frontMissing, startStack } from '../lib/stack.mjs';
import { roomId, stompConnect } from '../lib/stomp.mjs';

const skip = frontMissing('lighttpd') || false;
const CONFIG = { testServices: false,
	origins: 'http://*.good.test:[*], https://app.good.test:[8443,9443]',
	options: { endpoints: '"/stomp/chat, /ws/chat"', app_prefixes: '/pub',
		broker_prefixes: '"/sub, /jobs/queue"', user_prefix: '/me' } };
let s, apache;
before(async () => {
	if (!skip)
		s = await startStack({ front: 'lighttpd', ...CONFIG });
});
after(async () => {
	await s?.stop();
	await apache?.stop();
});

const notice = (m) => JSON.parse(m.body).type !== undefined;

test('GET /api/config gives the endpoints and the prefixes the chat application uses', { skip }, async () => {
	const r = await fetch(`${s.http}/api/config`);
	assert.equal(r.status, 200);
	assert.deepEqual(await r.json(), {
		endpoints: ['/stomp/chat', '/ws/chat'], app_prefixes: ['/pub'],
		broker_prefixes: ['/sub', '/jobs/queue'], user_prefix: '/me',
		app: '/pub', topic: '/sub', user_queue: '/me/jobs/queue', websocket: true,
	});
	assert.equal((await fetch(`${s.http}/chat/info`)).status, 404, 'the default endpoint is not served');
});

/* A room of its own, a post to it under /pub, and the post back under /sub. */
async function roundTrip(st, endpoint, transport, login) {
	const room = roomId('pfx');
	const c = await stompConnect(st, transport, { login, prefix: endpoint });
	try {
		const made = await c.send('/pub/rooms', JSON.stringify({ name: room }), { 'content-type': 'application/json' });
		assert.equal(made.command, 'RECEIPT');
		const box = await c.subscribeSync(`/sub/chat/room/${room}`);
		await c.send(`/pub/chat/room/${room}`, JSON.stringify({ text: 'hello /sub' }), { 'content-type': 'application/json' });
		let m;
		do
			m = await box.next();
		while (notice(m));
		assert.equal(m.headers.destination, `/sub/chat/room/${room}`);
		assert.equal(JSON.parse(m.body).text, 'hello /sub');
	} finally {
		await c.close();
	}
}

const apacheSkip = frontMissing('apache-fcgid') || skip;
test('apache-fcgid routes both endpoints (conf/serve.sh --endpoints): xhr-polling at /stomp/chat, raw WebSocket at /ws/chat', { skip: apacheSkip, timeout: 60000 }, async () => {
	apache = await startStack({ front: 'apache-fcgid', ...CONFIG });
	await roundTrip(apache, '/stomp/chat', 'xhr-polling', 'pfxapache1');
	await roundTrip(apache, '/ws/chat', 'raw', 'pfxapache2');
});

for (const [endpoint, transport] of [['/stomp/chat', 'xhr-streaming'], ['/ws/chat', 'raw']]) {
	test(`${endpoint} (${transport}): a post to /pub/chat/room/R comes back on /sub/chat/room/R`, { skip, timeout: 30000 }, async () => {
		await roundTrip(s, endpoint, transport, `pfx${transport.replace(/-/g, '')}`);
	});
}

test('history, presence and ENTER/LEAVE notices follow the prefixes', { skip, timeout: 30000 }, async () => {
	const room = roomId('pfxh');
	const a = await stompConnect(s, 'raw', { login: 'pfxha', prefix: '/ws/chat' });
	const b = await stompConnect(s, 'xhr-polling', { login: 'pfxhb', prefix: '/stomp/chat' });
	try {
		await a.send('/pub/rooms', JSON.stringify({ name: room }), { 'content-type': 'application/json' });
		const seen = await a.subscribeSync(`/sub/chat/room/${room}`);
		await b.subscribeSync(`/sub/chat/room/${room}`);
		const enter = await seen.next();
		assert.deepEqual([JSON.parse(enter.body).type, JSON.parse(enter.body).user], ['ENTER', 'pfxha']);
		assert.equal(JSON.parse((await seen.next()).body).user, 'pfxhb');
		const who = b.subscribe(`/pub/chat/room/${room}/presence`);
		assert.deepEqual(JSON.parse((await who.next()).body), ['pfxha', 'pfxhb']);
		await b.send(`/pub/chat/room/${room}`, JSON.stringify({ text: 'kept' }), { 'content-type': 'application/json' });
		const hist = b.subscribe(`/pub/chat/room/${room}/history`, { limit: '10' });
		assert.deepEqual(JSON.parse((await hist.next()).body).map((m) => m.text), ['kept']);
		await b.close();
		let m;
		do
			m = JSON.parse((await seen.next()).body);
		while (m.type !== 'LEAVE');
		assert.equal(m.user, 'pfxhb');
	} finally {
		await a.close();
		await b.close();
	}
});

test('the default prefixes are not the chat application\'s any more: SEND /app/... gets ERROR', { skip, timeout: 30000 }, async () => {
	const c = await stompConnect(s, 'raw', { login: 'pfxold', prefix: '/ws/chat' });
	try {
		c.client.publish({ destination: '/app/chat/room/general', body: JSON.stringify({ text: 'x' }) });
		const e = await c.errors.next();
		assert.match(e.headers.message, /\/app\/chat\/room\/general/);
	} finally {
		await c.close();
	}
});

test('a broker prefix ending in /queue hands jobs in turn; /me/jobs/queue/... is the user\'s own queue', { skip, timeout: 30000 }, async () => {
	const q = `/jobs/queue/${roomId('j')}`;
	const w1 = await stompConnect(s, 'raw', { login: 'pfxw1', prefix: '/ws/chat' });
	const w2 = await stompConnect(s, 'raw', { login: 'pfxw2', prefix: '/ws/chat' });
	try {
		const b1 = await w1.subscribeSync(q);
		const b2 = await w2.subscribeSync(q);
		for (let i = 0; i < 4; i++)
			await w1.send(q, `job ${i}`);
		const got = [(await b1.next()).body, (await b2.next()).body, (await b1.next()).body, (await b2.next()).body];
		assert.deepEqual(got.sort(), ['job 0', 'job 1', 'job 2', 'job 3']);
		const own = await w2.subscribeSync('/me/jobs/queue/inbox');
		await w1.send('/me/pfxw2/jobs/queue/inbox', 'for w2');
		assert.equal((await own.next()).body, 'for w2');
	} finally {
		await w1.close();
		await w2.close();
	}
});

function upgrade(url, origin) {
	return new Promise((resolve) => {
		const ws = new WebSocket(url, { origin });
		ws.on('open', () => { ws.close(); resolve(101); });
		ws.on('unexpected-response', (req, res) => { res.resume(); resolve(res.statusCode); });
		ws.on('error', () => resolve(0));
	});
}

test('origin patterns: allowed and refused alike on xhr and on the WebSocket upgrade', { skip, timeout: 30000 }, async () => {
	const cases = [
		['http://a.good.test', true], ['http://x.y.good.test:8080', true],
		['https://app.good.test:9443', true], ['https://app.good.test', false],
		['https://app.good.test:8444', false], ['http://good.test', false],
		['http://a.good.test.evil', false],
	];
	let n = 0;
	for (const [origin, ok] of cases) {
		const r = await fetch(`${s.http}/stomp/chat/000/orig${String(++n).padStart(4, '0')}/xhr`,
			{ method: 'POST', headers: { origin } });
		await r.arrayBuffer();
		assert.equal(r.status === 403, !ok, `xhr from ${origin}: ${r.status}`);
		assert.equal(await upgrade(`${s.ws}/ws/chat/websocket`, origin), ok ? 101 : 403, `upgrade from ${origin}`);
	}
});
