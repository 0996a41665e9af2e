#!/usr/bin/env node
// stomp_bench.mjs - STOMP chat figures through the whole stack (conf/serve.sh
// with lighttpd on free ports, 2 chat.fcgi processes, state in a temporary
// directory, 64 threads per process), with the real clients (@stomp/stompjs, sockjs-client, ws):
//
//   latency  median/p99 of a chat post (SEND to /app/chat/room/{id}) by
//            xhr_send to chat.fcgi, to a subscriber on sockjs-client's
//            websocket transport (chat-ws), one message at a time: (1) the
//            xhr_send made directly (keep-alive HTTP, the session opened by
//            xhr), timed from the request to the subscriber's callback;
//            (2) the same through sockjs-client's xhr-polling transport and
//            stompjs, timed from publish() - sockjs-client holds each send
//            25 ms to batch it (BufferedSender), which this line includes.
//   fanout   messages per second one room sustains from one sender (raw
//            WebSocket, pipelined, a RECEIPT on every 100th post for flow
//            control) to N subscribers spread evenly over websocket,
//            xhr-streaming, xhr-polling and eventsource for SECONDS; the rate
//            counts only posts every subscriber got, and the run reports
//            the count per transport (nothing lost means each subscriber
//            got every post, once, in order).
//
// Run from the build directory after `make` (needs npm ci in tests/):
//   node SRCDIR/bench/stomp_bench.mjs latency [MESSAGES=1000]
//   node SRCDIR/bench/stomp_bench.mjs fanout [SUBSCRIBERS=50] [SECONDS=10] [RATE=0 (as fast as receipts allow)]
import http from 'node:http';
import { startStack } from '../tests/integration/lib/stack.mjs';
import { chatBody, frame, makeRoom, stompConnect } from '../tests/integration/lib/stomp.mjs';

const [mode = 'latency', ...args] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function stats(samples) {
	const s = samples.slice().sort((a, b) => a - b);
	const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
	return `median ${at(0.5).toFixed(2)} ms, p99 ${at(0.99).toFixed(2)} ms, max ${s[s.length - 1].toFixed(2)} ms (n=${s.length})`;
}

/* One POST over a keep-alive agent; resolves with [status, body]. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
function post(url, body) {
	return new Promise((resolve, reject) => {
		const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'text/plain' } }, (res) => {
			let data = '';
			res.on('data', (d) => { data += d; });
			res.on('end', () => resolve([res.statusCode, data]));
		});
		req.on('error', reject);
		req.end(body);
	});
}

async function timeRun(n, sub, room, sendOne) {
	let pending = null;
	const box = sub.client.subscribe(`/topic/chat/room/${room}`, (m) => {
		const t1 = performance.now();
		if (pending && chatBody(m).text === pending.text)
			pending.resolve(t1);
	}, {});
	await sub.subscribeSync(`/topic/sync-${room}`); /* the SUBSCRIBE above is in */
	const samples = [];
	for (let i = 0; i < n + 20; i++) {
		const text = `m${i}`;
		const got = new Promise((resolve) => { pending = { text, resolve }; });
		const t0 = performance.now();
		await sendOne(text);
		const t1 = await got;
		if (i >= 20) /* warm-up */
			samples.push(t1 - t0);
	}
	box.unsubscribe();
	return samples;
}

async function latency(s, n) {
	const sub = await stompConnect(s, 'websocket', { login: 'listener' });
	/* (1) xhr_send by hand on an xhr session. */
	const base = `${s.http}/chat/000/bench${process.pid}`;
	let [status, body] = await post(`${base}/xhr`, '');
	if (body !== 'o\n')
		throw new Error(`xhr open: ${status} ${body}`);
	await post(`${base}/xhr_send`, JSON.stringify([frame('CONNECT', { 'accept-version': '1.2', host: 'x', login: 'talker' })]));
	[status, body] = await post(`${base}/xhr`, '');
	if (!body.includes('CONNECTED'))
		throw new Error(`no CONNECTED: ${status} ${body}`);
	const rawRoom = await makeRoom(s, 'bench-raw');
	const raw = await timeRun(n, sub, rawRoom, async (text) => {
		const [st] = await post(`${base}/xhr_send`, JSON.stringify([frame('SEND',
			{ destination: `/app/chat/room/${rawRoom}`, 'content-type': 'application/json' }, JSON.stringify({ text }))]));
		if (st !== 204)
			throw new Error(`xhr_send: ${st}`);
	});
	console.log(`chat post by xhr_send (chat.fcgi) -> websocket subscriber (chat-ws) via lighttpd: ${stats(raw)}`);
	/* (2) the real clients. */
	const snd = await stompConnect(s, 'xhr-polling', { login: 'talker' });
	const clientRoom = await makeRoom(s, 'bench-client');
	const real = await timeRun(n, sub, clientRoom, async (text) => {
		snd.client.publish({ destination: `/app/chat/room/${clientRoom}`, body: JSON.stringify({ text }) });
	});
	console.log(`the same with sockjs-client xhr-polling + stompjs as the sender (includes its 25 ms send batching): ${stats(real)}`);
	await snd.close();
	await sub.close();
}

async function fanout(s, nsubs, seconds, rate) {
	const room = await makeRoom(s, 'bench-fanout');
	const kinds = ['websocket', 'xhr-streaming', 'xhr-polling', 'eventsource'];
	const subs = [];
	for (let i = 0; i < nsubs; i++) {
		const t = kinds[i % kinds.length];
		const c = await stompConnect(s, t, { login: `sub${i}`, timeout: 30000 });
		const st = { t, c, n: 0, bad: 0, last: -1 };
		c.client.subscribe(`/topic/chat/room/${room}`, (m) => {
			const body = chatBody(m);
			if (body.type !== undefined) /* an ENTER/LEAVE notice */
				return;
			const k = Number(body.text);
			if (k !== st.last + 1)
				st.bad++;
			st.last = k;
			st.n++;
		});
		subs.push(st);
	}
	/* Every SUBSCRIBE is committed once a receipted one after it is. */
	for (const st of subs)
		await st.c.subscribeSync('/topic/bench-sync');
	const snd = await stompConnect(s, 'raw', { login: 'talker' });
	const dest = `/app/chat/room/${room}`;
	const t0 = performance.now();
	let sent = 0;
	let inflight = Promise.resolve();
	while (performance.now() - t0 < seconds * 1000) {
		if ((sent + 1) % 100 === 0) {
			await inflight;
			inflight = snd.send(dest, JSON.stringify({ text: String(sent) }));
		} else {
			snd.client.publish({ destination: dest, body: JSON.stringify({ text: String(sent) }) });
		}
		sent++;
		if (rate > 0) {
			const due = t0 + (sent / rate) * 1000;
			const now = performance.now();
			if (due > now)
				await sleep(due - now);
		} else if (sent % 100 === 0) {
			await sleep(0);
		}
	}
	await inflight;
	const tSent = performance.now();
	/* Wait for the stragglers (up to 30 s). */
	const deadline = Date.now() + 30000;
	while (subs.some((st) => st.n < sent) && Date.now() < deadline)
		await sleep(50);
	const tDone = performance.now();
	const perKind = {};
	for (const st of subs) {
		const k = (perKind[st.t] ??= { subs: 0, min: Infinity, max: 0, outOfOrder: 0 });
		k.subs++;
		k.min = Math.min(k.min, st.n);
		k.max = Math.max(k.max, st.n);
		k.outOfOrder += st.bad;
	}
	const complete = subs.every((st) => st.n === sent && st.bad === 0);
	console.log(`one room, 1 sender (raw WebSocket) -> ${nsubs} subscribers (${kinds.join(', ')}) via lighttpd, ${seconds} s:`);
	console.log(`  sent ${sent} posts in ${((tSent - t0) / 1000).toFixed(2)} s (${(sent / ((tSent - t0) / 1000)).toFixed(0)}/s offered), ` +
		`all delivered ${((tDone - t0) / 1000).toFixed(2)} s after the start: ${(sent / ((tDone - t0) / 1000)).toFixed(0)} msg/s sustained, ` +
		`${(sent * nsubs / ((tDone - t0) / 1000)).toFixed(0)} deliveries/s`);
	for (const [t, k] of Object.entries(perKind))
		console.log(`  ${t}: ${k.subs} subscribers got ${k.min === k.max ? k.min : `${k.min}..${k.max}`} of ${sent}, ${k.outOfOrder} out of order or doubled`);
	console.log(`  nothing lost: ${complete ? 'yes' : 'NO'}`);
	for (const st of subs)
		await st.c.close();
	await snd.close();
	return complete;
}

/* Each held HTTP receiver (xhr-streaming, eventsource, a waiting
 * xhr-polling) takes a chat.fcgi thread: 2 processes x 16 threads (the
 * default) hold 32, fewer than the fan-out's HTTP subscribers. */
const s = await startStack({ front: 'lighttpd', testServices: false, fcgiProcs: 2, options: { threads: 64 } });
let ok = true;
try {
	if (mode === 'latency')
		await latency(s, Number(args[0] || 1000));
	else if (mode === 'fanout')
		ok = await fanout(s, Number(args[0] || 50), Number(args[1] || 10), Number(args[2] || 0));
	else
		throw new Error(`unknown mode ${mode}: latency or fanout`);
} finally {
	await s.stop();
}
process.exit(ok ? 0 : 1);
