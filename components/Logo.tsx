/**
 * The project mark: a client (blue) and a server (green) exchanging messages. Same drawing as
 * public/favicon.svg, inlined so it needs no extra request. Decorative: callers put the name
 * next to it.
 */
export function Logo({ size = 32 }: { size?: number }) {
  return (
    <svg viewBox="0 0 32 32" width={size} height={size} aria-hidden="true" focusable="false">
      <rect width="32" height="32" rx="7" fill="#0f172a" />
      <circle cx="8" cy="16" r="4" fill="#38bdf8" />
      <circle cx="24" cy="16" r="4" fill="#34d399" />
      <path
        d="M12.5 12.5h6.5m0 0-2-2m2 2-2 2M19.5 19.5H13m0 0 2-2m-2 2 2 2"
        fill="none"
        stroke="#e2e8f0"
        strokeWidth="1.6"
        strokeLinecap="round"
        strokeLinejoin="round"
      />
    </svg>
  );
}
