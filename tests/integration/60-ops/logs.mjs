// logs.mjs - the programs' logs as a host reads them (proc/log.h), on a
// real stack (lighttpd, chat.fcgi, chat-ws) run with log_format = json and
// log_level = debug: every line the programs write is one JSON object with
// time, prog, pid, level and msg; a session's lines carry its tag and its
// user; the session id itself never appears, nor the password or token.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { frontMissing, startStack } from '../lib/stack.mjs';
import { PASSWORD, login, makeRoom, stompConnect } from '../lib/stomp.mjs';

const skip = frontMissing('lighttpd') || false;
/* A SockJS session id this test chooses, to look for in the logs. */
const SID = `logsid${process.pid}x`;

/* log_sid(): the service tag and FNV-1a of the rest. */
function tagOf(key) {
	let h = 2166136261;
	for (const b of Buffer.from(key.slice(2)))
		h = Math.imul(h ^ b, 16777619) >>> 0;
	return `${key.slice(0, 2)}#${h.toString(16).padStart(8, '0')}`;
}

/** POST url; resolves with the status once the response ended. */
function post(url, body = '') {
	return new Promise((resolve, reject) => {
		const req = http.request(url, { method: 'POST', agent: false,
			headers: { 'content-type': 'text/plain' } }, (res) => {
			res.resume();
			res.on('end', () => resolve(res.statusCode));
		});
		req.on('error', reject);
		req.end(body);
	});
}

describe('lighttpd: log_format = json', () => {
	let s;
	let lines = [];
	let text = '';
	let token;
	const user = 'loguser';

	before(async () => {
		if (skip)
			return;
		s = await startStack({ front: 'lighttpd', options: { log_format: 'json', log_level: 'debug' } });
		/* A raw STOMP socket of a registered user, which posts and goes. */
		token = await login(s, user);
		const room = await makeRoom(s, 'logs');
		const c = await stompConnect(s, 'raw', { login: user });
		await c.post(room, 'a line with "quotes"\nand a newline');
		await c.close();
		/* A polling session whose id the test knows: "o", then a send. */
		assert.equal(await post(`${s.http}/chat/000/${SID}/xhr`), 200);
		assert.equal(await post(`${s.http}/chat/000/${SID}/xhr_send`, '["x"]'), 204);
		/* Stopped, so that every line is written. */
		await s.halt();
		const run = path.join(s.dir, 'run');
		for (const name of await readdir(run))
			if (name.endsWith('.log'))
				text += await readFile(path.join(run, name), 'utf8');
		lines = text.split('\n').filter((l) => l.startsWith('{"time":'));
	});
	after(async () => { await s?.stop(); });

	test('every line the programs write is one JSON object with the fields', { skip }, () => {
		assert.ok(lines.length >= 4, `${lines.length} lines`);
		const progs = new Set();
		for (const l of lines) {
			const e = JSON.parse(l);
			assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
			assert.ok(['chat.fcgi', 'chat-ws'].includes(e.prog), l);
			assert.ok(Number.isInteger(e.pid) && e.pid > 0, l);
			assert.ok(['error', 'warn', 'info', 'debug'].includes(e.level), l);
			assert.equal(typeof e.msg, 'string');
			progs.add(e.prog);
		}
		assert.deepEqual([...progs].sort(), ['chat-ws', 'chat.fcgi']);
	});

	test("a socket's lines name its session and user; an HTTP session's its tag", { skip }, () => {
		const events = lines.map((l) => JSON.parse(l));
		const closed = events.find((e) => e.prog === 'chat-ws' && e.msg === 'socket closed');
		assert.ok(closed, 'the socket closed line');
		assert.match(closed.session, /^c:#[0-9a-f]{8}$/);
		assert.equal(closed.user, user);
		const opened = events.find((e) => e.prog === 'chat.fcgi' && e.msg === 'session opened by xhr');
		assert.ok(opened, 'the session opened line');
		assert.equal(opened.session, tagOf(`c:${SID}`));
	});

	test('no session id, password or token in any log', { skip }, () => {
		assert.ok(!text.includes(SID), 'the session id');
		assert.ok(!text.includes(PASSWORD), 'the password');
		assert.ok(!text.includes(token), 'the token');
	});
});
