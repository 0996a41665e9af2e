// publish.mjs - POST /api/publish (issue 16), server-side publishing as
// Spring's SimpMessagingTemplate.convertAndSend, through lighttpd: with the
// key (Authorization: Bearer or X-Chat-Key) a message reaches a /topic
// subscriber, a user's /user/queue subscription and a /queue consumer, as
// a STOMP SEND would; a wrong key is 403 and a missing one 401, and
// neither publishes anything; bad destinations and bodies are 400 and 413;
// with no publish_key configured the endpoint is 404.  Behind Apache
// mod_fcgid both headers reach chat.fcgi (the shipped conf's CGIPassAuth).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { frontMissing, startStack } from '../lib/stack.mjs';
import { stompConnect } from '../lib/stomp.mjs';

const KEY = 'k3y-for-the-publish-test-0123456789abcdef';
const MAX_FRAME = 8192;
const stacks = {};
function stack(name, options, front = 'lighttpd') {
	stacks[name] ??= startStack({ front, testServices: false, options });
	return stacks[name];
}
after(async () => {
	for (const p of Object.values(stacks))
		await (await p.catch(() => null))?.stop();
});

async function publish(s, msg, headers = { authorization: `Bearer ${KEY}` }) {
	const r = await fetch(`${s.http}/api/publish`, {
		method: 'POST', headers: { 'content-type': 'application/json', ...headers },
		body: typeof msg === 'string' ? msg : JSON.stringify(msg),
	});
	return { status: r.status, body: await r.json().catch(() => null) };
}

const skip = frontMissing('lighttpd') || false;
const keyed = () => stack('keyed', { publish_key: KEY, max_frame: MAX_FRAME });

test('no publish_key configured: 404 with a JSON error, even with a key', { skip, timeout: 60000 }, async () => {
	const s = await stack('plain', {});
	const r = await publish(s, { destination: '/topic/news', body: 'x' });
	assert.equal(r.status, 404);
	assert.match(r.body.error, /publish_key/);
});

test('with the key: a /topic subscriber receives it, as sent', { skip, timeout: 60000 }, async () => {
	const s = await keyed();
	const c = await stompConnect(s, 'websocket');
	try {
		const box = await c.subscribeSync('/topic/news');
		const r = await publish(s, { destination: '/topic/news', body: 'hello from cron',
			headers: { 'content-type': 'text/plain;charset=utf-8' } });
		assert.equal(r.status, 200);
		assert.ok(Number.isInteger(r.body.id) && r.body.id > 0);
		const m = await box.next(20000);
		assert.equal(m.body, 'hello from cron');
		assert.equal(m.headers['content-type'], 'text/plain;charset=utf-8');
		assert.equal(m.headers['message-id'], String(r.body.id));
		/* Any other JSON value is sent as its JSON text. */
		const r2 = await publish(s, { destination: '/topic/news', body: { n: 1, s: 'é' } },
			{ 'x-chat-key': KEY });
		assert.equal(r2.status, 200);
		const m2 = await box.next(20000);
		assert.deepEqual(JSON.parse(m2.body), { n: 1, s: 'é' });
		assert.equal(m2.headers['content-type'], 'application/json');
	} finally {
		await c.close();
	}
});

test('a wrong or missing key is refused and publishes nothing', { skip, timeout: 60000 }, async () => {
	const s = await keyed();
	const c = await stompConnect(s, 'xhr-streaming');
	try {
		const box = await c.subscribeSync('/topic/refused');
		const wrong = await publish(s, { destination: '/topic/refused', body: 'wrong' },
			{ authorization: `Bearer ${KEY}x` });
		assert.equal(wrong.status, 403);
		assert.match(wrong.body.error, /wrong publish key/);
		const shorter = await publish(s, { destination: '/topic/refused', body: 'short' },
			{ 'x-chat-key': KEY.slice(0, -1) });
		assert.equal(shorter.status, 403);
		const none = await publish(s, { destination: '/topic/refused', body: 'none' }, {});
		assert.equal(none.status, 401);
		assert.match(none.body.error, /publish key is needed/);
		/* The first message the subscriber gets is the one sent with the key. */
		assert.equal((await publish(s, { destination: '/topic/refused', body: 'right' })).status, 200);
		assert.equal((await box.next(20000)).body, 'right');
	} finally {
		await c.close();
	}
});

test('a user queue and a /queue consumer receive it', { skip, timeout: 60000 }, async () => {
	const s = await keyed();
	const u = await stompConnect(s, 'websocket', { login: 'pubreader' });
	const q = await stompConnect(s, 'xhr-polling');
	try {
		const inbox = await u.subscribeSync('/user/queue/inbox');
		const jobs = await q.subscribeSync('/queue/jobs');
		assert.equal((await publish(s, { destination: '/user/pubreader/queue/inbox', body: 'for you' })).status, 200);
		assert.equal((await publish(s, { destination: '/queue/jobs', body: 'job 1' })).status, 200);
		assert.equal((await inbox.next(20000)).body, 'for you');
		assert.equal((await jobs.next(20000)).body, 'job 1');
	} finally {
		await u.close();
		await q.close();
	}
});

test('bad messages: 400 with the reason, 413 past max_frame', { skip, timeout: 60000 }, async () => {
	const s = await keyed();
	const cases = [
		[{ destination: '/app/chat/room/general', body: 'x' }, /invalid destination/],
		[{ destination: '/user/queue/x', body: 'x' }, /\/user\/\{name\}\/queue/],
		[{ destination: '/topic/a/../b', body: 'x' }, /invalid destination/],
		[{ body: 'x' }, /destination/],
		[{ destination: '/topic/x' }, /body/],
		[{ destination: '/topic/x', body: 'x', headers: { 'content-type': 'not a type' } }, /content-type/],
		['[1, 2', /not a JSON object/],
	];
	for (const [msg, why] of cases) {
		const r = await publish(s, msg);
		assert.equal(r.status, 400, JSON.stringify(msg));
		assert.match(r.body.error, why, JSON.stringify(msg));
	}
	const big = await publish(s, { destination: '/topic/x', body: 'y'.repeat(MAX_FRAME + 1) });
	assert.equal(big.status, 413);
});

test('apache-fcgid: the key as X-Chat-Key or Bearer reaches chat.fcgi and the message is delivered', { skip: frontMissing('apache-fcgid') || false, timeout: 60000 }, async () => {
	const s = await stack('apache', { publish_key: KEY }, 'apache-fcgid');
	const c = await stompConnect(s, 'xhr-streaming');
	try {
		const box = await c.subscribeSync('/topic/apache');
		assert.equal((await publish(s, { destination: '/topic/apache', body: 'x' }, { 'x-chat-key': 'wrong' })).status, 403);
		const r = await publish(s, { destination: '/topic/apache', body: 'through apache' }, { 'x-chat-key': KEY });
		assert.equal(r.status, 200);
		assert.equal((await box.next(20000)).body, 'through apache');
		assert.equal((await publish(s, { destination: '/topic/apache', body: 'bearer' })).status, 200);
		assert.equal((await box.next(20000)).body, 'bearer');
	} finally {
		await c.close();
	}
});
