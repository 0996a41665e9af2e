// metrics.mjs - GET /api/metrics (db/metrics.h) on a real stack (lighttpd,
// two chat.fcgi processes, chat-ws): the output passes a strict parser of
// the Prometheus text format written here (and `promtool check metrics`
// where Debian's prometheus package is installed); under load each counter
// and gauge moves as it should; counters survive the SIGKILL of a process;
// the endpoint answers loopback or the bearer key only.
//
// Counters reach chat.db about once a second (each process's background
// thread), so a test waits for a scrape to show a value (polling the
// endpoint up to a deadline), never for a fixed time.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { frontMissing, startStack } from '../lib/stack.mjs';
import { PASSWORD, apiPost, ensureUser, makeRoom, stompConnect } from '../lib/stomp.mjs';

const KEY = 'k3y-for-the-metrics-test-0123456789';
const N = 30; // posts of the load

/** GET url with optional headers and source address: { status, headers, body }. */
function get(url, { headers = {}, localAddress } = {}) {
	return new Promise((resolve, reject) => {
		const req = http.get(url, { headers, localAddress, agent: false }, (res) => {
			let body = '';
			res.setEncoding('utf8');
			res.on('data', (d) => { body += d; });
			res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
		});
		req.on('error', reject);
	});
}

/* A non-loopback IPv4 address of this host: a connection from it to
 * 127.0.0.1 reaches the front server with that REMOTE_ADDR. */
function outsideAddress() {
	for (const list of Object.values(os.networkInterfaces()))
		for (const a of list ?? [])
			if (a.family === 'IPv4' && !a.internal)
				return a.address;
	return null;
}

/*
 * A strict parser of the Prometheus text exposition format 0.0.4: every
 * line is a HELP, a TYPE, or a sample; names and label names by the
 * format's grammar; label values with only \\, \" and \n escapes; values
 * as Go's ParseFloat takes them (and +Inf, -Inf, NaN); optional integer
 * timestamps; a family's HELP and TYPE at most once and before its
 * samples; a family's samples together; no series twice; the text ends
 * in a newline.  Beyond the format (what promtool's lint also wants):
 * every family has HELP and TYPE, counters end in _total, counters are
 * not negative.  Returns { families: Map name -> { type, help, samples:
 * [{ labels, value }] } } or throws naming the line.
 */
export function parsePrometheus(text) {
	const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
	const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;
	const VALUE = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$/;
	const families = new Map();
	const series = new Set();
	const closed = new Set();
	let current = null;
	assert.ok(text.endsWith('\n'), 'the text ends with a newline');
	const lines = text.slice(0, -1).split('\n');
	const family = (name, n) => {
		if (current !== name) {
			if (current !== null)
				closed.add(current);
			if (closed.has(name))
				throw new Error(`line ${n}: family ${name} appears again after others`);
			current = name;
		}
		if (!families.has(name))
			families.set(name, { type: null, help: null, samples: [] });
		return families.get(name);
	};
	lines.forEach((line, i) => {
		const n = i + 1;
		if (line.startsWith('#')) {
			const m = /^# (HELP|TYPE) ([^ ]+)(?: (.*))?$/.exec(line);
			if (!m)
				return; // a plain comment
			const [, kind, name, rest = ''] = m;
			if (NAME.exec(name)?.[0] !== name)
				throw new Error(`line ${n}: bad metric name ${JSON.stringify(name)}`);
			const f = family(name, n);
			if (f.samples.length > 0)
				throw new Error(`line ${n}: ${kind} after samples of ${name}`);
			if (kind === 'HELP') {
				if (f.help !== null)
					throw new Error(`line ${n}: second HELP for ${name}`);
				if (/\\[^\\n]/.test(rest.replace(/\\\\/g, '')))
					throw new Error(`line ${n}: bad escape in HELP`);
				f.help = rest;
			} else {
				if (f.type !== null)
					throw new Error(`line ${n}: second TYPE for ${name}`);
				if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest))
					throw new Error(`line ${n}: bad type ${JSON.stringify(rest)}`);
				f.type = rest;
			}
			return;
		}
		if (line.trim() === '')
			throw new Error(`line ${n}: empty line`);
		const name = NAME.exec(line)?.[0];
		if (!name)
			throw new Error(`line ${n}: no metric name: ${JSON.stringify(line)}`);
		let p = name.length;
		const labels = {};
		if (line[p] === '{') {
			p++;
			while (line[p] !== '}') {
				const ln = LABEL.exec(line.slice(p))?.[0];
				if (!ln)
					throw new Error(`line ${n}: bad label name at ${p}`);
				p += ln.length;
				if (line.slice(p, p + 2) !== '="')
					throw new Error(`line ${n}: expected =" after ${ln}`);
				p += 2;
				let v = '';
				for (;;) {
					const c = line[p++];
					if (c === undefined)
						throw new Error(`line ${n}: unterminated label value`);
					if (c === '"')
						break;
					if (c === '\\') {
						const e = line[p++];
						if (e === 'n') v += '\n';
						else if (e === '\\' || e === '"') v += e;
						else throw new Error(`line ${n}: bad escape \\${e}`);
					} else {
						v += c;
					}
				}
				if (Object.hasOwn(labels, ln))
					throw new Error(`line ${n}: label ${ln} twice`);
				labels[ln] = v;
				if (line[p] === ',')
					p++;
				else if (line[p] !== '}')
					throw new Error(`line ${n}: expected , or } at ${p}`);
			}
			p++;
		}
		const rest = line.slice(p);
		const m = /^ ([^ ]+)(?: (-?\d+))?$/.exec(rest);
		if (!m || !VALUE.test(m[1]))
			throw new Error(`line ${n}: bad value in ${JSON.stringify(line)}`);
		const f = family(name, n);
		const key = name + JSON.stringify(Object.entries(labels).sort());
		if (series.has(key))
			throw new Error(`line ${n}: series ${key} twice`);
		series.add(key);
		f.samples.push({ labels, value: Number(m[1]) });
	});
	for (const [name, f] of families) {
		if (f.type === null || f.help === null)
			throw new Error(`${name}: no TYPE or no HELP`);
		if (f.type === 'counter') {
			if (!name.endsWith('_total'))
				throw new Error(`${name}: a counter's name ends in _total`);
			for (const s of f.samples)
				if (!(s.value >= 0))
					throw new Error(`${name}: negative counter ${s.value}`);
		}
	}
	return { families };
}

/* The parser refuses what it should (it would pass anything otherwise). */
describe('the strict parser', () => {
	const good = '# HELP a_total A.\n# TYPE a_total counter\na_total{x="q\\"\\\\\\n"} 1\n';
	test('accepts a good family and reads escapes', () => {
		const { families } = parsePrometheus(good);
		assert.equal(families.get('a_total').samples[0].labels.x, 'q"\\\n');
	});
	for (const [why, text] of [
		['no final newline', good.slice(0, -1)],
		['a bad escape', good.replace('\\"', '\\t')],
		['a series twice', `${good}a_total{x="q\\"\\\\\\n"} 2\n`],
		['a counter without _total', '# HELP a A.\n# TYPE a counter\na 1\n'],
		['no HELP', '# TYPE g gauge\ng 1\n'],
		['TYPE after samples', '# HELP g G.\ng 1\n# TYPE g gauge\n'],
		['a family split', '# HELP g G.\n# TYPE g gauge\ng{a="1"} 1\n# HELP h H.\n# TYPE h gauge\nh 1\ng{a="2"} 1\n'],
		['a bad value', '# HELP g G.\n# TYPE g gauge\ng 1,5\n'],
		['a bad label name', '# HELP g G.\n# TYPE g gauge\ng{1a="x"} 1\n'],
		['a negative counter', '# HELP c_total C.\n# TYPE c_total counter\nc_total -1\n'],
	]) {
		test(`refuses ${why}`, () => assert.throws(() => parsePrometheus(text)));
	}
});

/** The value of a sample (family name, labels to match), or undefined. */
function value(m, name, labels = {}) {
	const f = m.families.get(name);
	const s = f?.samples.find((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v));
	return s?.value;
}

/** The sum of a family's samples (those matching labels). */
function sum(m, name, labels = {}) {
	const f = m.families.get(name);
	return (f?.samples ?? []).filter((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v))
		.reduce((a, x) => a + x.value, 0);
}

/** GET /api/metrics of stack st, parsed; fails unless 200. */
async function scrapeOf(st) {
	const r = await get(`${st.http}/api/metrics`);
	assert.equal(r.status, 200, r.body);
	return parsePrometheus(r.body);
}

/* Scrapes st until pred(metrics) holds and returns that scrape; fails
 * after ms with show(last scrape). */
async function untilOf(st, what, pred, ms = 15000, show = () => '') {
	const end = Date.now() + ms;
	for (;;) {
		const m = await scrapeOf(st);
		if (pred(m))
			return m;
		if (Date.now() > end)
			assert.fail(`${what}: not seen within ${ms} ms ${show(m)}`);
		await new Promise((r) => setTimeout(r, 100));
	}
}

const frontSkip = frontMissing('lighttpd') || false;
const outside = outsideAddress();

describe('lighttpd: /api/metrics', () => {
	let s;
	const scrape = () => scrapeOf(s);
	const until = (...args) => untilOf(s, ...args);

	before(async () => {
		if (frontSkip)
			return;
		s = await startStack({
			front: 'lighttpd', fcgiProcs: 2,
			options: {
				metrics: 1, metrics_key: KEY,
				rate_guest_sends: 0, rate_guest_sends_burst: 2,
				sessions_per_addr_rate: 0, sessions_per_addr_burst: 40,
				auth_account_failures: 3,
			},
		});
	});
	after(async () => { await s?.stop(); });

	test('the output is well-formed, promtool agrees, and every process has a row', { skip: frontSkip, timeout: 30000 }, async () => {
		const r = await get(`${s.http}/api/metrics`);
		assert.equal(r.status, 200);
		assert.match(r.headers['content-type'], /^text\/plain; version=0\.0\.4/);
		assert.equal(r.headers['cache-control'], 'no-store');
		parsePrometheus(r.body);
		if (existsSync('/usr/bin/promtool')) {
			const p = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: r.body, encoding: 'utf8' });
			assert.equal(p.status, 0, `promtool: ${p.stdout}${p.stderr}`);
		}
		const fcgi = await s.chatFcgiPids();
		const ws = await s.chatWsPids();
		const m = await until('a row of every process', (x) => {
			const pids = (x.families.get('chat_process_start_time_seconds')?.samples ?? []).map((y) => Number(y.labels.pid));
			return [...fcgi, ...ws].every((p) => pids.includes(p));
		});
		assert.equal(m.families.get('chat_build_info').samples.length, 1);
		assert.equal(sum(m, 'chat_build_info'), 1);
		const now = Date.now() / 1000;
		for (const smp of m.families.get('chat_process_start_time_seconds').samples) {
			assert.ok(['chat.fcgi', 'chat-ws'].includes(smp.labels.program), smp.labels.program);
			assert.ok(smp.value > now - 600 && smp.value <= now + 1, `start time ${smp.value}`);
		}
		assert.equal(value(m, 'chat_process_start_time_seconds', { pid: String(ws[0]) }) !== undefined, true);
		assert.equal(value(m, 'chat_held_requests', { pid: String(ws[0]), program: 'chat-ws' }), 0);
		await until('the store is up', (x) => value(x, 'chat_store_up') === 1);
	});

	test('under load: sessions, connections, held requests, published, deliveries, outbox, relay', { skip: frontSkip, timeout: 60000 }, async () => {
		const m0 = await scrape();
		const room = await makeRoom(s, 'metrics');
		const user = 'metricsuser';
		await ensureUser(s, user);
		const stream = await stompConnect(s, 'xhr-streaming', { login: user });
		const sock = await stompConnect(s, 'websocket', { login: user });
		const raw = await stompConnect(s, 'raw', { login: user });
		const a = await stream.subscribeSync(`/topic/chat/room/${room}`);
		const b = await sock.subscribeSync(`/topic/chat/room/${room}`);
		const transports = ['xhr_streaming', 'websocket', 'raw_websocket'];
		const opened = (x, t) => value(x, 'chat_sessions_opened_total', { transport: t });
		const held = await until('the three connections', (x) => transports.every((t) =>
			value(x, 'chat_connections', { transport: t }) >= 1 && opened(x, t) >= opened(m0, t) + 1));
		assert.ok(sum(held, 'chat_held_requests') >= 3, 'held requests of all processes');
		assert.ok(sum(held, 'chat_held_requests', { program: 'chat-ws' }) >= 2, 'chat-ws holds both sockets');
		assert.ok(value(held, 'chat_sessions', { state: 'open' }) >= 3);
		const m1 = held;
		for (let i = 0; i < N; i++)
			await raw.post(room, `load ${i}`);
		for (let i = 0; i < N; i++) {
			await a.next();
			await b.next();
		}
		const pub0 = value(m1, 'chat_messages_published_total');
		const del0 = value(m1, 'chat_deliveries_total');
		const m2 = await until('published and deliveries', (x) =>
			value(x, 'chat_messages_published_total') >= pub0 + N &&
			value(x, 'chat_deliveries_total') >= del0 + 2 * N);
		/* Posts and the few notices of this test, not more. */
		assert.ok(value(m2, 'chat_messages_published_total') <= pub0 + N + 10);
		assert.ok(value(m2, 'chat_outbox_rows') >= N);
		assert.ok(value(m2, 'chat_outbox_oldest_unread_seconds') >= 0);
		await until('the relay caught up', (x) => value(x, 'chat_relay_lag_rows') === 0 &&
			value(x, 'chat_relay_lag_seconds') === 0);
		await Promise.all([stream.close(), sock.close(), raw.close()]);
		await until('the connections closed', (x) => sum(x, 'chat_connections') === 0 &&
			sum(x, 'chat_held_requests') === 0);
	});

	test('auth failures, lockouts, refused SENDs and new sessions are counted', { skip: frontSkip, timeout: 60000 }, async () => {
		const m0 = await scrape();
		const victim = 'metricsvictim';
		await ensureUser(s, victim);
		for (let i = 0; i < 3; i++)
			assert.equal((await apiPost(s, '/api/login', { name: victim, password: `wrong ${i}` })).status, 401);
		/* auth_account_failures = 3: now locked out. */
		assert.equal((await apiPost(s, '/api/login', { name: victim, password: PASSWORD })).status, 429);
		/* A guest may send 2 (rate_guest_sends_burst), never more. */
		const guest = await stompConnect(s, 'raw');
		const room = await makeRoom(s, 'limits');
		const errors = guest.subscribe('/user/queue/errors');
		for (let i = 0; i < 4; i++)
			await guest.post(room, `g${i}`);
		for (let i = 0; i < 2; i++)
			assert.equal(JSON.parse((await errors.next()).body).error, 'rate limited');
		/* 40 new sessions per address (sessions_per_addr_burst), from an
		 * address of its own: the 41st is refused. */
		let refused = 0;
		for (let i = 0; i < 41; i++) {
			const r = await new Promise((resolve, reject) => {
				const req = http.request(`${s.http}/chat/000/flood${String(i).padStart(4, '0')}/xhr`,
					{ method: 'POST', localAddress: '127.0.0.3', agent: false }, (res) => {
						res.resume();
						res.on('end', () => resolve(res.statusCode));
					});
				req.on('error', reject);
				req.end();
			});
			if (r === 429)
				refused++;
		}
		assert.equal(refused, 1);
		const lim = (x, l) => value(x, 'chat_rate_limited_total', { limit: l });
		await until('the refusals', (x) =>
			value(x, 'chat_auth_failures_total') >= value(m0, 'chat_auth_failures_total') + 3 &&
			lim(x, 'login') >= lim(m0, 'login') + 1 &&
			lim(x, 'send') >= lim(m0, 'send') + 2 &&
			lim(x, 'session') >= lim(m0, 'session') + 1, 15000,
		(x) => JSON.stringify([m0, x].map((y) => [value(y, 'chat_auth_failures_total'),
			...['login', 'send', 'session'].map((l) => lim(y, l))])));
		await guest.close();
	});

	test('counters survive the SIGKILL of a chat.fcgi process', { skip: frontSkip, timeout: 60000 }, async () => {
		const pids = await s.chatFcgiPids();
		const row = (x, pid) => value(x, 'chat_process_start_time_seconds', { pid: String(pid) });
		/* Counting done by each process is in chat.db. */
		const m0 = await until('each chat.fcgi has its row', (x) => pids.every((p) => row(x, p) !== undefined));
		const victim = pids[0];
		process.kill(victim, 'SIGKILL');
		const m1 = await until('the killed process retired', (x) => row(x, victim) === undefined);
		for (const name of ['chat_messages_published_total', 'chat_deliveries_total', 'chat_auth_failures_total'])
			assert.ok(value(m1, name) >= value(m0, name), `${name} went from ${value(m0, name)} to ${value(m1, name)}`);
		for (const l of ['send', 'session', 'login'])
			assert.ok(value(m1, 'chat_rate_limited_total', { limit: l }) >= value(m0, 'chat_rate_limited_total', { limit: l }));
	});

	test('refused without the key from another address, or with a wrong key', { skip: frontSkip || (!outside && 'no non-loopback address on this host'), timeout: 30000 }, async () => {
		const url = `${s.http}/api/metrics`;
		const bare = await get(url, { localAddress: outside });
		assert.equal(bare.status, 401);
		assert.match(bare.headers['www-authenticate'], /^Bearer/);
		assert.doesNotMatch(bare.body, /chat_/);
		const wrong = await get(url, { localAddress: outside, headers: { authorization: `Bearer ${KEY}x` } });
		assert.equal(wrong.status, 401);
		/* A wrong key is refused from loopback too (it was meant for something). */
		const wrongLocal = await get(url, { headers: { authorization: 'Bearer not-the-key-at-all-00000' } });
		assert.equal(wrongLocal.status, 401);
		const right = await get(url, { localAddress: outside, headers: { authorization: `Bearer ${KEY}` } });
		assert.equal(right.status, 200);
		parsePrometheus(right.body);
		/* Only GET. */
		const post = await apiPost(s, '/api/metrics', {});
		assert.equal(post.status, 405);
	});
});

describe('lighttpd: /api/metrics off, and on without a key', () => {
	let off, nokey;
	before(async () => {
		if (frontSkip)
			return;
		[off, nokey] = await Promise.all([startStack({ front: 'lighttpd' }),
			startStack({ front: 'lighttpd', options: { metrics: 1, held_per_addr: 1 } })]);
	});
	after(async () => { await Promise.all([off?.stop(), nokey?.stop()]); });

	test('off by default: 404 as for no API at all', { skip: frontSkip }, async () => {
		const r = await get(`${off.http}/api/metrics`);
		assert.equal(r.status, 404);
	});

	test('without metrics_key: loopback only (403 from another address)', { skip: frontSkip || (!outside && 'no non-loopback address on this host') }, async () => {
		assert.equal((await get(`${nokey.http}/api/metrics`)).status, 200);
		const r = await get(`${nokey.http}/api/metrics`, { localAddress: outside });
		assert.equal(r.status, 403);
		const k = await get(`${nokey.http}/api/metrics`, { localAddress: outside, headers: { authorization: 'Bearer anything-at-all-0123456' } });
		assert.equal(k.status, 403);
	});

	test('a held request over held_per_addr is counted as limit="held"', { skip: frontSkip, timeout: 30000 }, async () => {
		const held = (x) => value(x, 'chat_rate_limited_total', { limit: 'held' });
		const m0 = await scrapeOf(nokey);
		/* The first stream is held once its "o" came; the second, from the
		 * same address, is over held_per_addr = 1 and answered at once. */
		const first = http.request(`${nokey.http}/chat/000/heldaaaa/xhr_streaming`, { method: 'POST', agent: false });
		const opened = new Promise((resolve, reject) => {
			first.on('response', (res) => {
				let text = '';
				res.setEncoding('utf8');
				res.on('data', (d) => { text += d; if (/\no\n$/.test(text)) resolve(); });
			});
			first.on('error', reject);
		});
		first.end();
		await opened;
		const second = await new Promise((resolve, reject) => {
			const req = http.request(`${nokey.http}/chat/000/heldbbbb/xhr_streaming`, { method: 'POST', agent: false }, (res) => {
				let text = '';
				res.setEncoding('utf8');
				res.on('data', (d) => { text += d; });
				res.on('end', () => resolve(text));
			});
			req.on('error', reject);
			req.end();
		});
		assert.match(second, /\no\n/);
		/* Each process writes its own numbers (the two requests may be in
		 * two processes): both show within a second or so. */
		await untilOf(nokey, 'the held refusal and the held stream', (x) => held(x) >= held(m0) + 1 &&
			value(x, 'chat_connections', { transport: 'xhr_streaming' }) >= 1);
		/* The client goes: chat.fcgi notices and the gauge drops (and the
		 * stack stops without waiting for a held request). */
		first.destroy();
		await untilOf(nokey, 'the stream gone', (x) => value(x, 'chat_connections', { transport: 'xhr_streaming' }) === 0);
	});
});

/* Apache passes Authorization to chat.fcgi only with CGIPassAuth On, which
 * the shipped configuration sets; under mod_fcgid each process serves one
 * request and still has its row.  metrics_loopback = 0 (a reverse proxy on
 * the host): loopback needs the key too. */
const apacheSkip = frontMissing('apache-fcgid') || false;
describe('apache-fcgid: /api/metrics with the key', () => {
	let s;
	before(async () => {
		if (!apacheSkip)
			s = await startStack({ front: 'apache-fcgid', options: { metrics: 1, metrics_key: KEY, metrics_loopback: 0 } });
	});
	after(async () => { await s?.stop(); });

	test('the key works through Apache; without it, 401, from loopback too with metrics_loopback = 0', { skip: apacheSkip || (!outside && 'no non-loopback address on this host'), timeout: 30000 }, async () => {
		const url = `${s.http}/api/metrics`;
		const right = await get(url, { localAddress: outside, headers: { authorization: `Bearer ${KEY}` } });
		assert.equal(right.status, 200, right.body);
		const m = parsePrometheus(right.body);
		assert.ok(m.families.get('chat_process_start_time_seconds').samples.some((x) => x.labels.program === 'chat-ws'));
		assert.equal((await get(url, { localAddress: outside })).status, 401);
		assert.equal((await get(url)).status, 401);
		assert.equal((await get(url, { headers: { authorization: `Bearer ${KEY}` } })).status, 200);
	});
});

/* The store down: the relay's failure shows as chat_store_up 0 and a lag
 * that grows while posts go on (chat works; history waits in chat.db). */
describe('lighttpd: the store down', () => {
	let s;
	before(async () => {
		if (!frontSkip)
			s = await startStack({ front: 'lighttpd', options: { metrics: 1 },
				mongodbUri: 'mongodb://127.0.0.1:1/chat?serverSelectionTimeoutMS=200&connectTimeoutMS=200' });
	});
	after(async () => { await s?.stop(); });

	test('chat_store_up is 0 and the relay lag counts the posts', { skip: frontSkip, timeout: 30000 }, async () => {
		const guest = await stompConnect(s, 'raw');
		for (let i = 0; i < 3; i++)
			await guest.post('general', `while the store is down ${i}`);
		const m = await untilOf(s, 'the store down and the lag', (x) => value(x, 'chat_store_up') === 0 &&
			value(x, 'chat_relay_lag_rows') >= 3);
		assert.ok(value(m, 'chat_relay_lag_seconds') >= 0);
		assert.ok(value(m, 'chat_messages_published_total') >= 3);
		await guest.close();
	});
});
