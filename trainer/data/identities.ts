/**
 * Identity stitching for the events readers (`--format events` and `mongodb`). A shopper browses under
 * the plugin's anonymous id and signs in later; from then on their events carry both ids, and
 * `rx.identify` sends an identify event with both. What they did before signing in is theirs: read
 * as two users, a model never sees what they browsed next to what they bought. The worker merges the
 * same two histories when it serves a signed-in shopper (worker/src/cache/recommendation-cache.ts), so training
 * on merged rows matches what the model is asked at the edge.
 *
 * A browser id seen with more than one user id (a shared computer, a family tablet) is left as it is:
 * its activity cannot be given to one of them with any certainty.
 *
 * Each link keeps the time it was first seen, so that a split at a cut-off (eval's, train's validation)
 * can stitch with the links known by then only: a link made after the cut-off is the future.
 */
import type { Interaction, ReadReport } from './types';

/**
 * The prefix of an anonymous shopper's user key. Anonymous ids and user ids are separate namespaces,
 * as the worker hashes them by kind (worker/src/shopper/user-hash.ts): browser `42` and customer `42`
 * are two people. A control character is in no user id the worker serves (USER_ID_PATTERN), so no
 * signed-in shopper's key starts with it.
 */
const ANONYMOUS_KEY_PREFIX = '\u0000anonymous:';

/** The user key of an anonymous id's interactions while it is linked to no one. */
export function anonymousUserKey(anonymousId: string): string {
  return `${ANONYMOUS_KEY_PREFIX}${anonymousId}`;
}

/** The user ids each anonymous id was seen with, each with the time the link was first seen. */
export class IdentityLinks {
  /** Per anonymous id, `[userId, first time]` pairs; usually one. An undated link has time +∞. */
  private readonly usersOf = new Map<string, Array<[string, number]>>();

  /** Records that one event carried both ids, at `time` (epoch ms; NaN when undated). */
  link(anonymousId: string, userId: string, time = Number.NaN): void {
    const at = Number.isFinite(time) ? time : Number.POSITIVE_INFINITY;
    const users = this.usersOf.get(anonymousId);
    if (users === undefined) return void this.usersOf.set(anonymousId, [[userId, at]]);
    const known = users.find(([user]) => user === userId);
    if (known === undefined) users.push([userId, at]);
    else known[1] = Math.min(known[1], at);
  }

  /** The user ids `anonymousId` was linked to before `knownBefore` (epoch ms; default: ever). */
  private usersBefore(anonymousId: string, knownBefore?: number): string[] {
    const users = this.usersOf.get(anonymousId) ?? [];
    // An undated link cannot be placed before any cut-off; without one it counts.
    return users.filter(([, at]) => knownBefore === undefined || at < knownBefore).map(([user]) => user);
  }

  /**
   * The one user id `anonymousId` belongs to as known before `knownBefore` (default: in the whole
   * input), or undefined (never linked by then, or linked to several).
   */
  userFor(anonymousId: string, knownBefore?: number): string | undefined {
    const users = this.usersBefore(anonymousId, knownBefore);
    return users.length === 1 ? users[0] : undefined;
  }

  /** How many anonymous ids were seen with more than one user id (before `knownBefore`). */
  ambiguous(knownBefore?: number): number {
    let count = 0;
    for (const anonymousId of this.usersOf.keys())
      if (this.usersBefore(anonymousId, knownBefore).length > 1) count += 1;
    return count;
  }
}

/** What a stitching did: browsers merged, shoppers they joined, shared browsers kept apart. */
export interface Stitched {
  merged: number;
  users: number;
  ambiguous: number;
}

/**
 * Gives every interaction read from an event without a `userId` (it has `anonymousId`) to the user
 * its anonymous id was linked to, earlier or later in the input, or with `knownBefore` only by a link
 * seen before that time (a split's cut-off); the others are their browser's (`anonymousUserKey`,
 * `anonymous`). Idempotent: a second call with another `knownBefore` attributes afresh. The
 * interactions are changed in place; a session basket keyed by the owner (`owner:day`) follows its
 * owner, so "bought together" sees one session per shopper and day.
 */
export function stitchIdentities(
  interactions: Interaction[],
  links: IdentityLinks,
  report?: ReadReport,
  knownBefore?: number,
): Stitched {
  const merged = new Set<string>();
  const users = new Set<string>();
  for (const interaction of interactions) {
    const anonymousId = interaction.anonymousId;
    if (anonymousId === undefined) continue;
    const user = links.userFor(anonymousId, knownBefore);
    const owner = user ?? anonymousUserKey(anonymousId);
    // Never linked: it stays an anonymous shopper's (whose activity the worker keeps ACTIVITY_DAYS).
    if (user === undefined) interaction.anonymous = true;
    else delete interaction.anonymous;
    // Linked to itself (a source that sends the user id as the anonymous id too): one person, no merge.
    if (user !== undefined && user !== anonymousId) {
      merged.add(anonymousId);
      users.add(user);
    }
    const previous = interaction.user;
    interaction.user = owner;
    if (interaction.basket?.startsWith(`${previous}:`))
      interaction.basket = `${owner}${interaction.basket.slice(previous.length)}`;
  }
  const stitched = { merged: merged.size, users: users.size, ambiguous: links.ambiguous(knownBefore) };
  if (report) for (const line of stitchingNotes(stitched)) report.notes.push(line);
  return stitched;
}

/** The read summary's lines about a stitching. */
export function stitchingNotes({ merged, users, ambiguous }: Stitched): string[] {
  const lines: string[] = [];
  if (merged > 0)
    lines.push(
      `identity stitching: the activity of ${merged} anonymous id(s) from before sign-in joined ${users} signed-in shopper(s)`,
    );
  if (ambiguous > 0)
    lines.push(
      `identity stitching: ${ambiguous} anonymous id(s) seen with more than one user id (a shared device) kept apart`,
    );
  return lines;
}
