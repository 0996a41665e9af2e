// stomp.mjs - @stomp/stompjs clients for the end-to-end tests and the
// benchmarks: over sockjs-client with one SockJS transport, or over a raw
// WebSocket (/chat/websocket, the `ws` package), with their events in
// inboxes; and raw-frame helpers for what stompjs cannot send.
import { Client, Versions } from '@stomp/stompjs';
import SockJS from 'sockjs-client';
import WebSocket from 'ws';
import { Inbox } from './stack.mjs';

/* What Node can run of sockjs-client's transports (the iframe ones need a
 * browser), and 'raw' for STOMP straight over /chat/websocket. */
export const SOCKJS_TRANSPORTS = ['websocket', 'xhr-streaming', 'xhr-polling', 'eventsource'];
export const TRANSPORTS = [...SOCKJS_TRANSPORTS, 'raw'];

let counter = 0;

/* Every user the tests make has this password (db/auth.c checks it). */
export const PASSWORD = 'correct horse battery staple';

/** POSTs JSON body to path on stack s: { status, body (parsed JSON or null) }. */
export async function apiPost(s, path, body) {
	const r = await fetch(`${s.http}${path}`, {
		method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
	});
	return { status: r.status, body: await r.json().catch(() => null) };
}

/** Registers user name on stack s (POST /api/users) unless it exists. */
export async function ensureUser(s, name) {
	const r = await apiPost(s, '/api/users', { name, password: PASSWORD });
	if (r.status !== 201 && r.status !== 409)
		throw new Error(`POST /api/users ${name}: ${r.status} ${JSON.stringify(r.body)}`);
}

/** Registers name on stack s unless it exists, logs in (POST /api/login)
 * and resolves with the login token. */
export async function login(s, name) {
	await ensureUser(s, name);
	const r = await apiPost(s, '/api/login', { name, password: PASSWORD });
	if (r.status !== 200)
		throw new Error(`POST /api/login ${name}: ${r.status} ${JSON.stringify(r.body)}`);
	return r.body.token;
}

const roomMakers = new WeakMap(); // stack -> Promise of a login token

/** Creates a fresh room on stack s (POST /api/rooms as a registered user)
 * and resolves with its name (the id in /app/chat/room/{id}). */
export async function makeRoom(s, tag = 'r') {
	if (!roomMakers.has(s))
		roomMakers.set(s, login(s, 'roommaker'));
	const name = roomId(tag);
	const r = await apiPost(s, '/api/rooms', { name, token: await roomMakers.get(s) });
	if (r.status !== 201)
		throw new Error(`POST /api/rooms ${name}: ${r.status} ${JSON.stringify(r.body)}`);
	return name;
}

/**
 * Connects a stompjs Client to stack s over transport (one of TRANSPORTS).
 * Resolves once CONNECTED arrived with
 * { client, transport (what sockjs-client really used), connected (the
 *   CONNECTED frame), errors (Inbox of ERROR frames), closed (Inbox of
 *   close events), subscribe(dest, headers) -> Inbox of messages,
 *   send(dest, body, headers) -> Promise of its RECEIPT frame,
 *   post(room, text) -> the same for a chat post, close() }.
 * With login, the user is registered first (ensureUser) and CONNECT
 * authenticates with its password; without, the server names a guest.
 * versions (e.g. ['1.0']) limits the STOMP versions offered in CONNECT;
 * client holds more stompjs Client settings (e.g. splitLargeFrames).
 * Never reconnects: a test sees every close.
 */
export async function stompConnect(s, transport, { login, heartbeat = [0, 0], timeout = 20000,
	prefix = '/chat', headers = {}, versions, client: more = {} } = {}) {
	const errors = new Inbox();
	const closed = new Inbox();
	const connected = new Inbox();
	if (login)
		await ensureUser(s, login);
	let closedEarly;
	const early = new Promise((resolve) => { closedEarly = resolve; });
	/* The raw socket asks for the STOMP subprotocols, as stompjs's own
	 * brokerURL does (and browsers' STOMP clients). */
	const factory = transport === 'raw'
		? () => new WebSocket(`${s.ws}${prefix}/websocket`, ['v10.stomp', 'v11.stomp', 'v12.stomp'],
			{ perMessageDeflate: false })
		: () => new SockJS(`${s.http}${prefix}`, null, { transports: [transport], timeout });
	const client = new Client({
		webSocketFactory: factory,
		connectHeaders: { ...(login ? { login, passcode: PASSWORD } : {}), ...headers },
		...(versions ? { stompVersions: new Versions(versions) } : {}),
		heartbeatOutgoing: heartbeat[0],
		heartbeatIncoming: heartbeat[1],
		reconnectDelay: 0,
		connectionTimeout: timeout,
		debug: () => {},
		onConnect: (frame) => connected.push(frame),
		onStompError: (frame) => errors.push(frame),
		onWebSocketClose: (ev) => {
			closed.push({ code: ev.code, reason: ev.reason });
			closedEarly({ code: ev.code, reason: ev.reason });
		},
		...more,
	});
	client.activate();
	const frame = await Promise.race([
		connected.next(timeout),
		early.then((c) => { throw new Error(`${transport}: closed before CONNECTED: ${JSON.stringify(c)}`); }),
	]);
	const used = transport === 'raw' ? 'raw' : client.webSocket?.transport;
	return {
		client, transport: used, connected: frame, errors, closed,
		/* A room topic also carries ENTER/LEAVE notices ({"type": ...});
		 * they are left out unless notices is set. */
		subscribe(dest, hdrs = {}, { notices = false } = {}) {
			const box = new Inbox();
			const room = dest.startsWith('/topic/chat/room/');
			box.sub = client.subscribe(dest, (m) => {
				if (room && !notices && isNotice(m))
					return;
				box.push(m);
			}, hdrs);
			return box;
		},
		/* SUBSCRIBE with a receipt: resolves with the inbox once the
		 * subscription is committed, so nothing sent after it is missed. */
		async subscribeSync(dest, hdrs = {}) {
			const receipt = `sub-${++counter}`;
			const got = receiptOf(client, receipt, timeout);
			const box = this.subscribe(dest, { ...hdrs, receipt });
			await got;
			return box;
		},
		send(dest, body, hdrs = {}) {
			const receipt = `r-${++counter}`;
			const got = receiptOf(client, receipt, timeout);
			client.publish({ destination: dest, body, headers: { ...hdrs, receipt } });
			return got;
		},
		post(room, text) {
			return this.send(`/app/chat/room/${room}`, JSON.stringify({ text }),
				{ 'content-type': 'application/json' });
		},
		/* DISCONNECT and close; a client whose socket is already gone is
		 * not waited for (stompjs would wait forever). */
		async close() {
			if (!client.connected) {
				client.deactivate({ force: true }).catch(() => {});
				return;
			}
			let timer;
			await Promise.race([client.deactivate().catch(() => {}),
				new Promise((r) => { timer = setTimeout(r, 5000); })]);
			clearTimeout(timer);
		},
	};
}

function isNotice(m) {
	try {
		return JSON.parse(m.body).type !== undefined;
	} catch {
		return false;
	}
}

function receiptOf(client, id, ms) {
	return new Promise((resolve, reject) => {
		const t = setTimeout(() => reject(new Error(`no RECEIPT ${id} within ${ms} ms`)), ms);
		client.watchForReceipt(id, (frame) => { clearTimeout(t); resolve(frame); });
	});
}

/** A STOMP frame as bytes (NUL-terminated), headers not escaped. */
export function frame(command, headers = {}, body = '') {
	return `${command}\n${Object.entries(headers).map(([k, v]) => `${k}:${v}\n`).join('')}\n${body}\0`;
}

const UNESCAPE = { '\\c': ':', '\\n': '\n', '\\r': '\r', '\\\\': '\\' };

/** Parses the frames in one transport message (STOMP 1.1/1.2 header
 * escapes undone; bodies up to the NUL): [{ command, headers, body }]. */
export function parseFrames(text) {
	const out = [];
	for (const part of text.split('\0')) {
		const p = part.replace(/^[\r\n]+/, '');
		if (p === '')
			continue;
		const [head, ...rest] = p.split('\n\n');
		const lines = head.split('\n');
		const headers = {};
		for (const l of lines.slice(1)) {
			const i = l.indexOf(':');
			const name = l.slice(0, i).replace(/\\[cnr\\]/g, (e) => UNESCAPE[e]);
			if (!(name in headers))
				headers[name] = l.slice(i + 1).replace(/\\[cnr\\]/g, (e) => UNESCAPE[e]);
		}
		out.push({ command: lines[0], headers, body: rest.join('\n\n') });
	}
	return out;
}

/** A raw WebSocket to s's /chat/websocket (no stompjs): resolves with
 * { ws, frames (Inbox of parsed frames), closed (Inbox) } once open. */
export function rawStomp(s, prefix = '/chat') {
	const ws = new WebSocket(`${s.ws}${prefix}/websocket`, { perMessageDeflate: false });
	const frames = new Inbox();
	const closed = new Inbox();
	ws.on('message', (d) => { for (const f of parseFrames(d.toString())) frames.push(f); });
	ws.on('close', (code, reason) => closed.push({ code, reason: reason.toString() }));
	return new Promise((resolve, reject) => {
		ws.on('open', () => resolve({ ws, frames, closed }));
		ws.on('error', reject);
	});
}

/** The stamped chat message a MESSAGE frame carries. */
export function chatBody(m) {
	return JSON.parse(m.body);
}

/** A fresh room id for one test. */
export function roomId(tag = 'r') {
	return `${tag}-${process.pid}-${++counter}`;
}
