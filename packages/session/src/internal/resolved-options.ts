import type { ResolvedSessionOptions } from '../session.options.js';

/** Cookie settings with defaults applied. */
export type ResolvedCookieOptions = ResolvedSessionOptions['cookie'];
