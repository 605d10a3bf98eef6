/** Injection token of the validated {@link RepositoryModuleOptions}. */
export const REPOSITORY_MODULE_OPTIONS = Symbol('tidykv:repository:options');

/** Injection token of the {@link RepositoryContext} shared by every repository of the app. */
export const REPOSITORY_CONTEXT = Symbol('tidykv:repository:context');
