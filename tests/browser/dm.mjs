// dm.mjs - direct messages in a real browser (Debian's chromium through
// playwright-core) against the stack behind lighttpd: two Korean pages
// (users with Korean display names) open a conversation from the presence
// list; the reader sees an unread badge until it opens the conversation,
// then they talk (typing shows); a third user's page sees none of it, its own
// conversation list and its history with either of them are empty, and
// subscribing to another user's DM queue is refused with an ERROR.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frontMissing } from '../integration/lib/stack.mjs';
import * as B from './lib.mjs';

const missing = (await B.browserMissing()) || frontMissing('lighttpd');
if (missing && process.env.CHAT_REQUIRE_BROWSER)
	throw new Error(`${missing} (CHAT_REQUIRE_BROWSER is set)`);

const env = B.useStack(missing);

async function open() {
	const page = await B.openPage(env.browser, env.base + '/', { width: 1280, height: 800 },
		{ locale: 'ko-KR', timezoneId: 'Asia/Seoul' });
	env.pages.push(page);
	return page;
}

/* SUBSCRIBE dest from the page's own STOMP client: the first answer's body. */
const askOnce = (page, dest) => page.evaluate((d) => new Promise((resolve) => {
	const sub = window.chat.state.client.subscribe(d, (m) => { sub.unsubscribe(); resolve(m.body); });
}), dest);

const dmEntry = (page, name) => page.locator('#dm-list button', { hasText: name });

test('a direct message that a third user cannot see', { skip: missing || false, timeout: 60000 }, async () => {
	const alice = await open();
	const bob = await open();
	const carol = await open();
	await B.signIn(alice, 'alice', { display: '김앨리스' });
	await B.signIn(bob, 'bob', { display: '박밥' });
	await B.signIn(carol, 'carol', { display: '최캐럴' });
	assert.equal(await alice.$eval('#dm-title', (e) => e.textContent), '개인 메시지');

	/* From the presence list of the room both are in. */
	await alice.waitForFunction(() => window.chat.state.rooms.get('general').present.has('bob'));
	await alice.click('#presence-summary');
	await alice.click('#presence-list button.dm-open[data-user="bob"]');
	await alice.waitForFunction(() => window.chat.state.current === '@bob');
	assert.equal(await alice.$eval('#room-title', (e) => e.textContent), '@ bob');
	assert.equal(await alice.$eval('#composer-text', (e) => e.placeholder), '@bob님에게 메시지 보내기');
	await B.send(alice, '안녕, 밥!');
	await B.waitText(alice, '안녕, 밥!');
	await B.send(alice, '비밀이야');
	await B.waitText(alice, '비밀이야');

	/* bob, still in general: the conversation under alice's display name,
	 * two unread; opened, they are read and the reply reaches alice. */
	const entry = dmEntry(bob, '김앨리스');
	await entry.locator('.badge', { hasText: '2' }).waitFor();
	await entry.click();
	await B.waitText(bob, '비밀이야');
	assert.deepEqual(await B.texts(bob), ['안녕, 밥!', '비밀이야']);
	assert.equal(await bob.$eval('#lists .msg .who', (e) => e.textContent), '김앨리스');
	assert.equal(await entry.locator('.badge').count(), 0);
	/* Typing shows in the open conversation on the other side. */
	await bob.fill('#composer-text', '알');
	await alice.waitForFunction(() => document.getElementById('typing').textContent === '박밥님이 입력 중…');
	await B.send(bob, '알았어');
	await B.waitText(alice, '알았어');
	/* The read mark is on the server: a new list says 0 unread for bob. */
	await bob.waitForFunction(() => window.chat.state.rooms.get('@alice').readId > 0);
	const list = JSON.parse(await askOnce(bob, '/app/dm'));
	assert.equal(list.length, 1);
	assert.equal(list[0].peer, 'alice');
	assert.equal(list[0].unread, 0);
	/* alice had the conversation open when the reply came: read too. */
	await alice.waitForFunction(() => window.chat.state.rooms.get('@bob').readId >= window.chat.state.rooms.get('@bob').lastId);
	assert.equal(JSON.parse(await askOnce(alice, '/app/dm'))[0].unread, 0);

	/* carol: nothing of theirs anywhere. */
	assert.deepEqual(JSON.parse(await askOnce(carol, '/app/dm')), []);
	assert.deepEqual(JSON.parse(await askOnce(carol, '/app/dm/alice/history')), []);
	assert.deepEqual(JSON.parse(await askOnce(carol, '/app/dm/bob/history')), []);
	assert.equal(await carol.locator('#dm-list button').count(), 0);
	await carol.evaluate(() => window.chat.state.client.subscribe('/user/alice/queue/dm', () => {
		window.leaked = true;
	}));
	await carol.waitForSelector('#conn[data-state="failed"]', { timeout: 15000 });
	assert.match(await carol.evaluate(() => window.chat.state.failed), /another user's destination/);
	const seen = await carol.evaluate(() => document.body.innerText + (window.leaked ? ' leaked' : ''));
	for (const t of ['안녕, 밥!', '비밀이야', '알았어', 'leaked'])
		assert.ok(!seen.includes(t), `carol sees ${t}`);
});
