// moderation.mjs - moderation in a real browser (Debian's chromium
// through playwright-core) against the stack behind lighttpd: the first
// user signed up is an admin (the admins option is empty); the admin
// deletes a message from the page (every page shows it deleted, history
// too) and bans a user (its session ends, its logins are refused) and
// unbans it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frontMissing } from '../integration/lib/stack.mjs';
import * as B from './lib.mjs';

const missing = (await B.browserMissing()) || frontMissing('lighttpd');
if (missing && process.env.CHAT_REQUIRE_BROWSER)
	throw new Error(`${missing} (CHAT_REQUIRE_BROWSER is set)`);

const env = B.useStack(missing);
const PASSWORD = 'correct horse battery';

async function open() {
	const page = await B.openPage(env.browser, env.base + '/');
	env.pages.push(page);
	return page;
}

/* POST /api/login from the page: [status, body]. */
const login = (page, name) => page.evaluate(async ([n, pw]) => {
	const r = await fetch('/api/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
		body: JSON.stringify({ name: n, password: pw }) });
	return [r.status, await r.json().catch(() => null)];
}, [name, PASSWORD]);

const msgLi = (page, text) => page.locator('#lists .msg', { has: page.locator('.text', { hasText: text }) });

test('an admin deletes a message and bans a user', { skip: missing || false, timeout: 60000 }, async () => {
	const admin = await open();
	await B.signIn(admin, 'boss');
	assert.equal(await admin.evaluate(() => window.chat.state.auth.admin), true, 'the first user is an admin');
	assert.equal(await admin.isVisible('#ban-form'), true);
	const troll = await open();
	await B.signIn(troll, 'troll');
	assert.equal(await troll.evaluate(() => window.chat.state.auth.admin), false);
	assert.equal(await troll.isVisible('#ban-form'), false);

	await B.converse([[troll, 'buy cheap watches here'], [troll, 'a fine message']], admin, troll);
	/* Only moderators see the delete button. */
	assert.equal(await msgLi(troll, 'a fine message').locator('.del').isVisible(), false);
	await msgLi(admin, 'buy cheap watches here').locator('.del').click();
	for (const p of [admin, troll])
		await p.waitForFunction(() => [...document.querySelectorAll('#lists .msg.deleted .text')]
			.some((e) => e.textContent === 'This message was deleted.'));
	assert.ok(!(await B.texts(troll)).includes('buy cheap watches here'));
	/* A page opened later gets the tombstone from history. */
	const late = await open();
	await B.signIn(late, 'latecomer');
	await B.waitText(late, 'a fine message');
	const t = await B.texts(late);
	assert.ok(t.includes('This message was deleted.') && !t.includes('buy cheap watches here'), t.join(' | '));

	/* Ban: the session ends, the login is refused; unban: it works again. */
	await admin.fill('#ban-name', 'troll');
	await admin.click('#ban');
	await admin.waitForFunction(() => document.getElementById('ban-status').textContent === 'troll is banned.');
	await troll.waitForSelector('#conn[data-state="failed"]', { timeout: 15000 });
	const [st, body] = await login(late, 'troll');
	assert.equal(st, 403);
	assert.equal(body.error, 'troll is banned');
	await admin.fill('#ban-name', 'troll');
	await admin.click('#unban');
	await admin.waitForFunction(() => document.getElementById('ban-status').textContent === 'troll is no longer banned.');
	assert.equal((await login(late, 'troll'))[0], 200);
	/* A user who is not an admin cannot ban. */
	const [st2, no] = await late.evaluate(async () => {
		const r = await fetch('/api/bans', { method: 'POST', headers: { 'Content-Type': 'application/json',
			Authorization: 'Bearer ' + window.chat.state.auth.token }, body: JSON.stringify({ name: 'boss' }) });
		return [r.status, await r.json()];
	});
	assert.equal(st2, 403);
	assert.equal(no.error, 'only an admin can ban or unban');
	/* Nor delete messages in a room it did not create; a bad id is 404. */
	const del = (page, path) => page.evaluate(async (p) => {
		const r = await fetch(p, { method: 'DELETE', headers: { Authorization: 'Bearer ' + window.chat.state.auth.token } });
		return [r.status, (await r.json()).error];
	}, path);
	const id = await msgLi(late, 'a fine message').getAttribute('data-id');
	assert.deepEqual(await del(late, `/api/rooms/general/messages/${id}`),
		[403, 'only the creator of general or an admin can delete its messages']);
	assert.deepEqual(await del(admin, '/api/rooms/general/messages/-1'), [404, 'no such message']);
	assert.deepEqual(await del(admin, '/api/rooms/nowhere/messages/1'), [404, 'no room nowhere']);
	await B.closeAll(admin, late);
});
