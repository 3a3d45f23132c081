/** What a customer sees on an operator-only page: a plain refusal, no data. */
export function Forbidden({ message }: { message: string }) {
  return (
    <section className="space-y-2">
      <h1 className="text-2xl font-bold tracking-tight">Not available</h1>
      <p className="text-slate-700">{message}</p>
    </section>
  );
}
