// hooks.mjs - application hooks (issue 16): the room logic of
// /app/php/room/{id} lives in a PHP script (hooks/chat.php, Debian's
// php-cgi behind lighttpd's mod_fastcgi) that the server POSTs each SEND
// and SUBSCRIBE to.  SUBSCRIBE .../enter gets the script's WELCOME on that
// subscription only (@SubscribeMapping) and broadcasts its ENTER notice;
// a post is broadcast as the script stamps it and the sender's user queue
// is told (@SendToUser); a post the script's filter refuses is an ERROR to
// the sender and reaches nobody.  hooks/faults.php fails in every way - a
// 500, broken JSON, too slow, too large, a forbidden destination after an
// allowed one - and each is a clear ERROR plus a log line with nothing
// published.  A SEND or SUBSCRIBE the rate limits refuse costs no hook
// call.  Over WebSocket (chat-ws) and xhr-streaming (chat.fcgi).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, frontMissing, startStack } from '../lib/stack.mjs';
import { stompConnect } from '../lib/stomp.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const PHP_CGI = '/usr/bin/php-cgi';
const skip = frontMissing('lighttpd') || (existsSync(PHP_CGI) ? false : 'php-cgi not installed');

/* PHP behind its own lighttpd, as on a shared host: mod_fastcgi spawns php-cgi. */
let php, phpDir, phpPort;
const stacks = {};
before(async () => {
	if (skip)
		return;
	phpDir = await mkdtemp(path.join(os.tmpdir(), 'chat-php-'));
	phpPort = await freePort();
	const conf = path.join(phpDir, 'lighttpd.conf');
	await writeFile(conf, `server.modules = ( "mod_fastcgi" )
server.bind = "127.0.0.1"
server.port = ${phpPort}
server.document-root = "${path.join(here, 'hooks')}"
server.errorlog = "${phpDir}/error.log"
fastcgi.server = ( ".php" => ( (
  "bin-path" => "${PHP_CGI}",
  "socket" => "${phpDir}/php.sock",
  "max-procs" => 1,
  "bin-environment" => ( "PHP_FCGI_CHILDREN" => "4", "PHP_FCGI_MAX_REQUESTS" => "10000" ),
) ) )
`);
	php = spawn('/usr/sbin/lighttpd', ['-D', '-f', conf], { stdio: 'ignore' });
	/* Ready when it answers (a 404 for a missing file will do). */
	for (let i = 0; ; i++) {
		const ok = await fetch(`http://127.0.0.1:${phpPort}/none`).then(() => true, () => false);
		if (ok)
			break;
		if (i > 200)
			throw new Error('the PHP lighttpd does not answer');
		await new Promise((r) => setTimeout(r, 50));
	}
});
after(async () => {
	for (const p of Object.values(stacks))
		await (await p.catch(() => null))?.stop();
	if (php) {
		const gone = new Promise((r) => php.once('exit', r));
		php.kill('SIGINT');
		await gone;
	}
	if (phpDir)
		await rm(phpDir, { recursive: true, force: true });
});

function stack(script, options = {}) {
	stacks[script] ??= startStack({ front: 'lighttpd', testServices: false,
		options: { app_hook_url: `http://127.0.0.1:${phpPort}/${script}`, ...options } });
	return stacks[script];
}

/* SENDs a user may make on the faults stack (no refill): more than any
 * test but the rate test makes. */
const BURST = 8;
const faults = () => stack('faults.php', { app_hook_timeout_ms: 1500, rate_sends: 0,
	rate_sends_burst: BURST });

/* Resolves with the ERROR the next SEND to dest gets (the session then ends). */
async function sendError(c, dest, body = '{}') {
	c.client.publish({ destination: dest, body, headers: { 'content-type': 'application/json' } });
	return c.errors.next(20000);
}

for (const transport of ['websocket', 'xhr-streaming']) {
	test(`${transport}: SUBSCRIBE .../enter: WELCOME to that subscription only, ENTER to the room`, { skip, timeout: 60000 }, async () => {
		const s = await stack('chat.php');
		const room = `enter-${transport}`;
		const alice = await stompConnect(s, transport, { login: 'php-alice' });
		const bob = await stompConnect(s, transport, { login: 'php-bob' });
		try {
			const roomBox = await alice.subscribeSync(`/topic/php/room/${room}`);
			const bobRoom = await bob.subscribeSync(`/topic/php/room/${room}`);
			const welcome = await bob.subscribeSync(`/app/php/room/${room}/enter`);
			const w = await welcome.next(20000);
			assert.deepEqual(JSON.parse(w.body), { type: 'WELCOME', room });
			assert.equal(w.headers.destination, `/app/php/room/${room}/enter`);
			assert.equal(w.headers['content-type'], 'application/json');
			const enter = { type: 'ENTER', user: 'php-bob' };
			assert.deepEqual(JSON.parse((await roomBox.next(20000)).body), enter);
			/* Bob's room subscription gets the ENTER, not the WELCOME, and
			 * the reply came once (it was committed before the ENTER). */
			assert.deepEqual(JSON.parse((await bobRoom.next(20000)).body), enter);
			assert.equal(welcome.items.length, 0);
		} finally {
			await alice.close();
			await bob.close();
		}
	});

	test(`${transport}: a post is stamped by PHP and broadcast, the sender told; the filter refuses with an ERROR`, { skip, timeout: 60000 }, async () => {
		const s = await stack('chat.php');
		const room = `post-${transport}`;
		const alice = await stompConnect(s, transport, { login: 'php-alice' });
		const bob = await stompConnect(s, transport, { login: 'php-bob' });
		try {
			const roomBox = await alice.subscribeSync(`/topic/php/room/${room}`);
			const mine = await bob.subscribeSync('/user/queue/php');
			const r = await bob.send(`/app/php/room/${room}`, JSON.stringify({ text: 'hello from bob' }),
				{ 'content-type': 'application/json' });
			assert.equal(r.command, 'RECEIPT');
			const m = await roomBox.next(20000);
			assert.deepEqual(JSON.parse(m.body), { user: 'php-bob', text: 'hello from bob' });
			const told = await mine.next(20000);
			assert.equal(told.body, 'posted');
			assert.equal(told.headers['content-type'], 'text/plain');
			/* The filter: an ERROR to bob, nothing to the room. */
			const e = await sendError(bob, `/app/php/room/${room}`, JSON.stringify({ text: 'darn it' }));
			assert.match(e.headers.message, /message refused by the room filter/);
			const carol = await stompConnect(s, transport, { login: 'php-carol' });
			await carol.send(`/app/php/room/${room}`, JSON.stringify({ text: 'after the filter' }));
			assert.equal(JSON.parse((await roomBox.next(20000)).body).text, 'after the filter');
			await carol.close();
		} finally {
			await alice.close();
			await bob.close();
		}
	});
}

test('the hook sees the user, destination, headers and body; a transaction is refused', { skip, timeout: 60000 }, async () => {
	const s = await faults();
	const c = await stompConnect(s, 'websocket', { login: 'php-dave' });
	try {
		const box = await c.subscribeSync('/topic/php/half');
		const reply = await c.subscribeSync('/app/fault/echo', { 'x-custom': 'v1' });
		const seen = JSON.parse((await reply.next(20000)).body);
		assert.equal(seen.user, 'php-dave');
		assert.equal(seen.destination, '/app/fault/echo');
		assert.equal(seen.headers['x-custom'], 'v1');
		assert.equal(seen.headers.destination, '/app/fault/echo');
		assert.equal((await box.next(20000)).body, '');
		await c.send('/app/fault/echo', 'body \u00e9 "quoted"');
		assert.equal((await box.next(20000)).body, 'body \u00e9 "quoted"');
		const tx = c.client.begin();
		c.client.publish({ destination: '/app/fault/echo', body: 'in tx', headers: { transaction: tx.id } });
		const e = await c.errors.next(20000);
		assert.match(e.headers.message, /cannot be in a transaction/);
	} finally {
		await c.close();
	}
});

test('failures: 5xx, bad JSON, too slow, too large, a forbidden destination: ERROR, log line, nothing published', { skip, timeout: 60000 }, async () => {
	const s = await faults();
	const watcher = await stompConnect(s, 'xhr-streaming', { login: 'php-watch' });
	try {
		const box = await watcher.subscribeSync('/topic/php/half');
		const cases = [
			['fail', /application hook failed: the hook answered HTTP 500/],
			['badjson', /application hook failed: the answer is not a JSON object/],
			['slow', /application hook failed: no answer in time/],
			['big', /application hook failed: the answer is larger than/],
			['half', /application hook: cannot publish to \/queue\/elsewhere/],
		];
		for (const [fault, why] of cases) {
			const c = await stompConnect(s, fault === 'slow' ? 'websocket' : 'xhr-polling', { login: 'php-eve' });
			const e = await sendError(c, `/app/fault/${fault}`);
			assert.match(e.headers.message, why, fault);
			await c.close();
		}
		/* Nothing reached the topic: the next message there is this one. */
		const ok = await stompConnect(s, 'websocket', { login: 'php-eve' });
		await ok.send('/app/fault/echo', 'the only one');
		assert.equal((await box.next(20000)).body, 'the only one');
		await ok.close();
		/* chat.fcgi's stderr is lighttpd's. */
		const logs = (await s.log('lighttpd.log')) + (await s.log('chat.fcgi.log')) + (await s.log('chat-ws.log'));
		for (const fault of ['fail', 'badjson', 'slow', 'big'])
			assert.match(logs, new RegExp(`app hook: SEND /app/fault/${fault} by php-eve`), fault);
	} finally {
		await watcher.close();
	}
});

test('a SEND or SUBSCRIBE the rate limits refuse is not POSTed to the hook', { skip, timeout: 60000 }, async () => {
	const s = await faults();
	const log = `chat-hook-count-${process.pid}-${Date.now()}`;
	const c = await stompConnect(s, 'xhr-polling', { login: 'php-rated' });
	try {
		const errors = await c.subscribeSync('/user/queue/errors');
		for (let i = 0; i <= BURST; i++)
			await c.send('/app/fault/count', '', { 'x-log': log });
		const refused = JSON.parse((await errors.next(20000)).body);
		assert.equal(refused.error, 'rate limited');
		assert.equal(refused.destination, '/app/fault/count');
		/* A SUBSCRIBE to a hook destination counts as a SEND: refused too. */
		const none = await c.subscribeSync('/app/fault/count', { 'x-log': log });
		assert.equal(JSON.parse((await errors.next(20000)).body).error, 'rate limited');
		assert.equal(none.items.length, 0);
		/* BURST calls, one byte each: the last SEND and the SUBSCRIBE never reached PHP. */
		assert.equal(await readFile(path.join(os.tmpdir(), log), 'utf8'), 'x'.repeat(BURST));
	} finally {
		await c.close();
		await rm(path.join(os.tmpdir(), log), { force: true });
	}
});
