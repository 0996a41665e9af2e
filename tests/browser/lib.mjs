// lib.mjs - helpers of the browser tests: Debian's chromium driven by
// playwright-core (no browser download), the stack from
// tests/integration/lib/stack.mjs, and the chat page's moves (sign up,
// send, wait for a message) as a person would make them.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { builddir, srcdir, startStack } from '../integration/lib/stack.mjs';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const TRANSPORTS = ['websocket', 'xhr-streaming', 'xhr-polling', 'eventsource', 'iframe-htmlfile', 'jsonp-polling'];
export const screenshotDir = path.join(builddir, 'tests', 'browser', 'screenshots');

/** Why the browser tests cannot run here, or null. */
export async function browserMissing() {
	if (!existsSync(CHROMIUM))
		return `${CHROMIUM} not installed (apt-get install chromium)`;
	try {
		await import('playwright-core');
	} catch (e) {
		return 'playwright-core missing: run npm ci in tests/';
	}
	for (const f of ['sockjs.min.js', 'stomp.umd.min.js'])
		if (!existsSync(path.join(srcdir, 'www', 'js', f)))
			return `www/js/${f} missing: run npm ci in www/ (or make www-bundles)`;
	return null;
}

/** A headless chromium.  launch() gives it a fresh temporary profile
 * (--user-data-dir) of its own, removed on close; extra holds more
 * command-line switches. */
export async function launch(extra = []) {
	const { chromium } = await import('playwright-core');
	return chromium.launch({
		executablePath: CHROMIUM,
		headless: true,
		args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking',
			'--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync', ...extra],
	});
}

/** The stack behind lighttpd and one browser for a test file: started
 * before its tests (unless missing, the reason they skip, is set), stopped
 * after them, with every page in env.pages closed.  Returns env
 * {stack, browser, base, pages}, filled in by then. */
export function useStack(missing, options = {}) {
	const env = { stack: null, browser: null, base: null, pages: [] };
	before(async () => {
		if (missing)
			return;
		env.stack = await startStack({ front: 'lighttpd', testServices: false, limits: true, options });
		env.base = env.stack.http;
		env.browser = await launch();
	});
	after(async () => {
		for (const p of env.pages)
			await p.context().close().catch(() => {});
		if (env.browser)
			await env.browser.close();
		if (env.stack)
			await env.stack.stop();
	});
	return env;
}

/** Checks that the pages had no script errors, and closes their contexts. */
export async function closeAll(...ps) {
	for (const p of ps) {
		assert.deepEqual(p.problems, [], 'no script errors on the page');
		await p.context().close();
	}
}

/** A new context and page; console errors and page errors are collected in
 * page.problems.  The browser's language and time zone are en-GB, Paris,
 * unless given ({locale, timezoneId}). */
export async function openPage(browser, url, viewport = { width: 1280, height: 800 }, { locale = 'en-GB', timezoneId = 'Europe/Paris' } = {}) {
	const context = await browser.newContext({ viewport, locale, timezoneId });
	const page = await context.newPage();
	page.problems = [];
	page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
	page.on('dialog', (d) => { page.problems.push(`dialog: ${d.message()}`); d.dismiss().catch(() => {}); });
	await page.goto(url);
	return page;
}

/** Signs up (or logs in, when mode is 'login'; or joins as a guest) on the page. */
export async function signIn(page, name, { mode = 'signup', password = 'correct horse battery' } = {}) {
	await page.waitForSelector('body[data-app]');
	const full = await page.evaluate(() => document.body.dataset.app === 'full');
	if (!full)
		mode = 'guest';
	await page.click(`.segmented button[data-mode="${mode}"]`);
	await page.fill('#auth-name', name);
	if (mode !== 'guest')
		await page.fill('#auth-password', password);
	await page.click('#auth-submit');
	await waitLive(page);
	return full;
}

/** Waits until the page says it is live; returns the transport it names. */
export async function waitLive(page, timeout = 20000) {
	await page.waitForSelector('#conn[data-state="live"]', { timeout });
	return page.evaluate(() => document.body.dataset.transport);
}

/** Creates a room with the form in the sidebar and waits until it is shown. */
export async function createRoom(page, room) {
	await page.fill('#room-name', room);
	await page.press('#room-name', 'Enter');
	await page.waitForFunction((r) => window.chat.state.current === r, room);
}

export async function openRoom(page, room) {
	await page.evaluate((id) => { location.hash = '#' + id; }, room);
	await page.waitForFunction((id) => window.chat.state.current === id, room);
}

/** Types text in the composer and presses Enter. */
export async function send(page, text) {
	await page.fill('#composer-text', text);
	await page.press('#composer-text', 'Enter');
}

/** Plays script, rows of [page, text]: each page sends its text, and every
 * reader shows it before the next row. */
export async function converse(script, ...readers) {
	for (const [page, text] of script) {
		await send(page, text);
		for (const r of readers)
			await waitText(r, text);
	}
}

/** Waits until a message with exactly this text is shown in the current room. */
export async function waitText(page, text, timeout = 15000) {
	await page.waitForFunction((t) => [...document.querySelectorAll('#lists .msg:not(.pending) .text')]
		.some((e) => e.textContent === t), text, { timeout });
}

/** Texts of the messages shown in the current room, in order. */
export function texts(page) {
	return page.evaluate(() => [...document.querySelectorAll('#lists .msg:not(.pending) .text')].map((e) => e.textContent));
}

export async function screenshot(page, name) {
	await mkdir(screenshotDir, { recursive: true });
	const file = path.join(screenshotDir, name);
	await page.screenshot({ path: file });
	return file;
}
