// chat.mjs - @stomp/stompjs end to end through each front server (lighttpd,
// Apache mod_fcgid, Apache mod_proxy_fcgi; and chat.fcgi as plain CGI under
// lighttpd mod_cgi and Apache mod_cgid) over each transport Node can
// run: sockjs-client's websocket, xhr-streaming, xhr-polling and
// eventsource, and STOMP straight over /chat/websocket (`ws`, asking for
// the STOMP subprotocols).  CONNECT/CONNECTED, SUBSCRIBE with a receipt, a
// chat post whose writer the server stamps (whatever the post says), the
// MESSAGE headers, RECEIPTs, DISCONNECT.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { CGI_FRONTS, FRONTS, frontMissing, startStack } from '../lib/stack.mjs';
import { TRANSPORTS, chatBody, makeRoom, roomId, stompConnect } from '../lib/stomp.mjs';

const stacks = {};
function stack(front) {
	stacks[front] ??= startStack({ front, testServices: false });
	return stacks[front];
}
after(async () => {
	for (const p of Object.values(stacks))
		await (await p.catch(() => null))?.stop();
});

const TEXT = 'hello ünïcödé ☃ 中文 \ud83d\ude00 "q" \\ \n second line';

for (const front of [...FRONTS, ...CGI_FRONTS]) {
	const skip = frontMissing(front) || false;
	for (const transport of TRANSPORTS) {
		test(`${front} ${transport}: CONNECT, subscribe, post, stamped MESSAGE, receipts, DISCONNECT`, { skip, timeout: 60000 }, async () => {
			const s = await stack(front);
			const login = `alice-${transport}`;
			const c = await stompConnect(s, transport, { login });
			assert.equal(c.transport, transport);
			const h = c.connected.headers;
			assert.equal(h.version, '1.2');
			assert.match(h.server, /^chat\/\d/);
			assert.ok(h.session.length > 0);
			assert.equal(h['user-name'], login);
			/* The server offers heart-beats every 10 s (stomp_heartbeat_ms). */
			assert.equal(h['heart-beat'], '10000,0');

			const room = await makeRoom(s, transport);
			const box = await c.subscribeSync(`/topic/chat/room/${room}`);
			/* The writer is the session's user, never what the post says. */
			const receipt = await c.send(`/app/chat/room/${room}`,
				JSON.stringify({ text: TEXT, writer: 'mallory', id: 1, time: 0 }),
				{ 'content-type': 'application/json' });
			assert.match(receipt.headers['receipt-id'], /^r-\d+$/);
			const m = await box.next();
			assert.equal(m.headers.destination, `/topic/chat/room/${room}`);
			assert.equal(m.headers.subscription, box.sub.id);
			assert.equal(m.headers['content-type'], 'application/json');
			assert.equal(Number(m.headers['content-length']), Buffer.byteLength(m.body));
			assert.ok(m.headers['message-id']);
			const body = chatBody(m);
			assert.equal(body.writer, login);
			assert.equal(body.text, TEXT);
			assert.equal(body.room, room);
			assert.equal(body.seq, 1);
			assert.equal(String(body.id), m.headers['message-id']);
			assert.ok(Math.abs(body.time - Date.now()) < 60000, `time ${body.time}`);

			/* Ten more in order, each receipted. */
			for (let i = 0; i < 10; i++)
				await c.post(room, `n${i}`);
			for (let i = 0; i < 10; i++) {
				const b = chatBody(await box.next());
				assert.deepEqual([b.text, b.seq], [`n${i}`, i + 2]);
			}
			/* stompjs closes the socket itself once DISCONNECT's RECEIPT
			 * is in: a raw socket it closes without a code (1005). */
			await c.close();
			assert.equal((await c.closed.next()).code, transport === 'raw' ? 1005 : 1000);
		});
	}

	test(`${front}: a CONNECT without login gets a guest name that stamps its posts`, { skip, timeout: 60000 }, async () => {
		const s = await stack(front);
		const c = await stompConnect(s, 'xhr-streaming', { headers: { login: 'guest-999' } });
		const name = c.connected.headers['user-name'];
		assert.match(name, /^guest-\d+$/);
		assert.notEqual(name, 'guest-999');
		const room = await makeRoom(s, 'guest');
		const box = await c.subscribeSync(`/topic/chat/room/${room}`);
		await c.post(room, 'who am I');
		assert.equal(chatBody(await box.next()).writer, name);
		await c.close();
	});
}
