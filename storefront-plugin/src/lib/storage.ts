/**
 * localStorage and the `rx_uid` cookie, both off until consent allows them (`data-consent="required"`
 * → no cookie and no storage before `rx.consent(true)`). Access can throw (Safari private mode,
 * sandboxed iframes, storage disabled), so every call is wrapped.
 */

/** True when storage may be used (set by allowStorage). */
export let allowed = true;

/** Switches persistent storage on or off; off also means nothing is read back. */
export function allowStorage(value: boolean): void {
  allowed = value;
}

/** The stored value; null or undefined when there is none, storage is disallowed or it throws. */
export function readItem(key: string): string | null | undefined {
  if (allowed) {
    try {
      return localStorage.getItem(key);
    } catch {
      // Unavailable: as if nothing were stored.
    }
  }
}

export function writeItem(key: string, value: string): void {
  if (!allowed) return;
  try {
    localStorage.setItem(key, value);
  } catch {
    // Quota exceeded or storage disabled: events still go out from memory.
  }
}

/** The keys in localStorage, even while storage is disallowed (to clean up); read them with readItem. */
export function storedKeys(): string[] {
  try {
    return Object.keys(localStorage);
  } catch {
    return [];
  }
}

/** Removes a key even while storage is disallowed: withdrawing consent must be able to clean up. */
export function removeItem(key: string): void {
  try {
    localStorage.removeItem(key);
  } catch {
    // Nothing to clean when storage is unavailable.
  }
}

export function readCookie(name: string, evenIfDisallowed?: boolean): string | undefined {
  // No explicit `return undefined` anywhere here (the size budget): falling off the end is undefined.
  if (allowed || evenIfDisallowed) {
    try {
      for (const part of document.cookie.split(';')) {
        const [key, value] = part.split('=');
        if (key?.trim() === name && value) return decodeURIComponent(value.trim());
      }
    } catch {
      // document.cookie throws in sandboxed documents.
    }
  }
}

/** Writes a first-party cookie for the shop's own site; `maxAge` 0 deletes it. */
export function writeCookie(name: string, value: string, maxAgeSeconds: number): void {
  // (Written `allowed || !maxAgeSeconds`, a deletion's 0, rather than the negation esbuild keeps.)
  if (allowed || !maxAgeSeconds) {
    try {
      const secure = location.protocol === 'https:' ? '; Secure' : '';
      // The Cookie Store API is async and missing in Firefox and older Safari; the value is a UUID.
      // biome-ignore lint/suspicious/noDocumentCookie: the one synchronous way to set a cookie everywhere.
      document.cookie = `${name}=${encodeURIComponent(value)}; Max-Age=${maxAgeSeconds}; Path=/; SameSite=Lax${secure}`;
    } catch {
      // See readCookie.
    }
  }
}
