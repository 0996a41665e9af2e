// features.mjs - the STOMP broker's features end to end with
// @stomp/stompjs over each transport (sockjs-client's websocket,
// xhr-streaming, xhr-polling, eventsource, and raw /chat/websocket) through
// each front server: ERROR then close on bad input, transactions
// (BEGIN/SEND/ABORT and COMMIT), ACK/NACK with client-individual (NACK
// redelivers to a queue's only consumer, an unacknowledged message goes to the user's next
// subscription), heart-beat negotiation as the broker does it (it offers
// its stomp_heartbeat_ms, and takes the client's at the SockJS heartbeat
// or slower).  Frames
// stompjs cannot send (SEND before CONNECT, bad versions and heart-beats)
// go raw over /chat/websocket and over xhr_send.  Through lighttpd and
// Apache mod_fcgid (chat.mjs covers mod_proxy_fcgi too).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { FRONTS, frontMissing, sqlite, startStack } from '../lib/stack.mjs';
import { TRANSPORTS, chatBody, frame, parseFrames, rawStomp, makeRoom, roomId, stompConnect } from '../lib/stomp.mjs';

/* SockJS heartbeat 2 s: the floor of what the broker expects from clients. */
const HEARTBEAT_MS = 2000;
const stacks = {};
function stack(front) {
	stacks[front] ??= startStack({ front, testServices: false, options: { heartbeat_ms: HEARTBEAT_MS } });
	return stacks[front];
}
after(async () => {
	for (const p of Object.values(stacks))
		await (await p.catch(() => null))?.stop();
});

/** Shows that nothing else is in box before a marker sent after what
 * box got so far: send(marker) publishes it, and it is box's next item
 * (delivery is in order), so nothing came in between.  Returns the
 * marker's frame.  No waiting for an absence. */
async function nothingBefore(box, send) {
	const marker = `marker ${roomId('m')}`;
	await send(marker);
	const got = await box.next();
	assert.equal(got.body.includes(marker) ? marker : got.body, marker,
		`unexpected ${got.body ?? JSON.stringify(got)} before the marker`);
	return got;
}

/** Resolves once the server has noted a sign of life from session key
 * at least ms after its CONNECT (heard_ms in chat.db: the client's EOLs
 * keep coming and are counted).  Polled; bounded by the test. */
async function eolsHeard(s, key, ms) {
	const db = path.join(s.dir, 'chat.db');
	const q = `SELECT heard_ms - connected_ms FROM stomp_sessions WHERE session_id = '${key.replace(/'/g, "''")}'`;
	for (;;) {
		if (Number((await sqlite(db, q)).trim() || -1) >= ms)
			return;
		await new Promise((r) => setTimeout(r, 100));
	}
}

for (const front of FRONTS.filter((f) => f !== 'apache-proxy-fcgi')) {
	const skip = frontMissing(front) || false;
	for (const transport of TRANSPORTS) {
		const name = `${front} ${transport}`;

		test(`${name}: SEND to an unknown destination prefix gets ERROR (with receipt-id), then the close`, { skip, timeout: 60000 }, async () => {
			const s = await stack(front);
			const c = await stompConnect(s, transport, { login: 'eve' });
			c.client.publish({ destination: '/nowhere/x', body: 'x', headers: { receipt: 'bad-1' } });
			const e = await c.errors.next();
			assert.equal(e.headers.message, 'cannot send to /nowhere/x');
			assert.equal(e.headers['receipt-id'], 'bad-1');
			const closed = await c.closed.next();
			/* SockJS sessions close with 3001 "STOMP error"; a raw socket
			 * gets the same close code. */
			assert.equal(closed.code, 3001, JSON.stringify(closed));
			await c.close();
		});

		test(`${name}: an invalid chat post and a direct SEND to /topic get ERROR; nothing is published`, { skip, timeout: 60000 }, async () => {
			const s = await stack(front);
			const room = await makeRoom(s, 'bad');
			const watch = await stompConnect(s, 'xhr-streaming', { login: 'watcher' });
			const box = await watch.subscribeSync(`/topic/chat/room/${room}`);
			for (const [dest, body, message] of [
				[`/app/chat/room/${room}`, '{"text":"   "}', null],
				[`/app/chat/room/${room}`, '{"text":"x","$where":"1"}', null],
				[`/app/chat/room/${room}`, 'not json', null],
				[`/topic/chat/room/${room}`, '{"text":"direct"}', 'SEND to /topic is not allowed: send to /app'],
				['/app/chat/room/bad.room', '{"text":"x"}', 'no handler for /app/chat/room/bad.room'],
				['/app/nothing/here', '{"text":"x"}', 'no handler for /app/nothing/here'],
			]) {
				const c = await stompConnect(s, transport, { login: 'eve' });
				c.client.publish({ destination: dest, body, headers: { receipt: 'never' } });
				const e = await c.errors.next();
				if (message)
					assert.equal(e.headers.message, message);
				else
					assert.ok(e.headers.message.length > 0);
				assert.equal(e.headers['receipt-id'], 'never');
				assert.equal((await c.closed.next()).code, 3001);
				await c.close();
			}
			await watch.post(room, 'the only one');
			assert.equal(chatBody(await box.next()).text, 'the only one');
			await nothingBefore(box, (m) => watch.post(room, m));
			await watch.close();
		});

		test(`${name}: transactions: ABORT drops the SENDs, COMMIT publishes them in order`, { skip, timeout: 60000 }, async () => {
			const s = await stack(front);
			const c = await stompConnect(s, transport, { login: 'tom' });
			const room = await makeRoom(s, 'tx');
			const box = await c.subscribeSync(`/topic/chat/room/${room}`);
			const dest = `/app/chat/room/${room}`;
			const t1 = c.client.begin();
			c.client.publish({ destination: dest, body: '{"text":"aborted 1"}', headers: { transaction: t1.id } });
			c.client.publish({ destination: dest, body: '{"text":"aborted 2"}', headers: { transaction: t1.id } });
			t1.abort();
			const t2 = c.client.begin();
			c.client.publish({ destination: dest, body: '{"text":"committed 1"}', headers: { transaction: t2.id } });
			await c.post(room, 'outside, before the commit');
			c.client.publish({ destination: dest, body: '{"text":"committed 2"}', headers: { transaction: t2.id } });
			t2.commit();
			await c.post(room, 'after the commit');
			const texts = [];
			for (let i = 0; i < 4; i++)
				texts.push(chatBody(await box.next()).text);
			assert.deepEqual(texts, ['outside, before the commit', 'committed 1', 'committed 2', 'after the commit']);
			await nothingBefore(box, (m) => c.post(room, m));
			/* COMMIT of a transaction that is gone is an ERROR. */
			t1.commit();
			assert.equal((await c.errors.next()).headers.message, `no transaction ${t1.id}`);
			await c.close();
		});

		test(`${name}: client-individual: NACK redelivers, ACK settles, the unacknowledged go to the user's next subscription`, { skip, timeout: 60000 }, async () => {
			const s = await stack(front);
			const queue = `/queue/${roomId('jobs')}`;
			const login = `worker-${transport}`;
			const w = await stompConnect(s, transport, { login });
			const box = await w.subscribeSync(queue, { ack: 'client-individual' });
			const p = await stompConnect(s, 'xhr-polling', { login: 'producer' });
			for (const job of ['job 1', 'job 2', 'job 3'])
				await p.send(queue, job, { 'content-type': 'text/plain' });
			const m1 = await box.next();
			const m2 = await box.next();
			const m3 = await box.next();
			assert.deepEqual([m1.body, m2.body, m3.body], ['job 1', 'job 2', 'job 3']);
			for (const m of [m1, m2, m3]) {
				assert.ok(m.headers.ack, 'an ack header');
				assert.equal(m.headers['content-type'], 'text/plain');
			}
			/* Alone on its queue, the worker gets a NACKed job back (as a
			 * new delivery, queues.mjs has it go to the next consumer). */
			m1.nack();
			const again = await box.next();
			assert.equal(again.body, 'job 1');
			assert.equal(again.headers['user-name'], 'producer');
			again.ack();
			m2.ack();
			/* Nor job 3 again, nor anything else: a later job is next. */
			(await nothingBefore(box, (m) => p.send(queue, m, { 'content-type': 'text/plain' }))).ack();
			/* job 3 stays unacknowledged when the worker leaves: the same
			 * user's next subscription to the queue gets it, and only it. */
			await w.close();
			const w2 = await stompConnect(s, transport, { login });
			const box2 = await w2.subscribeSync(queue, { ack: 'client-individual' });
			const m = await box2.next();
			assert.equal(m.body, 'job 3');
			m.ack();
			(await nothingBefore(box2, (x) => p.send(queue, x, { 'content-type': 'text/plain' }))).ack();
			await w2.close();
			await p.close();
		});

		test(`${name}: heart-beat negotiation: the broker offers 10000 and takes the client's at ${HEARTBEAT_MS} ms or slower`, { skip, timeout: 60000 }, async () => {
			const s = await stack(front);
			for (const [cx, cy, expect] of [
				[0, 0, '10000,0'],
				[0, 10000, '10000,0'],
				[500, 0, `10000,${HEARTBEAT_MS}`],
				[5000, 5000, '10000,5000'],
			]) {
				const c = await stompConnect(s, transport, { login: 'hb', heartbeat: [cx, cy] });
				assert.equal(c.connected.headers['heart-beat'], expect, `client ${cx},${cy}`);
				await c.close();
			}
			/* A client heart-beating at the negotiated rate stays usable
			 * over several of its periods: its EOLs are taken as
			 * heart-beats (the server notes them; awaited, not slept
			 * for).  When a silent one is ended is a C test on a fake
			 * clock (tests/unit/db/test_heartbeat.c). */
			const c = await stompConnect(s, transport, { login: 'hb', heartbeat: [500, 0] });
			const room = await makeRoom(s, 'hb');
			const box = await c.subscribeSync(`/topic/chat/room/${room}`);
			await eolsHeard(s, c.connected.headers.session, 3 * 500);
			await c.post(room, 'still here');
			assert.equal(chatBody(await box.next()).text, 'still here');
			/* An ERROR would have come before the message. */
			assert.deepEqual(c.errors.items, []);
			await c.close();
		});
	}

	test(`${front} raw WebSocket frames: SEND before CONNECT, bad versions and heart-beats get ERROR and 3001`, { skip, timeout: 60000 }, async () => {
		const s = await stack(front);
		for (const [f, message] of [
			[frame('SEND', { destination: '/topic/x', receipt: 'r1' }, 'hi'), 'not connected: CONNECT first'],
			[frame('CONNECT', { 'accept-version': '2.0', host: 'x' }), 'Supported protocol versions are 1.0,1.1,1.2'],
			[frame('CONNECT', { 'accept-version': '1.2', host: 'x', 'heart-beat': '10' }), 'invalid heart-beat header'],
			[frame('CONNECT', { 'accept-version': '1.2', host: 'x' }) + frame('CONNECT', { 'accept-version': '1.2', host: 'x' }), 'already connected'],
			['NOTACOMMAND\n\n\0', null],
		]) {
			const c = await rawStomp(s);
			c.ws.send(f);
			let e = await c.frames.next();
			if (e.command === 'CONNECTED')
				e = await c.frames.next();
			assert.equal(e.command, 'ERROR', JSON.stringify(e));
			if (message)
				assert.equal(e.headers.message, message);
			if (f.includes('receipt:r1'))
				assert.equal(e.headers['receipt-id'], 'r1');
			assert.equal((await c.closed.next()).code, 3001);
		}
	});

	test(`${front} raw WebSocket frames: version negotiation, DISCONNECT's RECEIPT then close 1000`, { skip, timeout: 60000 }, async () => {
		const s = await stack(front);
		for (const [accept, version] of [['1.0,1.1', '1.1'], [null, '1.0'], ['1.1,1.2,3.0', '1.2']]) {
			const c = await rawStomp(s);
			const h = { host: 'x', login: 'raw' };
			if (accept)
				h['accept-version'] = accept;
			c.ws.send(frame('CONNECT', h));
			const f = await c.frames.next();
			assert.equal(f.command, 'CONNECTED');
			assert.equal(f.headers.version, version);
			c.ws.send(frame('DISCONNECT', { receipt: 'bye' }));
			const r = await c.frames.next();
			assert.deepEqual([r.command, r.headers['receipt-id']], ['RECEIPT', 'bye']);
			assert.equal((await c.closed.next()).code, 1000);
		}
	});

	test(`${front} xhr_send: SEND before CONNECT over the SockJS HTTP transport gets ERROR, then c[3001]`, { skip, timeout: 60000 }, async () => {
		const s = await stack(front);
		const base = `${s.http}/chat/000/raw${Date.now()}`;
		let r = await fetch(`${base}/xhr`, { method: 'POST' });
		assert.equal(await r.text(), 'o\n');
		r = await fetch(`${base}/xhr_send`, {
			method: 'POST', body: JSON.stringify([frame('SEND', { destination: '/topic/x' }, 'hi')]),
			headers: { 'content-type': 'text/plain' },
		});
		assert.equal(r.status, 204);
		const got = [];
		for (let i = 0; i < 5 && !got.some((x) => x.startsWith('c[')); i++) {
			r = await fetch(`${base}/xhr`, { method: 'POST' });
			got.push(...(await r.text()).split('\n').filter((x) => x));
		}
		const a = got.find((x) => x.startsWith('a['));
		const frames = parseFrames(JSON.parse(a.slice(1))[0]);
		assert.equal(frames[0].command, 'ERROR');
		assert.equal(frames[0].headers.message, 'not connected: CONNECT first');
		assert.equal(got[got.length - 1], 'c[3001,"STOMP error"]');
	});
}
