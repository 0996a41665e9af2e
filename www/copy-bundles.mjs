// copy-bundles.mjs - copies the prebuilt browser bundles of sockjs-client
// and @stomp/stompjs from node_modules/ into js/, where the page (and the
// SockJS iframe page, option sockjs_url) loads them.  Each sockjs-client
// (the page's, and the older ones installed under npm aliases) is also
// copied as js/sockjs-VERSION.min.js, which the iframe page loads for a
// page on that version (option sockjs_versions_url).  Run by `npm ci`
// (postinstall) and by `make www-bundles`; the copies are not committed.
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const bundles = [
	['sockjs-client/dist/sockjs.min.js', 'sockjs.min.js'],
	['@stomp/stompjs/bundles/stomp.umd.min.js', 'stomp.umd.min.js'],
];
for (const pkg of ['sockjs-client', 'sockjs-client-1.4', 'sockjs-client-1.5']) {
	const { version } = JSON.parse(readFileSync(path.join(here, 'node_modules', pkg, 'package.json'), 'utf8'));
	bundles.push([`${pkg}/dist/sockjs.min.js`, `sockjs-${version}.min.js`]);
}
mkdirSync(path.join(here, 'js'), { recursive: true });
for (const [from, to] of bundles)
	copyFileSync(path.join(here, 'node_modules', from), path.join(here, 'js', to));
console.log(`copy-bundles: ${bundles.map((b) => `js/${b[1]}`).join(', ')}`);
