import type { IdleChange, SessionDelta } from './session-repository.js';

/** A delta that changes nothing. */
export const EMPTY_DELTA: SessionDelta = Object.freeze({ sets: new Map<string, string>(), dels: new Set<string>(), idle: 'keep' });

/** True when `delta` writes nothing. */
export function isEmptyDelta(delta: SessionDelta): boolean {
  return delta.sets.size === 0 && delta.dels.size === 0 && delta.idle === 'keep';
}

/** The attributes after `delta`: the one place a delta is applied to a map of attributes. */
export function applyDelta(attributes: ReadonlyMap<string, string>, delta: SessionDelta): Map<string, string> {
  const out = new Map(attributes);
  for (const [f, v] of delta.sets) out.set(f, v);
  for (const f of delta.dels) if (!delta.sets.has(f)) out.delete(f);
  return out;
}

/** `later` applied on top of `earlier`, as one delta. */
export function mergeDeltas(earlier: SessionDelta, later: SessionDelta): SessionDelta {
  const sets = new Map(earlier.sets);
  const dels = new Set(earlier.dels);
  for (const f of later.dels) {
    sets.delete(f);
    dels.add(f);
  }
  for (const [f, v] of later.sets) {
    sets.set(f, v);
    dels.delete(f);
  }
  return { sets, dels, idle: later.idle === 'keep' ? earlier.idle : later.idle };
}

/** The per-session idle override after `change` (undefined = the module default). */
export function idleAfter(stored: number | undefined, change: IdleChange): number | undefined {
  if (change === 'keep') return stored;
  return change === 'default' ? undefined : change;
}

/** The wire form of an idle change in the scripts: -1 keep, 0 back to the default, > 0 set (ms). */
export function idleChangeArg(change: IdleChange): number {
  return change === 'keep' ? -1 : change === 'default' ? 0 : change;
}
