import Link from 'next/link';

export default function NotFound() {
  return (
    <div className="space-y-3">
      <h1 className="text-2xl font-bold">Not found</h1>
      <p className="text-slate-700">There is no such page or order, or it belongs to another organisation.</p>
      <Link href="/orders" className="text-sky-800 underline">
        Back to the orders
      </Link>
    </div>
  );
}
