/**
 * The Content-Security-Policy decision for a page a shared cache may keep (csp.ts): what lets our
 * tags in there without a nonce of ours, the one value every shopper that cache serves would get.
 */
import { RX_DEFAULT_STYLES } from '../../../contracts/markup-styles';
import type { Directive } from './csp-policy';

/**
 * A page whose copy a cache shared between shoppers may store and hand to others (an untracked
 * shopper's page keeps the origin's caching: proxy.ts). A nonce of ours in it would be one value for
 * every shopper that cache serves, readable by anyone, which is what a nonce must not be. So there our
 * stylesheet is let in by its hash (a constant text: nothing secret), and our script by the nonce the
 * shop's own policy already names (already in that copy), or by a fresh nonce only in a header, the
 * page then going out `private` (needsPrivateCopy).
 */
export interface SharedCopy {
  /** `'sha256-…'` of the stylesheet the worker injects (defaultStylesHash). */
  styleHash: string;
}

let stylesHash: Promise<string> | undefined;

/**
 * The hash source of `<style data-rx-styles>`'s text (RX_DEFAULT_STYLES, ASCII, so written the same on
 * pages in any charset), computed once per isolate (crypto.subtle is async, and not for global scope).
 */
export function defaultStylesHash(): Promise<string> {
  stylesHash ??= crypto.subtle
    .digest('SHA-256', new TextEncoder().encode(RX_DEFAULT_STYLES))
    .then((digest) => `'sha256-${btoa(String.fromCharCode(...new Uint8Array(digest)))}'`);
  return stylesHash;
}

/** A `'nonce-…'` source's value, when it is CSP's base64-value (so also safe in a `nonce="…"`). */
export function nonceValues(directive: Directive): string[] {
  return directive.sources.flatMap((source) => {
    const value = /^'nonce-([A-Za-z0-9+/_-]+={0,2})'$/i.exec(source)?.[1];
    return value === undefined ? [] : [value];
  });
}

/** A nonce every one of these directives already names (the shop's own), if there is one. */
export function sharedNonce(directives: readonly Directive[]): string | undefined {
  const [first, ...rest] = directives;
  if (!first) return undefined;
  return nonceValues(first).find((value) =>
    rest.every((directive) => nonceValues(directive).includes(value)),
  );
}

export const SHARED_NONCE_REASON =
  'a nonce added here would be the same for every shopper a shared cache serves';
