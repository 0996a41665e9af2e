// delivery.mjs - the delivery engine (issue 17): the outbox is the buffer,
// state changes cross processes through it, and the background work runs
// without chat.fcgi.
//  - A WebSocket reader that stops reading while 500 messages/s arrive is
//    not closed: it lags in the outbox and is fed as it drains, everything
//    once and in order, with chat-ws's memory bounded.
//  - The same for an xhr-streaming reader behind lighttpd (which applies
//    backpressure to chat.fcgi: server.stream-response-body = 2).
//  - Behind Apache mod_fcgid (one request per process), a SUBSCRIBE sent by
//    xhr_send (one process) takes effect for the stream another process
//    holds from the next row on.
//  - A stack whose clients only use the raw WebSocket (no chat.fcgi runs):
//    chat-ws's background thread relays history to the store and ends a
//    client that stopped sending its heart-beats and answers no pings.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import WebSocket from 'ws';
import { Inbox, frontMissing, startStack } from '../lib/stack.mjs';
import { frame, parseFrames, rawStomp } from '../lib/stomp.mjs';

const RATE = 500;       /* messages per second */
const N = 2500;         /* five seconds of them */
const BODY = 4000;      /* bytes: N of them are far more than socket buffers hold */

const skipLighttpd = frontMissing('lighttpd') ?? false;
const skipFcgid = frontMissing('apache-fcgid') ?? false;
const stacks = [];
after(async () => {
	for (const s of stacks)
		await s.stop();
});
async function stack(opts) {
	const s = await startStack(opts);
	stacks.push(s);
	return s;
}

async function rssKiB(pid) {
	const status = await readFile(`/proc/${pid}/status`, 'utf8');
	return Number(/^VmRSS:\s+(\d+)/m.exec(status)[1]);
}

function sqlite(db, sql) {
	return new Promise((resolve, reject) => {
		execFile('sqlite3', [db, sql], (err, out) => (err ? reject(err) : resolve(out.trim())));
	});
}

/* Awaits a condition on state another process writes, up to ms. */
async function until(what, ms, probe) {
	const deadline = Date.now() + ms;
	for (;;) {
		const v = await probe();
		if (v)
			return v;
		if (Date.now() > deadline)
			throw new Error(`${what}: not within ${ms} ms`);
		await new Promise((r) => setTimeout(r, 100));
	}
}

/* A raw STOMP client on url: CONNECTed as a guest. */
async function connectRaw(url, headers = {}, { autoPong = true } = {}) {
	const ws = new WebSocket(`${url}/chat/websocket`, { perMessageDeflate: false, autoPong });
	const frames = new Inbox();
	const closed = new Inbox();
	ws.on('message', (d) => { for (const f of parseFrames(d.toString())) frames.push(f); });
	ws.on('close', (code) => closed.push(code));
	await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
	ws.send(frame('CONNECT', { 'accept-version': '1.2', ...headers }));
	assert.equal((await frames.next()).command, 'CONNECTED');
	return { ws, frames, closed };
}

/* Sends N numbered messages to dest at RATE per second; resolves once the
 * last one's RECEIPT is in (all committed). */
async function publish(c, dest) {
	const pad = 'x'.repeat(BODY);
	const per = RATE / 100;
	let i = 0;
	await new Promise((resolve) => {
		const t = setInterval(() => {
			for (let k = 0; k < per && i < N; k++, i++)
				c.ws.send(frame('SEND', { destination: dest, ...(i === N - 1 ? { receipt: 'done' } : {}) },
					`${i} ${pad}`));
			if (i >= N) {
				clearInterval(t);
				resolve();
			}
		}, 10);
	});
	for (;;) {
		const f = await c.frames.next(60000);
		if (f.command === 'RECEIPT' && f.headers['receipt-id'] === 'done')
			return;
	}
}

function numbersOf(bodies) {
	return bodies.map((b) => Number(b.slice(0, b.indexOf(' '))));
}

function checkAll(got) {
	assert.equal(got.length, N, `got ${got.length} of ${N}`);
	for (let i = 0; i < N; i++)
		assert.equal(got[i], i, `message ${i} is ${got[i]}`);
}

test('a WebSocket reader that stops reading is fed as it drains, not closed', { skip: skipLighttpd, timeout: 120000 }, async () => {
	const s = await stack({ front: 'lighttpd', testServices: false, options: { topic_send: 1 } });
	/* Straight to chat-ws: the front server would buffer for the reader. */
	const reader = await connectRaw(s.wsDirect);
	reader.ws.send(frame('SUBSCRIBE', { id: 's', destination: '/topic/slow-ws', receipt: 'sub' }));
	assert.equal((await reader.frames.next()).command, 'RECEIPT');
	const before = await rssKiB(s.pids['chat-ws']);
	reader.ws.pause();
	const sender = await connectRaw(s.wsDirect);
	await publish(sender, '/topic/slow-ws');
	const during = await rssKiB(s.pids['chat-ws']);
	reader.ws.resume();
	const got = [];
	while (got.length < N) {
		const f = await reader.frames.next(30000);
		assert.equal(f.command, 'MESSAGE', JSON.stringify(f).slice(0, 300));
		got.push(f.body);
	}
	checkAll(numbersOf(got));
	assert.equal(reader.closed.items.length, 0, "the reader was closed");
	/* Ten megabytes went through; chat-ws held a bounded part of them.
	 * (Under AddressSanitizer its quarantine of freed blocks is the RSS.) */
	if (!process.env.CHAT_SANITIZERS)
		assert.ok(during - before < 32 * 1024, `chat-ws grew by ${during - before} KiB`);
	reader.ws.close();
	sender.ws.close();
});

function post(s, url, body) {
	return new Promise((resolve, reject) => {
		const req = http.request(`${s.http}${url}`, { method: 'POST', agent: false, headers: { 'content-type': 'text/plain' } },
			(res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
		req.on('error', reject);
		req.end(body);
	});
}

/* An xhr_streaming response of session sid: frames (an Inbox of SockJS
 * frames as strings), ended (resolves when the response ends).  Each
 * request has a connection of its own (agent: false): Node's keep-alive
 * agent would reuse one the front server may be closing as idle, and the
 * request would fail with "socket hang up". */
function openStream(s, sid) {
	const frames = new Inbox();
	let res;
	const ended = new Promise((resolve, reject) => {
		const req = http.request(`${s.http}/chat/000/${sid}/xhr_streaming`, { method: 'POST', agent: false }, (r) => {
			res = r;
			let buf = '';
			r.setEncoding('utf8');
			r.on('data', (d) => {
				buf += d;
				let i;
				while ((i = buf.indexOf('\n')) >= 0) {
					const line = buf.slice(0, i);
					buf = buf.slice(i + 1);
					if (line !== '' && !/^h+$/.test(line) || line === 'h')
						frames.push(line);
				}
			});
			r.on('end', resolve);
		});
		req.on('error', reject);
		req.end();
	});
	return { frames, ended, get res() { return res; } };
}

/* The STOMP frames inside a SockJS a[...] frame. */
function stompOf(sockjsFrame) {
	if (!sockjsFrame.startsWith('a'))
		return [];
	return JSON.parse(sockjsFrame.slice(1)).flatMap((m) => parseFrames(m));
}

async function nextStomp(st, ms = 30000) {
	for (;;) {
		const f = await st.frames.next(ms);
		assert.ok(!f.startsWith('c'), `session closed: ${f}`);
		const frames = stompOf(f);
		if (frames.length > 0)
			return frames;
	}
}

test('an xhr-streaming reader that stops reading is fed as it drains', { skip: skipLighttpd, timeout: 180000 }, async () => {
	/* The reader takes nothing for the whole burst, so a response that
	 * ended meanwhile is not followed by the next one: the session's
	 * disconnect delay outlasts the burst, as SockJS requires. */
	const s = await stack({ front: 'lighttpd', testServices: false, fcgiProcs: 2,
		options: { topic_send: 1, disconnect_delay_ms: 120000 } });
	const sid = `slow-${process.pid}-session`;
	let st = openStream(s, sid);
	assert.equal(await st.frames.next(), 'o');
	const send = (...frames) => post(s, `/chat/000/${sid}/xhr_send`, JSON.stringify(frames));
	assert.equal(await send(frame('CONNECT', { 'accept-version': '1.2' })), 204);
	assert.equal((await nextStomp(st))[0].command, 'CONNECTED');
	assert.equal(await send(frame('SUBSCRIBE', { id: 's', destination: '/topic/slow-xhr', receipt: 'sub' })), 204);
	assert.equal((await nextStomp(st))[0].command, 'RECEIPT');
	st.res.pause();
	const sender = await connectRaw(s.wsDirect);
	await publish(sender, '/topic/slow-xhr');
	st.res.resume();
	const got = [];
	while (got.length < N) {
		const next = await Promise.race([nextStomp(st), st.ended.then(() => null)]);
		if (next === null) {
			/* The response limit ended this response: the client polls
			 * again on the same session, as sockjs-client does. */
			st = openStream(s, sid);
			continue;
		}
		for (const f of next) {
			assert.equal(f.command, 'MESSAGE');
			got.push(f.body);
		}
	}
	checkAll(numbersOf(got));
	sender.ws.close();
});

test('mod_fcgid: a SUBSCRIBE by xhr_send in one process reaches the stream another holds', { skip: skipFcgid, timeout: 60000 }, async () => {
	const s = await stack({ front: 'apache-fcgid', testServices: false, options: { topic_send: 1 } });
	const sid = `sub-${process.pid}-session`;
	const st = openStream(s, sid);
	assert.equal(await st.frames.next(), 'o');
	const send = (...frames) => post(s, `/chat/000/${sid}/xhr_send`, JSON.stringify(frames));
	assert.equal(await send(frame('CONNECT', { 'accept-version': '1.2' })), 204);
	assert.equal((await nextStomp(st))[0].command, 'CONNECTED');
	const other = await connectRaw(s.ws);
	other.ws.send(frame('SEND', { destination: '/topic/cross', receipt: 'b' }, 'before'));
	assert.equal((await other.frames.next()).command, 'RECEIPT');
	assert.equal(await send(frame('SUBSCRIBE', { id: 's', destination: '/topic/cross', receipt: 'sub' })), 204);
	other.ws.send(frame('SEND', { destination: '/topic/cross', receipt: 'a' }, 'after'));
	assert.equal((await other.frames.next()).command, 'RECEIPT');
	const seen = [];
	while (seen.length < 2)
		seen.push(...(await nextStomp(st)));
	assert.deepEqual(seen.map((f) => [f.command, f.body]), [['RECEIPT', ''], ['MESSAGE', 'after']]);
	/* The stream is held by one process and the sends went to others. */
	assert.ok((await s.chatFcgiPids()).length >= 2);
	st.res.destroy();
	other.ws.close();
});

test('raw-WebSocket-only clients: chat-ws relays history and ends silent clients', { skip: skipFcgid, timeout: 90000 }, async () => {
	/* The liveness floor lowered below lws's hang-up for a missing pong
	 * (2 x 1 s + 10 s), so that the heart-beat sweep is what ends it. */
	const s = await stack({ front: 'apache-fcgid', testServices: false,
		options: { heartbeat_ms: 1000, stomp_liveness_ms: 1000 } });
	const db = path.join(s.dir, 'chat.db');
	/* mod_fcgid started chat.fcgi for serve.sh's readiness check: stop it,
	 * so that only chat-ws is left to do the background work. */
	for (const pid of await s.chatFcgiPids())
		process.kill(pid, 'SIGKILL');
	await until('chat-ws takes the background lease', 30000, async () =>
		(await sqlite(db, "SELECT owner FROM chat_leases WHERE name = 'background'")) ===
			`bg:${s.pids['chat-ws']}`);
	const c = await connectRaw(s.ws);
	c.ws.send(frame('SEND', { destination: '/app/chat/room/general', 'content-type': 'application/json', receipt: 'p' },
		JSON.stringify({ text: 'relay me' })));
	assert.equal((await c.frames.next()).command, 'RECEIPT');
	const last = Number(await sqlite(db, 'SELECT max(seq) FROM outbox'));
	await until('the relay copies the post', 30000, async () =>
		Number(await sqlite(db, "SELECT coalesce(max(cursor), 0) FROM outbox_consumers WHERE name = 'relay'")) >= last - 1);
	const stored = await sqlite(path.join(s.dir, 'history.db'), 'SELECT count(*) FROM messages');
	assert.ok(Number(stored) >= 1, `history.db holds ${stored} messages`);
	/* A client that promised heart-beats every second and sends nothing,
	 * not even a pong (a pong is a sign of life). */
	const quiet = await connectRaw(s.ws, { 'heart-beat': '1000,0' }, { autoPong: false });
	const f = await quiet.frames.next(30000);
	assert.equal(f.command, 'ERROR');
	assert.match(f.headers.message, /heart-beat timeout/);
	assert.deepEqual(await s.chatFcgiPids(), []);
	c.ws.close();
});
