// frames.mjs - STOMP frames split over several SockJS / WebSocket messages
// (issue 16) are reassembled per session, up to max_frame.  A 60 KiB SEND
// goes to a /topic (topic_send=1): a chat post's text is bounded at 4000
// bytes, far below what these clients split.
//
//  - stomp.js 2.3.3 (Stomp.over(sockjs), the Spring tutorials' client)
//    splits a frame every 16 KiB; over sockjs-client's websocket,
//    xhr-streaming and xhr-polling a 60 KiB SEND reaches a subscriber whole;
//  - @stomp/stompjs with splitLargeFrames and maxWebSocketChunkSize 4096
//    over the raw /chat/websocket does the same;
//  - a raw SockJS session sends two whole frames and the start of a third
//    in one xhr_send, and the rest in two more; under mod_fcgid every
//    chat.fcgi process is killed between the pieces, so each lands in a
//    process that never saw the others (the partial frame is in chat.db);
//  - a frame growing past max_frame across pieces gets ERROR, then close;
//  - go-stomp over a WebSocket (tests/fixtures/gostomp, when Go built it)
//    writes a 10000-byte SEND as several 4 KiB messages; it gets its RECEIPT.
// Through lighttpd (two chat.fcgi processes), Apache mod_fcgid and Apache
// mod_proxy_fcgi.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import SockJS from 'sockjs-client';
import { Inbox, builddir, frontMissing, startStack } from '../lib/stack.mjs';
import { frame, parseFrames, rawStomp, stompConnect } from '../lib/stomp.mjs';

const require = createRequire(import.meta.url);
const { Stomp } = require('stompjs/lib/stomp.js');
/* stomp.js 2.3.3 takes its timers from window in a browser. */
Stomp.setInterval = (ms, f) => setInterval(f, ms);
Stomp.clearInterval = (id) => clearInterval(id);

const GOSTOMP = path.join(builddir, 'tests', 'fixtures', 'gostomp', 'gostomp-client');
const FRONTS = ['lighttpd', 'apache-fcgid', 'apache-proxy-fcgi'];
const MAX_FRAME = 65536;
let counter = 0;

const stacks = {};
function stack(front) {
	stacks[front] ??= startStack({ front, testServices: false, fcgiProcs: 2,
		options: { topic_send: 1, max_frame: MAX_FRAME } });
	return stacks[front];
}
after(async () => {
	for (const p of Object.values(stacks))
		await (await p.catch(() => null))?.stop();
});

/* A body of n UTF-8 bytes, with two-byte characters (a client splits by
 * UTF-16 units, the server joins bytes) and a line number every line. */
function bigBody(n) {
	let out = '';
	for (let i = 0; Buffer.byteLength(out) < n - 32; i++)
		out += `${String(i).padStart(5, '0')} caf\u00e9 cr\u00e8me br\u00fbl\u00e9e\n`;
	return out + 'x'.repeat(n - Buffer.byteLength(out));
}

/* Connects stomp.js 2.3.3 over sockjs-client with one transport:
 * { client, messages (Inbox of MESSAGE frames), receipts (Inbox of ids) }. */
function stompjs233(s, transport) {
	const client = Stomp.over(new SockJS(`${s.http}/chat`, null, { transports: [transport] }));
	client.debug = null;
	const receipts = new Inbox();
	client.onreceipt = (f) => receipts.push(f.headers['receipt-id']);
	return new Promise((resolve, reject) => {
		client.connect({}, () => resolve({ client, receipts }), (e) => reject(new Error(`stomp.js: ${e?.headers?.message ?? e}`)));
	});
}

/* A raw @stomp/stompjs subscriber on chat-ws, subscribed to dest. */
async function subscriber(s, dest) {
	const c = await stompConnect(s, 'raw');
	return { c, box: await c.subscribeSync(dest) };
}

async function post(url, body) {
	const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body });
	return { status: r.status, text: await r.text() };
}

/* A SockJS session driven by hand over xhr / xhr_send. */
async function rawSession(s) {
	const base = `${s.http}/chat/000/frames${process.pid}x${++counter}`;
	assert.equal((await post(`${base}/xhr`, '')).text, 'o\n');
	const pending = [];
	return {
		/* Under mod_fcgid, the first request after chat.fcgi processes were
		 * killed may be given to a dead one's slot: Apache answers with its
		 * own 500 page, chat.fcgi read nothing; the next gets a new process.
		 * (chat.fcgi's own 500s are plain text, never retried.) */
		async send(...msgs) {
			let r;
			for (let i = 0; i < 10; i++) {
				r = await post(`${base}/xhr_send`, JSON.stringify(msgs));
				if (r.status !== 500 || !this.retry500 || !r.text.startsWith('<!DOCTYPE'))
					break;
			}
			return r.status;
		},
		retry500: false,
		/* The next STOMP frame, or { close } for c[...]. */
		async next() {
			for (let i = 0; i < 10 && pending.length === 0; i++) {
				for (const t of (await post(`${base}/xhr`, '')).text.split('\n')) {
					if (t.startsWith('c'))
						pending.push({ close: JSON.parse(t.slice(1)) });
					else if (t.startsWith('a'))
						pending.push(...JSON.parse(t.slice(1)).flatMap((m) => parseFrames(m)));
				}
			}
			assert.ok(pending.length > 0, 'no frames in 10 polls');
			return pending.shift();
		},
	};
}

for (const front of FRONTS) {
	const skip = frontMissing(front) || false;

	for (const transport of ['websocket', 'xhr-streaming', 'xhr-polling']) {
		test(`${front}: stomp.js 2.3.3 over ${transport} sends a 60 KiB frame in 16 KiB messages, delivered whole`, { skip, timeout: 60000 }, async () => {
			const s = await stack(front);
			const dest = `/topic/frames-${transport}-${++counter}`;
			const { c: sub, box } = await subscriber(s, dest);
			const { client, receipts } = await stompjs233(s, transport);
			const mine = new Inbox();
			client.subscribe(dest, (m) => mine.push(m), { id: 'own' });
			const body = bigBody(60 * 1024);
			client.send(dest, { receipt: 'big', 'content-type': 'text/plain' }, body);
			assert.equal(await receipts.next(20000), 'big');
			const got = await box.next(20000);
			assert.equal(got.body.length, body.length);
			assert.ok(got.body === body, 'the subscriber got another body');
			assert.equal(Buffer.byteLength(got.body), 60 * 1024);
			assert.ok((await mine.next(20000)).body === body, 'stomp.js got another body back');
			client.disconnect(() => {});
			await sub.close();
		});
	}

	test(`${front}: @stomp/stompjs with splitLargeFrames (4096) over the raw WebSocket sends 60 KiB`, { skip, timeout: 60000 }, async () => {
		const s = await stack(front);
		const dest = `/topic/frames-split-${++counter}`;
		const { c: sub, box } = await subscriber(s, dest);
		const c = await stompConnect(s, 'raw', { client: { splitLargeFrames: true, maxWebSocketChunkSize: 4096 } });
		const body = bigBody(60 * 1024);
		await c.send(dest, body);
		assert.ok((await box.next(20000)).body === body, 'the subscriber got another body');
		/* Small frames still go in one message each. */
		await c.send(dest, 'small');
		assert.equal((await box.next(20000)).body, 'small');
		await c.close();
		await sub.close();
	});

	test(`${front}: a raw SockJS session sends frames in pieces over xhr_send, each piece to another chat.fcgi`, { skip, timeout: 60000 }, async () => {
		const s = await stack(front);
		const dest = `/topic/frames-xhr-${++counter}`;
		const { c: sub, box } = await subscriber(s, dest);
		const x = await rawSession(s);
		assert.equal(await x.send(frame('CONNECT', { 'accept-version': '1.2' })), 204);
		assert.equal((await x.next()).command, 'CONNECTED');
		const third = frame('SEND', { destination: dest, receipt: 'three' }, bigBody(30000));
		const cut = [third.slice(0, 20), third.slice(20, 15000), third.slice(15000)];
		const seen = new Set();
		x.retry500 = front === 'apache-fcgid';
		/* Under mod_fcgid a process takes one request at a time and Apache
		 * starts another when none is left: killing them all between the
		 * pieces puts each piece in a process of its own. */
		const between = async () => {
			if (front !== 'apache-fcgid')
				return;
			for (const pid of await s.chatFcgiPids()) {
				assert.ok(!seen.has(pid), `chat.fcgi ${pid} was killed before`);
				seen.add(pid);
				process.kill(pid, 'SIGKILL');
			}
		};
		/* Two whole frames and the start of a third in one message. */
		assert.equal(await x.send(frame('SEND', { destination: dest }, 'one') + '\n' +
			frame('SEND', { destination: dest }, 'two') + cut[0]), 204);
		assert.equal((await box.next(20000)).body, 'one');
		assert.equal((await box.next(20000)).body, 'two');
		await between();
		assert.equal(await x.send(cut[1]), 204);
		await between();
		assert.equal(await x.send(cut[2] + '\n'), 204);
		const r = await x.next();
		assert.equal(r.command, 'RECEIPT');
		assert.equal(r.headers['receipt-id'], 'three');
		assert.ok((await box.next(20000)).body === bigBody(30000), 'the subscriber got another body');
		if (front === 'apache-fcgid')
			assert.ok(seen.size >= 2, `only ${seen.size} chat.fcgi processes were seen`);
		await sub.close();
	});

	test(`${front}: a frame that grows past max_frame across messages gets ERROR, then close`, { skip, timeout: 60000 }, async () => {
		const s = await stack(front);
		const head = frame('SEND', { destination: '/topic/frames-big' }).slice(0, -1);
		/* Over xhr_send ... */
		const x = await rawSession(s);
		assert.equal(await x.send(frame('CONNECT', { 'accept-version': '1.2' })), 204);
		assert.equal((await x.next()).command, 'CONNECTED');
		assert.equal(await x.send(head + 'x'.repeat(40000)), 204);
		assert.equal(await x.send('x'.repeat(40000)), 204);
		const e = await x.next();
		assert.equal(e.command, 'ERROR');
		assert.equal(e.headers.message, `frame exceeds ${MAX_FRAME} bytes`);
		assert.deepEqual((await x.next()).close, [3001, 'STOMP error']);
		/* ... and over the raw WebSocket, where two frames and a partial
		 * third in one message came first. */
		const w = await rawStomp(s);
		w.ws.send(frame('CONNECT', { 'accept-version': '1.2' }));
		assert.equal((await w.frames.next()).command, 'CONNECTED');
		w.ws.send(frame('SUBSCRIBE', { id: 's', destination: '/topic/frames-big' }) +
			frame('SEND', { destination: '/topic/frames-big' }, 'a') + '\r\n' + head.slice(0, 10));
		assert.equal((await w.frames.next()).body, 'a');
		w.ws.send(head.slice(10) + 'b\0');
		assert.equal((await w.frames.next()).body, 'b');
		w.ws.send(head + 'y'.repeat(40000));
		w.ws.send('y'.repeat(40000));
		const f = await w.frames.next();
		assert.equal(f.command, 'ERROR');
		assert.equal(f.headers.message, `frame exceeds ${MAX_FRAME} bytes`);
		assert.equal((await w.closed.next()).code, 3001);
	});
}

for (const front of FRONTS) {
	const skip = frontMissing(front) ||
		(existsSync(GOSTOMP) ? false : 'tests/fixtures/gostomp is not built (needs Go)');

	test(`${front}: go-stomp sends a 10000-byte frame in 4 KiB WebSocket messages, delivered whole`, { skip, timeout: 60000 }, async () => {
		const s = await stack(front);
		const dest = `/topic/frames-go-${++counter}`;
		const { c: sub, box } = await subscriber(s, dest);
		const out = await new Promise((resolve, reject) => {
			execFile(GOSTOMP, ['-url', `${s.ws}/chat/websocket`, '-dest', dest, '-size', '10000'],
				{ timeout: 30000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}: ${stderr}`)) : resolve(stdout)));
		});
		const m = /^sent 10000 bytes in (\d+) messages$/m.exec(out);
		assert.ok(m, out);
		assert.ok(Number(m[1]) >= 3, `go-stomp wrote the SEND in ${m[1]} messages`);
		const got = await box.next(20000);
		assert.equal(got.body, '0123456789'.repeat(1000));
		await sub.close();
	});
}
