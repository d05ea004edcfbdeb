import {
  ANONYMOUS_ID_COOKIE,
  ANONYMOUS_ID_MAX_AGE_SECONDS,
  ANONYMOUS_ID_PATTERN,
} from '../../contracts/anonymous-id';
import { readCookie, readItem, removeItem, writeCookie, writeItem } from './lib/storage';
import { uuid } from './lib/uuid';

const USER_ID_KEY = 'rx_user';
const USER_SIGNATURE_KEY = 'rx_user_sig';

/** Who the shopper is: a random anonymous id and, after `rx.identify`, the shop's user id. */
export interface Identity {
  getAnonymousId(): string;
  getUserId(): string | null | undefined;
  /**
   * The shop server's signature of the user id (needed when the worker sets `USER_ID_SECRET`); '-'
   * once the worker refused it (api.ts): API calls then go without the user id, until the next one.
   */
  userSignature(): string | null | undefined;
  /** An empty id forgets the user id and its signature (kept in memory and, if allowed, in storage). */
  setUserId(userId?: string | null, signature?: string | null): void;
  /** Forgets both ids (consent withdrawn). */
  forget(): void;
  /**
   * True while the anonymous id was made on this page and no event of this page has reached the worker:
   * nothing can be stored under it yet, so the worker may skip its per-shopper cache (`x-rx-uid-new`).
   */
  unknownToWorker(): boolean;
  /** Called when the worker accepted events: from now on it may hold something for this id. */
  eventsDelivered(): void;
}

/**
 * Ids live in the first-party `rx_uid` cookie and localStorage once storage is allowed; before
 * that (consent pending) the anonymous id exists in memory only and dies with the page.
 */
export function createIdentity(): Identity {
  let anonymous: string | undefined;
  let user: string | null | undefined;
  let signature: string | null | undefined;
  /** Made on this page, and no event under it accepted yet. */
  let madeHere = false;
  /** The `rx_uid` this page last wrote ('' before its first write, which no cookie reads as). */
  let written = '';
  return {
    getAnonymousId() {
      const stored = readCookie(ANONYMOUS_ID_COOKIE);
      if (stored && ANONYMOUS_ID_PATTERN.test(stored)) anonymous = stored;
      if (anonymous === undefined) {
        anonymous = uuid();
        madeHere = true;
      }
      // Written once per page even when the cookie holds it already: each write renews its expiry,
      // which browsers count from the write (Chromium caps it at 400 days, Safari a script's cookie at
      // 7), so a returning shopper keeps the id. Again whenever the cookie is not what was written
      // (deleted, or another tab's). (Until storage is allowed writeCookie writes nothing and readCookie
      // reads nothing: the first call once it is allowed writes.)
      if (stored !== written) {
        written = anonymous;
        writeCookie(ANONYMOUS_ID_COOKIE, anonymous, ANONYMOUS_ID_MAX_AGE_SECONDS);
      }
      return anonymous;
    },
    getUserId: () => user ?? readItem(USER_ID_KEY),
    userSignature: () => signature ?? readItem(USER_SIGNATURE_KEY),
    setUserId(userId, userSignature) {
      user = userId;
      signature = userSignature;
      // No id (`rx.identify(null)`, logout): the stored one and its signature are forgotten.
      if (userId) writeItem(USER_ID_KEY, userId);
      else removeItem(USER_ID_KEY);
      if (userSignature) writeItem(USER_SIGNATURE_KEY, userSignature);
      else removeItem(USER_SIGNATURE_KEY);
    },
    forget() {
      anonymous = user = signature = undefined;
      madeHere = false;
      writeCookie(ANONYMOUS_ID_COOKIE, '', 0);
      removeItem(USER_ID_KEY);
      removeItem(USER_SIGNATURE_KEY);
    },
    unknownToWorker: () => madeHere,
    eventsDelivered() {
      madeHere = false;
    },
  };
}
