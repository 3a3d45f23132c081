export default function Loading() {
  return (
    <p role="status" className="animate-pulse text-sm text-slate-600">
      Loading…
    </p>
  );
}
