import { encodeKeyPart } from '@tidykv/core';
import type { Classified, IndexRule, InspectedKey } from './layout.js';

/** Translates a SCAN MATCH glob into an anchored regex whose groups are the `*` and `?` parts. */
export function globToRegex(glob: string): RegExp {
  let re = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '\\' && i + 1 < glob.length) re += glob[++i].replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (c === '*') re += '(.*?)';
    else if (c === '?') re += '(.)';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end === -1) re += '\\[';
      else {
        const body = glob.slice(i + 1, end);
        re += `[${body.startsWith('^') ? `^${body.slice(1)}` : body}]`;
        i = end;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`${re}$`, 's');
}

/** Fills an {@link IndexRule} target template; see `IndexRule.target`. */
export function renderTarget(template: string, member: string, captures: readonly string[]): string {
  return template.replace(/\$(member_encoded|member\[(\d*):(\d*)\]|member|\d+)/g, (_, token: string, from?: string, to?: string) => {
    if (token === 'member') return member;
    if (token === 'member_encoded') return encodeKeyPart(member);
    if (token.startsWith('member[')) return member.slice(from ? Number(from) : 0, to ? Number(to) : undefined);
    return captures[Number(token) - 1] ?? '';
  });
}

/**
 * Index rules (tidykv's own, see tidykv-session.layout.ts and tidykv-repository.layout.ts, and
 * any the user adds): a SET or ZSET matching a rule's glob is an index whose members point at
 * the rule's target. The first matching rule wins.
 */
export class IndexRuleLayout {
  private readonly compiled: { rule: IndexRule; regex: RegExp }[];

  constructor(rules: readonly IndexRule[]) {
    this.compiled = rules.map((rule) => ({ rule, regex: globToRegex(rule.match) }));
  }

  /** The index `k` is under the first rule it matches, or undefined. */
  classify(k: InspectedKey): Classified {
    const { key, type, pttl } = k;
    if (type !== 'set' && type !== 'zset') return undefined;
    for (const { rule, regex } of this.compiled) {
      const m = regex.exec(key);
      if (!m) continue;
      const captures = m.slice(1);
      const tpl = rule.target;
      const target =
        tpl === undefined ? undefined : typeof tpl === 'function' ? (member: string) => tpl(member, captures) : (member: string) => renderTarget(tpl, member, captures);
      return { container: { kind: 'index', rule: rule.name, key, type, pttl, target, scoreIsExpiry: type === 'zset' && rule.scoreIsExpiry !== false } };
    }
    return undefined;
  }
}
