'use client';

// Unexpected failures only (services return expected errors as results).
export default function PortalError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <div role="alert" className="space-y-3 rounded-lg border border-rose-200 bg-rose-50 p-6">
      <h1 className="text-xl font-semibold text-rose-900">Something went wrong</h1>
      <p className="text-sm text-rose-900">The page could not be loaded. Nothing you submitted was lost.{error.digest ? ` (reference ${error.digest})` : ''}</p>
      <button type="button" onClick={reset} className="rounded-md bg-white px-3 py-1.5 text-sm font-medium ring-1 ring-inset ring-rose-300">
        Try again
      </button>
    </div>
  );
}
