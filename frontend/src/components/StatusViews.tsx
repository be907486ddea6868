import type { ReactNode } from 'react';

export function Spinner({ label = 'Loading' }: { label?: string }) {
  return (
    <span role="status" className="inline-flex items-center gap-2 text-sm text-stone-500">
      <span
        aria-hidden="true"
        className="h-4 w-4 animate-spin rounded-full border-2 border-stone-300 border-t-indigo-500"
      />
      {label}
    </span>
  );
}

export function EmptyState({ title, children, icon = '✦' }: { title: string; children?: ReactNode; icon?: string }) {
  return (
    <div className="rounded-2xl border border-dashed border-stone-300 bg-white/60 px-6 py-12 text-center">
      <div aria-hidden="true" className="mb-3 text-3xl text-stone-300">
        {icon}
      </div>
      <h2 className="text-base font-semibold text-stone-800">{title}</h2>
      {children && <div className="mt-1 text-sm text-stone-500">{children}</div>}
    </div>
  );
}

export function ErrorState({ message, onRetry }: { message: string; onRetry?: () => void }) {
  return (
    <div role="alert" className="rounded-2xl border border-rose-200 bg-rose-50 px-6 py-8 text-center">
      <p className="text-sm font-medium text-rose-900">{message}</p>
      {onRetry && (
        <button
          type="button"
          onClick={onRetry}
          className="mt-4 rounded-lg bg-white px-4 py-2 text-sm font-medium text-rose-800 shadow-sm ring-1 ring-rose-200 hover:bg-rose-100 focus-visible:outline-2 focus-visible:outline-rose-500"
        >
          Try again
        </button>
      )}
    </div>
  );
}

/** Grey placeholder cards shown while the first page loads, shaped like the real ones. */
export function CardSkeleton({ count = 3 }: { count?: number }) {
  return (
    <div aria-hidden="true" className="space-y-3">
      {Array.from({ length: count }, (_, index) => (
        <div key={index} className="animate-pulse rounded-2xl border border-stone-200 bg-white p-4">
          <div className="flex items-center gap-3">
            <div className="h-9 w-9 rounded-full bg-stone-200" />
            <div className="h-3 w-32 rounded bg-stone-200" />
          </div>
          <div className="mt-4 space-y-2">
            <div className="h-3 w-full rounded bg-stone-100" />
            <div className="h-3 w-4/5 rounded bg-stone-100" />
          </div>
        </div>
      ))}
    </div>
  );
}
