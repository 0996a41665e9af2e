// recreate.mjs - recovering from a lost or corrupt chat.db (docs/backup.md):
// receipted posts, stop the stack, delete chat.db and its WAL, start again
// on the same state directory.  Nothing receipted is lost, new ids continue
// above the old ones (resume after the last old id returns the new posts),
// the rooms are still listed and a new guest does not get an old guest's
// name.  With the SQLite history (history.db) behind each front, and with
// MongoDB (FerretDB) behind lighttpd.
// A new chat.db whose store is away starts its ids above the time; a chat.db
// deleted under a running stack ends its processes; and the documented live
// backup (tools/chat-backup.sh) restores.
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { FRONTS, freePort, frontMissing, sqlite, srcdir, startStack } from '../lib/stack.mjs';
import { startMongo } from '../lib/ferretdb.mjs';
import { chatBody, makeRoom, stompConnect } from '../lib/stomp.mjs';

const cleanup = [];
after(async () => {
	for (const f of cleanup.reverse())
		await f().catch(() => {});
});

const POSTS = 40;
const skip = frontMissing('lighttpd') || false;

/* Resolves once the relay's cursor in chat.db has passed seq: every chat
 * row up to it is in the durable store.  Bounded. */
async function relayed(s, seq) {
	for (let i = 0; i < 400; i++) {
		const out = await sqlite(path.join(s.dir, 'chat.db'),
			"SELECT cursor FROM outbox_consumers WHERE name = 'relay'");
		if (Number(out.trim() || 0) >= seq)
			return;
		await new Promise((r) => setTimeout(r, 50));
	}
	throw new Error(`the relay did not reach seq ${seq}`);
}

async function deleteDb(dir, name = 'chat.db') {
	for (const ext of ['', '-wal', '-shm'])
		await rm(path.join(dir, `${name}${ext}`), { force: true });
}

const guestNumber = (name) => Number(/^guest-(\d+)$/.exec(name)?.[1] ?? NaN);

/* Posts POSTS receipted messages as a guest in room; returns
 * { guest, ids, texts } as the room's subscriber saw them. */
async function postMany(s, room, tag) {
	const c = await stompConnect(s, 'websocket');
	const guest = c.connected.headers['user-name'];
	const box = await c.subscribeSync(`/topic/chat/room/${room}`);
	const texts = [];
	for (let i = 0; i < POSTS; i++) {
		texts.push(`${tag}${i}`);
		await c.post(room, `${tag}${i}`);
	}
	const ids = [], seqs = [];
	for (let i = 0; i < POSTS; i++) {
		const b = chatBody(await box.next());
		assert.equal(b.text, texts[i]);
		ids.push(b.id);
		seqs.push(b.seq);
	}
	await c.close();
	return { guest, ids, seqs, texts };
}

async function history(s, room) {
	const reader = await stompConnect(s, 'xhr-polling', { login: 'reader' });
	const hist = reader.subscribe(`/app/chat/room/${room}/history`, { limit: '500' });
	const got = JSON.parse((await hist.next(20000)).body);
	await reader.close();
	return got;
}

async function roomNames(s) {
	const r = await fetch(`${s.http}/api/rooms`);
	assert.equal(r.status, 200);
	return (await r.json()).map((x) => x.name);
}

/* The relay logs each reused id it meets. */
async function noReusedIds(s) {
	for (const name of ['chat.fcgi.log', 'chat-ws.log', 'lighttpd.log', 'apache.log'])
		assert.doesNotMatch(await s.log(name), /NOT in the history/, name);
}

async function recreate(t, front, mongodbUri) {
	const opts = { front, testServices: false, mongodbUri };
	let s = await startStack(opts);
	cleanup.push(() => s.stop());
	const room = await makeRoom(s, 'keep');
	const other = await makeRoom(s, 'other');
	const before = await postMany(s, room, 'old');
	const lastOld = Math.max(...before.ids);
	await relayed(s, lastOld);

	/* chat.db is lost (or moved away because it is corrupt). */
	await s.halt();
	await deleteDb(s.dir);
	s = await startStack({ ...opts, dir: s.dir });

	/* Every receipted post is in the history, with its id. */
	const hist = await history(s, room);
	assert.deepEqual(hist.map((m) => m.text), before.texts, 'history after the new chat.db');
	assert.deepEqual(hist.map((m) => m.id), before.ids);
	/* The rooms are listed again. */
	const names = await roomNames(s);
	for (const r of [room, other, 'general'])
		assert.ok(names.includes(r), `room ${r} missing from ${names}`);
	/* New posts get ids above the old ones; a new guest is someone new. */
	const watcher = await stompConnect(s, 'xhr-streaming', { login: 'watcher' });
	const after = await postMany(s, room, 'new');
	t.diagnostic(`old guest ${before.guest}, ids ${before.ids[0]}..${lastOld};` +
		` new guest ${after.guest}, ids ${after.ids[0]}..${after.ids[POSTS - 1]}`);
	assert.ok(guestNumber(after.guest) > guestNumber(before.guest),
		`new guest ${after.guest} after ${before.guest}`);
	for (const id of after.ids)
		assert.ok(id > lastOld, `new id ${id} is not above ${lastOld}`);
	/* So does the room's own sequence. */
	assert.equal(after.seqs[0], before.seqs[POSTS - 1] + 1);
	/* Resume after the last old id: exactly the new posts, in order. */
	const resumed = await watcher.subscribeSync(`/topic/chat/room/${room}`,
		{ after: String(lastOld) });
	const texts = [];
	for (let i = 0; i < POSTS; i++)
		texts.push(chatBody(await resumed.next()).text);
	assert.deepEqual(texts, after.texts);
	await watcher.close();
	/* And all 80 are in the history once relayed; the relay saw no
	 * reused id. */
	await relayed(s, Math.max(...after.ids));
	const all = await history(s, room);
	assert.deepEqual(all.map((m) => m.text), [...before.texts, ...after.texts]);
	await noReusedIds(s);
	return s;
}

for (const front of FRONTS) {
	test(`${front}, sqlite history: a new chat.db continues above history.db`,
		{ skip: frontMissing(front) || false, timeout: 180000 }, async (t) => {
			await recreate(t, front);
		});
}

test('mongodb history: a new chat.db continues above MongoDB', { skip, timeout: 180000 },
	async (t) => {
		const mongo = await startMongo('recreate');
		if (mongo.missing) {
			t.skip(mongo.missing);
			return;
		}
		cleanup.push(() => mongo.stop());
		await recreate(t, 'lighttpd', mongo.uri);
	});

function backupScript(s, dest) {
	return new Promise((resolve, reject) => {
		execFile('sh', [path.join(srcdir, 'tools', 'chat-backup.sh'), '--config',
			path.join(s.dir, 'run', 'chat.conf'), dest],
		(e, out, err) => (e ? reject(new Error(`chat-backup.sh: ${e.message}: ${err}`)) : resolve(out)));
	});
}

test('tools/chat-backup.sh backs up a live stack, and the backup restores', { skip, timeout: 180000 },
	async (t) => {
		let s = await startStack({ front: 'lighttpd', testServices: false });
		cleanup.push(() => s.stop());
		const dest = await mkdtemp(path.join(os.tmpdir(), 'chat-backup-test-'));
		cleanup.push(() => rm(dest, { recursive: true, force: true }));
		const room = await makeRoom(s, 'bk');
		const before = await postMany(s, room, 'old');
		await relayed(s, Math.max(...before.ids));
		/* The backup runs while a guest goes on posting. */
		const [during] = await Promise.all([postMany(s, room, 'mid'), backupScript(s, dest)]);

		await s.halt();
		await deleteDb(s.dir);
		await deleteDb(s.dir, 'history.db');
		await copyFile(path.join(dest, 'chat.db'), path.join(s.dir, 'chat.db'));
		await copyFile(path.join(dest, 'history.db'), path.join(s.dir, 'history.db'));
		s = await startStack({ front: 'lighttpd', testServices: false, dir: s.dir });

		/* Everything posted before the backup is back, in order, each id
		 * once; of the posts during the backup, a prefix. */
		const hist = await history(s, room);
		const texts = hist.map((m) => m.text);
		assert.deepEqual(texts.slice(0, POSTS), before.texts);
		assert.deepEqual(texts.slice(POSTS), during.texts.slice(0, texts.length - POSTS));
		assert.equal(new Set(hist.map((m) => m.id)).size, hist.length);
		t.diagnostic(`restored ${hist.length} posts (${hist.length - POSTS} of those during the backup)`);
		assert.ok((await roomNames(s)).includes(room));
		/* Posts after the restore continue above every restored id. */
		const next = await postMany(s, room, 'next');
		const top = Math.max(...hist.map((m) => m.id));
		for (const id of next.ids)
			assert.ok(id > top, `new id ${id} is not above ${top}`);
		assert.ok(guestNumber(next.guest) > guestNumber(during.guest) ||
			!hist.some((m) => m.writer === during.guest),
		`new guest ${next.guest} after ${during.guest}`);
		await relayed(s, Math.max(...next.ids));
		const all = (await history(s, room)).map((m) => m.text);
		assert.deepEqual(all, [...texts, ...next.texts]);
		await noReusedIds(s);
	});

const alive = (pid) => {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
};

test('chat.db deleted under a running stack: each process logs it and exits', { skip, timeout: 120000 },
	async () => {
		const s = await startStack({ front: 'lighttpd', testServices: false });
		cleanup.push(() => s.stop());
		/* A post makes lighttpd start chat.fcgi (and shows the stack works). */
		const c = await stompConnect(s, 'xhr-polling');
		await c.post('general', 'before');
		const fcgi = await s.chatFcgiPids();
		assert.ok(fcgi.length > 0);
		await c.close();
		await deleteDb(s.dir);
		/* Bounded: the background thread looks every second at most. */
		const pids = [s.pids['chat-ws'], ...fcgi];
		for (let i = 0; i < 200 && pids.some(alive); i++)
			await new Promise((r) => setTimeout(r, 50));
		for (const pid of pids)
			assert.ok(!alive(pid), `process ${pid} still runs on the deleted chat.db`);
		/* "replaced" when a restarted chat.fcgi made a new chat.db first. */
		const said = /chat\.db was (deleted|replaced) .*under this process: restart it; exiting/;
		assert.match(await s.log('chat-ws.log'), said);
		assert.match(await s.log('lighttpd.log') + await s.log('chat.fcgi.log'), said);
	});

test('a new chat.db whose MongoDB is unreachable starts its ids above the time', { skip, timeout: 120000 },
	async () => {
		const t0 = Date.now();
		/* Nothing listens there: the store is away from the start. */
		const s = await startStack({ front: 'lighttpd', testServices: false,
			mongodbUri: `mongodb://127.0.0.1:${await freePort()}/chat` });
		cleanup.push(() => s.stop());
		const c = await stompConnect(s, 'websocket');
		assert.ok(guestNumber(c.connected.headers['user-name']) > t0,
			`guest ${c.connected.headers['user-name']}`);
		const box = await c.subscribeSync('/topic/chat/room/general');
		await c.post('general', 'while the store is away');
		const b = chatBody(await box.next());
		assert.equal(b.text, 'while the store is away');
		assert.ok(b.id > t0 * 1000 && Number.isSafeInteger(b.id), `id ${b.id}`);
		await c.close();
	});
