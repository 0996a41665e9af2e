#!/usr/bin/env node
// ws_bench.js - figures for chat-ws through lighttpd (conf/serve.sh on free
// ports, test services on):
//   1. chat-ws resident memory (VmRSS) idle, and with N idle SockJS sockets;
//   2. WebSocket echo round trip (client -> lighttpd -> chat-ws -> outbox ->
//      doorbell -> chat-ws -> client), sequential, median and p99;
//   3. xhr_send -> xhr_streaming on one echo session: the send is committed
//      by one chat.fcgi request and delivered by the streaming request held
//      by another (across processes when lighttpd picks the other of the two
//      chat.fcgi processes), median and p99.
// Run from the build directory after `make` (needs npm ci in tests/):
//   node SRCDIR/bench/ws_bench.js [SOCKETS=1000] [ROUND_TRIPS=2000]
const path = require('node:path');
const fs = require('node:fs');
const http = require('node:http');
const { createRequire } = require('node:module');
const { pathToFileURL } = require('node:url');

const testsRequire = createRequire(path.join(__dirname, '..', 'tests', 'package.json'));
const WebSocket = testsRequire('ws');
const SOCKETS = Number(process.argv[2] || 1000);
const ROUNDS = Number(process.argv[3] || 2000);

function rssKiB(pid) {
	const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
	return Number(m[1]);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function stats(samples) {
	const s = samples.slice().sort((a, b) => a - b);
	const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
	return `median ${at(0.5).toFixed(3)} ms, p99 ${at(0.99).toFixed(3)} ms, max ${s[s.length - 1].toFixed(3)} ms (n=${s.length})`;
}

function openFramed(url) {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(url, { perMessageDeflate: false });
		ws.once('message', (d) => (d.toString() === 'o' ? resolve(ws) : reject(new Error(`got ${d}`))));
		ws.on('error', reject);
	});
}

async function wsRoundTrips(base) {
	const ws = await openFramed(`${base}/echo/000/rtt/websocket`);
	const samples = [];
	for (let i = 0; i < ROUNDS; i++) {
		const t0 = process.hrtime.bigint();
		const got = new Promise((r) => ws.once('message', r));
		ws.send(JSON.stringify([`ping ${i}`]));
		await got;
		samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
	}
	ws.close();
	return samples;
}

/* Holds xhr_streaming requests on sid (reopening at the response limit)
 * and calls onFrame(line) for each frame. */
function streamSession(port, sid, onFrame) {
	let stopped = false;
	const open = () => {
		const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: `/echo/000/${sid}/xhr_streaming` }, (res) => {
			let buf = '';
			res.setEncoding('utf8');
			res.on('data', (d) => {
				buf += d;
				let i;
				while ((i = buf.indexOf('\n')) >= 0) {
					onFrame(buf.slice(0, i));
					buf = buf.slice(i + 1);
				}
			});
			res.on('end', () => { if (!stopped) open(); });
		});
		req.on('error', () => {});
		req.end();
		streamSession.req = req;
	};
	open();
	return () => { stopped = true; streamSession.req.destroy(); };
}

async function xhrSendToStream(port) {
	const sid = `bench${process.pid}`;
	let waiter = null;
	let opened;
	const isOpen = new Promise((r) => { opened = r; });
	const stop = streamSession(port, sid, (line) => {
		if (line === 'o')
			opened();
		else if (line.startsWith('a[') && waiter)
			waiter();
	});
	await isOpen;
	const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
	const send = (body) => new Promise((resolve, reject) => {
		const req = http.request({ host: '127.0.0.1', port, method: 'POST', agent, path: `/echo/000/${sid}/xhr_send`,
			headers: { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) } }, (res) => {
			res.resume();
			res.on('end', () => (res.statusCode === 204 ? resolve() : reject(new Error(`xhr_send ${res.statusCode}`))));
		});
		req.on('error', reject);
		req.end(body);
	});
	const samples = [];
	for (let i = 0; i < ROUNDS / 2; i++) {
		const t0 = process.hrtime.bigint();
		const got = new Promise((r) => { waiter = r; });
		await send(JSON.stringify([`msg ${i}`]));
		await got;
		waiter = null;
		samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
	}
	stop();
	agent.destroy();
	return samples;
}

(async () => {
	process.env.top_builddir ??= process.cwd();
	const { startStack } = await import(pathToFileURL(path.join(__dirname, '..', 'tests', 'integration', 'lib', 'stack.mjs')));
	const s = await startStack({ front: 'lighttpd' });
	try {
		const pid = s.pids['chat-ws'];
		const base = rssKiB(pid);
		const sockets = [];
		for (let i = 0; i < SOCKETS; i += 100)
			sockets.push(...await Promise.all(Array.from({ length: Math.min(100, SOCKETS - i) }, (_, k) =>
				openFramed(`${s.ws}/echo/000/idle${i + k}/websocket`))));
		await sleep(1000);
		const loaded = rssKiB(pid);
		console.log(`chat-ws VmRSS: ${base} KiB with no socket, ${loaded} KiB with ${SOCKETS} idle SockJS sockets ` +
			`(${((loaded - base) / SOCKETS).toFixed(1)} KiB per socket)`);
		console.log(`WebSocket echo round trip via lighttpd: ${stats(await wsRoundTrips(s.ws))} ` +
			`(with ${SOCKETS} idle sockets open)`);
		for (const ws of sockets)
			ws.terminate();
		await sleep(500);
		console.log(`xhr_send -> xhr_streaming (echo, 2 chat.fcgi processes) via lighttpd: ${stats(await xhrSendToStream(s.port))}`);
	} finally {
		await s.stop();
	}
})().catch((e) => { console.error(e); process.exit(1); });
