import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { TidyKvReply } from './tidykv.codes.js';

// The Lua side of the reply vocabulary (includes/codes.lua) must say what the enum says.
describe('reply codes', () => {
  it('codes.lua defines exactly the TidyKvReply values', () => {
    const lua = readFileSync(new URL('./lua/includes/codes.lua', import.meta.url), 'utf8');
    const defined = Object.fromEntries([...lua.matchAll(/^local ([A-Z]+) = (-?\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
    expect(defined).toEqual({ GONE: TidyKvReply.Gone, TAKEN: TidyKvReply.Taken, EXPIRED: TidyKvReply.Expired, STALE: TidyKvReply.Stale });
  });
});
