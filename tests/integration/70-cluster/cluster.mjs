// cluster.mjs - three nodes joined by the STOMP broker relay (db/cluster.h,
// docs/cluster.md): a private RabbitMQ node with the STOMP plugin
// (bench/peers/rabbitmq.sh: its own node name, ports and directories,
// stopped by PID; the machine's default node is not touched), FerretDB as
// the shared MongoDB, and three nodes on this machine, each with its own
// var/, chat.db and ports, A and B behind lighttpd, C behind Apache.
//  - posts made on every node at once (bursts from two clients on A and
//    on B, one on C) reach subscribers of every transport on every node,
//    each exactly once, in one order on every node, which is id order and
//    history's order (the hold-back), with ids unique across nodes; a
//    chain of replies (each made after the previous one arrived) is seen
//    in one order everywhere, ids rising;
//  - history on every node agrees (id order), and a client resumes on the
//    other node after an id it saw on the first one;
//  - /user/NAME/queue/... reaches the user's sessions on both nodes once,
//    and (topic_send) a client's /topic/... SEND the other node;
//  - a login token from node A opens a session on node B, and logging out
//    on A ends it;
//  - a room created on node A is listed and open on node B at once;
//  - presence counts both nodes: one ENTER and one LEAVE for a user with
//    sessions on both, and the presence list names users of the other node;
//  - RabbitMQ SIGKILLed mid-burst: local chat goes on (every post receipted
//    and delivered on its own node); once RabbitMQ is back every post
//    reaches the other node exactly once;
//  - node B SIGKILLed mid-burst: node A goes on (its posts are held back
//    for it no longer than cluster_node_timeout_ms), B's client resumes on
//    A from its last id; a user in the room on B leaves on A once B has not
//    been heard for cluster_presence_timeout_ms; B restarted on its var/
//    catches up from its queue;
//  - a node_id-less or SQLite-backed cluster is refused with a clear
//    message.
// Skips when rabbitmq-server is not installed, unless CHAT_REQUIRE_RABBIT=1.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { frontMissing, startStack } from '../lib/stack.mjs';
import { startRabbit } from '../lib/rabbitmq.mjs';
import { startMongo } from '../lib/ferretdb.mjs';
import { apiPost, chatBody, login, makeRoom, stompConnect } from '../lib/stomp.mjs';

const RABBIT = '/usr/lib/rabbitmq/bin/rabbitmq-server';
const cleanup = [];
after(async () => {
	for (const f of cleanup.reverse())
		await f().catch(() => {});
});

function rabbitMissing() {
	if (existsSync(RABBIT))
		return false;
	if (process.env.CHAT_REQUIRE_RABBIT === '1')
		throw new Error('rabbitmq-server is not installed and CHAT_REQUIRE_RABBIT=1 forbids skipping');
	return 'rabbitmq-server is not installed (tools/install-deps.sh)';
}

const skip = rabbitMissing() || frontMissing('lighttpd') || frontMissing('apache-proxy-fcgi') || false;

/* Collects the chat posts (not notices) one subscription receives. */
function collector(box) {
	const got = [];
	const waiters = [];
	(async () => {
		for (;;) {
			let m;
			try { m = await box.next(3600000); } catch { return; }
			got.push(chatBody(m));
			for (const w of waiters.splice(0))
				w();
		}
	})();
	return {
		got,
		/* Resolves once pred(got) holds; bounded. */
		async until(pred, what, ms = 30000) {
			const end = Date.now() + ms;
			while (!pred(got)) {
				const left = end - Date.now();
				if (left <= 0)
					throw new Error(`${what}: not within ${ms} ms (have ${got.length})`);
				await new Promise((res) => {
					const t = setTimeout(res, left);
					waiters.push(() => { clearTimeout(t); res(); });
				});
			}
		},
	};
}

const hasText = (text) => (got) => got.some((m) => m.text === text);

/* Posts a probe on `from` until one reaches the collector on the other
 * node: then both relays are connected and the queue exists. */
async function joined(from, room, col, tag) {
	for (let i = 0; i < 100; i++) {
		const text = `${tag}-probe-${i}`;
		await from.post(room, text);
		try {
			await col.until(hasText(text), 'probe', 500);
			return;
		} catch { /* the other node's queue was not there yet */ }
	}
	throw new Error(`${tag}: the nodes did not join`);
}

function assertOnce(got, texts, what) {
	const counts = new Map();
	for (const m of got)
		counts.set(m.text, (counts.get(m.text) ?? 0) + 1);
	for (const t of texts)
		assert.equal(counts.get(t), 1, `${what}: ${t} seen ${counts.get(t) ?? 0} times`);
}

const only = (got, prefix) => got.filter((m) => m.text.startsWith(prefix));

test('refused: a cluster without node_id, or with the SQLite store', { skip }, async () => {
	const conf = path.join(await mkdtemp(path.join(os.tmpdir(), 'chat-cluster-conf-')), 'c.conf');
	cleanup.push(() => rm(path.dirname(conf), { recursive: true, force: true }));
	const fcgi = path.join(process.cwd(), 'fcgi', 'chat.fcgi');
	const tryStart = (args) => new Promise((resolve) => {
		const p = spawn(fcgi, ['--fcgi_listen', `127.0.0.1:${0}`, '--db_path',
			path.join(path.dirname(conf), 'chat.db'), '--bell_path',
			path.join(path.dirname(conf), 'chat.bell'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
		let out = '';
		p.stdout.on('data', (d) => { out += d; });
		p.stderr.on('data', (d) => { out += d; });
		p.on('exit', (code) => resolve({ code, out }));
	});
	let r = await tryStart(['--broker_relay', 'stomp://guest:guest@127.0.0.1:1/', '--node_id', '1',
		'--store_uri', `sqlite:${path.dirname(conf)}/history.db`]);
	assert.notEqual(r.code, 0);
	assert.match(r.out, /a cluster needs its history in one MongoDB/);
	r = await tryStart(['--broker_relay', 'stomp://guest:guest@127.0.0.1:1/',
		'--store_uri', 'mongodb://127.0.0.1:1/x']);
	assert.notEqual(r.code, 0);
	assert.match(r.out, /node_id of its own/);
	r = await tryStart(['--broker_relay', 'amqp://127.0.0.1/', '--node_id', '1',
		'--store_uri', 'mongodb://127.0.0.1:1/x']);
	assert.notEqual(r.code, 0);
	assert.match(r.out, /expected stomp:\/\/USER:PASS@HOST:PORT\/VHOST/);
});

test('three nodes through RabbitMQ and one MongoDB', { skip, timeout: 240000 }, async (t) => {
	const mongo = await startMongo('cluster');
	if (mongo.missing) {
		t.skip(mongo.missing);
		return;
	}
	cleanup.push(() => mongo.stop());
	const t0 = Date.now();
	const mq = await startRabbit();
	cleanup.push(() => mq.remove());
	t.diagnostic(`RabbitMQ up at ${Date.now() - t0} ms`);
	const relay = `stomp://guest:guest@127.0.0.1:${mq.ports.stomp}/`;
	const node = async (id, front = 'lighttpd') => {
		const s = await startStack({ front, testServices: false, mongodbUri: mongo.uri,
			options: { broker_relay: relay, node_id: id, topic_send: 1, cluster_node_timeout_ms: 6000,
			cluster_presence_timeout_ms: 15000 } });
		cleanup.push(() => s.stop());
		return s;
	};
	/* Nodes A and B behind lighttpd, C behind Apache (mod_proxy_fcgi). */
	const [a, b, c3] = [await node(1), await node(2), await node(3, 'apache-proxy-fcgi')];
	t.diagnostic(`nodes up at ${Date.now() - t0} ms`);
	const room = 'general';

	/* Subscribers of several transports on every node. */
	const subs = [];
	for (const [s, tr] of [[a, 'websocket'], [a, 'xhr-streaming'], [b, 'websocket'],
		[b, 'eventsource'], [b, 'raw']]) {
		const c = await stompConnect(s, tr);
		cleanup.push(() => c.close());
		subs.push({ name: `${s === a ? 'A' : 'B'}/${tr}`, col: collector(await c.subscribeSync(`/topic/chat/room/${room}`)) });
	}
	for (const tr of ['websocket', 'xhr-streaming']) {
		const c = await stompConnect(c3, tr);
		cleanup.push(() => c.close());
		subs.push({ name: `C/${tr}`, col: collector(await c.subscribeSync(`/topic/chat/room/${room}`)) });
	}
	const pa = await stompConnect(a, 'websocket', { login: 'alice' });
	const pb = await stompConnect(b, 'xhr-polling', { login: 'bob' });
	cleanup.push(() => pa.close(), () => pb.close());
	const pc = await stompConnect(c3, 'xhr-polling', { login: 'cyd' });
	cleanup.push(() => pc.close());
	await joined(pa, room, subs[2].col, 'ab');
	await joined(pb, room, subs[0].col, 'ba');
	await joined(pc, room, subs[0].col, 'ca');
	await joined(pa, room, subs[5].col, 'ac');

	/* Bursts from clients on every node at once (two on A and B, one on C, posting
	 * concurrently): every subscriber on every node sees every post once,
	 * in one order, which is id order (the hold-back, db/cluster.c). */
	const pa2 = await stompConnect(a, 'xhr-streaming', { login: 'amy' });
	const pb2 = await stompConnect(b, 'websocket', { login: 'ben' });
	cleanup.push(() => pa2.close(), () => pb2.close());
	const N = 15, ROUNDS = 3;
	const posters = [['a', pa, 1], ['a2', pa2, 1], ['b', pb, 2], ['b2', pb2, 2], ['c', pc, 3]];
	const texts = Object.fromEntries(posters.map(([k]) => [k, []]));
	for (let round = 0; round < ROUNDS; round++) {
		await Promise.all(posters.map(async ([k, c]) => {
			for (let i = 0; i < N; i++) {
				const x = `burst-${k}-${round * N + i}`;
				texts[k].push(x);
				await c.post(room, x);
			}
		}));
	}
	const all = Object.values(texts).flat();
	for (const s of subs)
		await s.col.until((g) => only(g, 'burst-').length >= all.length, `${s.name} burst`);
	const idOf = new Map();
	let order;
	for (const s of subs) {
		const g = only(s.col.got, 'burst-');
		assertOnce(g, all, s.name);
		for (const [k] of posters)
			assert.deepEqual(only(g, `burst-${k}-`).map((m) => m.text), texts[k], `${s.name}: ${k}'s order`);
		for (let i = 1; i < g.length; i++)
			assert.ok(g[i].id > g[i - 1].id, `${s.name}: live order is id order (${g[i - 1].text} ${g[i - 1].id}, then ${g[i].text} ${g[i].id})`);
		order ??= g.map((m) => m.text);
		assert.deepEqual(g.map((m) => m.text), order, `${s.name}: the same order as ${subs[0].name}`);
		for (const m of g) {
			/* Every node shows a post with the same id (and writer). */
			const seen = idOf.get(m.text);
			if (seen)
				assert.deepEqual([m.id, m.writer], seen, `${s.name}: ${m.text}`);
			idOf.set(m.text, [m.id, m.writer]);
		}
	}
	const ids = [...idOf.values()].map((x) => x[0]);
	assert.equal(new Set(ids).size, ids.length, 'ids unique across nodes');
	for (const [k, , n] of posters)
		for (const x of texts[k])
			assert.equal(idOf.get(x)[0] % 16, n, `${x} carries node ${n}`);

	/* A chain of replies: one order everywhere, ids rising. */
	const chain = [];
	for (let i = 0; i < 8; i++) {
		const text = `chain-${i}`;
		chain.push(text);
		await (i % 2 ? pb : pa).post(room, text);
		for (const s of subs)
			await s.col.until(hasText(text), `${s.name} ${text}`);
	}
	for (const s of subs) {
		const g = only(s.col.got, 'chain-');
		assert.deepEqual(g.map((m) => m.text), chain, `${s.name}: the chain's order`);
		for (let i = 1; i < g.length; i++)
			assert.ok(g[i].id > g[i - 1].id, `${s.name}: ids rise along the chain`);
	}

	/* Resume on node B after an id seen on node A: exactly what came
	 * after it, in id order - the order of history on both nodes. */
	const seenOnA = subs[0].col.got;
	const pivot = seenOnA.find((m) => m.text === 'burst-a-10');
	const expect = [...new Map(seenOnA.map((m) => [m.id, m])).values()]
		.filter((m) => m.id > pivot.id).sort((x, y) => x.id - y.id).map((m) => m.text);
	const rb = await stompConnect(b, 'xhr-streaming');
	cleanup.push(() => rb.close());
	const resumed = collector(await rb.subscribeSync(`/topic/chat/room/${room}`,
		{ after: String(pivot.id) }));
	await resumed.until((g) => g.length >= expect.length, 'resume on B');
	assert.deepEqual(resumed.got.map((m) => m.text), expect, 'resumed on B after an id of A');
	const history = async (s) => {
		const r = await stompConnect(s, 'xhr-polling');
		const h = r.subscribe(`/app/chat/room/${room}/history`, { limit: '500' });
		const got = JSON.parse((await h.next(20000)).body);
		await r.close();
		return got.map((m) => `${m.id}:${m.text}`);
	};
	/* Both nodes' history relays write every post to MongoDB; both agree. */
	let ha, hb, hc;
	for (let i = 0; i < 100; i++) {
		[ha, hb, hc] = [await history(a), await history(b), await history(c3)];
		if (ha.join() === hb.join() && ha.join() === hc.join() && ha.some((x) => x.endsWith(':chain-7')))
			break;
		await new Promise((res) => setTimeout(res, 100));
	}
	assert.deepEqual(hb, ha, 'history on A and B');
	assert.deepEqual(hc, ha, 'history on A and C');
	const hids = ha.map((x) => Number(x.split(':')[0]));
	assert.deepEqual(hids, [...hids].sort((x, y) => x - y), 'history in id order');
	assert.deepEqual(ha.map((x) => x.slice(x.indexOf(':') + 1)).filter((x) => x.startsWith('burst-')),
		order, 'history and live agree');

	/* /user/NAME/queue reaches that user's sessions on every node, once,
	 * naming the sender. */
	const a2 = await stompConnect(b, 'xhr-streaming', { login: 'alice' });
	cleanup.push(() => a2.close());
	const inboxes = [await pa.subscribeSync('/user/queue/inbox'), await a2.subscribeSync('/user/queue/inbox')];
	const bobs = await pb.subscribeSync('/user/queue/inbox');
	const K = 5;
	for (let i = 0; i < K; i++)
		await pb.send('/user/alice/queue/inbox', `to-alice-${i}`, { 'content-type': 'text/plain' });
	await pa.send('/user/bob/queue/inbox', 'to-bob', { 'content-type': 'text/plain' });
	for (const [i, box] of inboxes.entries()) {
		for (let k = 0; k < K; k++) {
			const m = await box.next(20000);
			assert.equal(m.body, `to-alice-${k}`, `alice's session ${i}`);
			assert.equal(m.headers['user-name'], 'bob');
			assert.equal(m.headers['content-type'], 'text/plain');
		}
	}
	const mb = await bobs.next(20000);
	assert.equal(mb.body, 'to-bob');
	assert.equal(mb.headers['user-name'], 'alice');
	/* With topic_send, a client's SEND to /topic/... reaches every node. */
	const news = await pb.subscribeSync('/topic/news');
	await pa.send('/topic/news', 'extra', { 'content-type': 'text/plain' });
	assert.equal((await news.next(20000)).body, 'extra');

	/* Nothing twice: a marker sent after them is the next thing each sees. */
	await pb.send('/user/alice/queue/inbox', 'marker');
	for (const box of inboxes)
		assert.equal((await box.next(20000)).body, 'marker');

	/* A login token from node A works on node B; logging out on A ends
	 * the session it opened on B.  (A's rows reach B in A's order: once a
	 * later post of A is on B, so is the token.) */
	const token = await login(a, 'carol');
	await joined(pa, room, subs[2].col, 'token');
	const cb = await stompConnect(b, 'raw', { headers: { login: 'carol', passcode: token } });
	cleanup.push(() => cb.close());
	assert.equal(cb.connected.headers['user-name'], 'carol');
	assert.equal((await apiPost(a, '/api/logout', { token })).status, 204);
	assert.equal((await cb.errors.next(20000)).headers.message, 'logged out');

	/* A room created on A is on B - listed, and open to subscribers -
	 * before anyone posts in it. */
	const fresh = await makeRoom(a, 'xn');
	await joined(pa, room, subs[2].col, 'room');
	const listed = (await (await fetch(`${b.http}/api/rooms`)).json()).map((x) => x.name);
	assert.ok(listed.includes(fresh), `${fresh} listed on B: ${listed}`);
	const inFresh = await stompConnect(b, 'raw');
	cleanup.push(() => inFresh.close());
	const freshBox = await inFresh.subscribeSync(`/topic/chat/room/${fresh}`);
	await pa.post(fresh, 'in-fresh');
	assert.equal(chatBody(await freshBox.next(20000)).text, 'in-fresh');

	/* Presence counts every node: erin enters on A and on B, then leaves
	 * both; frank on B sees her ENTER once and her LEAVE once, and the
	 * presence list on B names her while she is on A only. */
	const fr = await stompConnect(b, 'websocket', { login: 'frank' });
	cleanup.push(() => fr.close());
	const notes = fr.subscribe(`/topic/chat/room/${room}`, {}, { notices: true });
	await fr.send('/user/frank/queue/sync', 'x'); /* the SUBSCRIBE is in */
	const erinSeen = [];
	const erinNote = async (type) => {
		for (;;) {
			const b = chatBody(await notes.next(20000));
			if (b.user === 'erin') {
				erinSeen.push(b.type);
				if (b.type === type)
					return;
			}
		}
	};
	const ea = await stompConnect(a, 'xhr-streaming', { login: 'erin' });
	cleanup.push(() => ea.close());
	await ea.subscribeSync(`/topic/chat/room/${room}`);
	await erinNote('ENTER');
	const lister = await stompConnect(b, 'xhr-polling');
	cleanup.push(() => lister.close());
	const present = JSON.parse((await lister.subscribe(`/app/chat/room/${room}/presence`).next(20000)).body);
	assert.ok(present.includes('erin') && present.includes('frank'), `presence on B: ${present}`);
	const eb = await stompConnect(b, 'websocket', { login: 'erin' });
	await eb.subscribeSync(`/topic/chat/room/${room}`);
	await ea.close();
	await eb.close();
	await erinNote('LEAVE');
	assert.deepEqual(erinSeen, ['ENTER', 'LEAVE'], 'erin announced once in, once out');

	t.diagnostic(`burst, chain, resume, history, user queues, tokens, presence done at ${Date.now() - t0} ms`);
	/* RabbitMQ killed (SIGKILL) mid-burst: local chat goes on; when it is back,
	 * every post reaches node B once. */
	const M = 40;
	const tm = Array.from({ length: M }, (_, i) => `outage-${i}`);
	let stopped;
	await Promise.all([
		(async () => {
			for (const [i, x] of tm.entries()) {
				await pa.post(room, x);
				if (i === 10)
					stopped = mq.stop('SIGKILL');
			}
		})(),
	]);
	await stopped;
	/* Every post was receipted and reaches node A's subscribers while
	 * RabbitMQ is away. */
	for (const s of subs.slice(0, 2))
		await s.col.until((g) => only(g, 'outage-').length >= M, `${s.name} during the outage`);
	t.diagnostic(`node B had ${only(subs[2].col.got, 'outage-').length} of ${M} before RabbitMQ came back`);
	await mq.start();
	await pa.post(room, 'after-outage');
	for (const s of subs)
		await s.col.until(hasText('after-outage'), `${s.name} after the outage`, 40000);
	for (const s of subs) {
		const g = only(s.col.got, 'outage-');
		assertOnce(g, tm, `${s.name} outage`);
		assert.deepEqual(g.map((m) => m.text), tm, `${s.name}: order across the outage`);
	}
	t.diagnostic(`outage done at ${Date.now() - t0} ms`);

	/* Node B SIGKILLed mid-burst: A goes on; a client of B resumes on A
	 * from the last id it saw; B rejoins and catches up from its queue. */
	const lastOnB = subs[2].col.got.at(-1).id;
	/* gina on A watches notices: frank (on B, in the room) leaves once B
	 * has not been heard for cluster_presence_timeout_ms. */
	const gi = await stompConnect(a, 'websocket', { login: 'gina' });
	cleanup.push(() => gi.close());
	const ginaNotes = gi.subscribe(`/topic/chat/room/${room}`, {}, { notices: true });
	await gi.send('/user/gina/queue/sync', 'x'); /* the SUBSCRIBE is in */
	const pidsB = [...new Set([...Object.values(await b.readPids()), ...await b.chatFcgiPids(),
		...await b.chatWsPids()])];
	const tk = Array.from({ length: 20 }, (_, i) => `kill-${i}`);
	for (const [i, x] of tk.entries()) {
		await pa.post(room, x);
		if (i === 5) {
			for (const pid of pidsB)
				try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
		}
	}
	for (const s of subs.slice(0, 2))
		await s.col.until((g) => only(g, 'kill-').length >= tk.length, `${s.name} with B killed`);
	const afterB = [...new Map(subs[0].col.got.map((m) => [m.id, m])).values()]
		.filter((m) => m.id > lastOnB).sort((x, y) => x.id - y.id).map((m) => m.text);
	assert.ok(afterB.includes('kill-19'));
	const ra = await stompConnect(a, 'websocket');
	cleanup.push(() => ra.close());
	const onA = collector(await ra.subscribeSync(`/topic/chat/room/${room}`, { after: String(lastOnB) }));
	await onA.until((g) => g.length >= afterB.length, 'resume on A');
	assert.deepEqual(onA.got.map((m) => m.text), afterB, 'B\'s client resumed on A');
	for (;;) {
		const n = chatBody(await ginaNotes.next(40000));
		if (n.user === 'frank') {
			assert.equal(n.type, 'LEAVE', 'frank, on the killed node, leaves');
			break;
		}
	}
	await b.halt();
	const b2 = await startStack({ front: 'lighttpd', testServices: false, mongodbUri: mongo.uri,
		dir: b.dir, options: { broker_relay: relay, node_id: 2, topic_send: 1,
			cluster_node_timeout_ms: 6000, cluster_presence_timeout_ms: 15000 } });
	cleanup.push(() => b2.stop());
	const w2 = await stompConnect(b2, 'websocket');
	cleanup.push(() => w2.close());
	await joined(pa, room, collector(await w2.subscribeSync(`/topic/chat/room/${room}`)), 'rejoin');
	const r2 = await stompConnect(b2, 'xhr-streaming');
	cleanup.push(() => r2.close());
	const onB2 = collector(await r2.subscribeSync(`/topic/chat/room/${room}`, { after: String(lastOnB) }));
	await onB2.until(hasText('kill-19'), 'resume on the rejoined B');
	assert.deepEqual(only(onB2.got, 'kill-').map((m) => m.text), tk, 'caught up on the rejoined B');
	assert.deepEqual(onB2.got.slice(0, afterB.length).map((m) => m.text), afterB,
		'the rejoined B resumes in the same order');
	t.diagnostic(`kill and rejoin done at ${Date.now() - t0} ms`);

	for (const s of [a, b2])
		assert.doesNotMatch(await s.log('chat.fcgi.log') + await s.log('lighttpd.log'),
			/NOT in the history/, 'no reused id');
});
