import { pluralize } from '../../lib/time';

/** Announces posts that arrived live; they join the list only when the reader asks. */
export function NewPostsPill({ count, onReveal }: { count: number; onReveal: () => void }) {
  if (count === 0) return null;
  return (
    <div className="pointer-events-none sticky top-32 z-20 flex justify-center lg:top-20">
      <button
        type="button"
        onClick={onReveal}
        data-testid="new-posts-pill"
        className="pill-enter pointer-events-auto inline-flex items-center gap-2 rounded-full bg-indigo-600 px-4 py-2 text-sm font-semibold text-white shadow-lg shadow-indigo-600/20 hover:bg-indigo-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600"
      >
        <svg aria-hidden="true" viewBox="0 0 24 24" className="h-4 w-4" fill="none" stroke="currentColor" strokeWidth={2.5}>
          <path strokeLinecap="round" strokeLinejoin="round" d="M12 19V5m0 0-6 6m6-6 6 6" />
        </svg>
        Show {pluralize(count, 'new post')}
      </button>
    </div>
  );
}
