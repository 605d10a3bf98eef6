/**
 * A class that can be an entity. Reads build instances without calling its constructor, so any
 * constructor signature works.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a constructor of any arity, as Nest's Type<T> does
export type EntityClass<T extends object = object> = abstract new (...args: any[]) => T;
