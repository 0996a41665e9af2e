// rooms-ko.mjs - a room named in Korean, in a real browser (Debian's
// chromium through playwright-core) against the stack behind lighttpd:
// two Korean pages (locale ko-KR), one over websocket and one over
// xhr-streaming, chat in "자유게시판", whose id in destinations is
// generated (URL-safe) while the page shows its name; its look-alikes
// (typed as jamo, NFD) are the same room.  The users sign up with Korean
// display names, which the server stamps on their messages beside the
// login, and one changes it in the page; typing shows on the other page
// and stops with the message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frontMissing } from '../integration/lib/stack.mjs';
import * as B from './lib.mjs';

const missing = (await B.browserMissing()) || frontMissing('lighttpd');
if (missing && process.env.CHAT_REQUIRE_BROWSER)
	throw new Error(`${missing} (CHAT_REQUIRE_BROWSER is set)`);

const env = B.useStack(missing);
const ROOM = '자유게시판';

async function open(transport) {
	const page = await B.openPage(env.browser, `${env.base}/?transports=${transport}`,
		{ width: 1280, height: 800 }, { locale: 'ko-KR', timezoneId: 'Asia/Seoul' });
	env.pages.push(page);
	return page;
}

/* What the page's own API call answers: [status, body]. */
const apiCall = (page, method, path, body) => page.evaluate(async ([m, p, b]) => {
	const token = window.chat.state.auth.token;
	const r = await fetch(p, { method: m, headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + token },
		body: b === undefined ? undefined : JSON.stringify(b) });
	return [r.status, await r.json().catch(() => null)];
}, [method, path, body]);

test('a room named in Korean, over websocket and xhr-streaming', { skip: missing || false, timeout: 60000 }, async () => {
	const a = await open('websocket');
	const b = await open('xhr-streaming');
	await B.signIn(a, 'minji', { display: '김민지' });
	assert.equal(await B.signIn(b, 'jihoon', { display: '박지훈' }), true);
	assert.equal(await a.$eval('#me-name', (e) => [e.textContent, e.title].join(' ')), '김민지 @minji');
	assert.equal(await B.waitLive(a), 'websocket');
	assert.equal(await B.waitLive(b), 'xhr-streaming');

	const id = await B.createRoom(a, ROOM);
	assert.match(id, /^[0-9a-z]+$/, 'a generated, URL-safe id');
	assert.equal(await a.$eval('#room-title', (e) => e.textContent), '# ' + ROOM);
	assert.equal(await a.$eval('#composer-text', (e) => e.placeholder), `#${ROOM}에 메시지 보내기`);

	/* The other page learns the room from /topic/rooms and lists it by name. */
	const entry = b.locator('#room-list button', { hasText: ROOM });
	await entry.waitFor();
	await entry.click();
	await b.waitForFunction((i) => window.chat.state.current === i, id);
	assert.equal(new URL(b.url()).hash, '#' + id);

	/* Typing: once b is in the room (present: its subscription is made),
	 * a's first keystrokes show on b's page, and a's message clears it. */
	await a.waitForFunction((i) => window.chat.state.rooms.get(i).present.has('jihoon'), id);
	await a.fill('#composer-text', '자유게시판에 오신 것을 환영합니다!');
	await b.waitForFunction(() => document.getElementById('typing').textContent === '김민지님이 입력 중…');
	await a.press('#composer-text', 'Enter');
	await B.waitText(b, '자유게시판에 오신 것을 환영합니다!');
	assert.equal(await b.$eval('#typing', (e) => e.textContent), '');
	await B.waitText(a, '자유게시판에 오신 것을 환영합니다!');
	await B.converse([
		[b, '반가워요. 여기서 뭐든 얘기해요.'],
		[a, '좋아요 👍'],
	], a, b);
	assert.deepEqual(await B.texts(b), ['자유게시판에 오신 것을 환영합니다!', '반가워요. 여기서 뭐든 얘기해요.', '좋아요 👍']);
	/* Each side shows the other's display name, the login beside it. */
	const who = (page) => page.$$eval('#lists .msg:not(.mine):not(.cont) .meta', (els) =>
		els.map((e) => [e.querySelector('.who').textContent, e.querySelector('.login')?.textContent]));
	assert.deepEqual(await who(b), [['김민지', '@minji'], ['김민지', '@minji']]);
	assert.deepEqual(await who(a), [['박지훈', '@jihoon']]);

	/* A new display name, from the profile form, on the next message. */
	await b.fill('#profile-display', '지훈이');
	await b.press('#profile-display', 'Enter');
	await b.waitForFunction(() => document.getElementById('me-name').textContent === '지훈이');
	await B.converse([[b, '이름 바꿨어요']], a, b);
	assert.deepEqual((await who(a)).at(-1), ['지훈이', '@jihoon']);
	const [st0, bad] = await apiCall(b, 'POST', '/api/users/me', { display_name: 'x\u200Dy' });
	assert.equal(st0, 400);
	assert.equal(bad.error, 'display names may not hold invisible format characters (U+200D)');

	/* The API lists id and name; the same name typed as jamo (NFD), or
	 * in full-width Latin for "general", is taken. */
	const [st, rooms] = await apiCall(b, 'GET', '/api/rooms');
	assert.equal(st, 200);
	assert.deepEqual(rooms.filter((r) => r.id === id).map((r) => [r.name, r.creator]), [[ROOM, 'minji']]);
	const [st2, dup] = await apiCall(b, 'POST', '/api/rooms', { name: ROOM.normalize('NFD') });
	assert.equal(st2, 409);
	assert.equal(dup.error, `the room ${ROOM} exists`);
	assert.equal((await apiCall(b, 'POST', '/api/rooms', { name: 'Ｇｅｎｅｒａｌ' }))[0], 409);
	const [st3, bidi] = await apiCall(b, 'POST', '/api/rooms', { name: 'evil\u202Etxt.exe' });
	assert.equal(st3, 400);
	assert.equal(bidi.error, 'room names may not hold bidi controls (U+202E)');

	/* Typing the name in the form (as jamo) opens the room, not a new one. */
	await b.evaluate(() => { location.hash = '#general'; });
	await b.waitForFunction(() => window.chat.state.current === 'general');
	await b.fill('#room-name', ROOM.normalize('NFD'));
	await b.press('#room-name', 'Enter');
	await b.waitForFunction((i) => window.chat.state.current === i, id);
	await B.closeAll(a, b);
});
