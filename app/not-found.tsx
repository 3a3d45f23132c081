import Link from 'next/link';

export default function NotFound() {
  return (
    <main className="mx-auto max-w-xl space-y-3 px-6 py-16">
      <h1 className="text-2xl font-bold">Page not found</h1>
      <p className="text-slate-700">There is nothing at this address.</p>
      <Link href="/orders" className="text-sky-800 underline">
        Go to the orders
      </Link>
    </main>
  );
}
