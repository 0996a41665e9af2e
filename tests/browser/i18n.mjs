// i18n.mjs - the chat page in English and Korean, in a real browser
// (Debian's chromium through playwright-core) against the stack behind
// lighttpd: the language picked from the browser's locale, switched in the
// page and kept across a reload, dates and times in the active language, a
// Korean IME composition that must not send early (synthetic events in
// every browser's order, and Chromium's own through DevTools), and the language tables
// (www/js/i18n/*.js) having the same keys and placeholders.  The room view
// in Korean is saved as tests/browser/screenshots/room-ko.png, and as
// $CHAT_SCREENSHOT_DIR/screenshot-ko.png when that is set (docs/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import vm from 'node:vm';
import { frontMissing, srcdir } from '../integration/lib/stack.mjs';
import * as B from './lib.mjs';

const missing = (await B.browserMissing()) || frontMissing('lighttpd');
if (missing && process.env.CHAT_REQUIRE_BROWSER)
	throw new Error(`${missing} (CHAT_REQUIRE_BROWSER is set)`);

const KO_TIME = /^(오전|오후) \d{1,2}:\d{2}$/;
const EN_TIME = /^\d{1,2}:\d{2}\s(AM|PM)$/;

const env = B.useStack(missing);
const closeAll = B.closeAll;

async function open(locale, viewport) {
	const page = await B.openPage(env.browser, env.base + '/', viewport, { locale, timezoneId: 'Asia/Seoul' });
	env.pages.push(page);
	await page.waitForSelector('body[data-app]');
	return page;
}

const text = (page, sel) => page.$eval(sel, (e) => e.textContent.trim());
const attr = (page, sel, a) => page.$eval(sel, (e, x) => e.getAttribute(x), a);
const htmlLang = (page) => page.evaluate(() => document.documentElement.lang);
/* The time of the last message shown; notices (someone joined or left: after
 * a reload, the page's previous session leaving) may follow it. */
const lastTime = (page) => page.$$eval('#lists .msg:not(.pending) time', (els) => {
	if (els.length === 0)
		throw new Error('no message with a time');
	const e = els[els.length - 1];
	return { text: e.textContent, title: e.title };
});

/* A Korean page signed in as name, in a new room of its own, the message box focused. */
async function composeIn(name, room) {
	const p = await open('ko-KR');
	await B.signIn(p, name);
	await B.createRoom(p, room);
	await p.focus('#composer-text');
	return p;
}

async function chooseLang(page, lang) {
	await page.selectOption('#lang', lang);
	await page.waitForFunction((l) => document.documentElement.lang === l, lang);
}

test('the language tables have the same keys and placeholders', () => {
	const dir = path.join(srcdir, 'www', 'js', 'i18n');
	const html = readFileSync(path.join(srcdir, 'www', 'index.html'), 'utf8');
	const langs = {};
	const sandbox = vm.createContext({ window: { chatLangs: langs } });
	const files = readdirSync(dir).filter((f) => f.endsWith('.js')).sort();
	for (const f of files) {
		vm.runInContext(readFileSync(path.join(dir, f), 'utf8'), sandbox, { filename: f });
		assert.ok(Object.hasOwn(langs, f.slice(0, -3)), `${f} registers ${f.slice(0, -3)}`);
		assert.ok(html.includes(`<script src="js/i18n/${f}" defer></script>`), `index.html loads ${f}`);
	}
	assert.deepEqual(Object.keys(langs).sort(), ['en', 'ko']);
	assert.equal(langs.ko.name, '한국어');
	const en = langs.en.strings;
	const holes = (s) => (s.match(/\{\w+\}/g) || []).sort();
	for (const [code, table] of Object.entries(langs)) {
		assert.deepEqual(Object.keys(table.strings).sort(), Object.keys(en).sort(), `${code}.js has the keys of en.js`);
		for (const k of Object.keys(en)) {
			assert.ok(typeof table.strings[k] === 'string' && table.strings[k].length > 0, `${code} ${k} is a string`);
			assert.deepEqual(holes(table.strings[k]), holes(en[k]), `the placeholders of ${code} ${k}`);
		}
	}
	/* Every key the page names is in the English table: the data-i18n*
	 * attributes of index.html, the quoted dotted names in chat.js. */
	const used = new Set([...html.matchAll(/data-i18n(?:-[a-z-]+)?="([^"]+)"/g)].map((m) => m[1]));
	for (const m of readFileSync(path.join(srcdir, 'www', 'js', 'chat.js'), 'utf8').matchAll(/'([a-z]+\.[A-Za-z]+)'/g))
		used.add(m[1]);
	used.add('title');
	for (const k of ['conn.live', 'composer.placeholder', 'auth.errWrong', 'notice.joined', 'presence.here', 'composer.send'])
		assert.ok(used.has(k), `the scan finds ${k}`);
	for (const k of used)
		assert.ok(Object.hasOwn(en, k), `en.js has ${k}`);
	/* ...and the English table has no key nobody uses. */
	assert.deepEqual(Object.keys(en).filter((k) => !used.has(k)), []);
});

test('a Korean browser gets the Korean page, and Korean dates and times', { skip: missing || false, timeout: 90000 }, async () => {
	const a = await open('ko-KR');
	const b = await open('ko-KR', { width: 390, height: 844 });
	assert.equal(await htmlLang(a), 'ko');
	assert.equal(await a.$eval('#lang', (e) => e.value), 'ko');
	assert.equal(await text(a, '#auth-title'), '환영합니다');
	assert.equal(await text(a, '.segmented button[data-mode="login"]'), '로그인');
	assert.equal(await text(a, '.segmented button[data-mode="signup"]'), '회원가입');
	assert.equal(await text(a, 'label[for="auth-name"]'), '이름');
	assert.equal(await text(a, 'label[for="auth-password"]'), '비밀번호');
	assert.equal(await text(a, '#conn-text'), '연결 안 됨');
	assert.equal(await attr(a, '#lang', 'aria-label'), '언어');
	assert.equal(await a.title(), '채팅');

	await B.signIn(a, 'minji');
	await B.signIn(b, 'jihoon');
	assert.match(await text(a, '#conn-text'), /^연결됨 · WEBSOCKET$/);
	assert.equal(await text(a, '#logout'), '로그아웃');
	assert.equal(await text(a, '#room-form button[type="submit"]'), '방 만들기');
	assert.equal(await attr(a, '#room-name', 'placeholder'), '새 채팅방');
	assert.equal(await attr(a, '#send', 'aria-label'), '보내기');
	assert.equal(await attr(a, '#composer-text', 'placeholder'), '#general에 메시지 보내기');
	assert.equal(await text(a, '.side-title'), '채팅방');
	await a.waitForFunction(() => document.getElementById('presence-count').textContent === '2');
	assert.equal(await text(a, '#presence summary'), '2명 참여 중');

	const script = [
		[a, '안녕하세요! 오늘 회의 몇 시에 시작해요?'],
		[b, '오후 3시요. 회의실은 3층이에요.'],
		[a, '좋아요, 그때 봬요!'],
	];
	await B.converse(script, a, b);
	const time = await lastTime(a);
	assert.match(time.text, KO_TIME);
	assert.match(time.title, /^\d{4}년 \d{1,2}월 \d{1,2}일 [월화수목금토일]요일 (오전|오후) /);
	assert.ok((await text(a, '#lists')).includes('jihoon님이 #general에 입장했습니다'));

	await b.evaluate(() => document.getElementById('composer-text').blur());
	await a.evaluate(() => document.getElementById('composer-text').blur());
	const file = await B.screenshot(a, 'room-ko.png');
	await B.screenshot(b, 'room-ko-phone.png');
	if (process.env.CHAT_SCREENSHOT_DIR) {
		await mkdir(process.env.CHAT_SCREENSHOT_DIR, { recursive: true });
		await copyFile(file, path.join(process.env.CHAT_SCREENSHOT_DIR, 'screenshot-ko.png'));
	}
	await closeAll(a, b);
});

test('the language is switched in the page, in place, and kept across a reload', { skip: missing || false, timeout: 60000 }, async () => {
	const p = await open('ko-KR');
	await B.signIn(p, 'sora');
	await B.send(p, '언어 바꾸기 전');
	await B.waitText(p, '언어 바꾸기 전');
	assert.match((await lastTime(p)).text, KO_TIME);

	await chooseLang(p, 'en');
	assert.match(await text(p, '#conn-text'), /^Live · WEBSOCKET$/);
	assert.equal(await attr(p, '#send', 'aria-label'), 'Send');
	assert.equal(await text(p, '#room-form button[type="submit"]'), 'Create');
	assert.equal(await attr(p, '#composer-text', 'placeholder'), 'Message #general');
	assert.equal(await text(p, '#presence summary'), '1 here');
	assert.equal(await p.title(), 'Chat');
	assert.match((await lastTime(p)).text, EN_TIME, 'shown times follow the language');

	await p.reload();
	await B.waitLive(p);
	await B.waitText(p, '언어 바꾸기 전');
	assert.equal(await htmlLang(p), 'en');
	assert.equal(await p.$eval('#lang', (e) => e.value), 'en');
	assert.equal(await text(p, '#logout'), 'Sign out');
	assert.match((await lastTime(p)).text, EN_TIME);

	await chooseLang(p, 'ko');
	assert.equal(await text(p, '#logout'), '로그아웃');
	await p.reload();
	await B.waitLive(p);
	await B.waitText(p, '언어 바꾸기 전');
	assert.equal(await htmlLang(p), 'ko');
	assert.match(await text(p, '#conn-text'), /^연결됨/);
	assert.match((await lastTime(p)).text, KO_TIME);
	/* Signed out, the sign-in form is in the chosen language too. */
	await p.click('#logout');
	await p.waitForSelector('#auth-view:not([hidden])');
	assert.equal(await text(p, '#auth-submit'), '로그인');
	await closeAll(p);
});

test('an English browser gets the English page', { skip: missing || false, timeout: 60000 }, async () => {
	const p = await open('en-US');
	assert.equal(await htmlLang(p), 'en');
	assert.equal(await text(p, '#auth-title'), 'Welcome');
	assert.equal(await text(p, '#auth-submit'), 'Log in');
	assert.equal(await text(p, '#conn-text'), 'Not connected');
	await B.signIn(p, 'emma');
	assert.equal(await attr(p, '#send', 'aria-label'), 'Send');
	await B.send(p, 'hello in English');
	await B.waitText(p, 'hello in English');
	assert.match((await lastTime(p)).text, EN_TIME);
	await closeAll(p);
});

test('Enter while a Korean IME composes does not send; the Enter after compositionend does', { skip: missing || false, timeout: 60000 }, async () => {
	const p = await composeIn('hana', 'ime');
	/* Each step returns, in the same turn as the event, whether the page
	 * started sending: send() adds the pending message at once. */
	const step = (fn) => p.evaluate(fn);
	const sentNow = () => document.querySelectorAll('#lists .msg').length;
	const enter = (init, keyCode) => {
		const e = new KeyboardEvent('keydown', { key: 'Enter', code: 'Enter', bubbles: true, cancelable: true, ...init });
		if (keyCode)
			Object.defineProperty(e, 'keyCode', { get: () => keyCode });
		document.getElementById('composer-text').dispatchEvent(e);
	};
	await p.evaluate(`window.__sentNow = ${sentNow}; window.__enter = ${enter};`);
	const compose = (type, data) => p.$eval('#composer-text', (ta, [t, d]) =>
		ta.dispatchEvent(new CompositionEvent(t, { data: d, bubbles: true })), [type, data]);

	await compose('compositionstart', '');
	await p.keyboard.insertText('안녕하세');
	await compose('compositionupdate', '요');
	await p.keyboard.insertText('요');
	/* Chromium's keydown for the IME's Enter: isComposing, keyCode 229. */
	assert.equal(await step(() => { window.__enter({ isComposing: true }, 229); return window.__sentNow(); }), 0);
	/* A keydown not flagged, still between compositionstart and compositionend. */
	assert.equal(await step(() => { window.__enter({}); return window.__sentNow(); }), 0);
	await compose('compositionend', '요');
	/* Safari's order: the IME's Enter after compositionend, keyCode 229. */
	assert.equal(await step(() => { window.__enter({}, 229); return window.__sentNow(); }), 0);
	assert.equal(await p.inputValue('#composer-text'), '안녕하세요');

	await p.press('#composer-text', 'Enter');
	await B.waitText(p, '안녕하세요');
	assert.deepEqual(await B.texts(p), ['안녕하세요']);
	assert.equal(await p.inputValue('#composer-text'), '');
	await closeAll(p);
});

test('a composition made by Chromium itself (DevTools IME input) is sent whole, once', { skip: missing || false, timeout: 60000 }, async () => {
	const p = await composeIn('yuna', 'ime2');
	const cdp = await p.context().newCDPSession(p);
	/* Blink fires compositionstart/update itself, and flags the keydown
	 * of an Enter pressed meanwhile isComposing. */
	for (const s of ['ㅎ', '하', '한', '한ㄱ', '한그', '한글'])
		await cdp.send('Input.imeSetComposition', { text: s, selectionStart: s.length, selectionEnd: s.length });
	await cdp.send('Input.dispatchKeyEvent', { type: 'rawKeyDown', key: 'Enter', code: 'Enter', windowsVirtualKeyCode: 13 });
	await cdp.send('Input.dispatchKeyEvent', { type: 'keyUp', key: 'Enter', code: 'Enter', windowsVirtualKeyCode: 13 });
	/* dispatchKeyEvent returns once the page handled the key: send() would have run. */
	assert.equal(await p.$$eval('#lists .msg', (l) => l.length), 0);
	await cdp.send('Input.insertText', { text: '한글' }); /* commits: compositionend */
	assert.equal(await p.inputValue('#composer-text'), '한글');
	await p.press('#composer-text', 'Enter');
	await B.waitText(p, '한글');
	assert.deepEqual(await B.texts(p), ['한글']);
	await cdp.detach();
	await closeAll(p);
});

test('a string missing from the Korean table is shown in English', { skip: missing || false, timeout: 60000 }, async () => {
	const context = await env.browser.newContext({ locale: 'ko-KR', timezoneId: 'Asia/Seoul' });
	const p = await context.newPage();
	env.pages.push(p);
	p.problems = [];
	p.on('pageerror', (e) => p.problems.push(`pageerror: ${e.message}`));
	await p.route('**/js/i18n/ko.js', async (route) => {
		const r = await route.fetch();
		const body = (await r.text()).split('\n').filter((l) => !l.includes("'auth.title'")).join('\n');
		assert.ok(!body.includes('환영합니다'));
		await route.fulfill({ response: r, body });
	});
	await p.goto(env.base + '/');
	await p.waitForSelector('body[data-app]');
	assert.equal(await htmlLang(p), 'ko');
	assert.equal(await text(p, '#auth-title'), 'Welcome');
	assert.equal(await text(p, '#auth-submit'), '로그인');
	await closeAll(p);
});
