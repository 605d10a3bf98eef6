import { Redis } from 'ioredis';
import { readFileSync } from 'node:fs';
const r = new Redis(process.argv[2]);
const lua = readFileSync('packages/audit/src/lua/inspectKeys-n.lua', 'utf8');
const keys = []; let c = '0';
do { const [n, k] = await r.scan(c, 'COUNT', 1000); c = n; keys.push(...k); } while (c !== '0' && keys.length < 100000);
const stat = async () => Object.fromEntries([...(await r.info('commandstats')).matchAll(/cmdstat_(\S+?):calls=(\d+),usec=(\d+)/g)].map(m => [m[1], Number(m[3])]));
for (let round = 0; round < 2; round++) {
await r.config('RESETSTAT');
for (let i = 0; i < keys.length; i += 200) await r.eval(lua, keys.slice(i, i+200).length, ...keys.slice(i, i+200), '1');
let s = await stat(); const a = s.eval; 
await r.config('RESETSTAT');
for (let i = 0; i < keys.length; i += 200) { await r.eval(lua, keys.slice(i, i+200).length, ...keys.slice(i, i+200), '0'); }
s = await stat(); const a0 = s.eval;
await r.config('RESETSTAT');
for (let i = 0; i < keys.length; i += 200) {
  const part = keys.slice(i, i+200); const p = r.pipeline(); for (const k of part) p.type(k).pttl(k); const res = await p.exec();
  const q = r.pipeline(); part.forEach((k, j) => { const t = res[2*j][1]; q.call(t === 'string' ? 'STRLEN' : t === 'hash' ? 'HLEN' : t === 'set' ? 'SCARD' : 'ZCARD', k); }); await q.exec();
}
s = await stat(); const b = Object.entries(s).filter(([k]) => k !== 'config' && k!=='info').reduce((n, [, v]) => n + v, 0);
await r.config('RESETSTAT');
for (let i = 0; i < keys.length; i += 200) { const p = r.pipeline(); for (const k of keys.slice(i, i+200)) p.call('MEMORY','USAGE',k); await p.exec(); }
s = await stat(); const m = s['memory|usage'];
console.log(`per key us: script(len) ${(a/keys.length).toFixed(2)} script(nolen) ${(a0/keys.length).toFixed(2)} pipelined type+pttl+len ${(b/keys.length).toFixed(2)} memory-usage ${(m/keys.length).toFixed(2)}`);
}
r.disconnect();
