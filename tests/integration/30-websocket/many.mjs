// many.mjs - 1,000 concurrent SockJS WebSocket sessions through lighttpd
// on one chat-ws, all open at once, each echoing its own messages without
// an error, within a bounded time; then all closed, with no session rows
// left behind.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import WebSocket from 'ws';
import { frontMissing, startStack } from '../lib/stack.mjs';

const N = Number(process.env.CHAT_WS_SOCKETS || 1000);
const skip = frontMissing('lighttpd') || false;
let s;
before(async () => { if (!skip) s = await startStack({ front: 'lighttpd', options: { disconnect_delay_ms: 500 } }); });
after(async () => { await s?.stop(); });

function session(base, i) {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(`${base}/echo/${String(i % 1000).padStart(3, '0')}/s${i}/websocket`, { perMessageDeflate: false });
		const want = [`m1 of ${i}`, `m2 of ${i}: ü`];
		const got = [];
		ws.on('message', (d) => {
			const m = d.toString();
			if (m === 'o') {
				ws.send(JSON.stringify([want[0]]));
				ws.send(JSON.stringify([want[1]]));
				return;
			}
			if (m === 'h')
				return;
			if (m[0] !== 'a')
				return reject(new Error(`socket ${i}: unexpected frame ${m}`));
			got.push(...JSON.parse(m.slice(1)));
			if (got.length >= want.length) {
				try {
					assert.deepEqual(got, want);
				} catch (e) {
					return reject(e);
				}
				resolve(ws);
			}
		});
		ws.on('error', (e) => reject(new Error(`socket ${i}: ${e.message}`)));
		ws.on('close', (code) => { if (got.length < want.length) reject(new Error(`socket ${i}: closed ${code}`)); });
	});
}

test(`${N} concurrent WebSocket sessions all echo through lighttpd`, { skip, timeout: 120000 }, async () => {
	const t0 = Date.now();
	const sockets = await Promise.all(Array.from({ length: N }, (_, i) => session(s.ws, i)));
	const ms = Date.now() - t0;
	console.log(`# ${N} sessions opened and echoed in ${ms} ms`);
	assert.ok(ms < 60000, `took ${ms} ms`);
	const rows = () => Number(execFileSync('sqlite3', [path.join(s.dir, 'chat.db'),
		'select count(*) from sessions']).toString().trim());
	assert.equal(rows(), N);
	const closed = sockets.map((ws) => new Promise((r) => ws.on('close', r)));
	for (const ws of sockets)
		ws.close();
	await Promise.all(closed);
	/* A socket's session is closed when it goes and deleted by chat-ws
	 * disconnect_delay_ms (500 here) later. */
	for (let i = 0; i < 200 && rows() > 0; i++)
		await new Promise((r) => setTimeout(r, 50));
	assert.equal(rows(), 0, 'session rows left 10 s after the sockets closed');
});
