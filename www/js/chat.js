/*
 * chat.js - the chat page's logic: sign in (or guest), then one STOMP 1.2
 * client (@stomp/stompjs) over SockJS (/chat) that reconnects by itself.
 *
 * Server features are detected, not assumed: when GET /api/rooms answers,
 * the chat application is there (accounts, room list and creation,
 * history, presence, resume); otherwise the page runs with guest names and
 * live messages only.
 *
 * Rooms the user opened stay joined (subscribed) until left, so they count
 * unread messages and the user shows as present there.  Every message has a
 * server-assigned id: a room keeps the ids it has shown (nothing doubled)
 * and resubscribes after a reconnect with `after:<last id>` (nothing
 * missed).  Everything users wrote is put into the page with textContent,
 * never as HTML.
 */
'use strict';
(function () {
	const SOCKJS_PATH = '/chat';
	const HISTORY_PAGE = 50;
	const TEXT_MAX = 4000; /* bytes, core/chatmsg.h CHATMSG_TEXT_MAX */
	const ROOM_RE = /^[A-Za-z0-9_-]{1,64}$/;
	const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
	const GROUP_MS = 5 * 60 * 1000; /* consecutive messages of one writer */

	const $ = (id) => document.getElementById(id);
	const el = (tag, cls, text) => {
		const e = document.createElement(tag);
		if (cls)
			e.className = cls;
		if (text !== undefined)
			e.textContent = text;
		return e;
	};

	const params = new URLSearchParams(location.search);
	const forced = (params.get('transports') || '').split(',').map((s) => s.trim()).filter(Boolean);

	const state = {
		app: false,          /* the chat application (API, history...) is there */
		auth: null,          /* {mode: 'token'|'guest', user, token?, expires?} */
		me: null,            /* the user name the server gave this session */
		client: null,
		live: false,
		attempts: 0,
		everConnected: false,
		socketConnected: false, /* this socket got CONNECTED */
		rooms: new Map(),    /* id -> room (known rooms, joined or not) */
		current: null,       /* id of the room shown */
		gen: 0,              /* connection generation: stale replies are dropped */
		subSeq: 0,
		pending: new Map(),  /* receipt id -> pending message element */
	};

	/* ---------- storage ---------- */

	const store = {
		get(k, session) {
			try {
				const v = (session ? sessionStorage : localStorage).getItem('chat.' + k);
				return v == null ? null : JSON.parse(v);
			} catch (e) { return null; }
		},
		set(k, v, session) {
			try { (session ? sessionStorage : localStorage).setItem('chat.' + k, JSON.stringify(v)); } catch (e) { /* private mode */ }
		},
		del(k) {
			try { localStorage.removeItem('chat.' + k); sessionStorage.removeItem('chat.' + k); } catch (e) { /* ignore */ }
		},
	};

	function savedAuth() {
		const a = store.get('auth', false) || store.get('auth', true);
		if (!a || typeof a !== 'object')
			return null;
		if (a.mode === 'token' && (!a.token || (a.expires && a.expires < Date.now())))
			return null;
		return a;
	}

	function saveJoined() {
		const ids = [...state.rooms.values()].filter((r) => r.joined).map((r) => r.id);
		store.set('joined', ids);
	}

	/* ---------- HTTP API ---------- */

	/* An authenticated call carries its token twice: in Authorization, and
	 * as "token" in the JSON body for front servers that keep Authorization
	 * from FastCGI (Apache without CGIPassAuth). */
	async function api(method, path, body, token) {
		const headers = { Accept: 'application/json' };
		if (token) {
			headers.Authorization = 'Bearer ' + token;
			if (method !== 'GET' && method !== 'HEAD')
				body = { ...(body || {}), token };
		}
		if (body !== undefined)
			headers['Content-Type'] = 'application/json';
		const r = await fetch(path, {
			method, headers, credentials: 'same-origin', cache: 'no-store',
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		let data = null;
		try { data = await r.json(); } catch (e) { /* 204 or not JSON */ }
		if (!r.ok) {
			const err = new Error((data && data.error) || `${r.status} ${r.statusText}`);
			err.status = r.status;
			throw err;
		}
		return data;
	}

	/* The chat application answers GET /api/rooms; a server without it
	 * answers 404.  Anything else (down, 5xx) is asked again for a while. */
	async function detectApp() {
		for (let i = 0; ; i++) {
			try {
				const r = await fetch('/api/rooms', { cache: 'no-store', headers: { Accept: 'application/json' } });
				if (r.status === 404 || r.status === 405)
					return false;
				if (r.ok) {
					const rooms = await r.json();
					if (!Array.isArray(rooms))
						return false;
					for (const x of rooms)
						addRoom(x);
					return true;
				}
			} catch (e) { /* unreachable: try again */ }
			if (i >= 10)
				return false;
			setConn('connecting', 'Waiting for the server…');
			await new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** i, 5000)));
		}
	}

	/* ---------- formatting ---------- */

	const timeFmt = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
	const dayTimeFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' });
	const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'medium' });

	function timeEl(ms) {
		const d = new Date(ms);
		const t = el('time');
		if (isNaN(d.getTime()))
			return t;
		const today = new Date();
		const sameDay = d.toDateString() === today.toDateString();
		t.dateTime = d.toISOString();
		t.textContent = (sameDay ? timeFmt : dayTimeFmt).format(d);
		t.title = fullFmt.format(d);
		return t;
	}

	function hue(name) {
		let h = 0;
		for (const c of String(name))
			h = (h * 31 + c.codePointAt(0)) % 360;
		return h;
	}

	function avatar(name, small) {
		const a = el('span', small ? 'avatar small' : 'avatar', String(name || '?').replace(/^guest-/, '').slice(0, 1) || '?');
		a.style.setProperty('--hue', String(hue(name)));
		a.setAttribute('aria-hidden', 'true');
		return a;
	}

	/* ---------- connection state ---------- */

	function setConn(kind, text) {
		const c = $('conn');
		c.dataset.state = kind;
		$('conn-text').textContent = text;
		document.body.dataset.conn = kind;
		$('send').disabled = kind !== 'live';
	}

	function transportName() {
		const ws = state.client && state.client.webSocket;
		return (ws && ws.transport) || 'websocket';
	}

	/* ---------- rooms ---------- */

	function addRoom(info) {
		const id = typeof info === 'string' ? info : info && info.id;
		if (typeof id !== 'string' || !ROOM_RE.test(id))
			return null;
		let r = state.rooms.get(id);
		if (!r) {
			r = {
				id, name: id, joined: false, sub: null, ids: new Set(), lastId: 0, oldestId: 0,
				historyLoaded: false, hasOlder: true, loading: false, unread: 0, present: new Set(),
				list: el('ol', 'msgs'), scrollTop: null, atBottom: true, notices: new Set(),
			};
			r.list.dataset.room = id;
			state.rooms.set(id, r);
		}
		if (typeof info === 'object' && typeof info.name === 'string')
			r.name = info.name;
		renderRooms();
		return r;
	}

	function renderRooms() {
		const ul = $('room-list');
		const rooms = [...state.rooms.values()].sort((a, b) =>
			(a.id === 'general' ? -1 : b.id === 'general' ? 1 : a.name.localeCompare(b.name)));
		ul.replaceChildren(...rooms.map((r) => {
			const li = el('li');
			li.classList.toggle('joined', r.joined);
			li.classList.toggle('unread', r.unread > 0);
			const b = el('button');
			b.type = 'button';
			b.dataset.room = r.id;
			if (r.id === state.current)
				b.setAttribute('aria-current', 'true');
			b.append(el('span', 'hash', '#'), el('span', 'rname', r.name));
			if (r.unread > 0) {
				const badge = el('span', 'badge', r.unread > 99 ? '99+' : String(r.unread));
				badge.setAttribute('aria-label', `${r.unread} unread`);
				b.append(badge);
			}
			b.addEventListener('click', () => { showRoom(r.id); closeDrawer(); });
			li.append(b);
			return li;
		}));
		const total = rooms.reduce((n, r) => n + r.unread, 0);
		const tb = $('rooms-toggle-badge');
		tb.hidden = total === 0;
		tb.textContent = total > 99 ? '99+' : String(total);
		document.title = total > 0 ? `(${total}) Chat` : 'Chat';
	}

	function showRoom(id) {
		const r = addRoom(id);
		if (!r)
			return;
		const prev = state.rooms.get(state.current);
		const log = $('log');
		if (prev && prev !== r) {
			prev.scrollTop = log.scrollTop;
			prev.atBottom = atBottom();
		}
		state.current = r.id;
		if (location.hash !== '#' + r.id)
			history.replaceState(null, '', '#' + r.id);
		store.set('current', r.id);
		r.unread = 0;
		$('room-title').textContent = '# ' + r.name;
		$('composer-text').placeholder = 'Message #' + r.name;
		$('leave-room').hidden = r.id === 'general';
		$('lists').replaceChildren(r.list);
		$('jump').hidden = true;
		updateTop(r);
		renderPresence(r);
		if (r.atBottom || r.scrollTop == null)
			scrollToBottom();
		else
			log.scrollTop = r.scrollTop;
		if (!r.joined)
			joinRoom(r);
		else if (state.live && state.app && !r.historyLoaded)
			loadHistory(r);
		if (state.live && state.app)
			fetchPresence(r);
		renderRooms();
	}

	function joinRoom(r) {
		r.joined = true;
		saveJoined();
		if (state.live)
			subscribeRoom(r);
	}

	function leaveRoom(r) {
		if (r.id === 'general')
			return;
		r.joined = false;
		if (r.sub && state.live) {
			try { r.sub.unsubscribe(); } catch (e) { /* gone with the connection */ }
		}
		r.sub = null;
		r.unread = 0;
		r.present.clear();
		saveJoined();
		if (!state.app)
			state.rooms.delete(r.id);
		showRoom('general');
	}

	function subscribeRoom(r) {
		const headers = { id: 'room-' + r.id };
		/* Resume: after a page of history (or a live message) we know where
		 * we are; the server sends what came after, then live messages. */
		if (state.app && r.historyLoaded)
			headers.after = String(r.lastId);
		r.sub = state.client.subscribe('/topic/chat/room/' + r.id, (m) => onRoomFrame(r, m), headers);
		if (state.app && !r.historyLoaded && r.id === state.current)
			loadHistory(r);
	}

	function onRoomFrame(r, m) {
		let body;
		try { body = JSON.parse(m.body); } catch (e) { return; }
		if (!body || typeof body !== 'object')
			return;
		if (body.type === 'ENTER' || body.type === 'LEAVE') {
			const key = m.headers['message-id'];
			if (key && r.notices.has(key))
				return;
			if (key)
				r.notices.add(key);
			if (typeof body.user !== 'string')
				return;
			if (body.type === 'ENTER')
				r.present.add(body.user);
			else
				r.present.delete(body.user);
			if (r.id === state.current)
				renderPresence(r);
			const who = body.user === state.me ? 'You' : body.user;
			const verb = body.type === 'ENTER' ? 'joined' : 'left';
			addNotice(r, `${who} ${verb} #${r.name}`, Number(m.headers['message-id']) || 0);
			return;
		}
		if (isMessage(body))
			addMessages(r, [body], true);
	}

	function isMessage(x) {
		return x && typeof x === 'object' && Number.isSafeInteger(x.id) && typeof x.text === 'string' &&
			typeof x.writer === 'string';
	}

	/* ---------- messages ---------- */

	function atBottom() {
		const log = $('log');
		return log.scrollHeight - log.scrollTop - log.clientHeight < 40;
	}

	function scrollToBottom() {
		const log = $('log');
		log.scrollTop = log.scrollHeight;
		$('jump').hidden = true;
	}

	/* Where an item with sort key k goes in list: before the first item with a
	 * larger key (messages arrive nearly in order, so search from the end). */
	function insertSorted(list, node, k) {
		let next = null;
		for (let c = list.lastElementChild; c; c = c.previousElementSibling) {
			if (Number(c.dataset.k) <= k)
				break;
			next = c;
		}
		list.insertBefore(node, next);
	}

	function renderMessage(m) {
		const mine = m.writer === state.me;
		const li = el('li', mine ? 'msg mine' : 'msg');
		li.dataset.id = String(m.id);
		li.dataset.k = String(m.id);
		li.dataset.writer = m.writer;
		li.dataset.time = String(m.time || 0);
		li.append(avatar(m.writer));
		const body = el('div', 'body');
		const meta = el('div', 'meta');
		meta.append(el('span', 'who', m.writer), timeEl(m.time));
		const bubble = el('div', 'bubble text', m.text);
		body.append(meta, bubble);
		li.append(body);
		return li;
	}

	/* A message continues the one above when the same writer wrote it soon after. */
	function regroup(li) {
		if (!li || !li.classList.contains('msg'))
			return;
		const p = li.previousElementSibling;
		const cont = p && p.classList.contains('msg') && !p.classList.contains('pending') &&
			p.dataset.writer === li.dataset.writer &&
			Math.abs(Number(li.dataset.time) - Number(p.dataset.time)) < GROUP_MS;
		li.classList.toggle('cont', !!cont);
	}

	/* Adds messages (from history, resume or live) to room r, each once. */
	function addMessages(r, msgs, live) {
		const shown = r.id === state.current;
		const log = $('log');
		const wasBottom = shown && atBottom();
		const prevHeight = log.scrollHeight;
		const prevTop = log.scrollTop;
		let prepended = false, added = 0, ownAdded = false;
		for (const m of msgs) {
			if (!isMessage(m) || r.ids.has(m.id))
				continue;
			r.ids.add(m.id);
			if (m.id < r.lastId)
				prepended = true;
			r.lastId = Math.max(r.lastId, m.id);
			r.oldestId = r.oldestId ? Math.min(r.oldestId, m.id) : m.id;
			const li = renderMessage(m);
			insertSorted(r.list, li, m.id);
			regroup(li);
			regroup(li.nextElementSibling);
			added++;
			if (m.writer === state.me)
				ownAdded = true;
			else if (live && (!shown || document.hidden))
				r.unread++;
		}
		if (added === 0)
			return;
		if (!shown) {
			renderRooms();
			return;
		}
		if (wasBottom || ownAdded)
			scrollToBottom();
		else if (prepended && !live)
			log.scrollTop = prevTop + (log.scrollHeight - prevHeight);
		else if (live)
			$('jump').hidden = false;
		if (document.hidden)
			renderRooms();
	}

	function addNotice(r, text, k) {
		const li = el('li', 'notice', text);
		li.dataset.k = String(k || r.lastId + 0.5);
		const shown = r.id === state.current;
		const wasBottom = shown && atBottom();
		insertSorted(r.list, li, Number(li.dataset.k));
		regroup(li.nextElementSibling);
		if (wasBottom)
			scrollToBottom();
	}

	function updateTop(r) {
		const t = $('log-top');
		if (!state.app)
			t.textContent = 'Live messages only: this server keeps no history.';
		else if (r.loading)
			t.textContent = 'Loading older messages…';
		else if (r.historyLoaded && !r.hasOlder)
			t.textContent = `This is the beginning of #${r.name}.`;
		else
			t.textContent = '';
	}

	/* One page of history below before (0: the latest), oldest first. */
	function loadHistory(r, before) {
		if (!state.app || !state.live || r.loading)
			return;
		r.loading = true;
		updateTop(r);
		const gen = state.gen;
		const headers = { id: 'h' + (++state.subSeq), limit: String(HISTORY_PAGE) };
		if (before)
			headers.before = String(before);
		const sub = state.client.subscribe(`/app/chat/room/${r.id}/history`, (m) => {
			try { sub.unsubscribe(); } catch (e) { /* closed meanwhile */ }
			if (gen !== state.gen)
				return;
			let list = [];
			try { list = JSON.parse(m.body); } catch (e) { /* treated as empty */ }
			if (!Array.isArray(list))
				list = [];
			const first = !r.historyLoaded;
			r.loading = false;
			r.historyLoaded = true;
			if (before || first)
				r.hasOlder = list.length > 0 && (list.length >= HISTORY_PAGE || before !== undefined);
			addMessages(r, list, false);
			if (first && r.id === state.current)
				scrollToBottom();
			updateTop(r);
			maybeLoadOlder();
		}, headers);
	}

	function maybeLoadOlder() {
		const r = state.rooms.get(state.current);
		const log = $('log');
		if (r && r.historyLoaded && r.hasOlder && !r.loading && log.scrollTop < 120)
			loadHistory(r, r.oldestId || undefined);
	}

	/* ---------- presence ---------- */

	function fetchPresence(r) {
		const gen = state.gen;
		const sub = state.client.subscribe(`/app/chat/room/${r.id}/presence`, (m) => {
			try { sub.unsubscribe(); } catch (e) { /* closed meanwhile */ }
			if (gen !== state.gen)
				return;
			let list = [];
			try { list = JSON.parse(m.body); } catch (e) { /* empty */ }
			if (!Array.isArray(list))
				return;
			r.present = new Set(list.filter((x) => typeof x === 'string'));
			if (r.id === state.current)
				renderPresence(r);
		}, { id: 'p' + (++state.subSeq) });
	}

	function renderPresence(r) {
		const box = $('presence');
		if (!state.app) {
			box.hidden = true;
			return;
		}
		box.hidden = false;
		const names = [...r.present].sort((a, b) => a.localeCompare(b));
		$('presence-count').textContent = String(names.length);
		$('presence-list').replaceChildren(...names.map((n) => {
			const li = el('li');
			li.append(avatar(n, true), el('span', null, n === state.me ? `${n} (you)` : n));
			return li;
		}));
	}

	/* ---------- sending ---------- */

	function send() {
		const ta = $('composer-text');
		const text = ta.value;
		const err = $('composer-error');
		err.textContent = '';
		if (!text.trim())
			return;
		if (new TextEncoder().encode(text).length > TEXT_MAX) {
			err.textContent = `Too long: messages are at most ${TEXT_MAX} bytes.`;
			return;
		}
		if (!state.live) {
			err.textContent = 'Not connected; the message stays here until the connection is back.';
			return;
		}
		const r = state.rooms.get(state.current);
		const receipt = 'm' + (++state.subSeq);
		const li = renderMessage({ id: 0, writer: state.me, time: Date.now(), text });
		li.classList.add('pending');
		li.dataset.k = String(Number.MAX_SAFE_INTEGER);
		delete li.dataset.id;
		r.list.append(li);
		scrollToBottom();
		state.pending.set(receipt, { li, text, room: r.id });
		state.client.watchForReceipt(receipt, () => {
			state.pending.delete(receipt);
			li.remove();
		});
		state.client.publish({
			destination: '/app/chat/room/' + r.id,
			body: JSON.stringify({ text }),
			headers: { 'content-type': 'application/json', receipt },
		});
		ta.value = '';
		autosize();
	}

	/* Posts whose receipt never came went down with the connection: offer them again. */
	function failPending() {
		for (const [id, p] of state.pending) {
			state.pending.delete(id);
			p.li.classList.remove('pending');
			p.li.classList.add('failed');
			const status = el('button', 'link-btn status', 'Not sent: retry');
			status.type = 'button';
			status.addEventListener('click', () => {
				p.li.remove();
				showRoom(p.room);
				$('composer-text').value = p.text;
				send();
			});
			p.li.querySelector('.body').append(status);
		}
	}

	function autosize() {
		const ta = $('composer-text');
		ta.style.height = 'auto';
		ta.style.height = Math.min(ta.scrollHeight + 2, 160) + 'px';
	}

	/* ---------- STOMP over SockJS ---------- */

	function connect() {
		const a = state.auth;
		const headers = a.mode === 'token' ? { login: a.user, passcode: a.token } : { login: a.user || 'guest' };
		state.attempts = 0;
		state.everConnected = false;
		setConn('connecting', forced.length ? `Connecting (${forced.join(', ')})…` : 'Connecting…');
		const client = new StompJs.Client({
			webSocketFactory: () => new SockJS(SOCKJS_PATH, null, forced.length ? { transports: forced } : {}),
			connectHeaders: headers,
			reconnectDelay: 1000,
			maxReconnectDelay: 15000,
			reconnectTimeMode: StompJs.ReconnectionTimeMode ? StompJs.ReconnectionTimeMode.EXPONENTIAL : undefined,
			/* The server sends no STOMP heart-beats (SockJS's keep every
			 * transport alive) and ends a client silent for twice the agreed
			 * interval: beat from a worker, whose timers background tabs do
			 * not throttle. */
			heartbeatIncoming: 0,
			heartbeatOutgoing: 20000,
			heartbeatStrategy: StompJs.TickerStrategy ? StompJs.TickerStrategy.Worker : undefined,
			connectionTimeout: 15000,
			debug: () => {},
		});
		client.beforeConnect = () => {
			state.socketConnected = false;
			state.attempts++;
			if (state.everConnected)
				setConn('reconnecting', `Reconnecting… (attempt ${state.attempts})`);
		};
		client.onConnect = onConnected;
		client.onStompError = onStompError;
		client.onWebSocketClose = onClosed;
		state.client = client;
		client.activate();
	}

	function onConnected(frame) {
		state.socketConnected = true;
		state.gen++;
		state.live = true;
		state.attempts = 0;
		state.everConnected = true;
		state.me = frame.headers['user-name'] || (state.auth && state.auth.user) || state.me;
		$('me-name').textContent = state.me || '';
		$('me-avatar').replaceWith(Object.assign(avatar(state.me, true), { id: 'me-avatar' }));
		$('me-box').hidden = false;
		setConn('live', 'Live · ' + transportName().toUpperCase());
		document.body.dataset.transport = transportName();
		const c = state.client;
		if (state.app) {
			c.subscribe('/topic/rooms', (m) => {
				try { addRoom(JSON.parse(m.body)); } catch (e) { /* ignore */ }
			}, { id: 'rooms' });
			const sub = c.subscribe('/app/rooms', (m) => {
				try { sub.unsubscribe(); } catch (e) { /* closed */ }
				let list = [];
				try { list = JSON.parse(m.body); } catch (e) { /* empty */ }
				if (Array.isArray(list))
					for (const x of list)
						addRoom(x);
			}, { id: 'r' + (++state.subSeq) });
		}
		for (const r of state.rooms.values()) {
			r.loading = false;
			if (r.joined)
				subscribeRoom(r);
		}
		const cur = state.rooms.get(state.current);
		if (cur && state.app)
			fetchPresence(cur);
		if (cur)
			updateTop(cur);
	}

	function onStompError(frame) {
		const msg = frame.headers.message || 'the server refused';
		if (!state.socketConnected) {
			/* Refused at CONNECT: wrong or expired credentials, or no guests. */
			state.client.deactivate();
			signOut(false);
			showAuthError(`Could not sign in: ${msg}`);
			return;
		}
		$('composer-error').textContent = `Server: ${msg}`;
	}

	function onClosed() {
		if (!state.live && state.everConnected)
			return;
		state.live = false;
		state.gen++;
		failPending();
		if (state.client && state.client.active)
			setConn('reconnecting', 'Reconnecting…');
	}

	/* ---------- sign in / out ---------- */

	let authMode = 'login';

	function setAuthMode(mode) {
		authMode = mode;
		for (const b of document.querySelectorAll('.segmented button'))
			b.setAttribute('aria-pressed', String(b.dataset.mode === mode));
		const guest = mode === 'guest';
		$('auth-password-row').hidden = guest;
		$('auth-password').required = !guest;
		$('auth-password').autocomplete = mode === 'signup' ? 'new-password' : 'current-password';
		$('auth-name').required = !guest || !state.app;
		$('auth-submit').textContent = mode === 'signup' ? 'Create account' : guest ? 'Join as guest' : 'Log in';
		$('auth-name-hint').textContent = guest && state.app
			? 'Optional: guests are named guest-N by the server.'
			: 'Letters, digits, _ . - (starting with a letter or digit); up to 32.';
		showAuthError('');
	}

	function showAuthError(text) {
		$('auth-error').textContent = text;
	}

	async function submitAuth(ev) {
		ev.preventDefault();
		const name = $('auth-name').value.trim();
		const password = $('auth-password').value;
		showAuthError('');
		if (name && !NAME_RE.test(name))
			return showAuthError('Names are 1-32 letters, digits, _ . - and start with a letter or digit.');
		if (authMode !== 'guest') {
			if (!name)
				return showAuthError('Enter your name.');
			if (password.length < 8)
				return showAuthError('Passwords are at least 8 characters.');
		} else if (!name && !state.app) {
			return showAuthError('Enter the name to show.');
		}
		const btn = $('auth-submit');
		btn.disabled = true;
		try {
			if (authMode === 'guest') {
				state.auth = { mode: 'guest', user: name || 'guest' };
				store.set('auth', state.auth, true);
			} else {
				if (authMode === 'signup')
					await api('POST', '/api/users', { name, password });
				const t = await api('POST', '/api/login', { name, password });
				state.auth = { mode: 'token', user: t.user || name, token: t.token, expires: t.expires };
				store.set('auth', state.auth, false);
			}
			$('auth-password').value = '';
			enterChat();
		} catch (e) {
			showAuthError(e.status === 401 ? 'Wrong name or password.' : e.message);
		} finally {
			btn.disabled = false;
		}
	}

	function enterChat() {
		document.body.classList.remove('signed-out');
		$('auth-view').hidden = true;
		$('chat-view').hidden = false;
		const joined = store.get('joined') || [];
		addRoom('general').joined = true;
		for (const id of joined) {
			const r = addRoom(id);
			if (r)
				r.joined = true;
		}
		const want = decodeURIComponent(location.hash.slice(1)) || store.get('current') || 'general';
		showRoom(ROOM_RE.test(want) ? want : 'general');
		connect();
		$('composer-text').focus();
	}

	function signOut(revoke) {
		const a = state.auth;
		if (revoke && a && a.mode === 'token')
			api('POST', '/api/logout', undefined, a.token).catch(() => {});
		if (state.client)
			state.client.deactivate();
		state.client = null;
		state.live = false;
		state.auth = null;
		state.me = null;
		store.del('auth');
		for (const r of state.rooms.values()) {
			r.sub = null;
			r.present.clear();
		}
		document.body.classList.add('signed-out');
		$('me-box').hidden = true;
		$('chat-view').hidden = true;
		$('auth-view').hidden = false;
		setConn('idle', 'Not connected');
	}

	/* ---------- rooms form, drawer ---------- */

	async function createRoom(ev) {
		ev.preventDefault();
		const input = $('room-name');
		const name = input.value.trim();
		const err = $('room-error');
		err.textContent = '';
		if (!ROOM_RE.test(name)) {
			err.textContent = 'Room names are 1-64 letters, digits, _ and -.';
			return;
		}
		if (state.rooms.has(name) || !state.app) {
			input.value = '';
			showRoom(name);
			closeDrawer();
			return;
		}
		try {
			if (state.auth.mode === 'token') {
				addRoom(await api('POST', '/api/rooms', { name }, state.auth.token));
			} else if (state.live) {
				await new Promise((resolve) => {
					const receipt = 'c' + (++state.subSeq);
					state.client.watchForReceipt(receipt, resolve);
					state.client.publish({ destination: '/app/rooms', body: JSON.stringify({ name }), headers: { receipt, 'content-type': 'application/json' } });
				});
			} else {
				throw new Error('Not connected.');
			}
			input.value = '';
			showRoom(name);
			closeDrawer();
		} catch (e) {
			err.textContent = e.status === 409 ? 'That room exists already.' : e.message;
		}
	}

	function closeDrawer() {
		document.body.classList.remove('rooms-open');
		$('rooms-toggle').setAttribute('aria-expanded', 'false');
		$('scrim').hidden = true;
	}

	function toggleDrawer() {
		const open = !document.body.classList.contains('rooms-open');
		document.body.classList.toggle('rooms-open', open);
		$('rooms-toggle').setAttribute('aria-expanded', String(open));
		$('scrim').hidden = !open;
	}

	/* ---------- start ---------- */

	async function start() {
		if (typeof SockJS === 'undefined' || typeof StompJs === 'undefined') {
			setConn('failed', 'Client libraries missing (run npm ci in www/)');
			return;
		}
		for (const b of document.querySelectorAll('.segmented button'))
			b.addEventListener('click', () => setAuthMode(b.dataset.mode));
		$('auth-form').addEventListener('submit', submitAuth);
		$('logout').addEventListener('click', () => signOut(true));
		$('room-form').addEventListener('submit', createRoom);
		$('rooms-toggle').addEventListener('click', toggleDrawer);
		$('scrim').addEventListener('click', closeDrawer);
		document.addEventListener('keydown', (e) => {
			if (e.key === 'Escape' && document.body.classList.contains('rooms-open')) {
				closeDrawer();
				$('rooms-toggle').focus();
			}
		});
		$('leave-room').addEventListener('click', () => {
			const r = state.rooms.get(state.current);
			if (r)
				leaveRoom(r);
		});
		$('composer').addEventListener('submit', (e) => { e.preventDefault(); send(); });
		const ta = $('composer-text');
		ta.addEventListener('keydown', (e) => {
			if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
				e.preventDefault();
				send();
			}
		});
		ta.addEventListener('input', autosize);
		$('log').addEventListener('scroll', () => {
			if (atBottom())
				$('jump').hidden = true;
			maybeLoadOlder();
		}, { passive: true });
		$('jump').addEventListener('click', scrollToBottom);
		document.addEventListener('visibilitychange', () => {
			if (!document.hidden) {
				const r = state.rooms.get(state.current);
				if (r && r.unread) {
					r.unread = 0;
					renderRooms();
				}
			}
		});
		window.addEventListener('hashchange', () => {
			const id = decodeURIComponent(location.hash.slice(1));
			if (state.auth && ROOM_RE.test(id) && id !== state.current)
				showRoom(id);
		});

		state.app = await detectApp();
		document.body.dataset.app = state.app ? 'full' : 'basic';
		if (!state.app) {
			for (const b of document.querySelectorAll('.segmented button'))
				b.hidden = b.dataset.mode !== 'guest';
			$('auth-intro').textContent = 'Choose the name others will see.';
			setAuthMode('guest');
		} else {
			setAuthMode('login');
		}
		state.auth = savedAuth();
		if (state.auth)
			enterChat();
		else
			$('auth-name').focus();
	}

	window.chat = { state }; /* for the console and the browser tests */
	start();
})();
