// heartbeat.mjs - STOMP heart-beats both ways and liveness (issue 16).
//  - CONNECTED offers the server's interval (stomp_heartbeat_ms):
//    stomp.js 2.3.3 (Stomp.over) and @stomp/stompjs see heart-beat:sx,sy.
//  - The server's heart-beat EOLs arrive on the raw WebSocket (each one a
//    WebSocket message "\n"), on xhr-streaming and on sockjs-client's
//    websocket (a SockJS message "\n").
//  - stomp.js 2.3.3 on the raw WebSocket notices a dead server: chat-ws
//    stopped (SIGSTOP by PID) makes its error callback run.
//  - An idle session outlives the fronts' idle timeouts (lighttpd's
//    server.max-read-idle, Apache's Timeout): with the shipped 60 s
//    lowered to 5 s (PROXY_IDLE_TIMEOUT, serve.sh), a client that sends
//    nothing itself stays connected for three times that on the raw
//    WebSocket and on xhr-streaming: the keepalives (WebSocket pings,
//    SockJS and STOMP heart-beats) fit inside the timeout.
//  - Liveness: a SockJS xhr-polling client that promised heart-beats every
//    4 s and never sends one has its polls noted as signs of life; once it
//    stops polling too, the heart-beat sweep ends its session.  When (the
//    bound max(2 x the agreed interval, stomp_liveness_ms), and that a
//    sign of life defers it) is tested in C on a fake clock:
//    tests/unit/core/test_heartbeat.c, tests/unit/db/test_heartbeat.c.
//  Nothing here asserts timing: the waits for EOLs are bounds for a
//  failing run.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createRequire } from 'node:module';
import SockJS from 'sockjs-client';
import WebSocket from 'ws';
import { Inbox, frontMissing, sqlite, startStack } from '../lib/stack.mjs';
import { frame, parseFrames, stompConnect } from '../lib/stomp.mjs';

const Stomp = createRequire(import.meta.url)('stompjs');

const BEAT_MS = 1000; /* stomp_heartbeat_ms and the SockJS heartbeat */
const skip = frontMissing('lighttpd') ?? false;
const stacks = {};
function stack(front, options = {}, idleTimeout = undefined) {
	const key = `${front} ${idleTimeout} ${JSON.stringify(options)}`;
	stacks[key] ??= startStack({ front, testServices: false, idleTimeout,
		options: { stomp_heartbeat_ms: BEAT_MS, heartbeat_ms: BEAT_MS, ...options } });
	return stacks[key];
}
after(async () => {
	for (const p of Object.values(stacks))
		await (await p.catch(() => null))?.stop();
});

/** Resolves once count heart-beat EOLs came through eols (an Inbox of
 * STOMP messages: "\n" for each heart-beat, anything else otherwise).
 * Each is awaited up to ms: a bound for a failing run, not a timing
 * assertion (when they are due is tests/unit/core/test_heartbeat.c's). */
async function beats(eols, count, ms = 10 * BEAT_MS) {
	for (let seen = 0; seen < count;) {
		if ((await eols.next(ms)) === '\n')
			seen++;
	}
}

test('CONNECTED offers the server heart-beat: stomp.js 2.3.3 and @stomp/stompjs', { skip, timeout: 60000 }, async () => {
	const s = await stack('lighttpd');
	/* stomp.js 2.3.3 asks 10000,10000 by default (1.1): the server sends
	 * every max(1000, 10000) ms and takes the client's at 10000. */
	const ws = new WebSocket(`${s.ws}/chat/websocket`, ['v10.stomp', 'v11.stomp', 'v12.stomp']);
	const old = Stomp.over(ws);
	old.debug = null;
	const connected = await new Promise((resolve, reject) => old.connect({}, resolve, reject));
	assert.equal(connected.headers['heart-beat'], `${BEAT_MS},10000`);
	ws.close();
	const c = await stompConnect(s, 'raw', { heartbeat: [4000, 4000] });
	assert.equal(c.connected.headers['heart-beat'], `${BEAT_MS},4000`);
	await c.close();
});

test('server heart-beats arrive on the raw WebSocket', { skip, timeout: 60000 }, async () => {
	const s = await stack('lighttpd');
	const ws = new WebSocket(`${s.ws}/chat/websocket`, { perMessageDeflate: false });
	const eols = new Inbox();
	ws.on('message', (d) => eols.push(d.toString()));
	await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
	ws.send(frame('CONNECT', { 'accept-version': '1.2', 'heart-beat': `0,${BEAT_MS}` }));
	assert.match(await eols.next(), /^CONNECTED\n/);
	await beats(eols, 1, 50000);
	ws.close();
});

for (const transport of ['xhr-streaming', 'websocket']) {
	test(`server heart-beats arrive on sockjs-client ${transport} as SockJS messages`, { skip, timeout: 60000 }, async () => {
		const s = await stack('lighttpd');
		const sock = new SockJS(`${s.http}/chat`, null, { transports: [transport] });
		const eols = new Inbox();
		sock.onmessage = (e) => eols.push(e.data);
		await new Promise((resolve, reject) => { sock.onopen = resolve; sock.onclose = reject; });
		assert.equal(sock.transport, transport);
		sock.send(frame('CONNECT', { 'accept-version': '1.2', 'heart-beat': `0,${BEAT_MS}` }));
		assert.match(await eols.next(), /^CONNECTED\n/);
		await beats(eols, 1, 50000);
		sock.close();
	});
}

test('stomp.js 2.3.3 on the raw WebSocket notices a stopped server', { skip, timeout: 90000 }, async () => {
	const s = await stack('lighttpd');
	const ws = new WebSocket(`${s.ws}/chat/websocket`, ['v10.stomp', 'v11.stomp', 'v12.stomp'],
		{ closeTimeout: 2000 });
	const client = Stomp.over(ws);
	client.debug = null;
	client.heartbeat.outgoing = 0;
	client.heartbeat.incoming = BEAT_MS;
	const lost = new Inbox();
	await new Promise((resolve, reject) => client.connect({}, resolve, (e) => {
		lost.push(String(e));
		reject(new Error(String(e)));
	}));
	const pid = (await s.readPids())['chat-ws'];
	process.kill(pid, 'SIGSTOP');
	try {
		/* No EOL for 2 x max(1000, 1000) ms: stomp.js closes the socket
		 * and its error callback says the connection is lost. */
		assert.match(await lost.next(60000), /Lost connection/);
	} finally {
		process.kill(pid, 'SIGCONT');
	}
});

const IDLE_S = 5;
for (const front of ['lighttpd', 'apache-proxy-fcgi']) {
	const skipFront = frontMissing(front) ?? false;
	/* Keepalives every 2 s against a 5 s idle timeout; the client asks for
	 * STOMP heart-beats every 1 s and sends none. */
	const idle = () => stack(front, { heartbeat_ms: 2000 }, IDLE_S);
	const wanted = Math.ceil((3 * IDLE_S * 1000) / BEAT_MS) + 1;
	/* CONNECTs asking for heart-beats, stays idle while wanted of them
	 * arrive (three idle timeouts) and is still served after it. */
	const outlivesIdle = async (send, eols, closed) => {
		send(frame('CONNECT', { 'accept-version': '1.2', 'heart-beat': `0,${BEAT_MS}` }));
		assert.match(await eols.next(), /^CONNECTED\n/);
		await Promise.race([beats(eols, wanted),
			closed.next(60000).then((code) => { throw new Error(`closed (${code}) while idle`); },
				() => new Promise(() => {}))]);
		send(frame('SEND', { destination: '/queue/idle', receipt: 'still' }));
		let got;
		do
			got = await eols.next();
		while (got === '\n');
		assert.match(got, /^RECEIPT\nreceipt-id:still/);
	};

	test(`${front}: an idle raw-WebSocket session outlives the ${IDLE_S} s idle timeout three times over`, { skip: skipFront, timeout: 90000 }, async () => {
		const s = await idle();
		const ws = new WebSocket(`${s.ws}/chat/websocket`, { perMessageDeflate: false });
		const eols = new Inbox();
		const closed = new Inbox();
		ws.on('message', (d) => eols.push(d.toString()));
		ws.on('close', (code) => closed.push(code));
		await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
		await outlivesIdle((f) => ws.send(f), eols, closed);
		ws.close();
	});

	test(`${front}: an idle xhr-streaming session outlives the ${IDLE_S} s idle timeout three times over`, { skip: skipFront, timeout: 90000 }, async () => {
		const s = await idle();
		const sock = new SockJS(`${s.http}/chat`, null, { transports: ['xhr-streaming'] });
		const eols = new Inbox();
		const closed = new Inbox();
		sock.onmessage = (e) => eols.push(e.data);
		await new Promise((resolve, reject) => { sock.onopen = resolve; sock.onclose = reject; });
		sock.onclose = (e) => closed.push(e.code);
		await outlivesIdle((f) => sock.send(f), eols, closed);
		sock.close();
	});
}

/** A raw SockJS xhr-polling client of session sid: poll() resolves with
 * the SockJS frame one poll answered; send() posts frames by xhr_send. */
function pollingClient(s, sid) {
	const base = `${s.http}/chat/000/${sid}`;
	return {
		async poll() {
			const r = await fetch(`${base}/xhr`, { method: 'POST' });
			assert.equal(r.status, 200);
			return (await r.text()).trim();
		},
		async send(...frames) {
			const r = await fetch(`${base}/xhr_send`, { method: 'POST', body: JSON.stringify(frames),
				headers: { 'content-type': 'text/plain' } });
			return r.status;
		},
	};
}

/* The heart-beat sweep's bound (max(2 x the agreed interval,
 * stomp_liveness_ms) of silence) and that a sign of life defers it are
 * tests/unit/db/test_heartbeat.c's, on a fake clock.  Here, end to end and
 * without waiting for an absence: a poll is noted as a sign of life (the
 * shell's part), and a client that stops altogether is ended by the sweep
 * with an ERROR. */
test('liveness: polls are noted as signs of life; a client that stops is ended by the sweep', { skip, timeout: 120000 }, async () => {
	const LIVENESS_MS = 3000;
	/* The disconnect delay outlasts the test: the heart-beat sweep is what
	 * ends the session that stopped. */
	const s = await stack('lighttpd', { stomp_liveness_ms: LIVENESS_MS, disconnect_delay_ms: 600000 });
	const sid = `live-${process.pid}-session`;
	const c = pollingClient(s, sid);
	assert.equal(await c.poll(), 'o');
	assert.equal(await c.send(frame('CONNECT', { 'accept-version': '1.2', 'heart-beat': '4000,4000' })), 204);
	const connected = JSON.parse((await c.poll()).slice(1));
	assert.equal(parseFrames(connected[0])[0].headers['heart-beat'], `${BEAT_MS},4000`);
	/* It promised an EOL every 4 s and sends none: it only polls, as a
	 * throttled background tab does.  Each poll ends at a heartbeat or
	 * with the server's heart-beat EOL; polls go on until chat.db shows
	 * a later one noted (heard_ms moves on; it is written at most once a
	 * second). */
	const db = path.join(s.dir, 'chat.db');
	const key = `c:${sid}`;
	const heard = async () => Number((await sqlite(db,
		`SELECT heard_ms FROM stomp_sessions WHERE session_id = '${key}'`)).trim() || 0);
	const first = await heard();
	let polls = 0;
	do {
		const f = await c.poll();
		polls++;
		assert.ok(f === 'h' || f.startsWith('a'), `poll ${polls} got ${f}`);
		if (f.startsWith('a'))
			for (const m of JSON.parse(f.slice(1)))
				assert.equal(m, '\n', `poll ${polls} got ${m}`);
	} while (await heard() <= first);
	assert.equal(await c.send(frame('SEND', { destination: '/queue/x', receipt: 'alive' })), 204);
	assert.match(await c.poll(), /RECEIPT\\nreceipt-id:alive/);
	/* Now it stops altogether: the sweep ends the session (an ERROR, then
	 * closed).  Awaited: it must happen. */
	let state = 'open';
	while (state === 'open') {
		state = (await sqlite(db, `SELECT state FROM sessions WHERE id = '${key}'`)).trim();
		if (state === 'open')
			await new Promise((r) => setTimeout(r, 200));
	}
	/* The next poll gets the ERROR (and the close frame after it). */
	const last = JSON.parse((await c.poll()).split('\n')[0].slice(1));
	assert.match(last[last.length - 1], /^ERROR\nmessage:heart-beat timeout/);
});
