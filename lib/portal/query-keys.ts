/**
 * The one React Query key factory of the portal. Every query and every invalidation names its
 * key through here, so "this order changed" invalidates exactly the right entries.
 */
export const orderKeys = {
  all: ['orders'] as const,
  lists: () => [...orderKeys.all, 'list'] as const,
  list: (page: number) => [...orderKeys.lists(), { page }] as const,
  details: () => [...orderKeys.all, 'detail'] as const,
  detail: (orderId: string) => [...orderKeys.details(), orderId] as const,
};

export const approvalKeys = {
  all: ['approvals'] as const,
  queue: () => [...approvalKeys.all, 'queue'] as const,
};

export const notificationKeys = {
  all: ['notifications'] as const,
  list: () => [...notificationKeys.all, 'list'] as const,
};

/** The providers' held orders (administrative validation, /provider-queue). */
export const providerQueueKeys = {
  all: ['provider-queue'] as const,
  list: () => [...providerQueueKeys.all, 'list'] as const,
};

export const providerKeys = {
  all: ['providers'] as const,
  registry: () => [...providerKeys.all, 'registry'] as const,
};
