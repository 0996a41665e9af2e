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
 *
 * Every string shown comes from a language table (js/i18n/<lang>.js,
 * window.chatLangs): the language is the user's choice (kept in
 * localStorage), else the first of navigator.languages that has a table,
 * else English; English fills any key a table lacks.  An element shown
 * through t() keeps its key (data-i18n, data-i18n-<attribute>) and
 * arguments (data-i18n-args), so switching the language re-translates the
 * page in place, times included.
 */
'use strict';
(function () {
	/* Where the chat is: the server's GET /api/config (its endpoints and
	 * destination prefixes) replaces these defaults before connecting. */
	const D = { endpoint: '/chat', app: '/app', topic: '/topic', userQueue: '/user/queue' };
	/* Paths are relative to the page: /chat at a site's root, <dir>/chat/chat
	 * for the shared-hosting bundle in <dir>/chat/ (docs/shared-hosting.md);
	 * the endpoints of /api/config are read the same way. */
	const API = (path) => new URL(path.slice(1), document.baseURI).href;
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
		failed: null,        /* the last ERROR's message, until the next CONNECTED */
		pendingRoom: null,   /* rejects the room creation awaiting its receipt */
		wantRoom: null,      /* nameKey() of a room created over STOMP, shown once listed */
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
		const ids = [...state.rooms.values()].filter((r) => r.joined && !r.dm).map((r) => r.id);
		store.set('joined', ids);
	}

	/* ---------- language ---------- */

	const LANGS = window.chatLangs || {};
	const FALLBACK_LANG = 'en';
	const I18N_ATTRS = ['placeholder', 'aria-label', 'title'];
	const i18n = { lang: FALLBACK_LANG, locale: FALLBACK_LANG };

	function langOf(tag) {
		return String(tag || '').toLowerCase().split('-')[0];
	}

	/* The saved choice, else the browser's preference, else English. */
	function pickLang() {
		const saved = store.get('lang');
		if (typeof saved === 'string' && Object.hasOwn(LANGS, saved))
			return saved;
		for (const tag of navigator.languages || [navigator.language])
			if (Object.hasOwn(LANGS, langOf(tag)))
				return langOf(tag);
		return FALLBACK_LANG;
	}

	/* The string of key in the active language (English when it lacks it),
	 * its {placeholders} filled from args; the key itself when no table has it. */
	function t(key, args) {
		const own = LANGS[i18n.lang] && LANGS[i18n.lang].strings;
		const base = LANGS[FALLBACK_LANG] && LANGS[FALLBACK_LANG].strings;
		let s = own && Object.hasOwn(own, key) ? own[key] : base && Object.hasOwn(base, key) ? base[key] : key;
		if (typeof s !== 'string')
			s = key;
		return s.replace(/\{(\w+)\}/g, (m, k) => (args && args[k] !== undefined ? String(args[k]) : m));
	}

	function argsOf(e) {
		try { return e.dataset.i18nArgs ? JSON.parse(e.dataset.i18nArgs) : undefined; } catch (x) { return undefined; }
	}

	function keepArgs(e, args) {
		if (args)
			e.dataset.i18nArgs = JSON.stringify(args);
		else
			delete e.dataset.i18nArgs;
	}

	/* Shows string key in e (nothing when key is null), and remembers it. */
	function setT(e, key, args) {
		if (!key) {
			delete e.dataset.i18n;
			e.textContent = '';
			return e;
		}
		e.dataset.i18n = key;
		keepArgs(e, args);
		e.textContent = t(key, args);
		return e;
	}

	/* Shows text that is no string of ours (a server's words) in e. */
	function setRaw(e, text) {
		delete e.dataset.i18n;
		delete e.dataset.i18nArgs;
		e.textContent = text;
	}

	function setAttrT(e, attr, key, args) {
		e.dataset['i18n' + attr.replace(/(^|-)(\w)/g, (m, d, c) => c.toUpperCase())] = key;
		keepArgs(e, args);
		e.setAttribute(attr, t(key, args));
	}

	function translate(root) {
		const sel = ['[data-i18n]', ...I18N_ATTRS.map((a) => `[data-i18n-${a}]`)].join(',');
		const list = [...root.querySelectorAll(sel)];
		if (root.matches && root.matches(sel))
			list.push(root);
		for (const e of list) {
			const args = argsOf(e);
			if (e.dataset.i18n)
				e.textContent = t(e.dataset.i18n, args);
			for (const a of I18N_ATTRS) {
				const key = e.getAttribute('data-i18n-' + a);
				if (key)
					e.setAttribute(a, t(key, args));
			}
		}
		for (const e of root.querySelectorAll('time[data-ms]'))
			formatTime(e);
	}

	/* Fills e with string key, its {placeholders} replaced by the nodes
	 * given (kept, so ids and listeners stay). */
	function fillT(e, key, nodes) {
		e.replaceChildren(...t(key).split(/(\{\w+\})/).map((part) => {
			const m = /^\{(\w+)\}$/.exec(part);
			return m && nodes[m[1]] ? nodes[m[1]] : document.createTextNode(part);
		}).filter((n) => n.nodeType !== Node.TEXT_NODE || n.data));
	}

	function applyLang(lang) {
		i18n.lang = Object.hasOwn(LANGS, lang) ? lang : FALLBACK_LANG;
		/* The browser's own tag for this language (ko-KR, en-GB) formats
		 * dates best; the bare language when it prefers another one. */
		i18n.locale = (navigator.languages || []).find((x) => langOf(x) === i18n.lang) || i18n.lang;
		makeFormats();
		document.documentElement.lang = i18n.lang;
		const sel = $('lang');
		if (sel.options.length === 0)
			for (const [code, table] of Object.entries(LANGS))
				sel.append(Object.assign(el('option', null, table.name || code), { value: code, lang: code }));
		sel.value = i18n.lang;
		translate(document.documentElement);
		for (const r of state.rooms.values())
			translate(r.list);
		fillT($('presence-summary'), 'presence.here', { n: $('presence-count') });
		renderRooms();
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
		const r = await fetch(API(path), {
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
	async function readConfig() {
		try {
			const r = await fetch(API('/api/config'), { cache: 'no-store', headers: { Accept: 'application/json' } });
			if (!r.ok)
				return;
			const c = await r.json();
			const str = (v) => typeof v === 'string' && v.startsWith('/');
			if (Array.isArray(c.endpoints) && str(c.endpoints[0]))
				D.endpoint = c.endpoints[0];
			if (str(c.app))
				D.app = c.app;
			if (str(c.topic))
				D.topic = c.topic;
			if (str(c.user_queue))
				D.userQueue = c.user_queue;
		} catch (e) { /* an older server: the defaults */ }
	}

	async function detectApp() {
		await readConfig();
		for (let i = 0; ; i++) {
			try {
				const r = await fetch(API('/api/rooms'), { cache: 'no-store', headers: { Accept: 'application/json' } });
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
			setConn('connecting', 'conn.waiting');
			await new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** i, 5000)));
		}
	}

	/* ---------- formatting ---------- */

	let timeFmt, dayTimeFmt, fullFmt;

	/* Dates and times in the active language (Korean: 오후 3:04). */
	function makeFormats() {
		timeFmt = new Intl.DateTimeFormat(i18n.locale, { hour: 'numeric', minute: '2-digit' });
		dayTimeFmt = new Intl.DateTimeFormat(i18n.locale, { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' });
		fullFmt = new Intl.DateTimeFormat(i18n.locale, { dateStyle: 'full', timeStyle: 'medium' });
	}

	function formatTime(e) {
		const d = new Date(Number(e.dataset.ms));
		if (isNaN(d.getTime()))
			return;
		const sameDay = d.toDateString() === new Date().toDateString();
		e.dateTime = d.toISOString();
		e.textContent = (sameDay ? timeFmt : dayTimeFmt).format(d);
		e.title = fullFmt.format(d);
	}

	function timeEl(ms) {
		const e = el('time');
		e.dataset.ms = String(ms);
		formatTime(e);
		return e;
	}

	function hue(name) {
		let h = 0;
		for (const c of String(name))
			h = (h * 31 + c.codePointAt(0)) % 360;
		return h;
	}

	function avatar(name, small) {
		const a = el('span', small ? 'avatar small' : 'avatar', [...String(name || '?').replace(/^guest-/, '')][0] || '?');
		a.style.setProperty('--hue', String(hue(name)));
		a.setAttribute('aria-hidden', 'true');
		return a;
	}

	/* ---------- connection state ---------- */

	function setConn(kind, key, args) {
		const c = $('conn');
		c.dataset.state = kind;
		setT($('conn-text'), key, args);
		document.body.dataset.conn = kind;
		$('send').disabled = kind !== 'live';
	}

	function transportName() {
		const ws = state.client && state.client.webSocket;
		return (ws && ws.transport) || 'websocket';
	}

	/* ---------- rooms ---------- */

	/* Close to the server's uniqueness key (core/names.h: NFKC of the
	 * case-folded name), to find a room by the name someone typed; the
	 * server decides. */
	function nameKey(name) {
		return name.normalize('NFKC').toLowerCase().normalize('NFKC').replace(/[\uFE0E\uFE0F]/g, '');
	}

	function findRoomByName(name) {
		const k = nameKey(name);
		return [...state.rooms.values()].find((r) => nameKey(r.name) === k) || null;
	}

	/* The open room's name in the title and the composer. */
	function showTitle(r) {
		$('room-title').textContent = (r.dm ? '@ ' : '# ') + r.name;
		setAttrT($('composer-text'), 'placeholder', r.dm ? 'composer.placeholderDm' : 'composer.placeholder', { room: r.name });
	}

	/* ---------- direct messages (docs/dm.md) ---------- */

	/* A conversation with peer (a login) is a room of this page with id
	 * "@peer": never subscribed (its messages come on USER_QUEUE/dm),
	 * its history from APP/dm/{peer}/history. */
	function addDm(peer, unread) {
		if (typeof peer !== 'string' || !NAME_RE.test(peer) || peer === state.me)
			return null;
		const id = '@' + peer;
		let r = state.rooms.get(id);
		if (!r) {
			r = {
				id, dm: peer, name: peer, joined: true, sub: null, ids: new Set(), lastId: 0, oldestId: 0,
				historyLoaded: false, hasOlder: false, loading: false, unread: 0, present: new Set(),
				list: el('ol', 'msgs'), scrollTop: null, atBottom: true, notices: new Set(),
			};
			r.list.dataset.room = id;
			state.rooms.set(id, r);
		}
		if (Number.isSafeInteger(unread) && unread >= 0 && id !== state.current)
			r.unread = unread;
		renderRooms();
		return r;
	}

	/* A DM on USER_QUEUE/dm: {"type":"DM",...} to the conversation, or
	 * {"type":"TYPING","user",...} from the peer. */
	function onDmFrame(m) {
		let x = null;
		try { x = JSON.parse(m.body); } catch (e) { return; }
		if (!x || typeof x !== 'object')
			return;
		if (x.type === 'TYPING') {
			/* Only in a conversation this page has: typing alone opens none. */
			const r = typeof x.user === 'string' && state.rooms.get('@' + x.user);
			if (r)
				onTyping(r, x);
			return;
		}
		if (x.type !== 'DM' || !isMessage(x))
			return;
		const mine = x.writer === state.me;
		const r = addDm(mine ? x.to : x.writer);
		if (!r)
			return;
		if (!mine && typeof x.display_name === 'string' && x.display_name)
			r.name = x.display_name;
		if (r.typing && r.typing.delete(x.writer))
			renderTyping();
		addMessages(r, [x], true);
		markRead(r);
	}

	/* Tells the server the open conversation is read up to its last message. */
	function markRead(r) {
		if (!r.dm || r.id !== state.current || document.hidden || !state.live || !r.lastId || r.readId >= r.lastId)
			return;
		r.readId = r.lastId;
		state.client.publish({ destination: `${D.app}/dm/${r.dm}/read`, body: JSON.stringify({ id: r.lastId }),
			headers: { 'content-type': 'application/json' } });
	}

	function canDm() {
		return state.app && !!(state.auth && state.auth.mode === 'token');
	}

	/* The conversations and their unread counts, once per connection. */
	function fetchDms() {
		const gen = state.gen;
		const sub = state.client.subscribe(D.app + '/dm', (m) => {
			try { sub.unsubscribe(); } catch (e) { /* closed meanwhile */ }
			if (gen !== state.gen)
				return;
			let list = [];
			try { list = JSON.parse(m.body); } catch (e) { /* empty */ }
			if (Array.isArray(list))
				for (const x of list)
					if (x && typeof x === 'object')
						addDm(x.peer, x.unread);
		}, { id: 'd' + (++state.subSeq) });
	}

	function addRoom(info) {
		const id = typeof info === 'string' ? info : info && info.id;
		if (typeof id === 'string' && id[0] === '@')
			return state.rooms.get(id) || null;
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
		if (typeof info === 'object' && typeof info.creator === 'string')
			r.creator = info.creator;
		if (r.id === state.current) {
			updateDelete(r);
			showTitle(r);
		}
		renderRooms();
		if (state.wantRoom && typeof info === 'object' && nameKey(r.name) === state.wantRoom) {
			state.wantRoom = null;
			showRoom(r.id);
		}
		return r;
	}

	/* The creator may delete a room (the server also lets its admins). */
	function updateDelete(r) {
		const admin = !!(state.auth && state.auth.admin);
		$('delete-room').hidden = !state.app || r.id === 'general' || !!r.dm || ((!r.creator || r.creator !== state.me) && !admin);
		/* Message deletion: the room's creator or an admin, signed in. */
		const token = !!(state.auth && state.auth.mode === 'token');
		document.body.dataset.moderate = state.app && token && !r.dm && (admin || (r.creator && r.creator === state.me)) ? '1' : '';
	}

	/* A room deleted on the server ({"type":"DELETED","user","room"} on
	 * /topic/rooms): gone from the list; if it is open, the page says so. */
	function roomDeleted(id, by) {
		const r = state.rooms.get(id);
		if (!r)
			return;
		if (r.sub) {
			try { r.sub.unsubscribe(); } catch (e) { /* gone with the connection */ }
		}
		state.rooms.delete(id);
		saveJoined();
		if (state.current === id) {
			showRoom('general');
			setT($('composer-error'), by ? 'room.deleted' : 'room.gone', { room: r.name, user: by });
		} else {
			renderRooms();
		}
	}

	async function deleteRoom() {
		const r = state.rooms.get(state.current);
		if (!r || r.id === 'general' || !window.confirm(t('room.deleteConfirm', { room: r.name })))
			return;
		setT($('composer-error'), null);
		try {
			if (state.auth && state.auth.mode === 'token')
				await api('DELETE', '/api/rooms/' + encodeURIComponent(r.id), undefined, state.auth.token);
			else if (state.live)
				state.client.publish({ destination: D.app + '/rooms/delete', body: JSON.stringify({ name: r.id }), headers: { 'content-type': 'application/json' } });
			else
				throw new Error(t('room.errOffline'));
		} catch (e) {
			setRaw($('composer-error'), e.message);
		}
	}

	function renderRooms() {
		const all = [...state.rooms.values()];
		const rooms = all.filter((r) => !r.dm).sort((a, b) =>
			(a.id === 'general' ? -1 : b.id === 'general' ? 1 : a.name.localeCompare(b.name)));
		const dms = all.filter((r) => r.dm).sort((a, b) => b.lastId - a.lastId || a.name.localeCompare(b.name));
		$('room-list').replaceChildren(...rooms.map(roomItem));
		$('dm-list').replaceChildren(...dms.map(roomItem));
		$('dm-list').hidden = $('dm-title').hidden = !canDm();
		const total = all.reduce((n, r) => n + r.unread, 0);
		const tb = $('rooms-toggle-badge');
		tb.hidden = total === 0;
		tb.textContent = total > 99 ? '99+' : String(total);
		document.title = total > 0 ? t('title.unread', { n: total }) : t('title');
	}

	function roomItem(r) {
		const li = el('li');
		li.classList.toggle('joined', r.joined);
		li.classList.toggle('unread', r.unread > 0);
		const b = el('button');
		b.type = 'button';
		b.dataset.room = r.id;
		if (r.id === state.current)
			b.setAttribute('aria-current', 'true');
		b.append(el('span', 'hash', r.dm ? '@' : '#'), el('span', 'rname', r.name));
		if (r.unread > 0) {
			const badge = el('span', 'badge', r.unread > 99 ? '99+' : String(r.unread));
			setAttrT(badge, 'aria-label', 'room.unread', { n: r.unread });
			b.append(badge);
		}
		b.addEventListener('click', () => { showRoom(r.id); closeDrawer(); });
		li.append(b);
		return li;
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
		showTitle(r);
		renderTyping();
		$('leave-room').hidden = r.id === 'general' || !!r.dm;
		updateDelete(r);
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
		if (state.live && state.app && !r.dm)
			fetchPresence(r);
		markRead(r);
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
		r.sub = state.client.subscribe(D.topic + '/chat/room/' + r.id, (m) => onRoomFrame(r, m), headers);
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
			const mine = body.user === state.me;
			const what = body.type === 'ENTER' ? (mine ? 'notice.youJoined' : 'notice.joined') : mine ? 'notice.youLeft' : 'notice.left';
			addNotice(r, what, { who: body.user, room: r.name }, Number(m.headers['message-id']) || 0);
			return;
		}
		if (body.type === 'TYPING') {
			onTyping(r, body);
			return;
		}
		if (body.type === 'DELETED_MESSAGE') {
			const li = Number.isSafeInteger(body.id) && r.list.querySelector(`.msg[data-id="${body.id}"]`);
			if (li)
				markDeleted(li);
			return;
		}
		if (isMessage(body)) {
			if (r.typing && r.typing.delete(body.writer))
				renderTyping();
			addMessages(r, [body], true);
		}
	}

	/* ---------- typing ---------- */

	const TYPING_SHOW_MS = 5000;  /* how long "is typing" stays without news */
	const TYPING_EVERY_MS = 3000; /* how often this page says it is typing */

	/* Someone is typing in r ({"type":"TYPING","user","display_name","time"}).
	 * Old ones (replayed on a resume) are ignored. */
	function onTyping(r, x) {
		if (typeof x.user !== 'string' || x.user === state.me || !Number.isSafeInteger(x.time) ||
			Math.abs(Date.now() - x.time) > 2 * TYPING_SHOW_MS)
			return;
		r.typing = r.typing || new Map();
		r.typing.set(x.user, { who: x.display_name || x.user, until: Date.now() + TYPING_SHOW_MS });
		renderTyping();
		setTimeout(renderTyping, TYPING_SHOW_MS + 50);
	}

	function renderTyping() {
		const r = state.rooms.get(state.current);
		const now = Date.now();
		const who = [];
		if (r && r.typing) {
			for (const [u, v] of r.typing) {
				if (v.until <= now)
					r.typing.delete(u);
				else
					who.push(v.who);
			}
		}
		const p = $('typing');
		if (who.length === 0)
			setT(p, null);
		else if (who.length === 1)
			setT(p, 'typing.one', { who: who[0] });
		else
			setT(p, 'typing.many', { n: who.length });
	}

	/* Says "typing" at most every TYPING_EVERY_MS while the box has text. */
	function typed() {
		const r = state.rooms.get(state.current);
		if (!r || !state.app || !state.live || !state.client || !$('composer-text').value.trim())
			return;
		const now = Date.now();
		if (r.typedAt && now - r.typedAt < TYPING_EVERY_MS)
			return;
		r.typedAt = now;
		state.client.publish({ destination: r.dm ? `${D.app}/dm/${r.dm}/typing` : `${D.app}/chat/room/${r.id}/typing` });
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
		/* The display name the server stamped, the login beside it. */
		const shown = typeof m.display_name === 'string' && m.display_name ? m.display_name : m.writer;
		li.append(avatar(shown));
		const body = el('div', 'body');
		const meta = el('div', 'meta');
		const who = el('span', 'who', shown);
		meta.append(who);
		if (shown !== m.writer)
			meta.append(el('span', 'login', '@' + m.writer));
		meta.append(timeEl(m.time));
		const bubble = el('div', 'bubble text', m.text);
		body.append(meta, bubble);
		li.append(body);
		/* Shown to the room's creator and admins (body[data-moderate]). */
		const del = el('button', 'del', '\u00d7');
		del.type = 'button';
		setAttrT(del, 'aria-label', 'msg.delete');
		body.append(del);
		if (m.deleted === true)
			markDeleted(li);
		return li;
	}

	/* A message deleted by a moderator: its text goes, a note stays. */
	function markDeleted(li) {
		li.classList.add('deleted');
		const text = li.querySelector('.text');
		if (text)
			setT(text, 'msg.deleted');
	}

	async function deleteMessage(li) {
		const room = li.closest('ol') && li.closest('ol').dataset.room;
		if (!room || !state.auth || !state.auth.token)
			return;
		try {
			await api('DELETE', `/api/rooms/${encodeURIComponent(room)}/messages/${li.dataset.id}`, undefined, state.auth.token);
		} catch (e) {
			setRaw($('composer-error'), e.message);
		}
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

	function addNotice(r, key, args, k) {
		const li = setT(el('li', 'notice'), key, args);
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
			setT(t, 'log.noHistory');
		else if (r.loading)
			setT(t, 'log.loading');
		else if (r.historyLoaded && !r.hasOlder)
			setT(t, r.dm ? 'log.beginningDm' : 'log.beginning', { room: r.name });
		else
			setT(t, null);
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
		const dest = r.dm ? `${D.app}/dm/${r.dm}/history` : `${D.app}/chat/room/${r.id}/history`;
		const sub = state.client.subscribe(dest, (m) => {
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
			if ((before || first) && !r.dm)
				r.hasOlder = list.length > 0 && (list.length >= HISTORY_PAGE || before !== undefined);
			if (r.dm)
				for (const x of list)
					if (x && x.writer === r.dm && typeof x.display_name === 'string' && x.display_name)
						r.name = x.display_name;
			addMessages(r, list, false);
			if (r.dm) {
				if (r.id === state.current)
					showTitle(r);
				markRead(r);
			}
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
		const sub = state.client.subscribe(`${D.app}/chat/room/${r.id}/presence`, (m) => {
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
			li.append(avatar(n, true), n === state.me ? setT(el('span'), 'presence.you', { name: n }) : el('span', null, n));
			/* Another registered user: a click opens the conversation. */
			if (n !== state.me && canDm() && NAME_RE.test(n) && !/^guest-/.test(n)) {
				const b = el('button', 'link-btn dm-open', '@');
				setAttrT(b, 'aria-label', 'dm.open', { name: n });
				b.type = 'button';
				b.dataset.user = n;
				b.addEventListener('click', () => {
					const d = addDm(n);
					if (d)
						showRoom(d.id);
				});
				li.append(b);
			}
			return li;
		}));
	}

	/* ---------- sending ---------- */

	function send() {
		const ta = $('composer-text');
		const text = ta.value;
		const err = $('composer-error');
		setT(err, null);
		if (!text.trim())
			return;
		if (new TextEncoder().encode(text).length > TEXT_MAX) {
			setT(err, 'composer.errTooLong', { max: TEXT_MAX });
			return;
		}
		if (!state.live) {
			setT(err, 'composer.errOffline');
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
			destination: r.dm ? `${D.app}/dm/${r.dm}` : D.app + '/chat/room/' + r.id,
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
			const status = setT(el('button', 'link-btn status'), 'msg.retry');
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

	/* A server whose front holds streams back (Apache mod_fcgid with only
	 * .htaccess) says "streaming":false in its /info: ask sockjs-client for
	 * polling at once instead of letting it try each streaming transport
	 * in turn.  Read once, after /api/config named the endpoint; the first
	 * connection waits for it (3 s at most, then sockjs-client chooses). */
	let steered = [];
	let steerAsked = null;
	const steerReady = () => steerAsked || (steerAsked = Promise.race([
		fetch(API(D.endpoint) + '/info', { cache: 'no-store' }).then((r) => r.json()).then((info) => {
			if (info && info.streaming === false)
				steered = [...(info.websocket ? ['websocket'] : []), 'xhr-polling'];
		}).catch(() => {}),
		new Promise((resolve) => setTimeout(resolve, 3000)),
	]));

	function sockjsOptions() {
		if (forced.length)
			return { transports: forced };
		/* There a process is started for a request when none is idle
		 * (mod_fcgid waits a second at a time for one): give the open
		 * frame time rather than failing over and reconnecting later. */
		return steered.length ? { transports: steered, timeout: 4000 } : {};
	}

	function connect() {
		const a = state.auth;
		const headers = a.mode === 'token' ? { login: a.user, passcode: a.token } : { login: a.user || 'guest' };
		state.attempts = 0;
		state.everConnected = false;
		if (forced.length)
			setConn('connecting', 'conn.connectingVia', { transports: forced.join(', ') });
		else
			setConn('connecting', 'conn.connecting');
		const client = new StompJs.Client({
			webSocketFactory: () => new SockJS(API(D.endpoint), null, sockjsOptions()),
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
			if (state.failed)
				setConn('failed', 'conn.failedRetrying', { msg: state.failed });
			else if (state.everConnected)
				setConn('reconnecting', 'conn.reconnectingAttempt', { n: state.attempts });
		};
		client.onConnect = onConnected;
		client.onStompError = onStompError;
		client.onWebSocketClose = onClosed;
		state.client = client;
		steerReady().then(() => {
			if (state.client === client)
				client.activate();
		});
	}

	function onConnected(frame) {
		state.socketConnected = true;
		state.gen++;
		state.live = true;
		state.attempts = 0;
		state.everConnected = true;
		state.me = frame.headers['user-name'] || (state.auth && state.auth.user) || state.me;
		showMe();
		$('me-avatar').replaceWith(Object.assign(avatar(state.me, true), { id: 'me-avatar' }));
		$('me-box').hidden = false;
		state.failed = null;
		setConn('live', 'conn.live', { transport: transportName().toUpperCase() });
		document.body.dataset.transport = transportName();
		const c = state.client;
		if (state.app) {
			c.subscribe(D.topic + '/rooms', (m) => {
				let x = null;
				try { x = JSON.parse(m.body); } catch (e) { /* ignore */ }
				if (x && x.type === 'DELETED')
					roomDeleted(x.room, x.user);
				else if (x)
					addRoom(x);
			}, { id: 'rooms' });
			/* A SEND refused for its rate (db/broker.h): nothing was
			 * stored; say how long to wait. */
			c.subscribe(D.userQueue + '/errors', (m) => {
				let x = null;
				try { x = JSON.parse(m.body); } catch (e) { /* ignore */ }
				if (x && x.error === 'rate limited')
					setT($('composer-error'), 'composer.errRate',
						{ s: Math.max(1, Math.ceil((Number(x.retry_after_ms) || 0) / 1000)) });
				else if (x && x.error)
					setT($('composer-error'), 'server.error', { msg: x.error });
			}, { id: 'errors' });
			if (canDm()) {
				c.subscribe(D.userQueue + '/dm', onDmFrame, { id: 'dm' });
				fetchDms();
			}
			/* A long list comes in several MESSAGEs: each adds its rooms. */
			c.subscribe(D.app + '/rooms', (m) => {
				let list = [];
				try { list = JSON.parse(m.body); } catch (e) { /* empty */ }
				if (Array.isArray(list))
					for (const x of list)
						addRoom(x);
			}, { id: 'r' + (++state.subSeq) });
		}
		for (const r of state.rooms.values()) {
			r.loading = false;
			if (r.dm) {
				/* What came while away: the history again (ids dedupe). */
				r.historyLoaded = false;
				if (r.id === state.current && canDm())
					loadHistory(r);
			} else if (r.joined) {
				subscribeRoom(r);
			}
		}
		const cur = state.rooms.get(state.current);
		if (cur && state.app)
			fetchPresence(cur);
		if (cur)
			updateTop(cur);
	}

	function onStompError(frame) {
		const msg = frame.headers.message || t('server.refused');
		if (!state.socketConnected) {
			/* Refused at CONNECT: wrong or expired credentials, or no guests. */
			state.client.deactivate();
			signOut(false);
			showAuthError('auth.errRefused', { msg });
			return;
		}
		/* The server ends the session after an ERROR: the page is not
		 * live any more, whatever the socket says until it closes. */
		state.live = false;
		state.failed = msg;
		if (state.pendingRoom) {
			state.pendingRoom(new Error(msg));
			state.pendingRoom = null;
		}
		setT($('composer-error'), 'server.error', { msg });
		setConn('failed', 'conn.failed', { msg });
		/* A room deleted while this page was away: forget it, or every
		 * reconnect would subscribe to it and fail again. */
		const gone = /^no room ([A-Za-z0-9_-]+)$/.exec(msg);
		if (gone && gone[1] !== 'general')
			roomDeleted(gone[1], '');
	}

	function onClosed() {
		if (state.pendingRoom) {
			state.pendingRoom(new Error(t('room.errOffline')));
			state.pendingRoom = null;
		}
		if (!state.live && state.everConnected && !state.socketConnected)
			return;
		state.socketConnected = false;
		state.live = false;
		state.gen++;
		failPending();
		if (state.client && state.client.active)
			setConn(state.failed ? 'failed' : 'reconnecting',
				state.failed ? 'conn.failedRetrying' : 'conn.reconnecting', { msg: state.failed });
	}

	/* ---------- sign in / out ---------- */

	let authMode = 'login';

	function setAuthMode(mode) {
		authMode = mode;
		for (const b of document.querySelectorAll('.segmented button'))
			b.setAttribute('aria-pressed', String(b.dataset.mode === mode));
		const guest = mode === 'guest';
		$('auth-password-row').hidden = guest;
		$('auth-display-row').hidden = mode !== 'signup';
		$('auth-password').required = !guest;
		$('auth-password').autocomplete = mode === 'signup' ? 'new-password' : 'current-password';
		$('auth-name').required = !guest || !state.app;
		setT($('auth-submit'), mode === 'signup' ? 'auth.submitSignup' : guest ? 'auth.submitGuest' : 'auth.submitLogin');
		setT($('auth-name-hint'), guest && state.app ? 'auth.hintGuest' : 'auth.hintName');
		showAuthError(null);
	}

	function showAuthError(key, args) {
		setT($('auth-error'), key, args);
	}

	async function submitAuth(ev) {
		ev.preventDefault();
		const name = $('auth-name').value.trim();
		const password = $('auth-password').value;
		showAuthError(null);
		if (name && !NAME_RE.test(name))
			return showAuthError('auth.errName');
		if (authMode !== 'guest') {
			if (!name)
				return showAuthError('auth.errNoName');
			if (password.length < 8)
				return showAuthError('auth.errPassword');
		} else if (!name && !state.app) {
			return showAuthError('auth.errNoGuestName');
		}
		const btn = $('auth-submit');
		btn.disabled = true;
		try {
			if (authMode === 'guest') {
				state.auth = { mode: 'guest', user: name || 'guest' };
				store.set('auth', state.auth, true);
			} else {
				const display = $('auth-display').value.trim();
				if (authMode === 'signup')
					await api('POST', '/api/users', display ? { name, password, display_name: display } : { name, password });
				const t = await api('POST', '/api/login', { name, password });
				state.auth = { mode: 'token', user: t.user || name, token: t.token, expires: t.expires,
					display: t.display_name || '', admin: t.admin === true };
				store.set('auth', state.auth, false);
			}
			$('auth-password').value = '';
			enterChat();
		} catch (e) {
			if (e.status === 401)
				showAuthError('auth.errWrong');
			else
				setRaw($('auth-error'), e.message);
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
		setConn('idle', 'conn.idle');
	}

	/* ---------- profile ---------- */

	/* Who is signed in: the display name, with the login as its title. */
	function showMe() {
		const display = (state.auth && state.auth.display) || '';
		$('me-name').textContent = display || state.me || '';
		$('me-name').title = state.me ? '@' + state.me : '';
		const token = !!(state.auth && state.auth.mode === 'token');
		$('profile-form').hidden = !token;
		$('ban-form').hidden = !(token && state.auth.admin);
		if (token && document.activeElement !== $('profile-display'))
			$('profile-display').value = display;
	}

	/* Admins ban (submit) or unban a user by login name. */
	async function banUser(ev, ban) {
		if (ev)
			ev.preventDefault();
		const user = $('ban-name').value.trim();
		const status = $('ban-status');
		setT(status, null);
		if (!user)
			return;
		try {
			if (ban)
				await api('POST', '/api/bans', { name: user }, state.auth.token);
			else
				await api('DELETE', '/api/bans/' + encodeURIComponent(user), undefined, state.auth.token);
			$('ban-name').value = '';
			setT(status, ban ? 'admin.banned' : 'admin.unbanned', { user });
		} catch (e) {
			setRaw(status, e.message);
		}
	}

	async function saveProfile(ev) {
		ev.preventDefault();
		const err = $('profile-error');
		setT(err, null);
		try {
			const u = await api('POST', '/api/users/me', { display_name: $('profile-display').value.trim() }, state.auth.token);
			state.auth.display = u.display_name || '';
			store.set('auth', state.auth, false);
			$('profile-display').blur();
			showMe();
		} catch (e) {
			setRaw(err, e.message);
		}
	}

	/* ---------- rooms form, drawer ---------- */

	async function createRoom(ev) {
		ev.preventDefault();
		const input = $('room-name');
		/* Any script (core/names.h); a broker without the chat
		 * application names its topics, so ids only there. */
		const name = input.value.trim().normalize('NFC');
		const err = $('room-error');
		setT(err, null);
		if (!name || [...name].length > 64 || (!state.app && !ROOM_RE.test(name))) {
			setT(err, 'room.errName');
			return;
		}
		const known = state.app ? findRoomByName(name) : null;
		if (known || !state.app) {
			input.value = '';
			showRoom(known ? known.id : name);
			closeDrawer();
			return;
		}
		let made = null;
		try {
			if (state.auth.mode === 'token') {
				made = addRoom(await api('POST', '/api/rooms', { name }, state.auth.token));
			} else if (state.live) {
				/* The new room's id comes on /topic/rooms, maybe after the receipt. */
				state.wantRoom = nameKey(name);
				await new Promise((resolve, reject) => {
					const receipt = 'c' + (++state.subSeq);
					state.pendingRoom = reject;
					state.client.watchForReceipt(receipt, () => { state.pendingRoom = null; resolve(); });
					state.client.publish({ destination: D.app + '/rooms', body: JSON.stringify({ name }), headers: { receipt, 'content-type': 'application/json' } });
				});
			} else {
				throw Object.assign(new Error(t('room.errOffline')), { key: 'room.errOffline' });
			}
			input.value = '';
			made = made || findRoomByName(name);
			if (made) {
				state.wantRoom = null;
				showRoom(made.id);
			}
			closeDrawer();
		} catch (e) {
			state.wantRoom = null;
			if (e.status === 409 || e.key)
				setT(err, e.status === 409 ? 'room.errExists' : e.key);
			else
				setRaw(err, e.message);
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
		applyLang(pickLang());
		$('lang').addEventListener('change', (e) => {
			store.set('lang', e.target.value);
			applyLang(e.target.value);
		});
		if (typeof SockJS === 'undefined' || typeof StompJs === 'undefined') {
			setConn('failed', 'conn.noLibs');
			return;
		}
		for (const b of document.querySelectorAll('.segmented button'))
			b.addEventListener('click', () => setAuthMode(b.dataset.mode));
		$('auth-form').addEventListener('submit', submitAuth);
		$('logout').addEventListener('click', () => signOut(true));
		$('room-form').addEventListener('submit', createRoom);
		$('profile-form').addEventListener('submit', saveProfile);
		$('ban-form').addEventListener('submit', (e) => banUser(e, true));
		$('unban').addEventListener('click', () => banUser(null, false));
		$('lists').addEventListener('click', (e) => {
			const b = e.target.closest && e.target.closest('.msg .del');
			if (b)
				deleteMessage(b.closest('.msg'));
		});
		$('rooms-toggle').addEventListener('click', toggleDrawer);
		$('scrim').addEventListener('click', closeDrawer);
		document.addEventListener('keydown', (e) => {
			if (e.key === 'Escape' && document.body.classList.contains('rooms-open')) {
				closeDrawer();
				$('rooms-toggle').focus();
			}
		});
		$('delete-room').addEventListener('click', deleteRoom);
		$('leave-room').addEventListener('click', () => {
			const r = state.rooms.get(state.current);
			if (r)
				leaveRoom(r);
		});
		$('composer').addEventListener('submit', (e) => { e.preventDefault(); send(); });
		const ta = $('composer-text');
		/* An input method (Korean, Japanese, Chinese) composes a syllable
		 * until compositionend; the Enter that ends the composition is the
		 * IME's, not a send: Chromium and Firefox flag its keydown
		 * isComposing, Safari sends it after compositionend with keyCode 229.
		 * Sending there would post half a syllable and leave the rest in
		 * the box. */
		let composing = false;
		ta.addEventListener('compositionstart', () => { composing = true; });
		ta.addEventListener('compositionend', () => { composing = false; });
		ta.addEventListener('blur', () => { composing = false; });
		ta.addEventListener('keydown', (e) => {
			if (e.key !== 'Enter' || e.shiftKey || composing || e.isComposing || e.keyCode === 229)
				return;
			e.preventDefault();
			send();
		});
		ta.addEventListener('input', autosize);
		ta.addEventListener('input', typed);
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
				if (r)
					markRead(r);
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
			setT($('auth-intro'), 'auth.introGuest');
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

	window.chat = { state, i18n }; /* for the console and the browser tests */
	start();
})();
