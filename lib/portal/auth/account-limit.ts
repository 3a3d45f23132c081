/**
 * A second sign-in limit, per account. better-auth's own limit keys on the client address from
 * X-Forwarded-For, which a client talking to `next start` directly can set to anything; a
 * limit on the email being tried cannot be dodged that way. Counters live in the same
 * RateLimit table (key "account:<email>"), so they survive restarts.
 */
import type { PortalDbClient } from '../db/client';

export interface AccountLimit {
  max: number;
  windowSeconds: number;
}

/** Records one attempt; false when the account had `max` attempts within the window already. */
export async function consumeSignInAttempt(db: PortalDbClient, email: string, limit: AccountLimit, now = Date.now()): Promise<boolean> {
  const key = `account:${email.trim().toLowerCase()}`;
  return db.$transaction(async (tx) => {
    const row = await tx.rateLimit.findUnique({ where: { key } });
    if (!row || now - Number(row.lastRequest) >= limit.windowSeconds * 1000) {
      await tx.rateLimit.upsert({
        where: { key },
        create: { id: key, key, count: 1, lastRequest: BigInt(now) },
        update: { count: 1, lastRequest: BigInt(now) },
      });
      return true;
    }
    if (row.count >= limit.max) return false;
    // lastRequest stays the window's start: the window is fixed, not sliding.
    await tx.rateLimit.update({ where: { key }, data: { count: { increment: 1 } } });
    return true;
  });
}
