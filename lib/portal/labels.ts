/**
 * Words for states, actions and verdicts. Status is always shown as text (and an icon), never
 * by colour alone; the tone only adds colour.
 */
import type { IntentKind, OrderState } from './db/types';

export type Tone = 'neutral' | 'info' | 'progress' | 'attention' | 'success' | 'danger';

export const ORDER_STATE_LABELS: Record<OrderState, { label: string; tone: Tone; icon: string }> = {
  Draft: { label: 'Draft', tone: 'neutral', icon: '✎' },
  Created: { label: 'Awaiting approval', tone: 'attention', icon: '◔' },
  Rejected: { label: 'Rejected', tone: 'danger', icon: '✕' },
  AwaitingProcessing: { label: 'Approved, sending', tone: 'progress', icon: '➜' },
  Negotiating: { label: 'Negotiating', tone: 'progress', icon: '⇄' },
  OfferReceived: { label: 'Offer received', tone: 'info', icon: '✉' },
  Accepting: { label: 'Accepting', tone: 'progress', icon: '⇄' },
  Completed: { label: 'Agreed', tone: 'success', icon: '✓' },
  Cancelled: { label: 'Cancelled', tone: 'danger', icon: '✕' },
  Withdrawn: { label: 'Withdrawn', tone: 'neutral', icon: '⊘' },
};

/** RFC 8921 Figure 8 client states, in words. */
export const CLIENT_STATE_LABELS: Record<string, string> = {
  Created: 'Not sent yet',
  AwaitingProcessing: 'Approved, about to send',
  PQOSent: 'Quotation sent, waiting for the provider',
  ServerProcessing: 'Provider is processing',
  OfferReceived: 'Offer received',
  OfferProcessing: 'Offer being considered',
  AcceptSent: 'Acceptance sent',
  Completed: 'Agreement in force',
  Cancelled: 'Ended',
};

export const CANCEL_REASON_LABELS: Record<string, string> = {
  cancelled: 'cancelled by the customer',
  declined: 'offer declined',
  failed: 'the provider could not honour the order',
  timeout: 'no answer in time',
  expired: 'the offer expired',
  withdrawn: 'agreement withdrawn',
  rejected: 'rejected by an administrator',
};

export const ALARM_LABELS: Record<string, { title: string; advice: string }> = {
  acceptUnanswered: {
    title: 'Acceptance unanswered',
    advice: 'The provider never confirmed the acceptance, so we do not know whether the agreement exists. Contact the provider before ordering again.',
  },
  withdrawalUnanswered: {
    title: 'Withdrawal unanswered',
    advice: 'The provider never confirmed the withdrawal; the service may still be running and billed. Contact the provider.',
  },
  withdrawalRefused: {
    title: 'Withdrawal refused',
    advice: 'The provider refused to withdraw the agreement. Contact the provider.',
  },
  activationUnanswered: {
    title: 'Activation unanswered',
    advice: 'The provider did not confirm the (de)activation; the service may or may not be switched. Check with the provider, then try again.',
  },
};

export const INTENT_LABELS: Record<IntentKind, string> = {
  approve: 'Approve',
  accept: 'Accept offer',
  decline: 'Decline offer',
  cancel: 'Cancel order',
  withdraw: 'Withdraw agreement',
  update: 'Update agreement',
  activate: 'Activate',
  deactivate: 'Deactivate',
  'grant-time': 'Grant more time',
  'deny-time': 'Deny more time',
  'choose-offer': 'Choose this offer',
};

export const VERDICT_LABELS = {
  meets: { label: 'Meets', icon: '✓', tone: 'success' },
  narrows: { label: 'Narrows', icon: '≈', tone: 'info' },
  misses: { label: 'Misses', icon: '✕', tone: 'danger' },
  extra: { label: 'Extra', icon: '+', tone: 'neutral' },
} as const satisfies Record<string, { label: string; icon: string; tone: Tone }>;

export const TONE_CLASSES: Record<Tone, string> = {
  neutral: 'bg-slate-100 text-slate-800 ring-slate-300',
  info: 'bg-sky-50 text-sky-900 ring-sky-300',
  progress: 'bg-indigo-50 text-indigo-900 ring-indigo-300',
  attention: 'bg-amber-50 text-amber-900 ring-amber-300',
  success: 'bg-emerald-50 text-emerald-900 ring-emerald-300',
  danger: 'bg-rose-50 text-rose-900 ring-rose-300',
};

/**
 * "cpd[0].capacity.inMbps" -> "capacity › in Mbps" for people; with `multi` (a CPD of several
 * CPPs) the component number is kept: "component 2 › capacity › in Mbps".
 */
export function humanPath(path: string, multi = false): string {
  return path
    .replace(/^cpd\[(\d+)\]\.?/, (_m, i: string) => (multi ? `component ${Number(i) + 1}.` : ''))
    .split('.')
    .filter(Boolean)
    .map((part) =>
      part
        .replace(/\["([^"]+)"\]/g, ' $1')
        .replace(/\[(\d+)\]/g, ' #$1')
        .replace(/([a-z])([A-Z])/g, (_m, a: string, b: string) => `${a} ${b.toLowerCase()}`)
        .replace(/\bmbps\b/gi, 'Mbps')
        .replace(/\bms\b/g, 'ms'),
    )
    .join(' › ');
}

/** A timestamp the same on the server and in the browser (no locale or zone drift): UTC. */
export function formatTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

/** Time of day only, UTC. */
export function formatClock(iso: string): string {
  return `${iso.slice(11, 19)} UTC`;
}
