import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import { TidyKvConfigError } from './tidykv.errors.js';

/**
 * A Lua script compiled at build time from `<verbNoun>-<numKeys>.lua` by `scripts/compile-lua.mjs`
 * (includes resolved, nothing read from disk at run time).
 */
export interface LuaSource {
  /** `verbNoun` from the file name, e.g. `saveSession`. */
  readonly name: string;
  /** How many leading arguments are KEYS, or `'n'` for a script called with a variable number of keys. */
  readonly keys: number | 'n';
  /** SHA-1 of {@link lua}: what EVALSHA names it by, and the version part of its command name. */
  readonly sha1: string;
  /** The source with its includes resolved. */
  readonly lua: string;
}

/** The KEYS and ARGV of one call, as a script's argument builder lays them out. */
export interface LuaCall {
  readonly keys: readonly string[];
  readonly args: readonly (string | number)[];
}

type Target = Redis | Cluster | ChainableCommander;
type Callable = Record<string, (...a: unknown[]) => Promise<unknown>>;

/**
 * One script with a typed argument builder: call sites pass a named input, never a positional
 * array. Registered through ioredis `defineCommand`, which sends EVAL once per connection and
 * EVALSHA afterwards (EVAL again on NOSCRIPT), so scripts survive SCRIPT FLUSH, restarts and
 * failovers. The command name carries the script's hash, so two tidykv versions sharing a
 * client never run each other's scripts.
 *
 * @typeParam Input - what the builder takes.
 * @typeParam Reply - the raw reply, before the package's reply mapper reads it.
 */
export class TidyKvScript<Input, Reply = unknown> {
  /** The ioredis command name, `tkv_<namespace>_<name>_<sha1 prefix>`. */
  readonly command: string;

  constructor(
    /** The compiled source. */
    readonly source: LuaSource,
    namespace: string,
    private readonly build: (input: Input) => LuaCall,
  ) {
    if (!/^[a-z][a-z0-9]*$/.test(namespace)) throw new TidyKvConfigError('lua', `Lua namespace must be lower-case letters and digits, received "${namespace}".`);
    this.command = `tkv_${namespace}_${source.name}_${source.sha1.slice(0, 8)}`;
  }

  /** The script's name, from its file. */
  get name(): string {
    return this.source.name;
  }

  /** Defines the command on `client`. Idempotent, so several modules may share one client. */
  attach(client: Redis | Cluster): void {
    if (typeof (client as unknown as Callable)[this.command] === 'function') return;
    client.defineCommand(this.command, this.source.keys === 'n' ? { lua: this.source.lua } : { numberOfKeys: this.source.keys, lua: this.source.lua });
  }

  /** The KEYS and ARGV `input` becomes (for tests and for callers that batch). */
  call(input: Input): LuaCall {
    const call = this.build(input);
    if (this.source.keys !== 'n' && call.keys.length !== this.source.keys) {
      throw new TidyKvConfigError('lua', `Lua script ${this.name} takes ${this.source.keys} keys, its builder produced ${call.keys.length}.`);
    }
    return call;
  }

  /** Runs the script on a client (after {@link attach}) or queues it on a pipeline made from one. */
  run(target: Target, input: Input): Promise<Reply> {
    const { keys, args } = this.call(input);
    const fn = (target as unknown as Callable)[this.command];
    if (typeof fn !== 'function') throw new TidyKvConfigError('lua', `Lua script ${this.name} is not attached to this client: call attach() first.`);
    const argv = this.source.keys === 'n' ? [keys.length, ...keys, ...args] : [...keys, ...args];
    return fn.apply(target, argv) as Promise<Reply>;
  }

  /**
   * Runs the script with EVALSHA_RO, which replicas and read-only ACL users accept. When the
   * server does not know it (NOSCRIPT: a restart, SCRIPT FLUSH, a new replica) the call is sent
   * once more as EVAL_RO with the source, which also caches the script. Not SCRIPT LOAD: that is
   * an `@scripting` command a read-only ACL user (`+@read +evalsha_ro +eval_ro`) may not run.
   * Only for scripts that write nothing.
   */
  async runReadOnly(client: Redis, input: Input): Promise<Reply> {
    const { keys, args } = this.call(input);
    const rest = [keys.length, ...keys, ...args];
    try {
      return (await client.call('EVALSHA_RO', this.source.sha1, ...rest)) as Reply;
    } catch (err) {
      if (!(err instanceof Error) || !err.message.includes('NOSCRIPT')) throw err;
      return (await client.call('EVAL_RO', this.source.lua, ...rest)) as Reply;
    }
  }
}

/** Defines every script on `client` (see {@link TidyKvScript.attach}). */
export function attachScripts(client: Redis | Cluster, scripts: Iterable<TidyKvScript<never, unknown>>): void {
  for (const s of scripts) s.attach(client);
}

/**
 * Untyped access to a set of compiled scripts by name, for tests and tools that drive scripts
 * with raw KEYS and ARGV. Library code uses {@link TidyKvScript} with a typed builder instead.
 */
export class LuaScriptSet<Name extends string = string> {
  private readonly scripts = new Map<string, TidyKvScript<LuaCall>>();

  /** @param sources - a generated `scripts.generated.ts` module (or any map of compiled sources). */
  constructor(sources: Readonly<Record<string, LuaSource>>, namespace: string) {
    for (const s of Object.values(sources)) this.scripts.set(s.name, new TidyKvScript<LuaCall>(s, namespace, (c) => c));
  }

  /** Names of the scripts. */
  get names(): string[] {
    return [...this.scripts.keys()];
  }

  /** The script called `name`; throws when there is none. */
  get(name: Name): TidyKvScript<LuaCall> {
    const s = this.scripts.get(name);
    if (!s) throw new TidyKvConfigError('lua', `No Lua script named ${name}; known: ${this.names.join(', ')}.`);
    return s;
  }

  /** Defines every script as a command on `client`. */
  attach(client: Redis | Cluster): void {
    attachScripts(client, this.scripts.values());
  }

  /** Runs script `name` with raw KEYS and ARGV. */
  run<T = unknown>(target: Target, name: Name, keys: readonly string[], args: readonly (string | number)[]): Promise<T> {
    return this.get(name).run(target, { keys, args }) as Promise<T>;
  }
}
