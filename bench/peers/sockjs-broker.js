#!/usr/bin/env node
// sockjs-broker.js - the sockjs-node peer for bench/run.sh: Debian's
// node-sockjs (0.3.x, all SockJS transports) with the smallest STOMP topic
// broker that the load generator needs (CONNECT, SUBSCRIBE with receipts,
// SEND fanned out as MESSAGE to every subscriber of the destination,
// DISCONNECT), in memory.  It is what a Node chat server built on sockjs
// looks like, minus persistence: there is no outbox and no history.
//   NODE_PATH=/usr/share/nodejs node sockjs-broker.js PORT
const http = require('node:http');
const sockjs = require('sockjs');

const port = Number(process.argv[2] || 9999);
const topics = new Map(); // destination -> Map(conn -> subscription id)
let nextId = 0;

function frame(command, headers, body) {
	let s = command + '\n';
	for (const [k, v] of Object.entries(headers)) s += `${k}:${v}\n`;
	return s + '\n' + (body || '') + '\0';
}

function handle(conn, subs, raw) {
	const cut = raw.indexOf('\n\n');
	if (cut < 0) return;
	const lines = raw.slice(0, cut).split('\n');
	const command = lines[0].replace(/\r$/, '');
	const h = {};
	for (const l of lines.slice(1)) {
		const i = l.indexOf(':');
		if (i > 0 && !(l.slice(0, i) in h)) h[l.slice(0, i)] = l.slice(i + 1);
	}
	const body = raw.slice(cut + 2);
	switch (command) {
	case 'CONNECT':
	case 'STOMP':
		conn.write(frame('CONNECTED', { version: '1.2', 'heart-beat': '0,0', server: 'sockjs-broker' }));
		return;
	case 'SUBSCRIBE': {
		if (!topics.has(h.destination)) topics.set(h.destination, new Map());
		topics.get(h.destination).set(conn, h.id);
		subs.set(h.id, h.destination);
		break;
	}
	case 'UNSUBSCRIBE': {
		const d = subs.get(h.id);
		if (d && topics.has(d)) topics.get(d).delete(conn);
		subs.delete(h.id);
		break;
	}
	case 'SEND': {
		const t = topics.get(h.destination);
		if (t) {
			const id = String(++nextId);
			for (const [c, sid] of t) {
				c.write(frame('MESSAGE', {
					subscription: sid, 'message-id': id, destination: h.destination,
					'content-type': h['content-type'] || 'text/plain',
				}, body));
			}
		}
		break;
	}
	default:
		break;
	}
	if (h.receipt) conn.write(frame('RECEIPT', { 'receipt-id': h.receipt }));
}

const service = sockjs.createServer({ log: () => {}, heartbeat_delay: 25000, disconnect_delay: 5000 });
service.on('connection', (conn) => {
	const subs = new Map();
	let pending = '';
	conn.on('data', (data) => {
		pending += data;
		let z;
		while ((z = pending.indexOf('\0')) >= 0) {
			handle(conn, subs, pending.slice(0, z).replace(/^\n+/, ''));
			pending = pending.slice(z + 1);
		}
	});
	conn.on('close', () => {
		for (const d of subs.values()) if (topics.has(d)) topics.get(d).delete(conn);
	});
});
const server = http.createServer();
server.maxConnections = 20000;
service.installHandlers(server, { prefix: '/chat' });
server.listen(port, '127.0.0.1', () => console.log(`sockjs-broker on 127.0.0.1:${port}`));
