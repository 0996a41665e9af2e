// chat.mjs - the chat page in a real browser (Debian's chromium through
// playwright-core) against the whole stack behind lighttpd: two browser
// contexts, two users, one room, over every SockJS transport; history on
// reload and paging; the page going on when the WebSocket sidecar dies for
// good (its supervisor killed first); an
// XSS payload shown as text; screenshots of the room view at desktop and
// phone widths (into tests/browser/screenshots/ of the build directory).
// One stack and one browser for the file; each test opens its own contexts
// (a fresh profile each), so its users share nothing but the server.  The
// sidecar test comes last: the stack has no WebSocket after it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { frontMissing } from '../integration/lib/stack.mjs';
import * as B from './lib.mjs';

const missing = (await B.browserMissing()) || frontMissing('lighttpd');
if (missing && process.env.CHAT_REQUIRE_BROWSER)
	throw new Error(`${missing} (CHAT_REQUIRE_BROWSER is set)`);

const run = String(Date.now() % 100000); // in message texts only
const user = (who) => who; // the stack's state is fresh: plain names

/* The shipped limits, but users and guests may post as fast as these tests
 * type (the history test posts 75 lines at once; a person is well inside the
 * defaults). */
const env = B.useStack(missing, { rate_sends: 100, rate_sends_burst: 200,
	rate_guest_sends: 100, rate_guest_sends_burst: 200 });
const closeAll = B.closeAll;

async function open(path = '/', viewport) {
	const page = await B.openPage(env.browser, env.base + path, viewport);
	env.pages.push(page);
	return page;
}

/* Two users in one room: a (alice) made it, b (bob) opened it from the list. */
async function pair(tag, { transports, room, viewportB } = {}) {
	const q = transports ? `/?transports=${transports}` : '/';
	const a = await open(q);
	const b = await open(q, viewportB);
	const [ta] = await Promise.all([B.signIn(a, user('alice') + tag), B.signIn(b, user('bob') + tag)]);
	assert.equal(ta, true, 'the chat application is served (GET /api/rooms)');
	if (room) {
		await B.createRoom(a, room);
		await b.waitForSelector(`#room-list button[data-room="${room}"]`);
		await b.click(`#room-list button[data-room="${room}"]`).catch(() => B.openRoom(b, room));
		await b.waitForFunction((r) => window.chat.state.current === r, room);
	}
	return { a, b };
}

for (const transport of B.TRANSPORTS) {
	test(`a message typed by one user appears for the other over ${transport}`, { skip: missing || false, timeout: 90000 }, async () => {
		const tag = transport.replace(/[^a-z]/g, '').slice(0, 6);
		const room = `t-${transport}`;
		const { a, b } = await pair(tag, { transports: transport, room });
		assert.equal(await a.evaluate(() => document.body.dataset.transport), transport);
		assert.equal(await b.evaluate(() => document.body.dataset.transport), transport);
		assert.match(await a.textContent('#conn'), new RegExp(transport.toUpperCase()));

		const hello = `hello over ${transport} ✓ ${run}`;
		await B.send(a, hello);
		await B.waitText(b, hello);
		await B.waitText(a, hello);
		const reply = `reply over ${transport} – ${run}`;
		await B.send(b, reply);
		await B.waitText(a, reply);
		await B.waitText(b, reply);
		assert.deepEqual(await B.texts(a), [hello, reply]);
		assert.deepEqual(await B.texts(b), [hello, reply]);
		/* Own messages are told apart; the other's carry the writer. */
		assert.deepEqual(await a.$$eval('#lists .msg', (l) => l.map((e) => e.classList.contains('mine'))), [true, false]);
		assert.equal(await a.$$eval('#lists .msg .who', (l) => l.at(-1).textContent), user('bob') + tag);
		/* Presence: both here; bob's arrival was announced to alice. */
		await a.waitForFunction(() => document.getElementById('presence-count').textContent === '2');
		assert.ok((await a.textContent('#lists')).includes(`${user('bob') + tag} joined #${room}`));
		await closeAll(a, b);
	});
}

test('history: reload shows the room, scrolling up loads older pages, no doubles', { skip: missing || false, timeout: 120000 }, async () => {
	const { a, b } = await pair('h', { room: 'history' });
	const n = 75; /* more than one page (50) */
	for (let i = 1; i <= n; i++)
		await B.send(a, `line ${i}`);
	await B.waitText(b, `line ${n}`);
	const want = Array.from({ length: n }, (_, i) => `line ${i + 1}`);
	assert.deepEqual(await B.texts(b), want);

	/* Reload: still signed in, same room, the latest page from history. */
	await b.reload();
	await B.waitLive(b);
	await b.waitForFunction(() => window.chat.state.current === 'history');
	await B.waitText(b, `line ${n}`);
	const shown = await B.texts(b);
	assert.ok(shown.length >= 50 && shown.length <= n, `${shown.length} messages after reload`);
	assert.deepEqual(shown, want.slice(n - shown.length));
	/* Scroll to the top until the beginning of the room shows. */
	await b.waitForFunction(() => {
		document.getElementById('log').scrollTop = 0;
		return document.getElementById('log-top').textContent.includes('beginning');
	}, null, { timeout: 20000, polling: 200 });
	assert.deepEqual(await B.texts(b), want);

	/* A live message after the reload arrives once. */
	await B.send(a, 'after reload');
	await B.waitText(b, 'after reload');
	assert.deepEqual(await B.texts(b), [...want, 'after reload']);
	await closeAll(a, b);
});

test('a message with HTML in it is shown as text', { skip: missing || false, timeout: 60000 }, async () => {
	const { a, b } = await pair('x', { room: 'xss' });
	const payload = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script><b>bold?</b>';
	await B.send(a, payload);
	await B.waitText(b, payload);
	await B.waitText(a, payload);
	for (const p of [a, b]) {
		assert.equal(await p.$$eval('#lists img, #lists script, #lists b', (l) => l.length), 0);
		assert.equal(await p.evaluate(() => window.__xss), undefined);
		assert.equal(await p.$$eval('#lists .msg .text', (l) => l.at(-1).textContent), payload);
	}
	await closeAll(a, b);
});

test('a guest can join and chat', { skip: missing || false, timeout: 60000 }, async () => {
	const g = await open('/');
	await g.waitForSelector('body[data-app]');
	await g.click('.segmented button[data-mode="guest"]');
	await g.click('#auth-submit');
	await B.waitLive(g);
	const me = await g.textContent('#me-name');
	assert.match(me, /^guest-\d+$/);
	await B.send(g, `a guest says hi ${run}`);
	await B.waitText(g, `a guest says hi ${run}`);
	await closeAll(g);
});

test('a subscription the server refuses shows as an error, not as live', { skip: missing || false, timeout: 60000 }, async () => {
	/* A room that does not exist: the server answers the SUBSCRIBE with
	 * an ERROR and ends the session. */
	const g = await open(`/#nosuchroom${run}`);
	await g.waitForSelector('body[data-app]');
	await g.click('.segmented button[data-mode="guest"]');
	await g.click('#auth-submit');
	await g.waitForFunction((want) => document.getElementById('conn').dataset.state === 'failed' &&
		document.getElementById('conn-text').textContent.startsWith(want) &&
		document.getElementById('send').disabled, `Error: no room nosuchroom${run}`, { timeout: 20000 });
	/* The page forgets the room, reconnects and is live in general. */
	await B.waitLive(g);
	assert.equal(await g.evaluate(() => window.chat.state.current), 'general');
	assert.equal(await g.evaluate((id) => window.chat.state.rooms.has(id), `nosuchroom${run}`), false);
	await closeAll(g);
});

test('the creator deletes a room; the other page says so and drops it', { skip: missing || false, timeout: 60000 }, async () => {
	const { a, b } = await pair('d', { room: 'doomed' });
	assert.equal(await b.isVisible('#delete-room'), false, 'only the creator is offered delete');
	/* The page asks first (openPage dismisses dialogs): say yes. */
	await a.evaluate(() => { window.confirm = () => true; });
	await a.click('#delete-room');
	await b.waitForFunction(() => /The room #doomed was deleted by aliced/.test(document.getElementById('composer-error').textContent));
	await b.waitForFunction(() => window.chat.state.current === 'general' &&
		!document.querySelector('#room-list button[data-room="doomed"]'));
	await a.waitForFunction(() => !document.querySelector('#room-list button[data-room="doomed"]'));
	await closeAll(a, b);
});

test('a stale login token brings back the sign-in form', { skip: missing || false, timeout: 60000 }, async () => {
	const p = await open('/');
	await p.evaluate(() => localStorage.setItem('chat.auth', JSON.stringify({ mode: 'token', user: 'alice', token: 'f'.repeat(64) })));
	await p.reload();
	await p.waitForSelector('#auth-view:not([hidden])');
	await p.waitForFunction(() => /Could not sign in/.test(document.getElementById('auth-error').textContent));
	assert.equal(await p.evaluate(() => localStorage.getItem('chat.auth')), null);
	await closeAll(p);
});

test('screenshots of the room view at desktop and phone widths; unread counts; leave notices', { skip: missing || false, timeout: 90000 }, async () => {
	const { a, b } = await pair('', { room: 'design-review', viewportB: { width: 390, height: 844 } });
	const script = [
		[a, 'Morning! Is the new chat page ready for a look?'],
		[b, 'Yes - it runs over WebSocket, and falls back to XHR streaming or polling behind hostile proxies.'],
		[a, 'Nice. What happens if I post <b>HTML</b>?'],
		[b, 'It shows as text, exactly as typed.'],
		[a, 'And history?'],
		[a, 'Scroll up and older pages load.'],
		[b, 'Reconnects resume from the last message id, so nothing is missed or doubled.'],
	];
	await B.converse(script, a, b);
	/* Unread: bob writes in general, which alice joined but is not looking at. */
	await B.openRoom(b, 'general');
	await B.send(b, 'Lunch at noon?');
	await B.send(b, 'Anyone?');
	await a.waitForFunction(() => document.querySelector('#room-list button[data-room="general"] .badge')?.textContent === '2');
	await B.openRoom(b, 'design-review');
	await b.evaluate(() => document.getElementById('composer-text').blur());
	await a.waitForTimeout(300);
	await B.screenshot(a, 'room-desktop.png');
	await B.screenshot(b, 'room-phone.png');
	/* The phone's room drawer. */
	await b.click('#rooms-toggle');
	await b.waitForTimeout(300);
	await B.screenshot(b, 'rooms-phone.png');
	await b.click('#scrim', { position: { x: 370, y: 300 } }).catch(() => b.keyboard.press('Escape'));
	await b.waitForFunction(() => !document.body.classList.contains('rooms-open'));

	/* Opening the room clears its count; bob leaving is announced. */
	await a.click('#room-list button[data-room="general"]');
	await a.waitForFunction(() => !document.querySelector('#room-list button[data-room="general"] .badge'));
	await B.waitText(a, 'Anyone?');
	await B.openRoom(a, 'design-review');
	await B.openRoom(b, 'design-review');
	await b.click('#leave-room');
	await a.waitForFunction((who) => document.getElementById('lists').textContent.includes(`${who} left #design-review`), user('bob'));

	/* The sign-in card, on a phone. */
	const s = await open('/', { width: 390, height: 844 });
	await s.waitForSelector('body[data-app]');
	await B.screenshot(s, 'signin-phone.png');
	await closeAll(a, b, s);
});

test('the page falls back and goes on when the WebSocket sidecar is killed', { skip: missing || false, timeout: 120000 }, async () => {
	const { a, b } = await pair('k', { room: 'fallback' });
	assert.equal(await a.evaluate(() => document.body.dataset.transport), 'websocket');
	assert.equal(await b.evaluate(() => document.body.dataset.transport), 'websocket');
	await B.send(a, 'before the kill');
	await B.waitText(b, 'before the kill');

	/* For good: serve.sh's supervisor would restart it. */
	process.kill(env.stack.pids['chat-ws-supervisor'], 'SIGKILL');
	process.kill(env.stack.pids['chat-ws'], 'SIGKILL');
	await a.waitForSelector('#conn:not([data-state="live"])', { timeout: 15000 });
	const ta = await B.waitLive(a, 40000);
	assert.notEqual(ta, 'websocket');
	/* Alice writes while bob may still be reconnecting: resume brings it. */
	await B.send(a, 'while bob reconnects');
	const tb = await B.waitLive(b, 40000);
	assert.notEqual(tb, 'websocket');
	await B.waitText(b, 'while bob reconnects');
	await B.send(b, 'bob is back');
	await B.waitText(a, 'bob is back');
	const want = ['before the kill', 'while bob reconnects', 'bob is back'];
	assert.deepEqual(await B.texts(a), want);
	assert.deepEqual(await B.texts(b), want);
	await closeAll(a, b);
});
