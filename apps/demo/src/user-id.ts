import { BadRequestException } from '@nestjs/common';

/**
 * The one userId rule of every route (login, tokens): 1 to 128 characters from ASCII letters,
 * digits, "_", ".", "@" and "-". Narrow on purpose: ids end up in Redis key names (the principal
 * index, the token indexes), so spaces, braces and glob characters never reach them.
 */
export const USER_ID_RULE = 'userId must be 1 to 128 characters from ASCII letters, digits, "_", ".", "@" and "-"';

const USER_ID = /^[A-Za-z0-9_.@-]{1,128}$/;

/** `value` as a userId, or a 400 naming the rule. */
export function parseUserId(value: unknown): string {
  if (typeof value !== 'string' || !USER_ID.test(value)) {
    throw new BadRequestException(`${USER_ID_RULE}; received ${value === undefined ? 'none' : JSON.stringify(value)?.slice(0, 60)}.`);
  }
  return value;
}
