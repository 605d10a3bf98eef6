import { TidyKvScript } from '@tidykv/core';
import * as lua from '../lua/scripts.generated.js';
import { idleChangeArg } from './session-delta.js';
import type { SessionDelta } from './session-repository.js';

// The typed argument builders of the session scripts: the only code that knows each script's
// KEYS and ARGV layout (documented in the header of its .lua file).

const NS = 'session';

/** Timeouts every script that computes a TTL needs. */
export interface Timeouts {
  readonly idleMs: number;
  readonly absoluteMs: number;
}

function deltaArgs(d: SessionDelta): (string | number)[] {
  const dels = [...d.dels].filter((f) => !d.sets.has(f));
  const out: (string | number)[] = [d.sets.size, dels.length];
  for (const [f, v] of d.sets) out.push(f, v);
  out.push(...dels);
  return out;
}

/** loadSession-2: read and, when due, touch. */
export const loadSession = new TidyKvScript<{ key: string; index: string; timeouts: Timeouts; touchMs: number; principalField: string; id: string }>(
  lua.loadSession,
  NS,
  (i) => ({ keys: [i.key, i.index], args: [i.timeouts.idleMs, i.timeouts.absoluteMs, i.touchMs, i.principalField, i.id] }),
);

/** createSession-2: store a new session with its TTL and index entry. */
export const createSession = new TidyKvScript<{
  key: string;
  index: string;
  timeouts: Timeouts;
  createdAt: number;
  idleOverrideMs: number | undefined;
  indexMember: string;
  attributes: ReadonlyMap<string, string>;
}>(lua.createSession, NS, (i) => {
  const args: (string | number)[] = [i.timeouts.idleMs, i.timeouts.absoluteMs, i.createdAt, i.idleOverrideMs ?? 0, i.indexMember];
  for (const [f, v] of i.attributes) args.push(f, v);
  return { keys: [i.key, i.index], args };
});

/** saveSessionDelta-1: the common write, a delta that keeps the TTL (one HSET inside). */
export const saveSessionDelta = new TidyKvScript<{ key: string; createdAt: number; delta: SessionDelta }>(lua.saveSessionDelta, NS, (i) => ({
  keys: [i.key],
  args: [i.createdAt, ...deltaArgs(i.delta)],
}));

/** saveSession-2: a delta that also re-arms the TTL and the index, touches when due, changes the idle timeout. */
export const saveSession = new TidyKvScript<{
  key: string;
  index: string;
  createdAt: number;
  timeouts: Timeouts;
  touchMs: number;
  principalField: string;
  id: string;
  delta: SessionDelta;
}>(lua.saveSession, NS, (i) => ({
  keys: [i.key, i.index],
  args: [i.createdAt, i.timeouts.idleMs, i.timeouts.absoluteMs, i.touchMs, i.principalField, i.id, idleChangeArg(i.delta.idle), ...deltaArgs(i.delta)],
}));

/** renameSession-4: move to a new id in the same slot, with a delta. */
export const renameSession = new TidyKvScript<{
  oldKey: string;
  newKey: string;
  oldIndex: string;
  newIndex: string;
  timeouts: Timeouts;
  principalField: string;
  oldId: string;
  newId: string;
  delta: SessionDelta;
}>(lua.renameSession, NS, (i) => ({
  keys: [i.oldKey, i.newKey, i.oldIndex, i.newIndex],
  args: [i.timeouts.idleMs, i.timeouts.absoluteMs, i.principalField, i.oldId, i.newId, idleChangeArg(i.delta.idle), ...deltaArgs(i.delta)],
}));

/** destroySession-2: delete with the index entry (index on only). */
export const destroySession = new TidyKvScript<{ key: string; index: string; principalField: string; id: string }>(lua.destroySession, NS, (i) => ({
  keys: [i.key, i.index],
  args: [i.principalField, i.id],
}));

/** incrementAttribute-1: HINCRBY only if the session exists. */
export const incrementAttribute = new TidyKvScript<{ key: string; field: string; by: number }>(lua.incrementAttribute, NS, (i) => ({
  keys: [i.key],
  args: [i.field, i.by],
}));

/** incrementAttributeOnce-2: the same, guarded by an operation token against re-sends. */
export const incrementAttributeOnce = new TidyKvScript<{ key: string; tokenKey: string; field: string; by: number; rememberMs: number }>(
  lua.incrementAttributeOnce,
  NS,
  (i) => ({ keys: [i.key, i.tokenKey], args: [i.field, i.by, i.rememberMs] }),
);

/** listPrincipalSessions-1: live members of a principal index, by the server's clock. */
export const listPrincipalSessions = new TidyKvScript<{ index: string }>(lua.listPrincipalSessions, NS, (i) => ({ keys: [i.index], args: [] }));

/** Every session script, for attaching to a client. */
export const SESSION_SCRIPTS = [loadSession, createSession, saveSessionDelta, saveSession, renameSession, destroySession, incrementAttribute, incrementAttributeOnce, listPrincipalSessions] as const;


// ---- legacy migration (SessionModule `legacy`) ----

/** migrateLegacySession-4: an express-session + connect-redis session becomes a tidykv one, compare-and-swap. */
export const migrateLegacySession = new TidyKvScript<{
  legacyKey: string;
  key: string;
  index: string;
  marker: string;
  legacyValue: string;
  id: string;
  timeouts: Timeouts;
  createdAt: number;
  indexMember: string;
  legacyExpiresAt: number;
  markerMinMs: number;
  attributes: ReadonlyMap<string, string>;
}>(lua.migrateLegacySession, NS, (i) => {
  const args: (string | number)[] = [i.legacyValue, i.id, i.timeouts.idleMs, i.timeouts.absoluteMs, i.createdAt, i.indexMember, i.legacyExpiresAt, i.markerMinMs];
  for (const [f, v] of i.attributes) args.push(f, v);
  return { keys: [i.legacyKey, i.key, i.index, i.marker], args };
});
