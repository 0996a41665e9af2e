// safety.mjs - issue 11's data-safety rules end to end, behind lighttpd:
// a content-type that STOMP 1.0/1.1 cannot carry is refused at SEND and
// 1.0/1.1 receivers (over SockJS HTTP and over WebSocket) keep receiving;
// a session opened with a login token ends with ERROR "logged out" when
// the token is revoked and "token expired" when it expires, on every
// transport; users' and rooms' names are unique case-insensitively and
// guest look-alikes are reserved (POST /api/users, /api/rooms); a
// database failure reaches clients as a generic reason, never SQLite's text.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { frontMissing, startStack } from '../lib/stack.mjs';
import { PASSWORD, TRANSPORTS, apiPost, login, roomId, stompConnect } from '../lib/stomp.mjs';

const front = 'lighttpd';
const skip = frontMissing(front) || false;
/* A short token lifetime for the expiry tests (the option's floor). */
const TOKEN_TTL_MS = 3000;
const stacks = {};
function stack(name, options) {
	stacks[name] ??= startStack({ front, testServices: false, options });
	return stacks[name];
}
const main = () => stack('main', { topic_send: 1 });
after(async () => {
	for (const p of Object.values(stacks))
		await (await p.catch(() => null))?.stop();
});

/* Resolves with 'receipt' or the ERROR frame, whichever comes first. */
function receiptOrError(c, dest, body, headers) {
	return Promise.race([c.send(dest, body, headers).then(() => 'receipt'), c.errors.next(20000)]);
}

for (const version of ['1.0', '1.1']) {
	for (const transport of ['xhr-polling', 'xhr-streaming', 'raw']) {
		test(`STOMP ${version} receiver over ${transport} keeps receiving after a SEND whose content-type holds an escaped LF (refused with ERROR)`, { skip, timeout: 60000 }, async () => {
			const s = await main();
			const dest = `/topic/poison-${roomId('p')}`;
			const rx = await stompConnect(s, transport, { login: 'rx', versions: [version] });
			assert.equal(rx.connected.headers.version, version);
			const box = await rx.subscribeSync(dest);
			const bad = await stompConnect(s, 'xhr-streaming', { login: 'poisoner' });
			const got = await receiptOrError(bad, dest, 'poison', { 'content-type': 'text/plain\nx-evil:1' });
			assert.notEqual(got, 'receipt', 'the SEND was accepted');
			assert.equal(got.headers.message, 'invalid content-type (not a media type)');
			await bad.close();
			const good = await stompConnect(s, 'xhr-streaming', { login: 'sender' });
			await good.send(dest, 'after', { 'content-type': 'text/plain;charset=utf-8' });
			const m = await box.next(20000);
			assert.equal(m.body, 'after');
			assert.equal(m.headers['content-type'], 'text/plain;charset=utf-8');
			await good.send(dest, 'again');
			assert.equal((await box.next(20000)).body, 'again');
			await good.close();
			await rx.close();
		});
	}
}

for (const transport of TRANSPORTS) {
	test(`${transport}: a session opened with a token ends with ERROR "logged out" when the token is revoked`, { skip, timeout: 60000 }, async () => {
		const s = await main();
		const user = 'leaver';
		const token = await login(s, user);
		const c = await stompConnect(s, transport, { headers: { login: user, passcode: token } });
		assert.equal(c.connected.headers['user-name'], user);
		await c.post('general', 'before logout');
		const r = await apiPost(s, '/api/logout', { token });
		assert.equal(r.status, 204, JSON.stringify(r.body));
		const e = await c.errors.next(20000);
		assert.equal(e.headers.message, 'logged out');
		assert.equal((await c.closed.next(20000)).code, 3001);
		await c.close();
	});

	test(`${transport}: a session opened with a token ends with ERROR "token expired" when it expires`, { skip, timeout: 60000 }, async () => {
		const s = await stack('ttl', { token_ttl_ms: TOKEN_TTL_MS });
		const user = 'expirer';
		const token = await login(s, user);
		const c = await stompConnect(s, transport, { headers: { login: user, passcode: token } });
		const e = await c.errors.next(30000);
		assert.equal(e.headers.message, 'token expired');
		assert.equal((await c.closed.next(20000)).code, 3001);
		await c.close();
	});
}

test('a session opened with a password is not ended by the logout of a token of the same user', { skip, timeout: 60000 }, async () => {
	const s = await main();
	const token = await login(s, 'twice');
	const byPassword = await stompConnect(s, 'xhr-streaming', { login: 'twice' });
	const byToken = await stompConnect(s, 'raw', { headers: { login: 'twice', passcode: token } });
	assert.equal((await apiPost(s, '/api/logout', { token })).status, 204);
	assert.equal((await byToken.errors.next(20000)).headers.message, 'logged out');
	/* The password session still posts. */
	await byPassword.post('general', 'still here');
	await byPassword.close();
	await byToken.close();
});

/* Makes chat.db fail inserts the way a full disk does, for the rows the
 * test names only (a trigger added from outside, as sqlite3 would). */
function failInserts(s, sql) {
	execFileSync('python3', ['-c', `import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=30)
c.executescript(sys.argv[2])
c.close()`, path.join(s.dir, 'chat.db'), sql]);
}

test('a database failure reaches clients as a generic reason: WebSocket close and /api', { skip, timeout: 60000 }, async () => {
	const s = await main();
	failInserts(s, `CREATE TRIGGER IF NOT EXISTS full_outbox BEFORE INSERT ON outbox
		WHEN NEW.destination = '/topic/full' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;
		CREATE TRIGGER IF NOT EXISTS full_rooms BEFORE INSERT ON outbox
		WHEN CAST(NEW.body AS TEXT) LIKE '%"full-%' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;`);
	for (const transport of ['raw', 'websocket']) {
		const c = await stompConnect(s, transport, { login: 'filler' });
		c.client.publish({ destination: '/topic/full', body: 'x' });
		const closed = await c.closed.next(20000);
		assert.equal(closed.code, 1011, JSON.stringify(closed));
		assert.equal(closed.reason, 'Internal error');
		await c.close();
	}
	const token = await login(s, 'filler');
	const r = await apiPost(s, '/api/rooms', { name: `full-${process.pid}`, token });
	assert.ok(r.status >= 500, JSON.stringify(r));
	assert.doesNotMatch(JSON.stringify(r.body), /disk|database|sqlite/i);
	assert.match((await s.log('chat-ws.log')) + (await s.log('chat.fcgi.log')) + (await s.log('lighttpd.log')),
		/database or disk is full/);
});

test('names: users and rooms are unique case-insensitively, guest look-alikes are reserved', { skip, timeout: 60000 }, async () => {
	const s = await main();
	const base = `Alice${process.pid}`;
	assert.equal((await apiPost(s, '/api/users', { name: base, password: PASSWORD })).status, 201);
	for (const name of [base.toLowerCase(), base.toUpperCase()]) {
		const r = await apiPost(s, '/api/users', { name, password: PASSWORD });
		assert.equal(r.status, 409, `${name}: ${JSON.stringify(r.body)}`);
	}
	/* Login by any case finds the user, under its display form. */
	const r = await apiPost(s, '/api/login', { name: base.toUpperCase(), password: PASSWORD });
	assert.equal(r.status, 200, JSON.stringify(r.body));
	assert.equal(r.body.user, base);
	for (const name of ['guest', 'Guest', 'guest_1', 'guest.1', 'guest1', 'GUEST-7']) {
		const g = await apiPost(s, '/api/users', { name, password: PASSWORD });
		assert.equal(g.status, 400, `${name}: ${JSON.stringify(g.body)}`);
	}
	assert.equal((await apiPost(s, '/api/users', { name: 'guestbook', password: PASSWORD })).status, 201);
	const token = r.body.token;
	const room = `Room${process.pid}`;
	assert.equal((await apiPost(s, '/api/rooms', { name: room, token })).status, 201);
	const dup = await apiPost(s, '/api/rooms', { name: room.toLowerCase(), token });
	assert.equal(dup.status, 409, JSON.stringify(dup.body));
	assert.equal((await apiPost(s, '/api/rooms', { name: 'General', token })).status, 409);
});
