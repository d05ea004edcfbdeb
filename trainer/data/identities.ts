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
 */
import type { Interaction, ReadReport } from './types';

/** The user id each anonymous id was seen with, learned while the events are read. */
export class IdentityLinks {
  /** `null`: seen with two or more user ids. */
  private readonly userOf = new Map<string, string | null>();

  /** Records that one event carried both ids. */
  link(anonymousId: string, userId: string): void {
    const known = this.userOf.get(anonymousId);
    if (known === undefined) this.userOf.set(anonymousId, userId);
    else if (known !== null && known !== userId) this.userOf.set(anonymousId, null);
  }

  /** The one user id `anonymousId` belongs to, or undefined (never linked, or linked to several). */
  userFor(anonymousId: string): string | undefined {
    return this.userOf.get(anonymousId) ?? undefined;
  }

  /** How many anonymous ids were seen with more than one user id. */
  ambiguous(): number {
    let count = 0;
    for (const user of this.userOf.values()) if (user === null) count += 1;
    return count;
  }
}

/**
 * Gives every anonymous interaction (`anonymous: true`, read from an event without a `userId`) to the
 * user its anonymous id was linked to anywhere in the input, earlier or later, and notes in `report`
 * how many browsers were merged. Those of an id never linked keep `anonymous`: a shopper who never
 * signed in. The interactions are changed in place; a session basket keyed by
 * the anonymous id (`anon:day`) follows its user, so "bought together" sees one session per shopper
 * and day.
 */
export function stitchIdentities(
  interactions: Interaction[],
  links: IdentityLinks,
  report: ReadReport,
): void {
  const merged = new Set<string>();
  const users = new Set<string>();
  for (const interaction of interactions) {
    if (!interaction.anonymous) continue;
    const anonymousId = interaction.user;
    const user = links.userFor(anonymousId);
    // Never linked: it stays an anonymous shopper's (whose activity the worker keeps ACTIVITY_DAYS).
    if (user === undefined) continue;
    delete interaction.anonymous;
    // Linked to itself (a source that sends the user id as the anonymous id too): nothing moves.
    if (user === anonymousId) continue;
    merged.add(anonymousId);
    users.add(user);
    interaction.user = user;
    if (interaction.basket?.startsWith(`${anonymousId}:`))
      interaction.basket = `${user}${interaction.basket.slice(anonymousId.length)}`;
  }
  const ambiguous = links.ambiguous();
  if (merged.size > 0)
    report.notes.push(
      `identity stitching: the activity of ${merged.size} anonymous id(s) from before sign-in joined ${users.size} signed-in shopper(s)`,
    );
  if (ambiguous > 0)
    report.notes.push(
      `identity stitching: ${ambiguous} anonymous id(s) seen with more than one user id (a shared device) kept apart`,
    );
}
