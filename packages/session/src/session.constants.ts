/** Injection token of the validated {@link SessionModuleOptions}. */
export const SESSION_MODULE_OPTIONS = Symbol('tidykv:SessionModuleOptions');

/** @internal Injection token of the session runtime (options, repository, lazy buffer). */
export const SESSION_RUNTIME = Symbol('tidykv:SessionRuntime');

/** @internal Property under which the middleware puts the request's session on the raw request. */
export const SESSION_REQUEST_KEY = Symbol.for('tidykv:session');
