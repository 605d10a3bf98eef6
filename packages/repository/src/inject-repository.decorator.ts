import { Inject } from '@nestjs/common';
import { TidyKvConfigError } from '@tidykv/core';
import type { EntityClass } from './entity.types.js';

const tokens = new WeakMap<object, symbol>();

/**
 * The injection token of the repository of `entity`: use it to provide a test double,
 * `{ provide: getRepositoryToken(RefreshToken), useValue: fake }`.
 */
export function getRepositoryToken(entity: EntityClass): symbol {
  if (typeof entity !== 'function') {
    throw new TidyKvConfigError(
      'entity',
      `getRepositoryToken() received ${entity === undefined ? 'undefined' : typeof entity} instead of an entity class. ` +
        'This usually means a circular import: the entity file imports (directly or not) the file that injects its repository. Move the entity to its own file.',
    );
  }
  let t = tokens.get(entity);
  if (!t) {
    t = Symbol(`tidykv:repository:${entity.name}`);
    tokens.set(entity, t);
  }
  return t;
}

/**
 * Injects the repository of `entity` registered with `RepositoryModule.forFeature`. Throws at
 * decoration time when `entity` is undefined, which is what a circular import produces.
 */
export function InjectRepository(entity: EntityClass): PropertyDecorator & ParameterDecorator {
  return Inject(getRepositoryToken(entity));
}
