import { startSharedHost } from './sharedhost.mjs';
const h = await startSharedHost(process.argv[2]);
console.log(h.sockjs);
await new Promise((r) => setTimeout(r, Number(process.argv[3]) * 1000));
await h.stop();
