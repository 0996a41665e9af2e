// chatctl.mjs - the admin command (ctl/chatctl) against a running stack
// behind lighttpd: a backup taken while a client posts, restored into
// another state directory and served by a new stack, holds every post that
// was receipted before the backup began; a ban ends the user's sessions on
// every transport with ERROR "banned" and refuses their CONNECT and login
// until unbanned; users, rooms and sessions commands change what clients
// see; --json output parses and exit codes are the documented ones.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { builddir, frontMissing, sqlite, startStack } from '../lib/stack.mjs';
import { PASSWORD, apiPost, login, makeRoom, stompConnect } from '../lib/stomp.mjs';

const front = 'lighttpd';
const skip = frontMissing(front) || false;
/* At most this many posts, so the restored room fits one history page. */
const MAX_POSTS = 400;
const chatctlBin = path.join(builddir, 'ctl', 'chatctl');
const stacks = [];
const dirs = [];
let mainStack;
function main() {
	mainStack ??= startStack({ front, testServices: false });
	return mainStack;
}
after(async () => {
	for (const p of [mainStack, ...stacks])
		await (await p?.catch(() => null))?.stop();
	for (const d of dirs)
		await rm(d, { recursive: true, force: true });
});

/* Runs chatctl with args (after -c CONFIG of stack s, or the args alone
 * when s is null); input goes to its stdin.  Resolves with { code, out,
 * err, json } (json: stdout parsed when --json was given). */
function chatctl(s, args, input) {
	const all = s ? ['-c', path.join(s.dir, 'run', 'chat.conf'), ...args] : args;
	return new Promise((resolve) => {
		const env = { ...process.env };
		for (const k of Object.keys(env))
			if (/^CHAT_/.test(k))
				delete env[k];
		const child = execFile(chatctlBin, all, { env }, (e, out, err) => {
			const code = e ? e.code : 0;
			let json;
			if (all.includes('--json'))
				json = JSON.parse(out);
			resolve({ code, out, err, json });
		});
		/* A chatctl that exits without reading its input closes the
		 * pipe first: EPIPE then, not a failure of the test. */
		child.stdin.on('error', (e) => { if (e.code !== 'EPIPE') throw e; });
		child.stdin.end(input ?? '');
	});
}

async function tmpdir(tag) {
	const d = await mkdtemp(path.join(os.tmpdir(), `chatctl-${tag}-`));
	dirs.push(d);
	return d;
}

test('backup while a client posts, restored into another stack: every receipted post is there', { skip, timeout: 60000 }, async () => {
	const s = await main();
	const room = await makeRoom(s, 'bk');
	const c = await stompConnect(s, 'websocket', { login: 'poster' });
	const receipted = [];
	let stop = false;
	/* Posts one message at a time, each after the last one's RECEIPT. */
	const posting = (async () => {
		for (let i = 0; !stop && i < MAX_POSTS; i++) {
			await c.post(room, `post ${i}`);
			receipted.push(`post ${i}`);
		}
	})();
	while (receipted.length < 20)
		await new Promise((r) => setImmediate(r));
	const before = receipted.length;
	const dir = path.join(await tmpdir('backup'), 'b1');
	const b = await chatctl(s, ['--json', 'backup', dir]);
	const during = receipted.length;
	assert.equal(b.code, 0, b.err);
	assert.equal(b.json.done, 'backup');
	/* Posting went on while the copy was taken (it did not stop the
	 * writers), then goes on a little more. */
	while (receipted.length < Math.min(during + 5, MAX_POSTS))
		await new Promise((r) => setImmediate(r));
	stop = true;
	await posting;
	await c.close();
	/* A second backup into the same directory is refused. */
	const again = await chatctl(s, ['backup', dir]);
	assert.equal(again.code, 2);
	assert.match(again.err, /empty directory/);

	/* Restore elsewhere, with the servers' options pointing there. */
	const dest = await tmpdir('restored');
	const r = await chatctl(null, [`--db_path=${dest}/chat.db`, `--store_uri=sqlite:${dest}/history.db`,
		`--bell_path=${dest}/chat.bell`, '--json', 'restore', dir]);
	assert.equal(r.code, 0, r.err);
	const s2p = startStack({ front, testServices: false, dir: dest });
	stacks.push(s2p);
	const s2 = await s2p;
	const chk = await chatctl(s2, ['--json', 'check']);
	assert.equal(chk.code, 0, chk.out + chk.err);
	assert.deepEqual([chk.json.chat_db, chk.json.store], ['ok', 'ok']);
	/* Read the restored room's history back over STOMP from the new stack. */
	const reader = await stompConnect(s2, 'xhr-streaming', { login: 'reader' });
	const hist = reader.subscribe(`/app/chat/room/${room}/history`, { limit: '500' });
	const page = JSON.parse((await hist.next(20000)).body);
	const texts = new Set(page.map((x) => x.text));
	const maxId = Math.max(...page.map((x) => x.id));
	for (let i = 0; i < before; i++)
		assert.ok(texts.has(`post ${i}`), `receipted post ${i} (of ${before} before the backup) is missing`);
	await reader.close();
	/* The restored stack posts with ids above every restored one. */
	const w = await stompConnect(s2, 'websocket', { login: 'poster' });
	const box = await w.subscribeSync(`/topic/chat/room/${room}`);
	await w.post(room, 'after restore');
	const m = await box.next(20000);
	assert.ok(JSON.parse(m.body).id > maxId, 'a new post reuses a restored id');
	await w.close();
	/* restore refuses a running stack (exit 5). */
	const busy = await chatctl(s2, ['restore', dir]);
	assert.equal(busy.code, 5);
	assert.match(busy.err, /running/);
});

test('ban ends the user\'s sessions on every transport and refuses CONNECT and login until unban', { skip, timeout: 60000 }, async () => {
	const s = await main();
	const user = 'troll';
	const token = await login(s, user);
	const clients = [];
	for (const transport of ['websocket', 'xhr-streaming', 'xhr-polling', 'raw'])
		clients.push(await stompConnect(s, transport, { headers: { login: user, passcode: token } }));
	const bystander = await stompConnect(s, 'websocket', { login: 'bystander' });
	const ban = await chatctl(s, ['--json', 'users', 'ban', user, 'spamming']);
	assert.equal(ban.code, 0, ban.err);
	assert.equal(ban.json.sessions_ended, clients.length);
	for (const c of clients) {
		const e = await c.errors.next(20000);
		assert.equal(e.headers.message, 'banned', c.transport);
		await c.closed.next(20000);
		await c.close();
	}
	/* A new CONNECT (password or token) is refused; so is a login. */
	await assert.rejects(stompConnect(s, 'websocket', { login: user }), /closed before CONNECTED/);
	const l = await apiPost(s, '/api/login', { name: user, password: PASSWORD });
	assert.notEqual(l.status, 200);
	const list = await chatctl(s, ['--json', 'users', 'list']);
	assert.equal(list.json.users.find((u) => u.name === user).banned, true);
	assert.equal(list.json.users.find((u) => u.name === 'bystander').banned, false);
	const bans = await chatctl(s, ['--json', 'users', 'banned']);
	assert.deepEqual(bans.json.bans.map((b) => [b.name, b.reason]), [[user, 'spamming']]);
	/* Nobody else was touched. */
	await bystander.post('general', 'still here');
	await bystander.close();
	const un = await chatctl(s, ['users', 'unban', user]);
	assert.equal(un.code, 0, un.err);
	const back = await stompConnect(s, 'websocket', { login: user });
	assert.equal(back.connected.headers['user-name'], user);
	await back.close();
	assert.equal((await chatctl(s, ['users', 'unban', user])).code, 4);
});

test('users add, passwd and delete change who can log in', { skip, timeout: 60000 }, async () => {
	const s = await main();
	const add = await chatctl(s, ['--json', 'users', 'add', 'opsuser'], 'first password 1\n');
	assert.equal(add.code, 0, add.err);
	assert.deepEqual(add.json, { done: 'added', name: 'opsuser' });
	assert.equal((await apiPost(s, '/api/login', { name: 'opsuser', password: 'first password 1' })).status, 200);
	assert.equal((await chatctl(s, ['users', 'add', 'opsuser'], 'x y z w v\n')).code, 1);
	assert.equal((await chatctl(s, ['users', 'add', 'bad\u0001name'], 'first password 1\n')).code, 2);
	/* A password change logs the user out of the session opened with a token. */
	const token = (await apiPost(s, '/api/login', { name: 'opsuser', password: 'first password 1' })).body.token;
	const c = await stompConnect(s, 'websocket', { headers: { login: 'opsuser', passcode: token } });
	const pw = await chatctl(s, ['users', 'passwd', 'opsuser'], 'second password 2\n');
	assert.equal(pw.code, 0, pw.err);
	assert.equal((await c.errors.next(20000)).headers.message, 'logged out');
	await c.close();
	assert.notEqual((await apiPost(s, '/api/login', { name: 'opsuser', password: 'first password 1' })).status, 200);
	assert.equal((await apiPost(s, '/api/login', { name: 'opsuser', password: 'second password 2' })).status, 200);
	/* Deleting ends the sessions too, also one opened with the password. */
	const pc = await stompConnect(s, 'xhr-streaming', { headers: { login: 'opsuser', passcode: 'second password 2' } });
	const del = await chatctl(s, ['users', 'delete', 'opsuser']);
	assert.equal(del.code, 0, del.err);
	assert.equal((await pc.errors.next(20000)).headers.message, 'user deleted');
	await pc.close();
	assert.notEqual((await apiPost(s, '/api/login', { name: 'opsuser', password: 'second password 2' })).status, 200);
	const list = await chatctl(s, ['--json', 'users', 'list']);
	assert.equal(list.json.users.some((u) => u.name === 'opsuser'), false);
	assert.equal((await chatctl(s, ['users', 'delete', 'opsuser'])).code, 4);
});

test('sessions list and kill, rooms list and delete, status and check as JSON', { skip, timeout: 60000 }, async () => {
	const s = await main();
	const c = await stompConnect(s, 'websocket', { login: 'watched' });
	const sl = await chatctl(s, ['--json', 'sessions', 'list', 'watched']);
	assert.equal(sl.code, 0, sl.err);
	const open = sl.json.sessions.filter((x) => x.state === 'open');
	assert.equal(open.length, 1);
	assert.equal(open[0].user, 'watched');
	assert.equal(open[0].held_by, 'websocket');
	const st = await chatctl(s, ['--json', 'status']);
	assert.equal(st.code, 0, st.err);
	assert.ok(st.json.sessions.open >= 1);
	assert.ok(st.json.sessions.websocket >= 1);
	assert.equal(st.json.store.state, 'up');
	assert.ok(st.json.outbox.last_seq >= st.json.relay.cursor);
	/* The metrics every process flushes to chat.db (db/metrics.h), summed. */
	assert.equal(typeof st.json.metrics.chat_messages_published_total, 'number', JSON.stringify(st.json.metrics));
	const prom = await chatctl(s, ['metrics']);
	assert.equal(prom.code, 0, prom.err);
	assert.match(prom.out, /^# TYPE chat_messages_published_total counter$/m);
	const kill = await chatctl(s, ['sessions', 'kill', open[0].id]);
	assert.equal(kill.code, 0, kill.err);
	assert.equal((await c.errors.next(20000)).headers.message, 'session ended by the administrator');
	await c.close();
	assert.equal((await chatctl(s, ['sessions', 'kill', open[0].id])).code, 4);

	const room = await makeRoom(s, 'ops');
	const watcher = await stompConnect(s, 'websocket', { login: 'roomwatcher' });
	const rooms = await watcher.subscribeSync('/topic/rooms');
	let rl = await chatctl(s, ['--json', 'rooms', 'list']);
	assert.ok(rl.json.rooms.some((r) => r.name === room));
	const rd = await chatctl(s, ['rooms', 'delete', room]);
	assert.equal(rd.code, 0, rd.err);
	const note = JSON.parse((await rooms.next(20000)).body);
	assert.deepEqual([note.type, note.room], ['DELETED', room]);
	await watcher.close();
	rl = await chatctl(s, ['--json', 'rooms', 'list']);
	assert.equal(rl.json.rooms.some((r) => r.name === room), false);
	assert.equal((await chatctl(s, ['rooms', 'delete', room])).code, 4);
	assert.equal((await chatctl(s, ['rooms', 'delete', 'general'])).code, 2);

	const chk = await chatctl(s, ['--json', 'check']);
	assert.equal(chk.code, 0, chk.out);
	assert.deepEqual(chk.json.problems, []);
	/* A MongoDB history: chat.db is copied, and mongodump runs or is
	 * spelled out; restore spells out mongorestore. */
	const mdir = path.join(await tmpdir('mongo'), 'b');
	const mongo = ['--store_uri=mongodb://127.0.0.1:1/chat'];
	const mb = await chatctl(s, [...mongo, '--json', 'backup', mdir]);
	if (mb.code !== 0) /* mongodump is installed here: nothing listens on port 1 */
		assert.match(mb.json.error, /mongodump failed/);
	else
		assert.match(mb.err, /mongodump --uri='mongodb:\/\/127\.0\.0\.1:1\/chat' --out=/);
	const other = await tmpdir('mongo-restore');
	const mr = await chatctl(null, [...mongo, `--db_path=${other}/chat.db`, 'restore', mdir]);
	assert.equal(mr.code, 0, mr.err);
	assert.match(mr.err, /mongorestore --drop --uri='mongodb:\/\/127\.0\.0\.1:1\/chat'/);
	const bad = await chatctl(s, ['--json', 'frobnicate']);
	assert.equal(bad.code, 2);
	assert.match(bad.json.error, /unknown command/);
	const help = await chatctl(null, ['--help']);
	assert.equal(help.code, 0);
	assert.match(help.out, /users ban NAME/);
});

test('check finds an unsound chat.db; --repair copies what the history lacks first, then moves it aside: no receipted post is lost', { skip, timeout: 60000 }, async () => {
	/* The store is unreachable while guests post: the receipted posts are
	 * only in chat.db's outbox (the relay holds them back from pruning). */
	const sp = startStack({ front, testServices: false, options: { store_uri: 'mongodb://127.0.0.1:1/chat' } });
	stacks.push(sp);
	let s = await sp;
	const c = await stompConnect(s, 'websocket');
	const posts = [];
	for (let i = 0; i < 10; i++) {
		await c.post('general', `fix ${i}`);
		posts.push(`fix ${i}`);
	}
	await c.close();
	const st = await chatctl(s, ['--json', 'status']);
	assert.ok(st.json.relay.lag_rows >= posts.length, JSON.stringify(st.json.relay));
	assert.equal(st.json.store.state, 'down');
	await s.halt();
	/* chat.db is not sound (a subscription of no session). */
	const db = path.join(s.dir, 'chat.db');
	const hist = path.join(s.dir, 'history.db');
	await sqlite(db, "PRAGMA foreign_keys = OFF; INSERT INTO subscriptions(session_id, sub_id, destination, ack_mode) VALUES ('ghost', 's', '/topic/x', 'auto')", { write: true });
	const local = [`--store_uri=sqlite:${hist}`];
	const chk = await chatctl(s, [...local, '--json', 'check']);
	assert.equal(chk.code, 3, chk.out);
	assert.equal(chk.json.chat_db, 'bad');
	assert.ok(chk.json.problems.some((p) => p.file === db && /subscriptions/.test(p.problem)), chk.out);
	/* Repaired into the SQLite history: every post is copied, then chat.db goes. */
	const fix = await chatctl(s, [...local, '--json', 'check', '--repair', '--force']);
	assert.equal(fix.code, 0, fix.out + fix.err);
	assert.match(fix.json.repair, /moved chat.db aside/);
	assert.match(fix.json.moved_to, /chat\.db\.broken-\d+$/);
	const rows = (await sqlite(hist, "SELECT id, text FROM messages WHERE text LIKE 'fix %' ORDER BY id"))
		.trim().split('\n').map((l) => l.split('|'));
	assert.deepEqual(rows.map((r) => r[1]), posts);
	/* The stack starts again (SQLite history) on a new chat.db above its ids. */
	s = await startStack({ front, testServices: false, dir: s.dir });
	stacks.push(Promise.resolve(s));
	const w = await stompConnect(s, 'websocket');
	const box = await w.subscribeSync('/topic/chat/room/general');
	await w.post('general', 'after repair');
	assert.ok(JSON.parse((await box.next(20000)).body).id > Number(rows[9][0]));
	await w.close();
	assert.equal((await chatctl(s, ['check'])).code, 0);
});
