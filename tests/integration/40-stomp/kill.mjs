// kill.mjs - SIGKILL during traffic (issue 5).
//
// A chat.fcgi process is KILLed under lighttpd during a burst of chat
// posts from two HTTP senders (xhr-polling and xhr-streaming, whose
// xhr_sends go through chat.fcgi) that wait for each RECEIPT and, when their
// session dies, reconnect and resend what was not receipted.  Afterwards
// every receipted post reached the WebSocket subscriber (held by chat-ws)
// and is in chat.db's outbox, lighttpd has replaced the process, and a new
// client gets through.  What the HTTP subscribers saw is reported: with no
// resume-from-last-id on this branch, a subscriber whose session died
// misses what was posted until it re-subscribed.
//
// chat-ws KILLed while a WebSocket client and an xhr-streaming client are
// connected: the WebSocket client sees its socket go (1006), the HTTP
// client keeps posting and receiving, serve.sh's supervisor starts a new
// chat-ws, and new WebSocket clients (raw and sockjs-client) get through
// and receive what the HTTP client posts.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { frontMissing, sqlite, startStack, waitWebSocket } from '../lib/stack.mjs';
import { chatBody, makeRoom, roomId, stompConnect } from '../lib/stomp.mjs';

const skip = frontMissing('lighttpd') || false;
const BURST = 150;
const stacks = [];
after(async () => {
	for (const s of stacks)
		await s.stop();
});
async function stack() {
	const s = await startStack({ front: 'lighttpd', testServices: false, fcgiProcs: 2 });
	stacks.push(s);
	return s;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* Posts `${tag}${i}` for i < n, each until it is receipted, reconnecting
 * after a failure; returns { receipted: [text], reconnects }. */
async function burst(s, transport, room, tag, n, onProgress) {
	const receipted = [];
	let reconnects = 0;
	let c = null;
	let lastError;
	for (let i = 0; i < n; i++) {
		for (;;) {
			try {
				c ??= await stompConnect(s, transport, { login: `sender-${tag}`, timeout: 5000 });
				await c.post(room, `${tag}${i}`);
				receipted.push(`${tag}${i}`);
				onProgress?.(receipted.length);
				break;
			} catch (e) {
				lastError = e.message;
				/* The session died (its process was killed): a new one. */
				await c?.close();
				c = null;
				reconnects++;
				assert.ok(reconnects < 20, `${transport}: 20 reconnects, the last after: ${lastError}`);
				await sleep(100);
			}
		}
	}
	await c?.close();
	return { receipted, reconnects };
}

test('lighttpd: SIGKILL of a chat.fcgi process during a receipted send burst loses no receipted post', { skip, timeout: 180000 }, async (t) => {
	const s = await stack();
	const room = await makeRoom(s, 'kill');
	const dest = `/topic/chat/room/${room}`;
	const ws = await stompConnect(s, 'websocket', { login: 'ws-watcher' });
	const wsBox = await ws.subscribeSync(dest);
	const http = {};
	for (const tr of ['xhr-streaming', 'eventsource', 'xhr-polling']) {
		const c = await stompConnect(s, tr, { login: `watch-${tr}` });
		http[tr] = { c, box: await c.subscribeSync(dest) };
	}
	const before = await s.chatFcgiPids();
	assert.equal(before.length, 2, `two chat.fcgi processes: ${before}`);

	let killed = null;
	let total = 0;
	const kill = () => {
		if (killed === null && ++total >= 40) {
			killed = before[0];
			process.kill(killed, 'SIGKILL');
		}
	};
	const [a, b] = await Promise.all([
		burst(s, 'xhr-polling', room, 'a', BURST, kill),
		burst(s, 'xhr-streaming', room, 'b', BURST, kill),
	]);
	assert.ok(killed !== null);
	t.diagnostic(`killed chat.fcgi ${killed} after 40 receipts; sender reconnects: xhr-polling ${a.reconnects}, xhr-streaming ${b.reconnects}`);
	const receipted = [...a.receipted, ...b.receipted];

	/* Every receipted post reaches the WebSocket subscriber, in order per sender. */
	const seen = [];
	const want = new Set(receipted);
	while ([...want].some((x) => !seen.includes(x)))
		seen.push(chatBody(await wsBox.next(20000)).text);
	for (const tag of ['a', 'b']) {
		const mine = seen.filter((x) => x.startsWith(tag)).map((x) => Number(x.slice(1)));
		for (let i = 1; i < mine.length; i++)
			assert.ok(mine[i] >= mine[i - 1], `${tag}: ${mine[i]} after ${mine[i - 1]}`);
	}
	t.diagnostic(`${receipted.length} receipted, the WebSocket subscriber got ${seen.length} ` +
		`(${seen.length - new Set(seen).size} duplicates: a resend whose first RECEIPT was lost)`);

	/* ... and each is in the outbox, committed. */
	const rows = (await sqlite(path.join(s.dir, 'chat.db'),
		`SELECT CAST(body AS TEXT) FROM outbox WHERE destination = '${dest}' ORDER BY seq`))
		.split('\n').filter((x) => x).map((x) => JSON.parse(x).text);
	for (const x of receipted)
		assert.ok(rows.includes(x), `${x} is not in the outbox`);

	/* ... and in the room's history, as a client that reloads reads it. */
	const reader = await stompConnect(s, 'xhr-polling', { login: 'reader' });
	const hist = reader.subscribe(`/app/chat/room/${room}/history`, { limit: '500' });
	const texts = JSON.parse((await hist.next(20000)).body).map((m) => m.text);
	for (const x of receipted)
		assert.ok(texts.includes(x), `${x} is not in the history`);
	await reader.close();

	/* The HTTP subscribers whose held request died with the process carry
	 * on with their session in the other one (its lease is taken over at
	 * once), or, when the client gave up on the failed request, resume
	 * from their last id: they too get every receipted post. */
	for (const [tr, { box, c }] of Object.entries(http)) {
		const got = new Set();
		let lastId = 0;
		const collect = async (inbox) => {
			while (receipted.some((x) => !got.has(x))) {
				const m = await inbox.next(20000).catch(() => null);
				if (m === null)
					break;
				got.add(chatBody(m).text);
				lastId = Math.max(lastId, chatBody(m).id);
			}
		};
		await collect(box);
		let lost = receipted.filter((x) => !got.has(x)).length;
		const closed = await c.closed.next(1).then((e) => `closed ${e.code} ${e.reason}`, () => 'open');
		t.diagnostic(`${tr} subscriber: ${got.size} distinct posts, ${lost} receipted posts missed, socket ${closed}`);
		if (lost > 0 && closed !== 'open') {
			/* Its held request died with the process: the front server
			 * answered it with an error and sockjs-client gave up, as a
			 * page's would.  The page reconnects and resumes after the last
			 * id it saw; then nothing may be missing. */
			const again = await stompConnect(s, tr, { login: `watch-${tr}` });
			await collect(await again.subscribeSync(dest, { after: String(lastId) }));
			await again.close();
			lost = receipted.filter((x) => !got.has(x)).length;
			t.diagnostic(`${tr} subscriber resumed after id ${lastId}: ${lost} receipted posts missed`);
		}
		assert.equal(lost, 0, `${tr} subscriber missed ${lost} receipted posts (socket ${closed})`);
	}

	/* lighttpd replaced the process, and the service goes on. */
	let now = [];
	for (let i = 0; i < 100; i++) {
		const c = await stompConnect(s, 'xhr-polling', { login: 'after', timeout: 5000 }).catch(() => null);
		await c?.close();
		now = await s.chatFcgiPids();
		if (now.length === 2 && !now.includes(killed))
			break;
		await sleep(100);
	}
	assert.ok(!now.includes(killed), 'the killed process is gone');
	assert.equal(now.length, 2, `lighttpd runs two chat.fcgi again: ${now}`);
	for (const tr of ['xhr-streaming', 'xhr-polling', 'eventsource', 'websocket']) {
		const c = await stompConnect(s, tr, { login: 'after' });
		const box = await c.subscribeSync(dest);
		await c.post(room, `after ${tr}`);
		assert.equal(chatBody(await box.next()).text, `after ${tr}`);
		assert.equal(chatBody(await wsBox.next()).text, `after ${tr}`);
		await c.close();
	}
	await ws.close();
	for (const { c } of Object.values(http))
		await c.close();
});

test('lighttpd: SIGKILL of chat-ws: WebSocket clients drop, HTTP clients carry on, a new chat-ws takes over', { skip, timeout: 120000 }, async (t) => {
	const s = await stack();
	const room = await makeRoom(s, 'killws');
	const dest = `/topic/chat/room/${room}`;
	const ws = await stompConnect(s, 'websocket', { login: 'ws-user' });
	const raw = await stompConnect(s, 'raw', { login: 'raw-user' });
	const http = await stompConnect(s, 'xhr-streaming', { login: 'http-user' });
	const wsBox = await ws.subscribeSync(dest);
	const httpBox = await http.subscribeSync(dest);
	await ws.post(room, 'before');
	assert.equal(chatBody(await httpBox.next()).text, 'before');
	assert.equal(chatBody(await wsBox.next()).text, 'before');

	process.kill(s.pids['chat-ws'], 'SIGKILL');
	const wsClose = await ws.closed.next();
	const rawClose = await raw.closed.next();
	t.diagnostic(`WebSocket clients closed with ${wsClose.code} (SockJS) and ${rawClose.code} (raw)`);
	assert.equal(rawClose.code, 1006);

	/* The HTTP client goes on. */
	for (let i = 0; i < 20; i++)
		await http.post(room, `after ${i}`);
	for (let i = 0; i < 20; i++)
		assert.equal(chatBody(await httpBox.next()).text, `after ${i}`);

	/* The supervisor restarted chat-ws: a WebSocket through the front
	 * gets through again (polled, bounded), to a new process. */
	(await waitWebSocket(`${s.ws}/chat/websocket`)).close();
	const now = await s.readPids();
	assert.notEqual(now['chat-ws'], s.pids['chat-ws']);
	assert.deepEqual(await s.chatWsPids(), [now['chat-ws']]);
	const sock = await stompConnect(s, 'websocket', { login: 'ws-again' });
	t.diagnostic(`a new STOMP client over sockjs-client opened over ${sock.transport}`);
	assert.equal(sock.transport, 'websocket');
	const wsAgain = await sock.subscribeSync(dest);
	await http.post(room, 'to the new chat-ws');
	assert.equal(chatBody(await wsAgain.next()).text, 'to the new chat-ws');
	await sock.close();
	const c = await stompConnect(s, 'eventsource', { login: 'late' });
	const box = await c.subscribeSync(dest);
	await http.post(room, 'to the late one');
	assert.equal(chatBody(await box.next()).text, 'to the late one');
	await c.close();
	await http.close();
});
