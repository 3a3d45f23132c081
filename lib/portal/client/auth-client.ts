'use client';
// better-auth's browser client: same origin, so sign-in goes through /api/auth with its
// Origin check and rate limit.
import { createAuthClient } from 'better-auth/react';

export const authClient = createAuthClient();
