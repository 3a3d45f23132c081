/**
 * What the portal notifies (docs/portal-operations.md, "Notifications"). Framework-free: the
 * engine host, the approval service, the deadline sweep and the pages all read these.
 */
export const NOTIFICATION_KINDS = ['waiting-approval', 'approved', 'rejected', 'offer', 'more-time', 'deadline', 'agreed', 'alarm'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** Short labels for the list (the title says the rest). */
export const NOTIFICATION_KIND_LABELS: Record<NotificationKind, string> = {
  'waiting-approval': 'Waiting for approval',
  approved: 'Approved',
  rejected: 'Rejected',
  offer: 'Offer received',
  'more-time': 'More time requested',
  deadline: 'Deadline close',
  agreed: 'Agreement concluded',
  alarm: 'Alarm',
};
