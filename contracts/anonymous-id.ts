/**
 * The anonymous shopper id, shared by the worker (proxy mode issues it) and the storefront plugin
 * (script mode makes it): one id for a shopper across both modes. worker/src/shopper/anonymous-id.ts
 * says what it is and is not.
 */

/** The first-party cookie that holds it. */
export const ANONYMOUS_ID_COOKIE = 'rx_uid';

/** 400 days: the longest lifetime current browsers accept for a cookie. */
export const ANONYMOUS_ID_MAX_AGE_SECONDS = 400 * 24 * 60 * 60;

/** What either side issues, a lowercase UUID; anything else in the cookie or header is ignored. */
export const ANONYMOUS_ID_PATTERN = /^[\da-f]{8}(?:-[\da-f]{4}){3}-[\da-f]{12}$/;
