export interface NavLink {
  href: string;
  label: string;
  errors: number;
}
export interface NavGroup {
  label: string;
  links: NavLink[];
}

/** The form's table of contents; sections with errors say so in words, not colour alone. */
export function SectionNav({ groups }: { groups: NavGroup[] }) {
  return (
    <nav aria-label="Form sections" className="mb-6 lg:mb-0">
      <div className="space-y-4 rounded-lg border border-slate-200 bg-white p-4 text-sm shadow-sm lg:sticky lg:top-4 lg:max-h-[calc(100vh-2rem)] lg:overflow-y-auto">
        {groups.map((group) => (
          <div key={group.label}>
            <p className="text-xs font-semibold tracking-wide text-slate-500 uppercase">{group.label}</p>
            <ul className="mt-1 space-y-0.5">
              {group.links.map((link) => (
                <li key={link.href}>
                  <a href={link.href} className="flex items-center justify-between gap-2 rounded px-2 py-1 text-slate-700 hover:bg-slate-100 hover:text-slate-900 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-500">
                    <span>{link.label}</span>
                    {link.errors > 0 ? (
                      <span className="rounded-full bg-red-100 px-1.5 text-xs font-semibold text-red-800">
                        {link.errors}
                        <span className="sr-only"> {link.errors === 1 ? 'error' : 'errors'}</span>
                      </span>
                    ) : null}
                  </a>
                </li>
              ))}
            </ul>
          </div>
        ))}
      </div>
    </nav>
  );
}
